// The embedded replica's settings and its link to the primary, through the
// real `libsql` driver. No libSQL server installs here, so the primary is
// test/support/canned-primary.ts: canned answers in sqld's replica protocol
// (handshake, an empty log, delegated writes that succeed or violate a
// constraint), or a closed port, a silent server, a refused token. What this
// cannot show: frames actually replicated, and Turso Cloud's own protocol;
// test/grpc/replica.test.ts does, against a real primary, when one is given.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { Database } from '../../src/backends/libsql/driver.js';
import { LibsqlPool } from '../../src/backends/libsql/pool.js';
import { PrimaryLink, type PrimaryOptions } from '../../src/backends/libsql/replica.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { StoreError } from '../../src/store/errors.js';
import { startCannedPrimary, type CannedPrimary } from '../support/canned-primary.js';
import { freePort } from '../support/postgres.js';

const TOKEN = 'tok-3f9c1e7a-never-printed';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), 'agentstore-replica-'));
let n = 0;
const freshPath = () => join(dir, `replica-${++n}.db`);
after(() => rmSync(dir, { recursive: true, force: true }));

function linkTo(url: string, o: Partial<PrimaryOptions> = {}): { link: PrimaryLink; pool: LibsqlPool } {
  const path = o.path ?? freshPath();
  const link = new PrimaryLink({ path, url, authToken: TOKEN, syncIntervalMs: 0, timeoutMs: 1500, retryMs: 200, ...o });
  const pool = new LibsqlPool({ path, busyTimeoutMs: 1000, synchronous: 'NORMAL', maxReaders: 2, primary: link });
  return { link, pool };
}

async function rejectsStore(p: Promise<unknown>, kind: string, check?: (e: StoreError) => void): Promise<StoreError> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected ${kind}, it succeeded`),
    (e: unknown) => (caught = e),
  );
  assert.ok(caught instanceof StoreError, `a StoreError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.ok(!caught.message.includes(TOKEN), 'no token in the message');
  check?.(caught);
  return caught;
}

