// Per-user isolation through the real daemon: EVERY RPC of every service
// (the list comes from the service descriptors, so a new RPC without a case
// here fails) is called with bob's user-scoped token against alice's data.
// Each call must be refused — PERMISSION_DENIED, or exactly the answer the
// same call gives for a row that does not exist — and must change nothing
// (every table is compared before and after). A control call (alice's
// token, or the service token for service-only RPCs) then shows the request
// does reach the data when the caller may: it succeeds and either answers
// differently from bob's call or changes the database. Registered once per backend.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create, toJson, type DescMessage, type DescMethod, type MessageInitShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { loadConfig } from '../../src/config.js';
import { Admin } from '../../src/gen/agentstore/v1/admin_pb.js';
import { ConversationStore } from '../../src/gen/agentstore/v1/conversations_pb.js';
import { JobState, JobStore } from '../../src/gen/agentstore/v1/jobs_pb.js';
import { RoutineStore, RunStatus } from '../../src/gen/agentstore/v1/routines_pb.js';
import { SandboxJobStatus, SandboxStore } from '../../src/gen/agentstore/v1/sandbox_pb.js';
import { SettingsStore } from '../../src/gen/agentstore/v1/settings_pb.js';
import { ToolFailureStore } from '../../src/gen/agentstore/v1/tool_failures_pb.js';
import { WorkspaceStore } from '../../src/gen/agentstore/v1/workspace_pb.js';
import { serviceDefinition } from '../../src/grpc/bridge.js';
import {
  adminRules,
  conversationRules,
  jobRules,
  routineRules,
  sandboxRules,
  settingsRules,
  toolFailureRules,
  workspaceRules,
  type Rule,
} from '../../src/grpc/rules.js';
import type { Fixture as OwnedRows } from '../conformance/ownership.js';
import { snapshots, type Snapshots } from '../support/snapshot.js';
import { stopTestServer } from '../support/postgres.js';
import { backendEnv, removeTempDirs, startDaemon, type BackendName, type Daemon } from './client.js';
import { bearer, writeTokensFile } from './tokens.js';

const SERVICES = [ConversationStore, JobStore, SandboxStore, RoutineStore, SettingsStore, ToolFailureStore, WorkspaceStore, Admin] as GenService<GenServiceMethods>[];
const RULES: Record<string, Record<string, Rule<never>>> = {
  ConversationStore: conversationRules,
  JobStore: jobRules,
  SandboxStore: sandboxRules,
  RoutineStore: routineRules,
  SettingsStore: settingsRules,
  ToolFailureStore: toolFailureRules,
  WorkspaceStore: workspaceRules,
  Admin: adminRules,
};

type Init = Record<string, unknown>;

/** What a call answered: its status, and its details or its response(s) as JSON, ids replaced by <id>. */
interface Outcome {
  code: string;
  text: string;
}

interface Probe {
  /** Sent with bob's token. */
  bob: Init;
  /** What bob gets: PERMISSION_DENIED; the same answer as this request for a missing row; or this status (and text). */
  expect: 'denied' | { like: Init } | { code: grpc.status; text?: string };
  /** Who shows the request reaches the data (default: the same request with alice's token; service-only RPCs: the service token); false: no control. */
  control?: { as?: 'alice' | 'service'; req?: Init } | false;
}

interface Fixture extends OwnedRows {
  routineName: string;
  path: string;
}

const ALICE = 'alice';
const BOB = 'bob';
const DIM = 4;
const uuid = () => randomUUID();
const now = () => timestampFromDate(new Date());
const num = (n: number) => ({ kind: { case: 'numberValue', value: n } });
const str = (s: string) => ({ kind: { case: 'stringValue', value: s } });

