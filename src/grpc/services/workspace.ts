// WorkspaceStore over gRPC: decode → store → encode. Absent SearchConfig
// fields take the spec's defaults (DEFAULT_SEARCH_CONFIG).
import { FusionStrategy, WorkspaceStore, type SearchConfig as WireSearchConfig } from '../../gen/agentstore/v1/workspace_pb.js';
import { invalidArgument } from '../../store/errors.js';
import { DEFAULT_SEARCH_CONFIG, type MemoryChunk, type MemoryDocument, type SearchConfig, type SearchResult, type WorkspaceEntry } from '../../store/workspace.js';
import type { ServiceImpl } from '../bridge.js';
import type { StoresFor } from '../stores.js';
import { int, ts, valueFromJson } from '../convert.js';

const document = (d: MemoryDocument) => ({
  id: d.id,
  userId: d.userId,
  agentId: d.agentId ?? undefined,
  path: d.path,
  content: d.content,
  createdAt: ts(d.createdAt),
  updatedAt: ts(d.updatedAt),
  metadata: valueFromJson(d.metadata),
});

const entry = (e: WorkspaceEntry) => ({
  path: e.path,
  isDirectory: e.isDirectory,
  updatedAt: e.updatedAt ? ts(e.updatedAt) : undefined,
  contentPreview: e.contentPreview ?? undefined,
});

const chunk = (c: MemoryChunk) => ({ id: c.id, documentId: c.documentId, chunkIndex: c.chunkIndex, content: c.content, createdAt: ts(c.createdAt) });

const result = (r: SearchResult) => ({
  documentId: r.documentId,
  documentPath: r.documentPath,
  chunkId: r.chunkId,
  content: r.content,
  score: r.score,
  ftsRank: r.ftsRank ?? undefined,
  vectorRank: r.vectorRank ?? undefined,
});

/** An empty repeated field means "no embedding" where one is optional. */
const optEmbedding = (e: number[]) => (e.length === 0 ? null : Float32Array.from(e));

function searchConfig(c: WireSearchConfig | undefined): SearchConfig {
  const d = DEFAULT_SEARCH_CONFIG;
  const strategy = c?.fusionStrategy ?? FusionStrategy.UNSPECIFIED;
  if (!(strategy in FusionStrategy)) throw invalidArgument('config.fusion_strategy', `unknown value ${strategy}`);
  return {
    limit: c?.limit ?? d.limit,
    rrfK: c?.rrfK ?? d.rrfK,
    useFts: c?.useFts ?? d.useFts,
    useVector: c?.useVector ?? d.useVector,
    minScore: c?.minScore ?? d.minScore,
    preFusionLimit: c?.preFusionLimit ?? d.preFusionLimit,
    fusionStrategy: strategy === FusionStrategy.WEIGHTED ? 'weighted' : 'rrf',
    ftsWeight: c?.ftsWeight ?? d.ftsWeight,
    vectorWeight: c?.vectorWeight ?? d.vectorWeight,
  };
}

export const workspaceService = (stores: StoresFor): ServiceImpl<typeof WorkspaceStore.method> => {
  return {
    getDocumentByPath: async (r, ctx) => ({ document: document(await stores(ctx).getDocumentByPath(r.userId, r.agentId ?? null, r.path)) }),
    getDocumentById: async (r, ctx) => ({ document: document(await stores(ctx).getDocumentById(r.id)) }),
    getOrCreateDocumentByPath: async (r, ctx) => ({ document: document(await stores(ctx).getOrCreateDocumentByPath(r.userId, r.agentId ?? null, r.path)) }),
    updateDocument: async (r, ctx) => {
      await stores(ctx).updateDocument(r.id, r.content);
      return {};
    },
    deleteDocumentByPath: async (r, ctx) => {
      await stores(ctx).deleteDocumentByPath(r.userId, r.agentId ?? null, r.path);
      return {};
    },
    listDirectory: async (r, ctx) => ({ entries: (await stores(ctx).listDirectory(r.userId, r.agentId ?? null, r.directory)).map(entry) }),
    listAllPaths: async (r, ctx) => ({ paths: await stores(ctx).listAllPaths(r.userId, r.agentId ?? null) }),
    listDocuments: async (r, ctx) => ({ documents: (await stores(ctx).listDocuments(r.userId, r.agentId ?? null)).map(document) }),
    deleteChunks: async (r, ctx) => {
      await stores(ctx).deleteChunks(r.documentId);
      return {};
    },
    insertChunk: async (r, ctx) => ({ chunkId: await stores(ctx).insertChunk(r.documentId, r.chunkIndex, r.content, optEmbedding(r.embedding)) }),
    updateChunkEmbedding: async (r, ctx) => {
      await stores(ctx).updateChunkEmbedding(r.chunkId, Float32Array.from(r.embedding));
      return {};
    },
    getChunksWithoutEmbeddings: async (r, ctx) => ({
      chunks: (await stores(ctx).getChunksWithoutEmbeddings(r.userId, r.agentId ?? null, int('limit', r.limit))).map(chunk),
    }),
    hybridSearch: async (r, ctx) => ({
      results: (await stores(ctx).hybridSearch(r.userId, r.agentId ?? null, r.query, optEmbedding(r.embedding), searchConfig(r.config))).map(result),
    }),
  };
};
