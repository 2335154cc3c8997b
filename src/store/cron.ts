// Cron schedules as the daemon understands them (README "Cron schedules").
//
// Accepted: 5 fields (minute hour day-of-month month day-of-week), 6 fields
// with seconds first (the reference's form), or 7 with a trailing year;
// names (JAN–DEC, SUN–SAT), ranges, lists, steps, L/W/#, and the nicknames
// @yearly @monthly @weekly @daily @hourly. `?` means "any" (as `*`). Numeric
// weekdays follow crontab: 0 and 7 are Sunday. Day-of-month and day-of-week
// combine with OR when both are restricted, as in crontab.
//
// Next fire times come from croner, which takes an explicit "after" instant
// and an IANA zone; a time that falls in a DST gap fires at the first valid
// instant after the gap, and a repeated local time fires once.
import { Cron } from 'croner';
import { invalidArgument } from './errors.js';
import { MAX_SCHEDULE_CHARS, MAX_TIMEZONE_CHARS } from './limits.js';

/** Parsed schedules, keyed by zone + expression; small and bounded. */
const cache = new Map<string, Cron>();
const CACHE_MAX = 2048;

function compile(schedule: string, timezone: string | null): Cron {
  const key = `${timezone ?? ''}\u0000${schedule}`;
  let c = cache.get(key);
  if (!c) {
    // croner substitutes the current time for `?`; here it means "any".
    const pattern = schedule
      .trim()
      .split(/\s+/)
      .map((f) => (f === '?' ? '*' : f))
      .join(' ');
    c = new Cron(pattern, { paused: true, mode: 'auto', ...(timezone ? { timezone } : {}) });
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, c);
  }
  return c;
}

/** Zone name as given → canonical name; every stored routine is read through it. */
const zones = new Map<string, string>();

/** The canonical IANA name of `tz`, or INVALID_ARGUMENT naming `field`. */
export function timezone(field: string, tz: unknown): string {
  if (typeof tz !== 'string' || tz.length === 0 || tz.length > MAX_TIMEZONE_CHARS) throw invalidArgument(field, 'must be an IANA time zone name such as "Europe/Berlin"');
  const known = zones.get(tz);
  if (known) return known;
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw invalidArgument(field, `unknown time zone "${tz}" (expected an IANA name such as "Europe/Berlin")`);
  }
  if (zones.size >= CACHE_MAX) zones.clear();
  zones.set(tz, canonical);
  return canonical;
}

/** A zone name that still resolves, else null (used when reading stored rows). */
export function knownTimezoneOrNull(tz: unknown): string | null {
  try {
    return timezone('timezone', tz);
  } catch {
    return null;
  }
}

/**
 * Checks a schedule (with its already validated zone): it must parse and
 * fire at least once after `now`. Returns it unchanged.
 */
export function schedule(field: string, expr: unknown, tz: string | null, now: Date): string {
  if (typeof expr !== 'string' || expr.trim().length === 0) throw invalidArgument(field, 'must be a cron expression');
  if (expr.length > MAX_SCHEDULE_CHARS) throw invalidArgument(field, `longer than ${MAX_SCHEDULE_CHARS} characters`);
  let c: Cron;
  try {
    c = compile(expr, tz);
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/^CronPattern:\s*/, '') : 'cannot be parsed';
    throw invalidArgument(field, `invalid cron expression "${expr}": ${why}`);
  }
  if (!c.nextRun(now)) throw invalidArgument(field, `cron expression "${expr}" never fires after ${now.toISOString()}`);
  return expr;
}

/**
 * The first fire time strictly after `after`, or null when the schedule
 * never fires again or cannot be read (a stored row written by an older
 * build). Millisecond precision, like every stored timestamp.
 */
export function nextFireTime(expr: string, tz: string | null, after: Date): Date | null {
  try {
    const next = compile(expr, tz).nextRun(after);
    return next ? new Date(next.getTime()) : null;
  } catch {
    return null;
  }
}
