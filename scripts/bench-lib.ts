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
  /** Holds PAGE_CONVERSATION_MESSAGES messages for ListConversationMessagesPaginated. */
  pageConversationId: '00000000-0000-4000-8000-00000000000b',
  settingValue: { theme: 'dark', fontSize: 14, beta: true, tags: ['a', 'b'] },
} as const;

export const settingKey = (i: number): string => `bench.key${i % SETTING_KEYS}`;

/**
 * AddConversationMessage rotates over this many conversations (BENCH_ADD_CONVERSATIONS,
 * default 64: concurrent agents each writing their own conversation). With 1,
 * every call also updates the same conversation row.
 */
export const ADD_CONVERSATIONS = Math.max(1, Number(process.env.BENCH_ADD_CONVERSATIONS ?? 64));
export const addConversationId = (i: number): string => `00000000-0000-4000-8000-${(0xa0000 + (i % ADD_CONVERSATIONS)).toString(16).padStart(12, '0')}`;

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
  /** Measured time per target, split over `rounds`. */
  durationMs: number;
  /** The targets take turns this many times, so a slow moment of a shared machine is spread over all of them. */
  rounds: number;
  /** Hard bound on measured operations per target. */
  maxOps: number;
  /** Called right before and right after each measured window of target `t` (not the warm-up). */
  onWindow?: (t: number, phase: 'start' | 'end') => void | Promise<void>;
}

type Call = (i: number) => Promise<unknown>;

interface Tally {
  lat: Float64Array;
  n: number;
  ms: number;
  errors: number;
  first?: string;
  seq: number;
}

/**
 * Closed loop: `concurrency` workers each issue one call, wait for it, issue
 * the next, until the time or the count is used up. Records into `t` unless
 * it is the warm-up.
 */
async function closedLoop(call: Call, concurrency: number, ms: number, t: Tally, record: boolean): Promise<void> {
  const cap = record ? t.lat.length : Number.MAX_SAFE_INTEGER;
  let warm = 0;
  const until = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < until && (record ? t.n : warm) < cap) {
      const slot = record ? t.n++ : warm++;
      const t0 = performance.now();
      try {
        await call(t.seq++);
      } catch (e) {
        if (record) {
          t.errors++;
          t.first ??= e instanceof Error ? e.message : String(e);
        }
      }
      if (record) t.lat[slot] = performance.now() - t0;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (record) t.ms += performance.now() - start;
  await yieldToLoop();
}

function summarize(t: Tally): CellResult {
  const sorted = t.lat.subarray(0, t.n).sort();
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
  const seconds = t.ms / 1000;
  return {
    ops: t.n,
    seconds,
    opsPerSec: t.n / seconds,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : NaN,
    errors: t.errors,
    ...(t.first ? { firstError: t.first } : {}),
  };
}

/**
 * One cell for each of `calls` (the targets) at the same concurrency: each
 * target warms up, then the targets take turns for `rounds` measured windows.
 * Throughput is measured operations over measured time; latencies are pooled.
 */
export async function runCells(calls: Call[], o: CellOptions): Promise<CellResult[]> {
  const tallies: Tally[] = calls.map(() => ({ lat: new Float64Array(o.maxOps), n: 0, ms: 0, errors: 0, seq: 0 }));
  for (let i = 0; i < calls.length; i++) await closedLoop(calls[i]!, o.concurrency, o.warmupMs, tallies[i]!, false);
  for (let r = 0; r < o.rounds; r++) {
    for (let i = 0; i < calls.length; i++) {
      await o.onWindow?.(i, 'start');
      await closedLoop(calls[i]!, o.concurrency, o.durationMs / o.rounds, tallies[i]!, true);
      await o.onWindow?.(i, 'end');
    }
  }
  return tallies.map(summarize);
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
      ${[SEED.pageConversationId, ...Array.from({ length: ADD_CONVERSATIONS }, (_, i) => addConversationId(i))]
        .map((id) => `('${id}', '${SEED.channel}', '${SEED.userId}', '${t}', '${t}', '{}')`)
        .join(',\n      ')}`,
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
      ${[SEED.pageConversationId, ...Array.from({ length: ADD_CONVERSATIONS }, (_, i) => addConversationId(i))]
        .map((id) => `('${id}', '${SEED.channel}', '${SEED.userId}', '${t}', '${t}', '{}')`)
        .join(',\n      ')}`,
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
