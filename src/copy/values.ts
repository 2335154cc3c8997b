// The neutral form every copied value takes between reading one dialect and
// writing the other, and the row encoding that comparisons and checksums
// use. Both dialects' readers produce exactly this form, so a row read from
// libSQL and the same row read from PostgreSQL encode to the same text.
import { createHash } from 'node:crypto';
import type { Column, Table } from './tables.js';

/**
 * uuid, text, int (decimal text), ts (RFC 3339 ms), json (canonical text),
 * decimal, textArray (canonical JSON text), terms (sorted words) → string;
 * real → number; bool → boolean; embedding → little-endian float32 bytes.
 */
export type Value = string | number | boolean | Buffer | null;
export type Row = Value[];

/** A refusal or a failure the user can act on: printed as one message, exit 1. */
export class CopyError extends Error {}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    // No prototype: a "__proto__" key stays an ordinary key.
    const out = Object.create(null) as { [k: string]: Json };
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]!);
    return out;
  }
  return v;
}

/**
 * JSON text with object keys sorted. Numbers go through a double, as every
 * reader of the daemon's JSON does (jsonb's "1.0" and libSQL's "1" agree).
 */
function canonicalJson(text: string, where: string): string {
  try {
    return JSON.stringify(sortKeys(JSON.parse(text) as Json));
  } catch {
    throw new CopyError(`${where}: stored value is not valid JSON`);
  }
}

/** RFC 3339 UTC with milliseconds, the daemon's own timestamp text. */
function canonicalTs(v: unknown, where: string): string {
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new CopyError(`${where}: stored value is not a timestamp`);
  return d.toISOString();
}

const sortedTerms = (spaceJoined: string): string => (spaceJoined === '' ? '' : spaceJoined.split(' ').sort().join(' '));

/** One row as text: what comparisons compare and checksums hash. `skip` leaves one column out. */
export function encodeRow(row: Row, skip = -1): string {
  const parts = new Array<unknown>(row.length);
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    parts[i] = i === skip ? 0 : Buffer.isBuffer(v) ? v.toString('base64') : v;
  }
  return JSON.stringify(parts);
}

/** A row's identity: its primary-key values. */
export function keyOf(keyIndexes: readonly number[], row: Row): string {
  return keyIndexes.length === 1 ? String(row[keyIndexes[0]!]) : JSON.stringify(keyIndexes.map((i) => row[i]));
}

export const keyIndexes = (t: Table): number[] => t.key.map((k) => t.columns.findIndex((c) => c.name === k));

/** Rough size of a row in memory, to bound a batch by bytes as well as rows. */
export function rowBytes(row: Row): number {
  let n = 0;
  for (const v of row) n += typeof v === 'string' ? v.length * 2 : Buffer.isBuffer(v) ? v.length : 8;
  return n;
}

/**
 * An order-independent table checksum: the XOR of every row's SHA-256. Two
 * dialects list rows in different orders (collations, key types); the XOR
 * does not care, and rows are unique by key, so none cancels another.
 */
export class Checksum {
  private readonly acc = Buffer.alloc(32);
  add(encoded: string): void {
    const h = createHash('sha256').update(encoded).digest();
    for (let i = 0; i < 32; i++) this.acc[i]! ^= h[i]!;
  }
  hex(): string {
    return this.acc.toString('hex');
  }
}

/**
 * How many rows the next read takes: up to `max`, fewer when rows are large
 * (a batch holds about BATCH_BYTES), starting small so that a table of huge
 * rows never fills memory with its first read.
 */
export class BatchSizer {
  private n: number;
  static readonly BATCH_BYTES = 16 << 20;
  constructor(private readonly max: number) {
    this.n = Math.min(max, 16);
  }
  get rows(): number {
    return this.n;
  }
  /** Full when the rows read so far reach the byte budget. */
  full(bytes: number): boolean {
    return bytes >= BatchSizer.BATCH_BYTES;
  }
  observe(rows: number, bytes: number): void {
    if (rows === 0) return;
    const perRow = Math.max(1, bytes / rows);
    this.n = Math.max(1, Math.min(this.max, this.n * 4, Math.floor(BatchSizer.BATCH_BYTES / perRow)));
  }
}

export const where = (t: Table, col: Column): string => `${t.name}.${col.name}`;

/**
 * A value as either dialect's driver returns it (given the SELECT
 * expressions of libsql.ts / postgres.ts) → its neutral form. Embeddings are
 * stored differently by each dialect, so each passes its own decoder.
 */
export function decodeValue(t: Table, col: Column, v: unknown, embedding: (b: Buffer) => Buffer): Value {
  if (v === null || v === undefined) return null;
  const bad = (): never => {
    throw new CopyError(`${where(t, col)}: unexpected stored value of type ${typeof v}`);
  };
  switch (col.kind) {
    case 'uuid':
      return typeof v === 'string' ? v.toLowerCase() : bad();
    case 'text':
    case 'int':
    case 'decimal':
      return typeof v === 'string' ? v : bad();
    case 'real':
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : bad();
    case 'bool':
      // PostgreSQL boolean; libSQL 0/1.
      return typeof v === 'boolean' ? v : typeof v === 'number' || typeof v === 'bigint' ? Number(v) !== 0 : bad();
    case 'ts':
      return canonicalTs(v, where(t, col));
    case 'json':
    case 'textArray':
      return typeof v === 'string' ? canonicalJson(v, where(t, col)) : bad();
    case 'embedding':
      return v instanceof Uint8Array || v instanceof ArrayBuffer ? embedding(Buffer.from(v as Uint8Array)) : bad();
    case 'terms':
      return typeof v === 'string' ? sortedTerms(v) : bad();
  }
}
