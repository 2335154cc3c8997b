// The minimal reference daemon the benchmark compares agentstore against: one
// grpc-js server, the same proto messages and serializers (src/grpc/bridge.ts
// serviceDefinition), and for each benchmarked RPC a handler that runs its one
// SQL statement through the raw driver (scripts/reference-sql.ts). No
// validation, no logging, no health or reflection.
//
//   REF_BACKEND=libsql REF_LIBSQL_PATH=… | REF_BACKEND=postgres REF_DATABASE_URL=… [REF_POOL_SIZE=10]
//   REF_LISTEN=127.0.0.1:0   node dist/scripts/reference-daemon.js
// Prints {"port":N} on stdout once serving; SIGTERM stops it.
import * as grpc from '@grpc/grpc-js';
import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { timestampFromDate, ValueSchema } from '@bufbuild/protobuf/wkt';
import { serviceDefinition } from '../src/grpc/bridge.js';
import {
  AddConversationMessageResponseSchema,
  ConversationStore,
  ListConversationMessagesPaginatedResponseSchema,
  type AddConversationMessageRequest,
  type ListConversationMessagesPaginatedRequest,
} from '../src/gen/agentstore/v1/conversations_pb.js';
import { GetSettingResponseSchema, SetSettingResponseSchema, SettingsStore, type GetSettingRequest, type SetSettingRequest } from '../src/gen/agentstore/v1/settings_pb.js';
import { referenceLibsql, referencePostgres, type RefStore } from './reference-sql.js';

type Handler<Req> = (call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>) => void;

const internal = (e: unknown): grpc.ServiceError =>
  Object.assign(new Error(e instanceof Error ? e.message : String(e)), { code: grpc.status.INTERNAL, details: 'internal error', metadata: new grpc.Metadata() });

function unary<Req>(run: (req: Req) => Promise<unknown>): Handler<Req> {
  return (call, cb) => {
    run(call.request).then(
      (out) => cb(null, out),
      (e: unknown) => cb(internal(e)),
    );
  };
}

/** Only the named methods of a service definition. */
function only(def: grpc.ServiceDefinition, names: string[]): grpc.ServiceDefinition {
  return Object.fromEntries(names.map((n) => [n, def[n]!])) as grpc.ServiceDefinition;
}

async function main(): Promise<void> {
  const backend = process.env.REF_BACKEND ?? 'libsql';
  const store: RefStore =
    backend === 'postgres'
      ? await referencePostgres(process.env.REF_DATABASE_URL ?? '', Number(process.env.REF_POOL_SIZE ?? 10))
      : await referenceLibsql(process.env.REF_LIBSQL_PATH ?? '');

  const server = new grpc.Server();
  server.addService(only(serviceDefinition(ConversationStore), ['AddConversationMessage', 'ListConversationMessagesPaginated']), {
    AddConversationMessage: unary<AddConversationMessageRequest>(async (r) =>
      create(AddConversationMessageResponseSchema, { id: await store.addMessage(r.conversationId, r.role, r.content) }),
    ),
    ListConversationMessagesPaginated: unary<ListConversationMessagesPaginatedRequest>(async (r) => {
      const limit = Number(r.limit);
      const rows = await store.page(r.conversationId, limit);
      const page = rows.slice(0, limit).reverse();
      const oldest = page[0];
      return create(ListConversationMessagesPaginatedResponseSchema, {
        messages: page.map((m) => ({ id: m.id, role: m.role, content: m.content, createdAt: timestampFromDate(m.createdAt), seq: BigInt(m.seq) })),
        hasMore: rows.length > limit,
        nextCursor: oldest ? { createdAt: timestampFromDate(oldest.createdAt), seq: BigInt(oldest.seq) } : undefined,
      });
    }),
  });
  server.addService(only(serviceDefinition(SettingsStore), ['SetSetting', 'GetSetting']), {
    SetSetting: unary<SetSettingRequest>(async (r) => {
      await store.setSetting(r.userId, r.key, JSON.stringify(r.value ? toJson(ValueSchema, r.value) : null));
      return create(SetSettingResponseSchema, {});
    }),
    GetSetting: unary<GetSettingRequest>(async (r) => {
      const v = await store.getSetting(r.userId, r.key);
      return create(GetSettingResponseSchema, v === undefined ? { found: false } : { found: true, value: fromJson(ValueSchema, v as JsonValue) });
    }),
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(process.env.REF_LISTEN ?? '127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  process.stdout.write(JSON.stringify({ port }) + '\n');

  process.once('SIGTERM', () => {
    server.tryShutdown(() => {
      void store.close().then(() => process.exit(0));
    });
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`reference-daemon: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