const job = (userId: string, jobId: string, over: Init = {}) => ({
  jobId,
  state: JobState.IN_PROGRESS,
  userId,
  title: 'report',
  description: 'about it',
  actualCost: '0',
  createdAt: now(),
  userTimezone: 'UTC',
  ...over,
});
const action = () => ({ id: uuid(), sequence: 7n, toolName: 'shell', input: str('ls'), durationMs: 1n, success: true, executedAt: now() });
const sandboxJob = (userId: string, id: string, status = SandboxJobStatus.COMPLETED) => ({
  id,
  task: 'build',
  status,
  userId,
  projectDir: '/p',
  createdAt: now(),
  credentialGrantsJson: '[]',
});
const routine = (userId: string, id: string, name = `r-${uuid()}`, over: Init = {}) => ({
  id,
  name,
  userId,
  description: '',
  trigger: { kind: { case: 'manual', value: {} } },
  action: { kind: { case: 'lightweight', value: { prompt: 'summarise' } } },
  ...over,
});
const run = (routineId: string) => ({ id: uuid(), routineId, triggerType: 'manual', startedAt: now(), status: RunStatus.RUNNING });
const llmCall = (over: Init) => ({ provider: 'p', model: 'm', inputTokens: 1n, outputTokens: 1n, cost: '0', ...over });

const denied = (bob: Init): Probe => ({ bob, expect: 'denied' });
/** An id-keyed request: bob's call on alice's row must answer as `missing` (the same request on an id nobody has). */
const asMissing = (bob: Init, missing: Init): Probe => ({ bob, expect: { like: missing } });

