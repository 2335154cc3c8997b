// Schema V6 rebuilds libSQL's full-text index under rank-ordered rowids: a
// database written before it (V1–V5) must search the same chunks afterwards,
// in the new order, and keep its index in step with later writes. (The
// PostgreSQL V6 only adds an index; its ranking is covered by the
// conformance suite.) Also: the triggers follow a chunk moved to another document.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Libsql from 'libsql';
import { libsqlMigrations } from '../../src/backends/libsql/migrate.js';
import { DEFAULT_SEARCH_CONFIG } from '../../src/store/workspace.js';
import { indexTerms } from '../../src/store/workspace-search.js';
import { libsqlBackend, openMigrated } from '../support/databases.js';

describe('libSQL schema V6: full-text index rebuilt in rank order', () => {
  const backend = libsqlBackend();
  after(() => backend.cleanup());

  it('a V5 database finds the same chunks after the upgrade, in rank order, and stays in step', async () => {
    const config = await backend.config();
    const raw = new Libsql(config.libsqlPath);
    raw.exec(`CREATE TABLE agentstore_schema_history (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    for (const m of libsqlMigrations().filter((m) => m.version <= 5)) {
      raw.exec(m.sql);
      raw.prepare('INSERT INTO agentstore_schema_history VALUES (?, ?, ?, ?)').run(m.version, m.name, m.checksum, new Date().toISOString());
    }
    const t = new Date().toISOString();
    raw.prepare("INSERT INTO memory_documents (id, user_id, agent_id, path, created_at, updated_at) VALUES (?, 'u', NULL, 'a.md', ?, ?)").run(
      '00000000-0000-4000-8000-000000000001',
      t,
      t,
    );
    const contents = ['alpha beta gamma', 'alpha', 'beta only', 'alpha beta', 'alpha delta'];
    contents.forEach((content, i) => {
      const { terms, wordCount } = indexTerms(content);
      raw
        .prepare(
          "INSERT INTO memory_chunks (id, document_id, chunk_index, content, fts_text, word_count, created_at) VALUES (?, '00000000-0000-4000-8000-000000000001', ?, ?, ?, ?, ?)",
        )
        .run(`00000000-0000-4000-8000-00000000010${i}`, i, content, terms.join(' '), wordCount, t);
    });
    raw.close();

    const db = await openMigrated(config);
    try {
      const search = async (q: string) => (await db.hybridSearch('u', null, q, null, DEFAULT_SEARCH_CONFIG)).map((r) => r.content);
      // Word count first; equal counts newest first.
      assert.deepEqual(await search('alpha'), ['alpha', 'alpha delta', 'alpha beta', 'alpha beta gamma']);
      assert.deepEqual(await search('beta'), ['alpha beta', 'beta only', 'alpha beta gamma']);
      const d = await db.getDocumentByPath('u', null, 'a.md');
      await db.insertChunk(d.id, 9, 'beta', null);
      assert.deepEqual(await search('beta'), ['beta', 'alpha beta', 'beta only', 'alpha beta gamma']);
      // A chunk moved to another user's document (only `agentstore copy --merge` does that) is indexed under its new scope.
      const moved = await db.getOrCreateDocumentByPath('v', null, 'b.md');
      const other = new Libsql(config.libsqlPath);
      other.prepare("UPDATE memory_chunks SET document_id = ? WHERE content = 'alpha delta'").run(moved.id);
      other.close();
      assert.deepEqual(await search('delta'), []);
      assert.deepEqual(
        (await db.hybridSearch('v', null, 'delta', null, DEFAULT_SEARCH_CONFIG)).map((r) => r.content),
        ['alpha delta'],
      );
      await db.deleteChunks(d.id);
      assert.deepEqual(await search('alpha'), []);
    } finally {
      await db.close();
    }
  });
});
