// WorkspaceStore on libSQL. Twin: src/backends/postgres/workspace.ts.
//
// Vector search is filtered by user and agent before the top-k and runs in
// two steps. Pre-selection: the scope's chunks with the best estimated
// cosine, from 1-bit codes kept in memory (./vector-index.ts), at least
// LIBSQL_VECTOR_CANDIDATES of them; with that setting at 0, every chunk of
// the scope, read from the table document batch by document batch (an exact
// scan). Rescoring: batch by batch, libSQL's vector_distance_cos picks each
// batch's nearest chunks and those are rescored in double precision (the
// distance PostgreSQL computes). Each batch runs in a turn of the event loop
// shared with every other search (./turns.ts), so a large search, or many
// at once, never stalls other RPCs for more than a few milliseconds.
//
// Both search branches run each batch as its own statement, not inside one
// long read transaction: a snapshot held across yields keeps the WAL from
// being checkpointed, and the writer's eventual checkpoint then blocked the
// event loop for 400 ms at 100k chunks (46 ms without). A chunk deleted
// mid-scan is left out of the results.
import { randomUUID } from 'node:crypto';
import { now } from '../../store/clock.js';
import { StoreError } from '../../store/errors.js';
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
import { branches, cosineDistance, embeddingBytes, fts5Match, fuse, indexTerms, norm, queryTerms, type Candidate } from '../../store/workspace-search.js';
import { chunkInsertFailed, documentMissing } from '../workspace-errors.js';
import { readJson, readTs, ts } from './codec.js';
import type { Conn, LibsqlPool, Param } from './pool.js';
import { inTurn } from './turns.js';
import { floatsOf, scopeKey, type EmbeddingChanges, type VectorIndexes } from './vector-index.js';

const DOC_COLUMNS = 'id, user_id, agent_id, path, content, created_at, updated_at, metadata';
const SCOPE = 'user_id = ? AND COALESCE(agent_id, \'\') = ?';
/** Only documents of the owner pass (every document when the owner is null). */
const OWNER = 'user_id = COALESCE(?, user_id)';
/** Only chunks of a document of the owner pass. */
const OWNED_CHUNKS = 'EXISTS (SELECT 1 FROM memory_documents d WHERE d.id = memory_chunks.document_id AND d.user_id = COALESCE(?, d.user_id))';

interface DocRow {
  id: string;
  user_id: string;
  agent_id: string | null;
  path: string;
  content: string;
  created_at: string;
  updated_at: string;
  metadata: string;
}

const toDoc = (r: DocRow): MemoryDocument => ({
  id: r.id,
  userId: r.user_id,
  agentId: r.agent_id,
  path: r.path,
  content: r.content,
  createdAt: readTs('created_at', r.created_at),
  updatedAt: readTs('updated_at', r.updated_at),
  metadata: readJson('metadata', r.metadata),
});

const agentKey = (agentId: string | null) => agentId ?? '';

const GET_BY_PATH = `SELECT ${DOC_COLUMNS} FROM memory_documents WHERE ${SCOPE} AND path = ?`;

const byPath = (c: Conn, userId: string, agentId: string | null, path: string) => c.get<DocRow>(GET_BY_PATH, [userId, agentKey(agentId), path]);

/** Documents scanned per batch by the exact vector scan. */
const VECTOR_BATCH_DOCS = 256;
/** Pre-selected chunks rescored per batch. */
const RESCORE_BATCH_CHUNKS = 512;

// Full-text candidates come from FTS5 in rank order: its rowids are
// word_count * 2^32 + (2^32 - 1 - chunk _rowid) (schema V6), and FTS5 walks
// a query's postings in rowid order. The query requires the caller's scope
// token as well, so other users' chunks are skipped inside FTS5; pages of
// matches are joined to their chunk and document (which must be the
// caller's too) until k are found or the matches end. A word found in every
// chunk costs one page, not every match. Each page is bounded work, run in
// a turn of the event loop shared with other searches (./turns.ts). The cursor travels as (word count,
// chunk rowid), both exact in a JavaScript number; the key itself never
// leaves SQLite.
const FTS_PAGE = `SELECT f.k / 4294967296 AS w, 4294967295 - f.k % 4294967296 AS r, d.id IS NOT NULL AS mine,
         c.id, c.document_id, d.path, CASE WHEN d.id IS NOT NULL THEN c.content END AS content
    FROM (SELECT rowid AS k FROM memory_chunks_fts
           WHERE memory_chunks_fts MATCH ?1 AND rowid > ?2 * 4294967296 + (4294967295 - ?3)
           ORDER BY rowid LIMIT ?4) f
    LEFT JOIN memory_chunks c ON c._rowid = 4294967295 - f.k % 4294967296
    LEFT JOIN memory_documents d ON d.id = c.document_id AND d.user_id = ?5 AND COALESCE(d.agent_id, '') = ?6
   ORDER BY f.k`;
