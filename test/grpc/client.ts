// What the end-to-end tests need to talk to a real daemon: a typed
// promise client built from a protobuf-es service descriptor (through the
// same bridge the server uses), raw-bytes and health clients, and a helper
// that runs `node dist/src/main.js` as a child process on a free loopback
// port and stops it again.
import * as grpc from '@grpc/grpc-js';
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { serviceDefinition } from '../../src/grpc/bridge.js';
import { createTestDatabase, freePort } from '../support/postgres.js';

/** dist/src/main.js, next to this compiled file's dist/test/grpc/. */
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface CallOptions {
  /** Absolute deadline, or milliseconds from now. */
  deadline?: Date | number;
  metadata?: Record<string, string>;
  /** Channel credentials (default: plaintext). */
  credentials?: grpc.ChannelCredentials;
}

type Init<M extends DescMessage> = MessageInitShape<M>;
type Out<M extends DescMessage> = MessageShape<M>;

export type PromiseClient<T extends GenServiceMethods> = {
  [K in keyof T]: T[K]['methodKind'] extends 'unary' ? (req: Init<T[K]['input']>, opts?: CallOptions) => Promise<Out<T[K]['output']>> : never;
} & { close(): void };

function callOptions(opts: CallOptions | undefined): { metadata: grpc.Metadata; options: grpc.CallOptions } {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts?.metadata ?? {})) metadata.set(k, v);
  const options: grpc.CallOptions = {};
  if (opts?.deadline !== undefined) options.deadline = typeof opts.deadline === 'number' ? Date.now() + opts.deadline : opts.deadline;
  return { metadata, options };
}

/** A client for `service` whose methods (by local name) return promises of the response message. */
export function promiseClient<T extends GenServiceMethods>(
  service: GenService<T>,
  address: string,
  credentials = grpc.credentials.createInsecure(),
): PromiseClient<T> {
  const def = serviceDefinition(service as unknown as GenService<GenServiceMethods>);
  const Ctor = grpc.makeGenericClientConstructor(def, service.typeName);
  const client = new Ctor(address, credentials);
  const out: Record<string, unknown> = { close: () => client.close() };
  for (const m of service.methods) {
    const md = def[m.name]!;
    out[m.localName] = (req: Init<DescMessage>, opts?: CallOptions) =>
      new Promise((resolve, reject) => {
        const { metadata, options } = callOptions(opts);
        client.makeUnaryRequest(
          md.path,
          md.requestSerialize,
          md.responseDeserialize,
          create(m.input, req),
          metadata,
          options,
          (err: grpc.ServiceError | null, res?: unknown) => (err ? reject(err) : resolve(res)),
        );
      });
  }
  return out as PromiseClient<T>;
}

/** A unary call with hand-made request bytes; the response bytes come back as they are. */
export function rawCall(address: string, path: string, body: Uint8Array, opts?: CallOptions): Promise<Buffer> {
  const client = new grpc.Client(address, opts?.credentials ?? grpc.credentials.createInsecure());
  const { metadata, options } = callOptions(opts);
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      body,
      metadata,
      options,
      (err: grpc.ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!)),
    );
  }).finally(() => client.close());
}

export const HEALTH = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

/** grpc.health.v1.Health/Check, encoded by hand (one string in, one enum out). */
export async function healthCheck(address: string, service = '', deadlineMs = 2000, credentials?: grpc.ChannelCredentials): Promise<(typeof HEALTH)[number]> {
  const w = new BinaryWriter();
  if (service) w.tag(1, 2).string(service);
  const res = await rawCall(address, '/grpc.health.v1.Health/Check', w.finish(), { deadline: deadlineMs, credentials });
  const r = new BinaryReader(res);
  let status = 0;
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1) status = r.int32();
    else r.skip(wt);
  }
  return HEALTH[status] ?? 'UNKNOWN';
}

