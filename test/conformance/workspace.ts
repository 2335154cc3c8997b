// WorkspaceStore conformance (STORES.md §2.7, §4 rows 10–14 and 21, §5.1,
// §7 "Workspace").
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Database } from '../../src/store/database.js';
import { DEFAULT_SEARCH_CONFIG, type SearchConfig } from '../../src/store/workspace.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError, sleep } from './util.js';

const user = () => `user-${randomUUID()}`;

/** A vector of the database's dimension with the given leading components. */
export function vec(db: Database, ...head: number[]): Float32Array {
  const v = new Float32Array(db.info().embeddingDimension);
  v.set(head);
  return v;
}

const cfg = (over: Partial<SearchConfig> = {}): SearchConfig => ({ ...DEFAULT_SEARCH_CONFIG, ...over });

async function doc(db: Database, u: string, path: string, content = '', agent: string | null = null) {
  const d = await db.getOrCreateDocumentByPath(u, agent, path);
  if (content) await db.updateDocument(d.id, content);
  return d.id;
}

export function workspaceSuite(ctx: SuiteContext): void {
  describe('WorkspaceStore', () => {
    describe('documents', () => {
      it('missing documents are NOT_FOUND by path, by id and on delete', async () => {
        const db = ctx.db();
        const u = user();
        await assertStoreError(db.getDocumentByPath(u, null, 'MEMORY.md'), 'not_found', /MEMORY\.md/);
        await assertStoreError(db.getDocumentById(randomUUID()), 'not_found');
        await assertStoreError(db.deleteDocumentByPath(u, null, 'MEMORY.md'), 'not_found');
      });

      it('getOrCreate creates an empty document with {} metadata and returns the same one again', async () => {
        const db = ctx.db();
        const u = user();
        const a = await db.getOrCreateDocumentByPath(u, null, 'daily/2026-03-07.md');
        assert.equal(a.content, '');
        assert.deepEqual(a.metadata, {});
        assert.equal(a.userId, u);
        assert.equal(a.agentId, null);
        assert.equal(a.path, 'daily/2026-03-07.md');
        assert.equal(a.createdAt.getTime(), a.updatedAt.getTime());
        const b = await db.getOrCreateDocumentByPath(u, null, 'daily/2026-03-07.md');
        assert.equal(b.id, a.id);
        assert.deepEqual(await db.getDocumentById(a.id), a);
        assert.deepEqual(await db.getDocumentByPath(u, null, 'daily/2026-03-07.md'), a);
      });

      it('50 concurrent getOrCreate calls give one document (null agent and an agent)', async () => {
        const db = ctx.db();
        const u = user();
        for (const agent of [null, randomUUID()]) {
          const docs = await Promise.all(Array.from({ length: 50 }, () => db.getOrCreateDocumentByPath(u, agent, 'MEMORY.md')));
          assert.equal(new Set(docs.map((d) => d.id)).size, 1);
          assert.deepEqual(await db.listAllPaths(u, agent), ['MEMORY.md']);
        }
      });

      it('a null agent and each agent id are separate namespaces; paths are case-sensitive', async () => {
        const db = ctx.db();
        const u = user();
        const a1 = randomUUID();
        const shared = await doc(db, u, 'notes.md', 'shared');
        const own = await doc(db, u, 'notes.md', 'agent one', a1);
        assert.notEqual(shared, own);
        assert.equal((await db.getDocumentByPath(u, null, 'notes.md')).content, 'shared');
        assert.equal((await db.getDocumentByPath(u, a1, 'notes.md')).content, 'agent one');
        assert.equal((await db.getDocumentByPath(u, a1, 'notes.md')).agentId, a1);
        await assertStoreError(db.getDocumentByPath(u, randomUUID(), 'notes.md'), 'not_found');
        await assertStoreError(db.getDocumentByPath(u, null, 'Notes.md'), 'not_found');
        await assertStoreError(db.getDocumentByPath(user(), null, 'notes.md'), 'not_found');
      });

      it('updateDocument replaces content and bumps updated_at; a missing id is a no-op', async () => {
        const db = ctx.db();
        const u = user();
        const d = await db.getOrCreateDocumentByPath(u, null, 'a.md');
        await sleep(5);
        await db.updateDocument(d.id, 'new content');
        const after = await db.getDocumentById(d.id);
        assert.equal(after.content, 'new content');
        assert.ok(after.updatedAt > d.updatedAt);
        assert.equal(after.createdAt.getTime(), d.createdAt.getTime());
        await db.updateDocument(randomUUID(), 'x');
      });

      it('deleteDocumentByPath removes the document and its chunks', async () => {
        const db = ctx.db();
        const u = user();
        const id = await doc(db, u, 'gone.md', 'zebra');
        await db.insertChunk(id, 0, 'zebra crossing', null);
        await db.deleteDocumentByPath(u, null, 'gone.md');
        await assertStoreError(db.getDocumentById(id), 'not_found');
        assert.deepEqual(await db.getChunksWithoutEmbeddings(u, null, 10), []);
        assert.deepEqual(await db.hybridSearch(u, null, 'zebra', null, cfg()), []);
        await assertStoreError(db.deleteDocumentByPath(u, null, 'gone.md'), 'not_found');
      });

      it('listAllPaths is in binary order; listDocuments newest first', async () => {
        const db = ctx.db();
        const u = user();
        for (const p of ['b.md', 'B.md', 'a/z.md', 'a.md', 'é.md', '_x.md']) await doc(db, u, p);
        assert.deepEqual(await db.listAllPaths(u, null), ['B.md', '_x.md', 'a.md', 'a/z.md', 'b.md', 'é.md']);
        const a = await db.getOrCreateDocumentByPath(u, null, 'a.md');
        await sleep(3);
        await db.updateDocument(a.id, 'touched');
        assert.equal((await db.listDocuments(u, null))[0]!.path, 'a.md');
        assert.equal((await db.listDocuments(u, null)).length, 6);
      });

      it('rejects bad paths, ids and agent ids with INVALID_ARGUMENT', async () => {
        const db = ctx.db();
        await assertStoreError(db.getOrCreateDocumentByPath('u', null, ''), 'invalid_argument', /path/);
        await assertStoreError(db.getOrCreateDocumentByPath('u', null, '/abs.md'), 'invalid_argument', /path/);
        await assertStoreError(db.getOrCreateDocumentByPath('u', null, 'a//b.md'), 'invalid_argument', /path/);
        await assertStoreError(db.getOrCreateDocumentByPath('u', null, 'dir/'), 'invalid_argument', /path/);
        await assertStoreError(db.getOrCreateDocumentByPath('u', 'not-a-uuid', 'a.md'), 'invalid_argument', /agent_id/);
        await assertStoreError(db.getOrCreateDocumentByPath('', null, 'a.md'), 'invalid_argument', /user_id/);
        await assertStoreError(db.getDocumentById('x'), 'invalid_argument', /id/);
        await assertStoreError(db.listDirectory('u', null, '/'), 'invalid_argument', /directory/);
      });
    });

    describe('listDirectory', () => {
      it('lists immediate children with full paths, previews and newest updated_at for directories', async () => {
        const db = ctx.db();
        const u = user();
        const long = 'x'.repeat(150) + 'é'.repeat(100);
        await doc(db, u, 'MEMORY.md', long);
        await doc(db, u, 'projects/alpha/notes.md', 'alpha');
        await sleep(3);
        await doc(db, u, 'projects/beta.md', 'beta');
        await sleep(3);
        const newest = await doc(db, u, 'projects/alpha/deep/x.md', 'deep');
        const newestAt = (await db.getDocumentById(newest)).updatedAt;

        const root = await db.listDirectory(u, null, '');
        assert.deepEqual(
          root.map((e) => [e.path, e.isDirectory]),
          [
            ['MEMORY.md', false],
            ['projects', true],
          ],
        );
        assert.equal(root[0]!.contentPreview, long.slice(0, 200));
        assert.equal(root[1]!.contentPreview, null);
        assert.equal(root[1]!.updatedAt?.getTime(), newestAt.getTime());

        for (const dir of ['projects', 'projects/']) {
          const p = await db.listDirectory(u, null, dir);
          assert.deepEqual(
            p.map((e) => [e.path, e.isDirectory, e.contentPreview]),
            [
              ['projects/alpha', true, null],
              ['projects/beta.md', false, 'beta'],
            ],
          );
          assert.equal(p[0]!.updatedAt?.getTime(), newestAt.getTime());
        }
        assert.deepEqual(await db.listDirectory(u, null, 'nothing/here'), []);
        assert.deepEqual(await db.listDirectory(u, randomUUID(), ''), []);
      });

      it('matches the directory literally: _, %, \\ and case are not wildcards', async () => {
        const db = ctx.db();
        const u = user();
        for (const p of ['foo_bar/a.md', 'fooxbar/phantom.md', 'foo_bar.md', 'fooxbar.md/child.md', '50%/b.md', '50x/no.md', 'back\\slash/c.md', 'backxslash/no.md', 'Docs/d.md', 'docs/e.md', 'foo_barn/f.md']) {
          await doc(db, u, p, p);
        }
        assert.deepEqual((await db.listDirectory(u, null, 'foo_bar')).map((e) => e.path), ['foo_bar/a.md']);
        assert.deepEqual((await db.listDirectory(u, null, '50%')).map((e) => e.path), ['50%/b.md']);
        assert.deepEqual((await db.listDirectory(u, null, 'back\\slash')).map((e) => e.path), ['back\\slash/c.md']);
        assert.deepEqual((await db.listDirectory(u, null, 'docs')).map((e) => e.path), ['docs/e.md']);
        assert.deepEqual((await db.listDirectory(u, null, 'Docs')).map((e) => e.path), ['Docs/d.md']);
        const root = await db.listDirectory(u, null, '');
        const fooBarMd = root.find((e) => e.path === 'foo_bar.md');
        assert.equal(fooBarMd?.isDirectory, false, 'foo_bar.md is a file, whatever fooxbar.md/ holds');
        assert.deepEqual(
          root.map((e) => e.path),
          ['50%', '50x', 'Docs', 'back\\slash', 'backxslash', 'docs', 'foo_bar', 'foo_bar.md', 'foo_barn', 'fooxbar', 'fooxbar.md'],
        );
      });

      it('a name that is both a file and a directory is one directory entry', async () => {
        const db = ctx.db();
        const u = user();
        await doc(db, u, 'a', 'file a');
        await doc(db, u, 'a/b', 'file b');
        const root = await db.listDirectory(u, null, '');
        assert.deepEqual(
          root.map((e) => [e.path, e.isDirectory, e.contentPreview]),
          [['a', true, null]],
        );
      });
    });

    describe('chunks', () => {
      it('insertChunk: duplicate index is ALREADY_EXISTS, a missing document FAILED_PRECONDITION', async () => {
        const db = ctx.db();
        const u = user();
        const d = await doc(db, u, 'c.md');
        const id = await db.insertChunk(d, 0, 'first', null);
        assert.match(id, /^[0-9a-f-]{36}$/);
        await assertStoreError(db.insertChunk(d, 0, 'again', null), 'already_exists', /chunk_index/);
        await assertStoreError(db.insertChunk(randomUUID(), 0, 'orphan', null), 'failed_precondition', /document_id/);
        await db.deleteChunks(d);
        await db.insertChunk(d, 0, 'after re-index', null);
        await db.deleteChunks(randomUUID());
      });

      it('chunks without embeddings are listed oldest first, then embedded', async () => {
        const db = ctx.db();
        const u = user();
        const agent = randomUUID();
        const d = await doc(db, u, 'e.md');
        const other = await doc(db, u, 'e.md', '', agent);
        const ids = [];
        for (let i = 0; i < 3; i++) ids.push(await db.insertChunk(d, i, `chunk ${i}`, null));
        await db.insertChunk(d, 3, 'embedded', vec(db, 1));
        await db.insertChunk(other, 0, 'other agent', null);
        const missing = await db.getChunksWithoutEmbeddings(u, null, 10);
        assert.deepEqual(
          missing.map((c) => [c.id, c.documentId, c.chunkIndex, c.content, c.embedding]),
          ids.map((id, i) => [id, d, i, `chunk ${i}`, null]),
        );
        assert.ok(missing[0]!.createdAt instanceof Date);
        assert.equal((await db.getChunksWithoutEmbeddings(u, null, 2)).length, 2);
        assert.equal((await db.getChunksWithoutEmbeddings(u, null, 0)).length, 0);
        for (const id of ids) await db.updateChunkEmbedding(id, vec(db, 0, 1));
        assert.deepEqual(await db.getChunksWithoutEmbeddings(u, null, 10), []);
        assert.equal((await db.getChunksWithoutEmbeddings(u, agent, 10)).length, 1);
        await db.updateChunkEmbedding(randomUUID(), vec(db, 1));
      });

      it('rejects embeddings of the wrong dimension, empty, non-finite or all zeros', async () => {
        const db = ctx.db();
        const d = await doc(db, user(), 'v.md');
        const dim = db.info().embeddingDimension;
        await assertStoreError(db.insertChunk(d, 0, 'x', new Float32Array(dim + 1).fill(1)), 'invalid_argument', /embedding.*dimensions/);
        await assertStoreError(db.insertChunk(d, 0, 'x', new Float32Array(0)), 'invalid_argument', /embedding/);
        await assertStoreError(db.insertChunk(d, 0, 'x', vec(db, Number.NaN)), 'invalid_argument', /embedding.*finite/);
        await assertStoreError(db.insertChunk(d, 0, 'x', vec(db, Number.POSITIVE_INFINITY)), 'invalid_argument', /finite/);
        await assertStoreError(db.insertChunk(d, 0, 'x', vec(db)), 'invalid_argument', /zeros/);
        const id = await db.insertChunk(d, 0, 'x', null);
        await assertStoreError(db.updateChunkEmbedding(id, new Float32Array(3).fill(1)), 'invalid_argument', /embedding/);
        await assertStoreError(db.hybridSearch('u', null, 'x', vec(db, Number.NaN), cfg()), 'invalid_argument', /embedding/);
        await assertStoreError(db.insertChunk(d, -1, 'x', null), 'invalid_argument', /chunk_index/);
      });
    });

    describe('hybridSearch', () => {
      /** Three documents, chunks with distinct word counts so FTS order is known. */
      async function corpus(db: Database, u: string, agent: string | null = null) {
        const d = await doc(db, u, 'notes.md', 'notes', agent);
        const c0 = await db.insertChunk(d, 0, 'Meeting notes: George 1:1 about the roadmap', vec(db, 1, 0, 0));
        const c1 = await db.insertChunk(d, 1, 'roadmap', vec(db, 0, 1, 0));
        const c2 = await db.insertChunk(d, 2, 'The roadmap and the budget were discussed at length', vec(db, 0.9, 0.1, 0));
        const c3 = await db.insertChunk(d, 3, 'Budget only', vec(db, 0, 0, 1));
        return { d, c0, c1, c2, c3 };
      }

      it('FTS-only when no embedding: FTS order (shortest chunk first), top score 1.0, ranks reported', async () => {
        const db = ctx.db();
        const u = user();
        const { c0, c1, c2 } = await corpus(db, u);
        const r = await db.hybridSearch(u, null, 'ROADMAP', null, cfg());
        assert.deepEqual(
          r.map((x) => x.chunkId),
          [c1, c0, c2],
        );
        assert.equal(r[0]!.score, 1);
        assert.ok(r[1]!.score < 1 && r[2]!.score < r[1]!.score);
        assert.deepEqual(
          r.map((x) => [x.ftsRank, x.vectorRank]),
          [
            [1, null],
            [2, null],
            [3, null],
          ],
        );
        assert.equal(r[0]!.documentPath, 'notes.md');
        assert.equal(r[0]!.content, 'roadmap');
        const w = await db.hybridSearch(u, null, 'roadmap', null, cfg({ fusionStrategy: 'weighted' }));
        assert.deepEqual(
          w.map((x) => x.chunkId),
          [c1, c0, c2],
        );
        assert.equal(w[0]!.score, 1);
        assert.equal(w[1]!.score, 0.5);
      });

      it('FTS order among many matches: word count, then newest first; only the caller’s, over several pages', async () => {
        const db = ctx.db();
        // Not ASCII: the libSQL index keys scopes by the user id's UTF-8 bytes.
        const [a, b] = [user(), `Zoë-${user()}`];
        const other = await doc(db, b, 'other.md');
        // 15 documents of 10 chunks, interleaved with another user's matches, which the pages must skip.
        const mine: { id: string; path: string; words: number; n: number }[] = [];
        for (let n = 0; n < 150; n++) {
          const path = `many/${Math.floor(n / 10)}.md`;
          const words = 2 + ((n * 7) % 3);
          mine.push({ id: await db.insertChunk(await doc(db, a, path), n % 10, `common ${'x '.repeat(words - 1)}`, null), path, words, n });
          await db.insertChunk(other, n, 'common other', null);
        }
        await db.deleteDocumentByPath(a, null, 'many/3.md');
        const expected = mine
          .filter((m) => m.path !== 'many/3.md')
          .sort((x, y) => x.words - y.words || y.n - x.n)
          .map((m) => m.id);
        for (const k of [1, 20, 100, 200]) {
          const r = await db.hybridSearch(a, null, 'common', null, cfg({ preFusionLimit: k, limit: 200 }));
          assert.deepEqual(
            r.map((x) => x.chunkId),
            expected.slice(0, k),
            `pre_fusion_limit ${k}`,
          );
          assert.deepEqual(
            r.map((x) => x.ftsRank),
            expected.slice(0, k).map((_, i) => i + 1),
          );
        }
        assert.equal((await db.hybridSearch(b, null, 'common x', null, cfg())).length, 0, 'the other user sees only its own chunks');
        assert.equal((await db.hybridSearch(b, null, 'common', null, cfg({ preFusionLimit: 200, limit: 200 }))).length, 150);
      });

      it('all query words are required; punctuation and case do not matter', async () => {
        const db = ctx.db();
        const u = user();
        const { c0, c2 } = await corpus(db, u);
        assert.deepEqual(
          (await db.hybridSearch(u, null, 'roadmap BUDGET', null, cfg())).map((x) => x.chunkId),
          [c2],
        );
        assert.deepEqual(
          (await db.hybridSearch(u, null, '"george" 1:1', null, cfg())).map((x) => x.chunkId),
          [c0],
        );
        assert.deepEqual(await db.hybridSearch(u, null, 'roadmaps', null, cfg()), [], 'no stemming');
      });

      it('never fails on query syntax: quotes, 1:1, -, AND, *, empty, emoji, 10 KB', async () => {
        const db = ctx.db();
        const u = user();
        await corpus(db, u);
        const queries = ['George 1:1 meeting notes', 'foo-bar', '"unbalanced', 'AND', 'OR NOT', 'road*', '*', '', '   ', '😀', 'NEAR(a b)', "it's", '\\', 'a'.repeat(200), 'word '.repeat(2048), '-roadmap', '^roadmap', 'roadmap:'];
        for (const q of queries) {
          const r = await db.hybridSearch(u, null, q, null, cfg());
          assert.ok(Array.isArray(r), q);
        }
        assert.equal((await db.hybridSearch(u, null, '-roadmap', null, cfg())).length, 3, 'a leading - is not negation');
        assert.equal((await db.hybridSearch(u, null, '', null, cfg())).length, 0);
        assert.equal((await db.hybridSearch(u, null, 'AND', null, cfg())).length, 1, '"and" is an ordinary word');
        assert.equal((await db.hybridSearch(u, null, 'OR NOT', null, cfg())).length, 0);
      });

      it('vector-only: cosine order; RRF boosts a chunk found by both branches', async () => {
        const db = ctx.db();
        const u = user();
        const { c0, c1, c2, c3 } = await corpus(db, u);
        const v = await db.hybridSearch(u, null, '', vec(db, 1, 0, 0), cfg());
        assert.deepEqual(
          v.map((x) => x.chunkId),
          [c0, c2, c1, c3],
        );
        assert.deepEqual(
          v.map((x) => x.vectorRank),
          [1, 2, 3, 4],
        );
        assert.equal(v[0]!.score, 1);
        const h = await db.hybridSearch(u, null, 'roadmap', vec(db, 0.9, 0.1, 0), cfg());
        // FTS: c1, c0, c2; vector: c2, c0, c1, c3. c0 and c2 appear in both.
        assert.equal(h[0]!.ftsRank !== null && h[0]!.vectorRank !== null, true);
        const both = h.filter((x) => x.ftsRank !== null && x.vectorRank !== null).map((x) => x.chunkId);
        assert.deepEqual(new Set(both), new Set([c0, c1, c2]));
        assert.equal(h.at(-1)!.chunkId, c3, 'vector-only hit ranks below every hit found by both branches');
        assert.equal(h[0]!.score, 1);
      });

      it('weighted fusion respects the weights; minScore filters after normalisation; limit truncates', async () => {
        const db = ctx.db();
        const u = user();
        const { c1, c3 } = await corpus(db, u);
        // FTS "roadmap" rank 1 = c1; vector near (0,0,1) rank 1 = c3.
        const ftsHeavy = await db.hybridSearch(u, null, 'roadmap', vec(db, 0, 0, 1), cfg({ fusionStrategy: 'weighted', ftsWeight: 0.9, vectorWeight: 0.1 }));
        assert.equal(ftsHeavy[0]!.chunkId, c1);
        const vecHeavy = await db.hybridSearch(u, null, 'roadmap', vec(db, 0, 0, 1), cfg({ fusionStrategy: 'weighted', ftsWeight: 0.1, vectorWeight: 0.9 }));
        assert.equal(vecHeavy[0]!.chunkId, c3);
        const all = await db.hybridSearch(u, null, 'roadmap', null, cfg({ fusionStrategy: 'weighted' }));
        assert.deepEqual(
          all.map((x) => x.score),
          [1, 0.5, 1 / 3],
        );
        const filtered = await db.hybridSearch(u, null, 'roadmap', null, cfg({ fusionStrategy: 'weighted', minScore: 0.5 }));
        assert.deepEqual(
          filtered.map((x) => x.score),
          [1, 0.5],
        );
        assert.equal((await db.hybridSearch(u, null, 'roadmap', null, cfg({ limit: 1 }))).length, 1);
        assert.equal((await db.hybridSearch(u, null, 'roadmap', null, cfg({ limit: 0 }))).length, 0);
        assert.equal((await db.hybridSearch(u, null, 'roadmap', null, cfg({ preFusionLimit: 2 }))).length, 2);
        assert.equal((await db.hybridSearch(u, null, 'roadmap', null, cfg({ useFts: false }))).length, 0);
        assert.equal((await db.hybridSearch(u, null, 'roadmap', vec(db, 1), cfg({ useFts: false, useVector: false }))).length, 0);
        const noVector = await db.hybridSearch(u, null, 'roadmap', vec(db, 0, 0, 1), cfg({ useVector: false }));
        assert.ok(noVector.every((x) => x.vectorRank === null));
        const zeroFts = await db.hybridSearch(u, null, 'roadmap', null, cfg({ fusionStrategy: 'weighted', ftsWeight: 0 }));
        assert.ok(zeroFts.every((x) => x.score === 0));
      });

      it('results are restricted to the user and agent, and filtered before the top-k', async () => {
        const db = ctx.db();
        const u = user();
        const agent = randomUUID();
        // Another user and another agent own many chunks nearer to the query.
        for (const [owner, ag] of [
          [user(), null],
          [u, agent],
        ] as const) {
          const d = await doc(db, owner, 'crowd.md', '', ag);
          for (let i = 0; i < 30; i++) await db.insertChunk(d, i, `roadmap crowd ${i}`, vec(db, 1, 0.001 * i));
        }
        const { c0, c1, c2, c3 } = await corpus(db, u);
        const r = await db.hybridSearch(u, null, 'roadmap', vec(db, 1, 0, 0), cfg({ preFusionLimit: 5, limit: 10 }));
        assert.deepEqual(new Set(r.map((x) => x.chunkId)), new Set([c0, c1, c2, c3]));
        const v = await db.hybridSearch(u, null, '', vec(db, 1, 0, 0), cfg({ preFusionLimit: 4 }));
        assert.equal(v.length, 4, 'k hits despite 60 nearer chunks of others');
        const mine = await db.hybridSearch(u, agent, 'roadmap', vec(db, 1, 0, 0), cfg({ limit: 50 }));
        assert.equal(mine.length, 30);
        assert.ok(mine.every((x) => x.documentPath === 'crowd.md'));
      });

      it('vector ranks equal an exact double-precision cosine ranking, also when k cuts a large set', async () => {
        const db = ctx.db();
        const u = user();
        const dim = db.info().embeddingDimension;
        let seed = 1234;
        const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
        const expected: { key: string; dist: number }[] = [];
        const q = Float32Array.from({ length: dim }, rnd);
        const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
        const keyOf = new Map<string, string>();
        for (let d = 0; d < 6; d++) {
          const id = await doc(db, u, `v/${d}.md`);
          for (let i = 0; i < 40; i++) {
            // Some exact duplicates, so ties must break by path then index.
            const e = i % 10 === 9 ? q.map((x) => x * 2) : Float32Array.from({ length: dim }, rnd);
            const chunk = await db.insertChunk(id, i, `c ${d} ${i}`, e);
            keyOf.set(chunk, `v/${d}.md#${i}`);
            expected.push({ key: `v/${d}.md#${i}`, dist: 1 - dot(e, q) / (Math.sqrt(dot(e, e)) * Math.sqrt(dot(q, q))) });
          }
        }
        const [pa, pb] = [(k: string) => k.split('#')[0]!, (k: string) => Number(k.split('#')[1])];
        expected.sort((a, b) => a.dist - b.dist || (pa(a.key) < pa(b.key) ? -1 : pa(a.key) > pa(b.key) ? 1 : 0) || pb(a.key) - pb(b.key));
        for (const k of [1, 5, 50, 240]) {
          const r = await db.hybridSearch(u, null, '', q, cfg({ preFusionLimit: k, limit: 1000 }));
          assert.deepEqual(
            r.map((x) => keyOf.get(x.chunkId)),
            expected.slice(0, k).map((x) => x.key),
            `k = ${k}`,
          );
        }
      });

      it('rejects a bad search configuration', async () => {
        const db = ctx.db();
        await assertStoreError(db.hybridSearch('u', null, 'x', null, cfg({ limit: -1 })), 'invalid_argument', /limit/);
        await assertStoreError(db.hybridSearch('u', null, 'x', null, cfg({ ftsWeight: Number.NaN })), 'invalid_argument', /fts_weight/);
        await assertStoreError(db.hybridSearch('u', null, 'x', null, cfg({ vectorWeight: -1 })), 'invalid_argument', /vector_weight/);
        await assertStoreError(db.hybridSearch('u', null, 'x', null, cfg({ preFusionLimit: 1.5 })), 'invalid_argument', /pre_fusion_limit/);
        // min_score is clamped into [0, 1], as the reference builder does.
        assert.deepEqual(await db.hybridSearch('u', null, 'x', null, cfg({ minScore: 7 })), []);
      });
    });
  });
}
