// PostgreSQL with pgvector for tests: PGlite (PostgreSQL compiled to WASM)
// with its pgvector extension, served over the PostgreSQL wire protocol by
// pglite-socket on a free loopback port, in a child process
// (pglite-server.ts). One connection at a time, so the daemon's pool must be
// of size one. Each call starts a fresh in-memory server.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
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
      const port = await freePort();
      const child = fork(new URL('./pglite-server.js', import.meta.url), [String(port)]);
      const exited = once(child, 'exit');
      await Promise.race([once(child, 'message'), exited.then(() => Promise.reject(new Error('the PGlite server exited at start')))]);
      running.push({
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
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

/**
 * A direct connection to a PGlite server, beside the daemon's. PGlite serves
 * one connection at a time (this waits until the daemon's pool, closed
 * first, has let go) and every connection shares its one session, so the
 * daemon's named statements are dropped for its next boot.
 */
export async function pgliteClient(url: string): Promise<pg.Client> {
  for (let attempt = 0; ; attempt++) {
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.query('DEALLOCATE ALL');
      return c;
    } catch (e) {
      if (attempt === 50) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
