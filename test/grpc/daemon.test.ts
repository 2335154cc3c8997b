// The daemon as a process, on libSQL: reflection (a client with no proto
// files can call), deadlines, message size limits, one log line per RPC
// without content, SIGTERM drain, boot failures, `migrate` and `status`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, constants as h2 } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { create, createFileRegistry, fromBinary, fromJson, toBinary, toJson, type DescMethod } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { ConversationStore } from '../../src/gen/agentstore/v1/conversations_pb.js';
import { SetSettingRequestSchema, SettingsStore } from '../../src/gen/agentstore/v1/settings_pb.js';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePort, stopTestServer } from '../support/postgres.js';
import { backendEnv, parseLogs, promiseClient, rawCall, rejectsWith, removeTempDirs, runCli, sleep, startDaemon, type Daemon } from './client.js';
import { reflect } from './reflection.js';

const MAX = 64 * 1024;
const { DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE } = grpc.status;

after(async () => {
  removeTempDirs();
  await stopTestServer();
});

describe('a running daemon (libsql)', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon({ ...(await backendEnv('libsql')), AGENTSTORE_MAX_MESSAGE_BYTES: String(MAX) });
  });
  after(async () => {
    assert.equal((await daemon?.stop())?.code, 0);
  });

  describe('reflection', () => {
    it('lists every service', async () => {
      const [res] = await reflect(daemon.address, [{ listServices: true }]);
      assert.equal(res?.kind, 'services');
      for (const s of ['agentstore.v1.ConversationStore', 'agentstore.v1.SettingsStore', 'agentstore.v1.ToolFailureStore', 'agentstore.v1.Admin']) {
        assert.ok(res.names.includes(s), `${s} in ${res.names.join(', ')}`);
      }
    });

    it('an unknown symbol is an error answer, not a broken stream', async () => {
      const [res] = await reflect(daemon.address, [{ fileContainingSymbol: 'agentstore.v1.NoSuchThing' }]);
      assert.equal(res?.kind, 'error');
      assert.equal(res.code, grpc.status.NOT_FOUND);
    });

    it('gives the descriptors, well-known types included, to call SetSetting/GetSetting with no proto file', async () => {
      // Fetch the file of the service, then every import it names, as grpcurl does.
      const files = new Map<string, FileDescriptorProto>();
      const wanted: ({ fileContainingSymbol: string } | { fileByFilename: string })[] = [{ fileContainingSymbol: 'agentstore.v1.SettingsStore' }];
      while (wanted.length > 0) {
        const answers = await reflect(daemon.address, wanted.splice(0));
        for (const a of answers) {
          assert.equal(a.kind, 'files', JSON.stringify(a));
          for (const bytes of a.files) {
            const f = fromBinary(FileDescriptorProtoSchema, bytes);
            files.set(f.name, f);
          }
        }
        for (const f of files.values()) {
          for (const dep of f.dependency) if (!files.has(dep) && !wanted.some((w) => 'fileByFilename' in w && w.fileByFilename === dep)) wanted.push({ fileByFilename: dep });
        }
      }
      assert.ok(files.has('agentstore/v1/settings.proto'));
      assert.ok(files.has('google/protobuf/struct.proto'), 'struct.proto served');
      assert.ok(files.has('google/protobuf/timestamp.proto'), 'timestamp.proto served');

      // Only the reflected files, imports first: createFileRegistry fails on any unresolved import.
      const ordered: FileDescriptorProto[] = [];
      const visit = (name: string) => {
        const f = files.get(name);
        if (!f || ordered.includes(f)) return;
        f.dependency.forEach(visit);
        ordered.push(f);
      };
      [...files.keys()].forEach(visit);
      const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
      const service = registry.getService('agentstore.v1.SettingsStore');
      assert.ok(service, 'service in the registry');
      const method = (name: string): DescMethod => service.methods.find((m) => m.name === name)!;
      const call = async (m: DescMethod, json: Record<string, unknown>) => {
        const req = fromJson(m.input, json as never, { registry });
        const res = await rawCall(daemon.address, `/${service.typeName}/${m.name}`, toBinary(m.input, req));
        return toJson(m.output, fromBinary(m.output, res), { registry });
      };
      const user = `u-${randomUUID()}`;
      const value = { theme: 'dark', sizes: [1, 2.5, null], on: true };
      assert.deepEqual(await call(method('SetSetting'), { userId: user, key: 'ui', value }), {});
      assert.deepEqual(await call(method('GetSetting'), { userId: user, key: 'ui' }), { found: true, value });
      const full = (await call(method('GetSettingFull'), { userId: user, key: 'ui' })) as { setting: { updatedAt: string } };
      assert.match(full.setting.updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'Timestamp in its JSON form');

      // The same data through the generated client.
      const typed = promiseClient(SettingsStore, daemon.address);
      try {
        assert.equal((await typed.getSetting({ userId: user, key: 'ui' })).found, true);
      } finally {
        typed.close();
      }
    });

    it('also answers on v1alpha, which older tools use', async () => {
      const [res] = await reflect(daemon.address, [{ listServices: true }], 'v1alpha');
      assert.equal(res?.kind, 'services');
      assert.ok(res.names.includes('agentstore.v1.SettingsStore'));
    });
  });

  describe('deadlines', () => {
    it('an already-expired deadline is DEADLINE_EXCEEDED and writes nothing', async () => {
      const settings = promiseClient(SettingsStore, daemon.address);
      try {
        const user = `u-${randomUUID()}`;
        await rejectsWith(settings.setSetting({ userId: user, key: 'k', value: { kind: { case: 'numberValue', value: 1 } } }, { deadline: new Date(Date.now() - 1000) }), DEADLINE_EXCEEDED);
        assert.equal((await settings.hasSettings({ userId: user })).hasSettings, false);
      } finally {
        settings.close();
      }
    });

    it('a deadline that has passed when the server sees the call is DEADLINE_EXCEEDED there, and writes nothing', async () => {
      // grpc-js refuses to send an expired call, so speak HTTP/2 directly: grpc-timeout of 1 ns.
      const user = `u-${randomUUID()}`;
      const msg = toBinary(SetSettingRequestSchema, create(SetSettingRequestSchema, { userId: user, key: 'k', value: { kind: { case: 'numberValue', value: 1 } } }));
      const frame = Buffer.alloc(5 + msg.length);
      frame.writeUInt32BE(msg.length, 1);
      frame.set(msg, 5);
      const session = connect(`http://${daemon.address}`);
      try {
        const status = await new Promise<string>((resolve, reject) => {
          const req = session.request({
            [h2.HTTP2_HEADER_METHOD]: 'POST',
            [h2.HTTP2_HEADER_PATH]: '/agentstore.v1.SettingsStore/SetSetting',
            'content-type': 'application/grpc',
            te: 'trailers',
            'grpc-timeout': '1n',
          });
          let headerStatus: string | undefined;
          req.on('response', (hdrs) => (headerStatus = hdrs['grpc-status'] as string | undefined));
          req.on('trailers', (t) => resolve(String(t['grpc-status'])));
          req.on('end', () => headerStatus !== undefined && resolve(headerStatus));
          req.on('error', reject);
          req.resume();
          req.end(frame);
        });
        assert.equal(Number(status), DEADLINE_EXCEEDED);
      } finally {
        session.close();
      }
      const settings = promiseClient(SettingsStore, daemon.address);
      try {
        assert.equal((await settings.hasSettings({ userId: user })).hasSettings, false);
      } finally {
        settings.close();
      }
    });
  });

  describe('message size limits', () => {
    it('a request larger than AGENTSTORE_MAX_MESSAGE_BYTES is RESOURCE_EXHAUSTED', async () => {
      const conv = promiseClient(ConversationStore, daemon.address);
      try {
        const user = `u-${randomUUID()}`;
        const { id } = await conv.createConversation({ channel: 'web', userId: user });
        await rejectsWith(conv.addConversationMessage({ conversationId: id, role: 'user', content: 'x'.repeat(MAX + 1) }), RESOURCE_EXHAUSTED);
        assert.deepEqual((await conv.listConversationMessages({ conversationId: id })).messages, []);
        // Just under the limit passes.
        await conv.addConversationMessage({ conversationId: id, role: 'user', content: 'y'.repeat(MAX - 200) });
        // A response over the limit is refused too, rather than sent.
        await conv.addConversationMessage({ conversationId: id, role: 'user', content: 'z'.repeat(MAX - 200) });
        await rejectsWith(conv.listConversationMessages({ conversationId: id }), RESOURCE_EXHAUSTED);
        // The daemon goes on serving.
        assert.equal((await conv.listConversationMessagesPaginated({ conversationId: id, limit: 1n })).messages.length, 1);
      } finally {
        conv.close();
      }
    });
  });
});

