// JobStore: agent ("direct") jobs, their actions, the LLM-call cost log and
// estimation snapshots (STORES.md §2.2), with the "→ agentstore" choices
// applied on both backends: every field of the context is persisted
// (transitions, metadata, requester, timezone included), unknown states are
// refused rather than read back as pending, id-keyed methods see direct jobs
// only, 64-bit counts and durations, decimals exact.
import type { ArgChecks } from './checks.js';
import { decimal, optDecimal } from './decimal.js';
import { invalidArgument } from './errors.js';
import { MAX_COUNT, MAX_SHORT_TEXT_CHARS, MAX_TRANSITIONS, MAX_UINT32 } from './limits.js';
import type { Decimal, JsonValue, Uuid } from './types.js';
import * as v from './validate.js';

export const JOB_STATES = ['pending', 'in_progress', 'completed', 'submitted', 'accepted', 'failed', 'stuck', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
/** States after which a direct job never changes again (its event stream ends). */
export const TERMINAL_JOB_STATES: readonly string[] = ['accepted', 'failed', 'cancelled'];

export interface StateTransition {
  from: JobState;
  to: JobState;
  timestamp: Date;
  reason: string | null;
}

export interface JobContext {
  jobId: Uuid;
  state: JobState;
  userId: string;
  requesterId: string | null;
  conversationId: Uuid | null;
  title: string;
  description: string;
  category: string | null;
  budget: Decimal | null;
  budgetToken: string | null;
  bidAmount: Decimal | null;
  estimatedCost: Decimal | null;
  estimatedDurationSecs: number | null;
  actualCost: Decimal;
  totalTokensUsed: number;
  maxTokens: number;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  repairAttempts: number;
  transitions: StateTransition[];
  metadata: JsonValue;
  userTimezone: string;
}

export interface AgentJobRecord {
  id: Uuid;
  title: string;
  status: JobState;
  userId: string;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  failureReason: string | null;
}

export interface AgentJobSummary {
  total: number;
  pending: number;
  inProgress: number;
  completed: number;
  failed: number;
  stuck: number;
}

export interface ActionRecord {
  id: Uuid;
  sequence: number;
  toolName: string;
  input: JsonValue;
  outputRaw: string | null;
  /** undefined: none stored. */
  outputSanitized: JsonValue | undefined;
  sanitizationWarnings: string[];
  cost: Decimal | null;
  durationMs: number;
  success: boolean;
  error: string | null;
  executedAt: Date;
}

export interface LlmCallRecord {
  jobId: Uuid | null;
  conversationId: Uuid | null;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cost: Decimal;
  purpose: string | null;
}

export interface JobStore {
  saveJob(ctx: JobContext): Promise<void>;
  getJob(id: Uuid): Promise<JobContext | null>;
  updateJobStatus(id: Uuid, status: JobState, failureReason?: string | null): Promise<void>;
  markJobStuck(id: Uuid): Promise<void>;
  getStuckJobs(): Promise<Uuid[]>;
  listAgentJobs(): Promise<AgentJobRecord[]>;
  agentJobSummary(): Promise<AgentJobSummary>;
  getAgentJobFailureReason(id: Uuid): Promise<string | null>;
  saveAction(jobId: Uuid, action: ActionRecord): Promise<void>;
  getJobActions(jobId: Uuid): Promise<ActionRecord[]>;
  recordLlmCall(record: LlmCallRecord): Promise<Uuid>;
  saveEstimationSnapshot(
    jobId: Uuid,
    category: string,
    toolNames: string[],
    estimatedCost: Decimal,
    estimatedTimeSecs: number,
    estimatedValue: Decimal,
  ): Promise<Uuid>;
  updateEstimationActuals(id: Uuid, actualCost: Decimal, actualTimeSecs: number, actualValue: Decimal | null): Promise<void>;
}

export function jobState(field: string, s: unknown): JobState {
  if (typeof s !== 'string' || !(JOB_STATES as readonly string[]).includes(s)) {
    throw invalidArgument(field, `must be one of ${JOB_STATES.join(', ')}`);
  }
  return s as JobState;
}

const count = (field: string, n: unknown) => v.nonNegativeInt(field, n, MAX_COUNT);
const optCount = (field: string, n: unknown) => (n === null || n === undefined ? null : count(field, n));

function checkJob(j: JobContext): JobContext {
  if (typeof j !== 'object' || j === null) throw invalidArgument('job', 'is required');
  v.list('job.transitions', j.transitions, MAX_TRANSITIONS);
  v.json('job.metadata', j.metadata);
  return {
    jobId: v.uuid('job.job_id', j.jobId),
    state: jobState('job.state', j.state),
    userId: v.name('job.user_id', j.userId),
    requesterId: v.optName('job.requester_id', j.requesterId),
    conversationId: v.optUuid('job.conversation_id', j.conversationId),
    title: v.text('job.title', j.title, MAX_SHORT_TEXT_CHARS),
    description: v.text('job.description', j.description),
    category: v.optName('job.category', j.category),
    budget: optDecimal('job.budget', j.budget),
    budgetToken: v.optName('job.budget_token', j.budgetToken),
    bidAmount: optDecimal('job.bid_amount', j.bidAmount),
    estimatedCost: optDecimal('job.estimated_cost', j.estimatedCost),
    estimatedDurationSecs: optCount('job.estimated_duration_secs', j.estimatedDurationSecs),
    actualCost: decimal('job.actual_cost', j.actualCost),
    totalTokensUsed: count('job.total_tokens_used', j.totalTokensUsed),
    maxTokens: count('job.max_tokens', j.maxTokens),
    createdAt: v.timestamp('job.created_at', j.createdAt),
    startedAt: j.startedAt === null || j.startedAt === undefined ? null : v.timestamp('job.started_at', j.startedAt),
    completedAt: j.completedAt === null || j.completedAt === undefined ? null : v.timestamp('job.completed_at', j.completedAt),
    repairAttempts: v.nonNegativeInt('job.repair_attempts', j.repairAttempts, MAX_UINT32),
    transitions: j.transitions.map((t, i) => ({
      from: jobState(`job.transitions[${i}].from_state`, t.from),
      to: jobState(`job.transitions[${i}].to_state`, t.to),
      timestamp: v.timestamp(`job.transitions[${i}].timestamp`, t.timestamp),
      reason: v.optText(`job.transitions[${i}].reason`, t.reason, MAX_SHORT_TEXT_CHARS),
    })),
    metadata: j.metadata,
    userTimezone: v.name('job.user_timezone', j.userTimezone),
  };
}

function checkAction(a: ActionRecord): ActionRecord {
  if (typeof a !== 'object' || a === null) throw invalidArgument('action', 'is required');
  v.json('action.input', a.input);
  if (a.outputSanitized !== undefined) v.json('action.output_sanitized', a.outputSanitized);
  v.list('action.sanitization_warnings', a.sanitizationWarnings);
  if (typeof a.success !== 'boolean') throw invalidArgument('action.success', 'must be a boolean');
  return {
    id: v.uuid('action.id', a.id),
    sequence: v.nonNegativeInt('action.sequence', a.sequence, MAX_UINT32),
    toolName: v.name('action.tool_name', a.toolName),
    input: a.input,
    outputRaw: v.optText('action.output_raw', a.outputRaw),
    outputSanitized: a.outputSanitized,
    sanitizationWarnings: a.sanitizationWarnings.map((w, i) => v.text(`action.sanitization_warnings[${i}]`, w, MAX_SHORT_TEXT_CHARS)),
    cost: optDecimal('action.cost', a.cost),
    durationMs: count('action.duration_ms', a.durationMs),
    success: a.success,
    error: v.optText('action.error', a.error, MAX_SHORT_TEXT_CHARS),
    executedAt: v.timestamp('action.executed_at', a.executedAt),
  };
}

export const jobChecks: ArgChecks<JobStore> = {
  saveJob: (ctx) => [checkJob(ctx)],
  getJob: (id) => [v.uuid('id', id)],
  updateJobStatus: (id, status, failureReason) => [v.uuid('id', id), jobState('status', status), v.optText('failure_reason', failureReason, MAX_SHORT_TEXT_CHARS)],
  markJobStuck: (id) => [v.uuid('id', id)],
  getStuckJobs: () => [],
  listAgentJobs: () => [],
  agentJobSummary: () => [],
  getAgentJobFailureReason: (id) => [v.uuid('id', id)],
  saveAction: (jobId, action) => [v.uuid('job_id', jobId), checkAction(action)],
  getJobActions: (jobId) => [v.uuid('job_id', jobId)],
  recordLlmCall: (r) => {
    if (typeof r !== 'object' || r === null) throw invalidArgument('record', 'is required');
    return [
      {
        jobId: v.optUuid('job_id', r.jobId),
        conversationId: v.optUuid('conversation_id', r.conversationId),
        provider: v.name('provider', r.provider),
        model: v.name('model', r.model),
        inputTokens: count('input_tokens', r.inputTokens),
        outputTokens: count('output_tokens', r.outputTokens),
        cost: decimal('cost', r.cost),
        purpose: v.optName('purpose', r.purpose),
      },
    ];
  },
  saveEstimationSnapshot: (jobId, category, toolNames, estimatedCost, estimatedTimeSecs, estimatedValue) => {
    return [
      v.uuid('job_id', jobId),
      v.name('category', category),
      v.list('tool_names', toolNames).map((t, i) => v.name(`tool_names[${i}]`, t)),
      decimal('estimated_cost', estimatedCost),
      count('estimated_time_secs', estimatedTimeSecs),
      decimal('estimated_value', estimatedValue, { allowNegative: true }),
    ];
  },
  updateEstimationActuals: (id, actualCost, actualTimeSecs, actualValue) => [
    v.uuid('id', id),
    decimal('actual_cost', actualCost),
    count('actual_time_secs', actualTimeSecs),
    optDecimal('actual_value', actualValue, { allowNegative: true }),
  ],
};
