// ConversationStore on PostgreSQL. Twin: src/backends/libsql/conversations.ts.
import { randomUUID } from 'node:crypto';
import { now } from '../../store/clock.js';
import type { ConversationMessage, ConversationStore, ConversationSummary } from '../../store/conversations.js';
import type { JsonValue } from '../../store/types.js';
import { conversationMissing, singletonConflict } from '../conversation-errors.js';
import { sql, type PgPool, type Queryable } from './pool.js';

const SUMMARY_COLUMNS = `
  c.id, c.channel, c.started_at, c.last_activity,
  CASE WHEN jsonb_typeof(c.metadata -> 'thread_type') = 'string' THEN c.metadata ->> 'thread_type' END AS thread_type,
  (SELECT count(*) FROM conversation_messages m WHERE m.conversation_id = c.id AND m.role = 'user') AS message_count,
  COALESCE(
    (SELECT left(m.content, 100) FROM conversation_messages m
      WHERE m.conversation_id = c.id AND m.role = 'user' ORDER BY m.created_at, m.seq LIMIT 1),
    CASE WHEN jsonb_typeof(c.metadata -> 'routine_name') = 'string' THEN c.metadata ->> 'routine_name' END
  ) AS title`;

const LIST_BY_CHANNEL = sql(`SELECT ${SUMMARY_COLUMNS} FROM conversations c WHERE c.user_id = $1 AND c.channel = $2
  ORDER BY c.last_activity DESC, c.seq DESC LIMIT $3`);
const LIST_ALL = sql(`SELECT ${SUMMARY_COLUMNS} FROM conversations c WHERE c.user_id = $1
  ORDER BY c.last_activity DESC, c.seq DESC LIMIT $2`);
const INSERT_CONVERSATION = sql(`INSERT INTO conversations (id, channel, user_id, thread_id, started_at, last_activity, metadata)
  VALUES ($1, $2, $3, $4, $5, $5, $6::jsonb)`);
// last_activity never moves back (another daemon's clock may lag), so a
// later message is never timed before an earlier one.
const TOUCH = sql('UPDATE conversations SET last_activity = GREATEST(last_activity, $2) WHERE id = $1 AND user_id = COALESCE($3, user_id)');
// One statement, so the message and the touch are atomic without a
// transaction round trip. Touching first takes the conversation's row lock,
// so concurrent adds to one conversation take their seq in lock order, and
// created_at is never earlier than the previous message's: the list order
// (created_at, seq) is then also seq order, whatever order the daemon's clock
// readings reached the server in. An unknown conversation inserts nothing.
const ADD_MESSAGE = sql(`WITH c AS (
    UPDATE conversations SET last_activity = GREATEST(last_activity, $5) WHERE id = $2 AND user_id = COALESCE($6, user_id)
    RETURNING last_activity
  )
  INSERT INTO conversation_messages (id, conversation_id, role, content, created_at)
  SELECT $1, $2, $3, $4, last_activity FROM c`);
const ENSURE = sql(`INSERT INTO conversations (id, channel, user_id, thread_id, started_at, last_activity, metadata)
  VALUES ($1, $2, $3, $4, $5, $5, '{}'::jsonb)
  ON CONFLICT (id) DO UPDATE SET last_activity = GREATEST(conversations.last_activity, EXCLUDED.last_activity)
  WHERE conversations.user_id = EXCLUDED.user_id AND conversations.channel = EXCLUDED.channel`);
const FIND_ROUTINE = sql("SELECT id FROM conversations WHERE user_id = $1 AND metadata ->> 'routine_id' = $2");
const FIND_HEARTBEAT = sql("SELECT id FROM conversations WHERE user_id = $1 AND metadata ->> 'thread_type' = 'heartbeat'");
const FIND_ASSISTANT = sql("SELECT id FROM conversations WHERE user_id = $1 AND channel = $2 AND metadata ->> 'thread_type' = 'assistant'");
const INSERT_SINGLETON = sql(`INSERT INTO conversations (id, channel, user_id, thread_id, started_at, last_activity, metadata)
  VALUES ($1, $2, $3, NULL, $4, $4, $5::jsonb) ON CONFLICT DO NOTHING`);
// $2 is the owner: only the owner's conversation passes (every one when it is
// null). With no owner the OR stops before the EXISTS, so a service caller's
// page pays for no lookup of the conversation.
const MESSAGE_COLUMNS = `SELECT id, role, content, created_at, seq FROM conversation_messages WHERE conversation_id = $1
  AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM conversations c WHERE c.id = $1 AND c.user_id = $2))`;
const PAGE_FIRST = sql(`${MESSAGE_COLUMNS} ORDER BY created_at DESC, seq DESC LIMIT $3`);
const PAGE_BEFORE_TIME = sql(`${MESSAGE_COLUMNS} AND created_at < $3 ORDER BY created_at DESC, seq DESC LIMIT $4`);
const PAGE_BEFORE_CURSOR = sql(`${MESSAGE_COLUMNS} AND (created_at, seq) < ($3, $4) ORDER BY created_at DESC, seq DESC LIMIT $5`);
const LIST_MESSAGES = sql(`${MESSAGE_COLUMNS} ORDER BY created_at, seq`);
const SET_METADATA_FIELD = sql(
  'UPDATE conversations SET metadata = metadata || jsonb_build_object($2::text, $3::jsonb) WHERE id = $1 AND user_id = COALESCE($4, user_id)',
);
const GET_METADATA = sql('SELECT metadata FROM conversations WHERE id = $1 AND user_id = COALESCE($2, user_id)');
const BELONGS = sql('SELECT 1 AS x FROM conversations WHERE id = $1 AND user_id = $2');

