// WorkspaceStore on PostgreSQL. Twin: src/backends/libsql/workspace.ts.
//
// Embeddings are real[] everywhere. Without pgvector they are scored exactly
// in SQL, filtered by user and agent before the top-k; the dot product is a
// sequential double-precision sum so distances equal libSQL's bit for bit
// (src/store/workspace-search.ts). With pgvector, an HNSW index over
// embedding::vector(N) pre-selects candidates (approximate), which are
// rescored in the daemon with that same exact sum; PGVECTOR_INDEX=off scans
// exactly.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import { now } from '../../store/clock.js';
import type { JsonValue } from '../../store/types.js';
import {
  compareBinary,
  directoryEntries,
  directoryPrefix,
  dimensionMismatch,
  documentIdNotFound,
  documentNotFound,
  prefixUpperBound,
  type MemoryChunk,
  type MemoryDocument,
  type WorkspaceStore,
} from '../../store/workspace.js';
import { branches, cosineDistance, fuse, indexTerms, norm, queryTerms, tsquery, type Candidate } from '../../store/workspace-search.js';
import { chunkInsertFailed, documentMissing } from '../workspace-errors.js';
import { LOCK_KEY } from './migrate.js';
import { sql, sqlPlannedPerCall, type PgPool, type Queryable, type Stmt } from './pool.js';

const DOC_COLUMNS = 'id, user_id, agent_id, path, content, created_at, updated_at, metadata';
const SCOPE = "user_id = $1 AND COALESCE(agent_id::text, '') = $2";

interface DocRow {
  id: string;
  user_id: string;
  agent_id: string | null;
  path: string;
  content: string;
  created_at: Date;
  updated_at: Date;
  metadata: JsonValue;
}

const toDoc = (r: DocRow): MemoryDocument => ({
  id: r.id,
  userId: r.user_id,
  agentId: r.agent_id,
  path: r.path,
  content: r.content,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  metadata: r.metadata,
});

const agentKey = (agentId: string | null) => agentId ?? '';

const GET_BY_PATH = sql(`SELECT ${DOC_COLUMNS} FROM memory_documents WHERE ${SCOPE} AND path = $3`);
// The owner parameter: only documents of that user (and their chunks) pass; every one when it is null.
const GET_BY_ID = sql(`SELECT ${DOC_COLUMNS} FROM memory_documents WHERE id = $1 AND user_id = COALESCE($2, user_id)`);
const INSERT_DOC = sql(`INSERT INTO memory_documents (id, user_id, agent_id, path, content, created_at, updated_at, metadata)
  VALUES ($1, $2, $3, $4, '', $5, $5, '{}') ON CONFLICT DO NOTHING RETURNING ${DOC_COLUMNS}`);
const UPDATE_DOC = sql('UPDATE memory_documents SET content = $2, updated_at = $3 WHERE id = $1 AND user_id = COALESCE($4, user_id)');
const DELETE_DOC = sql(`DELETE FROM memory_documents WHERE ${SCOPE} AND path = $3 RETURNING id`);
const DELETE_DOC_CHUNKS = sql('DELETE FROM memory_chunks WHERE document_id = $1');
const ownedChunks = (n: number) => `EXISTS (SELECT 1 FROM memory_documents d WHERE d.id = memory_chunks.document_id AND d.user_id = COALESCE($${n}, d.user_id))`;
const DELETE_CHUNKS = sql(`DELETE FROM memory_chunks WHERE document_id = $1 AND ${ownedChunks(2)}`);
const LIST_ROOT = sql(`SELECT path, updated_at, left(content, 200) AS preview FROM memory_documents WHERE ${SCOPE}`);
const LIST_DIR = sql(`SELECT path, updated_at, left(content, 200) AS preview FROM memory_documents WHERE ${SCOPE} AND path >= $3 AND path < $4`);
const LIST_PATHS = sql(`SELECT path FROM memory_documents WHERE ${SCOPE} ORDER BY path`);
const LIST_DOCS = sql(`SELECT ${DOC_COLUMNS} FROM memory_documents WHERE ${SCOPE} ORDER BY updated_at DESC, seq DESC`);
// From the document row itself: a document that is missing (or not the owner's) inserts nothing.
const INSERT_CHUNK = sql(`INSERT INTO memory_chunks (id, document_id, chunk_index, content, content_tsv, word_count, embedding, embedding_norm, created_at)
  SELECT $1::uuid, d.id, $3::integer, $4::text, array_to_tsvector($5::text[]), $6::integer, $7::real[], $8::float8, $9::timestamptz
  FROM memory_documents d WHERE d.id = $2::uuid AND d.user_id = COALESCE($10::text, d.user_id)`);
