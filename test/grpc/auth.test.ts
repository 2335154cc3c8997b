// Authentication through the real daemon (libSQL; the rules are the same on
// both backends, see isolation.ts): bearer tokens from the tokens file, the
// audit trail, reloading on SIGHUP, and the boot rules (auth off is
// loopback only; a bad tokens file stops boot with one line).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { Admin } from '../../src/gen/agentstore/v1/admin_pb.js';
import { ConversationStore } from '../../src/gen/agentstore/v1/conversations_pb.js';
import { JobStore } from '../../src/gen/agentstore/v1/jobs_pb.js';
import { RoutineStore } from '../../src/gen/agentstore/v1/routines_pb.js';
import { SandboxStore } from '../../src/gen/agentstore/v1/sandbox_pb.js';
import { SettingsStore } from '../../src/gen/agentstore/v1/settings_pb.js';
import { ToolFailureStore } from '../../src/gen/agentstore/v1/tool_failures_pb.js';
import { WorkspaceStore } from '../../src/gen/agentstore/v1/workspace_pb.js';
import { backendEnv, healthCheck, logsUntil, promiseClient, rawCall, rejectsWith, removeTempDirs, runCli, startDaemon, type Daemon } from './client.js';
import { reflect } from './reflection.js';
import { bearer, sha256, writeTokensFile } from './tokens.js';

const SERVICES = [ConversationStore, JobStore, SandboxStore, RoutineStore, SettingsStore, ToolFailureStore, WorkspaceStore, Admin] as GenService<GenServiceMethods>[];
const num = (n: number) => ({ kind: { case: 'numberValue' as const, value: n } });

