// WorkspaceStore benchmark: InsertChunk throughput and HybridSearch latency
// (FTS-only and hybrid) on libSQL, PostgreSQL without pgvector and PostgreSQL
// with pgvector (PGlite over pglite-socket: BENCH_BACKENDS=pgvector), plus
// the largest event-loop block seen under a mixed search + write load.
//
//   node dist/scripts/bench-workspace.js            # 10k chunks, dimension 384
//   BENCH_CHUNKS=100000 BENCH_BACKENDS=libsql node dist/scripts/bench-workspace.js
//   (also BENCH_DIM, BENCH_WORDS, BENCH_QUERIES, BENCH_LIBSQL_SYNCHRONOUS,
//   BENCH_LIBSQL_VECTOR_CANDIDATES, BENCH_VECTORS=uniform|clustered)
//
// Vectors are uniform in [-0.5, 0.5]^dim by default: no structure at all, the
// worst case for any approximate method. BENCH_VECTORS=clustered draws them
// around 100 random centroids (noise of the same scale), closer to real
// embeddings. Recall@10 is measured against an exact ranking computed here,
// in double precision, from the vectors the benchmark generated: for
// vector-only, the true 10 nearest; for hybrid, the spec's fusion (the
// shared fuse()) of the backend's own full-text candidates with the true
// vector top pre_fusion_limit.
//
// PostgreSQL: PG_TEST_URL if set, otherwise a throwaway embedded server.
// Timings are of the store layer (what a gRPC handler awaits), not the wire.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pg from 'pg';
import { libsqlBackend, openMigrated, postgresBackend, type TestBackend } from '../test/support/databases.js';
import { pgvectorBackend } from '../test/support/pglite.js';
import type { Database } from '../src/store/database.js';
import { DEFAULT_SEARCH_CONFIG, type SearchResult } from '../src/store/workspace.js';
import { fuse, type Candidate } from '../src/store/workspace-search.js';

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 10_000);
const DIM = Number(process.env.BENCH_DIM ?? 384);
const WORDS_PER_CHUNK = Number(process.env.BENCH_WORDS ?? 120);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 100);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'libsql,postgres,pgvector').split(',');
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
const DISTRIBUTION = process.env.BENCH_VECTORS ?? 'uniform';
if (DISTRIBUTION !== 'uniform' && DISTRIBUTION !== 'clustered') throw new Error('BENCH_VECTORS: uniform or clustered');
const uniform = () => Float32Array.from({ length: DIM }, () => rand() - 0.5);
const CENTROIDS = Array.from({ length: 100 }, uniform);
const vector = () => {
  if (DISTRIBUTION === 'uniform') return uniform();
  const c = CENTROIDS[Math.floor(rand() * CENTROIDS.length)]!;
  return Float32Array.from(c, (x) => x + 0.5 * (rand() - 0.5));
};

/** Exact cosine distances in double precision, for the recall reference. */
function exactNearest(all: Map<string, Float32Array>, q: Float32Array, k: number): string[] {
  let qq = 0;
  for (const x of q) qq += x * x;
  const scored: { id: string; d: number }[] = [];
  for (const [id, v] of all) {
    let dot = 0;
    let vv = 0;
    for (let i = 0; i < v.length; i++) {
      dot += v[i]! * q[i]!;
      vv += v[i]! * v[i]!;
    }
    scored.push({ id, d: 1 - dot / Math.sqrt(vv * qq) });
  }
  return scored.sort((a, b) => a.d - b.d).slice(0, k).map((s) => s.id);
}

