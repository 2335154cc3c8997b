// A minimal grpc.reflection.v1 client that needs no proto file: the few
// request and response fields it uses are encoded by hand.
import * as grpc from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

export type ReflectionRequest = { listServices: true } | { fileContainingSymbol: string } | { fileByFilename: string };

export type ReflectionResponse =
  | { kind: 'services'; names: string[] }
  | { kind: 'files'; files: Uint8Array[] }
  | { kind: 'error'; code: number; message: string }
  | { kind: 'other'; field: number };

function encode(req: ReflectionRequest): Uint8Array {
  const w = new BinaryWriter();
  if ('listServices' in req) w.tag(7, WireType.LengthDelimited).string('*');
  else if ('fileContainingSymbol' in req) w.tag(4, WireType.LengthDelimited).string(req.fileContainingSymbol);
  else w.tag(3, WireType.LengthDelimited).string(req.fileByFilename);
  return w.finish();
}

/** Calls `each` for every field of a message: (field number, reader positioned at the value, wire type). */
function fields(bytes: Uint8Array, each: (no: number, r: BinaryReader, wt: WireType) => void): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    const before = r.pos;
    each(no, r, wt);
    if (r.pos === before) r.skip(wt, no);
  }
}

function decode(bytes: Uint8Array): ReflectionResponse {
  let out: ReflectionResponse | undefined;
  fields(bytes, (no, r) => {
    if (no === 4) {
      const files: Uint8Array[] = [];
      fields(r.bytes(), (n, rr) => n === 1 && files.push(rr.bytes()));
      out = { kind: 'files', files };
    } else if (no === 6) {
      const names: string[] = [];
      fields(r.bytes(), (n, rr) => {
        if (n === 1) fields(rr.bytes(), (m, rrr) => m === 1 && names.push(rrr.string()));
      });
      out = { kind: 'services', names };
    } else if (no === 7) {
      let code = 0;
      let message = '';
      fields(r.bytes(), (n, rr) => {
        if (n === 1) code = rr.int32();
        if (n === 2) message = rr.string();
      });
      out = { kind: 'error', code, message };
    } else if (no >= 4) out = { kind: 'other', field: no };
  });
  return out ?? { kind: 'other', field: 0 };
}

/** Sends each request in turn on one ServerReflectionInfo stream and returns the answers. */
export async function reflect(address: string, requests: ReflectionRequest[], version: 'v1' | 'v1alpha' = 'v1'): Promise<ReflectionResponse[]> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    const call = client.makeBidiStreamRequest(
      `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => new Uint8Array(b),
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
    );
    const answers: ReflectionResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (b: Uint8Array) => {
        answers.push(decode(b));
        if (answers.length === requests.length) call.end();
      });
      call.on('error', reject);
      call.on('end', resolve);
    });
    for (const r of requests) call.write(encode(r));
    if (requests.length === 0) call.end();
    await done;
    return answers;
  } finally {
    client.close();
  }
}
