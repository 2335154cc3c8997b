// Every RPC of JobStore and SandboxStore, and the event stream, through a
// real daemon and a real gRPC client: wire shapes (enums, int64 as bigint,
// decimals as strings, optional fields) and the status codes of bad input.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { NullValue, ValueSchema, timestampDate, timestampFromDate, type Value } from '@bufbuild/protobuf/wkt';
import { ConversationStore } from '../../src/gen/agentstore/v1/conversations_pb.js';
import { JobState, JobStore, StateTransitionSchema, type JobContext } from '../../src/gen/agentstore/v1/jobs_pb.js';
import { SandboxJobStatus, SandboxStore, type SandboxJobRecord } from '../../src/gen/agentstore/v1/sandbox_pb.js';
import { stopTestServer } from '../support/postgres.js';
import { backendEnv, followEvents, promiseClient, rejectsWith, removeTempDirs, startDaemon, type BackendName, type Daemon, type PromiseClient } from './jobs-helpers.js';

const { INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, NOT_FOUND } = grpc.status;

const v = (kind: MessageInitShape<typeof ValueSchema>['kind']): Value => create(ValueSchema, { kind });
const str = (s: string) => v({ case: 'stringValue', value: s });
const obj = (fields: Record<string, Value>) => v({ case: 'structValue', value: { fields } });
const num = (n: number) => v({ case: 'numberValue', value: n });
const BIG = 2n ** 31n + 5n;
const at = (iso: string) => timestampFromDate(new Date(iso));

/** A message's plain fields, all optional (what the tests build requests from). */
type Fields<M> = { [K in keyof M as K extends `$${string}` ? never : K]?: M[K] };
type JobInit = Fields<JobContext>;
type SandboxInit = Fields<SandboxJobRecord>;

const job = (over: Partial<JobInit> = {}): JobInit => ({
  jobId: randomUUID(),
  state: JobState.PENDING,
  userId: 'u-' + randomUUID(),
  title: 'Title',
  description: 'Description',
  actualCost: '0',
  createdAt: at('2026-03-07T12:34:56.789Z'),
  ...over,
});

const sandboxJob = (over: Partial<SandboxInit> = {}): SandboxInit => ({
  id: randomUUID(),
  task: 'Task',
  status: SandboxJobStatus.CREATING,
  userId: 'u-' + randomUUID(),
  projectDir: '/p',
  createdAt: timestampFromDate(new Date()),
  credentialGrantsJson: '[]',
  ...over,
});

