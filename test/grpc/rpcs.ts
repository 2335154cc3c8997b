// Every RPC of ConversationStore, SettingsStore, ToolFailureStore and Admin
// through a real daemon and a real gRPC client: response shapes on the wire
// (Value/Struct/Timestamp, int64 as bigint, optional fields absent or
// present) and the status codes of bad requests. Registered once per backend.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { NullValue, ValueSchema, timestampDate, timestampFromDate, type Timestamp, type Value } from '@bufbuild/protobuf/wkt';
import type { JsonObject } from '@bufbuild/protobuf';
import { Admin } from '../../src/gen/agentstore/v1/admin_pb.js';
import { ConversationStore, type ConversationMessage } from '../../src/gen/agentstore/v1/conversations_pb.js';
import { SetSettingRequestSchema, SettingsStore } from '../../src/gen/agentstore/v1/settings_pb.js';
import { ToolFailureStore } from '../../src/gen/agentstore/v1/tool_failures_pb.js';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { stopTestServer } from '../support/postgres.js';
import { backendEnv, promiseClient, rawCall, rejectsWith, removeTempDirs, startDaemon, type BackendName, type Daemon, type PromiseClient } from './client.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const { INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, UNIMPLEMENTED } = grpc.status;

const v = (kind: MessageInitShape<typeof ValueSchema>['kind']): Value => create(ValueSchema, { kind });
const num = (n: number) => v({ case: 'numberValue', value: n });
const str = (s: string) => v({ case: 'stringValue', value: s });
const nul = () => v({ case: 'nullValue', value: NullValue.NULL_VALUE });

/** A JSON value as a google.protobuf.Value, built by hand (so NaN can be sent). */
function jsonValue(j: unknown): Value {
  if (j === null) return nul();
  if (typeof j === 'number') return num(j);
  if (typeof j === 'string') return str(j);
  if (typeof j === 'boolean') return v({ case: 'boolValue', value: j });
  if (typeof j === 'object' && (j as { $typeName?: string }).$typeName === ValueSchema.typeName) return j as Value;
  if (Array.isArray(j)) return v({ case: 'listValue', value: { values: j.map(jsonValue) } });
  return v({ case: 'structValue', value: { fields: Object.fromEntries(Object.entries(j as object).map(([k, x]) => [k, jsonValue(x)])) } });
}

/** A Value back to plain JSON, strictly (a kind that is not set fails). */
function plain(x: Value | undefined): unknown {
  assert.ok(x, 'value present');
  const k = x.kind;
  switch (k.case) {
    case 'nullValue':
      return null;
    case 'numberValue':
    case 'stringValue':
    case 'boolValue':
      return k.value;
    case 'listValue':
      return k.value.values.map(plain);
    case 'structValue':
      return Object.fromEntries(Object.entries(k.value.fields).map(([key, y]) => [key, plain(y)]));
    default:
      return assert.fail('Value with no kind');
  }
}

function assertRecent(t: Timestamp | undefined, what: string): Date {
  assert.ok(t, `${what} present`);
  const d = timestampDate(t);
  assert.ok(Math.abs(d.getTime() - Date.now()) < 60_000, `${what} is now-ish: ${d.toISOString()}`);
  assert.equal(t.nanos % 1_000_000, 0, `${what} has millisecond precision`);
  return d;
}

const NESTED = { s: 'héllo ✓', n: 1.5, neg: -3, big: 9007199254740991, t: true, f: false, z: null, list: [1, 'two', null, { deep: [[]] }], obj: { a: {} } };