/**
 * Matches read by the first page (at least k + 16); each further page reads
 * twice as many, up to FTS_PAGE_MAX: a scope whose matches sit behind many
 * of other users' takes few statements, and no page is unbounded work.
 */
const FTS_PAGE_ROWS = 64;
const FTS_PAGE_MAX = 8192;

// The sort carries only small columns; the few winners' blobs are read after.
const vectorBatch = (from: string, filter: string) => `SELECT c.id, t.path, c.chunk_index, c.embedding AS e, c.embedding_norm AS n FROM (
    SELECT c._rowid AS r, d.path, c.chunk_index, vector_distance_cos(c.embedding, ?1) AS dist
      FROM ${from} JOIN memory_documents d ON d.id = c.document_id
     WHERE ${filter} c.embedding IS NOT NULL
     ORDER BY dist, d.path, c.chunk_index LIMIT ?3) t
  JOIN memory_chunks c ON c._rowid = t.r`;
/** Exact scan: a batch of the scope's documents (?2). */
const SCAN_BATCH = vectorBatch('memory_chunks c', 'c.document_id IN (SELECT value FROM json_each(?2)) AND');
/**
 * Rescoring: a batch of pre-selected chunk rowids (?2), still held to the
 * scope (?4, ?5). CROSS JOIN keeps the rowid list the outer loop: the
 * planner would otherwise walk all of the user's chunks for each batch.
 */
const RESCORE_BATCH = vectorBatch(
  'json_each(?2) j CROSS JOIN memory_chunks c ON c._rowid = j.value',
  "d.user_id = ?4 AND COALESCE(d.agent_id, '') = ?5 AND",
);

interface CandidateRow {
  id: string;
  document_id: string;
  path: string;
  content: string;
}

const toCandidate = (r: CandidateRow): Candidate => ({ chunkId: r.id, documentId: r.document_id, documentPath: r.path, content: r.content });

interface Scored {
  id: string;
  dist: number;
  path: string;
  index: number;
}

/** Distance, then path (binary), then chunk index: the order of both backends. */
const byDistance = (a: Scored, b: Scored) => a.dist - b.dist || compareBinary(a.path, b.path) || a.index - b.index;

/** The scope column of memory_chunks_fts, as the V6 triggers compute it: hex(user_id) || 'x' || hex(agent or ''). */
const scopeToken = (userId: string, agentKey: string) => `${Buffer.from(userId).toString('hex')}x${Buffer.from(agentKey).toString('hex')}`;

async function ftsCandidates(pool: LibsqlPool, userId: string, agentId: string | null, terms: string[], k: number): Promise<Candidate[]> {
  const match = `fts_text : (${fts5Match(terms)}) AND scope : "${scopeToken(userId, agentKey(agentId))}"`;
  let page = Math.max(FTS_PAGE_ROWS, k + 16);
  return pool.read(async (c) => {
    const found: Candidate[] = [];
    // Before the first key: word count 0, a rowid one past the largest.
    let [w, r] = [0, 4294967296];
    for (;;) {
      const rows = await inTurn(() => c.all<CandidateRow & { w: number; r: number; mine: number }>(FTS_PAGE, [match, w, r, page, userId, agentKey(agentId)]));
      for (const row of rows) if (row.mine && found.length < k) found.push(toCandidate(row));
      if (found.length >= k || rows.length < page) return found;
      ({ w, r } = rows[rows.length - 1]!);
      page = Math.min(2 * page, FTS_PAGE_MAX);
    }
  });
}

