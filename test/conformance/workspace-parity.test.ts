// Both backends, one corpus: the same hybrid-search queries must give the
// same ranked chunks, ranks and scores on libSQL and PostgreSQL (full-text
// only, vector only, RRF and weighted hybrid), on PostgreSQL also with
// pgvector, through its HNSW index and with exact scans (PGVECTOR_INDEX=off).
// The HNSW path is approximate; it is held to identical ranks here because
// its candidates cover every chunk: scopes smaller than the candidates
// wanted go to the exact scan, and PGVECTOR_EF_SEARCH=1000 exceeds every
// chunk of this database, so the graph search reaches them all (what the
// index gives up on large sets is measured by scripts/bench-workspace.ts;
// test/conformance/pgvector.test.ts covers its user filter). Also the boot
// rule for the recorded embedding dimension, on both backends.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../src/config.js';
import type { Database } from '../../src/store/database.js';
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from '../../src/store/workspace.js';
import { libsqlBackend, openMigrated, postgresBackend, type TestBackend } from '../support/databases.js';
import { pgvectorBackend } from '../support/pglite.js';
import { assertStoreError, rng } from './util.js';

const DIM = 32;
const USER = 'parity-user';

// A fixed English corpus with the punctuation that trips query parsers and
// text-search parsers alike: hyphens, apostrophes, e-mail addresses, URLs,
// decimals, versions, paths, accents, mixed case, repeated words.
const TEXTS = [
  'The quarterly roadmap review is scheduled for Monday at 10:30.',
  "George's 1:1 meeting notes: discuss the roadmap, hiring and the budget.",
  'Budget approved: $12,500 for Q3 (see finance@example.com for details).',
  'Deploy v2.3.1 to staging; roll back if error-rate > 0.5%.',
  'Read https://docs.example.com/guide/setup-steps before onboarding.',
  'The café on Rue Saint-Honoré serves crêpes and coffee.',
  'Dogs and cats: the dog barked, the cats slept.',
  'A dog is not a cat, and a cat is not a dog.',
  'Roadmap roadmap roadmap: repetition does not change the word count rule.',
  'Notes on the /var/log/agentstore.log rotation policy.',
  'Remember: the user prefers tea over coffee in the morning.',
  'Hiring plan: two engineers, one designer, a product-manager.',
  'The budget meeting moved to Tuesday; George cannot attend.',
  'Pi is roughly 3.14159 and e is roughly 2.71828.',
  'AND OR NOT NEAR are ordinary words here, not operators.',
  'Self-hosted PostgreSQL 16 with pgvector, or libSQL on a laptop.',
  'The roadmap lists search, sync and backups for the next release.',
  'Coffee, coffee, and more coffee before the 9am stand-up.',
  'E-mail alice@example.org and bob@example.org about the off-site.',
  'Travel: Zürich on the 3rd, München on the 5th, back on the 7th.',
  'CamelCaseWords and snake_case_words and kebab-case-words.',
  'Emoji are not words 🎉 but the words around them are.',
  'The meeting notes were short.',
  'Short.',
];

function vectors(n: number, seed: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: DIM }, r));
}

const EMBEDDINGS = vectors(TEXTS.length, 7);
// Two chunks with identical embeddings: their tie must break the same way.
EMBEDDINGS[23] = EMBEDDINGS[22]!;
const QUERY_VECTORS = vectors(6, 99);

const QUERIES = ['roadmap', 'meeting notes', 'George', 'budget', 'coffee', 'dog', 'cats', 'example com', 'café', 'zurich', 'Zürich', '3 14159', 'v2 3 1', 'AND', 'not', 'snake_case_words', 'kebab-case', 'the', '', '"roadmap" OR budget', 'nothing-matches-this'];

async function load(db: Database): Promise<Map<string, string>> {
  const keyOf = new Map<string, string>();
  // Two documents per agent scope, chunks spread over paths so ties by word
  // count are broken by path and chunk index.
  for (let i = 0; i < TEXTS.length; i++) {
    const path = `notes/${String.fromCharCode(97 + (i % 5))}.md`;
    const d = await db.getOrCreateDocumentByPath(USER, null, path);
    const id = await db.insertChunk(d.id, i, TEXTS[i]!, i % 7 === 6 ? null : EMBEDDINGS[i]!);
    keyOf.set(id, `${path}#${i}`);
  }
  return keyOf;
}

type Run = { name: string; query: string; embedding: Float32Array | null; config: SearchConfig };

function runs(): Run[] {
  const out: Run[] = [];
  const base = DEFAULT_SEARCH_CONFIG;
  for (const q of QUERIES) out.push({ name: `fts ${JSON.stringify(q)}`, query: q, embedding: null, config: { ...base, limit: 50 } });
  QUERY_VECTORS.forEach((v, i) => {
    out.push({ name: `vector #${i}`, query: '', embedding: v, config: { ...base, limit: 50 } });
    out.push({ name: `vector #${i} k=5`, query: '', embedding: v, config: { ...base, preFusionLimit: 5 } });
    for (const q of ['roadmap', 'the', 'coffee meeting', 'George']) {
      out.push({ name: `rrf ${q} #${i}`, query: q, embedding: v, config: { ...base, limit: 50 } });
      out.push({
        name: `weighted ${q} #${i}`,
        query: q,
        embedding: v,
        config: { ...base, fusionStrategy: 'weighted', ftsWeight: 0.3, vectorWeight: 0.7, minScore: 0.2, preFusionLimit: 8 },
      });
    }
  });
  return out;
}

const withDim = async (b: TestBackend, dim: number, given?: Config): Promise<Config> => ({ ...(given ?? (await b.config())), embeddingDimension: dim });

