// ConversationStore on libSQL. Twin: src/backends/postgres/conversations.ts.
import { randomUUID } from 'node:crypto';
import { now } from '../../store/clock.js';
import type { ConversationMessage, ConversationStore, ConversationSummary } from '../../store/conversations.js';
import type { JsonObject } from '../../store/types.js';
import { conversationMissing, singletonConflict } from '../conversation-errors.js';
import { readJson, readTs, ts } from './codec.js';
import type { Conn, LibsqlPool } from './pool.js';

const SUMMARY_COLUMNS = `
  c.id, c.channel, c.started_at, c.last_activity,
  CASE WHEN json_type(c.metadata, '$.thread_type') = 'text' THEN json_extract(c.metadata, '$.thread_type') END AS thread_type,
  (SELECT count(*) FROM conversation_messages m WHERE m.conversation_id = c.id AND m.role = 'user') AS message_count,
  COALESCE(
    (SELECT substr(m.content, 1, 100) FROM conversation_messages m
      WHERE m.conversation_id = c.id AND m.role = 'user' ORDER BY m.created_at, m.seq LIMIT 1),
    CASE WHEN json_type(c.metadata, '$.routine_name') = 'text' THEN json_extract(c.metadata, '$.routine_name') END
  ) AS title`;

interface SummaryRow {
  id: string;
  channel: string;
  started_at: string;
  last_activity: string;
  thread_type: string | null;
  message_count: number;
  title: string | null;
}

interface MessageRow {
  id: string;
  role: string;
  content: string;
  created_at: string;
  seq: number;
}

const toSummary = (r: SummaryRow): ConversationSummary => ({
  id: r.id,
  title: r.title,
  messageCount: r.message_count,
  startedAt: readTs('started_at', r.started_at),
  lastActivity: readTs('last_activity', r.last_activity),
  threadType: r.thread_type,
  channel: r.channel,
});

const toMessage = (r: MessageRow): ConversationMessage => ({
  id: r.id,
  role: r.role,
  content: r.content,
  createdAt: readTs('created_at', r.created_at),
  seq: r.seq,
});

const INSERT_CONVERSATION =
  'INSERT INTO conversations (id, channel, user_id, thread_id, started_at, last_activity, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)';

function insertConversation(c: Conn, channel: string, userId: string, threadId: string | null, metadata: string): string {
  const id = randomUUID();
  const t = ts(now());
  c.run(INSERT_CONVERSATION, [id, channel, userId, threadId, t, t, metadata]);
  return id;
}

/**
 * Returns the one conversation matched by `find`, creating it with `create`
 * when there is none. The lookup runs first without the write lock (the
 * common case: it exists); the create path re-checks inside the write
 * transaction, and a unique index backs it up across processes.
 */
async function getOrCreate(pool: LibsqlPool, find: (c: Conn) => string | undefined, create: (c: Conn) => string): Promise<string> {
  const found = await pool.read(find);
  if (found) return found;
  return pool.write((c) => find(c) ?? create(c));
}

/**
 * Only messages of a conversation of the owner pass (every one when the owner
 * is null). ?1 is the statement's first parameter, the conversation id: the
 * subquery is not correlated, so SQLite runs it once, not once per message.
 */
const OWNED_MESSAGES = 'EXISTS (SELECT 1 FROM conversations c WHERE c.id = ?1 AND c.user_id = COALESCE(?, c.user_id))';

