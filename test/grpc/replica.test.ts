// The daemon as an embedded replica (LIBSQL_URL + LIBSQL_AUTH_TOKEN): boot
// against a primary that cannot be reached or refuses the token stops within
// a bounded time with one line naming the setting, never the token; a daemon
// that is not a replica answers Sync with FAILED_PRECONDITION. End to end
// against a real primary (write through one daemon, sync and read on
// another; an outage and the recovery) only when LIBSQL_TEST_SYNC_URL and
// LIBSQL_TEST_AUTH_TOKEN name one: no libSQL server can be installed here.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Database } from '../../src/backends/libsql/driver.js';
import { Admin } from '../../src/gen/agentstore/v1/admin_pb.js';
import { SettingsStore } from '../../src/gen/agentstore/v1/settings_pb.js';
import { Authenticator } from '../../src/grpc/auth.js';
import { startServer, WRITES_HEALTH } from '../../src/grpc/server.js';
import type { Database as Store, ReplicaStatus } from '../../src/store/database.js';
import { startCannedPrimary } from '../support/canned-primary.js';
import { libsqlBackend, openMigrated } from '../support/databases.js';
import { freePort } from '../support/postgres.js';
import { backendEnv, healthCheck, promiseClient, rejectsWith, removeTempDirs, runCli, sleep, startDaemon, type Daemon } from './client.js';

const TOKEN = 'tok-7d2e9b4c-never-printed';

after(() => removeTempDirs());

async function listening<S extends Server | HttpServer>(server: S): Promise<{ server: S; url: string }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('boot as an embedded replica', () => {
  const oneLine = (s: string) => {
    const lines = s.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${s}`);
    return lines[0]!;
  };

  /** Boots against `url`; asserts exit 1 with one line naming `setting`, no token, within `withinMs`. */
  async function bootFails(url: string, setting: string, withinMs: number, env: Record<string, string> = {}): Promise<string> {
    const t0 = performance.now();
    const r = await runCli(['serve'], { ...(await backendEnv('libsql')), LIBSQL_URL: url, LIBSQL_AUTH_TOKEN: TOKEN, ...env });
    const ms = performance.now() - t0;
    assert.equal(r.code, 1, r.stderr);
    const line = oneLine(r.stderr);
    assert.match(line, new RegExp(`^agentstore: ${setting}: `));
    assert.ok(!(r.stdout + r.stderr).includes(TOKEN), 'the token is never printed');
    assert.ok(ms < withinMs, `stopped after ${Math.round(ms)} ms (bound ${withinMs})`);
    return line;
  }

  it('a closed port stops boot at once, naming LIBSQL_URL', async () => {
    const line = await bootFails(`http://127.0.0.1:${await freePort()}`, 'LIBSQL_URL', 3000);
    assert.match(line, /cannot reach the primary .*ECONNREFUSED/);
  });

  it('a primary that answers 401 stops boot, naming LIBSQL_AUTH_TOKEN', async () => {
    const { server, url } = await listening(createHttpServer((_, res) => res.writeHead(401).end('unauthorized')));
    try {
      assert.match(await bootFails(url, 'LIBSQL_AUTH_TOKEN', 3000), /refused the token \(HTTP 401\)/);
    } finally {
      server.close();
    }
  });

  it('a sqld-like primary refusing the token over gRPC stops boot, naming LIBSQL_AUTH_TOKEN', async () => {
    const primary = await startCannedPrimary('refuse-token');
    try {
      assert.match(await bootFails(primary.url, 'LIBSQL_AUTH_TOKEN', 3000), /refused the token \(gRPC status 16\)/);
    } finally {
      await primary.stop();
    }
  });

  it('a server that accepts and never answers stops boot after DATABASE_ACQUIRE_TIMEOUT_MS, naming LIBSQL_URL', async () => {
    const sockets: Socket[] = [];
    const { server, url } = await listening(createServer((s) => void sockets.push(s)));
    try {
      assert.match(await bootFails(url, 'LIBSQL_URL', 4000, { DATABASE_ACQUIRE_TIMEOUT_MS: '1500' }), /no answer within 1500 ms/);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  it('an HTTP server that is not libSQL stops boot, naming LIBSQL_URL', async () => {
    const { server, url } = await listening(createHttpServer((_, res) => res.writeHead(404).end()));
    try {
      // The driver tries the replication handshake three times, a second apart.
      assert.match(await bootFails(url, 'LIBSQL_URL', 6000), /did not complete the replication handshake/);
    } finally {
      server.close();
    }
  });

  it('a LIBSQL_PATH holding a database that is not a replica stops boot, naming it', async () => {
    const primary = await startCannedPrimary('ok');
    const env = await backendEnv('libsql');
    const plain = new Database(env.LIBSQL_PATH!);
    plain.exec('CREATE TABLE t (k TEXT)');
    plain.close();
    try {
      assert.match(await bootFails(primary.url, 'LIBSQL_PATH', 5000, env), /not a replica/);
    } finally {
      await primary.stop();
    }
  });

  it('a bad LIBSQL_SYNC_INTERVAL exits 2 naming it', async () => {
    const r = await runCli(['serve'], { ...(await backendEnv('libsql')), LIBSQL_URL: 'libsql://db.example.turso.io', LIBSQL_AUTH_TOKEN: TOKEN, LIBSQL_SYNC_INTERVAL: 'often' });
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr), /^agentstore: LIBSQL_SYNC_INTERVAL: /);
  });
});

