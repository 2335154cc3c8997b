// WorkspaceStore: path-addressed memory documents, their chunks with
// embeddings, directory listing and hybrid (full-text + vector) search
// (STORES.md §2.7, with the "→ agentstore" choices applied on both backends:
// literal prefix listing, uniqueness with a null agent, user-filtered exact
// vector search, query text always treated as words).
import type { ArgChecks } from './checks.js';
import { invalidArgument, StoreError } from './errors.js';
import { MAX_CHUNK_CHARS, MAX_CHUNK_WORD_BYTES, MAX_LIST_LIMIT, MAX_PATH_BYTES, MAX_QUERY_CHARS, MAX_RRF_K } from './limits.js';
import { indexTerms } from './workspace-search.js';
import type { JsonValue, Uuid } from './types.js';
import * as v from './validate.js';

export interface MemoryDocument {
  id: Uuid;
  userId: string;
  /** null = shared by all agents of the user; matched null-safely. */
  agentId: Uuid | null;
  path: string;
  content: string;
  createdAt: Date;
  updatedAt: Date;
  metadata: JsonValue;
}

export interface MemoryChunk {
  id: Uuid;
  documentId: Uuid;
  chunkIndex: number;
  content: string;
  /** Always null where chunks are returned (getChunksWithoutEmbeddings). */
  embedding: Float32Array | null;
  createdAt: Date;
}

export interface WorkspaceEntry {
  /** Full workspace path of the child (directory + name). */
  path: string;
  isDirectory: boolean;
  updatedAt: Date | null;
  /** First 200 characters of a file's content; null for directories. */
  contentPreview: string | null;
}

export type FusionStrategy = 'rrf' | 'weighted';

export interface SearchConfig {
  limit: number;
  rrfK: number;
  useFts: boolean;
  useVector: boolean;
  minScore: number;
  preFusionLimit: number;
  fusionStrategy: FusionStrategy;
  ftsWeight: number;
  vectorWeight: number;
}

export const DEFAULT_SEARCH_CONFIG: Readonly<SearchConfig> = Object.freeze({
  limit: 10,
  rrfK: 60,
  useFts: true,
  useVector: true,
  minScore: 0,
  preFusionLimit: 50,
  fusionStrategy: 'rrf',
  ftsWeight: 0.5,
  vectorWeight: 0.5,
});

export interface SearchResult {
  documentId: Uuid;
  documentPath: string;
  chunkId: Uuid;
  content: string;
  /** Fused score, normalised so the best result is 1.0. */
  score: number;
  /** 1-based position in the FTS candidate list; null if absent. */
  ftsRank: number | null;
  /** 1-based position in the vector candidate list; null if absent. */
  vectorRank: number | null;
}

export interface WorkspaceStore {
  /** Throws not_found when absent. */
  getDocumentByPath(userId: string, agentId: Uuid | null, path: string): Promise<MemoryDocument>;
  /** Throws not_found when absent. No user scoping. */
  getDocumentById(id: Uuid): Promise<MemoryDocument>;
  /** One document per (user, agent, path), also under concurrent calls. */
  getOrCreateDocumentByPath(userId: string, agentId: Uuid | null, path: string): Promise<MemoryDocument>;
  /** Replaces content, bumps updated_at; a missing id is a no-op. Does not re-chunk. */
  updateDocument(id: Uuid, content: string): Promise<void>;
  /** Deletes the document and its chunks atomically; not_found when absent. */
  deleteDocumentByPath(userId: string, agentId: Uuid | null, path: string): Promise<void>;
  /** Immediate children of `directory` ("" = root), sorted by path (binary). */
  listDirectory(userId: string, agentId: Uuid | null, directory: string): Promise<WorkspaceEntry[]>;
  /** Every path, sorted (binary). */
  listAllPaths(userId: string, agentId: Uuid | null): Promise<string[]>;
  /** Newest updated_at first, then newest inserted. */
  listDocuments(userId: string, agentId: Uuid | null): Promise<MemoryDocument[]>;
  deleteChunks(documentId: Uuid): Promise<void>;
  /** New chunk id; the document must exist, (document, index) must be unused. */
  insertChunk(documentId: Uuid, chunkIndex: number, content: string, embedding: Float32Array | null): Promise<Uuid>;
  /** A missing chunk is a no-op. */
  updateChunkEmbedding(chunkId: Uuid, embedding: Float32Array): Promise<void>;
  /** Oldest chunks first (insertion order), embedding always null. */
  getChunksWithoutEmbeddings(userId: string, agentId: Uuid | null, limit: number): Promise<MemoryChunk[]>;
  hybridSearch(userId: string, agentId: Uuid | null, query: string, embedding: Float32Array | null, config: SearchConfig): Promise<SearchResult[]>;
}

export const documentNotFound = (path: string, userId: string): StoreError =>
  new StoreError('not_found', `document ${JSON.stringify(path)} of user ${JSON.stringify(userId)} not found`);

