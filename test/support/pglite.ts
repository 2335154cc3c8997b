// PostgreSQL with pgvector for tests: PGlite (PostgreSQL compiled to WASM)
// with its pgvector extension, served over the PostgreSQL wire protocol by
// pglite-socket on a free loopback port. One connection at a time, so the
// daemon's pool must be of size one. Each call starts a fresh in-memory server.
import type { Config } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import type { TestBackend } from './databases.js';
import { freePort } from './postgres.js';

interface Running {
  stop(): Promise<void>;
}

/** `env`: further settings, e.g. PGVECTOR_INDEX or PGVECTOR_EF_SEARCH. */
export function pgvectorBackend(env: Record<string, string> = {}): TestBackend & { name: 'postgres' } {
  const running: Running[] = [];
  return {
    name: 'postgres',
    async config(): Promise<Config> {
      const { PGlite } = await import('@electric-sql/pglite');
      const { vector } = await import('@electric-sql/pglite-pgvector');
      const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
      const db = await PGlite.create({ extensions: { vector } });
      const port = await freePort();
      const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', debug: process.env.PGLITE_DEBUG === '1' });
      await server.start();
      running.push({
        stop: async () => {
          await server.stop();
          await db.close();
        },
      });
      return loadConfig({
        AGENTSTORE_LOG_LEVEL: 'silent',
        DATABASE_BACKEND: 'postgres',
        DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
        DATABASE_POOL_SIZE: '1',
        DATABASE_ACQUIRE_TIMEOUT_MS: '60000',
        ...env,
      }).config;
    },
    async cleanup() {
      for (const r of running.splice(0)) await r.stop();
    },
  };
}
