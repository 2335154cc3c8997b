// WorkspaceStore benchmark: InsertChunk throughput and HybridSearch latency
// (FTS-only and hybrid) on libSQL, PostgreSQL without pgvector and PostgreSQL
// with pgvector (PGlite over pglite-socket: BENCH_BACKENDS=pgvector), plus
// the largest event-loop block seen under a mixed search + write load.
//
//   node dist/scripts/bench-workspace.js            # 10k chunks, dimension 384
//   BENCH_CHUNKS=100000 BENCH_BACKENDS=libsql node dist/scripts/bench-workspace.js
//   (also BENCH_DIM, BENCH_WORDS, BENCH_QUERIES, BENCH_LIBSQL_SYNCHRONOUS,
//   BENCH_LIBSQL_VECTOR_CANDIDATES, BENCH_PGVECTOR_EF_SEARCH,
//   BENCH_VECTORS=uniform|clustered)
//
// Vectors (BENCH_VECTORS): "uniform" (default), uniform in [-0.5, 0.5]^DIM,
// the worst case for an approximate index: nearest neighbours are barely
// nearer than any other point; or "clustered", closer to real embeddings:
// CHUNKS/100 centroids uniform in that cube, each vector (stored or query)
// a random centroid plus N(0, 0.1²) noise per dimension. Vector-only and
// hybrid searches report recall@10 against an exact ranking computed here,
// in double precision, over every stored vector of the user (hybrid: the
// same fusion over the exact vector ranking and the full-text candidates).
//
// PostgreSQL: PG_TEST_URL if set, otherwise a throwaway embedded server.
// Timings are of the store layer (what a gRPC handler awaits), not the wire.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pg from 'pg';
import { libsqlBackend, openMigrated, postgresBackend, type TestBackend } from '../test/support/databases.js';
import { pgliteClient, pgvectorBackend } from '../test/support/pglite.js';
import type { Database } from '../src/store/database.js';
import { DEFAULT_SEARCH_CONFIG, type SearchResult } from '../src/store/workspace.js';
import { fuse, type Candidate } from '../src/store/workspace-search.js';

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 10_000);
const DIM = Number(process.env.BENCH_DIM ?? 384);
const WORDS_PER_CHUNK = Number(process.env.BENCH_WORDS ?? 120);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 100);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'libsql,postgres,pgvector').split(',');
const VECTORS = process.env.BENCH_VECTORS ?? 'uniform';
if (VECTORS !== 'uniform' && VECTORS !== 'clustered') throw new Error('BENCH_VECTORS: uniform or clustered');
const CHUNKS_PER_DOC = 10;
const USER = 'bench-user';

