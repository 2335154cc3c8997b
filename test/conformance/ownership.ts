// Per-user views (Database.ownedBy): every method that addresses a row by
// id, in another user's view, answers exactly as for a missing row and
// changes nothing (the whole database is compared before and after); in the
// owner's own view, the same call sees and changes the row.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Database, Stores } from '../../src/store/database.js';
import { snapshots, type Snapshots } from '../support/snapshot.js';
import { newAction, newJob, newSandboxJob } from './jobs.js';
import { makeRoutine, makeRun } from './routines.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError } from './util.js';
import { vec } from './workspace.js';

/** One user's rows of every id-keyed kind (also used by the gRPC isolation test). */
export interface Fixture {
  conversation: string;
  job: string;
  snapshot: string;
  sandboxJob: string;
  routine: string;
  run: string;
  document: string;
  chunk: string;
}

/** One user's rows of every kind, written through the unscoped database. */
async function seed(db: Database, user: string): Promise<Fixture> {
  const conversation = await db.createConversation('web', user);
  await db.addConversationMessage(conversation, 'user', 'hello');
  const job = newJob({ userId: user, conversationId: conversation });
  await db.saveJob(job);
  await db.updateJobStatus(job.jobId, 'in_progress', 'an earlier failure');
  await db.saveAction(job.jobId, newAction(0));
  const snap = await db.saveEstimationSnapshot(job.jobId, 'research', ['shell'], '1.5', 60, '2');
  const sandboxJob = newSandboxJob({ userId: user, status: 'completed' });
  await db.saveSandboxJob(sandboxJob);
  await db.saveJobEvent(sandboxJob.id, 'message', { text: 'hi' });
  const routine = await db.createRoutine(makeRoutine({ userId: user }));
  const run = makeRun(routine.id);
  await db.createRoutineRun(run);
  const document = (await db.getOrCreateDocumentByPath(user, null, `notes/${randomUUID()}.md`)).id;
  await db.updateDocument(document, 'hello world');
  const chunk = await db.insertChunk(document, 0, 'hello world', null);
  return { conversation, job: job.jobId, snapshot: snap, sandboxJob: sandboxJob.id, routine: routine.id, run: run.id, document, chunk };
}

