// ConversationStore conformance (STORES.md §2.1, §7 "Conversations"), with
// the "→ agentstore" choices: PG metadata semantics, insertion-order
// tie-breaks, the exact (createdAt, seq) cursor, a unique assistant thread.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ConversationMessage, ConversationSummary } from '../../src/store/conversations.js';
import type { Database } from '../../src/store/database.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError, sleep } from './util.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const user = () => `user-${randomUUID()}`;
/** First n characters (code points), as PostgreSQL left() and SQLite substr() count. */
const firstChars = (s: string, n: number) => Array.from(s).slice(0, n).join('');

async function summaryOf(db: Database, userId: string, id: string): Promise<ConversationSummary> {
  const found = (await db.listConversationsAllChannels(userId, 1000)).find((s) => s.id === id);
  assert.ok(found, `conversation ${id} not listed for ${userId}`);
  return found;
}

async function addMessages(db: Database, id: string, n: number, prefix = 'm'): Promise<void> {
  for (let i = 0; i < n; i++) await db.addConversationMessage(id, 'user', `${prefix}${i}`);
}

const contents = (ms: ConversationMessage[]) => ms.map((m) => m.content);

/** Pages backwards with the exact cursor until the start; returns oldest first. */
async function pageAll(db: Database, id: string, limit: number): Promise<ConversationMessage[]> {
  const pages: ConversationMessage[][] = [];
  let cursor: { createdAt: Date; seq: number } | null = null;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await db.listConversationMessagesPaginated(id, cursor, limit);
    assert.ok(page.messages.length <= limit);
    pages.unshift(page.messages);
    if (!page.hasMore) return pages.flat();
    assert.equal(page.messages.length, limit, 'a page with more behind it is full');
    const first = page.messages[0]!;
    cursor = { createdAt: first.createdAt, seq: first.seq };
  }
  throw new Error('pagination did not terminate');
}

