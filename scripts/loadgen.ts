// The benchmark's load generator: a separate process that drives one or more
// daemons over gRPC on loopback with the same closed loop, the same requests
// and one channel per daemon. Targets take turns in short rounds within each
// cell, so a slow moment of the shared machine does not land on one only.
//
//   node dist/scripts/loadgen.js '{"targets":[{"name":"ours","address":"127.0.0.1:N"}],…}'
// Prints one JSON line per cell and target on stdout, then one line
// {"marks":{target:[label,…]}} naming each window the daemon's loop-monitor
// reported, in order: "boot", "gap" (warm-up, other target's turn), "op|c".
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { create, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { serviceDefinition } from '../src/grpc/bridge.js';
import {
  AddConversationMessageRequestSchema,
  ConversationStore,
  ListConversationMessagesPaginatedRequestSchema,
  type ListConversationMessagesPaginatedResponse,
} from '../src/gen/agentstore/v1/conversations_pb.js';
import { GetSettingRequestSchema, SetSettingRequestSchema, SettingsStore, type GetSettingResponse } from '../src/gen/agentstore/v1/settings_pb.js';
import { ADD_CONVERSATIONS, addConversationId, MESSAGE_CONTENT, PAGE_SIZE, runCells, SEED, SETTING_KEYS, settingKey, type Op } from './bench-lib.js';

export interface LoadPlan {
  /**
   * pid: the daemon's process, preloaded with loop-monitor, signalled around
   * each measured window. metadata: sent with every call (one object, made once).
   */
  targets: { name: string; address: string; pid: number; metadata?: Record<string, string> }[];
  ops: Op[];
  concurrencies: number[];
  warmupMs: number;
  durationMs: number;
  rounds: number;
  maxOps: number;
}

const conv = serviceDefinition(ConversationStore);
const settings = serviceDefinition(SettingsStore);
const METHODS: Record<Op, grpc.MethodDefinition<unknown, unknown>> = {
  AddConversationMessage: conv.AddConversationMessage!,
  ListConversationMessagesPaginated: conv.ListConversationMessagesPaginated!,
  SetSetting: settings.SetSetting!,
  GetSetting: settings.GetSetting!,
};

const value = fromJson(ValueSchema, SEED.settingValue as unknown as JsonValue);
const addRequests = Array.from({ length: ADD_CONVERSATIONS }, (_, k) =>
  create(AddConversationMessageRequestSchema, { conversationId: addConversationId(k), role: 'user', content: MESSAGE_CONTENT }),
);
const pageRequest = create(ListConversationMessagesPaginatedRequestSchema, { conversationId: SEED.pageConversationId, limit: BigInt(PAGE_SIZE) });
const setRequests = Array.from({ length: SETTING_KEYS }, (_, k) => create(SetSettingRequestSchema, { userId: SEED.userId, key: settingKey(k), value }));
const getRequests = Array.from({ length: SETTING_KEYS }, (_, k) => create(GetSettingRequestSchema, { userId: SEED.userId, key: settingKey(k) }));

function request(op: Op, i: number): unknown {
  switch (op) {
    case 'AddConversationMessage':
      return addRequests[i % ADD_CONVERSATIONS];
    case 'ListConversationMessagesPaginated':
      return pageRequest;
    case 'SetSetting':
      return setRequests[i % SETTING_KEYS];
    case 'GetSetting':
      return getRequests[i % SETTING_KEYS];
  }
}

/** Fails loudly if an answer is not what the seeded database must give. */
function check(op: Op, out: unknown): void {
  if (op === 'ListConversationMessagesPaginated') {
    const r = out as ListConversationMessagesPaginatedResponse;
    if (r.messages.length !== PAGE_SIZE || !r.hasMore) throw new Error(`page of ${r.messages.length}, hasMore=${r.hasMore}`);
  } else if (op === 'GetSetting' && !(out as GetSettingResponse).found) throw new Error('setting not found');
}

function unary(client: grpc.Client, metadata: grpc.Metadata, op: Op, i: number): Promise<unknown> {
  const m = METHODS[op];
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request(op, i), metadata, { deadline: Date.now() + 10_000 }, (err, out) => {
      if (err) return reject(err);
      try {
        check(op, out);
        resolve(out);
      } catch (e) {
        reject(e);
      }
    });
  });
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '') as LoadPlan;
  const clients = new Map<string, grpc.Client>();
  const metadata = new Map<string, grpc.Metadata>();
  for (const t of plan.targets) {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(t.metadata ?? {})) md.set(k, v);
    metadata.set(t.name, md);
    const c = new grpc.Client(t.address, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())));
    clients.set(t.name, c);
  }
  const marks: Record<string, string[]> = Object.fromEntries(plan.targets.map((t) => [t.name, []]));
  const mark = async (t: (typeof plan.targets)[number], label: string) => {
    process.kill(t.pid, 'SIGUSR2');
    marks[t.name]!.push(label);
    // Two signals in quick succession could merge into one.
    await sleep(20);
  };
  for (const t of plan.targets) await mark(t, 'boot');
  for (const op of plan.ops) {
    for (const concurrency of plan.concurrencies) {
      const results = await runCells(
        plan.targets.map((t) => {
          const client = clients.get(t.name)!;
          const md = metadata.get(t.name)!;
          return (i: number) => unary(client, md, op, i);
        }),
        {
          concurrency,
          warmupMs: plan.warmupMs,
          durationMs: plan.durationMs,
          rounds: plan.rounds,
          maxOps: plan.maxOps,
          onWindow: (i, phase) => mark(plan.targets[i]!, phase === 'start' ? 'gap' : `${op}|${concurrency}`),
        },
      );
      plan.targets.forEach((t, i) => process.stdout.write(JSON.stringify({ target: t.name, op, concurrency, result: results[i] }) + '\n'));
    }
  }
  process.stdout.write(JSON.stringify({ marks }) + '\n');
  for (const c of clients.values()) c.close();
}

main().catch((e: unknown) => {
  process.stderr.write(`loadgen: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
