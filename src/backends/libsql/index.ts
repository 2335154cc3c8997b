// The libSQL backend: one local database file (WAL), connections leased per
// operation, writes queued in-process; or, with LIBSQL_URL, that file as the
// embedded replica of a remote primary (./replica.ts). Twin:
// src/backends/postgres/index.ts.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../../config.js';
import { notAReplica, type Database, type Stores } from '../../store/database.js';
import { libsqlConversations } from './conversations.js';
import { libsqlJobs } from './jobs.js';
import { libsqlMigrations, libsqlPendingMigrations, libsqlSchemaVersion, migrateLibsql } from './migrate.js';
import { LibsqlPool } from './pool.js';
import { PrimaryLink } from './replica.js';
import { libsqlRoutines } from './routines.js';
import { libsqlJobEventHub, libsqlSandbox } from './sandbox.js';
import { libsqlSettings } from './settings.js';
import { libsqlToolFailures } from './tool-failures.js';
import { VectorIndexes } from './vector-index.js';
import { libsqlEmbeddingDimension, libsqlWorkspace } from './workspace.js';

export type LibsqlConfig = Pick<
  Config,
  | 'libsqlPath'
  | 'libsqlBusyTimeoutMs'
  | 'libsqlSynchronous'
  | 'embeddingDimension'
  | 'libsqlVectorCandidates'
  | 'libsqlUrl'
  | 'libsqlAuthToken'
  | 'libsqlSyncIntervalSeconds'
  | 'acquireTimeoutMs'
  | 'healthIntervalMs'
>;

export function openLibsql(config: LibsqlConfig): Database {
  if (config.libsqlPath !== ':memory:') mkdirSync(dirname(config.libsqlPath), { recursive: true });
  const primary = config.libsqlUrl
    ? new PrimaryLink({
        path: config.libsqlPath,
        url: config.libsqlUrl,
        authToken: config.libsqlAuthToken,
        syncIntervalMs: config.libsqlSyncIntervalSeconds * 1000,
        timeoutMs: config.acquireTimeoutMs,
        retryMs: config.healthIntervalMs,
      })
    : undefined;
  const pool = new LibsqlPool({
    path: config.libsqlPath,
    busyTimeoutMs: config.libsqlBusyTimeoutMs,
    synchronous: config.libsqlSynchronous,
    maxReaders: 4,
    primary,
  });
  const latest = libsqlMigrations().at(-1)?.version ?? 0;
  let schemaVersion = 0;
  const hub = libsqlJobEventHub(pool);
  const vectorSearch = { indexes: new VectorIndexes(pool, config.embeddingDimension), candidates: config.libsqlVectorCandidates };
  /** owner: the one user whose id-keyed rows the stores act on; null for all users. */
  const stores = (owner: string | null): Stores => ({
    ...libsqlConversations(pool, owner),
    ...libsqlSettings(pool),
    ...libsqlToolFailures(pool),
    ...libsqlRoutines(pool, owner),
    ...libsqlJobs(pool, owner, (id) => hub.wake(id, 'status')),
    ...libsqlSandbox(pool, hub, owner),
    ...libsqlWorkspace(pool, owner, vectorSearch),
  });
  return {
    ...stores(null),
    ownedBy: (userId) => stores(userId),
    async runMigrations() {
      if (primary) {
        // The replica first catches up; then only what the primary still
        // lacks is migrated, on the primary (its write lock serialises
        // daemons booting together; the second finds the work done), so a
        // routine boot writes nothing.
        await pool.sync(primary);
        if ((await libsqlPendingMigrations(pool)).length > 0) {
          await migrateLibsql(pool);
          await pool.sync(primary);
        }
      } else {
        await migrateLibsql(pool);
      }
      await libsqlEmbeddingDimension(pool, config.embeddingDimension);
      schemaVersion = await libsqlSchemaVersion(pool);
      primary?.startBackground(() => pool.sync(primary));
    },
    async readSchemaVersion() {
      if (primary) await pool.sync(primary);
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
      vectorSearchMethod: config.libsqlVectorCandidates > 0 ? 'quantized_rescored' : 'exact',
      embeddingDimension: config.embeddingDimension,
      replica: primary?.status() ?? null,
    }),
    sync: () => (primary ? pool.sync(primary) : notAReplica()),
    // Outside any transaction (SQLite cannot checkpoint inside one), behind
    // the queued writes, so it never competes with our own writer. A
    // replica's log is the driver's to manage: it tracks frames in it.
    walCheckpoint: async () =>
      primary ? null : pool.withWriter((c) => {
        const r = c.get<{ busy: number; log: number; checkpointed: number }>('PRAGMA wal_checkpoint(TRUNCATE)');
        return { busy: (r?.busy ?? 0) !== 0, logPages: r?.log ?? 0, checkpointedPages: r?.checkpointed ?? 0 };
      }),
    close: () => {
      primary?.close();
      hub.close();
      return pool.close();
    },
  };
}