interface VectorSearch {
  indexes: VectorIndexes;
  /** LIBSQL_VECTOR_CANDIDATES: chunks pre-selected from the codes; 0 = exact scan. */
  candidates: number;
}

async function vectorCandidates(pool: LibsqlPool, search: VectorSearch, userId: string, agentId: string | null, q: Float32Array, k: number): Promise<Candidate[]> {
  const agent = agentKey(agentId);
  // Pre-selected before the reader is taken: loading a scope takes the writer slot.
  const preselected = search.candidates > 0 ? await (await search.indexes.scope(userId, agent)).nearest(q, Math.max(search.candidates, 10 * k)) : null;
  const query = Float64Array.from(q);
  const qn = norm(q);
  const qBlob = embeddingBytes(q);
  // Per batch, SQLite's float32 vector_distance_cos pre-selects the nearest
  // k + margin chunks (same tie-break as the final order); those few are
  // rescored in double precision, so the final top k equals an exact scan's
  // of the same chunks unless more than `margin` of them sit within float32
  // rounding of the cut.
  const preselect = 2 * k + 16;
  return pool.read(async (c) => {
    const batches: [string, ...Param[]][] = [];
    if (preselected) {
      for (let i = 0; i < preselected.length; i += RESCORE_BATCH_CHUNKS) {
        batches.push([RESCORE_BATCH, qBlob, JSON.stringify(preselected.slice(i, i + RESCORE_BATCH_CHUNKS)), preselect, userId, agent]);
      }
    } else {
      const docs = c.all<{ id: string }>(`SELECT id FROM memory_documents WHERE ${SCOPE}`, [userId, agent]);
      for (let i = 0; i < docs.length; i += VECTOR_BATCH_DOCS) {
        batches.push([SCAN_BATCH, qBlob, JSON.stringify(docs.slice(i, i + VECTOR_BATCH_DOCS).map((d) => d.id)), preselect]);
      }
    }
    const scored: Scored[] = [];
    for (const [sql, ...params] of batches) {
      await inTurn(() => {
        for (const r of c.all<{ id: string; path: string; chunk_index: number; e: ArrayBuffer | Uint8Array; n: number }>(sql, params)) {
          const v = floatsOf(r.e);
          if (v.length !== q.length) throw new StoreError('data_loss', `stored embedding of chunk ${r.id} has ${v.length} dimensions, expected ${q.length}`);
          scored.push({ id: r.id, dist: cosineDistance(v, r.n, query, qn), path: r.path, index: r.chunk_index });
        }
      });
    }
    const top = topK(scored, k);
    if (top.length === 0) return [];
    const rows = c.all<CandidateRow>(
      `SELECT c.id, c.document_id, d.path, c.content FROM memory_chunks c JOIN memory_documents d ON d.id = c.document_id
        WHERE c.id IN (SELECT value FROM json_each(?))`,
      [JSON.stringify(top.map((t) => t.id))],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    // A chunk deleted since its batch was scored is simply left out.
    return top.flatMap((t) => {
      const r = byId.get(t.id);
      return r ? [toCandidate(r)] : [];
    });
  });
}

/** The k nearest; k is small, the scan may be large. */
export function topK(scored: Scored[], k: number): Scored[] {
  if (k === 0) return [];
  if (scored.length > 4 * k) {
    // Keep only what can be in the top k before the full comparison sort.
    const threshold = Float64Array.from(scored, (s) => s.dist).sort()[k - 1]!;
    return scored.filter((s) => s.dist <= threshold).sort(byDistance).slice(0, k);
  }
  return scored.sort(byDistance).slice(0, k);
}

/** `owner`: id-keyed methods see only that user's documents and chunks (null: everyone's). */
export function libsqlWorkspace(pool: LibsqlPool, owner: string | null, search: VectorSearch): WorkspaceStore {
  const { indexes } = search;
  /** A write that changes embeddings: its changes reach the loaded codes once it has committed. */
  const writeEmbeddings = (fn: (c: Conn, changes: EmbeddingChanges) => void): Promise<EmbeddingChanges> =>
    pool.write(
      (c) => {
        const changes = indexes.begin(c);
        fn(c, changes);
        return indexes.end(c, changes);
      },
      (changes) => indexes.committed(changes),
    );
  /** The scope key of a document, read only when some scope's codes are loaded. */
  const scopeOf = (c: Conn, documentId: string): string | null => {
    const d = c.get<{ user_id: string; agent_id: string | null }>('SELECT user_id, agent_id FROM memory_documents WHERE id = ?', [documentId]);
    return d ? scopeKey(d.user_id, agentKey(d.agent_id)) : null;
  };
  return {
    getDocumentByPath: (userId, agentId, path) =>
      pool.read((c) => {
        const r = byPath(c, userId, agentId, path);
        if (!r) throw documentNotFound(path, userId);
        return toDoc(r);
      }),

    getDocumentById: (id) =>
      pool.read((c) => {
        const r = c.get<DocRow>(`SELECT ${DOC_COLUMNS} FROM memory_documents WHERE id = ? AND ${OWNER}`, [id, owner]);
        if (!r) throw documentIdNotFound(id);
        return toDoc(r);
      }),

    async getOrCreateDocumentByPath(userId, agentId, path) {
      const found = await pool.read((c) => byPath(c, userId, agentId, path));
      if (found) return toDoc(found);
      return pool.write((c) => {
        const t = ts(now());
        c.run(
          `INSERT INTO memory_documents (id, user_id, agent_id, path, content, created_at, updated_at, metadata)
           VALUES (?, ?, ?, ?, '', ?, ?, '{}') ON CONFLICT DO NOTHING`,
          [randomUUID(), userId, agentId, path, t, t],
        );
        return toDoc(byPath(c, userId, agentId, path)!);
      });
    },

    async updateDocument(id, content) {
      await pool.write((c) => c.run(`UPDATE memory_documents SET content = ?, updated_at = ? WHERE id = ? AND ${OWNER}`, [content, ts(now()), id, owner]));
    },

    async deleteDocumentByPath(userId, agentId, path) {
      await writeEmbeddings((c, changes) => {
        const r = c.get<{ id: string }>(`SELECT id FROM memory_documents WHERE ${SCOPE} AND path = ?`, [userId, agentKey(agentId), path]);
        if (!r) throw documentNotFound(path, userId);
        for (const x of c.all<{ r: number }>('DELETE FROM memory_chunks WHERE document_id = ? RETURNING _rowid AS r', [r.id])) changes.removed.push(x.r);
        c.run('DELETE FROM memory_documents WHERE id = ?', [r.id]);
      });
    },

    listDirectory: (userId, agentId, directory) =>
      pool.read((c) => {
        const prefix = directoryPrefix(directory);
        const cols = 'SELECT path, updated_at, substr(content, 1, 200) AS preview FROM memory_documents';
        const rows =
          prefix === ''
            ? c.all<{ path: string; updated_at: string; preview: string }>(`${cols} WHERE ${SCOPE}`, [userId, agentKey(agentId)])
            : c.all<{ path: string; updated_at: string; preview: string }>(`${cols} WHERE ${SCOPE} AND path >= ? AND path < ?`, [
                userId,
                agentKey(agentId),
                prefix,
                prefixUpperBound(prefix),
              ]);
        return directoryEntries(
          prefix,
          rows.map((r) => ({ path: r.path, updatedAt: readTs('updated_at', r.updated_at), preview: r.preview })),
        );
      }),

    listAllPaths: (userId, agentId) =>
      pool.read((c) => c.all<{ path: string }>(`SELECT path FROM memory_documents WHERE ${SCOPE} ORDER BY path`, [userId, agentKey(agentId)]).map((r) => r.path)),

    listDocuments: (userId, agentId) =>
      pool.read((c) =>
        c.all<DocRow>(`SELECT ${DOC_COLUMNS} FROM memory_documents WHERE ${SCOPE} ORDER BY updated_at DESC, seq DESC`, [userId, agentKey(agentId)]).map(toDoc),
      ),

    async deleteChunks(documentId) {
      await writeEmbeddings((c, changes) => {
        for (const x of c.all<{ r: number }>(`DELETE FROM memory_chunks WHERE document_id = ? AND ${OWNED_CHUNKS} RETURNING _rowid AS r`, [documentId, owner])) {
          changes.removed.push(x.r);
        }
      });
    },

    async insertChunk(documentId, chunkIndex, content, embedding) {
      const { terms, wordCount } = indexTerms(content);
      const id = randomUUID();
      const blob = embedding ? embeddingBytes(embedding) : null;
      const n = embedding ? norm(embedding) : null;
      await writeEmbeddings((c, changes) => {
        // From the document row itself: a document that is missing (or not the owner's) inserts nothing.
        const [r] = c.all<{ r: number }>(
          `INSERT INTO memory_chunks (id, document_id, chunk_index, content, fts_text, word_count, embedding, embedding_norm, created_at)
           SELECT ?, id, ?, ?, ?, ?, ?, ?, ? FROM memory_documents WHERE id = ? AND ${OWNER} RETURNING _rowid AS r`,
          [id, chunkIndex, content, terms.join(' '), wordCount, blob, n, ts(now()), documentId, owner],
        );
        if (!r) throw documentMissing(documentId);
        const scope = embedding && changes.before !== null ? scopeOf(c, documentId) : null;
        if (scope && embedding) changes.set.push({ scope, rowid: r.r, embedding });
      }).catch(chunkInsertFailed(documentId, chunkIndex));
      return id;
    },

    async updateChunkEmbedding(chunkId, embedding) {
      await writeEmbeddings((c, changes) => {
        const [r] = c.all<{ r: number; document_id: string }>(
          `UPDATE memory_chunks SET embedding = ?, embedding_norm = ? WHERE id = ? AND ${OWNED_CHUNKS} RETURNING _rowid AS r, document_id`,
          [embeddingBytes(embedding), norm(embedding), chunkId, owner],
        );
        const scope = r && changes.before !== null ? scopeOf(c, r.document_id) : null;
        if (r && scope) changes.set.push({ scope, rowid: r.r, embedding });
      });
    },

    getChunksWithoutEmbeddings: (userId, agentId, limit) =>
      pool.read((c) =>
        c
          .all<{ id: string; document_id: string; chunk_index: number; content: string; created_at: string }>(
            `SELECT c.id, c.document_id, c.chunk_index, c.content, c.created_at
               FROM memory_documents d JOIN memory_chunks c ON c.document_id = d.id
              WHERE d.user_id = ? AND COALESCE(d.agent_id, '') = ? AND c.embedding IS NULL
              ORDER BY c._rowid LIMIT ?`,
            [userId, agentKey(agentId), limit],
          )
          .map(
            (r): MemoryChunk => ({
              id: r.id,
              documentId: r.document_id,
              chunkIndex: r.chunk_index,
              content: r.content,
              embedding: null,
              createdAt: readTs('created_at', r.created_at),
            }),
          ),
      ),

    async hybridSearch(userId, agentId, query, embedding, config) {
      const terms = queryTerms(query);
      const run = branches(terms, embedding, config);
      const fts = run.fts ? await ftsCandidates(pool, userId, agentId, terms, config.preFusionLimit) : [];
      const vector = run.vector ? await vectorCandidates(pool, search, userId, agentId, embedding!, config.preFusionLimit) : [];
      return fuse(fts, vector, config);
    },
  };
}

/** Records the embedding dimension at boot, or refuses a database holding another one. */
export async function libsqlEmbeddingDimension(pool: LibsqlPool, dimension: number): Promise<void> {
  // Read first: a boot that changes nothing takes no write lock (on an embedded replica, none on the primary).
  const recorded = await pool.read((c) => c.get<{ value: string }>("SELECT value FROM workspace_meta WHERE key = 'embedding_dimension'"));
  if (recorded && Number(recorded.value) === dimension) return;
  await pool.write((c) => {
    const r = c.get<{ value: string }>("SELECT value FROM workspace_meta WHERE key = 'embedding_dimension'");
    if (r && Number(r.value) === dimension) return;
    if (r && c.get('SELECT 1 AS x FROM memory_chunks WHERE embedding IS NOT NULL LIMIT 1')) throw dimensionMismatch(Number(r.value), dimension);
    c.run(
      "INSERT INTO workspace_meta (key, value) VALUES ('embedding_dimension', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      [String(dimension)],
    );
  });
}
