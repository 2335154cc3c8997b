// Who may call what: one rule for every RPC of every service, declared here
// in one table (a service registered without a rule for each of its RPCs
// does not compile, and the bridge refuses it at start). The bridge applies
// the rule once, after authentication and before the handler runs; handlers
// then reach the database only through the caller's view of it
// (src/grpc/stores.ts), which for a user-scoped token holds only that
// user's rows. The refusal rule (README "Authentication and isolation"):
//   - a user-scoped token calling a service-only RPC → PERMISSION_DENIED;
//   - a request whose user id field is not the token's user → PERMISSION_DENIED;
//   - another user's row addressed by id answers exactly as a missing row,
//     and a write addressed at it changes nothing.
// Service tokens, and every caller when authentication is off, pass.
import { status } from '@grpc/grpc-js';
import type { MessageShape } from '@bufbuild/protobuf';
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import type { Admin } from '../gen/agentstore/v1/admin_pb.js';
import type { ConversationStore } from '../gen/agentstore/v1/conversations_pb.js';
import type { JobStore } from '../gen/agentstore/v1/jobs_pb.js';
import type { RoutineStore } from '../gen/agentstore/v1/routines_pb.js';
import type { SandboxStore } from '../gen/agentstore/v1/sandbox_pb.js';
import type { SettingsStore } from '../gen/agentstore/v1/settings_pb.js';
import type { ToolFailureStore } from '../gen/agentstore/v1/tool_failures_pb.js';
import type { WorkspaceStore } from '../gen/agentstore/v1/workspace_pb.js';
import { AccessError, type Caller } from './auth.js';

/** Whether an RPC changes stored data (writes by user-scoped tokens are audited). */
export type Access = 'read' | 'write';

export type Rule<Req> =
  /** Touches no user's data (Admin.GetStatus): any authenticated caller. */
  | { kind: 'open'; access: Access }
  /** Spans every user (cross-user views, sweeps, claiming, global tool counters): service tokens only. */
  | { kind: 'service'; access: Access }
  /**
   * One user's data. Rows addressed by id are narrowed to the caller's by
   * the store view; when the request names a user (`field`), it must be
   * the caller's.
   */
  | { kind: 'user'; access: Access; field?: string; userId?: (req: Req) => string | undefined };

export type Rules<T extends GenServiceMethods> = { [K in keyof T]: Rule<MessageShape<T[K]['input']>> };

const open = (access: Access) => ({ kind: 'open', access }) as const;
const serviceOnly = (access: Access) => ({ kind: 'service', access }) as const;
/** Rows addressed by id only. */
const owned = (access: Access) => ({ kind: 'user', access }) as const;
/** The request names the user in `field`. */
const byUser = <Req>(access: Access, field: string, userId: (req: Req) => string | undefined): Rule<Req> => ({ kind: 'user', access, field, userId });
/** The request's `user_id` names the user (most RPCs that take one). */
const ofUser = (access: Access): Rule<{ userId: string }> => byUser(access, 'user_id', (r) => r.userId);

/** Refuses the call (AccessError) when `caller` may not make it with `req`. */
export function authorize<Req>(rule: Rule<Req>, caller: Caller, req: Req): void {
  if (caller.userId === null) return;
  if (rule.kind === 'service') throw new AccessError(status.PERMISSION_DENIED, 'this RPC spans every user: it needs a service token');
  if (rule.kind === 'user' && rule.userId !== undefined && rule.userId(req) !== caller.userId) {
    throw new AccessError(status.PERMISSION_DENIED, `${rule.field}: not the user this token acts for`);
  }
}

export const conversationRules: Rules<typeof ConversationStore.method> = {
  createConversation: ofUser('write'),
  touchConversation: owned('write'),
  addConversationMessage: owned('write'),
  ensureConversation: ofUser('write'),
  listConversationsWithPreview: ofUser('read'),
  listConversationsAllChannels: ofUser('read'),
  getOrCreateRoutineConversation: ofUser('write'),
  getOrCreateHeartbeatConversation: ofUser('write'),
  getOrCreateAssistantConversation: ofUser('write'),
  createConversationWithMetadata: ofUser('write'),
  listConversationMessagesPaginated: owned('read'),
  updateConversationMetadataField: owned('write'),
  getConversationMetadata: owned('read'),
  listConversationMessages: owned('read'),
  conversationBelongsToUser: ofUser('read'),
};

