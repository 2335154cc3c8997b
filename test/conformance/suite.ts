// The conformance suite: every store's behaviour, written once against the
// Database interface and run unchanged on every backend (libsql.test.ts,
// postgres.test.ts). A difference between the backends is a failing test.
import { after, before, describe } from 'node:test';
import type { Config } from '../../src/config.js';
import type { Database } from '../../src/store/database.js';
import { openMigrated, type TestBackend } from '../support/databases.js';
import { conversationSuite } from './conversations.js';
import { jobSuite } from './jobs.js';
import { sandboxSuite } from './sandbox.js';
import { lifecycleSuite } from './lifecycle.js';
import { limitsSuite } from './limits.js';
import { ownershipSuite } from './ownership.js';
import { routineSuite } from './routines.js';
import { settingsSuite } from './settings.js';
import { toolFailureSuite } from './tool-failures.js';
import { workspaceSuite } from './workspace.js';

export interface SuiteContext {
  backend: TestBackend;
  /** The shared, migrated database of this run (tests use fresh user ids). */
  db(): Database;
  /** Its configuration (to open a second daemon's view of the same database). */
  config(): Config;
}

export function runConformance(backend: TestBackend): void {
  describe(`conformance: ${backend.name}`, () => {
    let db: Database | undefined;
    let config: Config | undefined;
    before(async () => {
      config = await backend.config();
      db = await openMigrated(config);
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
      config: () => {
        if (!config) throw new Error('database not open');
        return config;
      },
    };
    ownershipSuite(ctx);
    conversationSuite(ctx);
    settingsSuite(ctx);
    toolFailureSuite(ctx);
    routineSuite(ctx);
    jobSuite(ctx);
    sandboxSuite(ctx);
    workspaceSuite(ctx);
    limitsSuite(ctx);
    lifecycleSuite(ctx);
  });
}
