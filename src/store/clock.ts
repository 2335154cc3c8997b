// The daemon's one clock. Every "now" written by either backend comes from
// here, at millisecond precision, so round-trips, cursors and orderings
// compare identically on libSQL and PostgreSQL. It never goes backwards within
// a process, even if the wall clock is stepped back.

let last = 0;

export function now(): Date {
  const t = Date.now();
  if (t > last) last = t;
  return new Date(last);
}