// Deterministic data (mulberry32).
let seed = 42;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
// 5000-word vocabulary with a Zipf-like frequency: word i has weight 1/(i+1).
const VOCAB = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`);
const zipf = () => Math.min(VOCAB.length - 1, Math.floor(Math.exp(rand() * Math.log(VOCAB.length + 1))) - 1);
const text = (n: number) => Array.from({ length: n }, () => VOCAB[zipf()]).join(' ');
const uniform = () => Float32Array.from({ length: DIM }, () => rand() - 0.5);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const CENTROIDS = VECTORS === 'clustered' ? Array.from({ length: Math.max(1, Math.round(CHUNKS / 100)) }, uniform) : [];
const vector = () =>
  VECTORS === 'uniform' ? uniform() : Float32Array.from(CENTROIDS[Math.floor(rand() * CENTROIDS.length)]!, (x) => x + 0.1 * gauss());

/** A stored chunk, for the exact ranking. */
interface Stored {
  id: string;
  documentId: string;
  path: string;
  index: number;
  content: string;
  embedding: Float32Array;
  /** Σ x², in double precision, computed once. */
  squares: number;
}

const squares = (e: Float32Array) => e.reduce((sum, x) => sum + x * x, 0);

/** The exact top k of `chunks` for `q`: double-precision cosine distance, ties by path then chunk index. */
function exactTop(chunks: Stored[], q: Float32Array, k: number): Candidate[] {
  const qq = squares(q);
  const scored = chunks.map((c) => {
    let dot = 0;
    for (let i = 0; i < DIM; i++) dot += c.embedding[i]! * q[i]!;
    return { c, d: 1 - dot / Math.sqrt(c.squares * qq) };
  });
  scored.sort((a, b) => a.d - b.d || (a.c.path < b.c.path ? -1 : a.c.path > b.c.path ? 1 : a.c.index - b.c.index));
  return scored.slice(0, k).map(({ c }) => ({ chunkId: c.id, documentId: c.documentId, documentPath: c.path, content: c.content }));
}

/** Mean share of each exact top 10 found in the top 10 returned. */
function recallAt10(got: SearchResult[][], exact: string[][]): number {
  let hits = 0;
  got.forEach((r, i) => {
    const mine = new Set(r.slice(0, 10).map((x) => x.chunkId));
    hits += exact[i]!.slice(0, 10).filter((id) => mine.has(id)).length / Math.min(10, Math.max(1, exact[i]!.length));
  });
  return hits / got.length;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (n: number) => n.toFixed(2);

interface Row {
  backend: string;
  what: string;
  p50: number;
  p99: number;
  opsPerSec: number;
  recall?: number;
}

async function timed(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<{ lat: number[]; opsPerSec: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await op(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  return { lat, opsPerSec: (n / (performance.now() - t0)) * 1000 };
}

async function bench(label: string, backend: TestBackend, rows: Row[]): Promise<void> {
  const base = await backend.config();
  const sync = process.env.BENCH_LIBSQL_SYNCHRONOUS as typeof base.libsqlSynchronous | undefined;
  const candidates = process.env.BENCH_LIBSQL_VECTOR_CANDIDATES;
  const efSearch = process.env.BENCH_PGVECTOR_EF_SEARCH;
  const config = {
    ...base,
    embeddingDimension: DIM,
    ...(sync ? { libsqlSynchronous: sync } : {}),
    ...(candidates ? { libsqlVectorCandidates: Number(candidates) } : {}),
    ...(efSearch ? { pgvectorEfSearch: Number(efSearch) } : {}),
  };
  let db: Database = await openMigrated(config);
  label = `${label} (${db.info().vectorSearchMethod})`;
  try {
    const docs: string[] = [];
    for (let d = 0; d < CHUNKS / CHUNKS_PER_DOC; d++) docs.push((await db.getOrCreateDocumentByPath(USER, null, `docs/${d}.md`)).id);
    // Another user's rows, so the user filter has something to filter.
    const other = (await db.getOrCreateDocumentByPath('someone-else', null, 'x.md')).id;
    for (let i = 0; i < 200; i++) await db.insertChunk(other, i, text(WORDS_PER_CHUNK), vector());

    const stored: Stored[] = [];
    const insert = async (i: number) => {
      const [documentId, path, index, content, embedding] = [docs[Math.floor(i / CHUNKS_PER_DOC)]!, `docs/${Math.floor(i / CHUNKS_PER_DOC)}.md`, i % CHUNKS_PER_DOC, text(WORDS_PER_CHUNK), vector()];
      stored.push({ id: await db.insertChunk(documentId, index, content, embedding), documentId, path, index, content, embedding, squares: squares(embedding) });
    };
    // A first search (libSQL: loads the user's codes), so the timed inserts maintain them.
    await db.hybridSearch(USER, null, '', vector(), DEFAULT_SEARCH_CONFIG);
    const load = await timed(CHUNKS, 8, insert);
    rows.push({ backend: label, what: `InsertChunk (into ${CHUNKS}), 8 concurrent`, p50: pct(load.lat, 50), p99: pct(load.lat, 99), opsPerSec: load.opsPerSec });
    // One at a time into the full table (a pool of one would otherwise count
    // the queue behind 7 others in each call's latency).
    const SINGLE = 200;
    for (let d = CHUNKS / CHUNKS_PER_DOC; d < (CHUNKS + SINGLE) / CHUNKS_PER_DOC; d++) docs.push((await db.getOrCreateDocumentByPath(USER, null, `docs/${d}.md`)).id);
    const single = await timed(SINGLE, 1, (i) => insert(CHUNKS + i));
    rows.push({ backend: label, what: `InsertChunk (into ${CHUNKS}), one at a time`, p50: pct(single.lat, 50), p99: pct(single.lat, 99), opsPerSec: single.opsPerSec });

    // Measure the steady state: refresh planner statistics as autovacuum
    // would shortly after a bulk load (without them PostgreSQL may pick a
    // per-document GIN loop, ~600 ms instead of ~7 ms for a common word, or
    // scan every vector instead of the HNSW index). PGlite runs no
    // autovacuum and serves one connection, held by the pool: the store is
    // closed around the ANALYZE and opened again.
    if (base.databaseUrl) {
      const pglite = label.startsWith('pgvector');
      if (pglite) await db.close();
      const c = pglite ? await pgliteClient(base.databaseUrl) : new pg.Client({ connectionString: base.databaseUrl });
      if (!pglite) await c.connect();
      await c.query('ANALYZE memory_documents; ANALYZE memory_chunks');
      await c.end();
      if (pglite) db = await openMigrated(config);
    }

    const qwords = Array.from({ length: QUERIES }, () => `${VOCAB[zipf()]} ${VOCAB[Math.floor(rand() * 200)]}`);
    const qvecs = Array.from({ length: QUERIES }, vector);
    const cfg = DEFAULT_SEARCH_CONFIG;
    // The exact answers (outside the timings): the vector ranking computed
    // here; hybrid fuses it with the database's full-text candidates, which
    // are exact on every backend.
    const exactVector = qvecs.map((q) => exactTop(stored, q, cfg.preFusionLimit));
    const exactHybrid: string[][] = [];
    for (const [i, q] of qwords.entries()) {
      const fts = await db.hybridSearch(USER, null, q, null, { ...cfg, limit: cfg.preFusionLimit });
      const ftsCandidates = fts.map((r) => ({ chunkId: r.chunkId, documentId: r.documentId, documentPath: r.documentPath, content: r.content }));
      exactHybrid.push(fuse(ftsCandidates, exactVector[i]!, cfg).map((r) => r.chunkId));
    }
    const searches: [string, (i: number) => Promise<SearchResult[]>, string[][] | null][] = [
      ['HybridSearch FTS-only', (i) => db.hybridSearch(USER, null, qwords[i]!, null, cfg), null],
      ['HybridSearch FTS-only, most common word', () => db.hybridSearch(USER, null, VOCAB[0]!, null, cfg), null],
      // A user holding 200 of the chunks, the oldest: their matches rank behind every other user's.
      ['HybridSearch FTS-only, most common word, a user with 200 chunks', () => db.hybridSearch('someone-else', null, VOCAB[0]!, null, cfg), null],
      ['HybridSearch vector-only', (i) => db.hybridSearch(USER, null, '', qvecs[i]!, cfg), exactVector.map((l) => l.map((c) => c.chunkId))],
      ['HybridSearch hybrid (RRF)', (i) => db.hybridSearch(USER, null, qwords[i]!, qvecs[i]!, cfg), exactHybrid],
    ];
    for (const [what, run, exact] of searches) {
      await run(0);
      const got: SearchResult[][] = [];
      const r = await timed(QUERIES, 1, async (i) => (got[i] = await run(i)));
      rows.push({ backend: label, what: `${what} @${CHUNKS}`, p50: pct(r.lat, 50), p99: pct(r.lat, 99), opsPerSec: r.opsPerSec, recall: exact ? recallAt10(got, exact) : undefined });
    }

    if (label.startsWith('libsql')) {
      // A daemon starting on this file: its first vector search loads the codes.
      const fresh = await openMigrated(config);
      const t = performance.now();
      await fresh.hybridSearch(USER, null, '', qvecs[0]!, cfg);
      const ms = performance.now() - t;
      await fresh.close();
      rows.push({ backend: label, what: `first vector search after a restart @${CHUNKS}`, p50: ms, p99: ms, opsPerSec: 1000 / ms });
    }

    // Mixed load: 4 searchers + 2 writers for a fixed number of operations;
    // the event-loop delay histogram shows the longest stall any other RPC
    // would have seen.
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const extra = (await db.getOrCreateDocumentByPath(USER, null, 'mixed.md')).id;
    let idx = 0;
    const mixed = await timed(QUERIES * 2, 6, (i) =>
      i % 3 === 2 ? db.insertChunk(extra, idx++, text(WORDS_PER_CHUNK), vector()) : db.hybridSearch(USER, null, qwords[i % QUERIES]!, qvecs[i % QUERIES]!, cfg),
    );
    h.disable();
    rows.push({ backend: label, what: `mixed 2/3 hybrid search + 1/3 InsertChunk, 6 concurrent: event-loop block max ${fmt(h.max / 1e6)} ms, p99 ${fmt(h.percentile(99) / 1e6)} ms`, p50: pct(mixed.lat, 50), p99: pct(mixed.lat, 99), opsPerSec: mixed.opsPerSec });
  } finally {
    await db.close();
    await backend.cleanup();
  }
}

async function main() {
  const rows: Row[] = [];
  const factories: Record<string, () => TestBackend> = { libsql: libsqlBackend, postgres: postgresBackend, pgvector: pgvectorBackend };
  for (const name of BACKENDS) {
    const f = factories[name];
    if (!f) throw new Error(`BENCH_BACKENDS: unknown backend ${name}`);
    process.stderr.write(`bench-workspace: ${name}, ${CHUNKS} chunks × ${DIM} dimensions…\n`);
    await bench(name, f(), rows);
  }
  process.stdout.write(`\nWorkspaceStore, ${CHUNKS} chunks × ${DIM} dims, ${VECTORS} vectors, ${WORDS_PER_CHUNK} words/chunk; recall@10 against an exact double-precision ranking\n`);
  process.stdout.write('| backend | operation | p50 ms | p99 ms | ops/s | recall@10 |\n|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.backend} | ${r.what} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.opsPerSec.toFixed(0)} | ${r.recall === undefined ? '' : r.recall.toFixed(3)} |\n`);
}

await main();