const recallAt10 = (got: SearchResult[], want: string[]) => {
  const top = new Set(want.slice(0, 10));
  return got.slice(0, 10).filter((r) => top.has(r.chunkId)).length / Math.max(1, Math.min(10, top.size));
};

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
  const db: Database = await openMigrated({
    ...base,
    embeddingDimension: DIM,
    ...(sync ? { libsqlSynchronous: sync } : {}),
    ...(candidates ? { libsqlVectorCandidates: Number(candidates) } : {}),
  });
  const method = db.info().vectorSearchMethod;
  try {
    const docs: string[] = [];
    for (let d = 0; d < CHUNKS / CHUNKS_PER_DOC; d++) docs.push((await db.getOrCreateDocumentByPath(USER, null, `docs/${d}.md`)).id);
    // Another user's rows, so the user filter has something to filter.
    const other = (await db.getOrCreateDocumentByPath('someone-else', null, 'x.md')).id;
    for (let i = 0; i < 200; i++) await db.insertChunk(other, i, text(WORDS_PER_CHUNK), vector());

    const stored = new Map<string, Float32Array>();
    const insert = async (i: number) => {
      const v = vector();
      stored.set(await db.insertChunk(docs[Math.floor(i / CHUNKS_PER_DOC)]!, i % CHUNKS_PER_DOC, text(WORDS_PER_CHUNK), v), v);
    };
    // A first search (libSQL: loads the user's codes), so the timed inserts maintain them.
    await db.hybridSearch(USER, null, '', vector(), DEFAULT_SEARCH_CONFIG);
    const load = await timed(CHUNKS, 8, insert);
    rows.push({ backend: label, what: `InsertChunk (into ${CHUNKS})`, p50: pct(load.lat, 50), p99: pct(load.lat, 99), opsPerSec: load.opsPerSec });

    // Measure the steady state: refresh planner statistics as autovacuum
    // would shortly after a bulk load (without them PostgreSQL may pick a
    // per-document GIN loop, ~600 ms instead of ~7 ms for a common word).
    // (PGlite serves one connection, held by the pool: it is left as it is.)
    if (label === 'postgres' && base.databaseUrl) {
      const c = new pg.Client({ connectionString: base.databaseUrl });
      await c.connect();
      await c.query('ANALYZE memory_documents; ANALYZE memory_chunks');
      await c.end();
    }

    const qwords = Array.from({ length: QUERIES }, () => `${VOCAB[zipf()]} ${VOCAB[Math.floor(rand() * 200)]}`);
    const qvecs = Array.from({ length: QUERIES }, vector);
    const cfg = DEFAULT_SEARCH_CONFIG;
    const results: SearchResult[][] = [];
    for (const [what, run] of [
      ['HybridSearch FTS-only', (i: number) => db.hybridSearch(USER, null, qwords[i]!, null, cfg)],
      ['HybridSearch FTS-only, most common word', () => db.hybridSearch(USER, null, VOCAB[0]!, null, cfg)],
      ['HybridSearch vector-only', (i: number) => db.hybridSearch(USER, null, '', qvecs[i]!, cfg)],
      ['HybridSearch hybrid (RRF)', (i: number) => db.hybridSearch(USER, null, qwords[i]!, qvecs[i]!, cfg)],
    ] as const) {
      await run(0);
      const r = await timed(QUERIES, 1, async (i) => (results[i] = await run(i)));
      let recall: number | undefined;
      if (what === 'HybridSearch vector-only') {
        recall = results.reduce((sum, got, i) => sum + recallAt10(got, exactNearest(stored, qvecs[i]!, 10)), 0) / QUERIES;
      } else if (what === 'HybridSearch hybrid (RRF)') {
        let sum = 0;
        for (let i = 0; i < QUERIES; i++) {
          const fts: Candidate[] = await db.hybridSearch(USER, null, qwords[i]!, null, { ...cfg, limit: cfg.preFusionLimit });
          const vec: Candidate[] = exactNearest(stored, qvecs[i]!, cfg.preFusionLimit).map((chunkId) => ({ chunkId, documentId: '', documentPath: '', content: '' }));
          sum += recallAt10(results[i]!, fuse(fts, vec, cfg).map((x) => x.chunkId));
        }
        recall = sum / QUERIES;
      }
      rows.push({ backend: label, what: `${what} @${CHUNKS}`, p50: pct(r.lat, 50), p99: pct(r.lat, 99), opsPerSec: r.opsPerSec, recall });
    }
    if (label === 'libsql') {
      // A daemon starting on this file: its first vector search loads the codes.
      const fresh = await openMigrated({ ...base, embeddingDimension: DIM, ...(candidates ? { libsqlVectorCandidates: Number(candidates) } : {}) });
      const t = performance.now();
      await fresh.hybridSearch(USER, null, '', qvecs[0]!, cfg);
      const ms = performance.now() - t;
      await fresh.close();
      rows.push({ backend: label, what: `first vector search after a restart @${CHUNKS} (${method})`, p50: ms, p99: ms, opsPerSec: 1000 / ms });
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
  process.stdout.write(`\nWorkspaceStore, ${CHUNKS} chunks × ${DIM} dims (${DISTRIBUTION} vectors), ${WORDS_PER_CHUNK} words/chunk\n`);
  process.stdout.write('| backend | operation | p50 ms | p99 ms | ops/s | recall@10 |\n|---|---|---|---|---|---|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.backend} | ${r.what} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.opsPerSec.toFixed(0)} | ${r.recall === undefined ? '' : r.recall.toFixed(3)} |\n`);
  }
}

await main();