describe('a daemon that is not an embedded replica', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon(await backendEnv('libsql'));
  });
  after(async () => {
    assert.equal((await daemon?.stop())?.code, 0);
  });

  it('answers Sync with FAILED_PRECONDITION, reports no replica, and serves writes health', async () => {
    const admin = promiseClient(Admin, daemon.address);
    try {
      await rejectsWith(admin.sync({}), grpc.status.FAILED_PRECONDITION, /not an embedded replica/);
      const status = await admin.getStatus({});
      assert.equal(status.replica, undefined);
      assert.equal(await healthCheck(daemon.address, WRITES_HEALTH), 'SERVING');
    } finally {
      admin.close();
    }
  });
});

describe('writes health follows the replica link', () => {
  it(`"${WRITES_HEALTH}" is NOT_SERVING while the replica is not writable, and back after; reads stay SERVING`, async () => {
    // A real local database, whose info() reports the replica state the link would.
    const backend = libsqlBackend();
    const config = { ...(await backend.config()), listen: '127.0.0.1:0', healthIntervalMs: 100 };
    const db = await openMigrated(config);
    let writable = true;
    const replica = (): ReplicaStatus => ({
      primaryUrl: 'http://127.0.0.1:8080',
      syncIntervalSeconds: 5,
      lastSyncAt: new Date(),
      lastSyncFrames: 0,
      framesPulled: 0,
      frameNo: null,
      lastSyncError: writable ? null : 'cannot sync with the primary',
      lastSyncErrorAt: writable ? null : new Date(),
      writable,
    });
    const view: Store = { ...db, info: () => ({ ...db.info(), replica: replica() }) };
    const security = { auth: new Authenticator(null), credentials: grpc.ServerCredentials.createInsecure() };
    const running = await startServer(config, view, pino({ level: 'silent' }), 'test', security);
    const address = `127.0.0.1:${running.port}`;
    const until = async (service: string, want: string) => {
      for (let i = 0; (await healthCheck(address, service)) !== want; i++) {
        assert.ok(i < 50, `${service || '(server)'} turns ${want}`);
        await sleep(50);
      }
    };
    try {
      await until(WRITES_HEALTH, 'SERVING');
      writable = false;
      await until(WRITES_HEALTH, 'NOT_SERVING');
      assert.equal(await healthCheck(address, ''), 'SERVING');
      assert.equal(await healthCheck(address, 'agentstore.v1.SettingsStore'), 'SERVING');
      writable = true;
      await until(WRITES_HEALTH, 'SERVING');
    } finally {
      await running.shutdown();
      await db.close();
      await backend.cleanup();
    }
  });
});

// ---- against a real primary ------------------------------------------------

const SYNC_URL = process.env.LIBSQL_TEST_SYNC_URL;
const SYNC_TOKEN = process.env.LIBSQL_TEST_AUTH_TOKEN;
const skip = SYNC_URL
  ? false
  : 'needs a real libSQL primary: set LIBSQL_TEST_SYNC_URL (and LIBSQL_TEST_AUTH_TOKEN) to a scratch sqld or Turso database (README "Embedded replica"); none can be installed where these tests run';

/** A TCP relay to the primary that can be cut and restored, to stage an outage. */
async function relay(target: URL): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const restore = () =>
    new Promise<void>((resolve) => {
      server = createServer((inbound) => {
        const outbound = connect(Number(target.port || 80), target.hostname);
        for (const s of [inbound, outbound]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        inbound.pipe(outbound).pipe(inbound);
      });
      server.listen(port, '127.0.0.1', resolve);
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (server) server.close(() => resolve());
      else resolve();
      server = undefined;
    });
  await restore();
  return { url: `http://127.0.0.1:${port}`, cut, restore, close: cut };
}