describe('workspace parity: libSQL, PostgreSQL and PostgreSQL with pgvector rank the same corpus identically', () => {
  // libSQL twice: pre-selecting from its in-memory codes (the default; every
  // corpus here is smaller than the candidate count, so the candidates cover
  // every chunk) and as an exact scan (LIBSQL_VECTOR_CANDIDATES=0). The
  // pgvector paths are PGlite with pgvector over pglite-socket, through the
  // HNSW index (ef_search high enough for its candidates to cover the corpus)
  // and as an exact scan.
  const backends = [libsqlBackend(), postgresBackend(), pgvectorBackend({ PGVECTOR_EF_SEARCH: '1000' }), pgvectorBackend({ PGVECTOR_INDEX: 'off' }), libsqlBackend()];
  const overrides: Partial<Config>[] = [{}, {}, {}, {}, { libsqlVectorCandidates: 0 }];
  const names = ['postgres', 'pgvector (HNSW)', 'pgvector (exact)', "libsql's exact scan"];
  const dbs: Database[] = [];
  const keys: Map<string, string>[] = [];
  before(async () => {
    for (const [i, b] of backends.entries()) {
      const db = await openMigrated({ ...(await withDim(b, DIM)), ...overrides[i] });
      dbs.push(db);
      keys.push(await load(db));
    }
  });
  after(async () => {
    for (const db of dbs) await db.close();
    for (const b of backends) await b.cleanup();
  });

  it('each backend reports its vector search method', () => {
    assert.deepEqual(
      dbs.map((db) => db.info().vectorSearchMethod),
      ['quantized_rescored', 'exact', 'pgvector_hnsw', 'pgvector', 'exact'],
    );
  });

  it('same results, ranks and scores for every query', async () => {
    let nonEmpty = 0;
    for (const r of runs()) {
      const [a, ...others] = await Promise.all(
        dbs.map(async (db, i) =>
          (await db.hybridSearch(USER, null, r.query, r.embedding, r.config)).map((x) => ({
            key: keys[i]!.get(x.chunkId),
            path: x.documentPath,
            content: x.content,
            score: x.score,
            ftsRank: x.ftsRank,
            vectorRank: x.vectorRank,
          })),
        ),
      );
      others.forEach((b, i) => assert.deepEqual(b, a, `${r.name}: ${names[i]} differs from libsql`));
      if (a!.length > 0) nonEmpty++;
    }
    assert.ok(nonEmpty > 40, `only ${nonEmpty} queries found anything`);
  });

  it('vector-only top-k agrees when k cuts a larger set (pre-selection paths included)', async () => {
    const many = vectors(200, 5);
    for (let i = 0; i < 200; i += 17) many[i] = many[0]!.map((x) => x * 3);
    const keyed: Map<string, string>[] = [];
    for (const db of dbs) {
      const m = new Map<string, string>();
      for (let d = 0; d < 4; d++) {
        const doc = await db.getOrCreateDocumentByPath('parity-user-2', null, `m/${d}.md`);
        for (let i = 0; i < 50; i++) m.set(await db.insertChunk(doc.id, i, `chunk ${i}`, many[d * 50 + i]!), `m/${d}.md#${i}`);
      }
      keyed.push(m);
    }
    for (const q of [...QUERY_VECTORS, many[0]!]) {
      for (const k of [1, 5, 20]) {
        const lists = await Promise.all(
          dbs.map(async (db, i) => (await db.hybridSearch('parity-user-2', null, '', q, { ...DEFAULT_SEARCH_CONFIG, preFusionLimit: k, limit: k })).map((x) => keyed[i]!.get(x.chunkId))),
        );
        assert.equal(lists[0]!.length, k);
        lists.slice(1).forEach((l, i) => assert.deepEqual(l, lists[0], `k=${k}: ${names[i]}`));
      }
    }
  });

  it('full-text matches whole words only, without stemming, on every backend', async () => {
    for (const [i, db] of dbs.entries()) {
      const hits = async (q: string) => (await db.hybridSearch(USER, null, q, null, { ...DEFAULT_SEARCH_CONFIG, limit: 50 })).map((x) => keys[i]!.get(x.chunkId));
      assert.deepEqual(await hits('dog'), ['notes/b.md#6', 'notes/c.md#7'], 'dog: shortest chunk first');
      assert.equal((await hits('dogs')).length, 1);
      assert.equal((await hits('kebab-case')).length, 1, 'hyphenated words are two words');
      assert.equal((await hits('example com')).length, 2, 'addresses are words too');
      assert.equal((await hits('zurich')).length, 0, 'accents are kept');
      assert.equal((await hits('ZÜRICH')).length, 1);
    }
  });
});

describe('recorded embedding dimension', () => {
  for (const factory of [libsqlBackend, postgresBackend]) {
    it(`${factory().name}: a database holding embeddings of another dimension refuses to boot`, async () => {
      const b = factory();
      try {
        const config = await withDim(b, 8);
        const db = await openMigrated(config);
        assert.equal(db.info().embeddingDimension, 8);
        const d = await db.getOrCreateDocumentByPath('u', null, 'a.md');
        const chunk = await db.insertChunk(d.id, 0, 'text', null);
        await db.close();

        // No embeddings stored yet: a new dimension is simply recorded.
        const db16 = await openMigrated({ ...config, embeddingDimension: 16 });
        await db16.updateChunkEmbedding(chunk, Float32Array.from({ length: 16 }, () => 1));
        await db16.close();

        const db8 = (await import('../../src/backends/open.js')).openDatabase({ ...config, embeddingDimension: 8 });
        await assertStoreError(db8.runMigrations(), 'failed_precondition', /EMBEDDING_DIMENSION.*dimension 16.*EMBEDDING_DIMENSION is 8/);
        await db8.close();
      } finally {
        await b.cleanup();
      }
    });
  }
});