/** `owner`: id-keyed methods see only that user's conversations (null: everyone's). */
export function libsqlConversations(pool: LibsqlPool, owner: string | null): ConversationStore {
  return {
    createConversation: (channel, userId, threadId) => pool.write((c) => insertConversation(c, channel, userId, threadId ?? null, '{}')),

    async touchConversation(id) {
      // last_activity never moves back (another process's clock may lag), so
      // a later message is never timed before an earlier one.
      await pool.write((c) =>
        c.run('UPDATE conversations SET last_activity = max(last_activity, ?) WHERE id = ? AND user_id = COALESCE(?, user_id)', [ts(now()), id, owner]),
      );
    },

    addConversationMessage: (conversationId, role, content) =>
      // Touch first: created_at is never earlier than the conversation's last
      // activity, so (created_at, seq) order is seq order even if another
      // process's clock wrote a later time. An unknown conversation has no row.
      pool.write((c) => {
        const touched = c.get<{ last_activity: string }>(
          'UPDATE conversations SET last_activity = max(last_activity, ?) WHERE id = ? AND user_id = COALESCE(?, user_id) RETURNING last_activity',
          [ts(now()), conversationId, owner],
        );
        if (!touched) throw conversationMissing(conversationId);
        const id = randomUUID();
        c.run('INSERT INTO conversation_messages (id, conversation_id, role, content, created_at) VALUES (?, ?, ?, ?, ?)', [
          id,
          conversationId,
          role,
          content,
          touched.last_activity,
        ]);
        return id;
      }),

    ensureConversation: (id, channel, userId, threadId) =>
      pool.write((c) => {
        const t = ts(now());
        const r = c.run(
          `INSERT INTO conversations (id, channel, user_id, thread_id, started_at, last_activity, metadata)
           VALUES (?, ?, ?, ?, ?, ?, '{}')
           ON CONFLICT (id) DO UPDATE SET last_activity = max(conversations.last_activity, excluded.last_activity)
           WHERE conversations.user_id = excluded.user_id AND conversations.channel = excluded.channel`,
          [id, channel, userId, threadId ?? null, t, t],
        );
        return r.changes > 0;
      }),

    listConversationsWithPreview: (userId, channel, limit) =>
      pool.read((c) =>
        c
          .all<SummaryRow>(
            `SELECT ${SUMMARY_COLUMNS} FROM conversations c WHERE c.user_id = ? AND c.channel = ?
             ORDER BY c.last_activity DESC, c.seq DESC LIMIT ?`,
            [userId, channel, limit],
          )
          .map(toSummary),
      ),

    listConversationsAllChannels: (userId, limit) =>
      pool.read((c) =>
        c
          .all<SummaryRow>(
            `SELECT ${SUMMARY_COLUMNS} FROM conversations c WHERE c.user_id = ?
             ORDER BY c.last_activity DESC, c.seq DESC LIMIT ?`,
            [userId, limit],
          )
          .map(toSummary),
      ),

    getOrCreateRoutineConversation: (routineId, routineName, userId) =>
      getOrCreate(
        pool,
        (c) =>
          c.get<{ id: string }>("SELECT id FROM conversations WHERE user_id = ? AND json_extract(metadata, '$.routine_id') = ?", [
            userId,
            routineId,
          ])?.id,
        (c) =>
          insertConversation(
            c,
            'routine',
            userId,
            null,
            JSON.stringify({ thread_type: 'routine', routine_id: routineId, routine_name: routineName }),
          ),
      ),

    getOrCreateHeartbeatConversation: (userId) =>
      getOrCreate(
        pool,
        (c) => c.get<{ id: string }>("SELECT id FROM conversations WHERE user_id = ? AND json_extract(metadata, '$.thread_type') = 'heartbeat'", [userId])?.id,
        (c) => insertConversation(c, 'heartbeat', userId, null, '{"thread_type":"heartbeat"}'),
      ),

    getOrCreateAssistantConversation: (userId, channel) =>
      getOrCreate(
        pool,
        (c) =>
          c.get<{ id: string }>(
            "SELECT id FROM conversations WHERE user_id = ? AND channel = ? AND json_extract(metadata, '$.thread_type') = 'assistant'",
            [userId, channel],
          )?.id,
        (c) => insertConversation(c, channel, userId, null, '{"thread_type":"assistant","title":"Assistant"}'),
      ),

    createConversationWithMetadata: (channel, userId, metadata) =>
      pool.write((c) => insertConversation(c, channel, userId, null, JSON.stringify(metadata))).catch(singletonConflict),

    listConversationMessagesPaginated: (conversationId, before, limit) =>
      pool.read((c) => {
        let rows: MessageRow[];
        const cols = `SELECT id, role, content, created_at, seq FROM conversation_messages WHERE conversation_id = ? AND ${OWNED_MESSAGES}`;
        const order = 'ORDER BY created_at DESC, seq DESC LIMIT ?';
        if (!before) rows = c.all<MessageRow>(`${cols} ${order}`, [conversationId, owner, limit + 1]);
        else if (before.seq === null || before.seq === undefined)
          rows = c.all<MessageRow>(`${cols} AND created_at < ? ${order}`, [conversationId, owner, ts(before.createdAt), limit + 1]);
        else
          rows = c.all<MessageRow>(`${cols} AND (created_at, seq) < (?, ?) ${order}`, [
            conversationId,
            owner,
            ts(before.createdAt),
            before.seq,
            limit + 1,
          ]);
        const hasMore = rows.length > limit;
        return { messages: rows.slice(0, limit).reverse().map(toMessage), hasMore };
      }),

    async updateConversationMetadataField(id, key, value) {
      // Read-modify-write inside the write transaction: the key is set to
      // exactly `value` (null stored as null), with no JSON-path parsing of the key.
      await pool
        .write((c) => {
          const row = c.get<{ metadata: string }>('SELECT metadata FROM conversations WHERE id = ? AND user_id = COALESCE(?, user_id)', [id, owner]);
          if (!row) return;
          const current = readJson('metadata', row.metadata);
          const next: JsonObject = current !== null && typeof current === 'object' && !Array.isArray(current) ? current : {};
          // defineProperty, not assignment: a key such as "__proto__" must
          // become a plain key, not the object's prototype.
          Object.defineProperty(next, key, { value, enumerable: true, writable: true, configurable: true });
          c.run('UPDATE conversations SET metadata = ? WHERE id = ?', [JSON.stringify(next), id]);
        })
        .catch(singletonConflict);
    },

    getConversationMetadata: (id) =>
      pool.read((c) => {
        const row = c.get<{ metadata: string }>('SELECT metadata FROM conversations WHERE id = ? AND user_id = COALESCE(?, user_id)', [id, owner]);
        return row ? readJson('metadata', row.metadata) : undefined;
      }),

    listConversationMessages: (conversationId) =>
      pool.read((c) =>
        c
          .all<MessageRow>(
            `SELECT id, role, content, created_at, seq FROM conversation_messages WHERE conversation_id = ? AND ${OWNED_MESSAGES} ORDER BY created_at, seq`,
            [conversationId, owner],
          )
          .map(toMessage),
      ),

    conversationBelongsToUser: (conversationId, userId) =>
      pool.read((c) => c.get('SELECT 1 AS x FROM conversations WHERE id = ? AND user_id = ?', [conversationId, userId]) !== undefined),
  };
}
