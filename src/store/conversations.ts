// ConversationStore: conversations (threads on a channel) and their messages.
// Semantics: shared/spec/STORES.md §2.1, with the "→ agentstore" choices
// (PG metadata semantics, insertion-order tie-breaks, composite cursor,
// unique assistant thread) applied on both backends.
import type { JsonObject, JsonValue, Uuid } from './types.js';
import type { ArgChecks } from './checks.js';
import * as v from './validate.js';

export interface ConversationSummary {
  id: Uuid;
  title: string | null;
  messageCount: number;
  startedAt: Date;
  lastActivity: Date;
  threadType: string | null;
  channel: string;
}

export interface ConversationMessage {
  id: Uuid;
  role: string;
  content: string;
  createdAt: Date;
  /** Insertion sequence; orders messages that share a millisecond. */
  seq: number;
}

/**
 * Where a backwards page starts. With `seq` the cursor is exact: only
 * messages strictly older than (createdAt, seq). Without it, the reference
 * rule: only messages created strictly before `createdAt`.
 */
export interface MessageCursor {
  createdAt: Date;
  seq?: number | null;
}

export interface MessagePage {
  messages: ConversationMessage[];
  hasMore: boolean;
}

export interface ConversationStore {
  createConversation(channel: string, userId: string, threadId?: string | null): Promise<Uuid>;
  touchConversation(id: Uuid): Promise<void>;
  addConversationMessage(conversationId: Uuid, role: string, content: string): Promise<Uuid>;
  ensureConversation(id: Uuid, channel: string, userId: string, threadId?: string | null): Promise<boolean>;
  listConversationsWithPreview(userId: string, channel: string, limit: number): Promise<ConversationSummary[]>;
  listConversationsAllChannels(userId: string, limit: number): Promise<ConversationSummary[]>;
  getOrCreateRoutineConversation(routineId: Uuid, routineName: string, userId: string): Promise<Uuid>;
  getOrCreateHeartbeatConversation(userId: string): Promise<Uuid>;
  getOrCreateAssistantConversation(userId: string, channel: string): Promise<Uuid>;
  createConversationWithMetadata(channel: string, userId: string, metadata: JsonObject): Promise<Uuid>;
  listConversationMessagesPaginated(conversationId: Uuid, before: MessageCursor | null, limit: number): Promise<MessagePage>;
  updateConversationMetadataField(id: Uuid, key: string, value: JsonValue): Promise<void>;
  /** undefined when the conversation does not exist. */
  getConversationMetadata(id: Uuid): Promise<JsonValue | undefined>;
  listConversationMessages(conversationId: Uuid): Promise<ConversationMessage[]>;
  conversationBelongsToUser(conversationId: Uuid, userId: string): Promise<boolean>;
}

/**
 * metadata.routine_id feeds a unique index keyed by its text, and
 * getOrCreateRoutineConversation looks it up lowercase: a value there must be
 * a UUID (stored lowercase) or null, however it is written.
 */
const routineIdValue = (field: string, id: JsonValue): JsonValue => (id === null ? null : v.uuid(field, id));

export const conversationChecks: ArgChecks<ConversationStore> = {
  createConversation: (channel, userId, threadId) => [v.name('channel', channel), v.name('user_id', userId), v.optName('thread_id', threadId)],
  touchConversation: (id) => [v.uuid('id', id)],
  addConversationMessage: (conversationId, role, content) => [
    v.uuid('conversation_id', conversationId),
    v.name('role', role),
    v.text('content', content),
  ],
  ensureConversation: (id, channel, userId, threadId) => [
    v.uuid('id', id),
    v.name('channel', channel),
    v.name('user_id', userId),
    v.optName('thread_id', threadId),
  ],
  listConversationsWithPreview: (userId, channel, limit) => [v.name('user_id', userId), v.name('channel', channel), v.limit('limit', limit)],
  listConversationsAllChannels: (userId, limit) => [v.name('user_id', userId), v.limit('limit', limit)],
  getOrCreateRoutineConversation: (routineId, routineName, userId) => [
    v.uuid('routine_id', routineId),
    v.text('routine_name', routineName, 4096),
    v.name('user_id', userId),
  ],
  getOrCreateHeartbeatConversation: (userId) => [v.name('user_id', userId)],
  getOrCreateAssistantConversation: (userId, channel) => [v.name('user_id', userId), v.name('channel', channel)],
  createConversationWithMetadata: (channel, userId, metadata) => {
    v.jsonObject('metadata', metadata);
    const routineId = metadata.routine_id;
    return [v.name('channel', channel), v.name('user_id', userId), routineId === undefined ? metadata : { ...metadata, routine_id: routineIdValue('metadata.routine_id', routineId) }];
  },
  listConversationMessagesPaginated: (conversationId, before, limit) => [
    v.uuid('conversation_id', conversationId),
    before === null || before === undefined
      ? null
      : {
          createdAt: v.timestamp('before', before.createdAt),
          seq: before.seq === null || before.seq === undefined ? null : v.nonNegativeInt('before_cursor.seq', before.seq, Number.MAX_SAFE_INTEGER),
        },
    v.limit('limit', limit),
  ],
  updateConversationMetadataField: (id, key, value) => {
    v.json('value', value);
    return [v.uuid('id', id), v.name('key', key), key === 'routine_id' ? routineIdValue('value', value) : value];
  },
  getConversationMetadata: (id) => [v.uuid('id', id)],
  listConversationMessages: (conversationId) => [v.uuid('conversation_id', conversationId)],
  conversationBelongsToUser: (conversationId, userId) => [v.uuid('conversation_id', conversationId), v.name('user_id', userId)],
};
