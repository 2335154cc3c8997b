// JobStore over gRPC: decode → store → encode.
import { JobStore, JobState as WireJobState, type JobContext as WireJob, type ActionRecord as WireAction } from '../../gen/agentstore/v1/jobs_pb.js';
import { invalidArgument } from '../../store/errors.js';
import { JOB_STATES, type ActionRecord, type AgentJobRecord, type JobContext, type JobState } from '../../store/jobs.js';
import type { ServiceImpl } from '../bridge.js';
import type { StoresFor } from '../stores.js';
import { int, jsonFromValue, optDate, optTs, requiredDate, ts, valueFromJson } from '../convert.js';

/** Wire enum → stored state; UNSPECIFIED or a number this build does not know is INVALID_ARGUMENT. */
export function stateFromWire(field: string, s: WireJobState): JobState {
  const state = JOB_STATES[s - 1];
  if (s < 1 || state === undefined) throw invalidArgument(field, `must be one of ${JOB_STATES.map((x) => `JOB_STATE_${x.toUpperCase()}`).join(', ')} (got ${s})`);
  return state;
}

export const stateToWire = (s: JobState): WireJobState => (JOB_STATES.indexOf(s) + 1) as WireJobState;

const optInt = (field: string, v: bigint | undefined) => (v === undefined ? null : int(field, v));

function jobFromWire(j: WireJob | undefined): JobContext {
  if (!j) throw invalidArgument('job', 'is required');
  return {
    jobId: j.jobId,
    state: stateFromWire('job.state', j.state),
    userId: j.userId,
    requesterId: j.requesterId ?? null,
    conversationId: j.conversationId ?? null,
    title: j.title,
    description: j.description,
    category: j.category ?? null,
    budget: j.budget ?? null,
    budgetToken: j.budgetToken ?? null,
    bidAmount: j.bidAmount ?? null,
    estimatedCost: j.estimatedCost ?? null,
    estimatedDurationSecs: optInt('job.estimated_duration_secs', j.estimatedDurationSecs),
    actualCost: j.actualCost === '' ? '0' : j.actualCost,
    totalTokensUsed: int('job.total_tokens_used', j.totalTokensUsed),
    maxTokens: int('job.max_tokens', j.maxTokens),
    createdAt: requiredDate('job.created_at', j.createdAt),
    startedAt: optDate('job.started_at', j.startedAt),
    completedAt: optDate('job.completed_at', j.completedAt),
    repairAttempts: int('job.repair_attempts', j.repairAttempts),
    transitions: j.transitions.map((t, i) => ({
      from: stateFromWire(`job.transitions[${i}].from_state`, t.fromState),
      to: stateFromWire(`job.transitions[${i}].to_state`, t.toState),
      timestamp: requiredDate(`job.transitions[${i}].timestamp`, t.timestamp),
      reason: t.reason ?? null,
    })),
    metadata: j.metadata === undefined ? null : jsonFromValue('job.metadata', j.metadata),
    userTimezone: j.userTimezone === '' ? 'UTC' : j.userTimezone,
  };
}

const jobToWire = (j: JobContext) => ({
  jobId: j.jobId,
  state: stateToWire(j.state),
  userId: j.userId,
  requesterId: j.requesterId ?? undefined,
  conversationId: j.conversationId ?? undefined,
  title: j.title,
  description: j.description,
  category: j.category ?? undefined,
  budget: j.budget ?? undefined,
  budgetToken: j.budgetToken ?? undefined,
  bidAmount: j.bidAmount ?? undefined,
  estimatedCost: j.estimatedCost ?? undefined,
  estimatedDurationSecs: j.estimatedDurationSecs === null ? undefined : BigInt(j.estimatedDurationSecs),
  actualCost: j.actualCost,
  totalTokensUsed: BigInt(j.totalTokensUsed),
  maxTokens: BigInt(j.maxTokens),
  createdAt: ts(j.createdAt),
  startedAt: optTs(j.startedAt),
  completedAt: optTs(j.completedAt),
  repairAttempts: BigInt(j.repairAttempts),
  transitions: j.transitions.map((t) => ({ fromState: stateToWire(t.from), toState: stateToWire(t.to), timestamp: ts(t.timestamp), reason: t.reason ?? undefined })),
  metadata: valueFromJson(j.metadata),
  userTimezone: j.userTimezone,
});

