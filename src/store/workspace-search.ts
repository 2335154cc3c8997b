// The parts of hybrid search that must be identical on both backends, so
// they are written once, here: the word analyser, the full-text ranking rule,
// the cosine arithmetic and the fusion of the two candidate lists.
//
// Analyser. The daemon, not the database, turns text into words: NFKC,
// lower case, maximal runs of letters, marks and digits; words longer than
// MAX_WORD_CHARS are dropped. Chunks are indexed by that word list (libSQL:
// FTS5 with the `ascii` tokenizer over the space-joined words, which splits
// exactly at the spaces; PostgreSQL: a tsvector built from the words with
// array_to_tsvector, no parser involved), and queries are the same words,
// each quoted as a literal term, all required. So no user text is ever query
// syntax, and both backends match exactly the same chunks. No stemming and
// no stop words: "dog" does not find "dogs", on either backend.
//
// Ranking. Every full-text candidate contains every query word; candidates
// are ordered by their word count, shortest first (a denser match), then
// newest chunk first (libSQL _rowid, PostgreSQL seq: the same numbers, kept by
// `agentstore copy`, and the same order for the same sequence of writes).
// Both are properties of the chunk alone, so each backend keeps its index in
// that order and stops reading at the first pre_fusion_limit matches
// (schema V6) instead of collecting every match and sorting; bm25 (FTS5) and
// ts_rank (PostgreSQL) need every match and would not agree with each other.
//
// Vectors. Cosine distance = 1 − dot(a, b) / (‖a‖ · ‖b‖). Norms are computed
// here, in double precision, when an embedding is written or a query
// arrives; the dot product is a sequential double-precision sum on both
// backends (JavaScript over the stored float32 values on libSQL,
// sum(x::float8 * y::float8) over unnest on PostgreSQL), so distances are
// bit-identical and so are the ranks. Ties break by document path, then
// chunk index.
import type { SearchConfig, SearchResult } from './workspace.js';

export const MAX_WORD_CHARS = 100;
/** Distinct query words used; further words are ignored. */
export const MAX_QUERY_WORDS = 64;

const WORD_RE = /[\p{L}\p{M}\p{N}]+/gu;

/** Every word of `text`, in order, duplicates kept. */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(WORD_RE)) {
    if (m[0].length <= MAX_WORD_CHARS) out.push(m[0]);
  }
  return out;
}

/** What a chunk is indexed by: its distinct words and its word count. */
export function indexTerms(content: string): { terms: string[]; wordCount: number } {
  const all = words(content);
  return { terms: [...new Set(all)], wordCount: all.length };
}

/** The distinct words of a query (at most MAX_QUERY_WORDS); empty = no full-text hits. */
export function queryTerms(query: string): string[] {
  return [...new Set(words(query))].slice(0, MAX_QUERY_WORDS);
}

/** FTS5 MATCH text: every term a quoted literal, implicitly ANDed. Terms hold no quotes. */
export const fts5Match = (terms: string[]): string => terms.map((t) => `"${t}"`).join(' ');

/** PostgreSQL tsquery text: every term a quoted lexeme, ANDed. Terms hold no quotes. */
export const tsquery = (terms: string[]): string => terms.map((t) => `'${t}'`).join(' & ');

export function norm(e: Float32Array): number {
  let s = 0;
  for (let i = 0; i < e.length; i++) s += e[i]! * e[i]!;
  return Math.sqrt(s);
}

/** Cosine distance with the same operation order as the PostgreSQL query. */
export function cosineDistance(stored: Float32Array, storedNorm: number, query: Float64Array, queryNorm: number): number {
  let dot = 0;
  for (let i = 0; i < stored.length; i++) dot += stored[i]! * query[i]!;
  return 1 - dot / (storedNorm * queryNorm);
}

/** Little-endian float32 bytes, the libSQL storage of an embedding. */
export const embeddingBytes = (e: Float32Array): Buffer => {
  const b = Buffer.alloc(e.length * 4);
  for (let i = 0; i < e.length; i++) b.writeFloatLE(e[i]!, i * 4);
  return b;
};

export interface Candidate {
  chunkId: string;
  documentId: string;
  documentPath: string;
  content: string;
}

/**
 * Fuses the ranked branch lists (STORES.md §2.7 step 3): RRF or weighted
 * sum of reciprocal ranks, merge by chunk, normalise so the best is 1.0,
 * drop below min_score, sort, truncate. Ties: ftsRank, vectorRank, chunkId.
 */
export function fuse(fts: Candidate[], vector: Candidate[], config: SearchConfig): SearchResult[] {
  const byChunk = new Map<string, SearchResult>();
  const contribution = (rank: number, weight: number) =>
    config.fusionStrategy === 'rrf' ? 1 / (config.rrfK + rank) : weight * (1 / rank);
  const add = (list: Candidate[], branch: 'fts' | 'vector') => {
    list.forEach((c, i) => {
      const rank = i + 1;
      const score = contribution(rank, branch === 'fts' ? config.ftsWeight : config.vectorWeight);
      let r = byChunk.get(c.chunkId);
      if (!r) {
        r = { documentId: c.documentId, documentPath: c.documentPath, chunkId: c.chunkId, content: c.content, score: 0, ftsRank: null, vectorRank: null };
        byChunk.set(c.chunkId, r);
      }
      r.score += score;
      if (branch === 'fts') r.ftsRank = rank;
      else r.vectorRank = rank;
    });
  };
  add(fts, 'fts');
  add(vector, 'vector');
  let results = [...byChunk.values()];
  const max = results.reduce((m, r) => Math.max(m, r.score), 0);
  if (max > 0) for (const r of results) r.score /= max;
  if (config.minScore > 0) results = results.filter((r) => r.score >= config.minScore);
  const rank = (x: number | null) => x ?? Number.POSITIVE_INFINITY;
  results.sort(
    (a, b) =>
      b.score - a.score ||
      rank(a.ftsRank) - rank(b.ftsRank) ||
      rank(a.vectorRank) - rank(b.vectorRank) ||
      (a.chunkId < b.chunkId ? -1 : a.chunkId > b.chunkId ? 1 : 0),
  );
  return results.slice(0, config.limit);
}

/** Which branches run (STORES.md §2.7 steps 1, 2, 4). */
export const branches = (query: string[], embedding: Float32Array | null, config: SearchConfig) => ({
  fts: config.useFts && query.length > 0 && config.preFusionLimit > 0,
  vector: config.useVector && embedding !== null && config.preFusionLimit > 0,
});