const UPDATE_EMBEDDING = sql(`UPDATE memory_chunks SET embedding = $2::real[], embedding_norm = $3 WHERE id = $1 AND ${ownedChunks(4)}`);
const UNEMBEDDED = sql(`SELECT c.id, c.document_id, c.chunk_index, c.content, c.created_at
  FROM memory_documents d JOIN memory_chunks c ON c.document_id = d.id
  WHERE d.user_id = $1 AND COALESCE(d.agent_id::text, '') = $2 AND c.embedding IS NULL
  ORDER BY c.seq LIMIT $3`);
// Rank order (word count, newest first) is the order of index
// idx_memory_chunks_fts_rank (V6): for a common word the planner walks it and
// stops at the first $4 matches of the caller's; for a rare one it collects
// the few matches through the GIN index and sorts them. Which one depends on
// the words, so the statement is planned for them on every call.
const FTS_SEARCH = sqlPlannedPerCall(`WITH top AS (
    SELECT c.id, c.word_count, c.seq, d.path FROM memory_chunks c JOIN memory_documents d ON d.id = c.document_id
     WHERE c.content_tsv @@ $3::tsquery AND d.user_id = $1 AND COALESCE(d.agent_id::text, '') = $2
     ORDER BY c.word_count, c.seq DESC LIMIT $4)
  SELECT c.id, c.document_id, top.path, c.content FROM top JOIN memory_chunks c ON c.id = top.id
   ORDER BY top.word_count, top.seq DESC`);
const SCOPED_CHUNKS = `memory_documents d JOIN memory_chunks c ON c.document_id = d.id
     WHERE d.user_id = $1 AND COALESCE(d.agent_id::text, '') = $2 AND c.embedding IS NOT NULL`;
// The operation order matches cosineDistance() in workspace-search.ts.
const VECTOR_SEARCH = sql(`WITH top AS (
    SELECT c.id, s.dist, d.path, c.chunk_index FROM memory_documents d JOIN memory_chunks c ON c.document_id = d.id
     CROSS JOIN LATERAL (
       SELECT 1 - sum(x::float8 * y) / (c.embedding_norm * $4::float8) AS dist FROM unnest(c.embedding, $3::float8[]) AS t (x, y)
     ) s
     WHERE d.user_id = $1 AND COALESCE(d.agent_id::text, '') = $2 AND c.embedding IS NOT NULL
     ORDER BY s.dist, d.path, c.chunk_index LIMIT $5)
  SELECT c.id, c.document_id, top.path, c.content FROM top JOIN memory_chunks c ON c.id = top.id
   ORDER BY top.dist, top.path, top.chunk_index`);
// With pgvector, the nearest $4 of the user's chunks by pgvector's float32
// cosine distance (<=>) are pre-selected with their embeddings, and the
// daemon rescores them with cosineDistance() — the double-precision sum the
// plain path computes in SQL, bit for bit — so ranks among them equal
// libSQL's. (Rescoring in SQL with unnest cost more than the index scan:
// 0.45 ms a candidate on PGlite.)
// The embeddings travel in pgvector's binary form (vector_send of the cast:
// a 4-byte header, then the float32 values): printing and parsing them as
// text took most of the query's time, and array_send, which calls the
// element type's output function once per value, cost 2.5 times as much on
// PGlite.
const PRESELECTED = 'c.id, c.document_id, d.path, c.chunk_index, c.content, vector_send(c.embedding::vector) AS embedding, c.embedding_norm';
// Exact: <=> over a cast of every one of the user's stored real[] (the cast
// without a dimension never matches the HNSW index expression). The sort
// carries ids only; the winners' embeddings and contents are read after it.
const PRESELECT_EXACT = sql(`WITH top AS (
    SELECT c.id, d.path, c.chunk_index FROM ${SCOPED_CHUNKS}
     ORDER BY c.embedding::vector <=> $3::float8[]::real[]::vector, d.path, c.chunk_index LIMIT $4)
  SELECT c.id, c.document_id, top.path, c.chunk_index, c.content, vector_send(c.embedding::vector) AS embedding, c.embedding_norm
    FROM top JOIN memory_chunks c ON c.id = top.id`);
