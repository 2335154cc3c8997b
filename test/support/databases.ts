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

/**
 * The migration history rows of the database `config` points at, read
 * directly (the Database interface does not expose them): version → how many
 * times it is recorded.
 */
export async function migrationHistory(config: Config): Promise<Map<number, number>> {
  const rows: { version: number }[] = [];
  if (config.backend === 'postgres') {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: config.databaseUrl! });
    await c.connect();
    try {
      rows.push(...(await c.query<{ version: number }>('SELECT version FROM agentstore_schema_history')).rows);
    } finally {
      await c.end();
    }
  } else {
    const { default: Libsql } = await import('libsql');
    const d = new Libsql(config.libsqlPath, { readonly: true });
    try {
      rows.push(...(d.prepare('SELECT version FROM agentstore_schema_history').all() as { version: number }[]));
    } finally {
      d.close();
    }
  }
  const out = new Map<number, number>();
  for (const r of rows) out.set(Number(r.version), (out.get(Number(r.version)) ?? 0) + 1);
  return out;
}