export function jobRpcSuite(backend: BackendName): void {
  describe(`JobStore and SandboxStore RPCs on ${backend}`, () => {
    let daemon: Daemon;
    let jobs: PromiseClient<typeof JobStore.method>;
    let sandbox: PromiseClient<typeof SandboxStore.method>;
    let conv: PromiseClient<typeof ConversationStore.method>;

    before(async () => {
      daemon = await startDaemon(await backendEnv(backend));
      jobs = promiseClient(JobStore, daemon.address);
      sandbox = promiseClient(SandboxStore, daemon.address);
      conv = promiseClient(ConversationStore, daemon.address);
    });

    after(async () => {
      jobs?.close();
      sandbox?.close();
      conv?.close();
      await daemon?.stop();
      removeTempDirs();
      if (backend === 'postgres') await stopTestServer();
    });

    it('SaveJob / GetJob round-trip every field on the wire', async () => {
      const { id: conversationId } = await conv.createConversation({ channel: 'web', userId: 'u' });
      const j = job({
        state: JobState.IN_PROGRESS,
        requesterId: 'r',
        conversationId,
        category: 'c',
        budget: '12345678901234.5678',
        budgetToken: 'USD',
        bidAmount: '0.000001',
        estimatedCost: '12.50',
        estimatedDurationSecs: BIG,
        actualCost: '0.005',
        totalTokensUsed: BIG,
        maxTokens: 2n ** 40n,
        startedAt: at('2026-03-07T12:35:00.000Z'),
        repairAttempts: 2n,
        transitions: [create(StateTransitionSchema, { fromState: JobState.PENDING, toState: JobState.IN_PROGRESS, timestamp: at('2026-03-07T12:35:00.000Z'), reason: 'go' })],
        metadata: obj({ k: str('v'), n: num(1.5) }),
        userTimezone: 'Europe/Paris',
      });
      await jobs.saveJob({ job: j });
      const got = (await jobs.getJob({ id: j.jobId! })).job;
      assert.ok(got);
      assert.equal(got.state, JobState.IN_PROGRESS);
      assert.equal(got.budget, '12345678901234.5678');
      assert.equal(got.bidAmount, '0.000001');
      assert.equal(got.estimatedCost, '12.50');
      assert.equal(got.actualCost, '0.005');
      assert.equal(got.estimatedDurationSecs, BIG);
      assert.equal(got.totalTokensUsed, BIG);
      assert.equal(got.maxTokens, 2n ** 40n);
      assert.equal(got.repairAttempts, 2n);
      assert.equal(got.conversationId, conversationId);
      assert.equal(got.requesterId, 'r');
      assert.equal(got.userTimezone, 'Europe/Paris');
      assert.equal(got.transitions.length, 1);
      assert.equal(got.transitions[0]!.toState, JobState.IN_PROGRESS);
      assert.equal(got.transitions[0]!.reason, 'go');
      assert.equal(timestampDate(got.createdAt!).toISOString(), '2026-03-07T12:34:56.789Z');
      assert.equal(got.completedAt, undefined);
      assert.equal(got.metadata?.kind.case, 'structValue');
      assert.equal((await jobs.getJob({ id: randomUUID() })).job, undefined);
    });

    it('status, stuck, lists, summary, failure reason', async () => {
      const j = job();
      await jobs.saveJob({ job: j });
      await jobs.updateJobStatus({ id: j.jobId!, status: JobState.FAILED, failureReason: 'boom' });
      assert.equal((await jobs.getAgentJobFailureReason({ id: j.jobId! })).failureReason, 'boom');
      await jobs.updateJobStatus({ id: j.jobId!, status: JobState.IN_PROGRESS });
      assert.equal((await jobs.getAgentJobFailureReason({ id: j.jobId! })).failureReason, undefined);
      await jobs.markJobStuck({ id: j.jobId! });
      assert.ok((await jobs.getStuckJobs({})).ids.includes(j.jobId!));
      const list = (await jobs.listAgentJobs({})).jobs;
      const rec = list.find((x) => x.id === j.jobId);
      assert.equal(rec?.status, JobState.STUCK);
      const s = await jobs.agentJobSummary({});
      assert.ok(s.total >= 1n && s.stuck >= 1n);
    });

    it('actions, LLM calls, estimation snapshots', async () => {
      const j = job();
      await jobs.saveJob({ job: j });
      const action = {
        id: randomUUID(),
        sequence: 1n,
        toolName: 'shell',
        input: obj({ cmd: str('ls') }),
        outputRaw: 'raw',
        outputSanitized: str('clean'),
        sanitizationWarnings: ['w1'],
        cost: '0.000001',
        durationMs: 2n ** 33n,
        success: true,
        executedAt: at('2026-03-07T12:00:00.123Z'),
      };
      await jobs.saveAction({ jobId: j.jobId!, action });
      await jobs.saveAction({ jobId: j.jobId!, action: { ...action, id: randomUUID(), sequence: 0n, success: false, error: 'e', outputSanitized: undefined, cost: undefined } });
      const got = (await jobs.getJobActions({ jobId: j.jobId! })).actions;
      assert.deepEqual(
        got.map((a) => a.sequence),
        [0n, 1n],
      );
      assert.equal(got[1]!.durationMs, 2n ** 33n);
      assert.equal(got[1]!.cost, '0.000001');
      assert.deepEqual(got[1]!.sanitizationWarnings, ['w1']);
      assert.equal(got[0]!.outputSanitized, undefined);
      assert.equal(got[0]!.error, 'e');
      await rejectsWith(jobs.saveAction({ jobId: j.jobId!, action: { ...action, id: randomUUID() } }), ALREADY_EXISTS, /action/);
      await rejectsWith(jobs.saveAction({ jobId: randomUUID(), action: { ...action, id: randomUUID() } }), FAILED_PRECONDITION, /job_id/);

      const { id } = await jobs.recordLlmCall({ jobId: j.jobId!, provider: 'openai', model: 'm', inputTokens: BIG, outputTokens: 1n, cost: '0.005' });
      assert.match(id, /^[0-9a-f-]{36}$/);
      const snap = await jobs.saveEstimationSnapshot({
        jobId: j.jobId!,
        category: 'c',
        toolNames: ['a', 'b'],
        estimatedCost: '1.5',
        estimatedTimeSecs: BIG,
        estimatedValue: '-0.5',
      });
      assert.match(snap.id, /^[0-9a-f-]{36}$/);
      await jobs.updateEstimationActuals({ id: snap.id, actualCost: '2', actualTimeSecs: 3n });
    });

    it('bad input: the right status naming the field', async () => {
      await rejectsWith(jobs.getJob({ id: 'nope' }), INVALID_ARGUMENT, /^id/);
      await rejectsWith(jobs.saveJob({}), INVALID_ARGUMENT, /job/);
      await rejectsWith(jobs.saveJob({ job: job({ state: JobState.UNSPECIFIED }) }), INVALID_ARGUMENT, /job\.state/);
      await rejectsWith(jobs.saveJob({ job: job({ state: 42 as JobState }) }), INVALID_ARGUMENT, /job\.state/);
      await rejectsWith(jobs.saveJob({ job: job({ budget: '-5' }) }), INVALID_ARGUMENT, /job\.budget.*negative/);
      await rejectsWith(jobs.saveJob({ job: job({ actualCost: '1,5' }) }), INVALID_ARGUMENT, /job\.actual_cost/);
      await rejectsWith(jobs.saveJob({ job: job({ maxTokens: -1n }) }), INVALID_ARGUMENT, /job\.max_tokens/);
      await rejectsWith(jobs.saveJob({ job: job({ totalTokensUsed: 2n ** 62n }) }), INVALID_ARGUMENT, /job\.total_tokens_used/);
      await rejectsWith(jobs.saveJob({ job: job({ createdAt: undefined }) }), INVALID_ARGUMENT, /job\.created_at/);
      await rejectsWith(jobs.saveJob({ job: job({ metadata: num(Number.NaN) }) }), INVALID_ARGUMENT, /job\.metadata/);
      await rejectsWith(jobs.updateJobStatus({ id: randomUUID(), status: JobState.UNSPECIFIED }), INVALID_ARGUMENT, /status/);
      await rejectsWith(
        jobs.recordLlmCall({ provider: 'p', model: 'm', inputTokens: 1n, outputTokens: 1n, cost: '-0.01' }),
        INVALID_ARGUMENT,
        /cost/,
      );
      await rejectsWith(sandbox.saveSandboxJob({ job: sandboxJob({ status: SandboxJobStatus.UNSPECIFIED }) }), INVALID_ARGUMENT, /job\.status/);
      await rejectsWith(sandbox.saveJobEvent({ jobId: randomUUID(), eventType: 'm' }), INVALID_ARGUMENT, /data/);
      await rejectsWith(sandbox.saveJobEvent({ jobId: randomUUID(), eventType: 'm', data: str('x'.repeat(1024 * 1024 + 10)) }), INVALID_ARGUMENT, /data/);
      await rejectsWith(sandbox.saveJobEvent({ jobId: randomUUID(), eventType: 'm', data: num(Number.POSITIVE_INFINITY) }), INVALID_ARGUMENT, /data/);
      await rejectsWith(sandbox.listJobEvents({ jobId: randomUUID(), limit: -1n }), INVALID_ARGUMENT, /limit/);
      const f = followEvents(daemon.address, 'bad', 0n);
      const status = await f.ended;
      assert.equal(grpc.status[status.code], 'INVALID_ARGUMENT');
      assert.match(status.details, /job_id/);
      const g = followEvents(daemon.address, randomUUID(), 0n);
      assert.equal((await g.ended).code, NOT_FOUND);
    });

    it('sandbox jobs: save, get, list, status, cleanup, summaries, ownership, modes', async () => {
      const user = 'u-' + randomUUID();
      const a = sandboxJob({ userId: user, credentialGrantsJson: '[{"secret_name":"s","env_var":"E"}]' });
      await sandbox.saveSandboxJob({ job: a });
      let got = (await sandbox.getSandboxJob({ id: a.id! })).job;
      assert.equal(got?.status, SandboxJobStatus.CREATING);
      assert.equal(got?.credentialGrantsJson, '[{"secret_name":"s","env_var":"E"}]');
      assert.equal(got?.success, undefined);
      await sandbox.updateSandboxJobStatus({ id: a.id!, status: SandboxJobStatus.RUNNING, startedAt: timestampFromDate(new Date()) });
      await sandbox.updateSandboxJobStatus({ id: a.id!, status: SandboxJobStatus.COMPLETED, success: true, message: 'Done', completedAt: timestampFromDate(new Date()) });
      got = (await sandbox.getSandboxJob({ id: a.id! })).job;
      assert.equal(got?.status, SandboxJobStatus.COMPLETED);
      assert.equal(got?.success, true);
      assert.equal(got?.failureReason, 'Done');
      assert.ok(got?.startedAt && got.completedAt);
      const b = sandboxJob({ userId: user, status: SandboxJobStatus.RUNNING });
      await sandbox.saveSandboxJob({ job: b });
      assert.ok((await sandbox.listSandboxJobs({})).jobs.some((j) => j.id === b.id));
      assert.deepEqual(
        (await sandbox.listSandboxJobsForUser({ userId: user })).jobs.map((j) => j.id).sort(),
        [a.id, b.id].sort(),
      );
      assert.ok((await sandbox.cleanupStaleSandboxJobs({})).count >= 1n);
      assert.equal((await sandbox.getSandboxJob({ id: b.id! })).job?.status, SandboxJobStatus.INTERRUPTED);
      const s = (await sandbox.sandboxJobSummaryForUser({ userId: user })).summary;
      assert.deepEqual(s && { total: s.total, completed: s.completed, interrupted: s.interrupted }, { total: 2n, completed: 1n, interrupted: 1n });
      assert.ok(((await sandbox.sandboxJobSummary({})).summary?.total ?? 0n) >= 2n);
      assert.equal((await sandbox.sandboxJobBelongsToUser({ jobId: a.id!, userId: user })).belongs, true);
      assert.equal((await sandbox.sandboxJobBelongsToUser({ jobId: a.id!, userId: 'x' })).belongs, false);
      assert.equal((await sandbox.getSandboxJobMode({ id: a.id! })).mode, 'worker');
      await sandbox.updateSandboxJobMode({ id: a.id!, mode: 'claude_code' });
      assert.equal((await sandbox.getSandboxJobMode({ id: a.id! })).mode, 'claude_code');
      assert.equal((await sandbox.getSandboxJobMode({ id: randomUUID() })).mode, undefined);
      const direct = job();
      await jobs.saveJob({ job: direct });
      await rejectsWith(sandbox.saveSandboxJob({ job: sandboxJob({ id: direct.jobId }) }), ALREADY_EXISTS, /job\.id/);
      assert.equal((await sandbox.getSandboxJob({ id: direct.jobId! })).job, undefined);
    });

    it('events: save, list with the limit rule, and the live stream with resume', async () => {
      const j = sandboxJob({ status: SandboxJobStatus.RUNNING });
      await sandbox.saveSandboxJob({ job: j });
      const saved: bigint[] = [];
      for (let i = 0; i < 3; i++) saved.push((await sandbox.saveJobEvent({ jobId: j.id!, eventType: 'message', data: obj({ i: num(i) }) })).id);
      assert.deepEqual(
        (await sandbox.listJobEvents({ jobId: j.id! })).events.map((e) => e.id),
        saved,
      );
      assert.deepEqual(
        (await sandbox.listJobEvents({ jobId: j.id!, limit: 2n })).events.map((e) => e.id),
        saved.slice(1),
      );
      await rejectsWith(sandbox.saveJobEvent({ jobId: randomUUID(), eventType: 'm', data: v({ case: 'nullValue', value: NullValue.NULL_VALUE }) }), FAILED_PRECONDITION, /job_id/);

      const f = followEvents(daemon.address, j.id!, saved[0]!);
      for (let i = 3; i < 6; i++) saved.push((await sandbox.saveJobEvent({ jobId: j.id!, eventType: 'message', data: obj({ i: num(i) }) })).id);
      const got = await f.waitFor(5);
      assert.deepEqual(
        got.map((e) => e.id),
        saved.slice(1),
      );
      assert.equal(got[0]!.jobId, j.id);
      assert.equal(got[0]!.eventType, 'message');
      assert.equal(got[0]!.data?.kind.case, 'structValue');
      f.cancel();
      // resume from the last id received, then the job ends and so does the stream
      saved.push((await sandbox.saveJobEvent({ jobId: j.id!, eventType: 'result', data: str('ok') })).id);
      const resumed = followEvents(daemon.address, j.id!, got[got.length - 1]!.id);
      await resumed.waitFor(1);
      await sandbox.updateSandboxJobStatus({ id: j.id!, status: SandboxJobStatus.COMPLETED, success: true });
      const end = await resumed.ended;
      assert.equal(end.code, grpc.status.OK);
      assert.deepEqual(
        resumed.events.map((e) => e.id),
        saved.slice(6),
      );
    });

    it('a stream ends with DEADLINE_EXCEEDED at its deadline, and cancelled streams leave nothing behind', async () => {
      const j = sandboxJob({ status: SandboxJobStatus.RUNNING });
      await sandbox.saveSandboxJob({ job: j });
      const t0 = Date.now();
      const f = followEvents(daemon.address, j.id!, 0n, 0, 500);
      const end = await f.ended;
      assert.equal(grpc.status[end.code], 'DEADLINE_EXCEEDED');
      assert.ok(Date.now() - t0 < 5000);
      // the daemon still serves and streams after many cancelled followers
      for (let i = 0; i < 20; i++) followEvents(daemon.address, j.id!, 0n).cancel();
      const g = followEvents(daemon.address, j.id!, 0n);
      const id = (await sandbox.saveJobEvent({ jobId: j.id!, eventType: 'message', data: str('y') })).id;
      assert.equal((await g.waitFor(1))[0]!.id, id);
      g.cancel();
    });

    it('SIGTERM ends open streams with UNAVAILABLE at once instead of waiting out the grace period', async () => {
      const j = sandboxJob({ status: SandboxJobStatus.RUNNING });
      await sandbox.saveSandboxJob({ job: j });
      const id = (await sandbox.saveJobEvent({ jobId: j.id!, eventType: 'message', data: str('x') })).id;
      const f = followEvents(daemon.address, j.id!, 0n);
      assert.equal((await f.waitFor(1))[0]!.id, id);
      const t0 = Date.now();
      await daemon.stop();
      const end = await f.ended;
      assert.equal(grpc.status[end.code], 'UNAVAILABLE');
      assert.match(end.details, /after_event_id/);
      assert.ok(Date.now() - t0 < 6000, `stopped in ${Date.now() - t0} ms (grace is 8000 ms)`);
    });
  });
}
