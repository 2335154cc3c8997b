// Secrets stay secret: bearer tokens (valid and wrong ones), the DATABASE_URL
// password and LIBSQL_AUTH_TOKEN never appear in what the daemon writes —
// its log at the most verbose level, its stderr, the `status` command, the
// one-line boot failures — nor in any status or response a client gets.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Admin } from '../../src/gen/agentstore/v1/admin_pb.js';
import { SettingsStore } from '../../src/gen/agentstore/v1/settings_pb.js';
import { stopTestServer } from '../support/postgres.js';
import { backendEnv, logsUntil, promiseClient, removeTempDirs, runCli, startDaemon, type BackendName } from './client.js';
import { bearer, writeTokensFile } from './tokens.js';

const num = (n: number) => ({ kind: { case: 'numberValue' as const, value: n } });

/** Everything a client sees from a call: the response or the error's details. */
async function seen(p: Promise<unknown>): Promise<string> {
  try {
    return JSON.stringify(await p, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
  } catch (e) {
    return `${(e as grpc.ServiceError).code} ${(e as grpc.ServiceError).details}`;
  }
}

for (const backend of ['libsql', 'postgres'] as BackendName[]) {
  describe(`secrets on ${backend}`, () => {
    after(async () => {
      removeTempDirs();
      if (backend === 'postgres') await stopTestServer();
    });

    it('never appear in logs, stderr, status output, boot failures or answers', async () => {
      const env = await backendEnv(backend);
      const libsqlToken = `libsql-secret-${randomBytes(8).toString('hex')}`;
      const { file, tokens } = writeTokensFile({ runtime: null, 'alice-app': 'alice' });
      const wrong = `wrong-${randomBytes(8).toString('hex')}`;
      const secrets = [...Object.values(tokens), wrong, libsqlToken];
      if (backend === 'postgres') {
        const password = decodeURIComponent(new URL(env.DATABASE_URL!).password);
        assert.ok(password.length >= 8, 'the test database has a real password');
        secrets.push(password);
      }
      const full = { ...env, AGENTSTORE_TOKENS_FILE: file, LIBSQL_AUTH_TOKEN: libsqlToken, AGENTSTORE_LOG_LEVEL: 'trace' };
      const outputs: string[] = [];

      const daemon = await startDaemon(full);
      try {
        const settings = promiseClient(SettingsStore, daemon.address);
        const admin = promiseClient(Admin, daemon.address);
        outputs.push(
          await seen(settings.setSetting({ userId: 'alice', key: 'k', value: num(1) }, { metadata: bearer(tokens['alice-app']!) })),
          await seen(settings.getSetting({ userId: 'bob', key: 'k' }, { metadata: bearer(tokens['alice-app']!) })),
          await seen(settings.getSetting({ userId: 'alice', key: 'k' }, { metadata: bearer(wrong) })),
          await seen(settings.getSetting({ userId: 'alice', key: 'k' }, { metadata: { authorization: wrong } })),
          await seen(admin.getStatus({}, { metadata: bearer(tokens.runtime!) })),
        );
        settings.close();
        admin.close();
        await logsUntil(daemon, (l) => l.code === 'UNAUTHENTICATED');
      } finally {
        await daemon.stop();
      }
      outputs.push(daemon.stdout(), daemon.stderr());
      assert.ok(daemon.stdout().includes('"rpc"'), 'the log was captured');

      const status = await runCli(['status'], full);
      assert.equal(status.code, 0, status.stderr);
      outputs.push(status.stdout, status.stderr);
      // Boot failures: a bad setting; and for PostgreSQL a wrong password, which must not be shown either.
      const bad = await runCli(['serve'], { ...full, DATABASE_POOL_SIZE: 'many' });
      assert.equal(bad.code, 2);
      outputs.push(bad.stdout, bad.stderr);
      if (backend === 'postgres') {
        const u = new URL(env.DATABASE_URL!);
        const wrongPassword = `wrong-password-${randomBytes(6).toString('hex')}`;
        u.password = wrongPassword;
        secrets.push(wrongPassword);
        const refused = await runCli(['serve'], { ...full, DATABASE_URL: u.toString() });
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /^agentstore: DATABASE_URL: /);
        outputs.push(refused.stdout, refused.stderr);
      }

      const all = outputs.join('\n');
      for (const s of secrets) assert.ok(!all.includes(s), `a secret (${s.slice(0, 4)}…) leaked`);
    });
  });
}
