// What an error message sent to a client must never carry: SQL text, driver
// error names and codes, stack frames, file paths. Some messages quote the
// offending value back ("unknown time zone \"…\""), so every string of the
// request (whole, JSON-escaped, its first 64 characters, and its words) is
// cut out first: only what the daemon itself wrote is judged.

const LEAKS: [string, RegExp][] = [
  ['SQL text', /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|WHERE|RETURNING|ON CONFLICT|VALUES ?\(|CREATE (TABLE|INDEX)|BEGIN IMMEDIATE|ROLLBACK|COALESCE|JOIN)\b/],
  ['SQL placeholder', /\$\d+\b/],
  [
    'driver error',
    /SQLITE_|SqliteError|LibsqlError|RemoteSqliteFailure|Hrana|DatabaseError|sqlstate|syntax error at|violates|duplicate key|relation "|column "|invalid input syntax|out of range for type|index row size|stack depth|unsupported Unicode escape|prepared statement|bind message|ECONNREFUSED|ECONNRESET/i,
  ],
  ['stack frame', /\n\s*at |\bat (async )?[\w$.<>]+ \(|\bat (file|node):/],
  ['file path', /file:\/\/|node_modules|\/(work|home|tmp|usr|var|opt|root|proc|dev|src|dist)\/|\.(js|ts|mjs|cjs):\d+/],
  ['JavaScript error', /\b(TypeError|RangeError|ReferenceError|SyntaxError|AggregateError)\b|\bundefined is not|Cannot read propert/],
];

/** What kind of leak `details` holds once the request's own strings are cut out, or null. */
export function leakIn(details: string, requestStrings: Iterable<string> = []): string | null {
  const pieces = new Set<string>();
  for (const s of requestStrings) {
    if (s.length < 2) continue;
    pieces.add(s);
    pieces.add(JSON.stringify(s).slice(1, -1));
    pieces.add(s.slice(0, 64));
    for (const w of s.split(/[\s'"(),]+/)) if (w.length >= 3) pieces.add(w);
  }
  let text = details;
  // Longest first, so a word never breaks up a longer quoted value.
  for (const p of [...pieces].sort((a, b) => b.length - a.length)) {
    if (p.length <= text.length && text.includes(p)) text = text.split(p).join(' ');
  }
  for (const [what, re] of LEAKS) if (re.test(text)) return what;
  return null;
}