describe('authentication', () => {
  let daemon: Daemon;
  let file: string;
  let tokens: Record<string, string>;
  before(async () => {
    ({ file, tokens } = writeTokensFile({ runtime: null, 'alice-app': 'alice', 'bob-app': 'bob' }));
    daemon = await startDaemon({ ...(await backendEnv('libsql')), AGENTSTORE_TOKENS_FILE: file, AGENTSTORE_LOG_LEVEL: 'info' });
  });
  after(async () => {
    await daemon?.stop();
    removeTempDirs();
  });

  it('every RPC without a token, or with an unknown or malformed one, is UNAUTHENTICATED and names no token', async () => {
    const wrong = 'not-a-token-' + tokens.runtime!.slice(0, 8);
    const attempts: [string, Record<string, string>][] = [
      ['missing', {}],
      ['unknown', bearer(wrong)],
      ['not bearer', { authorization: `Basic ${tokens.runtime}` }],
      ['empty', { authorization: 'Bearer ' }],
    ];
    let calls = 0;
    for (const service of SERVICES) {
      for (const m of service.methods) {
        for (const [what, metadata] of attempts) {
          const e = await rawCall(daemon.address, `/${service.typeName}/${m.name}`, new Uint8Array(), { metadata, deadline: 5000 }).then(
            () => assert.fail(`${m.name} (${what}) succeeded`),
            (err: grpc.ServiceError) => err,
          );
          assert.equal(grpc.status[e.code], 'UNAUTHENTICATED', `${service.typeName}/${m.name} (${what}): ${e.details}`);
          assert.ok(!e.details.includes(wrong) && !e.details.includes(tokens.runtime!), 'the token is not echoed');
          calls++;
        }
      }
    }
    assert.ok(calls >= 86 * attempts.length);
  });

  it('health and reflection need no token', async () => {
    assert.equal(await healthCheck(daemon.address), 'SERVING');
    const [listed] = await reflect(daemon.address, [{ listServices: true }]);
    assert.equal(listed?.kind, 'services');
  });

  it('a service token reaches every user; a user-scoped token only its own', async () => {
    const settings = promiseClient(SettingsStore, daemon.address);
    try {
      await settings.setSetting({ userId: 'alice', key: 'theme', value: num(1) }, { metadata: bearer(tokens.runtime!) });
      await settings.setSetting({ userId: 'bob', key: 'theme', value: num(2) }, { metadata: bearer(tokens.runtime!) });
      const mine = await settings.getSetting({ userId: 'alice', key: 'theme' }, { metadata: bearer(tokens['alice-app']!) });
      assert.equal(mine.found, true);
      await rejectsWith(settings.getSetting({ userId: 'bob', key: 'theme' }, { metadata: bearer(tokens['alice-app']!) }), grpc.status.PERMISSION_DENIED, /^user_id: not the user this token acts for$/);
      await rejectsWith(promiseClient(JobStore, daemon.address).listAgentJobs({}, { metadata: bearer(tokens['alice-app']!) }), grpc.status.PERMISSION_DENIED, /service token/);
    } finally {
      settings.close();
    }
  });

  it('audits every refused call and every write by a user-scoped token, naming the token, never showing it', async () => {
    const settings = promiseClient(SettingsStore, daemon.address);
    const marker = `audit-${Date.now()}`;
    try {
      await settings.setSetting({ userId: 'alice', key: marker, value: num(1) }, { metadata: { ...bearer(tokens['alice-app']!), 'x-request-id': `${marker}-write` } });
      await settings.getSetting({ userId: 'alice', key: marker }, { metadata: { ...bearer(tokens['alice-app']!), 'x-request-id': `${marker}-read` } });
      await settings.setSetting({ userId: 'alice', key: marker, value: num(2) }, { metadata: { ...bearer(tokens.runtime!), 'x-request-id': `${marker}-service` } });
      await settings
        .getSetting({ userId: 'alice', key: marker }, { metadata: { ...bearer(tokens['bob-app']!), 'x-request-id': `${marker}-denied` } })
        .catch(() => undefined);
      await settings.getSetting({ userId: 'alice', key: marker }, { metadata: { ...bearer('wrong'), 'x-request-id': `${marker}-unknown` } }).catch(() => undefined);
    } finally {
      settings.close();
    }
    const lines = await logsUntil(daemon, (l) => l.req === `${marker}-unknown`);
    const line = (suffix: string) => lines.find((l) => l.req === `${marker}-${suffix}`)!;
    assert.deepEqual(
      { ...line('write'), time: 0, ms: 0, pid: 0, hostname: '' },
      { level: 30, time: 0, pid: 0, hostname: '', ms: 0, rpc: 'agentstore.v1.SettingsStore/SetSetting', code: 'OK', req: `${marker}-write`, who: 'alice-app', audit: true, user: 'alice', msg: 'rpc' },
    );
    assert.equal(line('read').audit, undefined, 'a read by a user-scoped token is not audited');
    assert.equal(line('read').who, 'alice-app');
    assert.equal(line('service').audit, undefined, 'a service write is not audited');
    assert.equal(line('service').who, 'runtime');
    assert.equal(line('denied').audit, true);
    assert.equal(line('denied').code, 'PERMISSION_DENIED');
    assert.equal(line('denied').who, 'bob-app');
    assert.equal(line('denied').why, 'user_id: not the user this token acts for');
    assert.match(String(line('denied').peer), /127\.0\.0\.1/);
    assert.equal(line('unknown').audit, true);
    assert.equal(line('unknown').code, 'UNAUTHENTICATED');
    assert.equal(line('unknown').who, undefined);
    assert.equal(line('unknown').why, 'authorization: unknown token');
    for (const t of Object.values(tokens)) assert.ok(!daemon.stdout().includes(t) && !daemon.stderr().includes(t), 'no token in the log');
  });

  it('a user token on a service-only RPC is refused before its request is decoded', async () => {
    // A varint field whose bytes end mid-varint: no request decodes from it.
    const garbage = new Uint8Array([0x08, 0xff]);
    const user = bearer(tokens['alice-app']!);
    const refused = await rawCall(daemon.address, '/agentstore.v1.JobStore/ListAgentJobs', garbage, { metadata: user, deadline: 5000 }).then(
      () => assert.fail('succeeded'),
      (e: grpc.ServiceError) => e,
    );
    assert.equal(grpc.status[refused.code], 'PERMISSION_DENIED', refused.details);
    // The same bytes from a service token reach decoding.
    const undecodable = await rawCall(daemon.address, '/agentstore.v1.JobStore/ListAgentJobs', garbage, { metadata: bearer(tokens.runtime!), deadline: 5000 }).then(
      () => assert.fail('succeeded'),
      (e: grpc.ServiceError) => e,
    );
    assert.equal(grpc.status[undecodable.code], 'INVALID_ARGUMENT', undecodable.details);
  });

  it('SIGHUP reloads the tokens file; a broken file leaves the loaded tokens in force', async () => {
    const admin = promiseClient(Admin, daemon.address);
    const call = (token: string) =>
      admin.getStatus({}, { metadata: bearer(token) }).then(
        () => 'OK',
        (e: grpc.ServiceError) => grpc.status[e.code],
      );
    try {
      const fresh = 'rotated-' + tokens.runtime!;
      writeFileSync(file, JSON.stringify({ tokens: [{ name: 'runtime', sha256: sha256(fresh), service: true }] }));
      daemon.proc.kill('SIGHUP');
      await logsUntil(daemon, (l) => l.msg === 'tokens file reloaded');
      assert.equal(await call(fresh), 'OK');
      assert.equal(await call(tokens.runtime!), 'UNAUTHENTICATED');
      writeFileSync(file, '{ not json');
      daemon.proc.kill('SIGHUP');
      const lines = await logsUntil(daemon, (l) => String(l.msg).startsWith('tokens file not reloaded'));
      assert.match(String((lines.find((l) => String(l.msg).startsWith('tokens file not reloaded'))!.err as { message: string }).message), /^AGENTSTORE_TOKENS_FILE: not JSON/);
      assert.equal(await call(fresh), 'OK');
    } finally {
      admin.close();
    }
  });
});

