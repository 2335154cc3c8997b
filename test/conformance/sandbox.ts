// SandboxStore conformance (STORES.md §2.3, §7 "Sandbox") and the live job
// event stream.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Database } from '../../src/store/database.js';
import type { JobEventRecord, SandboxStatus } from '../../src/store/sandbox.js';
import { openMigrated } from '../support/databases.js';
import { rawRows } from './raw.js';
import { newJob, newSandboxJob } from './jobs.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError, sleep } from './util.js';

/** Collects a follower's events until `n` arrived (or the stream ends). */
async function collect(stream: AsyncIterable<JobEventRecord>, n: number, delayMs = 0): Promise<JobEventRecord[]> {
  const out: JobEventRecord[] = [];
  for await (const e of stream) {
    out.push(e);
    if (out.length >= n) break;
    if (delayMs) await sleep(delayMs);
  }
  return out;
}

const ids = (events: JobEventRecord[]) => events.map((e) => e.id);

function assertExactlyInOrder(events: JobEventRecord[], expected: number[]): void {
  assert.equal(events.length, expected.length, `got ${events.length} events, expected ${expected.length}`);
  assert.deepEqual(ids(events), expected);
}

export function sandboxSuite(ctx: SuiteContext): void {
  describe('SandboxStore', () => {
    it('lifecycle creating → running → completed; later updates with nulls keep earlier values', async () => {
      const db = ctx.db();
      const job = newSandboxJob({ createdAt: new Date('2026-03-07T12:34:56.789Z') });
      await db.saveSandboxJob(job);
      assert.deepEqual(await db.getSandboxJob(job.id), job);
      const started = new Date('2026-03-07T12:35:00.000Z');
      await db.updateSandboxJobStatus(job.id, 'running', null, null, started, null);
      let got = await db.getSandboxJob(job.id);
      assert.equal(got?.status, 'running');
      assert.deepEqual(got?.startedAt, started);
      const done = new Date('2026-03-07T12:40:00.000Z');
      await db.updateSandboxJobStatus(job.id, 'completed', true, 'Done', null, done);
      got = await db.getSandboxJob(job.id);
      assert.deepEqual(got, { ...job, status: 'completed', success: true, failureReason: 'Done', startedAt: started, completedAt: done });
      await db.updateSandboxJobStatus(job.id, 'failed', null, null, null, null);
      got = await db.getSandboxJob(job.id);
      assert.deepEqual(got, { ...job, status: 'failed', success: true, failureReason: 'Done', startedAt: started, completedAt: done });
      await db.updateSandboxJobStatus(randomUUID(), 'failed', false, 'x', null, null); // no-op
    });

    it('upsert changes only status, success, reason and times; task, grants, user, dir stay', async () => {
      const db = ctx.db();
      const job = newSandboxJob({ success: false, failureReason: 'r', startedAt: new Date('2026-01-01T00:00:00.000Z') });
      await db.saveSandboxJob(job);
      await db.saveSandboxJob({ ...job, task: 'other', userId: 'other', projectDir: '/other', credentialGrantsJson: '[]', status: 'running', success: null, failureReason: null, startedAt: null });
      assert.deepEqual(await db.getSandboxJob(job.id), { ...job, status: 'running', success: null, failureReason: null, startedAt: null });
    });

    it('a direct job id is invisible here and cannot be taken over', async () => {
      const db = ctx.db();
      const direct = newJob({ state: 'in_progress' });
      await db.saveJob(direct);
      assert.equal(await db.getSandboxJob(direct.jobId), null);
      assert.equal(await db.sandboxJobBelongsToUser(direct.jobId, direct.userId), false);
      assert.equal(await db.getSandboxJobMode(direct.jobId), null);
      await db.updateSandboxJobMode(direct.jobId, 'claude_code');
      await db.updateSandboxJobStatus(direct.jobId, 'failed', false, 'x', null, null);
      await assertStoreError(db.saveSandboxJob(newSandboxJob({ id: direct.jobId })), 'already_exists', /job\.id/);
      assert.equal((await db.getJob(direct.jobId))?.state, 'in_progress');
    });

    it('belongs-to-user, per-user list and summary, modes', async () => {
      const db = ctx.db();
      const user = `user-${randomUUID()}`;
      const statuses: SandboxStatus[] = ['creating', 'running', 'completed', 'failed', 'interrupted', 'completed'];
      const base = Date.now();
      const jobs = statuses.map((status, i) => newSandboxJob({ userId: user, status, createdAt: new Date(base + i * 1000) }));
      for (const j of jobs) await db.saveSandboxJob(j);
      await db.saveSandboxJob(newSandboxJob());
      assert.equal(await db.sandboxJobBelongsToUser(jobs[0]!.id, user), true);
      assert.equal(await db.sandboxJobBelongsToUser(jobs[0]!.id, 'someone'), false);
      assert.equal(await db.sandboxJobBelongsToUser(randomUUID(), user), false);
      assert.deepEqual(
        (await db.listSandboxJobsForUser(user)).map((j) => j.id),
        [...jobs].reverse().map((j) => j.id),
      );
      assert.deepEqual(await db.sandboxJobSummaryForUser(user), { total: 6, creating: 1, running: 1, completed: 2, failed: 1, interrupted: 1 });
      assert.deepEqual(await db.sandboxJobSummaryForUser('nobody-' + randomUUID()), { total: 0, creating: 0, running: 0, completed: 0, failed: 0, interrupted: 0 });
      const all = await db.listSandboxJobs();
      assert.ok(jobs.every((j) => all.some((x) => x.id === j.id)));
      const created = all.map((j) => j.createdAt.getTime());
      assert.deepEqual(created, [...created].sort((a, b) => b - a), 'newest first');
      const total = await db.sandboxJobSummary();
      assert.ok(total.total >= 7 && total.completed >= 2);
      assert.equal(await db.getSandboxJobMode(jobs[0]!.id), 'worker');
      await db.updateSandboxJobMode(jobs[0]!.id, 'claude_code');
      assert.equal(await db.getSandboxJobMode(jobs[0]!.id), 'claude_code');
      assert.equal(await db.getSandboxJobMode(randomUUID()), null);
    });

    it('cleanupStaleSandboxJobs converts running and creating only, returns the count', async () => {
      const db = ctx.db();
      await db.cleanupStaleSandboxJobs(); // start from a clean slate
      const user = `user-${randomUUID()}`;
      const running = newSandboxJob({ userId: user, status: 'running', success: true, failureReason: 'old' });
      const creating = newSandboxJob({ userId: user, status: 'creating' });
      const done = newSandboxJob({ userId: user, status: 'completed', failureReason: 'Done' });
      for (const j of [running, creating, done]) await db.saveSandboxJob(j);
      const direct = newJob({ state: 'in_progress' });
      await db.saveJob(direct);
      const before = Date.now();
      assert.equal(await db.cleanupStaleSandboxJobs(), 2);
      for (const j of [running, creating]) {
        const got = await db.getSandboxJob(j.id);
        assert.equal(got?.status, 'interrupted');
        assert.equal(got?.failureReason, 'Process restarted');
        assert.equal(got?.success, j.success);
        assert.ok(got!.completedAt!.getTime() >= before - 5);
      }
      assert.deepEqual(await db.getSandboxJob(done.id), done);
      assert.equal((await db.getJob(direct.jobId))?.state, 'in_progress');
      assert.equal(await db.cleanupStaleSandboxJobs(), 0);
    });

    it('bad arguments name the field', async () => {
      const db = ctx.db();
      await assertStoreError(db.saveSandboxJob(newSandboxJob({ status: 'queued' as SandboxStatus })), 'invalid_argument', /job\.status/);
      await assertStoreError(db.saveSandboxJob(newSandboxJob({ credentialGrantsJson: '{oops' })), 'invalid_argument', /job\.credential_grants_json/);
      await assertStoreError(db.updateSandboxJobStatus(randomUUID(), 'paused' as SandboxStatus, null, null, null, null), 'invalid_argument', /status/);
      await assertStoreError(db.updateSandboxJobMode(randomUUID(), ''), 'invalid_argument', /mode/);
      await assertStoreError(db.listJobEvents(randomUUID(), -1), 'invalid_argument', /limit/);
      await assertStoreError(db.saveJobEvent('nope', 'message', {}), 'invalid_argument', /job_id/);
      await assertStoreError(db.saveJobEvent(randomUUID(), 'message', { x: 'y'.repeat(2 * 1024 * 1024) }), 'invalid_argument', /data/);
      await assertStoreError(db.saveJobEvent(randomUUID(), 'message', { x: Number.POSITIVE_INFINITY }), 'invalid_argument', /data/);
      await assertStoreError(db.streamJobEvents(randomUUID(), -1), 'invalid_argument', /after_event_id/);
    });
  });

  describe('job events', () => {
    it('3 saved → all ascending; limit 2 → the 2 newest ascending; unknown job fails', async () => {
      const db = ctx.db();
      const job = newSandboxJob();
      await db.saveSandboxJob(job);
      const a = await db.saveJobEvent(job.id, 'message', { text: 'one' });
      const b = await db.saveJobEvent(job.id, 'tool_use', { tool: 'shell', args: [1, null] });
      const c = await db.saveJobEvent(job.id, 'result', null);
      assert.ok(a < b && b < c);
      const all = await db.listJobEvents(job.id);
      assert.deepEqual(ids(all), [a, b, c]);
      assert.deepEqual(
        all.map((e) => [e.jobId, e.eventType, e.data]),
        [
          [job.id, 'message', { text: 'one' }],
          [job.id, 'tool_use', { tool: 'shell', args: [1, null] }],
          [job.id, 'result', null],
        ],
      );
      assert.ok(all.every((e) => Math.abs(e.createdAt.getTime() - Date.now()) < 60_000));
      assert.deepEqual(ids(await db.listJobEvents(job.id, 2)), [b, c]);
      assert.deepEqual(await db.listJobEvents(job.id, 0), []);
      assert.deepEqual(ids(await db.listJobEvents(job.id, null)), [a, b, c]);
      await assertStoreError(db.saveJobEvent(randomUUID(), 'message', {}), 'failed_precondition', /job_id/);
      // events attach to direct jobs too
      const direct = newJob();
      await db.saveJob(direct);
      await db.saveJobEvent(direct.jobId, 'status', { s: 'x' });
      assert.equal((await db.listJobEvents(direct.jobId)).length, 1);
    });

    it('many parallel saveJobEvent calls on one job lose nothing and keep arrival order', async () => {
      const db = ctx.db();
      const job = newSandboxJob();
      await db.saveSandboxJob(job);
      const n = 200;
      const returned = await Promise.all(Array.from({ length: n }, (_, i) => db.saveJobEvent(job.id, 'message', { i })));
      const stored = await db.listJobEvents(job.id);
      assert.equal(stored.length, n);
      assert.deepEqual(ids(stored), [...returned].sort((x, y) => x - y));
      assert.equal(new Set(stored.map((e) => (e.data as { i: number }).i)).size, n);
    });

    it('stream: stored events after the cursor, then live ones; resume with no gap or duplicate', async () => {
      const db = ctx.db();
      const job = newSandboxJob({ status: 'running' });
      await db.saveSandboxJob(job);
      const first = [];
      for (let i = 0; i < 5; i++) first.push(await db.saveJobEvent(job.id, 'message', { i }));
      const ac = new AbortController();
      const stream = await db.streamJobEvents(job.id, first[1]!, ac.signal);
      const got = collect(stream, 8);
      const later = [];
      for (let i = 5; i < 10; i++) later.push(await db.saveJobEvent(job.id, 'message', { i }));
      const events = await got;
      assertExactlyInOrder(events, [...first.slice(2), ...later]);
      // reconnect from the last id received
      const more = [await db.saveJobEvent(job.id, 'message', { i: 10 })];
      const resumed = await db.streamJobEvents(job.id, events[events.length - 1]!.id);
      assertExactlyInOrder(await collect(resumed, 1), more);
      ac.abort();
    });

    it('stream ends after draining once the job reaches a terminal state; unknown job is NOT_FOUND', async () => {
      const db = ctx.db();
      await assertStoreError(db.streamJobEvents(randomUUID(), 0), 'not_found', /job_id/);
      const job = newSandboxJob({ status: 'running' });
      await db.saveSandboxJob(job);
      const stream = await db.streamJobEvents(job.id, 0);
      const all = collect(stream, Number.MAX_SAFE_INTEGER);
      const saved = [];
      for (let i = 0; i < 3; i++) saved.push(await db.saveJobEvent(job.id, 'message', { i }));
      await db.updateSandboxJobStatus(job.id, 'completed', true, 'Done', null, new Date());
      assertExactlyInOrder(await all, saved);
      // an already-finished job: the stored events, then the end
      assertExactlyInOrder(await collect(await db.streamJobEvents(job.id, saved[0]!), 100), saved.slice(1));
      // direct jobs end on their own terminal states
      const direct = newJob({ state: 'in_progress' });
      await db.saveJob(direct);
      const ds = collect(await db.streamJobEvents(direct.jobId, 0), 100);
      const e = await db.saveJobEvent(direct.jobId, 'result', { ok: true });
      await db.updateJobStatus(direct.jobId, 'completed'); // not terminal for a direct job
      await db.updateJobStatus(direct.jobId, 'accepted');
      assertExactlyInOrder(await ds, [e]);
    });

    it('a slow follower falls back to the table and still gets everything once, in order, without slowing writers', async () => {
      const db = ctx.db();
      const job = newSandboxJob({ status: 'running' });
      await db.saveSandboxJob(job);
      const n = 1000;
      const fast = collect(await db.streamJobEvents(job.id, 0), n);
      const slow = collect(await db.streamJobEvents(job.id, 0), n, 1);
      const written: number[] = [];
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < n / 4; i++) written.push(await db.saveJobEvent(job.id, 'message', { w, i }));
        }),
      );
      const writeMs = Date.now() - t0;
      written.sort((a, b) => a - b);
      const fastEvents = await fast;
      assertExactlyInOrder(fastEvents, written);
      assertExactlyInOrder(await slow, written);
      assert.ok(writeMs < 60_000, `writes took ${writeMs} ms`);
    });

    it('large events: a slow follower past its byte budget still gets every event once, in order', async () => {
      const db = ctx.db();
      const job = newSandboxJob({ status: 'running' });
      await db.saveSandboxJob(job);
      const n = 16;
      const slow = collect(await db.streamJobEvents(job.id, 0), n, 20);
      const big = 'x'.repeat(600 * 1024);
      const written = [];
      for (let i = 0; i < n; i++) written.push(await db.saveJobEvent(job.id, 'tool_result', { i, big }));
      const got = await slow;
      assertExactlyInOrder(got, written);
      assert.ok(got.every((e, i) => (e.data as { i: number; big: string }).i === i && (e.data as { big: string }).big.length === big.length));
    });

    it('the LISTEN connection comes back after it is killed, and nothing saved meanwhile is missed', { skip: ctx.backend.name === 'libsql' ? 'PostgreSQL only' : false }, async () => {
      const db = ctx.db();
      const job = newSandboxJob({ status: 'running' });
      await db.saveSandboxJob(job);
      const got = collect(await db.streamJobEvents(job.id, 0), 10);
      const killed = await rawRows(
        ctx.config(),
        '',
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'agentstore-listen' AND datname = current_database()",
      );
      assert.ok(killed.length >= 1, 'a listener connection existed');
      const written = [];
      for (let i = 0; i < 10; i++) written.push(await db.saveJobEvent(job.id, 'message', { i }));
      assertExactlyInOrder(await got, written);
    });

    it('an event saved through a second daemon on the same database reaches a follower here', { skip: ctx.backend.name === 'libsql' ? 'libSQL serves one daemon per file' : false }, async () => {
      const db = ctx.db();
      const other: Database = await openMigrated(ctx.config());
      try {
        const job = newSandboxJob({ status: 'running' });
        await other.saveSandboxJob(job);
        const got = collect(await db.streamJobEvents(job.id, 0), 20);
        const written = [];
        for (let i = 0; i < 20; i++) written.push(await other.saveJobEvent(job.id, 'message', { i }));
        assertExactlyInOrder(await got, written);
        // and the terminal state set there ends the stream here
        const rest = collect(await db.streamJobEvents(job.id, written[19]!), 100);
        await other.updateSandboxJobStatus(job.id, 'failed', false, 'boom', null, null);
        assert.deepEqual(await rest, []);
      } finally {
        await other.close();
      }
    });
  });
}
