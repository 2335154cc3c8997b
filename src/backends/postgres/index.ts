// The PostgreSQL backend: a pg-pool shared by all stores; several daemons may
// share one database. Twin: src/backends/libsql/index.ts.
import type { Config } from '../../config.js';
import { notAReplica, type Database, type Stores } from '../../store/database.js';
import { pgConversations } from './conversations.js';
import { pgJobs } from './jobs.js';
import { migratePostgres, pgMigrations, pgSchemaVersion } from './migrate.js';
import { PgPool, sql } from './pool.js';
import { pgRoutines } from './routines.js';
import { pgJobEventHub, pgSandbox } from './sandbox.js';
import { pgSettings } from './settings.js';
import { pgToolFailures } from './tool-failures.js';
import { pgEmbeddingDimension, pgSetUpVectorSearch, pgWorkspace, type PgVectorSearch } from './workspace.js';

export type PostgresConfig = Pick<Config, 'databaseUrl' | 'poolSize' | 'acquireTimeoutMs' | 'embeddingDimension' | 'pgvectorIndex' | 'pgvectorEfSearch'>;

const PING = sql('SELECT 1 AS x');

export function openPostgres(config: PostgresConfig, onPoolError?: (e: Error) => void): Database {
  if (!config.databaseUrl) throw new Error('DATABASE_URL is required for the postgres backend');
  const pool = new PgPool({ url: config.databaseUrl, size: config.poolSize, acquireTimeoutMs: config.acquireTimeoutMs, onError: onPoolError });
  const latest = pgMigrations().at(-1)?.version ?? 0;
  let schemaVersion = 0;
  const events = pgJobEventHub(config.databaseUrl, config.acquireTimeoutMs, onPoolError);
  let vector: PgVectorSearch = { method: 'exact' };
  /** owner: the one user whose id-keyed rows the stores act on; null for all users. */
  const stores = (owner: string | null): Stores => ({
    ...pgConversations(pool, owner),
    ...pgSettings(pool),
    ...pgToolFailures(pool),
    ...pgRoutines(pool, owner),
    ...pgJobs(pool, owner),
    ...pgSandbox(pool, events.hub, owner),
    ...pgWorkspace(pool, owner, () => vector),
  });
  return {
    ...stores(null),
    ownedBy: (userId) => stores(userId),
    async runMigrations() {
      await migratePostgres(pool);
      await pgEmbeddingDimension(pool, config.embeddingDimension);
      vector = await pgSetUpVectorSearch(pool, config);
      schemaVersion = await pgSchemaVersion(pool);
    },
    async readSchemaVersion() {
      schemaVersion = await pgSchemaVersion(pool);
      return schemaVersion;
    },
    async health() {
      await pool.one(PING);
    },
    info: () => ({
      backend: 'postgres',
      schemaVersion,
      latestSchemaVersion: latest,
      vectorSearch: true,
      vectorSearchMethod: vector.method,
      embeddingDimension: config.embeddingDimension,
      replica: null,
    }),
    sync: notAReplica,
    // PostgreSQL checkpoints its own WAL.
    walCheckpoint: async () => null,
    close: async () => {
      await events.close();
      await pool.close();
    },
  };
}