describe('boot rules', () => {
  after(removeTempDirs);
  const serve = async (env: Record<string, string>, args: string[] = []) => runCli(['serve', ...args], { ...(await backendEnv('libsql')), ...env });

  it('without tokens the daemon says authentication is off', async () => {
    const daemon = await startDaemon({ ...(await backendEnv('libsql')), AGENTSTORE_LOG_LEVEL: 'info' });
    try {
      const lines = await logsUntil(daemon, (l) => l.msg === 'agentstore serving');
      assert.equal(lines.find((l) => l.msg === 'agentstore serving')?.auth, 'off');
      await logsUntil(daemon, (l) => String(l.msg).startsWith('authentication is off'));
    } finally {
      await daemon.stop();
    }
  });

  it('an address other machines can reach needs tokens and TLS, or --insecure', async () => {
    for (const listen of ['0.0.0.0:0', '[::]:0', '192.0.2.1:50051']) {
      const r = await serve({ AGENTSTORE_LISTEN: listen });
      assert.equal(r.code, 2, listen);
      assert.equal(
        r.stderr,
        `agentstore: AGENTSTORE_LISTEN: ${listen} is reachable from other machines; set AGENTSTORE_TOKENS_FILE and AGENTSTORE_TLS_CERT/AGENTSTORE_TLS_KEY, or pass --insecure to serve it anyway\n`,
      );
    }
    const { file } = writeTokensFile({ runtime: null });
    const r = await serve({ AGENTSTORE_LISTEN: '0.0.0.0:0', AGENTSTORE_TOKENS_FILE: file });
    assert.match(r.stderr, /^agentstore: AGENTSTORE_LISTEN: 0\.0\.0\.0:0 is reachable from other machines; set AGENTSTORE_TLS_CERT\/AGENTSTORE_TLS_KEY, or pass --insecure/);
  });

  it('a bad tokens file stops boot with one line naming it, and no hash', async () => {
    const { file, tokens } = writeTokensFile({ runtime: null });
    const hash = sha256(tokens.runtime!);
    const cases: [unknown, RegExp][] = [
      ['{ nope', /not JSON/],
      [{ tokens: [] }, /lists no tokens/],
      [{ tokens: [{ name: 'a', sha256: 'xyz', service: true }] }, /tokens\[0\]\.sha256: expected 64 hex digits/],
      [{ tokens: [{ name: 'a', sha256: hash }] }, /tokens\[0\]: give either "service": true or a "user_id"/],
      [{ tokens: [{ name: 'a', sha256: hash, service: true, user_id: 'u' }] }, /tokens\[0\]: give either/],
      [{ tokens: [{ name: 'a', sha256: hash, service: true }, { name: 'a', sha256: sha256('x'), service: true }] }, /tokens\[1\]\.name: "a" is used twice/],
      [{ tokens: [{ name: 'a', sha256: hash, service: true }, { name: 'b', sha256: hash.toUpperCase(), user_id: 'u' }] }, /tokens\[1\]\.sha256: the same token is listed twice/],
      [{ tokens: [{ name: 'a', sha256: hash, service: true, admin: true }] }, /tokens\[0\]: unknown field "admin"/],
    ];
    for (const [content, why] of cases) {
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
      const r = await serve({ AGENTSTORE_TOKENS_FILE: file });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^agentstore: AGENTSTORE_TOKENS_FILE: [^\n]*\n$/);
      assert.match(r.stderr, why);
      assert.ok(!r.stderr.toLowerCase().includes(hash), 'no hash in the message');
    }
    const r = await serve({ AGENTSTORE_TOKENS_FILE: '/nonexistent/tokens.json' });
    assert.equal(r.stderr, 'agentstore: AGENTSTORE_TOKENS_FILE: cannot read /nonexistent/tokens.json (ENOENT)\n');
  });
});