export function ownershipSuite(ctx: SuiteContext): void {
  describe('per-user views (ownedBy)', () => {
    const alice = `alice-${randomUUID()}`;
    let db: Database;
    let bob: Stores;
    let own: Stores;
    let f: Fixture;
    let snaps: Snapshots;
    before(async () => {
      snaps = await snapshots(ctx.config());
      db = ctx.db();
      bob = db.ownedBy(`bob-${randomUUID()}`);
      own = db.ownedBy(alice);
      f = await seed(db, alice);
    });
    after(() => snaps.close());

    /** Runs `write` in bob's view and asserts that the database is unchanged. */
    async function changesNothing(write: () => Promise<unknown>): Promise<unknown> {
      const before = await snaps.take();
      const out = await write().catch((e: unknown) => e);
      assert.deepEqual(await snaps.take(), before);
      return out;
    }

    /** The same write in alice's own view does change the database (so bob's view was refused, not a no-op). */
    async function ownerChanges(name: string, write: () => Promise<unknown>): Promise<void> {
      const before = await snaps.take();
      await write();
      assert.ok(JSON.stringify(await snaps.take()) !== JSON.stringify(before), `${name}: the owner's call changes the database`);
    }

    it('reads of another user\'s rows answer as for missing ids; the owner reads them', async () => {
      const missing = randomUUID();
      const reads: [string, (s: Stores, id: (k: keyof Fixture) => string) => Promise<unknown>][] = [
        ['getConversationMetadata', (s, id) => s.getConversationMetadata(id('conversation'))],
        ['listConversationMessages', (s, id) => s.listConversationMessages(id('conversation'))],
        ['listConversationMessagesPaginated', (s, id) => s.listConversationMessagesPaginated(id('conversation'), null, 10)],
        ['getJob', (s, id) => s.getJob(id('job'))],
        ['getAgentJobFailureReason', (s, id) => s.getAgentJobFailureReason(id('job'))],
        ['getJobActions', (s, id) => s.getJobActions(id('job'))],
        ['getSandboxJob', (s, id) => s.getSandboxJob(id('sandboxJob'))],
        ['getSandboxJobMode', (s, id) => s.getSandboxJobMode(id('sandboxJob'))],
        ['listJobEvents', (s, id) => s.listJobEvents(id('sandboxJob'))],
        ['getRoutine', (s, id) => s.getRoutine(id('routine'))],
        ['listRoutineRuns', (s, id) => s.listRoutineRuns(id('routine'), 10)],
        ['countRunningRoutineRuns', (s, id) => s.countRunningRoutineRuns(id('routine'))],
        ['countRunningRoutineRunsBatch', async (s, id) => [...(await s.countRunningRoutineRunsBatch([id('routine')])).values()]],
        ['getDocumentById', (s, id) => s.getDocumentById(id('document')).catch((e: Error) => e.message.replace(/[0-9a-f-]{36}/, '<id>'))],
      ];
      for (const [name, read] of reads) {
        const asBob = await read(bob, (k) => f[k]);
        const asMissing = await read(bob, () => missing);
        assert.deepEqual(asBob, asMissing, `${name}: another user's row answers as a missing one`);
        assert.notDeepEqual(await read(own, (k) => f[k]), asMissing, `${name}: the owner sees the row`);
      }
      const events = [];
      for await (const e of await own.streamJobEvents(f.sandboxJob, 0)) events.push(e);
      assert.equal(events.length, 1);
      await assertStoreError(bob.streamJobEvents(f.sandboxJob, 0), 'not_found');
    });

    it('writes addressed at another user\'s rows change nothing; the owner\'s do', async () => {
      const job = await db.getJob(f.job);
      const routine = (await db.getRoutine(f.routine))!;
      const writes: [string, (s: Stores) => Promise<unknown>][] = [
        ['touchConversation', (s) => s.touchConversation(f.conversation)],
        ['updateConversationMetadataField', (s) => s.updateConversationMetadataField(f.conversation, 'k', 1)],
        ['updateJobStatus', (s) => s.updateJobStatus(f.job, 'failed', 'x')],
        ['markJobStuck', (s) => s.markJobStuck(f.job)],
        ['updateEstimationActuals', (s) => s.updateEstimationActuals(f.snapshot, '1', 2, null)],
        ['updateSandboxJobStatus', (s) => s.updateSandboxJobStatus(f.sandboxJob, 'failed', false, 'x', null, null)],
        ['updateSandboxJobMode', (s) => s.updateSandboxJobMode(f.sandboxJob, 'claude_code')],
        ['updateRoutine', (s) => s.updateRoutine({ ...routine, description: 'changed' })],
        ['updateRoutineRuntime', (s) => s.updateRoutineRuntime(f.routine, new Date(), null, 7, 1, { x: 1 })],
        ['completeRoutineRun', (s) => s.completeRoutineRun(f.run, 'ok', 'done', 5)],
        ['linkRoutineRunToJob', (s) => s.linkRoutineRunToJob(f.run, f.job)],
        ['updateDocument', (s) => s.updateDocument(f.document, 'changed')],
        ['updateChunkEmbedding', (s) => s.updateChunkEmbedding(f.chunk, vec(db, 1))],
        // (conversation_id is kept from the first save; null here, so that the id is what is refused)
        ['saveJob (update)', (s) => s.saveJob({ ...job!, conversationId: null, title: 'changed' })],
        ['saveSandboxJob (update)', async (s) => s.saveSandboxJob({ ...(await db.getSandboxJob(f.sandboxJob))!, status: 'running' })],
        ['deleteChunks', (s) => s.deleteChunks(f.document)],
        ['deleteRoutine', (s) => s.deleteRoutine(f.routine)],
      ];
      for (const [name, write] of writes) {
        const out = await changesNothing(() => write(bob));
        if (name === 'updateRoutine') assert.equal(out, null, 'updateRoutine: as for a missing id');
        if (name === 'deleteRoutine') assert.equal(out, false, 'deleteRoutine: as for a missing id');
        if (name.startsWith('save')) assert.match(String((out as Error).message), /is already the id of another job/, name);
        await ownerChanges(name, () => write(own));
      }
    });

    it('references to another user\'s rows in what a view writes are as missing references', async () => {
      const g = await seed(db, alice);
      const missing = randomUUID();
      const refs: [string, (s: Stores, id: (k: keyof Fixture) => string) => Promise<unknown>][] = [
        ['addConversationMessage', (s, id) => s.addConversationMessage(id('conversation'), 'user', 'x')],
        ['saveJob conversation_id', (s, id) => s.saveJob(newJob({ userId: 'someone', conversationId: id('conversation') }))],
        ['saveAction', (s, id) => s.saveAction(id('job'), newAction(7))],
        ['recordLlmCall job_id', (s, id) => s.recordLlmCall({ jobId: id('job'), conversationId: null, provider: 'p', model: 'm', inputTokens: 1, outputTokens: 1, cost: '0', purpose: null })],
        [
          'recordLlmCall conversation_id',
          (s, id) => s.recordLlmCall({ jobId: null, conversationId: id('conversation'), provider: 'p', model: 'm', inputTokens: 1, outputTokens: 1, cost: '0', purpose: null }),
        ],
        ['saveEstimationSnapshot', (s, id) => s.saveEstimationSnapshot(id('job'), 'c', [], '1', 1, '1')],
        ['saveJobEvent', (s, id) => s.saveJobEvent(id('sandboxJob'), 'message', {})],
        ['createRoutineRun', (s, id) => s.createRoutineRun(makeRun(id('routine')))],
        ['insertChunk', (s, id) => s.insertChunk(id('document'), 9, 'x', null)],
      ];
      const message = (e: unknown) => (e instanceof Error ? `${(e as { kind?: string }).kind}: ${e.message.replace(/[0-9a-f-]{36}/g, '<id>')}` : e);
      for (const [name, write] of refs) {
        const asBob = message(await changesNothing(() => write(bob, (k) => g[k])));
        const asMissing = message(await changesNothing(() => write(bob, () => missing)));
        assert.match(String(asBob), /^failed_precondition: /, name);
        assert.equal(asBob, asMissing, `${name}: another user's row is as a missing one`);
        await ownerChanges(name, () => write(own, (k) => g[k]));
      }
    });
  });
}
