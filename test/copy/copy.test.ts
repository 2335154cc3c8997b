// agentstore copy, in process: a database with rows in every table goes from
// libSQL to PostgreSQL and back to a new libSQL file, and every store read
// method answers the same on all three; re-running changes nothing; the
// target's counters continue after the copied ids; a target with other rows
// is refused, and --merge merges it; mismatched embedding dimensions are
// refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type Config } from '../../src/config.js';
import { copyDatabase, type CopyOptions, type CopyResult } from '../../src/copy/copy.js';
import { libsqlName, pgName, TABLES } from '../../src/copy/tables.js';
import { CopyError } from '../../src/copy/values.js';
import type { Database } from '../../src/store/database.js';
import { openMigrated } from '../support/databases.js';
import { createTestDatabase, stopTestServer } from '../support/postgres.js';
import { newSandboxJob } from '../conformance/jobs.js';
import { DIM, populate, readAll, unreadRows, USER, vector, type Fixture } from './fixture.js';

const dirs: string[] = [];
function libsqlConfig(dimension = DIM): Config {
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-copy-'));
  dirs.push(dir);
  return loadConfig({ AGENTSTORE_LOG_LEVEL: 'silent', LIBSQL_PATH: join(dir, 'agentstore.db'), EMBEDDING_DIMENSION: String(dimension) }).config;
}
async function pgConfig(dimension = DIM): Promise<Config> {
  return loadConfig({ DATABASE_BACKEND: 'postgres', DATABASE_URL: await createTestDatabase(), EMBEDDING_DIMENSION: String(dimension) }).config;
}
const where = (c: Config) => (c.backend === 'postgres' ? c.databaseUrl! : c.libsqlPath);

async function withDb<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openMigrated(config);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const copy = (from: Config, to: Config, over: Partial<CopyOptions> = {}): Promise<CopyResult> =>
  copyDatabase({ from: where(from), to: where(to), merge: false, batchSize: 1000, ...over });

function assertVerified(r: CopyResult): void {
  const bad = r.tables.filter((t) => !t.ok);
  assert.ok(r.ok && bad.length === 0, `verification failed: ${JSON.stringify(bad)}`);
}

