// Argument checks shared by both backends. Each returns the (possibly
// normalised) value or throws INVALID_ARGUMENT naming the field, so a bad call
// fails before any SQL runs and never leaves anything half-written.
import { invalidArgument } from './errors.js';
import type { JsonObject, JsonValue } from './types.js';
import { MAX_INT32, MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_LIST_ENTRIES, MAX_LIST_LIMIT, MAX_NAME_BYTES, MAX_TEXT_CHARS } from './limits.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A surrogate without its pair has no UTF-8 form: PostgreSQL refuses it in
// jsonb and both drivers would otherwise store U+FFFD in text, so a value
// would not come back as written.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored as given, or null when it can. */
function unstorable(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(s)) return 'must be valid Unicode (unpaired surrogate)';
  return null;
}

export function uuid(field: string, v: unknown): string {
  if (typeof v !== 'string' || !UUID_RE.test(v)) throw invalidArgument(field, 'must be a UUID (8-4-4-4-12 hex digits)');
  return v.toLowerCase();
}

export function optUuid(field: string, v: unknown): string | null {
  return v === null || v === undefined ? null : uuid(field, v);
}

/** Whether `s` takes more than `max` bytes as UTF-8, mostly without encoding it. */
function overBytes(s: string, max: number): boolean {
  // UTF-8 takes one to three bytes per UTF-16 unit.
  return s.length > max || (s.length * 3 > max && Buffer.byteLength(s, 'utf8') > max);
}

function checkString(field: string, v: unknown, max: number, unit: 'characters' | 'bytes'): string {
  if (typeof v !== 'string') throw invalidArgument(field, 'must be a string');
  if (unit === 'characters' ? v.length > max : overBytes(v, max)) throw invalidArgument(field, `longer than ${max} ${unit === 'bytes' ? 'bytes (UTF-8)' : 'characters'}`);
  // PostgreSQL text cannot hold NUL; refuse it on both backends alike.
  const why = unstorable(v);
  if (why) throw invalidArgument(field, why);
  return v;
}

/** A required, non-empty identifier-like string (user id, channel, key…), at most MAX_NAME_BYTES. */
export function name(field: string, v: unknown): string {
  const s = checkString(field, v, MAX_NAME_BYTES, 'bytes');
  if (s.length === 0) throw invalidArgument(field, 'must not be empty');
  return s;
}

export function optName(field: string, v: unknown): string | null {
  return v === null || v === undefined ? null : checkString(field, v, MAX_NAME_BYTES, 'bytes');
}

/** Free text that may be empty (message content, error text), at most `max` characters. */
export function text(field: string, v: unknown, max = MAX_TEXT_CHARS): string {
  return checkString(field, v, max, 'characters');
}

export const optText = (field: string, v: unknown, max?: number): string | null => (v === null || v === undefined ? null : text(field, v, max));

/** Text that may be empty, at most `maxBytes` of UTF-8 (what an index entry holds). */
export function textBytes(field: string, v: unknown, maxBytes: number): string {
  return checkString(field, v, maxBytes, 'bytes');
}

/** A list of at most `max` entries (the type says what it holds; the entries are checked by the caller). */
export function list<T>(field: string, v: T[], max = MAX_LIST_ENTRIES): T[] {
  if (!Array.isArray(v)) throw invalidArgument(field, 'must be a list');
  if (v.length > max) throw invalidArgument(field, `more than ${max} entries`);
  return v;
}

export function limit(field: string, v: unknown, max = MAX_LIST_LIMIT): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidArgument(field, 'must be an integer');
  if (v < 0) throw invalidArgument(field, 'must not be negative');
  if (v > max) throw invalidArgument(field, `must be at most ${max}`);
  return v;
}

export function nonNegativeInt(field: string, v: unknown, max = MAX_INT32): number {
  return limit(field, v, max);
}

export function timestamp(field: string, v: unknown): Date {
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw invalidArgument(field, 'must be a valid timestamp');
  const y = v.getUTCFullYear();
  if (y < 1 || y > 9999) throw invalidArgument(field, 'must be between years 1 and 9999');
  return v;
}

/**
 * A JSON value within the size and depth limits, with finite numbers and no
 * NUL characters (PostgreSQL jsonb refuses them). Returns its serialized text,
 * which the backends store, so it is computed once.
 */
export function json(field: string, v: unknown): string {
  checkJson(field, v, 0);
  const s = JSON.stringify(v);
  // Bytes as stored (UTF-8), not UTF-16 units: "é" counts 2, an emoji 4.
  if (s.length > MAX_JSON_BYTES / 3 && Buffer.byteLength(s, 'utf8') > MAX_JSON_BYTES) {
    throw invalidArgument(field, `larger than ${MAX_JSON_BYTES} bytes`);
  }
  return s;
}

/** JSON text (stored as given) whose value meets the rules of json(). */
export function jsonText(field: string, v: unknown): string {
  const t = checkString(field, v, MAX_JSON_BYTES, 'bytes');
  let parsed: unknown;
  try {
    parsed = JSON.parse(t);
  } catch {
    throw invalidArgument(field, 'must be JSON text');
  }
  json(field, parsed);
  return t;
}

export function jsonObject(field: string, v: unknown): string {
  if (!isPlainObject(v)) throw invalidArgument(field, 'must be a JSON object');
  return json(field, v);
}

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkJson(field: string, v: unknown, depth: number): asserts v is JsonValue {
  if (depth > MAX_JSON_DEPTH) throw invalidArgument(field, `nested deeper than ${MAX_JSON_DEPTH} levels`);
  switch (typeof v) {
    case 'string': {
      const why = unstorable(v);
      if (why) throw invalidArgument(field, why);
      return;
    }
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw invalidArgument(field, 'numbers must be finite');
      return;
    case 'object':
      if (v === null) return;
      if (Array.isArray(v)) {
        for (const item of v) checkJson(field, item, depth + 1);
        return;
      }
      for (const [k, item] of Object.entries(v)) {
        const why = unstorable(k);
        if (why) throw invalidArgument(field, `keys ${why}`);
        checkJson(field, item, depth + 1);
      }
      return;
    default:
      throw invalidArgument(field, 'must be a JSON value');
  }
}
