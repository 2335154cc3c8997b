// Every WorkspaceStore RPC through the real daemon and a real gRPC client, on
// both backends: wire shapes, SearchConfig defaults, status codes.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin } from '../../src/gen/agentstore/v1/admin_pb.js';
import { FusionStrategy, WorkspaceStore } from '../../src/gen/agentstore/v1/workspace_pb.js';
import { createTestDatabase, stopTestServer } from '../support/postgres.js';
import { startDaemon, type Daemon } from './spawn-daemon.js';

const DIM = 4;

const code = (c: grpc.status) => (e: unknown) => {
  assert.equal((e as grpc.ServiceError).code, c, `expected ${grpc.status[c]}, got ${String(e)}`);
  return true;
};

const backends: { name: string; env: () => Promise<Record<string, string>>; cleanup: () => Promise<void> }[] = [];
{
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-grpc-ws-'));
  backends.push({
    name: 'libsql',
    env: async () => ({ DATABASE_BACKEND: 'libsql', LIBSQL_PATH: join(dir, 'a.db') }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  });
  backends.push({
    name: 'postgres',
    env: async () => ({ DATABASE_BACKEND: 'postgres', DATABASE_URL: await createTestDatabase() }),
    cleanup: stopTestServer,
  });
}

for (const backend of backends) {
  describe(`WorkspaceStore over gRPC: ${backend.name}`, () => {
    let daemon: Daemon;
    before(async () => {
      daemon = await startDaemon({ ...(await backend.env()), EMBEDDING_DIMENSION: String(DIM) });
    });
    after(async () => {
      assert.equal(await daemon.stop(), 0);
      await backend.cleanup();
    });

    it('GetStatus reports the workspace service and its vector search method', async () => {
      const s = await daemon.client(Admin)('getStatus', {});
      assert.ok(s.capabilities?.services.includes('agentstore.v1.WorkspaceStore'));
      assert.equal(s.capabilities?.vectorSearch, true);
      // libSQL pre-selects from in-memory codes by default; plain PostgreSQL scans exactly.
      assert.equal(s.capabilities?.vectorSearchMethod, backend.name === 'libsql' ? 'quantized_rescored' : 'exact');
      assert.equal(s.capabilities?.embeddingDimension, DIM);
    });

    it('every RPC, end to end', async () => {
      const ws = daemon.client(WorkspaceStore);
      const userId = `u-${randomUUID()}`;
      const agentId = randomUUID();

      await assert.rejects(ws('getDocumentByPath', { userId, path: 'MEMORY.md' }), code(grpc.status.NOT_FOUND));
      const created = (await ws('getOrCreateDocumentByPath', { userId, path: 'projects/alpha.md' })).document!;
      assert.equal(created.content, '');
      assert.equal(created.agentId, undefined);
      assert.equal(created.metadata?.kind.case, 'structValue');
      const again = (await ws('getOrCreateDocumentByPath', { userId, path: 'projects/alpha.md' })).document!;
      assert.equal(again.id, created.id);
      const scoped = (await ws('getOrCreateDocumentByPath', { userId, agentId, path: 'projects/alpha.md' })).document!;
      assert.equal(scoped.agentId, agentId);
      assert.notEqual(scoped.id, created.id);

      await ws('updateDocument', { id: created.id, content: 'Alpha project: the roadmap for Q3.' });
      const byId = (await ws('getDocumentById', { id: created.id })).document!;
      assert.equal(byId.content, 'Alpha project: the roadmap for Q3.');
      assert.equal((await ws('getDocumentByPath', { userId, path: 'projects/alpha.md' })).document!.id, created.id);
      await assert.rejects(ws('getDocumentById', { id: randomUUID() }), code(grpc.status.NOT_FOUND));
      await assert.rejects(ws('getDocumentById', { id: 'nope' }), code(grpc.status.INVALID_ARGUMENT));

      await ws('getOrCreateDocumentByPath', { userId, path: 'MEMORY.md' });
      const dir = await ws('listDirectory', { userId, directory: '' });
      assert.deepEqual(
        dir.entries.map((e) => [e.path, e.isDirectory, e.contentPreview]),
        [
          ['MEMORY.md', false, ''],
          ['projects', true, undefined],
        ],
      );
      assert.ok(dir.entries[1]!.updatedAt);
      assert.deepEqual((await ws('listAllPaths', { userId })).paths, ['MEMORY.md', 'projects/alpha.md']);
      assert.equal((await ws('listDocuments', { userId })).documents.length, 2);

      const c0 = (await ws('insertChunk', { documentId: created.id, chunkIndex: 0, content: 'the roadmap for Q3', embedding: [1, 0, 0, 0] })).chunkId;
      const c1 = (await ws('insertChunk', { documentId: created.id, chunkIndex: 1, content: 'budget and roadmap notes' })).chunkId;
      await assert.rejects(ws('insertChunk', { documentId: created.id, chunkIndex: 1, content: 'dup' }), code(grpc.status.ALREADY_EXISTS));
      await assert.rejects(ws('insertChunk', { documentId: randomUUID(), chunkIndex: 0, content: 'x' }), code(grpc.status.FAILED_PRECONDITION));
      await assert.rejects(ws('insertChunk', { documentId: created.id, chunkIndex: 2, content: 'x', embedding: [1, 2] }), code(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(ws('insertChunk', { documentId: created.id, chunkIndex: 2, content: 'x', embedding: [1, Number.NaN, 0, 0] }), code(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(ws('insertChunk', { documentId: created.id, chunkIndex: 2, content: 'x', embedding: [Number.POSITIVE_INFINITY, 0, 0, 0] }), code(grpc.status.INVALID_ARGUMENT));

      const missing = (await ws('getChunksWithoutEmbeddings', { userId, limit: 10n })).chunks;
      assert.deepEqual(
        missing.map((c) => [c.id, c.documentId, c.chunkIndex, c.content]),
        [[c1, created.id, 1, 'budget and roadmap notes']],
      );
      await assert.rejects(ws('updateChunkEmbedding', { chunkId: c1, embedding: [] }), code(grpc.status.INVALID_ARGUMENT));
      await ws('updateChunkEmbedding', { chunkId: c1, embedding: [0, 1, 0, 0] });
      assert.equal((await ws('getChunksWithoutEmbeddings', { userId, limit: 10n })).chunks.length, 0);

      // Defaults: RRF, FTS + vector; FTS-only when no embedding. Both chunks have four words: newest first.
      const fts = (await ws('hybridSearch', { userId, query: 'Roadmap' })).results;
      assert.deepEqual(
        fts.map((r) => [r.chunkId, r.ftsRank, r.vectorRank, r.documentPath]),
        [
          [c1, 1, undefined, 'projects/alpha.md'],
          [c0, 2, undefined, 'projects/alpha.md'],
        ],
      );
      assert.equal(fts[0]!.score, 1);
      const hybrid = (await ws('hybridSearch', { userId, query: 'budget', embedding: [0, 1, 0, 0] })).results;
      assert.equal(hybrid[0]!.chunkId, c1);
      assert.equal(hybrid[0]!.ftsRank, 1);
      assert.equal(hybrid[0]!.vectorRank, 1);
      const weighted = (
        await ws('hybridSearch', {
          userId,
          query: 'roadmap',
          embedding: [1, 0, 0, 0],
          config: { fusionStrategy: FusionStrategy.WEIGHTED, ftsWeight: 1, vectorWeight: 0, limit: 1 },
        })
      ).results;
      assert.deepEqual(
        weighted.map((r) => r.chunkId),
        [c1],
        'the vector branch (nearest: c0) weighs nothing: the FTS order decides',
      );
      assert.deepEqual((await ws('hybridSearch', { userId, query: 'George 1:1 "AND -x*', config: { minScore: 0.5 } })).results, []);
      await assert.rejects(ws('hybridSearch', { userId, query: 'x', config: { ftsWeight: -1 } }), code(grpc.status.INVALID_ARGUMENT));
      await assert.rejects(ws('hybridSearch', { userId, query: 'x', config: { fusionStrategy: 7 as FusionStrategy } }), code(grpc.status.INVALID_ARGUMENT));

      await ws('deleteChunks', { documentId: created.id });
      assert.deepEqual((await ws('hybridSearch', { userId, query: 'roadmap' })).results, []);
      await ws('deleteDocumentByPath', { userId, path: 'projects/alpha.md' });
      await assert.rejects(ws('deleteDocumentByPath', { userId, path: 'projects/alpha.md' }), code(grpc.status.NOT_FOUND));
      assert.deepEqual((await ws('listAllPaths', { userId })).paths, ['MEMORY.md']);
      await assert.rejects(ws('listDirectory', { userId, directory: '/' }), code(grpc.status.INVALID_ARGUMENT));
    });
  });
}

describe('the daemon and the recorded embedding dimension', () => {
  it('refuses to boot, naming EMBEDDING_DIMENSION, on a database holding embeddings of another dimension', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentstore-grpc-dim-'));
    try {
      const env = { DATABASE_BACKEND: 'libsql', LIBSQL_PATH: join(dir, 'a.db') };
      const d = await startDaemon({ ...env, EMBEDDING_DIMENSION: '4' });
      const ws = d.client(WorkspaceStore);
      const doc = (await ws('getOrCreateDocumentByPath', { userId: 'u', path: 'a.md' })).document!;
      await ws('insertChunk', { documentId: doc.id, chunkIndex: 0, content: 'x', embedding: [1, 2, 3, 4] });
      assert.equal(await d.stop(), 0);
      await assert.rejects(startDaemon({ ...env, EMBEDDING_DIMENSION: '8' }), /exited with 1: agentstore: EMBEDDING_DIMENSION: the database holds embeddings of dimension 4/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