/** Every RPC's probes, built on a fresh fixture of alice's. */
const CASES: Record<string, (f: Fixture) => Probe[]> = {
  'ConversationStore/CreateConversation': () => [denied({ channel: 'web', userId: ALICE })],
  'ConversationStore/TouchConversation': (f) => [asMissing({ id: f.conversation }, { id: uuid() })],
  'ConversationStore/AddConversationMessage': (f) => [
    asMissing({ conversationId: f.conversation, role: 'user', content: 'x' }, { conversationId: uuid(), role: 'user', content: 'x' }),
  ],
  'ConversationStore/EnsureConversation': (f) => [
    denied({ id: f.conversation, channel: 'web', userId: ALICE }),
    // bob's own user id on alice's conversation id: "belongs to somebody else" (ok false), nothing touched
    { bob: { id: f.conversation, channel: 'web', userId: BOB }, expect: { code: grpc.status.OK, text: '{}' }, control: { req: { id: f.conversation, channel: 'web', userId: ALICE } } },
  ],
  'ConversationStore/ListConversationsWithPreview': () => [denied({ userId: ALICE, channel: 'web', limit: 10n })],
  'ConversationStore/ListConversationsAllChannels': () => [denied({ userId: ALICE, limit: 10n })],
  'ConversationStore/GetOrCreateRoutineConversation': (f) => [denied({ routineId: f.routine, routineName: 'r', userId: ALICE })],
  'ConversationStore/GetOrCreateHeartbeatConversation': () => [denied({ userId: ALICE })],
  'ConversationStore/GetOrCreateAssistantConversation': () => [denied({ userId: ALICE, channel: 'web' })],
  'ConversationStore/CreateConversationWithMetadata': () => [denied({ channel: 'web', userId: ALICE, metadata: { fields: { a: num(1) } } })],
  'ConversationStore/ListConversationMessagesPaginated': (f) => [asMissing({ conversationId: f.conversation, limit: 10n }, { conversationId: uuid(), limit: 10n })],
  'ConversationStore/UpdateConversationMetadataField': (f) => [asMissing({ id: f.conversation, key: 'k', value: num(1) }, { id: uuid(), key: 'k', value: num(1) })],
  'ConversationStore/GetConversationMetadata': (f) => [asMissing({ id: f.conversation }, { id: uuid() })],
  'ConversationStore/ListConversationMessages': (f) => [asMissing({ conversationId: f.conversation }, { conversationId: uuid() })],
  'ConversationStore/ConversationBelongsToUser': (f) => [
    denied({ conversationId: f.conversation, userId: ALICE }),
    { bob: { conversationId: f.conversation, userId: BOB }, expect: { like: { conversationId: uuid(), userId: BOB } }, control: { req: { conversationId: f.conversation, userId: ALICE } } },
  ],

  'JobStore/SaveJob': (f) => {
    const fresh = uuid();
    return [
      denied({ job: job(ALICE, f.job) }),
      // bob's own user id on alice's job id: the id is taken, alice's job is not overwritten
      { bob: { job: job(BOB, f.job) }, expect: { code: grpc.status.ALREADY_EXISTS }, control: { req: { job: job(ALICE, f.job, { title: 'changed' }) } } },
      // bob's new job pointing at alice's conversation: as a conversation that does not exist
      {
        bob: { job: job(BOB, fresh, { conversationId: f.conversation }) },
        expect: { like: { job: job(BOB, fresh, { conversationId: uuid() }) } },
        control: { req: { job: job(ALICE, fresh, { conversationId: f.conversation }) } },
      },
    ];
  },
  'JobStore/GetJob': (f) => [asMissing({ id: f.job }, { id: uuid() })],
  'JobStore/UpdateJobStatus': (f) => [asMissing({ id: f.job, status: JobState.FAILED }, { id: uuid(), status: JobState.FAILED })],
  'JobStore/MarkJobStuck': (f) => [asMissing({ id: f.job }, { id: uuid() })],
  'JobStore/GetStuckJobs': () => [denied({})],
  'JobStore/ListAgentJobs': () => [denied({})],
  'JobStore/AgentJobSummary': () => [denied({})],
  'JobStore/GetAgentJobFailureReason': (f) => [asMissing({ id: f.job }, { id: uuid() })],
  'JobStore/SaveAction': (f) => [asMissing({ jobId: f.job, action: action() }, { jobId: uuid(), action: action() })],
  'JobStore/GetJobActions': (f) => [asMissing({ jobId: f.job }, { jobId: uuid() })],
  'JobStore/RecordLlmCall': (f) => [
    asMissing(llmCall({ jobId: f.job }), llmCall({ jobId: uuid() })),
    asMissing(llmCall({ conversationId: f.conversation }), llmCall({ conversationId: uuid() })),
  ],
  'JobStore/SaveEstimationSnapshot': (f) => {
    const snap = (jobId: string) => ({ jobId, category: 'c', toolNames: ['shell'], estimatedCost: '1', estimatedTimeSecs: 1n, estimatedValue: '1' });
    return [asMissing(snap(f.job), snap(uuid()))];
  },
  'JobStore/UpdateEstimationActuals': (f) => [asMissing({ id: f.snapshot, actualCost: '1', actualTimeSecs: 2n }, { id: uuid(), actualCost: '1', actualTimeSecs: 2n })],

  'SandboxStore/SaveSandboxJob': (f) => [
    denied({ job: sandboxJob(ALICE, f.sandboxJob) }),
    {
      bob: { job: sandboxJob(BOB, f.sandboxJob) },
      expect: { code: grpc.status.ALREADY_EXISTS },
      control: { req: { job: sandboxJob(ALICE, f.sandboxJob, SandboxJobStatus.FAILED) } },
    },
  ],
  'SandboxStore/GetSandboxJob': (f) => [asMissing({ id: f.sandboxJob }, { id: uuid() })],
  'SandboxStore/ListSandboxJobs': () => [denied({})],
  'SandboxStore/UpdateSandboxJobStatus': (f) => [asMissing({ id: f.sandboxJob, status: SandboxJobStatus.FAILED }, { id: uuid(), status: SandboxJobStatus.FAILED })],
  'SandboxStore/CleanupStaleSandboxJobs': () => [denied({})],
  'SandboxStore/SandboxJobSummary': () => [denied({})],
  'SandboxStore/ListSandboxJobsForUser': () => [denied({ userId: ALICE })],
  'SandboxStore/SandboxJobSummaryForUser': () => [denied({ userId: ALICE })],
  'SandboxStore/SandboxJobBelongsToUser': (f) => [
    denied({ jobId: f.sandboxJob, userId: ALICE }),
    { bob: { jobId: f.sandboxJob, userId: BOB }, expect: { like: { jobId: uuid(), userId: BOB } }, control: { req: { jobId: f.sandboxJob, userId: ALICE } } },
  ],
  'SandboxStore/UpdateSandboxJobMode': (f) => [asMissing({ id: f.sandboxJob, mode: 'claude_code' }, { id: uuid(), mode: 'claude_code' })],
  'SandboxStore/GetSandboxJobMode': (f) => [asMissing({ id: f.sandboxJob }, { id: uuid() })],
  'SandboxStore/SaveJobEvent': (f) => [asMissing({ jobId: f.sandboxJob, eventType: 'message', data: num(1) }, { jobId: uuid(), eventType: 'message', data: num(1) })],
  'SandboxStore/ListJobEvents': (f) => [asMissing({ jobId: f.sandboxJob }, { jobId: uuid() })],
  'SandboxStore/StreamJobEvents': (f) => [asMissing({ jobId: f.sandboxJob }, { jobId: uuid() })],

  'RoutineStore/CreateRoutine': (f) => [
    denied({ routine: routine(ALICE, uuid()) }),
    // bob's own user id on alice's routine id: taken, nothing written
    { bob: { routine: routine(BOB, f.routine) }, expect: { code: grpc.status.ALREADY_EXISTS }, control: false },
  ],
  'RoutineStore/GetRoutine': (f) => [asMissing({ id: f.routine }, { id: uuid() })],
  'RoutineStore/GetRoutineByName': (f) => [denied({ userId: ALICE, name: f.routineName })],
  'RoutineStore/ListRoutines': () => [denied({ userId: ALICE })],
  'RoutineStore/ListAllRoutines': () => [denied({})],
  'RoutineStore/ListEventRoutines': () => [denied({})],
  'RoutineStore/ListDueCronRoutines': () => [denied({})],
  'RoutineStore/UpdateRoutine': (f) => [
    denied({ routine: routine(ALICE, f.routine, f.routineName) }),
    // bob's own user id on alice's routine id: as a routine that does not exist (no routine back)
    {
      bob: { routine: routine(BOB, f.routine) },
      expect: { like: { routine: routine(BOB, uuid()) } },
      control: { req: { routine: routine(ALICE, f.routine, f.routineName, { description: 'changed' }) } },
    },
  ],
  'RoutineStore/UpdateRoutineRuntime': (f) => {
    const rt = (id: string) => ({ id, lastRunAt: now(), runCount: 3n, consecutiveFailures: 1n });
    return [asMissing(rt(f.routine), rt(uuid()))];
  },
  'RoutineStore/DeleteRoutine': (f) => [asMissing({ id: f.routine }, { id: uuid() })],
  'RoutineStore/CreateRoutineRun': (f) => [asMissing({ run: run(f.routine) }, { run: run(uuid()) })],
  'RoutineStore/CompleteRoutineRun': (f) => [asMissing({ id: f.run, status: RunStatus.OK }, { id: uuid(), status: RunStatus.OK })],
  'RoutineStore/ListRoutineRuns': (f) => [asMissing({ routineId: f.routine, limit: 10n }, { routineId: uuid(), limit: 10n })],
  'RoutineStore/CountRunningRoutineRuns': (f) => [asMissing({ routineId: f.routine }, { routineId: uuid() })],
  'RoutineStore/CountRunningRoutineRunsBatch': (f) => [asMissing({ routineIds: [f.routine] }, { routineIds: [uuid()] })],
  'RoutineStore/LinkRoutineRunToJob': (f) => [asMissing({ runId: f.run, jobId: f.job }, { runId: uuid(), jobId: f.job })],
  'RoutineStore/ListDispatchedRoutineRuns': () => [denied({})],
  'RoutineStore/ClaimDueCronRoutines': () => [denied({ owner: 'poller', limit: 10n })],

  'SettingsStore/GetSetting': () => [denied({ userId: ALICE, key: 'k' })],
  'SettingsStore/GetSettingFull': () => [denied({ userId: ALICE, key: 'k' })],
  'SettingsStore/SetSetting': () => [denied({ userId: ALICE, key: 'k', value: num(2) })],
  'SettingsStore/DeleteSetting': () => [denied({ userId: ALICE, key: 'k' })],
  'SettingsStore/ListSettings': () => [denied({ userId: ALICE })],
  'SettingsStore/GetAllSettings': () => [denied({ userId: ALICE })],
  'SettingsStore/SetAllSettings': () => [denied({ userId: ALICE, settings: { fields: { k: num(3) } } })],
  'SettingsStore/HasSettings': () => [denied({ userId: ALICE })],

  'ToolFailureStore/RecordToolFailure': () => [denied({ toolName: 'shell', errorMessage: 'boom' })],
  'ToolFailureStore/GetBrokenTools': () => [denied({ threshold: 1n })],
  'ToolFailureStore/MarkToolRepaired': () => [denied({ toolName: 'shell' })],
  'ToolFailureStore/IncrementRepairAttempts': () => [denied({ toolName: 'shell' })],

  'WorkspaceStore/GetDocumentByPath': (f) => [denied({ userId: ALICE, path: f.path })],
  'WorkspaceStore/GetDocumentById': (f) => [asMissing({ id: f.document }, { id: uuid() })],
  'WorkspaceStore/GetOrCreateDocumentByPath': () => [denied({ userId: ALICE, path: `new/${uuid()}.md` })],
  'WorkspaceStore/UpdateDocument': (f) => [asMissing({ id: f.document, content: 'changed' }, { id: uuid(), content: 'changed' })],
  'WorkspaceStore/DeleteDocumentByPath': (f) => [denied({ userId: ALICE, path: f.path })],
  'WorkspaceStore/ListDirectory': () => [denied({ userId: ALICE, directory: '' })],
  'WorkspaceStore/ListAllPaths': () => [denied({ userId: ALICE })],
  'WorkspaceStore/ListDocuments': () => [denied({ userId: ALICE })],
  'WorkspaceStore/DeleteChunks': (f) => [asMissing({ documentId: f.document }, { documentId: uuid() })],
  'WorkspaceStore/InsertChunk': (f) => [asMissing({ documentId: f.document, chunkIndex: 9, content: 'x' }, { documentId: uuid(), chunkIndex: 9, content: 'x' })],
  'WorkspaceStore/UpdateChunkEmbedding': (f) => [asMissing({ chunkId: f.chunk, embedding: [1, 0, 0, 0] }, { chunkId: uuid(), embedding: [1, 0, 0, 0] })],
  'WorkspaceStore/GetChunksWithoutEmbeddings': () => [denied({ userId: ALICE, limit: 10n })],
  'WorkspaceStore/HybridSearch': () => [denied({ userId: ALICE, query: 'hello' })],

  // No user's data: any authenticated caller.
  'Admin/GetStatus': () => [{ bob: {}, expect: { code: grpc.status.OK }, control: false }],
  // Daemon-wide: service tokens only. No control: on a daemon that is not a
  // replica even the service token gets FAILED_PRECONDITION (test/grpc/replica.test.ts).
  'Admin/Sync': () => [{ bob: {}, expect: 'denied', control: false }],
};

const UUIDS = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const plain = (s: string) => s.replace(UUIDS, '<id>');

/** One call of any RPC (unary or server streaming) with a token; never throws for a status. */
function callRpc(client: grpc.Client, service: GenService<GenServiceMethods>, method: DescMethod, init: Init, token: string): Promise<Outcome> {
  const def = serviceDefinition(service)[method.name]!;
  const msg = create(method.input as DescMessage, init as MessageInitShape<DescMessage>);
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(bearer(token))) metadata.set(k, v);
  const json = (m: unknown) => JSON.stringify(toJson(method.output, m as never));
  const failed = (e: grpc.ServiceError): Outcome => ({ code: grpc.status[e.code] ?? String(e.code), text: plain(e.details) });
  const options = { deadline: Date.now() + 10_000 };
  if (method.methodKind === 'server_streaming') {
    return new Promise((resolve) => {
      const got: string[] = [];
      const stream = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, msg, metadata, options);
      stream.on('data', (m: unknown) => got.push(json(m)));
      stream.on('error', (e: grpc.ServiceError) => resolve(failed(e)));
      stream.on('end', () => resolve({ code: 'OK', text: plain(got.join('\n')) }));
    });
  }
  return new Promise((resolve) =>
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, msg, metadata, options, (e, out) =>
      resolve(e ? failed(e) : { code: 'OK', text: plain(json(out)) }),
    ),
  );
}