/**
 * Approximate: the same pre-selection through the HNSW index over
 * embedding::vector(N). The user and agent filter applies to the index
 * scan's output, and the iterative scan (hnsw.iterative_scan) keeps walking
 * the graph until $4 of the user's chunks are found or
 * hnsw.max_scan_tuples is reached; fewer than $4 sends the caller to the
 * exact query, so a user never gets fewer hits because of others' rows.
 */
const preselectHnsw = (dimension: number): Stmt =>
  sql(`SELECT ${PRESELECTED} FROM ${SCOPED_CHUNKS}
   ORDER BY c.embedding::vector(${dimension}) <=> $3::float8[]::real[]::vector(${dimension}) LIMIT $4`);

interface PreselectedRow extends CandidateRow {
  chunk_index: number;
  embedding: Buffer;
  embedding_norm: number;
}

/** The type oid of real (float4): the element type of a binary real[]. */
export const FLOAT4_OID = 700;

/**
 * The values of a one-dimensional real[] without NULLs in PostgreSQL's binary
 * array format (array_send): a 20-byte header (dimensions, NULL flag,
 * element type, length, lower bound), then each element's 4-byte length and
 * big-endian value. Throws on any other array.
 */
export function embeddingFromArraySend(b: Buffer): Float32Array {
  if (b.readInt32BE(0) === 0) return new Float32Array(0);
  if (b.readInt32BE(0) !== 1 || b.readInt32BE(8) !== FLOAT4_OID) throw new Error('not a one-dimensional real[]');
  const e = new Float32Array(b.readInt32BE(12));
  for (let i = 0, o = 20; i < e.length; i++, o += 8) {
    if (b.readInt32BE(o) !== 4) throw new Error('an embedding holds a NULL element');
    e[i] = b.readFloatBE(o + 4);
  }
  return e;
}

/** The values of a pgvector vector in its binary form (vector_send): int16 dimension, int16 unused, then big-endian float32 values. */
function embeddingFromVectorSend(b: Buffer): Float32Array {
  const e = new Float32Array(b.readInt16BE(0));
  if (b.length !== 4 + 4 * e.length) throw new Error('not a binary pgvector vector');
  for (let i = 0; i < e.length; i++) e[i] = b.readFloatBE(4 + 4 * i);
  return e;
}

/** The exact top k of pre-selected chunks: distance, then path, then chunk index. */
function rescore(rows: PreselectedRow[], embedding: Float32Array, k: number): CandidateRow[] {
  const query = Float64Array.from(embedding);
  const queryNorm = norm(embedding);
  return rows
    .map((r) => ({ r, dist: cosineDistance(embeddingFromVectorSend(r.embedding), r.embedding_norm, query, queryNorm) }))
    .sort((a, b) => a.dist - b.dist || compareBinary(a.r.path, b.r.path) || a.r.chunk_index - b.r.chunk_index)
    .slice(0, k)
    .map(({ r }) => r);
}
// For this transaction only: how many graph candidates the HNSW scan keeps,
// and continue past them when the filter drops rows (order among the extra
// rows is relaxed: they are rescored anyway).
// Up to $3 of the scope's embedded chunks, counted: a scope with fewer than
// the candidates wanted is scanned exactly at once (through the index the
// iterative scan would walk the graph to hnsw.max_scan_tuples and still come
// up short).
// One statement for both (each round trip costs ~1 ms on PGlite).
const HNSW_SCAN_SETUP = sql(`SELECT set_config('hnsw.ef_search', $4, true), set_config('hnsw.iterative_scan', 'relaxed_order', true),
  (SELECT count(*)::int FROM (SELECT 1 FROM ${SCOPED_CHUNKS} LIMIT $3) t) AS n`);