async function eventually(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

describe('replica settings', () => {
  const remote = { LIBSQL_URL: 'libsql://db-example.turso.io', LIBSQL_AUTH_TOKEN: TOKEN };
  const fails = (env: Record<string, string>, setting: string) =>
    assert.throws(
      () => loadConfig(env),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${setting}:`) && !e.message.includes(TOKEN) && !e.message.includes('s3cr3t'),
    );

  it('LIBSQL_SYNC_INTERVAL: seconds, 5 by default, 0 for on demand only', () => {
    assert.equal(loadConfig(remote).config.libsqlSyncIntervalSeconds, 5);
    assert.equal(loadConfig({ ...remote, LIBSQL_SYNC_INTERVAL: '0' }).config.libsqlSyncIntervalSeconds, 0);
    assert.equal(loadConfig(remote, ['--libsql-sync-interval', '60']).config.libsqlSyncIntervalSeconds, 60);
    fails({ ...remote, LIBSQL_SYNC_INTERVAL: '1.5' }, 'LIBSQL_SYNC_INTERVAL');
    fails({ ...remote, LIBSQL_SYNC_INTERVAL: '-1' }, 'LIBSQL_SYNC_INTERVAL');
  });

  it('LIBSQL_URL: a libsql://, https:// or http:// URL without credentials, for the libsql backend and a file', () => {
    assert.equal(loadConfig(remote).config.libsqlUrl, remote.LIBSQL_URL);
    assert.equal(loadConfig({ LIBSQL_URL: 'https://db-example.turso.io', LIBSQL_AUTH_TOKEN: TOKEN }).config.libsqlUrl, 'https://db-example.turso.io');
    // A local sqld without authentication needs no token.
    assert.equal(loadConfig({ LIBSQL_URL: 'http://127.0.0.1:8080' }).config.libsqlAuthToken, null);
    fails({ ...remote, LIBSQL_URL: 'ftp://db.example' }, 'LIBSQL_URL');
    fails({ ...remote, LIBSQL_URL: 'file:/tmp/x.db' }, 'LIBSQL_URL');
    fails({ ...remote, LIBSQL_URL: 'not a url' }, 'LIBSQL_URL');
    fails({ ...remote, LIBSQL_URL: 'libsql://db-example.turso.io?authToken=s3cr3t' }, 'LIBSQL_URL');
    fails({ ...remote, LIBSQL_URL: 'https://user:s3cr3t@db-example.turso.io' }, 'LIBSQL_URL');
    fails({ LIBSQL_URL: 'libsql://db-example.turso.io' }, 'LIBSQL_AUTH_TOKEN');
    fails({ ...remote, DATABASE_BACKEND: 'postgres', DATABASE_URL: 'postgres://127.0.0.1/x' }, 'LIBSQL_URL');
    fails({ ...remote, LIBSQL_PATH: ':memory:' }, 'LIBSQL_PATH');
  });
});

describe('the link to the primary (real driver, canned primary)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  const started = async (mode?: 'ok' | 'refuse-token', port?: number): Promise<CannedPrimary> => {
    const p = await startCannedPrimary(mode, port);
    cleanup.push(() => p.stop());
    return p;
  };
  const opened = (url: string, o?: Partial<PrimaryOptions>) => {
    const r = linkTo(url, o);
    cleanup.push(() => {
      r.link.close();
      return r.pool.close();
    });
    return r;
  };

  it('a write runs on the primary as one transaction, then is pulled back once before the next write', async () => {
    const primary = await started();
    const { link, pool } = opened(primary.url);
    await pool.sync(link); // opens the replica handle
    const before = (await primary.requests()).length;
    assert.equal(await pool.write((c) => c.run("INSERT INTO t (k) VALUES ('a')").changes), 0);
    const seen = (await primary.requests()).slice(before).map((r) => (r.sql ? `${r.path} ${r.sql}` : r.path));
    assert.deepEqual(seen.slice(0, 4), ['Execute BEGIN', 'Describe INSERT', 'Execute INSERT', 'Execute COMMIT'], 'no sync between statements');
    // The pull runs on the driver's own threads: its two requests may reach
    // the primary in either order.
    assert.deepEqual(seen.slice(4).sort(), ['BatchLogEntries', 'Hello'], 'one pull after the commit');
    const s = link.status();
    assert.equal(s.writable, true);
    assert.ok(s.lastSyncAt, 'the pull after the commit counts as a sync');
    assert.equal(s.lastSyncError, null);
  });

  it("the primary's UNIQUE and FOREIGN KEY violations are ALREADY_EXISTS and FAILED_PRECONDITION, and roll back", async () => {
    const primary = await started();
    const { link, pool } = opened(primary.url);
    await rejectsStore(
      pool.write((c) => c.run("INSERT INTO t (k) VALUES ('dup')")),
      'already_exists',
    );
    await rejectsStore(
      pool.write((c) => c.run("INSERT INTO t (parent) VALUES ('orphan')")),
      'failed_precondition',
    );
    const rollbacks = (await primary.requests()).filter((r) => r.sql === 'ROLLBACK').length;
    assert.equal(rollbacks, 2, 'each failed transaction rolled back on the primary');
    assert.equal(link.status().writable, true, 'a constraint violation says nothing about reaching the primary');
    // The writer is still usable.
    await pool.write((c) => c.run("INSERT INTO t (k) VALUES ('b')"));
  });

  it('a lost primary turns writes UNAVAILABLE, at once while it stays away; reads go on; the link recovers by itself', async () => {
    const first = await started();
    const { link, pool } = opened(first.url, { retryMs: 1000 });
    link.startBackground(() => pool.sync(link));
    await pool.sync(link);
    await first.stop();

    const lost = await rejectsStore(pool.write((c) => c.run("INSERT INTO t (k) VALUES ('c')")), 'unavailable');
    assert.match(lost.message, /primary database cannot be reached/);
    assert.equal(link.status().writable, false);
    assert.equal((await pool.read((c) => c.get<{ x: number }>('SELECT 1 AS x')))?.x, 1, 'local reads still answer');
    await rejectsStore(pool.sync(link), 'unavailable', (e) => assert.equal(e.setting, 'LIBSQL_URL'));
    assert.match(link.status().lastSyncError ?? '', /primary/, 'the failed sync says why');

    // Back on the same port, but not yet seen by a sync: writes are refused without reaching it.
    const back = await started('ok', first.port);
    await rejectsStore(pool.write((c) => c.run("INSERT INTO t (k) VALUES ('d')")), 'unavailable');
    assert.deepEqual((await back.requests()).filter((r) => r.path === 'Execute'), [], 'no write sent while marked unreachable');

    await eventually('writable again', () => link.status().writable);
    await pool.write((c) => c.run("INSERT INTO t (k) VALUES ('e')"));
    assert.ok((await back.requests()).some((r) => r.sql === 'COMMIT'), 'the write reached the primary that came back');
    const s = link.status();
    assert.ok(s.lastSyncAt! > s.lastSyncErrorAt!, 'the last success is newer than the last failure');
    assert.ok(!JSON.stringify(s).includes(TOKEN), 'no token in the status');
  });

  it('a refused token, a closed port, a silent server: opening fails within the deadline, naming the setting', async () => {
    const refusing = await started('refuse-token');
    await rejectsStore(opened(refusing.url).link.open(), 'unavailable', (e) => assert.equal(e.setting, 'LIBSQL_AUTH_TOKEN'));

    const closed = `http://127.0.0.1:${await freePort()}`;
    await rejectsStore(opened(closed).link.open(), 'unavailable', (e) => {
      assert.equal(e.setting, 'LIBSQL_URL');
      assert.match(e.message, /ECONNREFUSED/);
    });

    // Accepts connections, never answers.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanup.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => silent.close(() => r()));
    });
    const t0 = performance.now();
    await rejectsStore(opened(`http://127.0.0.1:${(silent.address() as { port: number }).port}`, { timeoutMs: 800 }).link.open(), 'unavailable', (e) => {
      assert.equal(e.setting, 'LIBSQL_URL');
      assert.match(e.message, /no answer within 800 ms/);
    });
    const ms = performance.now() - t0;
    assert.ok(ms >= 700 && ms < 2000, `gave up after the deadline, not long after (${Math.round(ms)} ms)`);
  });

  it('a file that is not a replica is refused, naming LIBSQL_PATH', async () => {
    const primary = await started();
    const path = freshPath();
    const plain = new Database(path);
    plain.exec('CREATE TABLE t (k TEXT)');
    plain.close();
    await rejectsStore(opened(primary.url, { path }).link.open(), 'failed_precondition', (e) => {
      assert.equal(e.setting, 'LIBSQL_PATH');
      assert.match(e.message, /not a replica/);
    });
  });
});
