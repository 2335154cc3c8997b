// ConversationStore over gRPC: decode → store → encode.
import { ConversationStore } from '../../gen/agentstore/v1/conversations_pb.js';
import type { ConversationMessage, ConversationSummary } from '../../store/conversations.js';
import type { Database } from '../../store/database.js';
import type { ServiceImpl } from '../bridge.js';
import { dateFromTimestamp, int, jsonFromValue, requiredDate, requiredObject, ts, valueFromJson } from '../convert.js';

const summary = (s: ConversationSummary) => ({
  id: s.id,
  title: s.title ?? undefined,
  messageCount: BigInt(s.messageCount),
  startedAt: ts(s.startedAt),
  lastActivity: ts(s.lastActivity),
  threadType: s.threadType ?? undefined,
  channel: s.channel,
});

const message = (m: ConversationMessage) => ({ id: m.id, role: m.role, content: m.content, createdAt: ts(m.createdAt), seq: BigInt(m.seq) });

export const conversationService = (db: Database): ServiceImpl<typeof ConversationStore.method> => ({
  createConversation: async (r) => ({ id: await db.createConversation(r.channel, r.userId, r.threadId ?? null) }),
  touchConversation: async (r) => {
    await db.touchConversation(r.id);
    return {};
  },
  addConversationMessage: async (r) => ({ id: await db.addConversationMessage(r.conversationId, r.role, r.content) }),
  ensureConversation: async (r) => ({ ok: await db.ensureConversation(r.id, r.channel, r.userId, r.threadId ?? null) }),
  listConversationsWithPreview: async (r) => ({
    conversations: (await db.listConversationsWithPreview(r.userId, r.channel, int('limit', r.limit))).map(summary),
  }),
  listConversationsAllChannels: async (r) => ({
    conversations: (await db.listConversationsAllChannels(r.userId, int('limit', r.limit))).map(summary),
  }),
  getOrCreateRoutineConversation: async (r) => ({ id: await db.getOrCreateRoutineConversation(r.routineId, r.routineName, r.userId) }),
  getOrCreateHeartbeatConversation: async (r) => ({ id: await db.getOrCreateHeartbeatConversation(r.userId) }),
  getOrCreateAssistantConversation: async (r) => ({ id: await db.getOrCreateAssistantConversation(r.userId, r.channel) }),
  createConversationWithMetadata: async (r) => ({
    id: await db.createConversationWithMetadata(r.channel, r.userId, requiredObject('metadata', r.metadata)),
  }),
  listConversationMessagesPaginated: async (r) => {
    const cursor = r.beforeCursor
      ? { createdAt: requiredDate('before_cursor.created_at', r.beforeCursor.createdAt), seq: int('before_cursor.seq', r.beforeCursor.seq) }
      : r.before
        ? { createdAt: dateFromTimestamp('before', r.before), seq: null }
        : null;
    const page = await db.listConversationMessagesPaginated(r.conversationId, cursor, int('limit', r.limit));
    const oldest = page.messages[0];
    return {
      messages: page.messages.map(message),
      hasMore: page.hasMore,
      nextCursor: oldest ? { createdAt: ts(oldest.createdAt), seq: BigInt(oldest.seq) } : undefined,
    };
  },
  updateConversationMetadataField: async (r) => {
    await db.updateConversationMetadataField(r.id, r.key, jsonFromValue('value', r.value));
    return {};
  },
  getConversationMetadata: async (r) => {
    const m = await db.getConversationMetadata(r.id);
    return m === undefined ? { found: false } : { found: true, metadata: valueFromJson(m) };
  },
  listConversationMessages: async (r) => ({ messages: (await db.listConversationMessages(r.conversationId)).map(message) }),
  conversationBelongsToUser: async (r) => ({ belongs: await db.conversationBelongsToUser(r.conversationId, r.userId) }),
});
