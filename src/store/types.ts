// Plain domain types shared by every store. No protobuf, no SQL.

/** RFC 4122 text, lowercase, hyphenated. */
export type Uuid = string;

/** Exact decimal in plain notation ("0", "0.005", "-12.50"); never a float. */
export type Decimal = string;

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };
