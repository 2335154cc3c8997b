// Exact decimals (money, costs, values) as plain-notation strings. They are
// checked once here, stored as PostgreSQL NUMERIC / libSQL TEXT and read back
// unchanged, so both backends return the very string the client gave.
import { invalidArgument } from './errors.js';
import { MAX_DECIMAL_DIGITS } from './limits.js';
import type { Decimal } from './types.js';

/** Plain notation only: no exponent, no "+", no leading zeros, no bare ".". */
const DECIMAL_RE = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;

export function decimal(field: string, v: unknown, opts: { allowNegative?: boolean } = {}): Decimal {
  if (typeof v !== 'string' || !DECIMAL_RE.test(v)) throw invalidArgument(field, 'must be a decimal in plain notation, like "0.005" or "-12.50"');
  if (v.replace(/[-.]/g, '').length > MAX_DECIMAL_DIGITS) throw invalidArgument(field, `more than ${MAX_DECIMAL_DIGITS} digits`);
  const negative = v.startsWith('-');
  // PostgreSQL NUMERIC has no negative zero: "-0.00" would read back as
  // "0.00". Normalise it on both backends so they agree.
  if (negative && /^-[0.]+$/.test(v)) return v.slice(1);
  if (negative && !opts.allowNegative) throw invalidArgument(field, 'must not be negative');
  return v;
}

export const optDecimal = (field: string, v: unknown, opts: { allowNegative?: boolean } = {}): Decimal | null =>
  v === null || v === undefined ? null : decimal(field, v, opts);
