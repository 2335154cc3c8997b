// Job benchmarks through gRPC against a real daemon (a child process) on
// each backend:
//   - SaveJobEvent and SaveAction: ops/s and p50/p99 latency at client
//     concurrency 1, 16 and 64 (BENCH_JOBS_SECONDS per cell, default 1.5);
//   - event fan-out: 10 followers of one job while events are written at
//     500/s; latency from SaveJobEvent returning to each follower receiving
//     the event (p50/p99, clamped at 0: a follower may see it first).
// PostgreSQL is PG_TEST_URL when given, else a throwaway embedded server.
// Usage: node dist/scripts/bench-jobs.js [libsql|postgres ...]
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate, ValueSchema } from '@bufbuild/protobuf/wkt';
import { JobState, JobStore } from '../src/gen/agentstore/v1/jobs_pb.js';
import { SandboxJobStatus, SandboxStore } from '../src/gen/agentstore/v1/sandbox_pb.js';
import { stopTestServer } from '../test/support/postgres.js';
import { backendEnv, followEvents, promiseClient, removeTempDirs, startDaemon, type BackendName } from '../test/grpc/jobs-helpers.js';

const SECONDS = Number(process.env.BENCH_JOBS_SECONDS ?? '1.5');
const CONCURRENCY = [1, 16, 64];
const FANOUT_FOLLOWERS = 10;
const FANOUT_RATE = 500;
const FANOUT_SECONDS = Number(process.env.BENCH_JOBS_FANOUT_SECONDS ?? '2');

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '-');

interface Row {
  backend: string;
  op: string;
  concurrency: number;
  opsPerSec: number;
  p50: number;
  p99: number;
}

/** Runs `op` from `concurrency` loops for SECONDS; returns throughput and latency. */
async function load(concurrency: number, op: (i: number) => Promise<unknown>): Promise<{ opsPerSec: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let n = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await op(n++);
        lat.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { opsPerSec: lat.length / elapsed, p50: pct(lat, 50), p99: pct(lat, 99) };
}

const value = (i: number) =>
  create(ValueSchema, {
    kind: {
      case: 'structValue',
      value: { fields: { i: create(ValueSchema, { kind: { case: 'numberValue', value: i } }), text: create(ValueSchema, { kind: { case: 'stringValue', value: 'tool output line' } }) } },
    },
  });

async function benchBackend(backend: BackendName): Promise<{ rows: Row[]; fanout: { p50: number; p90: number; p99: number; delivered: number; expected: number } }> {
  const daemon = await startDaemon({ ...(await backendEnv(backend)), DATABASE_POOL_SIZE: '20' });
  const jobs = promiseClient(JobStore, daemon.address);
  const sandbox = promiseClient(SandboxStore, daemon.address);
  const rows: Row[] = [];
  try {
    for (const c of CONCURRENCY) {
      const jobId = randomUUID();
      await sandbox.saveSandboxJob({
        job: { id: jobId, task: 't', status: SandboxJobStatus.RUNNING, userId: 'bench', projectDir: '/p', createdAt: timestampFromDate(new Date()), credentialGrantsJson: '[]' },
      });
      const r = await load(c, (i) => sandbox.saveJobEvent({ jobId, eventType: 'message', data: value(i) }));
      rows.push({ backend, op: 'SaveJobEvent', concurrency: c, ...r });
    }
    for (const c of CONCURRENCY) {
      const jobId = randomUUID();
      await jobs.saveJob({ job: { jobId, state: JobState.IN_PROGRESS, userId: 'bench', title: 't', description: 'd', actualCost: '0', createdAt: timestampFromDate(new Date()) } });
      const r = await load(c, (i) =>
        jobs.saveAction({
          jobId,
          action: {
            id: randomUUID(),
            sequence: BigInt(i),
            toolName: 'shell',
            input: value(i),
            outputRaw: 'ok',
            cost: '0.000125',
            durationMs: 12n,
            success: true,
            executedAt: timestampFromDate(new Date()),
          },
        }),
      );
      rows.push({ backend, op: 'SaveAction', concurrency: c, ...r });
    }

    // fan-out
    const jobId = randomUUID();
    await sandbox.saveSandboxJob({
      job: { id: jobId, task: 't', status: SandboxJobStatus.RUNNING, userId: 'bench', projectDir: '/p', createdAt: timestampFromDate(new Date()), credentialGrantsJson: '[]' },
    });
    const received = new Map<bigint, number[]>();
    const followers = Array.from({ length: FANOUT_FOLLOWERS }, () => followEvents(daemon.address, jobId, 0n));
    const origPush = followers.map((f) => f.events.push.bind(f.events));
    followers.forEach((f, k) => {
      f.events.push = (...items) => {
        const t = performance.now();
        for (const e of items) {
          const list = received.get(e.id) ?? [];
          list.push(t);
          received.set(e.id, list);
        }
        return origPush[k]!(...items);
      };
    });
    await new Promise((r) => setTimeout(r, 300));
    const returned = new Map<bigint, number>();
    const total = FANOUT_RATE * FANOUT_SECONDS;
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / FANOUT_RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      pending.push(
        sandbox.saveJobEvent({ jobId, eventType: 'message', data: value(i) }).then((res) => {
          returned.set(res.id, performance.now());
        }),
      );
    }
    await Promise.all(pending);
    await Promise.all(followers.map((f) => f.waitFor(total, 60_000).catch(() => undefined)));
    const lat: number[] = [];
    let delivered = 0;
    for (const list of received.values()) delivered += list.length;
    // The first half second warms up connections and statement plans.
    const warm = [...returned.keys()].sort((x, y) => (x < y ? -1 : 1))[Math.floor(FANOUT_RATE / 2)] ?? 0n;
    for (const [id, t] of returned) {
      if (id < warm) continue;
      for (const r of received.get(id) ?? []) lat.push(Math.max(0, r - t));
    }
    followers.forEach((f) => f.cancel());
    lat.sort((x, y) => x - y);
    return { rows, fanout: { p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), delivered, expected: total * FANOUT_FOLLOWERS } };
  } finally {
    jobs.close();
    sandbox.close();
    await daemon.stop();
  }
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const backends = (wanted.length ? wanted : ['libsql', 'postgres']) as BackendName[];
  const out: string[] = [];
  out.push(`agentstore job benchmarks (gRPC, daemon in a child process, ${SECONDS}s per cell; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at start)`);
  out.push('');
  out.push('| backend | rpc | concurrency | ops/s | p50 ms | p99 ms |');
  out.push('|---|---|---:|---:|---:|---:|');
  const fan: string[] = ['', `Event fan-out: ${FANOUT_FOLLOWERS} followers, ${FANOUT_RATE} events/s for ${FANOUT_SECONDS}s; SaveJobEvent returned → follower received (after a 0.5 s warm-up)`, '', '| backend | p50 ms | p90 ms | p99 ms | delivered |', '|---|---:|---:|---:|---:|'];
  try {
    for (const b of backends) {
      const { rows, fanout } = await benchBackend(b);
      for (const r of rows) out.push(`| ${r.backend} | ${r.op} | ${r.concurrency} | ${Math.round(r.opsPerSec)} | ${f1(r.p50)} | ${f1(r.p99)} |`);
      fan.push(`| ${b} | ${f1(fanout.p50)} | ${f1(fanout.p90)} | ${f1(fanout.p99)} | ${fanout.delivered}/${fanout.expected} |`);
    }
  } finally {
    removeTempDirs();
    await stopTestServer();
  }
  process.stdout.write([...out, ...fan, ''].join('\n'));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench-jobs: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