export function conversationSuite(ctx: SuiteContext): void {
  describe('ConversationStore', () => {
    describe('create, metadata, ownership', () => {
      it('createConversation returns a fresh v4 UUID with empty metadata, every call a new row', async () => {
        const db = ctx.db();
        const u = user();
        const a = await db.createConversation('gateway', u);
        const b = await db.createConversation('gateway', u, 'ext-thread-1');
        const c = await db.createConversation('gateway', u, 'ext-thread-1');
        for (const id of [a, b, c]) assert.match(id, V4);
        assert.equal(new Set([a, b, c]).size, 3);
        assert.deepEqual(await db.getConversationMetadata(a), {});
        const s = await summaryOf(db, u, a);
        assert.equal(s.channel, 'gateway');
        assert.equal(s.messageCount, 0);
        assert.equal(s.title, null);
        assert.equal(s.threadType, null);
        assert.equal(s.startedAt.getTime(), s.lastActivity.getTime());
        assert.equal((await db.listConversationsAllChannels(u, 100)).length, 3);
      });

      it('getConversationMetadata of an unknown id is undefined', async () => {
        assert.equal(await ctx.db().getConversationMetadata(randomUUID()), undefined);
      });

      it('conversationBelongsToUser: owner true, other user false (case-sensitive), unknown id false, channel ignored', async () => {
        const db = ctx.db();
        const u = user();
        const id = await db.createConversation('telegram', u);
        assert.equal(await db.conversationBelongsToUser(id, u), true);
        assert.equal(await db.conversationBelongsToUser(id, user()), false);
        assert.equal(await db.conversationBelongsToUser(id, u.toUpperCase()), false);
        assert.equal(await db.conversationBelongsToUser(randomUUID(), u), false);
      });

      it('ids are accepted in any case and answered in lowercase', async () => {
        const db = ctx.db();
        const u = user();
        const id = await db.createConversation('gateway', u);
        assert.equal(await db.conversationBelongsToUser(id.toUpperCase(), u), true);
        const upper = randomUUID().toUpperCase();
        assert.equal(await db.ensureConversation(upper, 'gateway', u), true);
        assert.equal(await db.conversationBelongsToUser(upper.toLowerCase(), u), true);
        const listed = (await db.listConversationsAllChannels(u, 10)).map((s) => s.id);
        assert.ok(listed.includes(upper.toLowerCase()));
      });

      it('touchConversation advances last_activity only; an unknown id is a no-op', async () => {
        const db = ctx.db();
        const u = user();
        const id = await db.createConversation('gateway', u);
        const before = await summaryOf(db, u, id);
        await sleep(3);
        await db.touchConversation(id);
        const after = await summaryOf(db, u, id);
        assert.ok(after.lastActivity > before.lastActivity);
        assert.equal(after.startedAt.getTime(), before.startedAt.getTime());
        await db.touchConversation(randomUUID());
      });
    });

    describe('ensureConversation', () => {
      it('creates a new id, refreshes for the same user and channel, refuses another user or channel', async () => {
        const db = ctx.db();
        const u = user();
        const id = randomUUID();
        assert.equal(await db.ensureConversation(id, 'gateway', u, 'thread-9'), true);
        assert.deepEqual(await db.getConversationMetadata(id), {});
        assert.equal(await db.conversationBelongsToUser(id, u), true);
        const created = await summaryOf(db, u, id);
        assert.equal(created.channel, 'gateway');

        await sleep(3);
        assert.equal(await db.ensureConversation(id, 'gateway', u), true);
        const refreshed = await summaryOf(db, u, id);
        assert.ok(refreshed.lastActivity > created.lastActivity, 'last_activity advances');
        assert.equal(refreshed.startedAt.getTime(), created.startedAt.getTime());

        await sleep(3);
        const other = user();
        assert.equal(await db.ensureConversation(id, 'gateway', other), false);
        assert.equal(await db.ensureConversation(id, 'telegram', u), false);
        const untouched = await summaryOf(db, u, id);
        assert.equal(untouched.lastActivity.getTime(), refreshed.lastActivity.getTime(), 'a refused call changes nothing');
        assert.equal(untouched.channel, 'gateway');
        assert.equal(await db.conversationBelongsToUser(id, other), false);
        assert.deepEqual(await db.listConversationsAllChannels(other, 10), []);
        assert.equal((await db.listConversationsAllChannels(u, 10)).length, 1);
      });
    });

    describe('messages', () => {
      it('listConversationMessages returns every message oldest first; adding touches the conversation', async () => {
        const db = ctx.db();
        const u = user();
        const id = await db.createConversation('gateway', u);
        const before = await summaryOf(db, u, id);
        await sleep(3);
        const ids = [
          await db.addConversationMessage(id, 'user', 'hello'),
          await db.addConversationMessage(id, 'assistant', 'héllo 👋 — 你好'),
          await db.addConversationMessage(id, 'tool_calls', '[{"name":"search","arguments":{}}]'),
          await db.addConversationMessage(id, 'imported-role', ''),
        ];
        for (const m of ids) assert.match(m, V4);
        const ms = await db.listConversationMessages(id);
        assert.deepEqual(
          ms.map((m) => [m.id, m.role, m.content]),
          [
            [ids[0], 'user', 'hello'],
            [ids[1], 'assistant', 'héllo 👋 — 你好'],
            [ids[2], 'tool_calls', '[{"name":"search","arguments":{}}]'],
            [ids[3], 'imported-role', ''],
          ],
        );
        for (let i = 1; i < ms.length; i++) {
          assert.ok(ms[i]!.createdAt >= ms[i - 1]!.createdAt, 'created_at is non-decreasing');
          assert.ok(ms[i]!.seq > ms[i - 1]!.seq, 'seq increases');
        }
        const after = await summaryOf(db, u, id);
        assert.ok(after.lastActivity > before.lastActivity);
        assert.equal(after.lastActivity.getTime(), ms.at(-1)!.createdAt.getTime(), 'last_activity is the last message time');
      });

      it('adding to an unknown conversation fails with failed_precondition and writes nothing', async () => {
        const db = ctx.db();
        const missing = randomUUID();
        await assertStoreError(db.addConversationMessage(missing, 'user', 'x'), 'failed_precondition', /conversation_id/);
        assert.deepEqual(await db.listConversationMessages(missing), []);
        assert.deepEqual(await db.listConversationMessagesPaginated(missing, null, 10), { messages: [], hasMore: false });
      });

      it('timestamps have millisecond precision', async () => {
        const db = ctx.db();
        const id = await db.createConversation('gateway', user());
        await db.addConversationMessage(id, 'user', 'x');
        const [m] = await db.listConversationMessages(id);
        assert.equal(m!.createdAt.getTime() % 1, 0);
        assert.ok(Math.abs(m!.createdAt.getTime() - Date.now()) < 60_000);
      });
    });

    describe('listConversationMessagesPaginated', () => {
      it('pages backwards: (null, 3), then the cursor, then (null, 100)', async () => {
        const db = ctx.db();
        const id = await db.createConversation('gateway', user());
        await addMessages(db, id, 5);
        const first = await db.listConversationMessagesPaginated(id, null, 3);
        assert.deepEqual(contents(first.messages), ['m2', 'm3', 'm4']);
        assert.equal(first.hasMore, true);
        const oldest = first.messages[0]!;
        const rest = await db.listConversationMessagesPaginated(id, { createdAt: oldest.createdAt, seq: oldest.seq }, 3);
        assert.deepEqual(contents(rest.messages), ['m0', 'm1']);
        assert.equal(rest.hasMore, false);
        const all = await db.listConversationMessagesPaginated(id, null, 100);
        assert.deepEqual(contents(all.messages), ['m0', 'm1', 'm2', 'm3', 'm4']);
        assert.equal(all.hasMore, false);
        const exact = await db.listConversationMessagesPaginated(id, null, 5);
        assert.equal(exact.messages.length, 5);
        assert.equal(exact.hasMore, false, 'exactly limit rows: nothing more');
        assert.deepEqual(exact.messages, await db.listConversationMessages(id));
      });

      it('limit 0 returns no messages, hasMore only when a message qualifies', async () => {
        const db = ctx.db();
        const id = await db.createConversation('gateway', user());
        assert.deepEqual(await db.listConversationMessagesPaginated(id, null, 0), { messages: [], hasMore: false });
        await db.addConversationMessage(id, 'user', 'only');
        assert.deepEqual(await db.listConversationMessagesPaginated(id, null, 0), { messages: [], hasMore: true });
        const [m] = await db.listConversationMessages(id);
        assert.deepEqual(await db.listConversationMessagesPaginated(id, { createdAt: m!.createdAt, seq: m!.seq }, 0), {
          messages: [],
          hasMore: false,
        });
      });

      it('a cursor without seq keeps the reference rule: only messages strictly before createdAt', async () => {
        const db = ctx.db();
        const id = await db.createConversation('gateway', user());
        for (let i = 0; i < 12; i++) {
          await db.addConversationMessage(id, 'user', `m${i}`);
          if (i % 4 === 3) await sleep(2);
        }
        const all = await db.listConversationMessages(id);
        const cut = all[6]!.createdAt;
        const expected = all.filter((m) => m.createdAt < cut);
        const page = await db.listConversationMessagesPaginated(id, { createdAt: cut }, 100);
        assert.deepEqual(page.messages, expected);
        assert.equal(page.hasMore, false);
        const far = await db.listConversationMessagesPaginated(id, { createdAt: new Date(0) }, 100);
        assert.deepEqual(far, { messages: [], hasMore: false });
      });

      it('the exact cursor never skips or repeats messages that share a millisecond', async () => {
        const db = ctx.db();
        const id = await db.createConversation('gateway', user());
        await addMessages(db, id, 150);
        const all = await db.listConversationMessages(id);
        assert.deepEqual(
          contents(all),
          Array.from({ length: 150 }, (_, i) => `m${i}`),
        );
        let shared = 0;
        for (let i = 1; i < all.length; i++) if (all[i]!.createdAt.getTime() === all[i - 1]!.createdAt.getTime()) shared++;
        assert.ok(shared > 0, 'the test needs messages with equal timestamps');
        for (const limit of [1, 2, 3, 7]) {
          assert.deepEqual(await pageAll(db, id, limit), all, `paging with limit ${limit}`);
        }
      });
    });

    describe('summaries', () => {
      it('count only user messages; title is the first 100 characters of the earliest user message', async () => {
        const db = ctx.db();
        const u = user();
        const a = await db.createConversation('gateway', u);
        await db.addConversationMessage(a, 'assistant', 'I speak first');
        await db.addConversationMessage(a, 'user', 'hello there');
        await db.addConversationMessage(a, 'tool_calls', '[]');
        await db.addConversationMessage(a, 'user', 'second question');
        await db.addConversationMessage(a, 'User', 'not a user role');
        const sa = await summaryOf(db, u, a);
        assert.equal(sa.messageCount, 2);
        assert.equal(sa.title, 'hello there');

        const long = 'é' + '😀'.repeat(80) + 'ab'.repeat(40);
        const b = await db.createConversation('gateway', u);
        await db.addConversationMessage(b, 'user', long);
        const sb = await summaryOf(db, u, b);
        assert.equal(sb.title, firstChars(long, 100));
        assert.equal(Array.from(sb.title!).length, 100);

        // The 100th character is an emoji: counting UTF-16 units would cut it in half.
        const edge = 'a'.repeat(99) + '😀😀';
        const c = await db.createConversation('gateway', u);
        await db.addConversationMessage(c, 'user', edge);
        assert.equal((await summaryOf(db, u, c)).title, 'a'.repeat(99) + '😀');

        const short = await db.createConversation('gateway', u);
        await db.addConversationMessage(short, 'user', '  padded  ');
        assert.equal((await summaryOf(db, u, short)).title, '  padded  ', 'no trimming');
      });

      it('title falls back to the routine name, never to metadata.title; threadType only when a string', async () => {
        const db = ctx.db();
        const u = user();
        const routine = await db.getOrCreateRoutineConversation(randomUUID(), 'Daily digest 📰', u);
        const sr = await summaryOf(db, u, routine);
        assert.equal(sr.title, 'Daily digest 📰');
        assert.equal(sr.threadType, 'routine');
        assert.equal(sr.channel, 'routine');
        assert.equal(sr.messageCount, 0);
        await db.addConversationMessage(routine, 'user', 'run it');
        assert.equal((await summaryOf(db, u, routine)).title, 'run it', 'a user message wins over the routine name');

        const odd = await db.createConversationWithMetadata('gateway', u, { title: 'ignored', thread_type: 5, routine_name: ['x'] });
        const so = await summaryOf(db, u, odd);
        assert.equal(so.title, null);
        assert.equal(so.threadType, null);

        const assistant = await db.getOrCreateAssistantConversation(u, 'gateway');
        const sa = await summaryOf(db, u, assistant);
        assert.equal(sa.title, null);
        assert.equal(sa.threadType, 'assistant');
      });

      it('newest activity first, ties in reverse insertion order; channel filter; limit', async () => {
        const db = ctx.db();
        const u = user();
        const created: string[] = [];
        for (let i = 0; i < 40; i++) created.push(await db.createConversation('gateway', u));
        const rank = new Map(created.map((id, i) => [id, i]));
        const listed = await db.listConversationsWithPreview(u, 'gateway', 100);
        const expected = [...listed].sort(
          (x, y) => y.lastActivity.getTime() - x.lastActivity.getTime() || rank.get(y.id)! - rank.get(x.id)!,
        );
        assert.deepEqual(
          listed.map((s) => s.id),
          expected.map((s) => s.id),
        );
        assert.equal(listed.length, 40);
        let ties = 0;
        for (let i = 1; i < listed.length; i++) if (listed[i]!.lastActivity.getTime() === listed[i - 1]!.lastActivity.getTime()) ties++;
        assert.ok(ties > 0, 'the test needs conversations with equal last_activity');

        // Activity moves a conversation to the front.
        await sleep(2);
        await db.touchConversation(created[5]!);
        await sleep(2);
        await db.addConversationMessage(created[7]!, 'user', 'ping');
        const other = await db.createConversation('telegram', u);
        const byChannel = (await db.listConversationsWithPreview(u, 'gateway', 3)).map((s) => s.id);
        assert.deepEqual(byChannel, [created[7], created[5], created[39]]);
        const all = (await db.listConversationsAllChannels(u, 3)).map((s) => s.id);
        assert.deepEqual(all, [other, created[7], created[5]]);
        assert.deepEqual(
          (await db.listConversationsWithPreview(u, 'telegram', 10)).map((s) => s.id),
          [other],
        );
        assert.deepEqual(await db.listConversationsWithPreview(u, 'gateway', 0), []);
        assert.deepEqual(await db.listConversationsAllChannels(u, 0), []);
        assert.equal((await db.listConversationsAllChannels(u, 1000)).length, 41);
        assert.deepEqual(await db.listConversationsAllChannels(user(), 10), []);
        assert.deepEqual(await db.listConversationsWithPreview(u, 'nowhere', 10), []);
      });
    });

    describe('singleton conversations', () => {
      it('routine: one per (user, routine id), created with channel routine and its metadata, name never refreshed', async () => {
        const db = ctx.db();
        const u = user();
        const r1 = randomUUID();
        const id = await db.getOrCreateRoutineConversation(r1, 'Digest', u);
        assert.match(id, V4);
        assert.equal(await db.getOrCreateRoutineConversation(r1, 'Digest', u), id);
        assert.equal(await db.getOrCreateRoutineConversation(r1, 'Renamed', u), id);
        assert.equal(await db.getOrCreateRoutineConversation(r1.toUpperCase(), 'Digest', u), id);
        assert.deepEqual(await db.getConversationMetadata(id), { thread_type: 'routine', routine_id: r1, routine_name: 'Digest' });
        assert.deepEqual(
          (await db.listConversationsWithPreview(u, 'routine', 10)).map((s) => s.id),
          [id],
        );
        const r2 = await db.getOrCreateRoutineConversation(randomUUID(), 'Digest', u);
        assert.notEqual(r2, id);
        const otherUser = await db.getOrCreateRoutineConversation(r1, 'Digest', user());
        assert.notEqual(otherUser, id);
      });

      it('routine: an imported conversation carrying the routine id is found, and a second one is refused', async () => {
        const db = ctx.db();
        const u = user();
        const r = randomUUID();
        const imported = await db.createConversationWithMetadata('gateway', u, { routine_id: r, note: 'imported' });
        assert.equal(await db.getOrCreateRoutineConversation(r, 'Digest', u), imported);
        await assertStoreError(db.createConversationWithMetadata('gateway', u, { routine_id: r }), 'already_exists', /routine_id/);
        await assertStoreError(
          db.createConversationWithMetadata('gateway', u, { routine_id: r.toUpperCase() }),
          'already_exists',
          /routine_id/,
        );
        assert.equal((await db.listConversationsAllChannels(u, 10)).length, 1, 'nothing written');
        // Another user may use the same routine id.
        await db.createConversationWithMetadata('gateway', user(), { routine_id: r });
      });

      it('heartbeat: one per user, channel heartbeat, refused to a second import', async () => {
        const db = ctx.db();
        const u = user();
        const id = await db.getOrCreateHeartbeatConversation(u);
        assert.match(id, V4);
        assert.equal(await db.getOrCreateHeartbeatConversation(u), id);
        assert.deepEqual(await db.getConversationMetadata(id), { thread_type: 'heartbeat' });
        const s = await summaryOf(db, u, id);
        assert.equal(s.channel, 'heartbeat');
        assert.equal(s.threadType, 'heartbeat');
        assert.notEqual(await db.getOrCreateHeartbeatConversation(user()), id);
        await assertStoreError(db.createConversationWithMetadata('gateway', u, { thread_type: 'heartbeat' }), 'already_exists', /heartbeat/);
        assert.equal((await db.listConversationsAllChannels(u, 10)).length, 1);
        // A refused statement leaves nothing behind: the same call with other metadata works at once.
        await db.createConversationWithMetadata('gateway', u, { thread_type: 'thread' });
        assert.equal((await db.listConversationsAllChannels(u, 10)).length, 2);
      });

      it('heartbeat: an imported heartbeat conversation is the singleton', async () => {
        const db = ctx.db();
        const u = user();
        const imported = await db.createConversationWithMetadata('web', u, { thread_type: 'heartbeat' });
        assert.equal(await db.getOrCreateHeartbeatConversation(u), imported);
      });

      it('assistant: one per (user, channel) with its metadata', async () => {
        const db = ctx.db();
        const u = user();
        const id = await db.getOrCreateAssistantConversation(u, 'gateway');
        assert.match(id, V4);
        assert.equal(await db.getOrCreateAssistantConversation(u, 'gateway'), id);
        assert.deepEqual(await db.getConversationMetadata(id), { thread_type: 'assistant', title: 'Assistant' });
        assert.equal((await summaryOf(db, u, id)).channel, 'gateway');
        const tg = await db.getOrCreateAssistantConversation(u, 'telegram');
        assert.notEqual(tg, id);
        assert.equal((await summaryOf(db, u, tg)).channel, 'telegram');
        assert.notEqual(await db.getOrCreateAssistantConversation(user(), 'gateway'), id);
        await assertStoreError(db.createConversationWithMetadata('gateway', u, { thread_type: 'assistant' }), 'already_exists', /assistant/);
        assert.equal((await db.listConversationsAllChannels(u, 10)).length, 2);
      });

      it('50 concurrent first calls of each kind return one id and create one row', async () => {
        const db = ctx.db();
        const u = user();
        const routineId = randomUUID();
        const n = 50;
        const routine = await Promise.all(Array.from({ length: n }, () => db.getOrCreateRoutineConversation(routineId, 'R', u)));
        const heartbeat = await Promise.all(Array.from({ length: n }, () => db.getOrCreateHeartbeatConversation(u)));
        const assistant = await Promise.all(Array.from({ length: n }, () => db.getOrCreateAssistantConversation(u, 'gateway')));
        // All three kinds at once, on a second user.
        const v = user();
        const mixed = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            i % 3 === 0
              ? db.getOrCreateRoutineConversation(routineId, 'R', v)
              : i % 3 === 1
                ? db.getOrCreateHeartbeatConversation(v)
                : db.getOrCreateAssistantConversation(v, 'gateway'),
          ),
        );
        assert.equal(new Set(routine).size, 1);
        assert.equal(new Set(heartbeat).size, 1);
        assert.equal(new Set(assistant).size, 1);
        assert.equal(new Set(mixed).size, 3);
        assert.equal((await db.listConversationsAllChannels(u, 100)).length, 3);
        assert.equal((await db.listConversationsAllChannels(v, 100)).length, 3);
      });

      it('concurrent calls for different routine ids give different conversations', async () => {
        const db = ctx.db();
        const u = user();
        const routineIds = Array.from({ length: 20 }, () => randomUUID());
        const ids = await Promise.all(routineIds.map((r) => db.getOrCreateRoutineConversation(r, 'R', u)));
        assert.equal(new Set(ids).size, 20);
        assert.deepEqual(await Promise.all(routineIds.map((r) => db.getOrCreateRoutineConversation(r, 'R', u))), ids);
      });
    });

    describe('metadata', () => {
      it('createConversationWithMetadata stores the object as given', async () => {
        const db = ctx.db();
        const u = user();
        const metadata = { openclaw_conversation_id: 'abc', openclaw_channel: 'slack', nested: { a: [1, 2.5, null, true], b: {} }, n: null };
        const id = await db.createConversationWithMetadata('import', u, metadata);
        assert.match(id, V4);
        assert.deepEqual(await db.getConversationMetadata(id), metadata);
        const s = await summaryOf(db, u, id);
        assert.equal(s.channel, 'import');
        assert.equal(s.startedAt.getTime(), s.lastActivity.getTime());
        const empty = await db.createConversationWithMetadata('import', u, {});
        assert.deepEqual(await db.getConversationMetadata(empty), {});
      });

      it('updateConversationMetadataField sets exactly one top-level key', async () => {
        const db = ctx.db();
        const id = await db.createConversation('gateway', user());
        await db.updateConversationMetadataField(id, 'thread_type', 'thread');
        await db.updateConversationMetadataField(id, 'obj', { p: 1, q: { deep: true } });
        assert.deepEqual(await db.getConversationMetadata(id), { thread_type: 'thread', obj: { p: 1, q: { deep: true } } });
        // An object value replaces the old one wholesale (no merge patch).
        await db.updateConversationMetadataField(id, 'obj', { p: 2, r: null });
        assert.deepEqual(await db.getConversationMetadata(id), { thread_type: 'thread', obj: { p: 2, r: null } });
        // null is stored as null, not a deletion.
        await db.updateConversationMetadataField(id, 'thread_type', null);
        assert.deepEqual(await db.getConversationMetadata(id), { thread_type: null, obj: { p: 2, r: null } });
        await db.updateConversationMetadataField(id, 'obj', [3, 'x', { y: null }]);
        assert.deepEqual(await db.getConversationMetadata(id), { thread_type: null, obj: [3, 'x', { y: null }] });
      });

      it('the key is literal: dots, quotes, JSON-path and prototype names are plain keys', async () => {
        const db = ctx.db();
        const id = await db.createConversationWithMetadata('gateway', user(), { a: { b: 1 } });
        const keys = ['a.b', `it's "quoted"`, '$.a', '[0]', '__proto__', 'constructor', 'ключ 🔑'];
        for (const [i, k] of keys.entries()) await db.updateConversationMetadataField(id, k, i);
        const md = (await db.getConversationMetadata(id)) as Record<string, unknown>;
        assert.deepEqual(Object.keys(md).sort(), ['a', ...keys].sort());
        assert.deepEqual(md.a, { b: 1 });
        for (const [i, k] of keys.entries()) assert.equal(Object.getOwnPropertyDescriptor(md, k)?.value, i, `key ${k}`);
      });

      it('an unknown id is a no-op; a change that breaks a singleton rule is refused and changes nothing', async () => {
        const db = ctx.db();
        const u = user();
        const missing = randomUUID();
        await db.updateConversationMetadataField(missing, 'k', 1);
        assert.equal(await db.getConversationMetadata(missing), undefined);
        await db.getOrCreateHeartbeatConversation(u);
        const id = await db.createConversation('gateway', u);
        await db.updateConversationMetadataField(id, 'k', 'v');
        await assertStoreError(db.updateConversationMetadataField(id, 'thread_type', 'heartbeat'), 'already_exists');
        assert.deepEqual(await db.getConversationMetadata(id), { k: 'v' });
      });
    });

    describe('bad input', () => {
      const BAD_UUIDS = ['', 'not-a-uuid', '123e4567-e89b-12d3-a456-42661417400', '123e4567e89b12d3a456426614174000', `${randomUUID()} `, `{${randomUUID()}}`];
      const LONG_NAME = 'x'.repeat(513);
      const HUGE_TEXT = 'x'.repeat(4 * 1024 * 1024 + 1);

      it('malformed UUIDs are invalid_argument naming the field', async () => {
        const db = ctx.db();
        for (const bad of BAD_UUIDS) {
          await assertStoreError(db.touchConversation(bad), 'invalid_argument', /^id:/);
          await assertStoreError(db.addConversationMessage(bad, 'user', 'x'), 'invalid_argument', /^conversation_id:/);
          await assertStoreError(db.ensureConversation(bad, 'gateway', 'u'), 'invalid_argument', /^id:/);
          await assertStoreError(db.getOrCreateRoutineConversation(bad, 'R', 'u'), 'invalid_argument', /^routine_id:/);
          await assertStoreError(db.listConversationMessagesPaginated(bad, null, 10), 'invalid_argument', /^conversation_id:/);
          await assertStoreError(db.updateConversationMetadataField(bad, 'k', 1), 'invalid_argument', /^id:/);
          await assertStoreError(db.getConversationMetadata(bad), 'invalid_argument', /^id:/);
          await assertStoreError(db.listConversationMessages(bad), 'invalid_argument', /^conversation_id:/);
          await assertStoreError(db.conversationBelongsToUser(bad, 'u'), 'invalid_argument', /^conversation_id:/);
          await assertStoreError(db.createConversationWithMetadata('c', 'u', { routine_id: bad }), 'invalid_argument', /^metadata\.routine_id:/);
        }
      });

      it('empty, NUL-bearing and over-long names are invalid_argument and write nothing', async () => {
        const db = ctx.db();
        const u = user();
        const id = await db.createConversation('gateway', u);
        for (const bad of ['', 'a\u0000b', LONG_NAME]) {
          await assertStoreError(db.createConversation(bad, u), 'invalid_argument', /^channel:/);
          await assertStoreError(db.createConversation('gateway', bad), 'invalid_argument', /^user_id:/);
          await assertStoreError(db.ensureConversation(randomUUID(), bad, u), 'invalid_argument', /^channel:/);
          await assertStoreError(db.ensureConversation(randomUUID(), 'gateway', bad), 'invalid_argument', /^user_id:/);
          await assertStoreError(db.addConversationMessage(id, bad, 'x'), 'invalid_argument', /^role:/);
          await assertStoreError(db.listConversationsWithPreview(bad, 'gateway', 10), 'invalid_argument', /^user_id:/);
          await assertStoreError(db.listConversationsWithPreview(u, bad, 10), 'invalid_argument', /^channel:/);
          await assertStoreError(db.listConversationsAllChannels(bad, 10), 'invalid_argument', /^user_id:/);
          await assertStoreError(db.getOrCreateRoutineConversation(randomUUID(), 'R', bad), 'invalid_argument', /^user_id:/);
          await assertStoreError(db.getOrCreateHeartbeatConversation(bad), 'invalid_argument', /^user_id:/);
          await assertStoreError(db.getOrCreateAssistantConversation(bad, 'gateway'), 'invalid_argument', /^user_id:/);
          await assertStoreError(db.getOrCreateAssistantConversation(u, bad), 'invalid_argument', /^channel:/);
          await assertStoreError(db.createConversationWithMetadata(bad, u, {}), 'invalid_argument', /^channel:/);
          await assertStoreError(db.createConversationWithMetadata('gateway', bad, {}), 'invalid_argument', /^user_id:/);
          await assertStoreError(db.updateConversationMetadataField(id, bad, 1), 'invalid_argument', /^key:/);
          await assertStoreError(db.conversationBelongsToUser(id, bad), 'invalid_argument', /^user_id:/);
        }
        for (const bad of ['a\u0000b', LONG_NAME]) {
          await assertStoreError(db.createConversation('gateway', u, bad), 'invalid_argument', /^thread_id:/);
          await assertStoreError(db.ensureConversation(randomUUID(), 'gateway', u, bad), 'invalid_argument', /^thread_id:/);
        }
        await assertStoreError(db.addConversationMessage(id, 'user', 'a\u0000b'), 'invalid_argument', /^content:/);
        await assertStoreError(db.addConversationMessage(id, 'user', HUGE_TEXT), 'invalid_argument', /^content:/);
        await assertStoreError(db.getOrCreateRoutineConversation(randomUUID(), 'R\u0000', u), 'invalid_argument', /^routine_name:/);
        await assertStoreError(db.getOrCreateRoutineConversation(randomUUID(), 'R'.repeat(4097), u), 'invalid_argument', /^routine_name:/);
        assert.deepEqual(await db.listConversationMessages(id), []);
        assert.deepEqual(await db.getConversationMetadata(id), {});
        assert.equal((await db.listConversationsAllChannels(u, 100)).length, 1);
      });

      it('strings that are not well-formed UTF-16 are refused (they cannot be stored faithfully)', async () => {
        const db = ctx.db();
        const u = user();
        const id = await db.createConversation('gateway', u);
        await assertStoreError(db.addConversationMessage(id, 'user', 'half \ud83d emoji'), 'invalid_argument', /^content:/);
        await assertStoreError(db.createConversation('gateway', `${u}\udc00`), 'invalid_argument', /^user_id:/);
        await assertStoreError(db.updateConversationMetadataField(id, 'k', 'x\ud800'), 'invalid_argument', /^value:/);
        await assertStoreError(db.updateConversationMetadataField(id, 'k', { ['\ud800']: 1 }), 'invalid_argument', /^value:/);
        await assertStoreError(db.createConversationWithMetadata('gateway', u, { t: '\udfff' }), 'invalid_argument', /^metadata:/);
        assert.deepEqual(await db.listConversationMessages(id), []);
        assert.deepEqual(await db.getConversationMetadata(id), {});
        assert.equal((await db.listConversationsAllChannels(u, 100)).length, 1);
      });

      it('negative, fractional and over-maximum limits are invalid_argument', async () => {
        const db = ctx.db();
        const id = await db.createConversation('gateway', user());
        for (const bad of [-1, 1.5, 1001, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER]) {
          await assertStoreError(db.listConversationsWithPreview('u', 'gateway', bad), 'invalid_argument', /^limit:/);
          await assertStoreError(db.listConversationsAllChannels('u', bad), 'invalid_argument', /^limit:/);
          await assertStoreError(db.listConversationMessagesPaginated(id, null, bad), 'invalid_argument', /^limit:/);
        }
        await assertStoreError(db.listConversationMessagesPaginated(id, { createdAt: new Date(Number.NaN) }, 10), 'invalid_argument', /^before/);
        await assertStoreError(db.listConversationMessagesPaginated(id, { createdAt: new Date(), seq: -1 }, 10), 'invalid_argument', /seq/);
        await assertStoreError(db.listConversationMessagesPaginated(id, { createdAt: new Date(), seq: 0.5 }, 10), 'invalid_argument', /seq/);
      });

      it('metadata must be a finite JSON object within limits; nothing is written otherwise', async () => {
        const db = ctx.db();
        const u = user();
        const notObjects: unknown[] = [null, [], ['a'], 'text', 42, true];
        for (const bad of notObjects) {
          await assertStoreError(db.createConversationWithMetadata('gateway', u, bad as never), 'invalid_argument', /^metadata:/);
        }
        const badJson: unknown[] = [
          { n: Number.NaN },
          { n: Number.POSITIVE_INFINITY },
          { deep: [{ n: Number.NEGATIVE_INFINITY }] },
          { s: 'nul\u0000' },
          { ['k\u0000']: 1 },
          { f: () => 1 },
          { big: 'x'.repeat(1024 * 1024) },
          JSON.parse('['.repeat(70) + ']'.repeat(70)) as unknown,
        ];
        for (const bad of badJson) {
          await assertStoreError(db.createConversationWithMetadata('gateway', u, bad as never), 'invalid_argument', /^metadata:/);
        }
        let deep: unknown = 1;
        for (let i = 0; i < 70; i++) deep = { d: deep };
        await assertStoreError(db.createConversationWithMetadata('gateway', u, deep as never), 'invalid_argument', /^metadata:/);
        assert.deepEqual(await db.listConversationsAllChannels(u, 100), []);

        const id = await db.createConversation('gateway', u);
        for (const bad of badJson) {
          await assertStoreError(db.updateConversationMetadataField(id, 'k', bad as never), 'invalid_argument', /^value:/);
        }
        await assertStoreError(db.updateConversationMetadataField(id, 'k', undefined as never), 'invalid_argument', /^value:/);
        assert.deepEqual(await db.getConversationMetadata(id), {});
      });
    });

    describe('concurrency', () => {
      it('500 concurrent messages on one conversation: all stored, none lost, order consistent with seq', async () => {
        const db = ctx.db();
        const u = user();
        const id = await db.createConversation('gateway', u);
        const n = 500;
        const results = await Promise.allSettled(
          Array.from({ length: n }, (_, i) => db.addConversationMessage(id, i % 2 ? 'assistant' : 'user', `c${i}`)),
        );
        const failed = results.filter((r) => r.status === 'rejected');
        assert.deepEqual(failed, [], 'every add succeeds');
        const ids = results.map((r) => (r as PromiseFulfilledResult<string>).value);
        assert.equal(new Set(ids).size, n);
        const all = await db.listConversationMessages(id);
        assert.equal(all.length, n);
        assert.deepEqual(new Set(all.map((m) => m.id)), new Set(ids));
        assert.deepEqual(new Set(contents(all)), new Set(Array.from({ length: n }, (_, i) => `c${i}`)));
        for (let i = 1; i < all.length; i++) {
          assert.ok(all[i]!.seq > all[i - 1]!.seq, `seq increases along the listed order (at ${i})`);
          assert.ok(all[i]!.createdAt >= all[i - 1]!.createdAt, `created_at is non-decreasing along the listed order (at ${i})`);
        }
        assert.deepEqual(await pageAll(db, id, 50), all);
        const s = await summaryOf(db, u, id);
        assert.equal(s.messageCount, n / 2);
        assert.equal(s.lastActivity.getTime(), all.at(-1)!.createdAt.getTime(), 'last_activity is the newest message time');
      });

      it('concurrent ensureConversation on one new id: exactly one owner wins', async () => {
        const db = ctx.db();
        const id = randomUUID();
        const users = Array.from({ length: 20 }, () => user());
        const results = await Promise.all(users.map((u) => db.ensureConversation(id, 'gateway', u)));
        assert.equal(results.filter(Boolean).length, 1);
        const owner = users[results.indexOf(true)]!;
        assert.equal(await db.conversationBelongsToUser(id, owner), true);
      });
    });
  });
}
