// JobStore conformance (STORES.md §2.2, §7 "Jobs"), with agentstore's
// choices: every field persisted, unknown states refused, direct jobs only,
// exact decimals, 64-bit counts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ActionRecord, JobContext, JobState } from '../../src/store/jobs.js';
import type { SandboxJobRecord } from '../../src/store/sandbox.js';
import { rawRows } from './raw.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError } from './util.js';

const BIG = 2 ** 31 + 12345; // past int32

export function newJob(over: Partial<JobContext> = {}): JobContext {
  return {
    jobId: randomUUID(),
    state: 'pending',
    userId: `user-${randomUUID()}`,
    requesterId: null,
    conversationId: null,
    title: 'Write a report',
    description: 'About the thing',
    category: null,
    budget: null,
    budgetToken: null,
    bidAmount: null,
    estimatedCost: null,
    estimatedDurationSecs: null,
    actualCost: '0',
    totalTokensUsed: 0,
    maxTokens: 0,
    createdAt: new Date(Date.now() - 60_000),
    startedAt: null,
    completedAt: null,
    repairAttempts: 0,
    transitions: [],
    metadata: null,
    userTimezone: 'UTC',
    ...over,
  };
}

export function newSandboxJob(over: Partial<SandboxJobRecord> = {}): SandboxJobRecord {
  return {
    id: randomUUID(),
    task: 'Fix the build',
    status: 'creating',
    userId: `user-${randomUUID()}`,
    projectDir: '/work/project',
    success: null,
    failureReason: null,
    createdAt: new Date(),
    startedAt: null,
    completedAt: null,
    credentialGrantsJson: '[{"secret_name":"gh","env_var":"GH_TOKEN"}]',
    ...over,
  };
}

export function newAction(seq: number, over: Partial<ActionRecord> = {}): ActionRecord {
  return {
    id: randomUUID(),
    sequence: seq,
    toolName: 'shell',
    input: { cmd: 'ls', n: seq },
    outputRaw: '{\n  "ok": true\n}',
    outputSanitized: 'ok',
    sanitizationWarnings: [],
    cost: null,
    durationMs: 12,
    success: true,
    error: null,
    executedAt: new Date(),
    ...over,
  };
}

const at = (iso: string) => new Date(iso);

