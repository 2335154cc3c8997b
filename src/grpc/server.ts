// The gRPC server: every store service through the bridge (each RPC guarded
// by its rule in rules.ts), plus Admin, grpc.health.v1 (SERVING only while
// the database answers; "agentstore.writes" only while writes are accepted
// too) and server reflection built from the generated file descriptors;
// health and reflection need no token. Plaintext or TLS (credentials from
// tls.ts).
import * as grpc from '@grpc/grpc-js';
import { toBinary, type DescFile } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { Admin, file_agentstore_v1_admin } from '../gen/agentstore/v1/admin_pb.js';
import { ConversationStore, file_agentstore_v1_conversations } from '../gen/agentstore/v1/conversations_pb.js';
import { RoutineStore, file_agentstore_v1_routines } from '../gen/agentstore/v1/routines_pb.js';
import { JobStore, file_agentstore_v1_jobs } from '../gen/agentstore/v1/jobs_pb.js';
import { SandboxStore, file_agentstore_v1_sandbox } from '../gen/agentstore/v1/sandbox_pb.js';
import { SettingsStore, file_agentstore_v1_settings } from '../gen/agentstore/v1/settings_pb.js';
import { ToolFailureStore, file_agentstore_v1_tool_failures } from '../gen/agentstore/v1/tool_failures_pb.js';
import { WorkspaceStore, file_agentstore_v1_workspace } from '../gen/agentstore/v1/workspace_pb.js';
import type { Database } from '../store/database.js';
import { storesFor } from './stores.js';
import type { Authenticator } from './auth.js';
import { addService } from './bridge.js';
import { adminRules, conversationRules, jobRules, routineRules, sandboxRules, settingsRules, toolFailureRules, workspaceRules } from './rules.js';
import { adminService } from './services/admin.js';
import { conversationService } from './services/conversations.js';
import { routineService } from './services/routines.js';
import { jobService } from './services/jobs.js';
import { sandboxService } from './services/sandbox.js';
import { settingsService } from './services/settings.js';
import { toolFailureService } from './services/tool-failures.js';
import { workspaceService } from './services/workspace.js';

const FILES: DescFile[] = [
  file_agentstore_v1_conversations,
  file_agentstore_v1_settings,
  file_agentstore_v1_tool_failures,
  file_agentstore_v1_jobs,
  file_agentstore_v1_sandbox,
  file_agentstore_v1_routines,
  file_agentstore_v1_workspace,
  file_agentstore_v1_admin,
];
export const SERVICE_NAMES = [ConversationStore, SettingsStore, ToolFailureStore, JobStore, SandboxStore, RoutineStore, WorkspaceStore, Admin].map((s) => s.typeName);
/**
 * Health name for writes: on an embedded replica, NOT_SERVING while the
 * primary is unreachable, when reads still work from the local file.
 */
export const WRITES_HEALTH = 'agentstore.writes';

/** Every file with its imports (well-known types included), each once. */
function withDependencies(files: DescFile[]): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.set(f.name, f);
    f.dependencies.forEach(visit);
  };
  files.forEach(visit);
  return [...seen.values()];
}

export interface RunningServer {
  server: grpc.Server;
  port: number;
  health: HealthImplementation;
  /** Stops accepting calls, lets in-flight calls finish (up to the grace period), then resolves. */
  shutdown(): Promise<void>;
}

export interface Security {
  auth: Authenticator;
  credentials: grpc.ServerCredentials;
}

export async function startServer(config: Config, db: Database, log: Logger, version: string, security: Security): Promise<RunningServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxMessageBytes,
  });

  const health = new HealthImplementation({ '': 'NOT_SERVING', [WRITES_HEALTH]: 'NOT_SERVING', ...Object.fromEntries(SERVICE_NAMES.map((s) => [s, 'NOT_SERVING'])) });
  health.addToServer(server);
  let databaseOk = false;
  let writesOk = false;
  let stopping = false;
  const setHealth = (ok: boolean) => {
    if (ok !== databaseOk && !stopping) log[ok ? 'info' : 'warn']({ databaseOk: ok }, ok ? 'database answers: SERVING' : 'database does not answer: NOT_SERVING');
    databaseOk = ok;
    const s = ok ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', s);
    for (const name of SERVICE_NAMES) health.setStatus(name, s);
    const replica = db.info().replica;
    const writes = ok && (replica?.writable ?? true);
    if (replica && writes !== writesOk && !stopping) {
      if (writes) log.info('primary answers: writes SERVING');
      else log.warn({ lastSyncError: replica.lastSyncError }, 'primary unreachable: writes NOT_SERVING, reads go on from the replica');
    }
    writesOk = writes;
    health.setStatus(WRITES_HEALTH, writes ? 'SERVING' : 'NOT_SERVING');
  };
  const probe = async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('health probe timed out')), Math.max(1000, config.healthIntervalMs));
    });
    try {
      await Promise.race([db.health(), timeout]);
      setHealth(true);
    } catch {
      setHealth(false);
    } finally {
      clearTimeout(timer);
    }
  };
  await probe();
  let probing = false;
  const healthTimer = setInterval(() => {
    if (probing) return;
    probing = true;
    void probe().finally(() => (probing = false));
  }, config.healthIntervalMs);
  healthTimer.unref();

  const reflectionFiles = { agentstore: { fileDescriptorProtos: withDependencies(FILES).map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) } };
  new ReflectionService(reflectionFiles as unknown as ConstructorParameters<typeof ReflectionService>[0]).addToServer(server);

  const deps = { log, auth: security.auth };
  // One view per user-scoped caller, shared by every service.
  const stores = storesFor(db);
  addService(server, ConversationStore, conversationService(stores), conversationRules, deps);
  addService(server, SettingsStore, settingsService(stores), settingsRules, deps);
  addService(server, ToolFailureStore, toolFailureService(stores), toolFailureRules, deps);
  addService(server, RoutineStore, routineService(stores), routineRules, deps);
  addService(server, JobStore, jobService(stores), jobRules, deps);
  // Live event streams never finish on their own; shutdown ends them (clients resume from their cursor).
  const endStreams = new AbortController();
  addService(server, SandboxStore, sandboxService(stores, endStreams.signal), sandboxRules, deps);
  addService(server, WorkspaceStore, workspaceService(stores), workspaceRules, deps);
  addService(server, Admin, adminService({ db, version, services: SERVICE_NAMES, databaseOk: () => databaseOk }), adminRules, deps);

  const port = await new Promise<number>((resolve, reject) => server.bindAsync(config.listen, security.credentials, (err, p) => (err ? reject(err) : resolve(p))));

  return {
    server,
    port,
    health,
    shutdown: () =>
      new Promise<void>((resolve) => {
        clearInterval(healthTimer);
        stopping = true;
        setHealth(false);
        endStreams.abort();
        const force = setTimeout(() => {
          log.warn({ graceMs: config.shutdownGraceMs }, 'grace period over: cancelling calls still in flight');
          server.forceShutdown();
          resolve();
        }, config.shutdownGraceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
