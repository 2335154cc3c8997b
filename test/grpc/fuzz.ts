// Hostile-input fuzz through the real daemon: FUZZ_REQUESTS (default 20,000)
// requests spread over every RPC of every service in src/gen — valid ones,
// valid ones with a few hostile fields, wholly random ones and byte-mutated
// ones — sent concurrently. Every answer must be a status a client can act
// on (never INTERNAL, UNKNOWN or DATA_LOSS), name the field when it is
// INVALID_ARGUMENT, and carry no SQL, driver text, stack frame or path; the
// daemon must stay up, every row it stored must read back, and afterwards
// the whole conformance suite runs on the very same database.
//
// Request i is built from its own PRNG stream of FUZZ_SEED (printed in the
// suite name), so a failure names the seed and index that replay it
// (FUZZ_CONCURRENCY=1 replays the exact order; FUZZ_TRACE=<part of an RPC
// path> prints every answer of the matching RPCs).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescFile, type DescMethod, type DescService } from '@bufbuild/protobuf';
import { ValueSchema, timestampFromDate } from '@bufbuild/protobuf/wkt';
import Libsql from 'libsql';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.js';
import { ConversationStore } from '../../src/gen/agentstore/v1/conversations_pb.js';
import { JobState, JobStore } from '../../src/gen/agentstore/v1/jobs_pb.js';
import { RoutineStore, RunStatus } from '../../src/gen/agentstore/v1/routines_pb.js';
import { SandboxJobStatus, SandboxStore } from '../../src/gen/agentstore/v1/sandbox_pb.js';
import { SettingsStore } from '../../src/gen/agentstore/v1/settings_pb.js';
import { ToolFailureStore } from '../../src/gen/agentstore/v1/tool_failures_pb.js';
import { WorkspaceStore } from '../../src/gen/agentstore/v1/workspace_pb.js';
import { SERVICE_NAMES } from '../../src/grpc/server.js';
import { rawRows } from '../conformance/raw.js';
import { runConformance } from '../conformance/suite.js';
import { libsqlBackend, postgresBackend, type TestBackend } from '../support/databases.js';
import { backendEnv, healthCheck, promiseClient, removeTempDirs, startDaemon, type BackendName, type Daemon } from './client.js';
import { leakIn } from './fuzz-leaks.js';
import { buildMessage, collectStrings, longStrings, mutate, Rng, type Pools } from './fuzz-values.js';

const { OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, CANCELLED } = grpc.status;

const SEED = Number(process.env.FUZZ_SEED ?? 20240607);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 16);
const DIMENSION = 8;

/** Statuses a hostile request may get; anything else is a bug. */
const UNARY_OK = new Set([OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED]);
/** A stream on a live job runs until its (short) deadline. */
const STREAM_OK = new Set([...UNARY_OK, DEADLINE_EXCEEDED, CANCELLED]);
/** INVALID_ARGUMENT names the field first: "user_id: …", "job.transitions[3].to_state: …", "request: cannot decode …". */
const NAMES_A_FIELD = /^[a-z][a-z0-9_]*(\[\d+\])?(\.|:| key:|\[)/;

interface Rpc {
  service: DescService;
  method: DescMethod;
  path: string;
}

/** Every RPC of every service of every generated file (a new .proto is fuzzed without a change here). */
async function allRpcs(): Promise<Rpc[]> {
  const genDir = join(dirname(fileURLToPath(import.meta.url)), '../../src/gen/agentstore/v1');
  const services: DescService[] = [];
  for (const f of readdirSync(genDir).filter((n) => n.endsWith('_pb.js')).sort()) {
    const mod = (await import(join(genDir, f))) as Record<string, unknown>;
    for (const x of Object.values(mod)) {
      if (typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'file') services.push(...(x as DescFile).services);
    }
  }
  return services.flatMap((service) => service.methods.map((method) => ({ service, method, path: `/${service.typeName}/${method.name}` })));
}

interface Answer {
  code: grpc.status;
  details: string;
}

const identity = (b: Uint8Array) => Buffer.from(b);
const raw = (b: Buffer) => b;

function callUnary(client: grpc.Client, path: string, body: Uint8Array, metadata: grpc.Metadata): Promise<Answer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, raw, body, metadata, { deadline: Date.now() + 60_000 }, (err) =>
      resolve(err ? { code: err.code, details: err.details } : { code: OK, details: '' }),
    );
  });
}

