// RoutineStore hot paths on both backends, in process (no gRPC):
//   ListDueCronRoutines and ClaimDueCronRoutines with 10,000 routines of
//   which 100 are due; CountRunningRoutineRunsBatch for 500 ids.
// Usage: node dist/scripts/bench-routines.js [libsql|postgres ...]
// PostgreSQL is the server in PG_TEST_URL, or a throwaway embedded one.
// Prints one Markdown table; numbers are milliseconds per call.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Database } from '../src/store/database.js';
import type { Routine, RoutineRun } from '../src/store/routines.js';
import { libsqlBackend, openMigrated, postgresBackend, type TestBackend } from '../test/support/databases.js';

const TOTAL = 10_000;
const DUE = 100;
const BATCH_IDS = 500;
const ITERATIONS = { list: 200, claim: 50, batch: 200 };
const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo'];

function routine(i: number, nextFireAt: Date | null, over: Partial<Routine> = {}): Routine {
  const t = new Date();
  return {
    id: randomUUID(),
    name: `routine-${i}`,
    description: '',
    userId: `user-${i % 100}`,
    enabled: true,
    // 60 distinct schedules in 3 zones: claims cannot lean on one shared computation.
    trigger: { kind: 'cron', schedule: `0 ${i % 60} */2 * * *`, timezone: ZONES[i % ZONES.length]! },
    action: { kind: 'lightweight', prompt: 'check in', contextPaths: [], maxTokens: 4096, useTools: false, maxToolRounds: 3 },
    guardrails: { cooldownSecs: 300, maxConcurrent: 1, dedupWindowSecs: null },
    notify: { channel: null, user: null, onAttention: true, onFailure: true, onSuccess: false },
    lastRunAt: null,
    nextFireAt,
    runCount: 0,
    consecutiveFailures: 0,
    state: {},
    createdAt: t,
    updatedAt: t,
    ...over,
  };
}

const run = (routineId: string): RoutineRun => ({
  id: randomUUID(),
  routineId,
  triggerType: 'cron',
  triggerDetail: null,
  startedAt: new Date(),
  completedAt: null,
  status: 'running',
  resultSummary: null,
  tokensUsed: null,
  jobId: null,
  createdAt: new Date(),
});

/** Runs `fns` with at most `width` in flight (PostgreSQL seeds faster in parallel). */
async function pooled<T>(items: T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

interface Row {
  backend: string;
  op: string;
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

async function measure(backend: string, op: string, n: number, fn: () => Promise<void>, between?: () => Promise<void>): Promise<Row> {
  for (let i = 0; i < 5; i++) {
    await between?.();
    await fn(); // warm-up: statement caches, plans
  }
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    await between?.();
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
  return { backend, op, n, mean: samples.reduce((a, b) => a + b, 0) / n, p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}

async function bench(tb: TestBackend): Promise<Row[]> {
  const db: Database = await openMigrated(await tb.config());
  try {
    const width = tb.name === 'postgres' ? 8 : 1;
    const past = new Date(Date.now() - 60_000);
    const future = new Date(Date.now() + 86_400_000);
    // 100 due; the rest: future cron (most), disabled-but-past cron, event and manual routines.
    const all: Routine[] = [];
    for (let i = 0; i < TOTAL; i++) {
      if (i < DUE) all.push(routine(i, past));
      else if (i % 10 === 1) all.push(routine(i, past, { enabled: false }));
      else if (i % 10 === 2) all.push(routine(i, null, { trigger: { kind: 'event', pattern: 'ping', channel: null } }));
      else if (i % 10 === 3) all.push(routine(i, null, { trigger: { kind: 'manual' } }));
      else all.push(routine(i, future));
    }
    let t = performance.now();
    await pooled(all, width, (r) => db.createRoutine(r));
    process.stderr.write(`${tb.name}: seeded ${TOTAL} routines in ${Math.round(performance.now() - t)} ms\n`);

    // Runs: 3 per routine for the first 2,000 routines, one of them running.
    const runs: RoutineRun[] = [];
    for (const r of all.slice(0, 2000)) runs.push(run(r.id), run(r.id), run(r.id));
    t = performance.now();
    await pooled(runs, width, (x) => db.createRoutineRun(x));
    await pooled(
      runs.filter((_, i) => i % 3 !== 0),
      width,
      (x) => db.completeRoutineRun(x.id, 'ok', null, null),
    );
    process.stderr.write(`${tb.name}: seeded ${runs.length} runs in ${Math.round(performance.now() - t)} ms\n`);

    const rows: Row[] = [];
    rows.push(
      await measure(tb.name, 'ListDueCronRoutines (100 due of 10k)', ITERATIONS.list, async () => {
        const got = await db.listDueCronRoutines();
        if (got.length !== DUE) throw new Error(`expected ${DUE} due, got ${got.length}`);
      }),
    );
    const due = all.slice(0, DUE);
    // Re-arm the 100 (untimed) so every timed claim takes all of them.
    const rearm = () => pooled(due, width, (r) => db.updateRoutineRuntime(r.id, past, past, 0, 0, {}));
    rows.push(
      await measure(
        tb.name,
        'ClaimDueCronRoutines (limit 100, 100 due of 10k)',
        ITERATIONS.claim,
        async () => {
          const got = await db.claimDueCronRoutines('bench', 100);
          if (got.length !== DUE) throw new Error(`expected ${DUE} claims, got ${got.length}`);
        },
        rearm,
      ),
    );
    rows.push(
      await measure(tb.name, 'ClaimDueCronRoutines (nothing due)', ITERATIONS.list, async () => {
        const got = await db.claimDueCronRoutines('bench', 100);
        if (got.length !== 0) throw new Error('expected nothing due');
      }),
    );
    const ids = all.slice(1000, 1000 + BATCH_IDS).map((r) => r.id); // half with runs, half without
    rows.push(
      await measure(tb.name, 'CountRunningRoutineRunsBatch (500 ids)', ITERATIONS.batch, async () => {
        const m = await db.countRunningRoutineRunsBatch(ids);
        if (m.size !== BATCH_IDS) throw new Error('batch map is missing ids');
      }),
    );
    return rows;
  } finally {
    await db.close();
    await tb.cleanup();
  }
}

const wanted = process.argv.slice(2);
const backends = [libsqlBackend(), postgresBackend()].filter((b) => wanted.length === 0 || wanted.includes(b.name));
const rows: Row[] = [];
for (const b of backends) rows.push(...(await bench(b)));
const f = (x: number) => x.toFixed(2);
process.stdout.write('| backend | operation | calls | mean ms | p50 ms | p95 ms | p99 ms |\n|---|---|---:|---:|---:|---:|---:|\n');
for (const r of rows) process.stdout.write(`| ${r.backend} | ${r.op} | ${r.n} | ${f(r.mean)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} |\n`);