/** pgvector's HNSW index takes vectors of at most 2000 dimensions. */
const HNSW_MAX_DIMENSION = 2000;
const HNSW_INDEX_PREFIX = 'idx_memory_chunks_embedding_hnsw_';
const GET_DIMENSION = sql("SELECT value FROM workspace_meta WHERE key = 'embedding_dimension' FOR UPDATE");
const ANY_EMBEDDING = sql('SELECT 1 AS x FROM memory_chunks WHERE embedding IS NOT NULL LIMIT 1');
const SET_DIMENSION = sql(`INSERT INTO workspace_meta (key, value) VALUES ('embedding_dimension', $1)
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`);

interface CandidateRow {
  id: string;
  document_id: string;
  path: string;
  content: string;
}

const toCandidate = (r: CandidateRow): Candidate => ({ chunkId: r.id, documentId: r.document_id, documentPath: r.path, content: r.content });

// pg serialises JS arrays as PostgreSQL array literals; the Param type lists scalars only.
const arrayParam = (a: readonly (string | number)[]) => a as unknown as string;
const floats = (e: Float32Array) => arrayParam(Array.from(e));

/**
 * How the vector branch runs (GetStatus vector_search_method): pgvector's
 * HNSW index, approximate; pgvector's exact scan; exact scoring over real[].
 */
export type PgVectorMethod = 'pgvector_hnsw' | 'pgvector' | 'exact';

export interface PgVectorSearch {
  method: PgVectorMethod;
  /** With the HNSW index: its pre-selection and the hnsw.ef_search floor (PGVECTOR_EF_SEARCH). */
  hnsw?: { preselect: Stmt; efSearch: number };
}