function callStream(client: grpc.Client, path: string, body: Uint8Array, metadata: grpc.Metadata): Promise<Answer> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(path, identity, raw, body, metadata, { deadline: Date.now() + 300 });
    call.on('data', () => undefined);
    call.on('error', () => undefined);
    call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
  });
}

type Mode = 'valid' | 'long' | 'mixed' | 'random' | 'mutated';

interface Request {
  rpc: Rpc;
  mode: Mode;
  body: Uint8Array;
  metadata: grpc.Metadata;
}

function makeRequest(rpcs: Rpc[], pools: Pools, i: number): Request {
  const rng = new Rng(SEED, i);
  const rpc = rpcs[i % rpcs.length]!;
  const r = rng.float();
  const mode: Mode = r < 0.15 ? 'valid' : r < 0.3 ? 'long' : r < 0.45 ? 'mixed' : r < 0.65 ? 'random' : 'mutated';
  const hostileRate = mode === 'mixed' ? 0.1 : mode === 'random' ? 1 : 0;
  const ctx = { rng, pools, service: rpc.service.name, hostileRate, longStrings: mode === 'long' ? longStrings(rng) : undefined };
  let body: Uint8Array = toBinary(rpc.method.input, buildMessage(ctx, rpc.method.input));
  if (mode === 'mutated') body = mutate(rng, body, rpc.method.input);
  const metadata = new grpc.Metadata();
  if (rng.chance(0.05)) metadata.set('x-request-id', rng.pick(['', 'req-1', 'x'.repeat(200), "'; DROP TABLE x; --", '../../etc']));
  return { rpc, mode, body, metadata };
}

/** What the server decoded: its strings are the only text an error message may quote back. */
function requestStrings(req: Request): Set<string> {
  try {
    return collectStrings(fromBinary(req.rpc.method.input, req.body), new Set());
  } catch {
    return new Set();
  }
}

/** Why an answer is a bug, or null. */
function judge(req: Request, a: Answer): string | null {
  const allowed = req.rpc.method.methodKind === 'server_streaming' ? STREAM_OK : UNARY_OK;
  if (!allowed.has(a.code)) return `status ${grpc.status[a.code]}`;
  if (a.code === OK) return null;
  const leak = leakIn(a.details, requestStrings(req));
  if (leak) return `message leaks ${leak}`;
  if (a.code === INVALID_ARGUMENT && !NAMES_A_FIELD.test(a.details)) return 'INVALID_ARGUMENT that names no field';
  return null;
}

const hex = (b: Uint8Array, max = 160) => Buffer.from(b.subarray(0, max)).toString('hex') + (b.length > max ? `… (${b.length} bytes)` : '');