export const documentIdNotFound = (id: string): StoreError => new StoreError('not_found', `document ${id} not found`);

/**
 * A document path: "/"-separated non-empty segments, none of them "." or
 * "..", at most MAX_PATH_BYTES, no NUL. Paths are literal keys, never
 * resolved: refusing "." and ".." keeps "a/../b" from being a different
 * document than the "b" a client (or a file system mirror) would expect.
 */
export function path(field: string, p: unknown): string {
  const s = v.textBytes(field, p, MAX_PATH_BYTES);
  if (s.length === 0) throw invalidArgument(field, 'must not be empty');
  checkSegments(field, s);
  return s;
}

/** A directory for listDirectory: "" (root) or a path, optionally ending in "/". */
export function directory(field: string, p: unknown): string {
  const s = v.textBytes(field, p, MAX_PATH_BYTES);
  if (s === '') return s;
  const bare = s.endsWith('/') ? s.slice(0, -1) : s;
  if (bare === '') throw invalidArgument(field, 'must be "" for the root, not "/"');
  checkSegments(field, bare);
  return s;
}

function checkSegments(field: string, s: string): void {
  if (s.startsWith('/') || s.endsWith('/')) throw invalidArgument(field, 'must not start or end with "/"');
  if (s.includes('//')) throw invalidArgument(field, 'must not contain "//" (an empty segment)');
  if (s.split('/').some((seg) => seg === '.' || seg === '..')) throw invalidArgument(field, 'must not contain "." or ".." segments (paths are literal, never resolved)');
}

/** Chunk text within MAX_CHUNK_CHARS whose distinct words fit the full-text index. */
function chunkContent(field: string, c: unknown): string {
  const s = v.text(field, c, MAX_CHUNK_CHARS);
  // The words are pieces of this text, so a text that fits needs no count
  // (the backend splits it into words once more when it writes).
  if (Buffer.byteLength(s.normalize('NFKC').toLowerCase(), 'utf8') <= MAX_CHUNK_WORD_BYTES) return s;
  let bytes = 0;
  for (const t of indexTerms(s).terms) bytes += Buffer.byteLength(t, 'utf8');
  if (bytes > MAX_CHUNK_WORD_BYTES) throw invalidArgument(field, `its distinct words take ${bytes} bytes, more than ${MAX_CHUNK_WORD_BYTES}: split the chunk`);
  return s;
}

/** Checks an embedding against the configured dimension; returns a Float32Array copy. */
export function embedding(field: string, e: unknown, dimension: number): Float32Array {
  if (!(e instanceof Float32Array)) throw invalidArgument(field, 'must be a Float32Array');
  if (e.length === 0) throw invalidArgument(field, 'must not be empty');
  if (e.length !== dimension) throw invalidArgument(field, `has ${e.length} dimensions; this database stores ${dimension} (EMBEDDING_DIMENSION)`);
  let nonZero = false;
  for (let i = 0; i < e.length; i++) {
    const x = e[i]!;
    if (!Number.isFinite(x)) throw invalidArgument(field, `element ${i} is not a finite number`);
    if (x !== 0) nonZero = true;
  }
  // Cosine distance is undefined for the zero vector.
  if (!nonZero) throw invalidArgument(field, 'must not be all zeros');
  return Float32Array.from(e);
}

function weight(field: string, w: unknown): number {
  if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw invalidArgument(field, 'must be a finite number >= 0');
  return w;
}

export function searchConfig(c: unknown): SearchConfig {
  if (typeof c !== 'object' || c === null) throw invalidArgument('config', 'is required');
  const x = c as Record<string, unknown>;
  const strategy = x.fusionStrategy;
  if (strategy !== 'rrf' && strategy !== 'weighted') throw invalidArgument('config.fusion_strategy', 'must be "rrf" or "weighted"');
  if (typeof x.useFts !== 'boolean') throw invalidArgument('config.use_fts', 'must be a boolean');
  if (typeof x.useVector !== 'boolean') throw invalidArgument('config.use_vector', 'must be a boolean');
  const minScore = x.minScore;
  if (typeof minScore !== 'number' || Number.isNaN(minScore)) throw invalidArgument('config.min_score', 'must be a number');
  return {
    limit: v.limit('config.limit', x.limit, MAX_LIST_LIMIT),
    rrfK: v.limit('config.rrf_k', x.rrfK, MAX_RRF_K),
    useFts: x.useFts,
    useVector: x.useVector,
    // The reference clamps min_score into [0, 1].
    minScore: Math.min(1, Math.max(0, minScore)),
    preFusionLimit: v.limit('config.pre_fusion_limit', x.preFusionLimit, MAX_LIST_LIMIT),
    fusionStrategy: strategy,
    ftsWeight: weight('config.fts_weight', x.ftsWeight),
    vectorWeight: weight('config.vector_weight', x.vectorWeight),
  };
}

