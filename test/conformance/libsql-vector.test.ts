// libSQL's vector pre-selection from in-memory 1-bit codes: what it still
// guarantees when the candidates do not cover every chunk (each result is
// exactly scored and ranked; recall against the exact scan on the same
// data), and that the codes follow every change to embeddings — the
// daemon's own writes, and writes by another connection to the same file.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Libsql from 'libsql';
import type { Config } from '../../src/config.js';
import type { Database } from '../../src/store/database.js';
import { DEFAULT_SEARCH_CONFIG } from '../../src/store/workspace.js';
import { embeddingBytes } from '../../src/store/workspace-search.js';
import { libsqlBackend, openMigrated } from '../support/databases.js';
import { rng } from './util.js';

const DIM = 48;
const USER = 'vector-user';

const random = rng(11);
const vector = () => Float32Array.from({ length: DIM }, random);

const vectorOnly = (db: Database, q: Float32Array, k: number, userId = USER) =>
  db.hybridSearch(userId, null, '', q, { ...DEFAULT_SEARCH_CONFIG, preFusionLimit: k, limit: k });

describe('libSQL vector pre-selection', () => {
  const backend = libsqlBackend();
  let config: Config;
  let fewCandidates: Database;
  let exact: Database;
  let doc: string;
  const stored: Float32Array[] = [];

  before(async () => {
    config = { ...(await backend.config()), embeddingDimension: DIM };
    // 40 candidates of 600 chunks: pre-selection decides what is found.
    fewCandidates = await openMigrated({ ...config, libsqlVectorCandidates: 40 });
    exact = await openMigrated({ ...config, libsqlVectorCandidates: 0 });
    doc = (await fewCandidates.getOrCreateDocumentByPath(USER, null, 'a.md')).id;
    for (let i = 0; i < 600; i++) {
      stored.push(vector());
      await fewCandidates.insertChunk(doc, i, `chunk ${i}`, stored[i]!);
    }
    // Another user's chunks, closer to every query than any of USER's: never returned, never crowding USER's out.
    const other = (await fewCandidates.getOrCreateDocumentByPath('other-user', null, 'b.md')).id;
    for (let i = 0; i < 50; i++) await fewCandidates.insertChunk(other, i, `other ${i}`, stored[i]!.map((x) => x * 2));
  });
  after(async () => {
    await fewCandidates.close();
    await exact.close();
    await backend.cleanup();
  });

  it('reports its method', () => {
    assert.equal(fewCandidates.info().vectorSearchMethod, 'quantized_rescored');
    assert.equal(exact.info().vectorSearchMethod, 'exact');
  });

  it('finds most of the exact top 10, ranked as the exact scan ranks them, only among the user’s chunks', async () => {
    let found = 0;
    for (let i = 0; i < 20; i++) {
      const q = vector();
      const want = (await vectorOnly(exact, q, 10)).map((r) => r.chunkId);
      const got = (await vectorOnly(fewCandidates, q, 10)).map((r) => r.chunkId);
      assert.equal(got.length, 10);
      found += got.filter((id) => want.includes(id)).length;
      // Whatever it found of the exact top 10 comes in the exact order.
      assert.deepEqual(
        got.filter((id) => want.includes(id)),
        want.filter((id) => got.includes(id)),
      );
    }
    // Uniform random vectors, 40 candidates of 600: the worst case, still most of the true neighbours.
    assert.ok(found / 200 >= 0.7, `recall@10 ${found / 200}`);
  });

  it('a chunk equal to the query is found first; with the candidates covering every chunk the result is exact', async () => {
    const all = await openMigrated(config);
    try {
      for (const i of [0, 123, 599]) {
        const [top] = await vectorOnly(fewCandidates, stored[i]!, 1);
        assert.equal(top?.content, `chunk ${i}`);
        const q = vector();
        assert.deepEqual(
          (await vectorOnly(all, q, 20)).map((r) => r.chunkId),
          (await vectorOnly(exact, q, 20)).map((r) => r.chunkId),
        );
      }
    } finally {
      await all.close();
    }
  });

  it("follows the daemon's own inserts, embedding updates and deletes", async () => {
    const db = fewCandidates;
    const q = vector();
    await vectorOnly(db, q, 5); // codes loaded
    const d = await db.getOrCreateDocumentByPath(USER, null, 'own.md');
    const inserted = await db.insertChunk(d.id, 0, 'inserted', q);
    assert.equal((await vectorOnly(db, q, 1))[0]?.chunkId, inserted);

    const unembedded = await db.insertChunk(d.id, 1, 'embedded later', null);
    const q2 = vector();
    await db.updateChunkEmbedding(unembedded, q2);
    assert.equal((await vectorOnly(db, q2, 1))[0]?.chunkId, unembedded);
    const q3 = vector();
    await db.updateChunkEmbedding(unembedded, q3);
    assert.equal((await vectorOnly(db, q3, 1))[0]?.chunkId, unembedded);

    await db.deleteChunks(d.id);
    assert.notEqual((await vectorOnly(db, q, 1))[0]?.chunkId, inserted);
    const again = await db.insertChunk(d.id, 0, 'again', q);
    assert.equal((await vectorOnly(db, q, 1))[0]?.chunkId, again);
    await db.deleteDocumentByPath(USER, null, 'own.md');
    assert.ok(!(await vectorOnly(db, q, 5)).some((r) => r.chunkId === again));
  });

  it('a failed insert leaves the codes as they were', async () => {
    const d = await fewCandidates.getOrCreateDocumentByPath(USER, null, 'dup.md');
    const q = vector();
    const first = await fewCandidates.insertChunk(d.id, 0, 'first', q);
    await assert.rejects(fewCandidates.insertChunk(d.id, 0, 'duplicate index', q.map((x) => -x)));
    assert.equal((await vectorOnly(fewCandidates, q, 1))[0]?.chunkId, first);
    await fewCandidates.deleteDocumentByPath(USER, null, 'dup.md');
  });

  it('sees changes written to the file by another connection', async () => {
    const db = fewCandidates;
    const q = vector();
    await vectorOnly(db, q, 5); // codes loaded
    // Another daemon on the same file.
    const other = await openMigrated(config);
    const d = await other.getOrCreateDocumentByPath(USER, null, 'other-daemon.md');
    const id = await other.insertChunk(d.id, 0, 'from another daemon', q);
    await other.close();
    assert.equal((await vectorOnly(db, q, 1))[0]?.chunkId, id);

    // A manual UPDATE through any SQLite client.
    const q2 = vector();
    const raw = new Libsql(config.libsqlPath);
    try {
      raw.prepare('UPDATE memory_chunks SET embedding = ? WHERE id = ?').run(embeddingBytes(q2), id);
      raw.prepare('UPDATE memory_chunks SET embedding_norm = ? WHERE id = ?').run(Math.hypot(...q2), id);
    } finally {
      raw.close();
    }
    assert.equal((await vectorOnly(db, q2, 1))[0]?.chunkId, id);
  });
});