const recordToWire = (r: AgentJobRecord) => ({
  id: r.id,
  title: r.title,
  status: stateToWire(r.status),
  userId: r.userId,
  createdAt: ts(r.createdAt),
  startedAt: optTs(r.startedAt),
  completedAt: optTs(r.completedAt),
  failureReason: r.failureReason ?? undefined,
});

function actionFromWire(a: WireAction | undefined): ActionRecord {
  if (!a) throw invalidArgument('action', 'is required');
  return {
    id: a.id,
    sequence: int('action.sequence', a.sequence),
    toolName: a.toolName,
    input: jsonFromValue('action.input', a.input),
    outputRaw: a.outputRaw ?? null,
    outputSanitized: a.outputSanitized === undefined ? undefined : jsonFromValue('action.output_sanitized', a.outputSanitized),
    sanitizationWarnings: a.sanitizationWarnings,
    cost: a.cost ?? null,
    durationMs: int('action.duration_ms', a.durationMs),
    success: a.success,
    error: a.error ?? null,
    executedAt: requiredDate('action.executed_at', a.executedAt),
  };
}

const actionToWire = (a: ActionRecord) => ({
  id: a.id,
  sequence: BigInt(a.sequence),
  toolName: a.toolName,
  input: valueFromJson(a.input),
  outputRaw: a.outputRaw ?? undefined,
  outputSanitized: a.outputSanitized === undefined ? undefined : valueFromJson(a.outputSanitized),
  sanitizationWarnings: a.sanitizationWarnings,
  cost: a.cost ?? undefined,
  durationMs: BigInt(a.durationMs),
  success: a.success,
  error: a.error ?? undefined,
  executedAt: ts(a.executedAt),
});

export const jobService = (stores: StoresFor): ServiceImpl<typeof JobStore.method> => {
  return {
    saveJob: async (r, ctx) => {
      await stores(ctx).saveJob(jobFromWire(r.job));
      return {};
    },
    getJob: async (r, ctx) => {
      const j = await stores(ctx).getJob(r.id);
      return { job: j ? jobToWire(j) : undefined };
    },
    updateJobStatus: async (r, ctx) => {
      await stores(ctx).updateJobStatus(r.id, stateFromWire('status', r.status), r.failureReason ?? null);
      return {};
    },
    markJobStuck: async (r, ctx) => {
      await stores(ctx).markJobStuck(r.id);
      return {};
    },
    getStuckJobs: async (_r, ctx) => ({ ids: await stores(ctx).getStuckJobs() }),
    listAgentJobs: async (_r, ctx) => ({ jobs: (await stores(ctx).listAgentJobs()).map(recordToWire) }),
    agentJobSummary: async (_r, ctx) => {
      const s = await stores(ctx).agentJobSummary();
      return {
        total: BigInt(s.total),
        pending: BigInt(s.pending),
        inProgress: BigInt(s.inProgress),
        completed: BigInt(s.completed),
        failed: BigInt(s.failed),
        stuck: BigInt(s.stuck),
      };
    },
    getAgentJobFailureReason: async (r, ctx) => ({ failureReason: (await stores(ctx).getAgentJobFailureReason(r.id)) ?? undefined }),
    saveAction: async (r, ctx) => {
      await stores(ctx).saveAction(r.jobId, actionFromWire(r.action));
      return {};
    },
    getJobActions: async (r, ctx) => ({ actions: (await stores(ctx).getJobActions(r.jobId)).map(actionToWire) }),
    recordLlmCall: async (r, ctx) => ({
      id: await stores(ctx).recordLlmCall({
        jobId: r.jobId ?? null,
        conversationId: r.conversationId ?? null,
        provider: r.provider,
        model: r.model,
        inputTokens: int('input_tokens', r.inputTokens),
        outputTokens: int('output_tokens', r.outputTokens),
        cost: r.cost,
        purpose: r.purpose ?? null,
      }),
    }),
    saveEstimationSnapshot: async (r, ctx) => ({
      id: await stores(ctx).saveEstimationSnapshot(r.jobId, r.category, r.toolNames, r.estimatedCost, int('estimated_time_secs', r.estimatedTimeSecs), r.estimatedValue),
    }),
    updateEstimationActuals: async (r, ctx) => {
      await stores(ctx).updateEstimationActuals(r.id, r.actualCost, int('actual_time_secs', r.actualTimeSecs), r.actualValue ?? null);
      return {};
    },
  };
};