/** `owner`: id-keyed methods see only that user's documents and chunks (null: everyone's). */
export function pgWorkspace(pool: PgPool, owner: string | null, vector: () => PgVectorSearch): WorkspaceStore {
  const vectorBranch = async (userId: string, agentId: string | null, embedding: Float32Array, k: number): Promise<CandidateRow[]> => {
    const { method, hnsw } = vector();
    const scope = [userId, agentKey(agentId), floats(embedding)];
    if (method === 'exact') return pool.rows<CandidateRow>(VECTOR_SEARCH, [...scope, norm(embedding), k]);
    // A margin of candidates beyond k absorbs float32-versus-double near-ties.
    const wanted = 2 * k + 16;
    if (hnsw) {
      const rows = await pool.tx(async (q) => {
        const efSearch = String(Math.min(1000, Math.max(hnsw.efSearch, wanted)));
        if ((await q.one<{ n: number }>(HNSW_SCAN_SETUP, [userId, agentKey(agentId), wanted, efSearch]))!.n < wanted) {
          return q.rows<PreselectedRow>(PRESELECT_EXACT, [...scope, wanted]);
        }
        const approx = await q.rows<PreselectedRow>(hnsw.preselect, [...scope, wanted]);
        return approx.length === wanted ? approx : q.rows<PreselectedRow>(PRESELECT_EXACT, [...scope, wanted]);
      });
      return rescore(rows, embedding, k);
    }
    return rescore(await pool.rows<PreselectedRow>(PRESELECT_EXACT, [...scope, wanted]), embedding, k);
  };

  const byPath = (userId: string, agentId: string | null, path: string) => pool.one<DocRow>(GET_BY_PATH, [userId, agentKey(agentId), path]);
  return {
    async getDocumentByPath(userId, agentId, path) {
      const r = await byPath(userId, agentId, path);
      if (!r) throw documentNotFound(path, userId);
      return toDoc(r);
    },

    async getDocumentById(id) {
      const r = await pool.one<DocRow>(GET_BY_ID, [id, owner]);
      if (!r) throw documentIdNotFound(id);
      return toDoc(r);
    },

    async getOrCreateDocumentByPath(userId, agentId, path) {
      const found = await byPath(userId, agentId, path);
      if (found) return toDoc(found);
      // A concurrent creator's row wins: the insert waits for it, does
      // nothing, and the next statement (a new snapshot) reads it.
      const inserted = await pool.one<DocRow>(INSERT_DOC, [randomUUID(), userId, agentId, path, now().toISOString()]);
      return toDoc(inserted ?? (await byPath(userId, agentId, path))!);
    },

    async updateDocument(id, content) {
      await pool.exec(UPDATE_DOC, [id, content, now().toISOString(), owner]);
    },

    async deleteDocumentByPath(userId, agentId, path) {
      await pool.tx(async (q) => {
        const r = await q.one<{ id: string }>(DELETE_DOC, [userId, agentKey(agentId), path]);
        if (!r) throw documentNotFound(path, userId);
        // ON DELETE CASCADE already removed them; explicit for clarity of intent.
        await q.exec(DELETE_DOC_CHUNKS, [r.id]);
      });
    },

    async listDirectory(userId, agentId, directory) {
      const prefix = directoryPrefix(directory);
      const rows =
        prefix === ''
          ? await pool.rows<{ path: string; updated_at: Date; preview: string }>(LIST_ROOT, [userId, agentKey(agentId)])
          : await pool.rows<{ path: string; updated_at: Date; preview: string }>(LIST_DIR, [userId, agentKey(agentId), prefix, prefixUpperBound(prefix)]);
      return directoryEntries(
        prefix,
        rows.map((r) => ({ path: r.path, updatedAt: r.updated_at, preview: r.preview })),
      );
    },

    listAllPaths: async (userId, agentId) => (await pool.rows<{ path: string }>(LIST_PATHS, [userId, agentKey(agentId)])).map((r) => r.path),

    listDocuments: async (userId, agentId) => (await pool.rows<DocRow>(LIST_DOCS, [userId, agentKey(agentId)])).map(toDoc),

    async deleteChunks(documentId) {
      await pool.exec(DELETE_CHUNKS, [documentId, owner]);
    },

    async insertChunk(documentId, chunkIndex, content, embedding) {
      const { terms, wordCount } = indexTerms(content);
      const id = randomUUID();
      const inserted = await pool
        .exec(INSERT_CHUNK, [
          id,
          documentId,
          chunkIndex,
          content,
          arrayParam(terms),
          wordCount,
          embedding ? floats(embedding) : null,
          embedding ? norm(embedding) : null,
          now().toISOString(),
          owner,
        ])
        .catch(chunkInsertFailed(documentId, chunkIndex));
      if (inserted === 0) throw documentMissing(documentId);
      return id;
    },

    async updateChunkEmbedding(chunkId, embedding) {
      await pool.exec(UPDATE_EMBEDDING, [chunkId, floats(embedding), norm(embedding), owner]);
    },

    getChunksWithoutEmbeddings: async (userId, agentId, limit) =>
      (
        await pool.rows<{ id: string; document_id: string; chunk_index: number; content: string; created_at: Date }>(UNEMBEDDED, [
          userId,
          agentKey(agentId),
          limit,
        ])
      ).map(
        (r): MemoryChunk => ({ id: r.id, documentId: r.document_id, chunkIndex: r.chunk_index, content: r.content, embedding: null, createdAt: r.created_at }),
      ),

    async hybridSearch(userId, agentId, query, embedding, config) {
      const terms = queryTerms(query);
      const run = branches(terms, embedding, config);
      const [fts, vector] = await Promise.all([
        run.fts ? pool.rows<CandidateRow>(FTS_SEARCH, [userId, agentKey(agentId), tsquery(terms), config.preFusionLimit]) : [],
        run.vector ? vectorBranch(userId, agentId, embedding!, config.preFusionLimit) : [],
      ]);
      return fuse(fts.map(toCandidate), vector.map(toCandidate), config);
    },
  };
}

