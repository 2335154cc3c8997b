// SQLite dialect codecs: timestamps as canonical RFC 3339 text with
// milliseconds (fixed width, so text order is time order), JSON as text.
// A stored value that cannot be read is DATA_LOSS, never a silent substitute.
import { StoreError } from '../../store/errors.js';
import type { JsonValue } from '../../store/types.js';

export const ts = (d: Date): string => d.toISOString();

export function readTs(column: string, v: unknown): Date {
  const d = typeof v === 'string' ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new StoreError('data_loss', `stored ${column} is not a timestamp`);
  return d;
}

export const readOptTs = (column: string, v: unknown): Date | null => (v === null || v === undefined ? null : readTs(column, v));

export function readJson(column: string, v: unknown): JsonValue {
  if (typeof v !== 'string') throw new StoreError('data_loss', `stored ${column} is not JSON text`);
  try {
    return JSON.parse(v) as JsonValue;
  } catch {
    throw new StoreError('data_loss', `stored ${column} is not valid JSON`);
  }
}

export const readOptJson = (column: string, v: unknown): JsonValue | undefined =>
  v === null || v === undefined ? undefined : readJson(column, v);