export function isolationSuite(backend: BackendName): void {
  describe(`per-user isolation of every RPC on ${backend}`, () => {
    let daemon: Daemon;
    let client: grpc.Client;
    let snaps: Snapshots;
    let tokens: Record<string, string>;

    before(async () => {
      const env = { ...(await backendEnv(backend)), EMBEDDING_DIMENSION: String(DIM) };
      const t = writeTokensFile({ runtime: null, 'alice-app': ALICE, 'bob-app': BOB });
      tokens = t.tokens;
      daemon = await startDaemon({ ...env, AGENTSTORE_TOKENS_FILE: t.file, AGENTSTORE_LOG_LEVEL: 'warn' });
      client = new grpc.Client(daemon.address, grpc.credentials.createInsecure());
      snaps = await snapshots(loadConfig(env).config);
    });

    after(async () => {
      client?.close();
      await snaps?.close();
      await daemon?.stop();
      removeTempDirs();
      if (backend === 'postgres') await stopTestServer();
    });

    const rpc = (path: string) => {
      const [s, m] = path.split('/');
      const service = SERVICES.find((x) => x.typeName === `agentstore.v1.${s}`)!;
      const method = service.methods.find((x) => x.name === m)!;
      return { service, method, rule: RULES[s!]![method.localName]! };
    };
    const as = (who: 'runtime' | 'alice-app' | 'bob-app', path: string, init: Init) => {
      const { service, method } = rpc(path);
      return callRpc(client, service, method, init, tokens[who]!);
    };
    /** alice's rows of every kind, written with the service token. */
    async function seed(): Promise<Fixture> {
      const ok = async (path: string, init: Init): Promise<Record<string, unknown>> => {
        const o = await as('runtime', path, init);
        assert.equal(o.code, 'OK', `seed ${path}: ${o.text}`);
        return JSON.parse(o.text === '' ? '{}' : o.text) as Record<string, unknown>;
      };
      // The ids come back as <id> in outcomes: seed with ids chosen here, or read them from the database.
      const conversation = uuid();
      await ok('ConversationStore/EnsureConversation', { id: conversation, channel: 'web', userId: ALICE });
      await ok('ConversationStore/AddConversationMessage', { conversationId: conversation, role: 'user', content: 'hello' });
      const jobId = uuid();
      await ok('JobStore/SaveJob', { job: job(ALICE, jobId, { conversationId: conversation }) });
      await ok('JobStore/UpdateJobStatus', { id: jobId, status: JobState.IN_PROGRESS, failureReason: 'an earlier failure' });
      await ok('JobStore/SaveAction', { jobId, action: { ...action(), sequence: 0n } });
      await ok('JobStore/SaveEstimationSnapshot', { jobId, category: 'c', toolNames: [], estimatedCost: '1', estimatedTimeSecs: 1n, estimatedValue: '1' });
      const sb = uuid();
      await ok('SandboxStore/SaveSandboxJob', { job: sandboxJob(ALICE, sb) });
      await ok('SandboxStore/SaveJobEvent', { jobId: sb, eventType: 'message', data: str('hi') });
      const routineId = uuid();
      const routineName = `r-${uuid()}`;
      await ok('RoutineStore/CreateRoutine', { routine: routine(ALICE, routineId, routineName) });
      const r = run(routineId);
      await ok('RoutineStore/CreateRoutineRun', { run: r });
      const path = `notes/${uuid()}.md`;
      await ok('WorkspaceStore/GetOrCreateDocumentByPath', { userId: ALICE, path });
      await ok('SettingsStore/SetSetting', { userId: ALICE, key: 'k', value: num(1) });
      await ok('ToolFailureStore/RecordToolFailure', { toolName: 'shell', errorMessage: 'boom' });
      const db = await snaps.take();
      const idOf = (table: string, where: (row: Record<string, unknown>) => boolean) =>
        String(db[table]!.map((x) => JSON.parse(x) as Record<string, unknown>).find(where)!.id);
      const document = idOf('memory_documents', (x) => x.path === path);
      await ok('WorkspaceStore/UpdateDocument', { id: document, content: 'hello world' });
      await ok('WorkspaceStore/InsertChunk', { documentId: document, chunkIndex: 0, content: 'hello world' });
      const after = await snaps.take();
      const chunk = String(after.memory_chunks!.map((x) => JSON.parse(x) as Record<string, unknown>).find((x) => x.document_id === document)!.id);
      const snapshot = idOf('estimation_snapshots', (x) => x.job_id === jobId);
      return { conversation, job: jobId, snapshot, sandboxJob: sb, routine: routineId, routineName, run: r.id, document, path, chunk };
    }

    it('has a case for every RPC of every service, and a rule', () => {
      const rpcs = SERVICES.flatMap((s) => s.methods.map((m) => `${s.typeName.replace('agentstore.v1.', '')}/${m.name}`));
      assert.ok(rpcs.length >= 86, `${rpcs.length} RPCs`);
      assert.deepEqual(Object.keys(CASES).sort(), rpcs.sort());
      for (const path of rpcs) assert.ok(rpc(path).rule, `${path} has a rule`);
    });

    for (const path of Object.keys(CASES)) {
      it(path, async () => {
        const f = await seed();
        const { rule } = rpc(path);
        const probes = CASES[path]!(f);
        if (rule.kind === 'service') assert.ok(probes.every((p) => p.expect === 'denied'), `${path}: service-only, so refused`);
        for (const [i, probe] of probes.entries()) {
          const what = `${path} probe ${i}`;
          const before = await snaps.take();
          const got = await as('bob-app', path, probe.bob);
          const missing = typeof probe.expect === 'object' && 'like' in probe.expect ? await as('bob-app', path, probe.expect.like) : undefined;
          assert.deepEqual(await snaps.take(), before, `${what}: bob's call changed nothing`);
          if (probe.expect === 'denied') assert.equal(got.code, 'PERMISSION_DENIED', `${what}: ${got.code} ${got.text}`);
          else if ('like' in probe.expect) {
            assert.notEqual(got.code, 'PERMISSION_DENIED', what);
            assert.deepEqual(got, missing, `${what}: answers as for a row that does not exist`);
          } else {
            assert.equal(got.code, grpc.status[probe.expect.code], `${what}: ${got.code} ${got.text}`);
            if (probe.expect.text !== undefined) assert.equal(got.text, probe.expect.text, what);
          }
          if (probe.control === false) continue;
          const who = probe.control?.as ?? (rule.kind === 'service' ? 'service' : 'alice');
          const control = await as(who === 'service' ? 'runtime' : 'alice-app', path, probe.control?.req ?? probe.bob);
          assert.equal(control.code, 'OK', `${what}: the control call (${who}) succeeds: ${control.text}`);
          const changed = JSON.stringify(await snaps.take()) !== JSON.stringify(before);
          assert.ok(changed || control.text !== got.text, `${what}: the control call (${who}) reaches the data bob's call did not`);
        }
      });
    }
  });
}