describe('logs', () => {
  it('a quiet daemon still writes its lines promptly (the buffer does not hold them back)', async () => {
    const daemon = await startDaemon(await backendEnv('libsql'));
    try {
      const until = Date.now() + 5000;
      while (!daemon.logs().some((l) => l.msg === 'agentstore serving') && Date.now() < until) await sleep(100);
      const serving = daemon.logs().find((l) => l.msg === 'agentstore serving');
      assert.ok(serving, `boot line written while running: ${daemon.stdout()}`);
      assert.equal(serving.listen, daemon.address);
      assert.equal(serving.backend, 'libsql');
    } finally {
      assert.equal((await daemon.stop()).code, 0);
    }
  });

  it('one JSON line per RPC with rpc, code and ms; no message content at info level', async () => {
    const daemon = await startDaemon(await backendEnv('libsql'));
    const conv = promiseClient(ConversationStore, daemon.address);
    const settings = promiseClient(SettingsStore, daemon.address);
    const secret = `SECRET-${randomUUID()}`;
    const calls: [string, string, string][] = []; // request id, rpc, code
    const tagged = (rpc: string, code: string) => {
      const id = `req-${randomUUID()}`;
      calls.push([id, rpc, code]);
      return { metadata: { 'x-request-id': id } };
    };
    try {
      const { id } = await conv.createConversation({ channel: 'web', userId: 'log-user' }, tagged('agentstore.v1.ConversationStore/CreateConversation', 'OK'));
      await conv.addConversationMessage({ conversationId: id, role: 'user', content: `message ${secret}` }, tagged('agentstore.v1.ConversationStore/AddConversationMessage', 'OK'));
      await settings.setSetting({ userId: 'log-user', key: 'api', value: { kind: { case: 'stringValue', value: `value ${secret}` } } }, tagged('agentstore.v1.SettingsStore/SetSetting', 'OK'));
      await settings.getSetting({ userId: 'log-user', key: 'api' }, tagged('agentstore.v1.SettingsStore/GetSetting', 'OK'));
      await rejectsWith(
        conv.addConversationMessage({ conversationId: randomUUID(), role: 'user', content: `lost ${secret}` }, tagged('agentstore.v1.ConversationStore/AddConversationMessage', 'FAILED_PRECONDITION')),
        grpc.status.FAILED_PRECONDITION,
      );
      await rejectsWith(
        settings.setSetting({ userId: 'log-user', key: 'k', value: { kind: { case: 'numberValue', value: Number.NaN } } }, tagged('agentstore.v1.SettingsStore/SetSetting', 'INVALID_ARGUMENT')),
        grpc.status.INVALID_ARGUMENT,
      );
    } finally {
      conv.close();
      settings.close();
    }
    const exit = await daemon.stop();
    assert.equal(exit.code, 0);
    const lines = daemon.logs();
    assert.ok(lines.every((l) => !('unparsed' in l)), 'every stdout line is JSON');
    for (const [req, rpc, code] of calls) {
      const mine = lines.filter((l) => l.req === req);
      assert.equal(mine.length, 1, `one line for ${rpc} (${req})`);
      const l = mine[0]!;
      assert.equal(l.rpc, rpc);
      assert.equal(l.code, code);
      assert.equal(typeof l.ms, 'number');
      assert.ok((l.ms as number) >= 0);
      assert.equal(l.level, 30, 'info');
    }
    // Health checks are not RPCs of ours, but any rpc line must be one of our calls or a health/reflection one.
    const ours = lines.filter((l) => typeof l.rpc === 'string' && (l.rpc as string).startsWith('agentstore.'));
    assert.equal(ours.length, calls.length, 'exactly one line per call');
    assert.ok(!daemon.stdout().includes(secret), 'no content in stdout');
    assert.ok(!daemon.stderr().includes(secret), 'no content in stderr');
  });
});

