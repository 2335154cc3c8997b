// Wire ⇄ domain conversions shared by the service handlers: JSON values,
// timestamps, 64-bit integers. Anything the wire allows but the domain does
// not (a NaN number, an out-of-range instant, a huge int64) is
// INVALID_ARGUMENT naming the field.
import { create } from '@bufbuild/protobuf';
import { ListValueSchema, NullValue, StructSchema, ValueSchema, timestampDate, timestampFromDate, type Timestamp, type Value } from '@bufbuild/protobuf/wkt';
import { invalidArgument } from '../store/errors.js';
import type { JsonObject, JsonValue } from '../store/types.js';

export function jsonFromValue(field: string, v: Value | undefined): JsonValue {
  if (v === undefined) throw invalidArgument(field, 'is required (use a null value for JSON null)');
  return fromValue(field, v);
}

function fromValue(field: string, v: Value): JsonValue {
  const k = v.kind;
  switch (k.case) {
    case 'nullValue':
      return null;
    case 'boolValue':
    case 'stringValue':
      return k.value;
    case 'numberValue':
      if (!Number.isFinite(k.value)) throw invalidArgument(field, 'numbers must be finite');
      return k.value;
    case 'listValue':
      return k.value.values.map((x) => fromValue(field, x));
    case 'structValue': {
      const out: JsonObject = {};
      for (const [key, x] of Object.entries(k.value.fields)) out[key] = fromValue(field, x);
      return out;
    }
    default:
      throw invalidArgument(field, 'must hold a value (kind not set)');
  }
}

export function valueFromJson(j: JsonValue): Value {
  return create(ValueSchema, { kind: kindOf(j) });
}

function kindOf(j: JsonValue): Value['kind'] {
  if (j === null) return { case: 'nullValue', value: NullValue.NULL_VALUE };
  switch (typeof j) {
    case 'boolean':
      return { case: 'boolValue', value: j };
    case 'number':
      return { case: 'numberValue', value: j };
    case 'string':
      return { case: 'stringValue', value: j };
  }
  if (Array.isArray(j)) return { case: 'listValue', value: create(ListValueSchema, { values: j.map(valueFromJson) }) };
  const fields: Record<string, Value> = {};
  for (const [key, x] of Object.entries(j)) fields[key] = valueFromJson(x);
  return { case: 'structValue', value: create(StructSchema, { fields }) };
}

/** A Struct field arrives as a JsonObject; absent means "not given". */
export function requiredObject(field: string, v: JsonObject | undefined): JsonObject {
  if (v === undefined) throw invalidArgument(field, 'is required');
  return v;
}

export function dateFromTimestamp(field: string, t: Timestamp): Date {
  if (t.nanos < 0 || t.nanos > 999_999_999) throw invalidArgument(field, 'nanos out of range');
  const d = timestampDate(t);
  if (Number.isNaN(d.getTime())) throw invalidArgument(field, 'out of range');
  return d;
}

export function requiredDate(field: string, t: Timestamp | undefined): Date {
  if (t === undefined) throw invalidArgument(field, 'is required');
  return dateFromTimestamp(field, t);
}

export const optDate = (field: string, t: Timestamp | undefined): Date | null => (t === undefined ? null : dateFromTimestamp(field, t));

export const ts = (d: Date): Timestamp => timestampFromDate(d);
export const optTs = (d: Date | null | undefined): Timestamp | undefined => (d ? timestampFromDate(d) : undefined);

/** An int64 request field as a JS number; out of the safe range is refused. */
export function int(field: string, v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw invalidArgument(field, 'out of range');
  return Number(v);
}
