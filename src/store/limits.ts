// Documented input limits (README "Limits"). Every store method checks its
// arguments against these before touching the database, on both backends.

/** user ids, channels, thread ids, setting keys, tool names, roles. */
export const MAX_NAME_CHARS = 512;
/** Message content, error messages and other free text. */
export const MAX_TEXT_CHARS = 4 * 1024 * 1024;
/** Serialized size of one JSON value (metadata, a setting value). */
export const MAX_JSON_BYTES = 1024 * 1024;
/** Nesting depth of one JSON value. Kept well under protobuf decoding's own
 * limit of 100 message levels (each JSON level is two or three of them on the
 * wire), so the documented limit is what a gRPC client actually meets. */
export const MAX_JSON_DEPTH = 32;
/** Largest `limit` a list method accepts. */
export const MAX_LIST_LIMIT = 1000;
/** Entries in one SetAllSettings call. */
export const MAX_BATCH_ENTRIES = 1000;
