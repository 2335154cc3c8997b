// A minimal harness for the job and sandbox end-to-end tests: runs
// `node dist/src/main.js serve` as a child process on a free loopback port,
// and gives typed promise clients (unary) and event-stream readers built from
// the protobuf-es descriptors through the same bridge the server uses.
import * as grpc from '@grpc/grpc-js';
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { serviceDefinition } from '../../src/grpc/bridge.js';
import { SandboxStore, type JobEventRecord } from '../../src/gen/agentstore/v1/sandbox_pb.js';
import { createTestDatabase, freePort } from '../support/postgres.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

type Init<M extends DescMessage> = MessageInitShape<M>;
type Out<M extends DescMessage> = MessageShape<M>;

export type PromiseClient<T extends GenServiceMethods> = {
  [K in keyof T]: T[K]['methodKind'] extends 'unary' ? (req: Init<T[K]['input']>) => Promise<Out<T[K]['output']>> : never;
} & { close(): void };

export function promiseClient<T extends GenServiceMethods>(service: GenService<T>, address: string): PromiseClient<T> {
  const def = serviceDefinition(service as unknown as GenService<GenServiceMethods>);
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const out: Record<string, unknown> = { close: () => client.close() };
  for (const m of service.methods) {
    if (m.methodKind !== 'unary') continue;
    const md = def[m.name]!;
    out[m.localName] = (req: Init<DescMessage>) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(md.path, md.requestSerialize, md.responseDeserialize, create(m.input, req), (err: grpc.ServiceError | null, res?: unknown) =>
          err ? reject(err) : resolve(res),
        );
      });
  }
  return out as PromiseClient<T>;
}

export interface EventFollower {
  events: JobEventRecord[];
  /** Resolves when `n` events arrived; rejects if the stream fails first. */
  waitFor(n: number, timeoutMs?: number): Promise<JobEventRecord[]>;
  /** Resolves with the final status when the stream ends (OK or an error). */
  ended: Promise<grpc.StatusObject>;
  cancel(): void;
}

/** Opens StreamJobEvents; with `delayMs` the reader pauses that long after every event (a slow client). */
export function followEvents(address: string, jobId: string, afterEventId: bigint, delayMs = 0, deadlineMs?: number): EventFollower {
  const def = serviceDefinition(SandboxStore as unknown as GenService<GenServiceMethods>);
  const md = def['StreamJobEvents']!;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const method = SandboxStore.method.streamJobEvents;
  const options: grpc.CallOptions = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  const call = client.makeServerStreamRequest(
    md.path,
    md.requestSerialize,
    md.responseDeserialize,
    create(method.input, { jobId, afterEventId }),
    new grpc.Metadata(),
    options,
  );
  const events: JobEventRecord[] = [];
  let waiters: (() => void)[] = [];
  let failure: Error | undefined;
  const wakeAll = () => {
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };
  call.on('data', (msg: Out<typeof method.output>) => {
    events.push(msg.event!);
    wakeAll();
    if (delayMs > 0) {
      call.pause();
      setTimeout(() => call.resume(), delayMs);
    }
  });
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code !== grpc.status.OK) failure = new Error(`stream ended: ${grpc.status[s.code]} ${s.details}`);
      else failure = new Error(`stream ended after ${events.length} events`);
      wakeAll();
      client.close();
      resolve(s);
    });
  });
  call.on('error', () => undefined);
  return {
    events,
    ended,
    cancel: () => call.cancel(),
    waitFor: (n, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${events.length} of ${n} events within ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (events.length >= n) {
            clearTimeout(timer);
            resolve(events.slice(0, n));
          } else if (failure) {
            clearTimeout(timer);
            reject(failure);
          } else waiters.push(check);
        };
        check();
      }),
  };
}

/** Asserts that `p` fails with `code` and details matching `details`. */
export async function rejectsWith(p: Promise<unknown>, code: grpc.status, details?: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    const se = e as grpc.ServiceError;
    assert.equal(grpc.status[se.code], grpc.status[code], `expected ${grpc.status[code]}, got ${grpc.status[se.code]}: ${se.details}`);
    if (details) assert.match(se.details, details);
    return;
  }
  assert.fail(`expected ${grpc.status[code]}, the call succeeded`);
}

export type BackendName = 'libsql' | 'postgres';
const tempDirs: string[] = [];

export async function backendEnv(backend: BackendName): Promise<Record<string, string>> {
  if (backend === 'postgres') return { DATABASE_BACKEND: 'postgres', DATABASE_URL: await createTestDatabase(), DATABASE_POOL_SIZE: '5' };
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-grpc-jobs-'));
  tempDirs.push(dir);
  return { DATABASE_BACKEND: 'libsql', LIBSQL_PATH: join(dir, 'agentstore.db') };
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface Daemon {
  address: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the daemon and resolves once it answers a SandboxStore call. */
export async function startDaemon(env: Record<string, string>): Promise<Daemon> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(DATABASE_|LIBSQL_|AGENTSTORE_|EMBEDDING_)/.test(k)) childEnv[k] = v;
  const proc = spawn(process.execPath, [MAIN, 'serve'], {
    env: { ...childEnv, AGENTSTORE_LISTEN: address, AGENTSTORE_LOG_LEVEL: 'warn', AGENTSTORE_SHUTDOWN_GRACE_MS: '8000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const daemon: Daemon = {
    address,
    proc,
    output: () => out,
    stop: async () => {
      if (!gone) proc.kill('SIGTERM');
      const hard = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(hard);
    },
  };
  const probe = promiseClient(SandboxStore, address);
  try {
    const until = Date.now() + 30_000;
    for (;;) {
      if (gone) throw new Error(`daemon exited before serving:\n${out}`);
      try {
        await probe.sandboxJobSummary({});
        return daemon;
      } catch {
        if (Date.now() > until) {
          await daemon.stop();
          throw new Error(`daemon did not serve within 30 s:\n${out}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    probe.close();
  }
}
