// The conformance suite: every store's behaviour, written once against the
// Database interface and run unchanged on every backend (libsql.test.ts,
// postgres.test.ts). A difference between the backends is a failing test.
import { after, before, describe } from 'node:test';
import type { Database } from '../../src/store/database.js';
import { openMigrated, type TestBackend } from '../support/databases.js';
import { conversationSuite } from './conversations.js';
import { lifecycleSuite } from './lifecycle.js';
import { settingsSuite } from './settings.js';
import { toolFailureSuite } from './tool-failures.js';
import { workspaceSuite } from './workspace.js';

export interface SuiteContext {
  backend: TestBackend;
  /** The shared, migrated database of this run (tests use fresh user ids). */
  db(): Database;
}

export function runConformance(backend: TestBackend): void {
  describe(`conformance: ${backend.name}`, () => {
    let db: Database | undefined;
    before(async () => {
      db = await openMigrated(await backend.config());
    });
    after(async () => {
      await db?.close();
      await backend.cleanup();
    });
    const ctx: SuiteContext = {
      backend,
      db: () => {
        if (!db) throw new Error('database not open');
        return db;
      },
    };
    conversationSuite(ctx);
    settingsSuite(ctx);
    toolFailureSuite(ctx);
    workspaceSuite(ctx);
    lifecycleSuite(ctx);
  });
}
