// Starts the real daemon (dist/src/main.js serve) as a child process on a
// free loopback port and gives typed unary calls to its services through a
// real grpc-js client. Stopped with SIGTERM.
import * as grpc from '@grpc/grpc-js';
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/backends/migrations.js';
import { Admin } from '../../src/gen/agentstore/v1/admin_pb.js';
import { serviceDefinition } from '../../src/grpc/bridge.js';
import { freePort } from '../support/postgres.js';

export interface Daemon {
  address: string;
  client<T extends GenServiceMethods>(service: GenService<T>): Caller<T>;
  stop(): Promise<number | null>;
  stderr(): string;
}

type Caller<T extends GenServiceMethods> = <K extends keyof T & string>(
  method: K,
  req: MessageInitShape<T[K]['input']>,
) => Promise<MessageShape<T[K]['output']>>;

export async function startDaemon(env: Record<string, string>): Promise<Daemon> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [join(projectRoot(), 'dist/src/main.js'), 'serve'], {
    env: { ...process.env, AGENTSTORE_LISTEN: address, AGENTSTORE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const clients: grpc.Client[] = [];

  const client = <T extends GenServiceMethods>(service: GenService<T>): Caller<T> => {
    const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service.typeName);
    const c = new Ctor(address, grpc.credentials.createInsecure());
    clients.push(c);
    return (method, req) => {
      const desc = service.methods.find((m) => m.localName === method)!;
      return new Promise((resolve, reject) =>
        (c as unknown as Record<string, (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: unknown) => void) => void>)[desc.name]!(
          create(desc.input as DescMessage, req as MessageInitShape<DescMessage>),
          new grpc.Metadata(),
          { deadline: Date.now() + 10_000 },
          (e, v) => (e ? reject(e) : resolve(v as never)),
        ),
      );
    };
  };

  const admin = client(Admin);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}: ${err}`);
    try {
      await admin('getStatus', {});
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`daemon did not answer: ${String(e)} ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    address,
    client,
    stderr: () => err,
    async stop() {
      for (const c of clients) c.close();
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