interface SummaryRow {
  id: string;
  channel: string;
  started_at: Date;
  last_activity: Date;
  thread_type: string | null;
  message_count: number;
  title: string | null;
}

interface MessageRow {
  id: string;
  role: string;
  content: string;
  created_at: Date;
  seq: number;
}

const toSummary = (r: SummaryRow): ConversationSummary => ({
  id: r.id,
  title: r.title,
  messageCount: r.message_count,
  startedAt: r.started_at,
  lastActivity: r.last_activity,
  threadType: r.thread_type,
  channel: r.channel,
});

const toMessage = (r: MessageRow): ConversationMessage => ({ id: r.id, role: r.role, content: r.content, createdAt: r.created_at, seq: r.seq });

async function insertConversation(q: Queryable, channel: string, userId: string, threadId: string | null, metadata: string): Promise<string> {
  const id = randomUUID();
  await q.exec(INSERT_CONVERSATION, [id, channel, userId, threadId, now().toISOString(), metadata]);
  return id;
}

/**
 * Returns the one conversation matched by `find`, creating it when missing:
 * insert-do-nothing against the partial unique index, then look again, so
 * concurrent first calls converge on one row.
 */
async function getOrCreate(pool: PgPool, find: () => Promise<{ id: string } | undefined>, channel: string, userId: string, metadata: string): Promise<string> {
  const found = await find();
  if (found) return found.id;
  await pool.exec(INSERT_SINGLETON, [randomUUID(), channel, userId, now().toISOString(), metadata]);
  const after = await find();
  if (!after) throw new Error('singleton conversation vanished after insert');
  return after.id;
}

/** `owner`: id-keyed methods see only that user's conversations (null: everyone's). */
export function pgConversations(pool: PgPool, owner: string | null): ConversationStore {
  return {
    createConversation: (channel, userId, threadId) => insertConversation(pool, channel, userId, threadId ?? null, '{}'),

    async touchConversation(id) {
      await pool.exec(TOUCH, [id, now().toISOString(), owner]);
    },

    async addConversationMessage(conversationId, role, content) {
      const id = randomUUID();
      const inserted = await pool.exec(ADD_MESSAGE, [id, conversationId, role, content, now().toISOString(), owner]);
      if (inserted === 0) throw conversationMissing(conversationId);
      return id;
    },

    async ensureConversation(id, channel, userId, threadId) {
      return (await pool.exec(ENSURE, [id, channel, userId, threadId ?? null, now().toISOString()])) > 0;
    },

    listConversationsWithPreview: async (userId, channel, limit) => (await pool.rows<SummaryRow>(LIST_BY_CHANNEL, [userId, channel, limit])).map(toSummary),

    listConversationsAllChannels: async (userId, limit) => (await pool.rows<SummaryRow>(LIST_ALL, [userId, limit])).map(toSummary),

    getOrCreateRoutineConversation: (routineId, routineName, userId) =>
      getOrCreate(
        pool,
        () => pool.one<{ id: string }>(FIND_ROUTINE, [userId, routineId]),
        'routine',
        userId,
        JSON.stringify({ thread_type: 'routine', routine_id: routineId, routine_name: routineName }),
      ),

    getOrCreateHeartbeatConversation: (userId) =>
      getOrCreate(pool, () => pool.one<{ id: string }>(FIND_HEARTBEAT, [userId]), 'heartbeat', userId, '{"thread_type":"heartbeat"}'),

    getOrCreateAssistantConversation: (userId, channel) =>
      getOrCreate(
        pool,
        () => pool.one<{ id: string }>(FIND_ASSISTANT, [userId, channel]),
        channel,
        userId,
        '{"thread_type":"assistant","title":"Assistant"}',
      ),

    createConversationWithMetadata: (channel, userId, metadata) =>
      insertConversation(pool, channel, userId, null, JSON.stringify(metadata)).catch(singletonConflict),

    async listConversationMessagesPaginated(conversationId, before, limit) {
      let rows: MessageRow[];
      if (!before) rows = await pool.rows<MessageRow>(PAGE_FIRST, [conversationId, owner, limit + 1]);
      else if (before.seq === null || before.seq === undefined)
        rows = await pool.rows<MessageRow>(PAGE_BEFORE_TIME, [conversationId, owner, before.createdAt.toISOString(), limit + 1]);
      else rows = await pool.rows<MessageRow>(PAGE_BEFORE_CURSOR, [conversationId, owner, before.createdAt.toISOString(), before.seq, limit + 1]);
      const hasMore = rows.length > limit;
      return { messages: rows.slice(0, limit).reverse().map(toMessage), hasMore };
    },

    async updateConversationMetadataField(id, key, value) {
      await pool.exec(SET_METADATA_FIELD, [id, key, JSON.stringify(value), owner]).catch(singletonConflict);
    },

    getConversationMetadata: async (id) => (await pool.one<{ metadata: JsonValue }>(GET_METADATA, [id, owner]))?.metadata,

    listConversationMessages: async (conversationId) => (await pool.rows<MessageRow>(LIST_MESSAGES, [conversationId, owner])).map(toMessage),

    conversationBelongsToUser: async (conversationId, userId) => (await pool.one(BELONGS, [conversationId, userId])) !== undefined,
  };
}
