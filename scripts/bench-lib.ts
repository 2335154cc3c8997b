// Shared by the benchmark's processes: the closed-loop measurement of one
// cell, the four operations' fixed inputs, and the seeding of a database.
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export const OPS = ['AddConversationMessage', 'ListConversationMessagesPaginated', 'SetSetting', 'GetSetting'] as const;
export type Op = (typeof OPS)[number];

export const PAGE_SIZE = 50;
export const PAGE_CONVERSATION_MESSAGES = 10_000;
/** SetSetting rotates over this many keys of one user (GetSetting reads one of them). */
export const SETTING_KEYS = 64;
export const MESSAGE_CONTENT = 'The quick brown fox jumps over the lazy dog; agentstore benchmark message of about one hundred chars.';

/** Fixed ids every target's database is seeded with, so every process can build the same requests. */
export const SEED = {
  userId: 'bench-user',
  channel: 'bench',
  /** Receives AddConversationMessage. */
  addConversationId: '00000000-0000-4000-8000-00000000000a',
  /** Holds PAGE_CONVERSATION_MESSAGES messages for ListConversationMessagesPaginated. */
  pageConversationId: '00000000-0000-4000-8000-00000000000b',
  settingValue: { theme: 'dark', fontSize: 14, beta: true, tags: ['a', 'b'] },
} as const;

export const settingKey = (i: number): string => `bench.key${i % SETTING_KEYS}`;

export interface CellResult {
  ops: number;
  seconds: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  firstError?: string;
}

export interface CellOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Hard bound on measured operations per cell. */
  maxOps: number;
}

/**
 * Closed loop: `concurrency` workers each issue one call, wait for it, issue
 * the next, until the time or the count is used up. Warm-up calls are not
 * recorded. `call` gets a per-cell sequence number.
 */
export async function runCell(call: (i: number) => Promise<unknown>, o: CellOptions): Promise<CellResult> {
  let seq = 0;
  const loop = async (until: number, record: Float64Array | null, counter: { n: number; errors: number; first?: string }) => {
    while (performance.now() < until && counter.n < o.maxOps) {
      const slot = counter.n++;
      const t0 = performance.now();
      try {
        await call(seq++);
      } catch (e) {
        counter.errors++;
        counter.first ??= e instanceof Error ? e.message : String(e);
      }
      if (record) record[slot] = performance.now() - t0;
    }
  };
  const warm = { n: 0, errors: 0 };
  await Promise.all(Array.from({ length: o.concurrency }, () => loop(performance.now() + o.warmupMs, null, warm)));
  await yieldToLoop();

  const lat = new Float64Array(o.maxOps);
  const counter: { n: number; errors: number; first?: string } = { n: 0, errors: 0 };
  const start = performance.now();
  const until = start + o.durationMs;
  await Promise.all(Array.from({ length: o.concurrency }, () => loop(until, lat, counter)));
  const seconds = (performance.now() - start) / 1000;
  const sorted = lat.subarray(0, counter.n).sort();
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
  await yieldToLoop();
  return {
    ops: counter.n,
    seconds,
    opsPerSec: counter.n / seconds,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : NaN,
    errors: counter.errors,
    ...(counter.first ? { firstError: counter.first } : {}),
  };
}

/** RFC 3339 with milliseconds, as the libSQL schema stores timestamps. */
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Seeds a migrated libSQL file: the two conversations, the 10k-message
 * conversation and the user's settings. Plain SQL, one transaction.
 */
export function seedLibsqlSql(now: number): string[] {
  const t = iso(now - PAGE_CONVERSATION_MESSAGES * 1000);
  const out = [
    `INSERT INTO conversations (id, channel, user_id, started_at, last_activity, metadata) VALUES
      ('${SEED.addConversationId}', '${SEED.channel}', '${SEED.userId}', '${t}', '${t}', '{}'),
      ('${SEED.pageConversationId}', '${SEED.channel}', '${SEED.userId}', '${t}', '${t}', '{}')`,
    // One message per second of the last 10k seconds, alternating roles.
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${PAGE_CONVERSATION_MESSAGES - 1})
     INSERT INTO conversation_messages (id, conversation_id, role, content, created_at)
     SELECT printf('%08x-0000-4000-8000-%012x', 11, i), '${SEED.pageConversationId}',
            CASE i % 2 WHEN 0 THEN 'user' ELSE 'assistant' END, '${MESSAGE_CONTENT}',
            strftime('%Y-%m-%dT%H:%M:%fZ', ${(now - PAGE_CONVERSATION_MESSAGES * 1000) / 1000} + i, 'unixepoch')
     FROM n`,
  ];
  for (let k = 0; k < SETTING_KEYS; k++) {
    out.push(
      `INSERT INTO settings (user_id, key, value, updated_at) VALUES ('${SEED.userId}', '${settingKey(k)}', '${JSON.stringify(SEED.settingValue)}', '${t}')`,
    );
  }
  return out;
}

/** The same seed for a migrated PostgreSQL database. */
export function seedPostgresSql(now: number): string[] {
  const t = iso(now - PAGE_CONVERSATION_MESSAGES * 1000);
  const out = [
    `INSERT INTO conversations (id, channel, user_id, started_at, last_activity, metadata) VALUES
      ('${SEED.addConversationId}', '${SEED.channel}', '${SEED.userId}', '${t}', '${t}', '{}'),
      ('${SEED.pageConversationId}', '${SEED.channel}', '${SEED.userId}', '${t}', '${t}', '{}')`,
    `INSERT INTO conversation_messages (id, conversation_id, role, content, created_at)
     SELECT ('0000000b-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, '${SEED.pageConversationId}',
            CASE i % 2 WHEN 0 THEN 'user' ELSE 'assistant' END, '${MESSAGE_CONTENT}',
            '${t}'::timestamptz + make_interval(secs => i)
     FROM generate_series(0, ${PAGE_CONVERSATION_MESSAGES - 1}) AS i`,
    `INSERT INTO settings (user_id, key, value, updated_at)
     SELECT '${SEED.userId}', 'bench.key' || k, '${JSON.stringify(SEED.settingValue)}'::jsonb, '${t}'
     FROM generate_series(0, ${SETTING_KEYS - 1}) AS k`,
    'ANALYZE',
  ];
  return out;
}

export const fmt = {
  rate: (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—'),
  ms: (x: number) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '—'),
  ratio: (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—'),
};
