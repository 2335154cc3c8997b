// ConversationStore over gRPC: decode → store → encode.
import { ConversationStore } from '../../gen/agentstore/v1/conversations_pb.js';
import type { ConversationMessage, ConversationSummary } from '../../store/conversations.js';
import type { ServiceImpl } from '../bridge.js';
import type { StoresFor } from '../stores.js';
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

export const conversationService = (stores: StoresFor): ServiceImpl<typeof ConversationStore.method> => {
  return {
    createConversation: async (r, ctx) => ({ id: await stores(ctx).createConversation(r.channel, r.userId, r.threadId ?? null) }),
    touchConversation: async (r, ctx) => {
      await stores(ctx).touchConversation(r.id);
      return {};
    },
    addConversationMessage: async (r, ctx) => ({ id: await stores(ctx).addConversationMessage(r.conversationId, r.role, r.content) }),
    ensureConversation: async (r, ctx) => ({ ok: await stores(ctx).ensureConversation(r.id, r.channel, r.userId, r.threadId ?? null) }),
    listConversationsWithPreview: async (r, ctx) => ({
      conversations: (await stores(ctx).listConversationsWithPreview(r.userId, r.channel, int('limit', r.limit))).map(summary),
    }),
    listConversationsAllChannels: async (r, ctx) => ({
      conversations: (await stores(ctx).listConversationsAllChannels(r.userId, int('limit', r.limit))).map(summary),
    }),
    getOrCreateRoutineConversation: async (r, ctx) => ({ id: await stores(ctx).getOrCreateRoutineConversation(r.routineId, r.routineName, r.userId) }),
    getOrCreateHeartbeatConversation: async (r, ctx) => ({ id: await stores(ctx).getOrCreateHeartbeatConversation(r.userId) }),
    getOrCreateAssistantConversation: async (r, ctx) => ({ id: await stores(ctx).getOrCreateAssistantConversation(r.userId, r.channel) }),
    createConversationWithMetadata: async (r, ctx) => ({
      id: await stores(ctx).createConversationWithMetadata(r.channel, r.userId, requiredObject('metadata', r.metadata)),
    }),
    listConversationMessagesPaginated: async (r, ctx) => {
      const cursor = r.beforeCursor
        ? { createdAt: requiredDate('before_cursor.created_at', r.beforeCursor.createdAt), seq: int('before_cursor.seq', r.beforeCursor.seq) }
        : r.before
          ? { createdAt: dateFromTimestamp('before', r.before), seq: null }
          : null;
      const page = await stores(ctx).listConversationMessagesPaginated(r.conversationId, cursor, int('limit', r.limit));
      const oldest = page.messages[0];
      return {
        messages: page.messages.map(message),
        hasMore: page.hasMore,
        nextCursor: oldest ? { createdAt: ts(oldest.createdAt), seq: BigInt(oldest.seq) } : undefined,
      };
    },
    updateConversationMetadataField: async (r, ctx) => {
      await stores(ctx).updateConversationMetadataField(r.id, r.key, jsonFromValue('value', r.value));
      return {};
    },
    getConversationMetadata: async (r, ctx) => {
      const m = await stores(ctx).getConversationMetadata(r.id);
      return m === undefined ? { found: false } : { found: true, metadata: valueFromJson(m) };
    },
    listConversationMessages: async (r, ctx) => ({ messages: (await stores(ctx).listConversationMessages(r.conversationId)).map(message) }),
    conversationBelongsToUser: async (r, ctx) => ({ belongs: await stores(ctx).conversationBelongsToUser(r.conversationId, r.userId) }),
  };
};
