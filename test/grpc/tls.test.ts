// TLS and mTLS through the real daemon, with certificates made in the test
// (test/support/certs.ts): a TLS daemon answers TLS clients that trust its
// CA and no one else; with AGENTSTORE_TLS_CLIENT_CA it also requires a client
// certificate signed by that CA. Bad TLS settings stop boot with one line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Admin } from '../../src/gen/agentstore/v1/admin_pb.js';
import { makeCerts, type TestCerts } from '../support/certs.js';
import { backendEnv, healthCheck, logsUntil, promiseClient, removeTempDirs, runCli, startDaemon, type Daemon } from './client.js';
import { bearer, writeTokensFile } from './tokens.js';

/** GetStatus with `credentials`: 'OK' or the status name it failed with. */
async function status(address: string, credentials: grpc.ChannelCredentials, metadata?: Record<string, string>): Promise<string> {
  const admin = promiseClient(Admin, address, credentials);
  try {
    await admin.getStatus({}, { deadline: 3000, metadata });
    return 'OK';
  } catch (e) {
    return grpc.status[(e as grpc.ServiceError).code] ?? 'unknown';
  } finally {
    admin.close();
  }
}

describe('TLS', () => {
  let certs: TestCerts;
  before(() => {
    certs = makeCerts();
  });
  after(() => {
    rmSync(certs.dir, { recursive: true, force: true });
    removeTempDirs();
  });

  describe('server certificate (AGENTSTORE_TLS_CERT, AGENTSTORE_TLS_KEY)', () => {
    let daemon: Daemon;
    let token: string;
    before(async () => {
      const t = writeTokensFile({ runtime: null });
      token = t.tokens.runtime!;
      daemon = await startDaemon(
        { ...(await backendEnv('libsql')), AGENTSTORE_TLS_CERT: certs.serverCert, AGENTSTORE_TLS_KEY: certs.serverKey, AGENTSTORE_TOKENS_FILE: t.file },
        { credentials: grpc.credentials.createSsl(certs.ca) },
      );
    });
    after(() => daemon?.stop());

    it('answers a TLS client that trusts its CA, tokens on top', async () => {
      assert.equal(await status(daemon.address, grpc.credentials.createSsl(certs.ca), bearer(token)), 'OK');
      assert.equal(await status(daemon.address, grpc.credentials.createSsl(certs.ca)), 'UNAUTHENTICATED');
      assert.equal(await healthCheck(daemon.address, '', 2000, grpc.credentials.createSsl(certs.ca)), 'SERVING');
    });

    it('refuses plaintext clients and clients that do not trust its CA', async () => {
      assert.equal(await status(daemon.address, grpc.credentials.createInsecure(), bearer(token)), 'UNAVAILABLE');
      assert.equal(await status(daemon.address, grpc.credentials.createSsl(), bearer(token)), 'UNAVAILABLE');
    });

    it('says so at boot', async () => {
      const serving = (await logsUntil(daemon, (l) => l.msg === 'agentstore serving')).find((l) => l.msg === 'agentstore serving');
      assert.equal(serving?.transport, 'tls');
    });
  });

  describe('client certificates (AGENTSTORE_TLS_CLIENT_CA)', () => {
    let daemon: Daemon;
    before(async () => {
      daemon = await startDaemon(
        { ...(await backendEnv('libsql')), AGENTSTORE_TLS_CERT: certs.serverCert, AGENTSTORE_TLS_KEY: certs.serverKey, AGENTSTORE_TLS_CLIENT_CA: certs.caCert },
        { credentials: grpc.credentials.createSsl(certs.ca, certs.client.key, certs.client.cert) },
      );
    });
    after(() => daemon?.stop());

    it('answers a client whose certificate the CA signed', async () => {
      assert.equal(await status(daemon.address, grpc.credentials.createSsl(certs.ca, certs.client.key, certs.client.cert)), 'OK');
      assert.equal((await logsUntil(daemon, (l) => l.msg === 'agentstore serving')).find((l) => l.msg === 'agentstore serving')?.transport, 'mtls');
    });

    it('refuses a client without a certificate, or with one another CA signed', async () => {
      assert.equal(await status(daemon.address, grpc.credentials.createSsl(certs.ca)), 'UNAVAILABLE');
      assert.equal(await status(daemon.address, grpc.credentials.createSsl(certs.ca, certs.stranger.key, certs.stranger.cert)), 'UNAVAILABLE');
    });
  });

  describe('bad settings stop boot with one line naming the setting', () => {
    const serve = async (env: Record<string, string>) => runCli(['serve'], { ...(await backendEnv('libsql')), AGENTSTORE_LISTEN: '127.0.0.1:0', ...env });

    it('a certificate without its key, a client CA without a certificate', async () => {
      let r = await serve({ AGENTSTORE_TLS_CERT: certs.serverCert });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^agentstore: AGENTSTORE_TLS_KEY: required with AGENTSTORE_TLS_CERT\n$/);
      r = await serve({ AGENTSTORE_TLS_CLIENT_CA: certs.caCert });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^agentstore: AGENTSTORE_TLS_CERT: required with AGENTSTORE_TLS_CLIENT_CA/);
    });

    it('an unreadable file, a file that is not PEM, a key of another certificate', async () => {
      let r = await serve({ AGENTSTORE_TLS_CERT: join(certs.dir, 'missing.pem'), AGENTSTORE_TLS_KEY: certs.serverKey });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^agentstore: AGENTSTORE_TLS_CERT: cannot read .*missing\.pem \(ENOENT\)\n$/);
      const junk = join(certs.dir, 'junk.pem');
      writeFileSync(junk, 'not a certificate');
      r = await serve({ AGENTSTORE_TLS_CERT: junk, AGENTSTORE_TLS_KEY: certs.serverKey });
      assert.match(r.stderr, /^agentstore: AGENTSTORE_TLS_CERT: not a PEM certificate\n$/);
      const otherKey = join(certs.dir, 'client-key.pem');
      writeFileSync(otherKey, certs.client.key);
      r = await serve({ AGENTSTORE_TLS_CERT: certs.serverCert, AGENTSTORE_TLS_KEY: otherKey });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^agentstore: AGENTSTORE_TLS_KEY: does not belong to the certificate in AGENTSTORE_TLS_CERT\n$/);
      assert.doesNotMatch(r.stderr, /PRIVATE KEY/);
    });
  });
});