/** Records the embedding dimension at boot, or refuses a database holding another one. */
export async function pgEmbeddingDimension(pool: PgPool, dimension: number): Promise<void> {
  await pool.tx(async (q) => {
    const r = await q.one<{ value: string }>(GET_DIMENSION);
    if (r && Number(r.value) === dimension) return;
    if (r && (await q.one(ANY_EMBEDDING))) throw dimensionMismatch(Number(r.value), dimension);
    await q.exec(SET_DIMENSION, [String(dimension)]);
  });
}

/**
 * Detects pgvector at boot: installs the extension when the server has it
 * and we may (CREATE EXTENSION IF NOT EXISTS), otherwise falls back to exact
 * scoring over real[]. With pgvector, keeps exactly the wanted HNSW index:
 * one over embedding::vector(N) for the configured dimension N (an index of
 * another dimension, left from a dimension change, is dropped first, or its
 * cast would refuse the new embeddings), none with PGVECTOR_INDEX=off or
 * above 2000 dimensions. The table itself is the same in every case.
 * Building the index over existing chunks takes a while (README).
 */
/** The HNSW index kept for `dimension`, or null above what pgvector's HNSW takes. */
const hnswIndexName = (dimension: number): string | null => (dimension <= HNSW_MAX_DIMENSION ? `${HNSW_INDEX_PREFIX}${dimension}` : null);

/**
 * Under the migration lock (for the caller's transaction), drops every HNSW
 * index on memory_chunks but `keep`; returns the names there were. An index
 * of another dimension must go: its cast refuses the embeddings stored now.
 */
async function keepOnlyHnswIndex(q: Queryable, keep: string | null): Promise<string[]> {
  await q.one(sql('SELECT pg_advisory_xact_lock($1::bigint)'), [LOCK_KEY]);
  const present = await q.rows<{ name: string }>(
    sql("SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'memory_chunks' AND starts_with(indexname, $1)"),
    [HNSW_INDEX_PREFIX],
  );
  for (const { name } of present) if (name !== keep) await q.exec(sql(`DROP INDEX "${name.replaceAll('"', '""')}"`));
  return present.map((p) => p.name);
}

/**
 * For `agentstore copy`: a target about to receive embeddings of `dimension`
 * keeps only the HNSW index of that dimension (a daemon set up with another
 * EMBEDDING_DIMENSION left one whose cast would refuse every chunk); the next
 * daemon boot builds what its settings ask for.
 */
export const pgDropOtherVectorIndexes = (pool: PgPool, dimension: number): Promise<string[]> => pool.tx((q) => keepOnlyHnswIndex(q, hnswIndexName(dimension)));

export async function pgSetUpVectorSearch(pool: PgPool, config: Pick<Config, 'embeddingDimension' | 'pgvectorIndex' | 'pgvectorEfSearch'>): Promise<PgVectorSearch> {
  const dimension = config.embeddingDimension;
  const available = await pool.one<{ installed: boolean }>(
    sql("SELECT installed_version IS NOT NULL AS installed FROM pg_available_extensions WHERE name = 'vector'"),
  );
  if (!available) return { method: 'exact' };
  if (!available.installed) {
    try {
      await pool.exec(sql('CREATE EXTENSION IF NOT EXISTS vector'));
    } catch {
      return { method: 'exact' };
    }
  }
  const wanted = config.pgvectorIndex === 'hnsw' ? hnswIndexName(dimension) : null;
  // Under the migration lock: daemons booting together build it once.
  await pool.tx(async (q) => {
    const present = await keepOnlyHnswIndex(q, wanted);
    if (wanted && !present.includes(wanted)) {
      await q.exec(sql(`CREATE INDEX ${wanted} ON memory_chunks USING hnsw ((embedding::vector(${dimension})) vector_cosine_ops)`));
    }
  });
  return wanted ? { method: 'pgvector_hnsw', hnsw: { preselect: preselectHnsw(dimension), efSearch: config.pgvectorEfSearch } } : { method: 'pgvector' };
}