export const jobRules: Rules<typeof JobStore.method> = {
  saveJob: byUser('write', 'job.user_id', (r) => r.job?.userId),
  getJob: owned('read'),
  updateJobStatus: owned('write'),
  markJobStuck: owned('write'),
  getStuckJobs: serviceOnly('read'),
  listAgentJobs: serviceOnly('read'),
  agentJobSummary: serviceOnly('read'),
  getAgentJobFailureReason: owned('read'),
  saveAction: owned('write'),
  getJobActions: owned('read'),
  recordLlmCall: owned('write'),
  saveEstimationSnapshot: owned('write'),
  updateEstimationActuals: owned('write'),
};

export const sandboxRules: Rules<typeof SandboxStore.method> = {
  saveSandboxJob: byUser('write', 'job.user_id', (r) => r.job?.userId),
  getSandboxJob: owned('read'),
  listSandboxJobs: serviceOnly('read'),
  updateSandboxJobStatus: owned('write'),
  cleanupStaleSandboxJobs: serviceOnly('write'),
  sandboxJobSummary: serviceOnly('read'),
  listSandboxJobsForUser: ofUser('read'),
  sandboxJobSummaryForUser: ofUser('read'),
  sandboxJobBelongsToUser: ofUser('read'),
  updateSandboxJobMode: owned('write'),
  getSandboxJobMode: owned('read'),
  saveJobEvent: owned('write'),
  listJobEvents: owned('read'),
  streamJobEvents: owned('read'),
};

export const routineRules: Rules<typeof RoutineStore.method> = {
  createRoutine: byUser('write', 'routine.user_id', (r) => r.routine?.userId),
  getRoutine: owned('read'),
  getRoutineByName: ofUser('read'),
  listRoutines: ofUser('read'),
  listAllRoutines: serviceOnly('read'),
  listEventRoutines: serviceOnly('read'),
  listDueCronRoutines: serviceOnly('read'),
  updateRoutine: byUser('write', 'routine.user_id', (r) => r.routine?.userId),
  updateRoutineRuntime: owned('write'),
  deleteRoutine: owned('write'),
  createRoutineRun: owned('write'),
  completeRoutineRun: owned('write'),
  listRoutineRuns: owned('read'),
  countRunningRoutineRuns: owned('read'),
  countRunningRoutineRunsBatch: owned('read'),
  linkRoutineRunToJob: owned('write'),
  listDispatchedRoutineRuns: serviceOnly('read'),
  claimDueCronRoutines: serviceOnly('write'),
};

export const settingsRules: Rules<typeof SettingsStore.method> = {
  getSetting: ofUser('read'),
  getSettingFull: ofUser('read'),
  setSetting: ofUser('write'),
  deleteSetting: ofUser('write'),
  listSettings: ofUser('read'),
  getAllSettings: ofUser('read'),
  setAllSettings: ofUser('write'),
  hasSettings: ofUser('read'),
};

// Tool failure counters are global (per tool, not per user).
export const toolFailureRules: Rules<typeof ToolFailureStore.method> = {
  recordToolFailure: serviceOnly('write'),
  getBrokenTools: serviceOnly('read'),
  markToolRepaired: serviceOnly('write'),
  incrementRepairAttempts: serviceOnly('write'),
};

export const workspaceRules: Rules<typeof WorkspaceStore.method> = {
  getDocumentByPath: ofUser('read'),
  getDocumentById: owned('read'),
  getOrCreateDocumentByPath: ofUser('write'),
  updateDocument: owned('write'),
  deleteDocumentByPath: ofUser('write'),
  listDirectory: ofUser('read'),
  listAllPaths: ofUser('read'),
  listDocuments: ofUser('read'),
  deleteChunks: owned('write'),
  insertChunk: owned('write'),
  updateChunkEmbedding: owned('write'),
  getChunksWithoutEmbeddings: ofUser('read'),
  hybridSearch: ofUser('read'),
};

export const adminRules: Rules<typeof Admin.method> = {
  getStatus: open('read'),
  // Pulls the whole replica from the primary: daemon-wide, not one user's.
  sync: serviceOnly('write'),
};