export function jobSuite(ctx: SuiteContext): void {
  describe('JobStore', () => {
    it('saveJob/getJob round-trips every field, decimals exact, 64-bit counts', async () => {
      const db = ctx.db();
      const conv = await db.createConversation('web', 'u1');
      const job = newJob({
        state: 'in_progress',
        requesterId: 'req-7',
        conversationId: conv,
        category: 'research',
        budget: '12345678901234.5678',
        budgetToken: 'USD',
        bidAmount: '0.000001',
        estimatedCost: '12.50',
        estimatedDurationSecs: BIG,
        actualCost: '0.005',
        totalTokensUsed: BIG,
        maxTokens: 2 ** 40,
        createdAt: at('2026-03-07T12:34:56.789Z'),
        startedAt: at('2026-03-07T12:35:00.001Z'),
        repairAttempts: 3,
        transitions: [{ from: 'pending', to: 'in_progress', timestamp: at('2026-03-07T12:35:00.001Z'), reason: 'scheduled' }],
        metadata: { a: [1, 'two', null], b: { c: true } },
        userTimezone: 'Europe/Berlin',
      });
      await db.saveJob(job);
      assert.deepEqual(await db.getJob(job.jobId), job);
    });

    it('getJob of an unknown id is null; defaults read back for a minimal job', async () => {
      const db = ctx.db();
      assert.equal(await db.getJob(randomUUID()), null);
      const job = newJob();
      await db.saveJob(job);
      const got = await db.getJob(job.jobId);
      assert.deepEqual(got?.transitions, []);
      assert.equal(got?.metadata, null);
      assert.equal(got?.actualCost, '0');
      assert.equal(got?.userTimezone, 'UTC');
    });

    it('upsert overwrites the mutable fields, keeps conversation, budget, bid and created_at, and keeps failure_reason', async () => {
      const db = ctx.db();
      const conv = await db.createConversation('web', 'u1');
      const job = newJob({ conversationId: conv, budget: '10', budgetToken: 'NEAR', bidAmount: '9.5' });
      await db.saveJob(job);
      await db.updateJobStatus(job.jobId, 'failed', 'boom');
      const conv2 = await db.createConversation('web', 'u1');
      const second = newJob({
        ...job,
        state: 'completed',
        userId: 'someone-else',
        title: 'New title',
        description: 'New description',
        category: 'cat',
        conversationId: conv2,
        budget: '99',
        budgetToken: 'EUR',
        bidAmount: '1',
        estimatedCost: '3.3',
        estimatedDurationSecs: 60,
        actualCost: '1.25',
        totalTokensUsed: 500,
        maxTokens: 1000,
        createdAt: new Date(),
        startedAt: at('2026-01-01T00:00:00.000Z'),
        completedAt: at('2026-01-01T01:00:00.000Z'),
        repairAttempts: 2,
        metadata: { v: 2 },
        requesterId: 'r2',
        userTimezone: 'Asia/Tokyo',
      });
      await db.saveJob(second);
      const got = await db.getJob(job.jobId);
      assert.deepEqual(got, { ...second, conversationId: conv, budget: '10', budgetToken: 'NEAR', bidAmount: '9.5', createdAt: job.createdAt });
      assert.equal(await db.getAgentJobFailureReason(job.jobId), 'boom');
    });

    it('a conversation id that does not exist is FAILED_PRECONDITION and writes nothing', async () => {
      const db = ctx.db();
      const job = newJob({ conversationId: randomUUID() });
      await assertStoreError(db.saveJob(job), 'failed_precondition', /conversation_id/);
      assert.equal(await db.getJob(job.jobId), null);
    });

    it('updateJobStatus sets the state and clears the reason when none is given', async () => {
      const db = ctx.db();
      const job = newJob();
      await db.saveJob(job);
      await db.updateJobStatus(job.jobId, 'failed', 'out of budget');
      assert.equal((await db.getJob(job.jobId))?.state, 'failed');
      assert.equal(await db.getAgentJobFailureReason(job.jobId), 'out of budget');
      await db.updateJobStatus(job.jobId, 'in_progress', null);
      assert.equal((await db.getJob(job.jobId))?.state, 'in_progress');
      assert.equal(await db.getAgentJobFailureReason(job.jobId), null);
      await db.updateJobStatus(randomUUID(), 'failed', 'x'); // unknown id: no-op
    });

    it('unknown states are INVALID_ARGUMENT, never stored', async () => {
      const db = ctx.db();
      const job = newJob();
      await assertStoreError(db.saveJob({ ...job, state: 'bogus' as JobState }), 'invalid_argument', /job\.state/);
      assert.equal(await db.getJob(job.jobId), null);
      await db.saveJob(job);
      await assertStoreError(db.updateJobStatus(job.jobId, 'done' as JobState), 'invalid_argument', /status/);
      await assertStoreError(
        db.saveJob({ ...job, transitions: [{ from: 'pending', to: 'nope' as JobState, timestamp: new Date(), reason: null }] }),
        'invalid_argument',
        /job\.transitions\[0\]\.to_state/,
      );
      assert.equal((await db.getJob(job.jobId))?.state, 'pending');
    });

    it('markJobStuck → getStuckJobs lists it and stuck_since is set', async () => {
      const db = ctx.db();
      const job = newJob({ state: 'in_progress' });
      await db.saveJob(job);
      const before = Date.now();
      await db.markJobStuck(job.jobId);
      assert.equal((await db.getJob(job.jobId))?.state, 'stuck');
      assert.ok((await db.getStuckJobs()).includes(job.jobId));
      const rows = await rawRows(ctx.config(), 'SELECT stuck_since AS s FROM agent_jobs WHERE id = ?', 'SELECT stuck_since AS s FROM agent_jobs WHERE id = $1', [job.jobId]);
      const since = new Date(rows[0]!.s as string | Date).getTime();
      assert.ok(since >= before - 5 && since <= Date.now() + 5, 'stuck_since is now');
      // a job saved as stuck counts too, without stuck_since
      const other = newJob({ state: 'stuck' });
      await db.saveJob(other);
      assert.ok((await db.getStuckJobs()).includes(other.jobId));
      await db.updateJobStatus(other.jobId, 'in_progress');
      assert.ok(!(await db.getStuckJobs()).includes(other.jobId));
    });

    it('listAgentJobs: direct jobs only, newest first; summary buckets', async () => {
      const db = ctx.db();
      const beforeSummary = await db.agentJobSummary();
      const base = Date.now() + 10 * 86_400_000;
      const states: JobState[] = ['pending', 'in_progress', 'completed', 'submitted', 'accepted', 'failed', 'cancelled', 'stuck'];
      const jobs = states.map((state, i) => newJob({ state, createdAt: new Date(base + i * 1000) }));
      for (const j of jobs) await db.saveJob(j);
      await db.updateJobStatus(jobs[5]!.jobId, 'failed', 'why');
      const sandbox = newSandboxJob({ createdAt: new Date(base + 100_000) });
      await db.saveSandboxJob(sandbox);
      const list = await db.listAgentJobs();
      assert.ok(!list.some((r) => r.id === sandbox.id), 'sandbox rows excluded');
      // Only this test's jobs: the database may hold any others (the fuzz test saves jobs dated up to year 9999).
      const mine = new Set(jobs.map((j) => j.jobId));
      assert.deepEqual(
        list.filter((r) => mine.has(r.id)).map((r) => r.id),
        [...jobs].reverse().map((j) => j.jobId),
      );
      const failed = list.find((r) => r.id === jobs[5]!.jobId)!;
      assert.equal(failed.failureReason, 'why');
      assert.equal(failed.status, 'failed');
      const s = await db.agentJobSummary();
      assert.deepEqual(
        {
          total: s.total - beforeSummary.total,
          pending: s.pending - beforeSummary.pending,
          inProgress: s.inProgress - beforeSummary.inProgress,
          completed: s.completed - beforeSummary.completed,
          failed: s.failed - beforeSummary.failed,
          stuck: s.stuck - beforeSummary.stuck,
        },
        { total: 8, pending: 1, inProgress: 1, completed: 3, failed: 2, stuck: 1 },
      );
    });

    it('id-keyed job methods ignore sandbox jobs, and saveJob will not take over a sandbox id', async () => {
      const db = ctx.db();
      const sb = newSandboxJob({ status: 'running', failureReason: 'kept' });
      await db.saveSandboxJob(sb);
      assert.equal(await db.getJob(sb.id), null);
      await db.updateJobStatus(sb.id, 'failed', 'x');
      await db.markJobStuck(sb.id);
      assert.equal(await db.getAgentJobFailureReason(sb.id), null);
      assert.ok(!(await db.getStuckJobs()).includes(sb.id));
      await assertStoreError(db.saveJob(newJob({ jobId: sb.id })), 'already_exists', /job\.job_id/);
      await assertStoreError(db.saveAction(sb.id, newAction(1)), 'failed_precondition', /job_id/);
      const after = await db.getSandboxJob(sb.id);
      assert.equal(after?.status, 'running');
      assert.equal(after?.failureReason, 'kept');
    });

    it('saveAction/getJobActions: ordered by sequence, everything round-trips, duplicates refused', async () => {
      const db = ctx.db();
      const job = newJob();
      await db.saveJob(job);
      const a2 = newAction(2, { cost: '0.000001', durationMs: 30 * 86_400_000, sanitizationWarnings: ['secret removed', 'ünïcode'], outputSanitized: null });
      const a1 = newAction(1, { outputRaw: null, outputSanitized: undefined, success: false, error: 'exit 1', cost: '12345678901234.5678' });
      const a3 = newAction(3, { input: { nested: { list: [1.5, -2, 'x'] } }, executedAt: at('2026-03-07T12:34:56.789Z') });
      await db.saveAction(job.jobId, a2);
      await db.saveAction(job.jobId, a1);
      await db.saveAction(job.jobId, a3);
      assert.deepEqual(await db.getJobActions(job.jobId), [a1, a2, a3]);
      await assertStoreError(db.saveAction(job.jobId, newAction(2)), 'already_exists', /action/);
      await assertStoreError(db.saveAction(job.jobId, { ...newAction(9), id: a1.id }), 'already_exists', /action/);
      await assertStoreError(db.saveAction(randomUUID(), newAction(1)), 'failed_precondition', /job_id/);
      assert.equal((await db.getJobActions(job.jobId)).length, 3);
      assert.deepEqual(await db.getJobActions(randomUUID()), []);
    });

    it('many parallel saveAction calls on one job lose nothing', async () => {
      const db = ctx.db();
      const job = newJob();
      await db.saveJob(job);
      const n = 100;
      await Promise.all(Array.from({ length: n }, (_, i) => db.saveAction(job.jobId, newAction(n - i))));
      const got = await db.getJobActions(job.jobId);
      assert.deepEqual(
        got.map((a) => a.sequence),
        Array.from({ length: n }, (_, i) => i + 1),
      );
    });

    it('recordLlmCall returns a new id and stores the cost and token counts exactly', async () => {
      const db = ctx.db();
      const job = newJob();
      await db.saveJob(job);
      const id = await db.recordLlmCall({
        jobId: job.jobId,
        conversationId: null,
        provider: 'openai',
        model: 'gpt-x',
        inputTokens: BIG,
        outputTokens: 7,
        cost: '0.005',
        purpose: 'plan',
      });
      const id2 = await db.recordLlmCall({ jobId: null, conversationId: null, provider: 'p', model: 'm', inputTokens: 0, outputTokens: 0, cost: '12345678901234.5678', purpose: null });
      assert.notEqual(id, id2);
      const rows = await rawRows(
        ctx.config(),
        'SELECT cost, input_tokens AS i, output_tokens AS o, purpose FROM llm_calls WHERE id IN (?, ?) ORDER BY cost',
        'SELECT cost::text AS cost, input_tokens AS i, output_tokens AS o, purpose FROM llm_calls WHERE id IN ($1, $2) ORDER BY cost',
        [id, id2],
      );
      assert.deepEqual(
        rows.map((r) => [r.cost, Number(r.i), Number(r.o), r.purpose]),
        [
          ['0.005', BIG, 7, 'plan'],
          ['12345678901234.5678', 0, 0, null],
        ],
      );
      await assertStoreError(
        db.recordLlmCall({ jobId: randomUUID(), conversationId: null, provider: 'p', model: 'm', inputTokens: 1, outputTokens: 1, cost: '1', purpose: null }),
        'failed_precondition',
        /job_id/,
      );
      await assertStoreError(
        db.recordLlmCall({ jobId: null, conversationId: randomUUID(), provider: 'p', model: 'm', inputTokens: 1, outputTokens: 1, cost: '1', purpose: null }),
        'failed_precondition',
        /^conversation_id/,
      );
    });

    it('estimation snapshots: save, update actuals, null actual value stored as NULL, negative values exact', async () => {
      const db = ctx.db();
      const job = newJob();
      await db.saveJob(job);
      const id = await db.saveEstimationSnapshot(job.jobId, 'research', ['shell', 'http'], '0.000001', BIG, '-0.5');
      const q = (col: string) =>
        rawRows(
          ctx.config(),
          `SELECT ${col} FROM estimation_snapshots WHERE id = ?`,
          `SELECT ${col.replace(/(estimated_cost|actual_cost|estimated_value|actual_value)/g, '$1::text AS $1')} FROM estimation_snapshots WHERE id = $1`,
          [id],
        );
      let [row] = await q('estimated_cost, estimated_time_secs, estimated_value, actual_cost, actual_time_secs, actual_value');
      assert.deepEqual(
        { ...row, estimated_time_secs: Number(row!.estimated_time_secs) },
        { estimated_cost: '0.000001', estimated_time_secs: BIG, estimated_value: '-0.5', actual_cost: null, actual_time_secs: null, actual_value: null },
      );
      await db.updateEstimationActuals(id, '12345678901234.5678', 42, null);
      [row] = await q('actual_cost, actual_time_secs, actual_value');
      assert.deepEqual({ ...row, actual_time_secs: Number(row!.actual_time_secs) }, { actual_cost: '12345678901234.5678', actual_time_secs: 42, actual_value: null });
      await db.updateEstimationActuals(id, '1', 1, '-0.5');
      [row] = await q('actual_value');
      assert.equal(row!.actual_value, '-0.5');
      await db.updateEstimationActuals(randomUUID(), '1', 1, null); // no-op
      await assertStoreError(db.saveEstimationSnapshot(randomUUID(), 'c', [], '1', 1, '1'), 'failed_precondition', /job_id/);
    });

    it('bad arguments name the field and write nothing', async () => {
      const db = ctx.db();
      const job = newJob();
      await assertStoreError(db.saveJob({ ...job, jobId: 'not-a-uuid' }), 'invalid_argument', /job\.job_id/);
      await assertStoreError(db.saveJob({ ...job, budget: '1e5' }), 'invalid_argument', /job\.budget/);
      await assertStoreError(db.saveJob({ ...job, actualCost: '-1' }), 'invalid_argument', /job\.actual_cost.*negative/);
      await assertStoreError(db.saveJob({ ...job, estimatedCost: 'NaN' }), 'invalid_argument', /job\.estimated_cost/);
      await assertStoreError(db.saveJob({ ...job, bidAmount: '01.5' }), 'invalid_argument', /job\.bid_amount/);
      await assertStoreError(db.saveJob({ ...job, maxTokens: -1 }), 'invalid_argument', /job\.max_tokens/);
      await assertStoreError(db.saveJob({ ...job, totalTokensUsed: Number.POSITIVE_INFINITY }), 'invalid_argument', /job\.total_tokens_used/);
      await assertStoreError(db.saveJob({ ...job, metadata: { x: Number.NaN } }), 'invalid_argument', /job\.metadata/);
      await assertStoreError(db.saveJob({ ...job, createdAt: new Date(NaN) }), 'invalid_argument', /job\.created_at/);
      await assertStoreError(db.saveJob({ ...job, userId: '' }), 'invalid_argument', /job\.user_id/);
      assert.equal(await db.getJob(job.jobId), null);
      await db.saveJob(job);
      await assertStoreError(db.saveAction(job.jobId, newAction(1, { cost: '-0.01' })), 'invalid_argument', /action\.cost/);
      await assertStoreError(db.saveAction(job.jobId, newAction(-1)), 'invalid_argument', /action\.sequence/);
      await assertStoreError(db.saveAction(job.jobId, newAction(1, { durationMs: 1.5 })), 'invalid_argument', /action\.duration_ms/);
      await assertStoreError(db.saveAction(job.jobId, newAction(1, { input: { big: 'x'.repeat(2 * 1024 * 1024) } })), 'invalid_argument', /action\.input/);
      assert.deepEqual(await db.getJobActions(job.jobId), []);
      await assertStoreError(
        db.recordLlmCall({ jobId: null, conversationId: null, provider: 'p', model: 'm', inputTokens: 1, outputTokens: 1, cost: '-0.5', purpose: null }),
        'invalid_argument',
        /cost/,
      );
      await assertStoreError(db.saveEstimationSnapshot(job.jobId, 'c', [], '1', -5, '1'), 'invalid_argument', /estimated_time_secs/);
      await assertStoreError(db.getJob('x'), 'invalid_argument', /^id/);
      // negative zero is zero on both backends
      await db.saveJob({ ...job, actualCost: '-0.00' });
      assert.equal((await db.getJob(job.jobId))?.actualCost, '0.00');
    });
  });
}