after(async () => {
  await stopTestServer();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('agentstore copy: round trip', () => {
  const source = libsqlConfig();
  let fx: Fixture;
  let expected: Record<string, unknown>;
  let pg: Config;

  before(async () => {
    await withDb(source, async (db) => {
      fx = await populate(db);
      expected = await readAll(db, fx);
    });
    pg = await pgConfig();
  });

  it('libSQL → PostgreSQL → libSQL: every read method returns what it returned on the original', async () => {
    // Tiny batches: every table spans several.
    const there = await copy(source, pg, { batchSize: 3 });
    assertVerified(there);
    for (const t of TABLES) assert.ok(there.tables.find((r) => r.table === t.name)!.sourceRows > 0, `the fixture leaves ${t.name} empty`);
    assert.equal(there.embeddingDimension.target, DIM);
    assert.equal(there.writtenRows, there.copiedRows);
    assert.deepEqual(await withDb(pg, (db) => readAll(db, fx)), expected);

    const back = libsqlConfig();
    const returned = await copy(pg, back);
    assertVerified(returned);
    assert.deepEqual(await withDb(back, (db) => readAll(db, fx)), expected);
    assert.deepEqual(await unreadRows(back), await unreadRows(source));
    // The same content, whichever dialect it was read from.
    assert.deepEqual(
      returned.tables.map((t) => t.targetChecksum),
      there.tables.map((t) => t.sourceChecksum),
    );
  });

  it('running the same copy again writes nothing and still verifies', async () => {
    const again = await copy(source, pg);
    assertVerified(again);
    assert.equal(again.writtenRows, 0);
    assert.deepEqual(await withDb(pg, (db) => readAll(db, fx)), expected);
  });

  it('the target hands out ids and seqs after the copied ones', async () => {
    await withDb(pg, async (db) => {
      const [sandboxJob] = fx.sandboxJobs;
      const copiedIds = (await db.listJobEvents(sandboxJob!, null)).map((e) => e.id);
      const id = await db.saveJobEvent(sandboxJob!, 'after-copy', null);
      assert.ok(id > Math.max(...copiedIds), `event id ${id} reuses a copied one (${copiedIds.join(', ')})`);
      const [conversation] = fx.conversations;
      const before = await db.listConversationMessages(conversation!);
      await db.addConversationMessage(conversation!, 'user', 'after the copy');
      const afterAdd = await db.listConversationMessages(conversation!);
      assert.equal(afterAdd.at(-1)!.content, 'after the copy');
      assert.ok(afterAdd.at(-1)!.seq > before.at(-1)!.seq);
    });
  });
});

describe('agentstore copy: a target that is not empty', () => {
  for (const kind of ['postgres', 'libsql'] as const) {
    it(`is refused when it holds other rows, with nothing written; --merge merges (${kind} target)`, async () => {
      const source = libsqlConfig();
      const target = kind === 'postgres' ? await pgConfig() : libsqlConfig();
      const ids = await withDb(source, async (db) => {
        const conversation = await db.createConversation('web', USER, null);
        for (let i = 0; i < 5; i++) await db.addConversationMessage(conversation, 'user', `before ${i}`);
        await db.setSetting(USER, 'theme', 'dark');
        const job = newSandboxJob({ userId: USER });
        await db.saveSandboxJob(job);
        await db.saveJobEvent(job.id, 'log', { n: 1 });
        return { conversation, job: job.id };
      });
      assertVerified(await copy(source, target));

      // Both sides go on separately: the source changes a setting and adds
      // messages; the target gets rows of its own (taking the next seqs,
      // which the source's new messages take too).
      await withDb(source, async (db) => {
        await db.setSetting(USER, 'theme', 'light');
        for (let i = 0; i < 3; i++) await db.addConversationMessage(ids.conversation, 'user', `after ${i}`);
      });
      const targetOnly = await withDb(target, async (db) => {
        await db.setSetting('carol', 'lang', 'fr');
        const c = await db.createConversation('web', 'carol', null);
        await db.addConversationMessage(c, 'user', 'mine');
        return c;
      });

      await assert.rejects(copy(source, target), (e: unknown) => {
        assert.ok(e instanceof CopyError);
        assert.match(e.message, /no row was written/);
        assert.match(e.message, /settings: 1 row with the key of a target row of other content \(\["ålice 🎉","theme"\]: value, updated_at\)/);
        assert.match(e.message, /conversations: 1 row in the target that the source does not have/);
        assert.match(e.message, /--merge/);
        return true;
      });
      await withDb(target, async (db) => {
        assert.equal(await db.getSetting(USER, 'theme'), 'dark');
        assert.equal((await db.listConversationMessages(ids.conversation)).length, 5);
      });

      const merged = await copy(source, target, { merge: true });
      assertVerified(merged);
      const [sourceMessages, targetView] = await Promise.all([
        withDb(source, (db) => db.listConversationMessages(ids.conversation)),
        withDb(target, async (db) => ({
          theme: await db.getSetting(USER, 'theme'),
          carol: await db.getSetting('carol', 'lang'),
          mine: await db.listConversationMessages(targetOnly),
          messages: await db.listConversationMessages(ids.conversation),
        })),
      ]);
      assert.equal(targetView.theme, 'light');
      assert.equal(targetView.carol, 'fr');
      assert.equal(targetView.mine.length, 1);
      // Same messages in the same order; the new ones numbered after the target's own.
      const noSeq = (ms: { seq: number }[]) => ms.map(({ seq: _, ...m }) => m);
      assert.deepEqual(noSeq(targetView.messages), noSeq(sourceMessages));
      assert.ok(targetView.messages.at(-3)!.seq > targetView.mine[0]!.seq);
      for (let i = 1; i < targetView.messages.length; i++) assert.ok(targetView.messages[i]!.seq > targetView.messages[i - 1]!.seq);

      // Merging again finds nothing to change.
      const again = await copy(source, target, { merge: true });
      assertVerified(again);
      assert.equal(again.writtenRows, 0);

      // Event ids are each database's counter: two different events with one id cannot be merged.
      await withDb(source, (db) => db.saveJobEvent(ids.job, 'log', { from: 'source' }));
      await withDb(target, (db) => db.saveJobEvent(ids.job, 'log', { from: 'target' }));
      await assert.rejects(copy(source, target, { merge: true }), /job_events: 1 event with the id of a different event in the target \(\d+: data, created_at\)/);
    });
  }

  it('--merge stops at a row that breaks another unique rule of the target, naming it', async () => {
    const source = libsqlConfig();
    await withDb(source, async (db) => {
      await db.setSetting(USER, 'theme', 'dark');
      await db.recordToolFailure('shell', 'from the source');
    });
    const pg = await pgConfig();
    await withDb(pg, (db) => db.recordToolFailure('shell', 'from the target'));
    await assert.rejects(
      copy(source, pg, { merge: true }),
      /writing tool_failures: duplicate key value violates unique constraint "tool_failures_tool_name_key": Key \(tool_name\)=\(shell\) already exists\.\nThe batches written so far are committed/,
    );
    // The tables before it were merged; the target's own tool failure is untouched.
    await withDb(pg, async (db) => {
      assert.equal(await db.getSetting(USER, 'theme'), 'dark');
      assert.deepEqual(
        (await db.getBrokenTools(1)).map((t) => [t.name, t.lastError]),
        [['shell', 'from the target']],
      );
    });
  });

  it('is refused when it holds embeddings of another dimension, even with --merge', async () => {
    const source = libsqlConfig();
    await withDb(source, async (db) => {
      const d = await db.getOrCreateDocumentByPath(USER, null, 'a.md');
      await db.insertChunk(d.id, 0, 'eight dimensions', vector(1));
    });
    const pg = await pgConfig(16);
    await withDb(pg, async (db) => {
      const d = await db.getOrCreateDocumentByPath('carol', null, 'b.md');
      await db.insertChunk(d.id, 0, 'sixteen dimensions', Float32Array.from({ length: 16 }, (_, i) => i + 1));
    });
    for (const merge of [false, true]) {
      await assert.rejects(copy(source, pg, { merge }), /embedding dimension: the source's embeddings have dimension 8 but the target holds embeddings of dimension 16/);
    }
  });

  it('an empty target records the source\'s dimension, whatever it recorded before', async () => {
    const source = libsqlConfig();
    await withDb(source, async (db) => {
      const d = await db.getOrCreateDocumentByPath(USER, null, 'a.md');
      await db.insertChunk(d.id, 0, 'eight dimensions', vector(1));
    });
    const target = libsqlConfig(16);
    await withDb(target, async () => undefined);
    const r = await copy(source, target);
    assertVerified(r);
    assert.deepEqual(r.embeddingDimension, { source: DIM, target: DIM });
  });

  it('refuses a source that is the target, or that is no agentstore database', async () => {
    const a = libsqlConfig();
    await assert.rejects(copy(a, a), /--from and --to name the same database/);
    await assert.rejects(copy(a, libsqlConfig()), /--from: .* does not exist/);
    await withDb(a, async () => undefined);
    const empty = libsqlConfig();
    await withDb(empty, async () => undefined);
    rmSync(empty.libsqlPath);
    // A file that exists but was never migrated.
    const { default: Libsql } = await import('libsql');
    new Libsql(empty.libsqlPath).close();
    await assert.rejects(copy(empty, a), /--from: .* holds no agentstore database/);
    // A source whose history stops at V3 (as an older build left it).
    const old = new Libsql(a.libsqlPath);
    old.exec('DELETE FROM agentstore_schema_history WHERE version >= 4');
    old.close();
    await assert.rejects(copy(a, libsqlConfig()), /--from: .* is at schema version 3 but this agentstore's is \d+: bring it up to date first/);
  });
});

describe('agentstore copy: the table list', () => {
  // Tables and columns the copy leaves alone on purpose (src/copy/tables.ts).
  const INTERNAL = new Set(['agentstore_schema_history', 'workspace_meta', 'sqlite_sequence']);

  it('names every table and column of both migrated schemas, so a new migration cannot be left out silently', async () => {
    const expected = (name: (c: (typeof TABLES)[number]['columns'][number]) => string) =>
      TABLES.flatMap((t) => t.columns.map((c) => `${t.name}.${name(c)}`)).sort();
    const lite = libsqlConfig();
    await withDb(lite, async () => undefined);
    const { default: Libsql } = await import('libsql');
    const d = new Libsql(lite.libsqlPath);
    const tables = d.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'memory_chunks_fts%'").all() as { name: string }[];
    const liteColumns = tables
      .filter((t) => !INTERNAL.has(t.name))
      .flatMap((t) => (d.prepare(`SELECT name FROM pragma_table_info(?)`).all(t.name) as { name: string }[]).map((c) => `${t.name}.${c.name}`))
      .sort();
    d.close();
    assert.deepEqual(liteColumns, expected(libsqlName));

    const pg = await pgConfig();
    await withDb(pg, async () => undefined);
    const { default: Pg } = await import('pg');
    const client = new Pg.Client({ connectionString: pg.databaseUrl! });
    await client.connect();
    try {
      const rows = (
        await client.query<{ c: string }>(
          "SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = 'public' AND NOT table_name = ANY($1) ORDER BY 1",
          [[...INTERNAL]],
        )
      ).rows.map((r) => r.c);
      assert.deepEqual(rows.sort(), expected(pgName));
    } finally {
      await client.end();
    }
  });
});
