// Database lifecycle conformance: migrations, reopen, health.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadMigrations } from '../../src/backends/migrations.js';
import { openDatabase } from '../../src/backends/open.js';
import { migrationHistory, openMigrated } from '../support/databases.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError } from './util.js';

export function lifecycleSuite(ctx: SuiteContext): void {
  describe('Database lifecycle', () => {
    it('health() resolves and info() names the backend at the latest schema version', async () => {
      const db = ctx.db();
      await db.health();
      const info = db.info();
      assert.equal(info.backend, ctx.backend.name);
      assert.ok(info.latestSchemaVersion >= 1);
      assert.equal(info.schemaVersion, info.latestSchemaVersion);
    });

    it('a database that is not an embedded replica says so: no replica status, sync() is FAILED_PRECONDITION', async () => {
      const db = ctx.db();
      assert.equal(db.info().replica, null);
      await assertStoreError(db.sync(), 'failed_precondition', /not an embedded replica/);
    });

    it('runMigrations twice is idempotent and keeps the data', async () => {
      const db = ctx.db();
      const u = `user-${randomUUID()}`;
      await db.setSetting(u, 'k', 'v');
      await db.runMigrations();
      await db.runMigrations();
      assert.equal(await db.getSetting(u, 'k'), 'v');
      assert.equal(db.info().schemaVersion, db.info().latestSchemaVersion);
    });

    it('readSchemaVersion only looks: 0 on an empty database, the latest after migrating', async () => {
      const db = openDatabase(await ctx.backend.config());
      try {
        assert.equal(await db.readSchemaVersion(), 0);
        assert.equal(await db.readSchemaVersion(), 0);
        await db.runMigrations();
        assert.equal(await db.readSchemaVersion(), db.info().latestSchemaVersion);
      } finally {
        await db.close();
      }
    });

    it('data survives close and reopen', async () => {
      const config = await ctx.backend.config();
      const u = `user-${randomUUID()}`;
      const tool = `tool-${randomUUID()}`;
      const first = await openMigrated(config);
      const id = await first.createConversationWithMetadata('gateway', u, { k: [1, null] });
      await first.addConversationMessage(id, 'user', 'remember me 🧠');
      await first.setAllSettings(u, { a: 1, b: null });
      await first.recordToolFailure(tool, 'oops');
      const heartbeat = await first.getOrCreateHeartbeatConversation(u);
      const messages = await first.listConversationMessages(id);
      const settings = await first.listSettings(u);
      await first.close();
      await assertStoreError(first.health(), 'unavailable');
      await assertStoreError(first.getSetting(u, 'a'), 'unavailable');

      const second = await openMigrated(config);
      try {
        assert.deepEqual(await second.getConversationMetadata(id), { k: [1, null] });
        assert.deepEqual(await second.listConversationMessages(id), messages);
        assert.deepEqual(await second.listSettings(u), settings);
        assert.equal(await second.getOrCreateHeartbeatConversation(u), heartbeat);
        assert.deepEqual(
          (await second.getBrokenTools(1)).filter((t) => t.name === tool).map((t) => [t.failureCount, t.lastError]),
          [[1, 'oops']],
        );
        // The sequence continues after a reopen: new messages sort last.
        await second.addConversationMessage(id, 'assistant', 'still here');
        const after = await second.listConversationMessages(id);
        assert.deepEqual(
          after.map((m) => m.content),
          ['remember me 🧠', 'still here'],
        );
        assert.ok(after[1]!.seq > after[0]!.seq);
      } finally {
        await second.close();
      }
    });

    it('close with operations in flight: each one succeeds or fails unavailable, and what succeeded is kept', async () => {
      const config = await ctx.backend.config();
      const u = `user-${randomUUID()}`;
      const db = await openMigrated(config);
      const id = await db.createConversation('gateway', u);
      const writes = Array.from({ length: 200 }, (_, i) => db.addConversationMessage(id, 'user', `m${i}`));
      const reads = Array.from({ length: 50 }, () => db.listConversationMessages(id));
      await db.close();
      const results = await Promise.allSettled([...writes, ...reads]);
      for (const r of results) {
        if (r.status === 'rejected') await assertStoreError(Promise.reject(r.reason), 'unavailable');
      }
      const stored = results.slice(0, writes.length).filter((r) => r.status === 'fulfilled').length;
      await assertStoreError(db.addConversationMessage(id, 'user', 'late'), 'unavailable');
      const reopened = await openMigrated(config);
      try {
        assert.equal((await reopened.listConversationMessages(id)).length, stored);
      } finally {
        await reopened.close();
      }
    });

    it('two Databases migrating one fresh database at once both succeed; each version is recorded once', async () => {
      const config = await ctx.backend.config();
      const a = openDatabase(config);
      const b = openDatabase(config);
      try {
        await Promise.all([a.runMigrations(), b.runMigrations()]);
        const latest = a.info().latestSchemaVersion;
        assert.equal(a.info().schemaVersion, latest);
        assert.equal(b.info().schemaVersion, latest);
        const history = await migrationHistory(config);
        const versions = loadMigrations(ctx.backend.name === 'postgres' ? 'migrations-pg' : 'schema-libsql').map((m) => m.version);
        assert.deepEqual(
          [...history.entries()].sort((x, y) => x[0] - y[0]),
          versions.map((v) => [v, 1]),
        );
        // Both can use the database.
        const u = `user-${randomUUID()}`;
        await a.setSetting(u, 'k', 1);
        assert.equal(await b.getSetting(u, 'k'), 1);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