for (const backend of ['libsql', 'postgres'] as const) describe(`shutdown on ${backend}`, () => {
  it('SIGTERM while calls are in flight: they complete, exit 0, database closed; nothing acknowledged is lost', async (t) => {
    const env = await backendEnv(backend);
    const daemon = await startDaemon(env);
    const conv = promiseClient(ConversationStore, daemon.address);
    const { id } = await conv.createConversation({ channel: 'web', userId: 'drain' });
    let ok = 0;
    let okAfterSignal = 0;
    let signalled = false;
    const failures: string[] = [];
    const calls = Array.from({ length: 400 }, (_, i) =>
      conv.addConversationMessage({ conversationId: id, role: 'user', content: `m${i}` }).then(
        () => {
          ok++;
          if (signalled) okAfterSignal++;
          if (ok === 20 && !signalled) {
            signalled = true;
            daemon.proc.kill('SIGTERM');
          }
        },
        (e: grpc.ServiceError) => failures.push(grpc.status[e.code] ?? String(e.code)),
      ),
    );
    await Promise.all(calls);
    conv.close();
    const exit = await daemon.exited;
    assert.ok(signalled);
    t.diagnostic(`ok ${ok} (after SIGTERM ${okAfterSignal}), refused ${failures.length}`);
    assert.equal(exit.code, 0, daemon.stderr());
    assert.ok(okAfterSignal > 0, 'calls in flight at SIGTERM completed');
    // A call the server had not started may be refused as UNAVAILABLE (safe to retry); nothing else.
    assert.deepEqual(
      failures.filter((c) => c !== 'UNAVAILABLE'),
      [],
    );
    const logs = daemon.logs();
    assert.ok(logs.some((l) => typeof l.msg === 'string' && /database closed/.test(l.msg)), 'logs say database closed');
    assert.ok(!logs.some((l) => l.code === 'INTERNAL' || l.code === 'CANCELLED'), 'no call cut short');

    // Every acknowledged message is in the database.
    const again = await startDaemon(env);
    const conv2 = promiseClient(ConversationStore, again.address);
    try {
      assert.equal((await conv2.listConversationMessages({ conversationId: id })).messages.length, ok);
    } finally {
      conv2.close();
      assert.equal((await again.stop('SIGINT')).code, 0, 'SIGINT drains too');
    }
  });
});