export function rpcSuite(backend: BackendName): void {
  describe(`every RPC on ${backend}`, () => {
    let daemon: Daemon;
    let conv: PromiseClient<typeof ConversationStore.method>;
    let settings: PromiseClient<typeof SettingsStore.method>;
    let tools: PromiseClient<typeof ToolFailureStore.method>;
    let admin: PromiseClient<typeof Admin.method>;

    before(async () => {
      daemon = await startDaemon(await backendEnv(backend));
      conv = promiseClient(ConversationStore, daemon.address);
      settings = promiseClient(SettingsStore, daemon.address);
      tools = promiseClient(ToolFailureStore, daemon.address);
      admin = promiseClient(Admin, daemon.address);
    });

    after(async () => {
      for (const c of [conv, settings, tools, admin]) c?.close();
      const exit = await daemon?.stop();
      removeTempDirs();
      await stopTestServer();
      // No request may have ended as a bug.
      const internal = daemon?.logs().filter((l) => l.code === 'INTERNAL' || l.level === 50 || l.level === 60) ?? [];
      assert.deepEqual(internal, [], 'no INTERNAL answers or errors in the log');
      assert.equal(exit?.code, 0, `daemon exit: ${daemon?.stderr()}`);
    });

    describe('Admin', () => {
      it('GetStatus names the backend, schema and services', async () => {
        const s = await admin.getStatus({});
        assert.equal(s.backend, backend);
        assert.match(s.version, /^\d+\.\d+\.\d+/);
        assert.equal(typeof s.schemaVersion, 'bigint');
        assert.ok(s.schemaVersion >= 1n);
        assert.equal(s.schemaVersion, s.latestSchemaVersion);
        assert.equal(s.databaseOk, true);
        assert.ok(s.capabilities);
        for (const name of ['agentstore.v1.ConversationStore', 'agentstore.v1.SettingsStore', 'agentstore.v1.ToolFailureStore']) {
          assert.ok(s.capabilities.services.includes(name), `${name} listed`);
        }
      });
    });

    describe('ConversationStore', () => {
      it('CreateConversation, ConversationBelongsToUser, TouchConversation', async () => {
        const user = `u-${randomUUID()}`;
        const { id } = await conv.createConversation({ channel: 'web', userId: user, threadId: 't-1' });
        assert.match(id, UUID);
        const { id: id2 } = await conv.createConversation({ channel: 'web', userId: user });
        assert.notEqual(id, id2);
        assert.equal((await conv.conversationBelongsToUser({ conversationId: id, userId: user })).belongs, true);
        assert.equal((await conv.conversationBelongsToUser({ conversationId: id, userId: 'someone-else' })).belongs, false);
        assert.equal((await conv.conversationBelongsToUser({ conversationId: randomUUID(), userId: user })).belongs, false);
        const [before] = (await conv.listConversationsAllChannels({ userId: user, limit: 10n })).conversations.filter((c) => c.id === id);
        await new Promise((r) => setTimeout(r, 5));
        await conv.touchConversation({ id });
        const [touched] = (await conv.listConversationsAllChannels({ userId: user, limit: 10n })).conversations.filter((c) => c.id === id);
        assert.ok(timestampDate(touched!.lastActivity!) > timestampDate(before!.lastActivity!), 'last_activity moved forward');
        // An unknown id is a no-op, not an error.
        await conv.touchConversation({ id: randomUUID() });
      });

      it('EnsureConversation creates, refreshes, and refuses another owner', async () => {
        const id = randomUUID();
        const user = `u-${randomUUID()}`;
        assert.equal((await conv.ensureConversation({ id, channel: 'cli', userId: user })).ok, true);
        assert.equal((await conv.ensureConversation({ id, channel: 'cli', userId: user, threadId: 'x' })).ok, true);
        assert.equal((await conv.ensureConversation({ id, channel: 'cli', userId: 'intruder' })).ok, false);
        assert.equal((await conv.conversationBelongsToUser({ conversationId: id, userId: user })).belongs, true);
        assert.equal((await conv.conversationBelongsToUser({ conversationId: id, userId: 'intruder' })).belongs, false);
      });

      it('AddConversationMessage and ListConversationMessages round-trip content, Timestamp and int64 seq', async () => {
        const user = `u-${randomUUID()}`;
        const { id } = await conv.createConversation({ channel: 'web', userId: user });
        const contents = ['first ✓', '', 'multi\nline', 'x'.repeat(10_000)];
        const ids: string[] = [];
        for (const c of contents) ids.push((await conv.addConversationMessage({ conversationId: id, role: 'user', content: c })).id);
        for (const m of ids) assert.match(m, UUID);
        const { messages } = await conv.listConversationMessages({ conversationId: id });
        assert.deepEqual(
          messages.map((m) => [m.id, m.role, m.content]),
          ids.map((m, i) => [m, 'user', contents[i]]),
        );
        for (const m of messages) {
          assertRecent(m.createdAt, 'created_at');
          assert.equal(typeof m.seq, 'bigint');
        }
        for (let i = 1; i < messages.length; i++) assert.ok(messages[i]!.seq > messages[i - 1]!.seq, 'seq increases');
        assert.deepEqual((await conv.listConversationMessages({ conversationId: randomUUID() })).messages, []);
      });

      it('AddConversationMessage to an unknown conversation is FAILED_PRECONDITION and stores nothing', async () => {
        const ghost = randomUUID();
        await rejectsWith(conv.addConversationMessage({ conversationId: ghost, role: 'user', content: 'lost' }), FAILED_PRECONDITION, /conversation/);
        assert.deepEqual((await conv.listConversationMessages({ conversationId: ghost })).messages, []);
        assert.equal((await conv.getConversationMetadata({ id: ghost })).found, false);
      });

      it('ListConversationMessagesPaginated walks every message once through next_cursor', async () => {
        const { id } = await conv.createConversation({ channel: 'web', userId: `u-${randomUUID()}` });
        const empty = await conv.listConversationMessagesPaginated({ conversationId: id, limit: 10n });
        assert.deepEqual(empty.messages, []);
        assert.equal(empty.hasMore, false);
        assert.equal(empty.nextCursor, undefined, 'no cursor without messages');

        // Sent concurrently so several share a millisecond.
        await Promise.all(Array.from({ length: 23 }, (_, i) => conv.addConversationMessage({ conversationId: id, role: i % 2 ? 'assistant' : 'user', content: `m${i}` })));
        const all = (await conv.listConversationMessages({ conversationId: id })).messages;
        assert.equal(all.length, 23);

        const pages: ConversationMessage[][] = [];
        let cursor: { createdAt?: Timestamp; seq: bigint } | undefined;
        for (;;) {
          const page = await conv.listConversationMessagesPaginated({ conversationId: id, limit: 5n, beforeCursor: cursor });
          pages.unshift(page.messages);
          assert.ok(page.messages.length <= 5);
          if (page.messages.length > 0) {
            assert.ok(page.nextCursor, 'cursor present');
            assert.deepEqual(page.nextCursor.createdAt, page.messages[0]!.createdAt);
            assert.equal(page.nextCursor.seq, page.messages[0]!.seq);
          }
          if (!page.hasMore) break;
          cursor = page.nextCursor;
          assert.ok(pages.length < 10, 'pagination ends');
        }
        assert.deepEqual(
          pages.flat().map((m) => m.id),
          all.map((m) => m.id),
          'pages, oldest first, are exactly the full list',
        );
        assert.equal(pages.length, 5);

        // The reference cursor (a bare instant) returns only strictly older messages.
        const newest = all[all.length - 1]!;
        const byTime = await conv.listConversationMessagesPaginated({ conversationId: id, limit: 100n, before: newest.createdAt });
        for (const m of byTime.messages) assert.ok(timestampDate(m.createdAt!) < timestampDate(newest.createdAt!));
        assert.equal(byTime.hasMore, false);

        // limit 0: no messages, has_more because some qualify.
        const zero = await conv.listConversationMessagesPaginated({ conversationId: id, limit: 0n });
        assert.deepEqual([zero.messages.length, zero.hasMore], [0, true]);
      });

      it('ListConversationsWithPreview / AllChannels: summaries with optional fields absent or present', async () => {
        const user = `u-${randomUUID()}`;
        const { id: plainId } = await conv.createConversation({ channel: 'web', userId: user });
        const { id: chatted } = await conv.createConversation({ channel: 'web', userId: user });
        await conv.addConversationMessage({ conversationId: chatted, role: 'assistant', content: 'hi, how can I help?' });
        await conv.addConversationMessage({ conversationId: chatted, role: 'user', content: 'Q'.repeat(150) });
        await conv.addConversationMessage({ conversationId: chatted, role: 'user', content: 'second' });
        const { id: other } = await conv.createConversation({ channel: 'telegram', userId: user });

        const web = (await conv.listConversationsWithPreview({ userId: user, channel: 'web', limit: 10n })).conversations;
        assert.deepEqual(web.map((c) => c.id).sort(), [plainId, chatted].sort());
        assert.equal(web[0]!.id, chatted, 'most recent activity first');
        const c = web.find((x) => x.id === chatted)!;
        assert.equal(c.title, 'Q'.repeat(100));
        assert.equal(c.messageCount, 2n);
        assert.equal(c.channel, 'web');
        assert.equal(c.threadType, undefined);
        assertRecent(c.startedAt, 'started_at');
        assertRecent(c.lastActivity, 'last_activity');
        const p = web.find((x) => x.id === plainId)!;
        assert.equal(p.title, undefined, 'no title: field absent');
        assert.equal(p.messageCount, 0n);

        const all = (await conv.listConversationsAllChannels({ userId: user, limit: 10n })).conversations;
        assert.deepEqual(all.map((x) => x.id).sort(), [plainId, chatted, other].sort());
        assert.equal((await conv.listConversationsAllChannels({ userId: user, limit: 1n })).conversations.length, 1);
        assert.deepEqual((await conv.listConversationsAllChannels({ userId: `nobody-${randomUUID()}`, limit: 10n })).conversations, []);
      });

      it('GetOrCreate Routine / Heartbeat / Assistant return one id each', async () => {
        const user = `u-${randomUUID()}`;
        const routineId = randomUUID();
        const [r1, r2] = await Promise.all([
          conv.getOrCreateRoutineConversation({ routineId, routineName: 'Daily digest', userId: user }),
          conv.getOrCreateRoutineConversation({ routineId, routineName: 'Renamed', userId: user }),
        ]);
        assert.equal(r1.id, r2.id);
        assert.match(r1.id, UUID);
        assert.notEqual((await conv.getOrCreateRoutineConversation({ routineId: randomUUID(), routineName: 'Other', userId: user })).id, r1.id);
        // Either concurrent call may create it; the creator's name sticks and a later call never renames it.
        const created = plain((await conv.getConversationMetadata({ id: r1.id })).metadata) as Record<string, unknown>;
        assert.ok(['Daily digest', 'Renamed'].includes(created.routine_name as string), `routine_name ${String(created.routine_name)}`);
        assert.deepEqual(created, { thread_type: 'routine', routine_id: routineId, routine_name: created.routine_name });
        assert.equal((await conv.getOrCreateRoutineConversation({ routineId, routineName: 'Third', userId: user })).id, r1.id);
        assert.deepEqual(plain((await conv.getConversationMetadata({ id: r1.id })).metadata), created);

        const h = await Promise.all([1, 2, 3].map(() => conv.getOrCreateHeartbeatConversation({ userId: user })));
        assert.equal(new Set(h.map((x) => x.id)).size, 1);
        assert.deepEqual(plain((await conv.getConversationMetadata({ id: h[0]!.id })).metadata), { thread_type: 'heartbeat' });

        const a = await Promise.all([1, 2, 3].map(() => conv.getOrCreateAssistantConversation({ userId: user, channel: 'web' })));
        assert.equal(new Set(a.map((x) => x.id)).size, 1);
        assert.notEqual((await conv.getOrCreateAssistantConversation({ userId: user, channel: 'cli' })).id, a[0]!.id);
        assert.deepEqual(plain((await conv.getConversationMetadata({ id: a[0]!.id })).metadata), { thread_type: 'assistant', title: 'Assistant' });

        const summaries = (await conv.listConversationsAllChannels({ userId: user, limit: 100n })).conversations;
        const routine = summaries.find((s) => s.id === r1.id)!;
        assert.equal(routine.threadType, 'routine');
        assert.equal(routine.title, created.routine_name);
        assert.equal(routine.channel, 'routine');
        assert.equal(summaries.find((s) => s.id === h[0]!.id)!.threadType, 'heartbeat');
      });

      it('CreateConversationWithMetadata / GetConversationMetadata round-trip a nested Struct exactly', async () => {
        const user = `u-${randomUUID()}`;
        const { id } = await conv.createConversationWithMetadata({ channel: 'import', userId: user, metadata: NESTED as JsonObject });
        const got = await conv.getConversationMetadata({ id });
        assert.equal(got.found, true);
        assert.deepEqual(plain(got.metadata), NESTED);
        const missing = await conv.getConversationMetadata({ id: randomUUID() });
        assert.equal(missing.found, false);
        assert.equal(missing.metadata, undefined);
      });

      it('CreateConversationWithMetadata with a routine_id already used is ALREADY_EXISTS and adds nothing', async () => {
        const user = `u-${randomUUID()}`;
        const routineId = randomUUID();
        const first = await conv.getOrCreateRoutineConversation({ routineId, routineName: 'r', userId: user });
        await rejectsWith(conv.createConversationWithMetadata({ channel: 'import', userId: user, metadata: { routine_id: routineId, thread_type: 'routine' } }), ALREADY_EXISTS);
        const after = (await conv.listConversationsAllChannels({ userId: user, limit: 100n })).conversations;
        assert.deepEqual(after.map((c) => c.id), [first.id]);
        // Another user may use the same routine id.
        await conv.createConversationWithMetadata({ channel: 'import', userId: `${user}-2`, metadata: { routine_id: routineId } });
      });

      it('UpdateConversationMetadataField sets one key to exactly the value, null included', async () => {
        const { id } = await conv.createConversationWithMetadata({ channel: 'web', userId: `u-${randomUUID()}`, metadata: { keep: 1, obj: { a: 1, b: 2 } } });
        await conv.updateConversationMetadataField({ id, key: 'obj', value: jsonValue({ c: 3 }) });
        await conv.updateConversationMetadataField({ id, key: 'gone', value: nul() });
        await conv.updateConversationMetadataField({ id, key: 'list', value: jsonValue([1, [2], { x: null }]) });
        assert.deepEqual(plain((await conv.getConversationMetadata({ id })).metadata), { keep: 1, obj: { c: 3 }, gone: null, list: [1, [2], { x: null }] });
      });

      it('bad arguments are INVALID_ARGUMENT naming the field, and write nothing', async () => {
        const user = `u-${randomUUID()}`;
        await rejectsWith(conv.touchConversation({ id: 'not-a-uuid' }), INVALID_ARGUMENT, /\bid\b/);
        await rejectsWith(conv.getConversationMetadata({ id: '1234' }), INVALID_ARGUMENT, /\bid\b/);
        await rejectsWith(conv.addConversationMessage({ conversationId: 'nope', role: 'user', content: 'x' }), INVALID_ARGUMENT, /conversation_id/);
        await rejectsWith(conv.listConversationMessages({ conversationId: '' }), INVALID_ARGUMENT, /conversation_id/);
        await rejectsWith(conv.ensureConversation({ id: 'zz', channel: 'web', userId: user }), INVALID_ARGUMENT, /\bid\b/);
        await rejectsWith(conv.getOrCreateRoutineConversation({ routineId: 'r-1', routineName: 'x', userId: user }), INVALID_ARGUMENT, /routine_id/);
        await rejectsWith(conv.createConversationWithMetadata({ channel: 'web', userId: user, metadata: { routine_id: 'r-1' } }), INVALID_ARGUMENT, /routine_id/);

        await rejectsWith(conv.createConversation({ channel: 'web', userId: '' }), INVALID_ARGUMENT, /user_id/);
        await rejectsWith(conv.createConversation({ channel: '', userId: user }), INVALID_ARGUMENT, /channel/);
        await rejectsWith(conv.getOrCreateHeartbeatConversation({ userId: '' }), INVALID_ARGUMENT, /user_id/);
        await rejectsWith(conv.getOrCreateAssistantConversation({ userId: user, channel: '' }), INVALID_ARGUMENT, /channel/);

        await rejectsWith(conv.listConversationsAllChannels({ userId: user, limit: -1n }), INVALID_ARGUMENT, /limit/);
        await rejectsWith(conv.listConversationsWithPreview({ userId: user, channel: 'web', limit: -5n }), INVALID_ARGUMENT, /limit/);
        await rejectsWith(conv.listConversationsAllChannels({ userId: user, limit: 1_000_000n }), INVALID_ARGUMENT, /limit/);
        await rejectsWith(conv.listConversationsAllChannels({ userId: user, limit: 1n << 62n }), INVALID_ARGUMENT, /limit/);
        await rejectsWith(conv.listConversationsAllChannels({ userId: user, limit: -(1n << 63n) }), INVALID_ARGUMENT, /limit/);

        const { id } = await conv.createConversation({ channel: 'web', userId: user });
        await rejectsWith(conv.listConversationMessagesPaginated({ conversationId: id, limit: -1n }), INVALID_ARGUMENT, /limit/);
        await rejectsWith(conv.listConversationMessagesPaginated({ conversationId: id, limit: 10n, beforeCursor: { seq: 1n } }), INVALID_ARGUMENT, /before_cursor/);
        await rejectsWith(
          conv.listConversationMessagesPaginated({ conversationId: id, limit: 10n, before: { seconds: 1n, nanos: -1 } }),
          INVALID_ARGUMENT,
          /before/,
        );
        await rejectsWith(conv.updateConversationMetadataField({ id, key: 'k' }), INVALID_ARGUMENT, /value/);
        await rejectsWith(conv.updateConversationMetadataField({ id, key: 'k', value: num(Number.NaN) }), INVALID_ARGUMENT, /value/);
        await rejectsWith(conv.updateConversationMetadataField({ id, key: 'k', value: jsonValue({ a: [Number.POSITIVE_INFINITY] }) }), INVALID_ARGUMENT, /value/);
        await rejectsWith(conv.updateConversationMetadataField({ id, key: 'k', value: create(ValueSchema) }), INVALID_ARGUMENT, /value/);
        await rejectsWith(conv.createConversationWithMetadata({ channel: 'web', userId: user }), INVALID_ARGUMENT, /metadata/);

        // Only the one valid conversation exists for this user; its metadata is untouched.
        const left = (await conv.listConversationsAllChannels({ userId: user, limit: 100n })).conversations;
        assert.deepEqual(left.map((c) => c.id), [id]);
        assert.deepEqual(plain((await conv.getConversationMetadata({ id })).metadata), {});
      });
    });

    describe('SettingsStore', () => {
      it('GetSetting: found=false when absent, found=true with a null value when null is stored', async () => {
        const user = `u-${randomUUID()}`;
        const absent = await settings.getSetting({ userId: user, key: 'theme' });
        assert.equal(absent.found, false);
        assert.equal(absent.value, undefined);
        await settings.setSetting({ userId: user, key: 'theme', value: nul() });
        const isNull = await settings.getSetting({ userId: user, key: 'theme' });
        assert.equal(isNull.found, true);
        assert.equal(isNull.value?.kind.case, 'nullValue');
        await settings.setSetting({ userId: user, key: 'theme', value: jsonValue(NESTED) });
        assert.deepEqual(plain((await settings.getSetting({ userId: user, key: 'theme' })).value), NESTED);
      });

      it('GetSettingFull, ListSettings (binary key order), DeleteSetting, HasSettings', async () => {
        const user = `u-${randomUUID()}`;
        assert.equal((await settings.hasSettings({ userId: user })).hasSettings, false);
        assert.equal((await settings.getSettingFull({ userId: user, key: 'a' })).setting, undefined);
        for (const [key, val] of [['b', 2], ['B', 'upper'], ['_', null], ['a', [true]], ['é', { x: 1 }]] as const) {
          await settings.setSetting({ userId: user, key, value: jsonValue(val) });
        }
        assert.equal((await settings.hasSettings({ userId: user })).hasSettings, true);
        const full = (await settings.getSettingFull({ userId: user, key: 'a' })).setting;
        assert.ok(full);
        assert.equal(full.key, 'a');
        assert.deepEqual(plain(full.value), [true]);
        assertRecent(full.updatedAt, 'updated_at');

        const list = (await settings.listSettings({ userId: user })).settings;
        assert.deepEqual(
          list.map((s) => s.key),
          ['B', '_', 'a', 'b', 'é'],
        );
        assert.deepEqual(plain(list[1]!.value), null);
        for (const s of list) assertRecent(s.updatedAt, 'updated_at');

        assert.equal((await settings.deleteSetting({ userId: user, key: 'b' })).deleted, true);
        assert.equal((await settings.deleteSetting({ userId: user, key: 'b' })).deleted, false);
        assert.equal((await settings.getSetting({ userId: user, key: 'b' })).found, false);
        // Settings are per user.
        assert.equal((await settings.hasSettings({ userId: `${user}-other` })).hasSettings, false);
      });

      it('GetAllSettings / SetAllSettings: Struct round-trip; keys not given are left alone', async () => {
        const user = `u-${randomUUID()}`;
        assert.deepEqual((await settings.getAllSettings({ userId: user })).settings, {});
        await settings.setSetting({ userId: user, key: 'keep', value: str('me') });
        await settings.setAllSettings({ userId: user, settings: { a: 1, nested: NESTED as JsonObject, z: null } });
        await settings.setAllSettings({ userId: user, settings: { a: 2 } });
        assert.deepEqual((await settings.getAllSettings({ userId: user })).settings, { keep: 'me', a: 2, nested: NESTED, z: null });
        await settings.setAllSettings({ userId: user, settings: {} });
      });

      it('bad arguments are INVALID_ARGUMENT naming the field, and store nothing', async () => {
        const user = `u-${randomUUID()}`;
        await rejectsWith(settings.setSetting({ userId: '', key: 'k', value: num(1) }), INVALID_ARGUMENT, /user_id/);
        await rejectsWith(settings.setSetting({ userId: user, key: '', value: num(1) }), INVALID_ARGUMENT, /key/);
        await rejectsWith(settings.setSetting({ userId: user, key: 'k' }), INVALID_ARGUMENT, /value/);
        await rejectsWith(settings.setSetting({ userId: user, key: 'k', value: num(Number.NaN) }), INVALID_ARGUMENT, /value/);
        await rejectsWith(settings.setSetting({ userId: user, key: 'k', value: jsonValue({ deep: { deeper: [Number.NEGATIVE_INFINITY] } }) }), INVALID_ARGUMENT, /value/);
        await rejectsWith(settings.setSetting({ userId: user, key: 'k', value: jsonValue([create(ValueSchema)]) }), INVALID_ARGUMENT, /value/);
        await rejectsWith(settings.setAllSettings({ userId: user }), INVALID_ARGUMENT, /settings/);
        await rejectsWith(settings.setAllSettings({ userId: user, settings: { ok: 1, '': 2 } }), INVALID_ARGUMENT, /settings/);
        await rejectsWith(settings.setAllSettings({ userId: user, settings: { ok: 1, bad: Number.NaN } }), INVALID_ARGUMENT, /settings/);
        await rejectsWith(settings.getSetting({ userId: '', key: 'k' }), INVALID_ARGUMENT, /user_id/);
        await rejectsWith(settings.listSettings({ userId: '' }), INVALID_ARGUMENT, /user_id/);
        await rejectsWith(settings.hasSettings({ userId: '' }), INVALID_ARGUMENT, /user_id/);
        await rejectsWith(settings.getAllSettings({ userId: '' }), INVALID_ARGUMENT, /user_id/);
        await rejectsWith(settings.deleteSetting({ userId: user, key: '' }), INVALID_ARGUMENT, /key/);
        await rejectsWith(settings.getSettingFull({ userId: user, key: '' }), INVALID_ARGUMENT, /key/);
        assert.equal((await settings.hasSettings({ userId: user })).hasSettings, false, 'a failed batch leaves nothing behind');
      });
    });

    describe('ToolFailureStore', () => {
      it('RecordToolFailure → GetBrokenTools → IncrementRepairAttempts → MarkToolRepaired → broken again', async () => {
        const name = `tool-${randomUUID()}`;
        for (let i = 0; i < 3; i++) await tools.recordToolFailure({ toolName: name, errorMessage: `boom ${i}` });
        const broken = (await tools.getBrokenTools({ threshold: 3n })).tools.find((t) => t.name === name);
        assert.ok(broken, 'reported at the threshold (inclusive)');
        assert.equal(broken.failureCount, 3n);
        assert.equal(broken.lastError, 'boom 2');
        assert.equal(broken.repairAttempts, 0n);
        assert.equal(broken.lastBuildResult, undefined, 'never written: absent');
        const first = assertRecent(broken.firstFailure, 'first_failure');
        assert.ok(assertRecent(broken.lastFailure, 'last_failure') >= first);
        assert.equal((await tools.getBrokenTools({ threshold: 4n })).tools.find((t) => t.name === name), undefined);

        await tools.incrementRepairAttempts({ toolName: name });
        await tools.incrementRepairAttempts({ toolName: name });
        assert.equal((await tools.getBrokenTools({ threshold: 1n })).tools.find((t) => t.name === name)?.repairAttempts, 2n);

        await tools.markToolRepaired({ toolName: name });
        assert.equal((await tools.getBrokenTools({ threshold: 0n })).tools.find((t) => t.name === name), undefined, 'repaired: not broken');
        for (let i = 0; i < 3; i++) await tools.recordToolFailure({ toolName: name, errorMessage: 'again' });
        assert.ok((await tools.getBrokenTools({ threshold: 3n })).tools.find((t) => t.name === name), 'broken again after a repair');

        // Unknown tools: no-ops.
        await tools.markToolRepaired({ toolName: `ghost-${randomUUID()}` });
        await tools.incrementRepairAttempts({ toolName: `ghost-${randomUUID()}` });
      });

      it('bad arguments are INVALID_ARGUMENT naming the field', async () => {
        await rejectsWith(tools.recordToolFailure({ toolName: '', errorMessage: 'x' }), INVALID_ARGUMENT, /tool_name/);
        await rejectsWith(tools.getBrokenTools({ threshold: -1n }), INVALID_ARGUMENT, /threshold/);
        await rejectsWith(tools.getBrokenTools({ threshold: 1n << 60n }), INVALID_ARGUMENT, /threshold/);
        await rejectsWith(tools.markToolRepaired({ toolName: '' }), INVALID_ARGUMENT, /tool_name/);
        await rejectsWith(tools.incrementRepairAttempts({ toolName: '' }), INVALID_ARGUMENT, /tool_name/);
      });
    });

    describe('the wire', () => {
      it('undecodable request bytes are INVALID_ARGUMENT, never INTERNAL', async () => {
        const garbage = [
          Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff),
          Uint8Array.of(0x0a, 0x50, 0x41), // field 1, length 80, one byte present
          Uint8Array.of(0x0f), // field 1 with wire type 7
          Uint8Array.of(0x12, 0x02, 0xc3, 0x28), // field 2 as invalid UTF-8
        ];
        for (const path of ['/agentstore.v1.SettingsStore/SetSetting', '/agentstore.v1.ConversationStore/AddConversationMessage', '/agentstore.v1.ToolFailureStore/GetBrokenTools']) {
          // GetBrokenTools has no field 2: an unknown field there is legal.
          const bodies = path.endsWith('GetBrokenTools') ? garbage.slice(0, 3) : garbage;
          for (const body of bodies) await rejectsWith(rawCall(daemon.address, path, body), INVALID_ARGUMENT);
        }
        assert.equal((await settings.hasSettings({ userId: 'u' })).hasSettings, false);
      });

      it('hand-encoded valid bytes are accepted; an empty body is the default message', async () => {
        const user = `u-${randomUUID()}`;
        const body = toBinary(SetSettingRequestSchema, create(SetSettingRequestSchema, { userId: user, key: 'k', value: num(42) }));
        const res = await rawCall(daemon.address, '/agentstore.v1.SettingsStore/SetSetting', body);
        assert.equal(res.length, 0);
        assert.deepEqual(plain((await settings.getSetting({ userId: user, key: 'k' })).value), 42);
        // All defaults: a field is named (not a decode failure).
        await rejectsWith(rawCall(daemon.address, '/agentstore.v1.SettingsStore/SetSetting', new Uint8Array()), INVALID_ARGUMENT, /^(user_id|key|value):/);
        await rejectsWith(rawCall(daemon.address, '/agentstore.v1.SettingsStore/GetSetting', new Uint8Array()), INVALID_ARGUMENT, /^user_id:/);
      });

      it('unknown fields are ignored (an older daemon serves a newer client)', async () => {
        const body = new BinaryWriter().tag(1, WireType.LengthDelimited).string('u-unknown').tag(2, WireType.LengthDelimited).string('k').tag(99, WireType.Varint).int32(5).finish();
        assert.equal((await rawCall(daemon.address, '/agentstore.v1.SettingsStore/GetSetting', body)).length, 0, 'found=false, value absent: empty message');
      });

      it('a Value nested past the documented depth (32) is INVALID_ARGUMENT, even 5000 levels deep', async () => {
        for (const depth of [30, 40, 70, 5000]) {
          // Value{list_value{values: Value{…}}}, built inside out.
          let inner = new BinaryWriter().tag(1, WireType.Varint).int32(0).finish();
          for (let i = 0; i < depth; i++) {
            const list = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(inner).finish();
            inner = new BinaryWriter().tag(6, WireType.LengthDelimited).bytes(list).finish();
          }
          const body = new BinaryWriter().tag(1, WireType.LengthDelimited).string('u-deep').tag(2, WireType.LengthDelimited).string(`d${depth}`).tag(3, WireType.LengthDelimited).bytes(inner).finish();
          const call = rawCall(daemon.address, '/agentstore.v1.SettingsStore/SetSetting', body);
          if (depth === 30) await call;
          else await rejectsWith(call, INVALID_ARGUMENT);
        }
        assert.deepEqual((await settings.listSettings({ userId: 'u-deep' })).settings.map((x) => x.key), ['d30']);
      });

      it('NUL characters, out-of-range timestamps and oversize names are INVALID_ARGUMENT on every backend', async () => {
        const { id } = await conv.createConversation({ channel: 'web', userId: 'u-nul' });
        await rejectsWith(conv.addConversationMessage({ conversationId: id, role: 'user', content: 'a\u0000b' }), INVALID_ARGUMENT, /content/);
        await rejectsWith(conv.createConversation({ channel: 'web', userId: 'u\u0000' }), INVALID_ARGUMENT, /user_id/);
        await rejectsWith(settings.setSetting({ userId: 'u-nul', key: 'k', value: str('x\u0000') }), INVALID_ARGUMENT, /value/);
        await rejectsWith(conv.createConversationWithMetadata({ channel: 'web', userId: 'u-nul', metadata: { 'a\u0000': 1 } }), INVALID_ARGUMENT, /metadata/);
        await rejectsWith(conv.createConversationWithMetadata({ channel: 'web', userId: 'u-nul', metadata: { a: Number.NaN } }), INVALID_ARGUMENT, /metadata/);
        await rejectsWith(conv.listConversationMessagesPaginated({ conversationId: id, limit: 1n, before: { seconds: 10n ** 15n } }), INVALID_ARGUMENT, /before/);
        await rejectsWith(conv.listConversationMessagesPaginated({ conversationId: id, limit: 1n, before: { seconds: -(10n ** 12n) } }), INVALID_ARGUMENT, /before/);
        await rejectsWith(settings.getSetting({ userId: 'u'.repeat(513), key: 'k' }), INVALID_ARGUMENT, /user_id/);
        await rejectsWith(settings.setSetting({ userId: 'u-nul', key: 'k'.repeat(600), value: num(1) }), INVALID_ARGUMENT, /key/);
        assert.deepEqual((await conv.listConversationMessages({ conversationId: id })).messages, []);
        assert.equal((await settings.hasSettings({ userId: 'u-nul' })).hasSettings, false);
        assert.equal((await conv.listConversationsAllChannels({ userId: 'u-nul', limit: 10n })).conversations.length, 1);
      });

      it('an unknown method is UNIMPLEMENTED', async () => {
        await rejectsWith(rawCall(daemon.address, '/agentstore.v1.SettingsStore/NoSuchMethod', new Uint8Array()), UNIMPLEMENTED);
        await rejectsWith(rawCall(daemon.address, '/agentstore.v1.NoSuchStore/Get', new Uint8Array()), UNIMPLEMENTED);
      });

      it('timestamps survive the wire to the millisecond', async () => {
        const { id } = await conv.createConversation({ channel: 'web', userId: `u-${randomUUID()}` });
        await conv.addConversationMessage({ conversationId: id, role: 'user', content: 'a' });
        const [m] = (await conv.listConversationMessages({ conversationId: id })).messages;
        const again = await conv.listConversationMessagesPaginated({ conversationId: id, limit: 10n, before: timestampFromDate(new Date(timestampDate(m!.createdAt!).getTime() + 1)) });
        assert.deepEqual(again.messages.map((x) => x.id), [m!.id]);
      });
    });
  });
}