/** Asserts that `p` fails with `code`, and that its details match `details`. */
export async function rejectsWith(p: Promise<unknown>, code: grpc.status, details?: RegExp): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    const se = e as grpc.ServiceError;
    assert.equal(grpc.status[se.code], grpc.status[code], `expected ${grpc.status[code]}, got ${grpc.status[se.code]}: ${se.details}`);
    if (details) assert.match(se.details, details);
    return se;
  }
  assert.fail(`expected ${grpc.status[code]}, the call succeeded`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The daemon's log lines once one matches `pred` (the daemon flushes its log within a second); fails after `timeoutMs`. */
export async function logsUntil(daemon: Daemon, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const lines = daemon.logs();
    if (lines.some(pred)) return lines;
    if (Date.now() > until) assert.fail(`no matching log line within ${timeoutMs} ms:\n${daemon.stdout()}`);
    await sleep(100);
  }
}

// ---- the daemon as a child process -------------------------------------

export type BackendName = 'libsql' | 'postgres';

const tempDirs: string[] = [];

/** Environment for a fresh, empty database of `backend`. */
export async function backendEnv(backend: BackendName): Promise<Record<string, string>> {
  if (backend === 'postgres') return { DATABASE_BACKEND: 'postgres', DATABASE_URL: await createTestDatabase(), DATABASE_POOL_SIZE: '5' };
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-grpc-'));
  tempDirs.push(dir);
  return { DATABASE_BACKEND: 'libsql', LIBSQL_PATH: join(dir, 'agentstore.db') };
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** The parent's environment without any agentstore setting, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(DATABASE_|LIBSQL_|AGENTSTORE_|EMBEDDING_)/.test(k)) base[k] = v;
  }
  return { ...base, ...env };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Daemon {
  address: string;
  port: number;
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** stdout parsed as pino JSON lines. */
  logs(): Record<string, unknown>[];
  exited: Promise<Exit>;
  /** SIGTERM (unless already gone) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

function collect(proc: ChildProcess): { out: () => string; err: () => string; exited: Promise<Exit> } {
  let out = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<Exit>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
  return { out: () => out, err: () => err, exited };
}

export function parseLogs(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return { unparsed: l };
      }
    });
}

/**
 * Starts `node dist/src/main.js serve` on a free 127.0.0.1 port with `env`
 * and resolves once its health check answers SERVING.
 */
export async function startDaemon(env: Record<string, string>, opts: { waitMs?: number; credentials?: grpc.ChannelCredentials } = {}): Promise<Daemon> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const proc = spawn(process.execPath, [MAIN, 'serve'], {
    env: childEnv({ AGENTSTORE_LISTEN: address, AGENTSTORE_HEALTH_INTERVAL_MS: '200', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { out, err, exited } = collect(proc);
  let gone: Exit | undefined;
  void exited.then((e) => (gone = e));
  const daemon: Daemon = {
    address,
    port,
    proc,
    stdout: out,
    stderr: err,
    logs: () => parseLogs(out()),
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (!gone) proc.kill(signal);
      const hard = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      try {
        return await exited;
      } finally {
        clearTimeout(hard);
      }
    },
  };
  const until = Date.now() + (opts.waitMs ?? 30_000);
  for (;;) {
    if (gone) throw new Error(`daemon exited (${gone.code ?? gone.signal}) before serving:\n${err()}${out()}`);
    try {
      if ((await healthCheck(address, '', 1000, opts.credentials)) === 'SERVING') return daemon;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      await daemon.stop('SIGKILL');
      throw new Error(`daemon did not serve within ${opts.waitMs ?? 30_000} ms:\n${err()}${out()}`);
    }
    await sleep(100);
  }
}

/** Runs one CLI command to its end: exit code and output. */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Exit & { stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [MAIN, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const { out, err, exited } = collect(proc);
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const e = await exited;
  clearTimeout(timer);
  return { ...e, stdout: out(), stderr: err() };
}
