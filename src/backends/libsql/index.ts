// The libSQL backend: one local database file (WAL), connections leased per
// operation, writes queued in-process. Twin: src/backends/postgres/index.ts.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../../config.js';
import type { Database, Stores } from '../../store/database.js';
import { libsqlConversations } from './conversations.js';
import { libsqlJobs } from './jobs.js';
import { libsqlMigrations, libsqlSchemaVersion, migrateLibsql } from './migrate.js';
import { LibsqlPool } from './pool.js';
import { libsqlRoutines } from './routines.js';
import { libsqlJobEventHub, libsqlSandbox } from './sandbox.js';
import { libsqlSettings } from './settings.js';
import { libsqlToolFailures } from './tool-failures.js';
import { libsqlEmbeddingDimension, libsqlWorkspace } from './workspace.js';

export type LibsqlConfig = Pick<Config, 'libsqlPath' | 'libsqlBusyTimeoutMs' | 'libsqlSynchronous' | 'embeddingDimension'>;

export function openLibsql(config: LibsqlConfig): Database {
  if (config.libsqlPath !== ':memory:') mkdirSync(dirname(config.libsqlPath), { recursive: true });
  const pool = new LibsqlPool({
    path: config.libsqlPath,
    busyTimeoutMs: config.libsqlBusyTimeoutMs,
    synchronous: config.libsqlSynchronous,
    maxReaders: 4,
  });
  const latest = libsqlMigrations().at(-1)?.version ?? 0;
  let schemaVersion = 0;
  const hub = libsqlJobEventHub(pool);
  /** owner: the one user whose id-keyed rows the stores act on; null for all users. */
  const stores = (owner: string | null): Stores => ({
    ...libsqlConversations(pool, owner),
    ...libsqlSettings(pool),
    ...libsqlToolFailures(pool),
    ...libsqlRoutines(pool, owner),
    ...libsqlJobs(pool, owner, (id) => hub.wake(id, 'status')),
    ...libsqlSandbox(pool, hub, owner),
    ...libsqlWorkspace(pool, owner),
  });
  return {
    ...stores(null),
    ownedBy: (userId) => stores(userId),
    async runMigrations() {
      await migrateLibsql(pool);
      await libsqlEmbeddingDimension(pool, config.embeddingDimension);
      schemaVersion = await libsqlSchemaVersion(pool);
    },
    async readSchemaVersion() {
      schemaVersion = await libsqlSchemaVersion(pool);
      return schemaVersion;
    },
    async health() {
      await pool.read((c) => c.get('SELECT 1 AS x'));
    },
    info: () => ({
      backend: 'libsql',
      schemaVersion,
      latestSchemaVersion: latest,
      vectorSearch: true,
      vectorSearchMethod: 'exact',
      embeddingDimension: config.embeddingDimension,
    }),
    // Outside any transaction (SQLite cannot checkpoint inside one), behind
    // the queued writes, so it never competes with our own writer.
    walCheckpoint: () =>
      pool.withWriter((c) => {
        const r = c.get<{ busy: number; log: number; checkpointed: number }>('PRAGMA wal_checkpoint(TRUNCATE)');
        return { busy: (r?.busy ?? 0) !== 0, logPages: r?.log ?? 0, checkpointedPages: r?.checkpointed ?? 0 };
      }),
    close: () => {
      hub.close();
      return pool.close();
    },
  };
}