/** Rows for the pools, created with valid calls before the fuzz, in a fixed order. */
/** A typed client of every store, for the valid calls around the fuzz. */
function storeClients(address: string) {
  const clients = {
    conv: promiseClient(ConversationStore, address),
    jobs: promiseClient(JobStore, address),
    sandbox: promiseClient(SandboxStore, address),
    routines: promiseClient(RoutineStore, address),
    settings: promiseClient(SettingsStore, address),
    tools: promiseClient(ToolFailureStore, address),
    workspace: promiseClient(WorkspaceStore, address),
  };
  return { ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}

async function seedRows(address: string): Promise<Pools> {
  const rng = new Rng(SEED, -1);
  const stores = storeClients(address);
  const { conv, jobs, sandbox, routines, settings, tools, workspace } = stores;
  const now = () => timestampFromDate(new Date());
  const past = timestampFromDate(new Date(Date.now() - 3_600_000));
  const ids = (n: number) => Array.from({ length: n }, () => rng.uuid());
  const pools: Pools = {
    users: Array.from({ length: 6 }, (_, i) => `fuzz-user-${i}`),
    agents: ids(3),
    conversations: [],
    // Eight ids each; the first five exist, the others may be created by the fuzz.
    jobs: ids(8),
    sandboxJobs: ids(8),
    routines: ids(8),
    runs: ids(8),
    actions: ids(8),
    documents: [],
    chunks: [],
    snapshots: [],
    dimension: DIMENSION,
  };
  try {
    for (const userId of pools.users) {
      for (const channel of ['web', 'cli']) {
        const { id } = await conv.createConversation({ channel, userId });
        await conv.addConversationMessage({ conversationId: id, role: 'user', content: `hello from ${channel}` });
        pools.conversations.push(id);
      }
      await settings.setSetting({ userId, key: 'theme', value: create(ValueSchema, { kind: { case: 'stringValue', value: 'dark' } }) });
    }
    for (let i = 0; i < 5; i++) {
      const userId = pools.users[i]!;
      await jobs.saveJob({
        job: {
          jobId: pools.jobs[i],
          state: JobState.IN_PROGRESS,
          userId,
          conversationId: pools.conversations[i],
          title: `job ${i}`,
          description: 'seeded',
          actualCost: '0',
          maxTokens: 1000n,
          createdAt: now(),
          userTimezone: 'UTC',
        },
      });
      await sandbox.saveSandboxJob({
        job: { id: pools.sandboxJobs[i], task: 'build', status: SandboxJobStatus.RUNNING, userId, projectDir: '/project', createdAt: now(), credentialGrantsJson: '[]' },
      });
      await sandbox.saveJobEvent({ jobId: pools.sandboxJobs[i], eventType: 'progress', data: create(ValueSchema, { kind: { case: 'numberValue', value: i } }) });
      await routines.createRoutine({
        routine: {
          id: pools.routines[i],
          name: `routine ${i}`,
          userId,
          trigger: i % 2 === 0 ? { kind: { case: 'cron', value: { schedule: '*/10 * * * * *' } } } : { kind: { case: 'manual', value: {} } },
          action: { kind: { case: 'lightweight', value: { prompt: 'check the news' } } },
          nextFireAt: past,
        },
      });
      await routines.createRoutineRun({ run: { id: pools.runs[i], routineId: pools.routines[i], triggerType: 'manual', status: RunStatus.RUNNING, jobId: pools.jobs[i] } });
      await jobs.saveAction({
        jobId: pools.jobs[0],
        action: {
          id: pools.actions[i],
          sequence: BigInt(i),
          toolName: 'shell',
          input: create(ValueSchema, { kind: { case: 'stringValue', value: 'ls' } }),
          durationMs: 5n,
          success: true,
          executedAt: now(),
        },
      });
      const { id: snapshot } = await jobs.saveEstimationSnapshot({
        jobId: pools.jobs[i],
        category: 'code',
        toolNames: ['shell'],
        estimatedCost: '1.5',
        estimatedTimeSecs: 60n,
        estimatedValue: '3',
      });
      pools.snapshots.push(snapshot);
      await tools.recordToolFailure({ toolName: `tool-${i}`, errorMessage: 'boom' });
    }
    for (const [i, path] of ['notes/a.md', 'notes/b.md', 'projects/alpha/plan.md', 'README.md'].entries()) {
      const { document } = await workspace.getOrCreateDocumentByPath({ userId: pools.users[i % 3], agentId: i === 3 ? pools.agents[0] : undefined, path });
      pools.documents.push(document!.id);
      const embedding = Array.from({ length: DIMENSION }, (_, k) => (k === i ? 1 : 0.25));
      pools.chunks.push((await workspace.insertChunk({ documentId: document!.id, chunkIndex: 0, content: `hello world ${path}`, embedding })).chunkId);
      pools.chunks.push((await workspace.insertChunk({ documentId: document!.id, chunkIndex: 1, content: 'remember the milk' })).chunkId);
    }
    return pools;
  } finally {
    stores.close();
  }
}

/** Runs `each` over `items` with a few calls in flight. */
async function inParallel<T>(items: T[], each: (x: T) => Promise<unknown>, width = 8): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

/**
 * Reads back every row the fuzz left behind, through the API: the global
 * lists, then every id and every owner they (or the tables) name. A row
 * that cannot be read is DATA_LOSS (or INTERNAL), and fails the call.
 */
async function readEverything(address: string, config: Config): Promise<number> {
  const stores = storeClients(address);
  const { conv, jobs, sandbox, routines, settings, tools, workspace } = stores;
  let calls = 0;
  const count = <T>(p: Promise<T>) => {
    calls++;
    return p;
  };
  try {
    const agentJobs = (await count(jobs.listAgentJobs({}))).jobs;
    await count(jobs.agentJobSummary({}));
    await count(jobs.getStuckJobs({}));
    await inParallel(agentJobs, async (j) => {
      await count(jobs.getJob({ id: j.id }));
      await count(jobs.getJobActions({ jobId: j.id }));
      await count(jobs.getAgentJobFailureReason({ id: j.id }));
    });
    const sandboxJobs = (await count(sandbox.listSandboxJobs({}))).jobs;
    await count(sandbox.sandboxJobSummary({}));
    await inParallel(sandboxJobs, async (j) => {
      await count(sandbox.getSandboxJob({ id: j.id }));
      await count(sandbox.listJobEvents({ jobId: j.id }));
      await count(sandbox.getSandboxJobMode({ id: j.id }));
    });
    const all = (await count(routines.listAllRoutines({}))).routines;
    await count(routines.listEventRoutines({}));
    await count(routines.listDueCronRoutines({}));
    await count(routines.listDispatchedRoutineRuns({}));
    await inParallel(all, async (r) => {
      await count(routines.getRoutine({ id: r.id }));
      await count(routines.listRoutineRuns({ routineId: r.id, limit: 1000n }));
    });
    await count(tools.getBrokenTools({ threshold: 0n }));

    // Owners are not listed by any RPC: take them from the tables.
    const owners = await rawRows(
      config,
      'SELECT user_id FROM conversations UNION SELECT user_id FROM settings UNION SELECT user_id FROM routines UNION SELECT user_id FROM agent_jobs',
      'SELECT user_id FROM conversations UNION SELECT user_id FROM settings UNION SELECT user_id FROM routines UNION SELECT user_id FROM agent_jobs',
    );
    await inParallel(owners, async (o) => {
      const userId = String(o.user_id);
      const convs = (await count(conv.listConversationsAllChannels({ userId, limit: 1000n }))).conversations;
      for (const c of convs) {
        await count(conv.listConversationMessages({ conversationId: c.id }));
        await count(conv.getConversationMetadata({ id: c.id }));
      }
      await count(settings.listSettings({ userId }));
      await count(settings.getAllSettings({ userId }));
      await count(routines.listRoutines({ userId }));
      await count(sandbox.listSandboxJobsForUser({ userId }));
    });
    const documentOwners = await rawRows(
      config,
      'SELECT DISTINCT user_id, agent_id FROM memory_documents',
      'SELECT DISTINCT user_id, agent_id::text AS agent_id FROM memory_documents',
    );
    await inParallel(documentOwners, async (o) => {
      const who = { userId: String(o.user_id), agentId: o.agent_id === null ? undefined : String(o.agent_id) };
      const docs = (await count(workspace.listDocuments(who))).documents;
      await count(workspace.listAllPaths(who));
      await count(workspace.listDirectory({ ...who, directory: '' }));
      await count(workspace.getChunksWithoutEmbeddings({ ...who, limit: 1000n }));
      for (const d of docs) await count(workspace.getDocumentById({ id: d.id }));
    });
    return calls;
  } finally {
    stores.close();
  }
}

/** The fuzzed database for the conformance run's first config(); fresh ones after (its lifecycle tests want them). */
function fuzzedDatabase(backend: BackendName, fuzzed: () => Config): TestBackend {
  const fresh = backend === 'libsql' ? libsqlBackend() : postgresBackend();
  let handedOut = false;
  return {
    name: backend,
    config: async () => {
      if (handedOut) return fresh.config();
      handedOut = true;
      return fuzzed();
    },
    cleanup: async () => {
      await fresh.cleanup();
      removeTempDirs();
    },
  };
}

const SYNC = '/agentstore.v1.Admin/Sync';

/** Real error text of this backend's driver, for the detector's own test. */
async function driverErrorText(backend: BackendName, config: Config): Promise<string> {
  try {
    if (backend === 'libsql') {
      const db = new Libsql(config.libsqlPath, { readonly: true });
      try {
        db.prepare('SELECT nope FROM settings WHERE user_id = ?').all('x');
      } finally {
        db.close();
      }
    } else {
      const c = new pg.Client({ connectionString: config.databaseUrl! });
      await c.connect();
      try {
        await c.query('INSERT INTO settings (user_id, key, value, updated_at) VALUES ($1, $2, $3, now())', ['u', 'k', '{bad json']);
      } finally {
        await c.end();
      }
    }
  } catch (e) {
    return `${(e as Error).message}\n${(e as Error).stack ?? ''}`;
  }
  throw new Error('the bad statement did not fail');
}

export function fuzzSuite(backend: BackendName): void {
  let daemon: Daemon;
  let config: Config;
  let rpcs: Rpc[];
  let pools: Pools;

  describe(`fuzz on ${backend}: ${REQUESTS} requests, FUZZ_SEED=${SEED}`, () => {
    before(async () => {
      const env = { ...(await backendEnv(backend)), EMBEDDING_DIMENSION: String(DIMENSION), AGENTSTORE_LOG_LEVEL: 'warn' };
      config = loadConfig({ ...env, AGENTSTORE_LOG_LEVEL: 'silent' }).config;
      daemon = await startDaemon(env);
      rpcs = await allRpcs();
      pools = await seedRows(daemon.address);
    });

    after(async () => {
      if (daemon && daemon.proc.exitCode === null) await daemon.stop('SIGKILL');
    });

    it('fuzzes every RPC of every service the daemon serves', () => {
      const services = [...new Set(rpcs.map((r) => r.service.typeName))].sort();
      assert.deepEqual(services, [...SERVICE_NAMES].sort());
      assert.ok(REQUESTS >= rpcs.length, 'at least one request per RPC');
    });

    it('the leak detector recognises driver errors, stack traces and paths, and passes field messages', async () => {
      const driver = await driverErrorText(backend, config);
      assert.ok(leakIn(driver), `flags: ${driver}`);
      assert.ok(leakIn(new Error('x').stack!));
      assert.equal(leakIn(`cannot open ${fileURLToPath(import.meta.url)}`), 'file path');
      assert.equal(leakIn('duplicate key value violates unique constraint "settings_pkey"'), 'driver error');
      assert.equal(leakIn('UPDATE routines SET state = $1'), 'SQL text');
      for (const fine of ['user_id: longer than 512 bytes', 'trigger.timezone: unknown time zone "SELECT x FROM y"', 'job_id: job 1 does not exist']) {
        assert.equal(leakIn(fine, ['SELECT x FROM y']), null, fine);
      }
    });

    it('no INTERNAL, UNKNOWN or DATA_LOSS, no leak, every INVALID_ARGUMENT names its field, the daemon stays up', async (t) => {
      const failures: string[] = [];
      const codes = new Map<string, Map<string, number>>();
      const client = new grpc.Client(daemon.address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
      });
      let next = 0;
      const started = Date.now();
      try {
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            for (let i = next++; i < REQUESTS && daemon.proc.exitCode === null; i = next++) {
              const req = makeRequest(rpcs, pools, i);
              const call = req.rpc.method.methodKind === 'server_streaming' ? callStream : callUnary;
              const answer = await call(client, req.rpc.path, req.body, req.metadata);
              const byCode = codes.get(req.rpc.path) ?? new Map<string, number>();
              codes.set(req.rpc.path, byCode.set(grpc.status[answer.code]!, (byCode.get(grpc.status[answer.code]!) ?? 0) + 1));
              if (process.env.FUZZ_TRACE && req.rpc.path.includes(process.env.FUZZ_TRACE)) console.error(`#${i} ${req.mode} ${grpc.status[answer.code]} ${answer.details.slice(0, 200)}`);
              const why = judge(req, answer);
              if (why && failures.length < 25) {
                failures.push(`#${i} ${req.rpc.path} [${req.mode}] ${why}: ${answer.details.slice(0, 400)}\n    request ${hex(req.body)}`);
              }
            }
          }),
        );
      } finally {
        client.close();
      }
      const seconds = (Date.now() - started) / 1000;
      const sent = Math.min(next, REQUESTS);
      t.diagnostic(`FUZZ_SEED=${SEED}: ${sent} requests in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s), concurrency ${CONCURRENCY}`);
      const totals = new Map<string, number>();
      for (const byCode of codes.values()) for (const [c, n] of byCode) totals.set(c, (totals.get(c) ?? 0) + n);
      t.diagnostic(`answers: ${[...totals].map(([c, n]) => `${c} ${n}`).join(', ')}`);
      assert.equal(daemon.proc.exitCode, null, `the daemon exited:\n${daemon.stderr()}`);
      assert.deepEqual(failures, [], `replay with FUZZ_SEED=${SEED} FUZZ_CONCURRENCY=1`);
      assert.equal(sent, REQUESTS);
      // The plausible requests must reach the stores, or the fuzz only tests
      // decoding (a short run, FUZZ_REQUESTS of a few thousand, only reports it).
      // Admin.Sync succeeds only on an embedded replica, which the fuzzed
      // daemon is not; there it must answer FAILED_PRECONDITION.
      const neverOk = rpcs.filter((r) => r.path !== SYNC && !codes.get(r.path)?.get('OK')).map((r) => r.path);
      assert.ok(codes.get(SYNC)?.get('FAILED_PRECONDITION'), 'Admin.Sync on a daemon that is not a replica answers FAILED_PRECONDITION');
      if (REQUESTS >= 150 * rpcs.length) assert.deepEqual(neverOk, [], 'RPCs no request succeeded on');
      else if (neverOk.length > 0) t.diagnostic(`no request succeeded on ${neverOk.join(', ')}`);
    });

    it('every stored row reads back, and health is still SERVING', async (t) => {
      assert.equal(await healthCheck(daemon.address), 'SERVING');
      const calls = await readEverything(daemon.address, config);
      t.diagnostic(`${calls} read calls`);
    });

    it('the daemon stops cleanly, logged no error, and the database file is intact', async () => {
      const exit = await daemon.stop();
      assert.equal(exit.code, 0, daemon.stderr());
      const errors = daemon.logs().filter((l) => typeof l.level === 'number' && l.level >= 50);
      assert.deepEqual(errors.slice(0, 5), [], 'error lines in the daemon log');
      if (backend === 'libsql') {
        const db = new Libsql(config.libsqlPath, { readonly: true });
        try {
          assert.deepEqual(db.prepare('PRAGMA integrity_check').all(), [{ integrity_check: 'ok' }]);
          assert.deepEqual(db.prepare('PRAGMA foreign_key_check').all(), []);
        } finally {
          db.close();
        }
      }
    });
  });

  // The whole conformance suite, on the database the fuzz just wrote.
  runConformance(fuzzedDatabase(backend, () => config));
}