describe('boot', () => {
  const oneLine = (s: string) => {
    const lines = s.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${s}`);
    return lines[0]!;
  };

  it('a bad setting exits 2 with one line naming it', async () => {
    const env = await backendEnv('libsql');
    for (const [name, bad] of [
      ['AGENTSTORE_LISTEN', 'nowhere'],
      ['DATABASE_POOL_SIZE', 'ten'],
      ['DATABASE_BACKEND', 'mysql'],
      ['AGENTSTORE_MAX_MESSAGE_BYTES', '-1'],
      ['AGENTSTORE_LOG_LEVEL', 'loud'],
    ] as const) {
      const r = await runCli(['serve'], { ...env, [name]: bad });
      assert.equal(r.code, 2, `${name}=${bad}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), new RegExp(name));
    }
    const flag = await runCli(['serve', '--pool-size', '0'], env);
    assert.equal(flag.code, 2);
    assert.match(oneLine(flag.stderr), /--pool-size/);
    const missing = await runCli(['serve'], { ...env, DATABASE_BACKEND: 'postgres' });
    assert.equal(missing.code, 2);
    assert.match(oneLine(missing.stderr), /DATABASE_URL/);
    const unknown = await runCli(['serve', '--no-such-flag'], env);
    assert.equal(unknown.code, 2);
    assert.match(oneLine(unknown.stderr), /--no-such-flag/);
  });

  it('an unreachable DATABASE_URL exits 1 with one line naming it and no password', async () => {
    const port = await freePort();
    const r = await runCli(['serve'], { DATABASE_BACKEND: 'postgres', DATABASE_URL: `postgres://agent:Sup3rSecretPw@127.0.0.1:${port}/agentstore`, DATABASE_ACQUIRE_TIMEOUT_MS: '2000' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /DATABASE_URL/);
    assert.ok(!(r.stderr + r.stdout).includes('Sup3rSecretPw'), 'password not printed');
  });

  it('a DATABASE_URL naming a database that does not exist exits 1 naming it and no password', async () => {
    const u = new URL((await backendEnv('postgres')).DATABASE_URL!);
    u.pathname = '/agentstore_no_such_database';
    const r = await runCli(['serve'], { DATABASE_BACKEND: 'postgres', DATABASE_URL: u.toString() });
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /DATABASE_URL/);
    if (u.password) assert.ok(!(r.stderr + r.stdout).includes(u.password), 'password not printed');
  });

  it('an address already in use exits 1 naming AGENTSTORE_LISTEN', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['serve'], { ...(await backendEnv('libsql')), AGENTSTORE_LISTEN: `127.0.0.1:${port}` });
      assert.equal(r.code, 1, r.stderr);
      assert.match(oneLine(r.stderr), /AGENTSTORE_LISTEN/);
    } finally {
      blocker.close();
    }
  });

  it('an unusable LIBSQL_PATH exits 1 naming it', async () => {
    // Under a regular file: the directory cannot be made.
    const dir = (await backendEnv('libsql')).LIBSQL_PATH!;
    writeFileSync(dir, 'not a directory');
    const r = await runCli(['serve'], { LIBSQL_PATH: join(dir, 'agentstore.db') });
    assert.equal(r.code, 1, r.stderr);
    assert.match(oneLine(r.stderr), /LIBSQL_PATH/);
    // A directory where the file should be.
    const d = await runCli(['serve'], { LIBSQL_PATH: dirname(dir) });
    assert.equal(d.code, 1, d.stderr);
    assert.match(oneLine(d.stderr), /LIBSQL_PATH/);
  });

  for (const backend of ['libsql', 'postgres'] as const) it(`\`migrate\` applies the schema and exits 0; \`status\` prints JSON (${backend})`, async () => {
    const env = await backendEnv(backend);
    const m = await runCli(['migrate'], env);
    assert.equal(m.code, 0, m.stderr);
    const migrated = parseLogs(m.stdout).find((l) => l.msg === 'migrations applied');
    assert.ok(migrated, m.stdout);
    const s = await runCli(['status'], env);
    assert.equal(s.code, 0, s.stderr);
    const status = JSON.parse(oneLine(s.stdout)) as Record<string, unknown>;
    assert.equal(status.backend, backend);
    if (backend === 'postgres') assert.ok(!s.stdout.includes(new URL(env.DATABASE_URL!).password), 'status hides the password');
    assert.equal(status.schemaVersion, status.latestSchemaVersion);
    assert.equal(status.schemaVersion, migrated.schemaVersion);
    assert.equal(typeof status.version, 'string');
    // A second migrate is a no-op that still succeeds.
    assert.equal((await runCli(['migrate'], env)).code, 0);
    const help = await runCli(['help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /AGENTSTORE_LISTEN/);
  });
});

// Keep the UNAVAILABLE import meaningful for readers: an unknown port answers it.
describe('no daemon', () => {
  it('a call to an address nobody serves is UNAVAILABLE', async () => {
    const port = await freePort();
    await rejectsWith(rawCall(`127.0.0.1:${port}`, '/agentstore.v1.Admin/GetStatus', new Uint8Array(), { deadline: 5000 }), UNAVAILABLE);
  });
});