describe('end to end against a real primary', { skip }, () => {
  const dirs: string[] = [];
  const daemons: Daemon[] = [];
  const replicaEnv = (url = SYNC_URL!) => {
    const dir = mkdtempSync(join(tmpdir(), 'agentstore-replica-e2e-'));
    dirs.push(dir);
    return { LIBSQL_PATH: join(dir, 'replica.db'), LIBSQL_URL: url, ...(SYNC_TOKEN ? { LIBSQL_AUTH_TOKEN: SYNC_TOKEN } : {}), LIBSQL_SYNC_INTERVAL: '0' };
  };
  const boot = async (env: Record<string, string>) => {
    const d = await startDaemon(env, { waitMs: 60_000 });
    daemons.push(d);
    return d;
  };
  after(async () => {
    for (const d of daemons) {
      assert.ok(!(d.stdout() + d.stderr()).includes(SYNC_TOKEN ?? '\0'), 'the token is never printed');
      await d.stop();
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('two daemons boot together and migrate the primary once; a write through one is read by it at once, and by the other after Sync', async () => {
    const envA = replicaEnv();
    const envB = replicaEnv();
    const [a, b] = await Promise.all([boot(envA), boot(envB)]);
    const adminA = promiseClient(Admin, a.address);
    const adminB = promiseClient(Admin, b.address);
    const settingsA = promiseClient(SettingsStore, a.address);
    const settingsB = promiseClient(SettingsStore, b.address);
    try {
      for (const admin of [adminA, adminB]) {
        const s = await admin.getStatus({});
        assert.equal(s.schemaVersion, s.latestSchemaVersion);
        assert.equal(s.replica?.writable, true);
        assert.ok(s.replica?.lastSyncTime, 'synced at boot');
        assert.ok(!JSON.stringify(s.replica).includes(SYNC_TOKEN ?? '\0'));
      }
      // Each version once in the primary's history, as B's replica shows it.
      const local = new Database(envB.LIBSQL_PATH);
      const history = local.prepare('SELECT version, count(*) AS n FROM agentstore_schema_history GROUP BY version').all() as { n: number }[];
      local.close();
      assert.ok(history.length > 0 && history.every((h) => h.n === 1), JSON.stringify(history));

      const user = `e2e-${randomUUID()}`;
      await settingsA.setSetting({ userId: user, key: 'k', value: { kind: { case: 'stringValue', value: 'from A' } } });
      assert.equal((await settingsA.getSetting({ userId: user, key: 'k' })).found, true, 'A reads its own write at once');
      const pulled = await adminB.sync({});
      assert.ok(pulled.framesPulled > 0n, 'B pulled the write');
      const onB = await settingsB.getSetting({ userId: user, key: 'k' });
      assert.equal(onB.found, true);
      assert.deepEqual(onB.value?.kind, { case: 'stringValue', value: 'from A' });
    } finally {
      for (const c of [adminA, adminB, settingsA, settingsB]) c.close();
    }
  });

  it('a primary lost while running: writes UNAVAILABLE, writes health NOT_SERVING, reads go on; back by itself', async (t) => {
    const target = new URL(SYNC_URL!);
    if (target.protocol !== 'http:') {
      t.skip('the outage is staged through a TCP relay, which needs an http:// primary (a local sqld)');
      return;
    }
    const link = await relay(target);
    const d = await boot(replicaEnv(link.url));
    const settings = promiseClient(SettingsStore, d.address);
    const user = `e2e-${randomUUID()}`;
    const value = { kind: { case: 'numberValue' as const, value: 1 } };
    try {
      await settings.setSetting({ userId: user, key: 'before', value });
      await link.cut();
      await rejectsWith(settings.setSetting({ userId: user, key: 'during', value }), grpc.status.UNAVAILABLE);
      assert.equal(await healthCheck(d.address, ''), 'SERVING', 'reads are still served');
      for (let i = 0; (await healthCheck(d.address, WRITES_HEALTH)) !== 'NOT_SERVING'; i++) {
        assert.ok(i < 50, 'writes health turns NOT_SERVING');
        await sleep(100);
      }
      assert.equal((await settings.getSetting({ userId: user, key: 'before' })).found, true);
      await link.restore();
      for (let i = 0; (await healthCheck(d.address, WRITES_HEALTH)) !== 'SERVING'; i++) {
        assert.ok(i < 300, 'writes health back to SERVING');
        await sleep(100);
      }
      await settings.setSetting({ userId: user, key: 'after', value });
      assert.equal((await settings.getSetting({ userId: user, key: 'after' })).found, true);
    } finally {
      settings.close();
      await link.close();
    }
  });
});
