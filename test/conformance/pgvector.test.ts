// The pgvector path on its own (PGlite with pgvector over pglite-socket):
// the HNSW index the daemon keeps at boot, and the user filter applied
// before the top-k when candidates come from that approximate index.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Config } from '../../src/config.js';
import { PgPool } from '../../src/backends/postgres/pool.js';
import { pgDropOtherVectorIndexes } from '../../src/backends/postgres/workspace.js';
import { DEFAULT_SEARCH_CONFIG } from '../../src/store/workspace.js';
import { openMigrated } from '../support/databases.js';
import { pgliteClient, pgvectorBackend } from '../support/pglite.js';

const DIM = 16;

async function hnswIndexes(config: Config): Promise<string[]> {
  const c = await pgliteClient(config.databaseUrl!);
  try {
    const r = await c.query<{ name: string; def: string }>(
      "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'memory_chunks' AND indexdef LIKE '%hnsw%' ORDER BY 1",
    );
    return r.rows.map((x) => `${x.name}: ${x.def.replace(/^.* USING /, '')}`);
  } finally {
    await c.end();
  }
}

describe('pgvector', () => {
  const backend = pgvectorBackend();
  after(() => backend.cleanup());

  it('boot keeps one HNSW index for the configured dimension; PGVECTOR_INDEX=off drops it', async () => {
    const config = { ...(await backend.config()), embeddingDimension: 8 };
    const reopen = async (c: Config, expected: string) => {
      const db = await openMigrated(c);
      assert.equal(db.info().vectorSearchMethod, expected);
      await db.close();
    };
    await reopen(config, 'pgvector_hnsw');
    assert.deepEqual(await hnswIndexes(config), ['idx_memory_chunks_embedding_hnsw_8: hnsw (((embedding)::vector(8)) vector_cosine_ops)']);
    await reopen(config, 'pgvector_hnsw');
    assert.equal((await hnswIndexes(config)).length, 1, 'a second boot leaves it as it is');

    // No embeddings stored: a new dimension replaces the index, whose cast
    // would otherwise refuse the new embeddings.
    const config16 = { ...config, embeddingDimension: 16 };
    const db = await openMigrated(config16);
    const d = await db.getOrCreateDocumentByPath('u', null, 'a.md');
    await db.insertChunk(d.id, 0, 'sixteen', Float32Array.from({ length: 16 }, (_, i) => i + 1));
    await db.close();
    assert.deepEqual(await hnswIndexes(config16), ['idx_memory_chunks_embedding_hnsw_16: hnsw (((embedding)::vector(16)) vector_cosine_ops)']);

    await reopen({ ...config16, pgvectorIndex: 'off' }, 'pgvector');
    assert.deepEqual(await hnswIndexes(config16), []);
    // Above pgvector's 2000-dimension limit for HNSW there is no index either.
    const wide = { ...config16, embeddingDimension: 2001 };
    const c = await pgliteClient(config.databaseUrl!);
    await c.query('UPDATE memory_chunks SET embedding = NULL, embedding_norm = NULL');
    await c.end();
    await reopen(wide, 'pgvector');
    assert.deepEqual(await hnswIndexes(wide), []);
  });

  it('a copy into a database set up for another dimension drops that index, keeping one of its own dimension', async () => {
    const config = { ...(await backend.config()), embeddingDimension: 8 };
    await (await openMigrated(config)).close();
    // PGlite serves one connection at a time and shares one session: clear
    // the daemon's named statements, then retry while the last connection
    // is still closing.
    const drop = async (dimension: number): Promise<string[]> => {
      await (await pgliteClient(config.databaseUrl!)).end();
      for (let attempt = 0; ; attempt++) {
        const pool = new PgPool({ url: config.databaseUrl!, size: 1, acquireTimeoutMs: config.acquireTimeoutMs });
        try {
          return await pgDropOtherVectorIndexes(pool, dimension);
        } catch (e) {
          if (attempt === 50) throw e;
          await new Promise((r) => setTimeout(r, 20));
        } finally {
          await pool.close();
        }
      }
    };
    assert.deepEqual(await drop(8), ['idx_memory_chunks_embedding_hnsw_8']);
    assert.equal((await hnswIndexes(config)).length, 1, 'the index of the incoming dimension stays');
    await drop(16);
    assert.deepEqual(await hnswIndexes(config), [], 'an index whose cast would refuse 16-dimension chunks is gone');
  });

  it('through the index, a user gets k hits, in exact order, despite many nearer chunks of another user', async () => {
    const config = { ...(await backend.config()), embeddingDimension: DIM };
    const db = await openMigrated(config);
    try {
      assert.equal(db.info().vectorSearchMethod, 'pgvector_hnsw');
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
      const q = Float32Array.from({ length: DIM }, rnd);
      // 2000 chunks of someone else right around the query, then 200 of ours
      // farther away: the index meets all of the crowd first.
      const crowd = await db.getOrCreateDocumentByPath('crowd', null, 'crowd.md');
      for (let i = 0; i < 2000; i++) await db.insertChunk(crowd.id, i, 'x', q.map((x) => x + 0.05 * rnd()));
      const mine = await db.getOrCreateDocumentByPath('me', null, 'mine.md');
      const dist = new Map<string, number>();
      const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
      for (let i = 0; i < 200; i++) {
        const e = Float32Array.from({ length: DIM }, rnd);
        dist.set(await db.insertChunk(mine.id, i, 'y', e), 1 - dot(e, q) / Math.sqrt(dot(e, e) * dot(q, q)));
      }
      const r = await db.hybridSearch('me', null, '', q, { ...DEFAULT_SEARCH_CONFIG, preFusionLimit: 10, limit: 10 });
      assert.equal(r.length, 10);
      assert.ok(r.every((x) => x.documentPath === 'mine.md'));
      const got = r.map((x) => dist.get(x.chunkId)!);
      assert.deepEqual(got, [...got].sort((a, b) => a - b), 'ranked by exact distance');
    } finally {
      await db.close();
    }
  });
});