const optAgent = (a: unknown) => v.optUuid('agent_id', a);

/** The checks need the configured embedding dimension. */
export const workspaceChecks = (dimension: number): ArgChecks<WorkspaceStore> => ({
  getDocumentByPath: (userId, agentId, p) => [v.name('user_id', userId), optAgent(agentId), path('path', p)],
  getDocumentById: (id) => [v.uuid('id', id)],
  getOrCreateDocumentByPath: (userId, agentId, p) => [v.name('user_id', userId), optAgent(agentId), path('path', p)],
  updateDocument: (id, content) => [v.uuid('id', id), v.text('content', content)],
  deleteDocumentByPath: (userId, agentId, p) => [v.name('user_id', userId), optAgent(agentId), path('path', p)],
  listDirectory: (userId, agentId, dir) => [v.name('user_id', userId), optAgent(agentId), directory('directory', dir)],
  listAllPaths: (userId, agentId) => [v.name('user_id', userId), optAgent(agentId)],
  listDocuments: (userId, agentId) => [v.name('user_id', userId), optAgent(agentId)],
  deleteChunks: (documentId) => [v.uuid('document_id', documentId)],
  insertChunk: (documentId, chunkIndex, content, e) => [
    v.uuid('document_id', documentId),
    v.nonNegativeInt('chunk_index', chunkIndex),
    chunkContent('content', content),
    e === null || e === undefined ? null : embedding('embedding', e, dimension),
  ],
  updateChunkEmbedding: (chunkId, e) => [v.uuid('chunk_id', chunkId), embedding('embedding', e, dimension)],
  getChunksWithoutEmbeddings: (userId, agentId, limit) => [v.name('user_id', userId), optAgent(agentId), v.limit('limit', limit)],
  hybridSearch: (userId, agentId, query, e, config) => [
    v.name('user_id', userId),
    optAgent(agentId),
    v.text('query', query, MAX_QUERY_CHARS),
    e === null || e === undefined ? null : embedding('embedding', e, dimension),
    searchConfig(config),
  ],
});

/**
 * The boot rule for the embedding dimension recorded in the database: a
 * database holding embeddings of another dimension refuses to start (its
 * vectors cannot be compared with the configured model's); one holding none
 * simply records the new dimension.
 */
export function dimensionMismatch(recorded: number, configured: number): StoreError {
  return new StoreError(
    'failed_precondition',
    `EMBEDDING_DIMENSION: the database holds embeddings of dimension ${recorded} but EMBEDDING_DIMENSION is ${configured}; ` +
      `set EMBEDDING_DIMENSION=${recorded}, or to change embedding model clear the stored embeddings (UPDATE memory_chunks SET embedding = NULL, embedding_norm = NULL) and re-embed`,
  );
}

/** The directory prefix listDirectory works with: "" for the root, else ending in "/". */
export const directoryPrefix = (directory: string): string => (directory === '' || directory.endsWith('/') ? directory : directory + '/');

/**
 * The half-open binary range [prefix, upper) holding exactly the paths that
 * start with `prefix` (which ends in "/", and "0" is the character after
 * "/"), so the backends can select a directory with an index range and no
 * LIKE pattern at all.
 */
export const prefixUpperBound = (prefix: string): string => prefix.slice(0, -1) + '0';

export interface DirectoryRow {
  path: string;
  updatedAt: Date;
  preview: string;
}

/** Steps 3–5 of listDirectory (STORES.md §2.7), the same for both backends. */
export function directoryEntries(prefix: string, rows: DirectoryRow[]): WorkspaceEntry[] {
  const entries = new Map<string, WorkspaceEntry>();
  for (const r of rows) {
    if (!r.path.startsWith(prefix)) continue;
    const rest = r.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    const child = slash < 0 ? rest : rest.slice(0, slash);
    if (child === '') continue;
    const isDirectory = slash >= 0;
    const path = prefix + child;
    const e = entries.get(path);
    if (!e) {
      entries.set(path, { path, isDirectory, updatedAt: r.updatedAt, contentPreview: isDirectory ? null : r.preview });
      continue;
    }
    if (e.updatedAt === null || r.updatedAt > e.updatedAt) e.updatedAt = r.updatedAt;
    if (isDirectory) {
      e.isDirectory = true;
      e.contentPreview = null;
    } else if (!e.isDirectory) e.contentPreview = r.preview;
  }
  return [...entries.values()].sort((a, b) => compareBinary(a.path, b.path));
}

/** Binary (code point) order, the order both databases use for paths. */
export function compareBinary(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order differs from code point order only around surrogates.
  const ai = [...a];
  const bi = [...b];
  for (let i = 0; i < Math.min(ai.length, bi.length); i++) {
    const x = ai[i]!.codePointAt(0)!;
    const y = bi[i]!.codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return ai.length - bi.length;
}
