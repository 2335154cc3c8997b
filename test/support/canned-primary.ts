// A stand-in for the primary of an embedded replica, to test failure paths
// where no libSQL server (sqld) can be installed: it speaks just enough of
// sqld's replica protocol (gRPC-web over HTTP/1.1: the replication handshake,
// an empty frame log, write delegation) to give the real `libsql` driver
// canned answers. It stores nothing and executes no SQL: every statement
// succeeds, except those naming 'dup' (a UNIQUE violation on the primary) or
// 'orphan' (a FOREIGN KEY violation). Mode `refuse-token` answers every gRPC
// call UNAUTHENTICATED, as sqld does for a bad token.
//
// It runs as a child process: the driver's synchronous API blocks the event
// loop while it waits for an answer, so an in-process server would never
// answer it. GET /__requests lists the requests it has answered.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { BinaryWriter } from '@bufbuild/protobuf/wire';

export type CannedMode = 'ok' | 'refuse-token';
export interface CannedRequest {
  path: string;
  sql: string | null;
}

export interface CannedPrimary {
  url: string;
  port: number;
  /** Requests answered so far: gRPC method name (or HTTP path) and the SQL keyword sent, if any. */
  requests(): Promise<CannedRequest[]>;
  stop(): Promise<void>;
}

/** Starts the stand-in on `port` (0: a free one). */
export async function startCannedPrimary(mode: CannedMode = 'ok', port = 0): Promise<CannedPrimary> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), mode, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const bound = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`canned primary exited with ${code}`)));
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${bound}`;
  return {
    url,
    port: bound,
    requests: async () => (await (await fetch(`${url}/__requests`)).json()) as CannedRequest[],
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

// ---- the child ------------------------------------------------------------

const message = (fields: (w: BinaryWriter) => void): Uint8Array => {
  const w = new BinaryWriter();
  fields(w);
  return w.finish();
};

/** gRPC-web body: one data frame, then the trailers frame. */
function grpcWebBody(msg: Uint8Array, status = 0, statusMessage = ''): Buffer {
  const data = Buffer.alloc(5 + msg.length);
  data.writeUInt32BE(msg.length, 1);
  data.set(msg, 5);
  const text = Buffer.from(`grpc-status:${status}\r\n${statusMessage ? `grpc-message:${statusMessage}\r\n` : ''}`);
  const trailers = Buffer.alloc(5 + text.length);
  trailers[0] = 0x80;
  trailers.writeUInt32BE(text.length, 1);
  trailers.set(text, 5);
  return Buffer.concat([status === 0 ? data : Buffer.alloc(0), trailers]);
}

const EMPTY_ROWS = message((w) => w.tag(2, 2).bytes(new Uint8Array(0))); // QueryResult { row: ResultRows {} }

/** proxy.ExecuteResults for the one statement of a delegated program. */
function executeResults(sql: string, inTxn: boolean): { reply: Uint8Array; inTxn: boolean } {
  let result = EMPTY_ROWS;
  let txn = inTxn;
  if (/^\s*BEGIN/i.test(sql)) txn = true;
  else if (/^\s*(COMMIT|ROLLBACK|END)/i.test(sql)) txn = false;
  else if (/'dup'|'orphan'/.test(sql)) {
    const dup = sql.includes("'dup'");
    const error = message((w) =>
      w
        .tag(2, 2)
        .string(dup ? 'UNIQUE constraint failed: t.k' : 'FOREIGN KEY constraint failed')
        .tag(3, 0)
        .int32(dup ? 2067 : 787),
    );
    result = message((w) => w.tag(1, 2).bytes(error)); // QueryResult { error }
  }
  // ExecuteResults { results: [result], state: TXN (2) or INIT (0) }
  return { reply: message((w) => (txn ? w.tag(1, 2).bytes(result).tag(2, 0).int32(2) : w.tag(1, 2).bytes(result))), inTxn: txn };
}

function serve(mode: CannedMode, port: number): void {
  let inTxn = false;
  const seen: CannedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      if (path === '/__requests') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
        return;
      }
      const body = Buffer.concat(chunks).toString('latin1');
      const sql = /(BEGIN|COMMIT|ROLLBACK|END|INSERT|UPDATE|DELETE|SELECT|CREATE)\b[^\0-\x1f]*/i.exec(body)?.[0] ?? null;
      seen.push({ path: path.split('/').pop()!, sql: sql ? /^[A-Za-z]+/.exec(sql)![0].toUpperCase() : null });
      if (!path.includes('.')) {
        res.writeHead(404).end(); // GET /info and the like: not Turso Cloud's sync protocol
        return;
      }
      let reply: Buffer;
      if (mode === 'refuse-token') reply = grpcWebBody(new Uint8Array(0), 16, 'bad token');
      else if (path.endsWith('/Hello')) {
        // HelloResponse { generation_id, generation_start_index: 0, log_id, session_token } (UUIDs)
        reply = grpcWebBody(
          message((w) =>
            w.tag(1, 2).string('7a4b1e52-7a52-4ef2-a3b5-1e3b7e0e2f10').tag(3, 2).string('f3f7b6a4-2c0e-4a8c-9b7e-1f2d3c4b5a69').tag(4, 2).bytes(Buffer.from('0d6b5f4e-2b0a-4c4e-8d2a-6e5f4c3b2a19')),
          ),
        );
      } else if (path.endsWith('/BatchLogEntries')) reply = grpcWebBody(new Uint8Array(0)); // Frames {}: nothing new
      else if (path.endsWith('/Describe')) reply = grpcWebBody(message((w) => w.tag(2, 2).bytes(message((d) => d.tag(3, 0).uint64(0))))); // { description: {} }
      else if (path.endsWith('/Execute')) {
        const r = executeResults(sql ?? '', inTxn);
        inTxn = r.inTxn;
        reply = grpcWebBody(r.reply);
      } else reply = grpcWebBody(new Uint8Array(0), 12, 'unimplemented');
      res.writeHead(200, { 'content-type': 'application/grpc-web+proto' }).end(reply);
    });
  });
  server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serve((process.argv[2] ?? 'ok') as CannedMode, Number(process.argv[3] ?? 0));
