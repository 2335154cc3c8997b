// The backends every conformance and gRPC test runs against. Each factory
// opens a fresh, migrated Database exactly as the daemon does (open.ts, with
// the shared argument checks in front).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/backends/open.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Database } from '../../src/store/database.js';
import { createTestDatabase, stopTestServer } from './postgres.js';

export interface TestBackend {
  name: 'libsql' | 'postgres';
  /** Configuration for a fresh, empty database of this backend. */
  config(): Promise<Config>;
  /** Releases what config() created (files, the embedded server). */
  cleanup(): Promise<void>;
}

const baseConfig = (env: Record<string, string>): Config => loadConfig({ AGENTSTORE_LOG_LEVEL: 'silent', ...env }).config;

export function libsqlBackend(): TestBackend {
  const dirs: string[] = [];
  return {
    name: 'libsql',
    async config() {
      const dir = mkdtempSync(join(tmpdir(), 'agentstore-libsql-'));
      dirs.push(dir);
      return baseConfig({ DATABASE_BACKEND: 'libsql', LIBSQL_PATH: join(dir, 'agentstore.db') });
    },
    async cleanup() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

export function postgresBackend(): TestBackend {
  return {
    name: 'postgres',
    async config() {
      return baseConfig({ DATABASE_BACKEND: 'postgres', DATABASE_URL: await createTestDatabase(), DATABASE_POOL_SIZE: '10' });
    },
    cleanup: stopTestServer,
  };
}

export const ALL_BACKENDS = [libsqlBackend, postgresBackend];

export async function openMigrated(config: Config): Promise<Database> {
  const db = openDatabase(config);
  await db.runMigrations();
  return db;
}
