// RoutineStore: routines (trigger + action + guardrails + notification
// settings + engine runtime) and their runs. Semantics: STORES.md §2.4 with
// the "→ agentstore" choices applied on both backends: unknown trigger and
// action kinds and run statuses are refused on write (so no stored row can
// poison a list), notify.user is normalised on write and on read, a cron
// trigger's schedule and zone are validated and its next fire time computed
// when the caller gives none, and claimDueCronRoutines lets several pollers
// share one database without firing a routine twice.
import type { ArgChecks } from './checks.js';
import { now } from './clock.js';
import * as cron from './cron.js';
import { invalidArgument } from './errors.js';
import { MAX_COUNT, MAX_INT32, MAX_LABEL_CHARS, MAX_LIST_LIMIT, MAX_PROMPT_CHARS, MAX_SHORT_TEXT_CHARS } from './limits.js';
import type { JsonValue, Uuid } from './types.js';
import * as v from './validate.js';

export const TRIGGER_KINDS = ['cron', 'event', 'system_event', 'manual'] as const;
export const ACTION_KINDS = ['lightweight', 'full_job'] as const;
export const RUN_STATUSES = ['running', 'ok', 'attention', 'failed'] as const;

export type TriggerKind = (typeof TRIGGER_KINDS)[number];
export type ActionKind = (typeof ACTION_KINDS)[number];
export type RunStatus = (typeof RUN_STATUSES)[number];

export type Trigger =
  | { kind: 'cron'; schedule: string; timezone: string | null }
  | { kind: 'event'; pattern: string; channel: string | null }
  | { kind: 'system_event'; source: string; eventType: string; filters: Record<string, string> }
  | { kind: 'manual' };

export type RoutineAction =
  | { kind: 'lightweight'; prompt: string; contextPaths: string[]; maxTokens: number; useTools: boolean; maxToolRounds: number }
  | { kind: 'full_job'; title: string; description: string; maxIterations: number; toolPermissions: string[] };

/** Values an action field takes when the caller (or a stored row) gives none. */
export const ACTION_DEFAULTS = { maxTokens: 4096, useTools: false, maxToolRounds: 3, maxIterations: 10 } as const;
export const MIN_TOOL_ROUNDS = 1;
export const MAX_TOOL_ROUNDS = 20;
export const GUARDRAIL_DEFAULTS = { cooldownSecs: 300, maxConcurrent: 1, dedupWindowSecs: null } as const;
export const NOTIFY_DEFAULTS = { channel: null, user: null, onAttention: true, onFailure: true, onSuccess: false } as const;

export interface RoutineGuardrails {
  cooldownSecs: number;
  maxConcurrent: number;
  dedupWindowSecs: number | null;
}

export interface NotifyConfig {
  channel: string | null;
  /** null: resolve the owner's last-seen target at send time. */
  user: string | null;
  onAttention: boolean;
  onFailure: boolean;
  onSuccess: boolean;
}

export interface Routine {
  id: Uuid;
  name: string;
  description: string;
  userId: string;
  enabled: boolean;
  trigger: Trigger;
  action: RoutineAction;
  guardrails: RoutineGuardrails;
  notify: NotifyConfig;
  lastRunAt: Date | null;
  /** On create/update of a cron routine, null means "compute it from the schedule". */
  nextFireAt: Date | null;
  runCount: number;
  consecutiveFailures: number;
  state: JsonValue;
  createdAt: Date;
  updatedAt: Date;
}

export interface RoutineRun {
  id: Uuid;
  routineId: Uuid;
  triggerType: TriggerKind;
  triggerDetail: string | null;
  startedAt: Date;
  completedAt: Date | null;
  status: RunStatus;
  resultSummary: string | null;
  tokensUsed: number | null;
  /** The agent job a full_job dispatch created; not a foreign key (see V3). */
  jobId: Uuid | null;
  createdAt: Date;
}

/** One firing handed to one claimer: the routine after the claim, and the due time it claimed. */
export interface ClaimedFiring {
  routine: Routine;
  /** The next_fire_at that was due; (routine.id, fireAt) is claimed exactly once. */
  fireAt: Date;
}

export interface RoutineStore {
  /** Inserts the definition; returns the routine as stored (runtime fields reset, next fire computed). */
  createRoutine(routine: Routine): Promise<Routine>;
  getRoutine(id: Uuid): Promise<Routine | null>;
  getRoutineByName(userId: string, name: string): Promise<Routine | null>;
  /** Ordered by name (binary). */
  listRoutines(userId: string): Promise<Routine[]>;
  /** Every user's routines, ordered by name then user id (binary). */
  listAllRoutines(): Promise<Routine[]>;
  /** Enabled routines whose trigger is event or system_event. */
  listEventRoutines(): Promise<Routine[]>;
  /** Enabled cron routines with next_fire_at ≤ now; claims nothing. */
  listDueCronRoutines(): Promise<Routine[]>;
  /** Replaces the definition; null when no such routine. */
  updateRoutine(routine: Routine): Promise<Routine | null>;
  updateRoutineRuntime(
    id: Uuid,
    lastRunAt: Date,
    nextFireAt: Date | null,
    runCount: number,
    consecutiveFailures: number,
    state: JsonValue,
  ): Promise<void>;
  deleteRoutine(id: Uuid): Promise<boolean>;
  createRoutineRun(run: RoutineRun): Promise<void>;
  completeRoutineRun(id: Uuid, status: RunStatus, resultSummary: string | null, tokensUsed: number | null): Promise<void>;
  /** Newest started_at first (insertion order breaks ties). */
  listRoutineRuns(routineId: Uuid, limit: number): Promise<RoutineRun[]>;
  countRunningRoutineRuns(routineId: Uuid): Promise<number>;
  /** Every requested id (duplicates collapse) → its running runs, 0 when none. */
  countRunningRoutineRunsBatch(routineIds: Uuid[]): Promise<Map<Uuid, number>>;
  linkRoutineRunToJob(runId: Uuid, jobId: Uuid): Promise<void>;
  /** Runs still running that have a job id. */
  listDispatchedRoutineRuns(): Promise<RoutineRun[]>;
  /**
   * Atomically takes up to `limit` due cron routines (oldest due first) and
   * advances each one's next_fire_at to its first fire time after now, so
   * no other caller, in this process or another daemon, gets the same firing.
   */
  claimDueCronRoutines(owner: string, limit: number): Promise<ClaimedFiring[]>;
}

/** notify.user as stored and returned: trimmed; empty or the legacy "default" → null. */
export function normaliseNotifyUser(u: string | null | undefined): string | null {
  if (u === null || u === undefined) return null;
  const t = u.trim();
  return t === '' || t === 'default' ? null : t;
}

function bool(field: string, x: unknown): boolean {
  if (typeof x !== 'boolean') throw invalidArgument(field, 'must be a boolean');
  return x;
}

function oneOf<T extends string>(field: string, x: unknown, values: readonly T[]): T {
  if (typeof x !== 'string' || !(values as readonly string[]).includes(x)) {
    throw invalidArgument(field, `must be one of ${values.join(', ')}${typeof x === 'string' ? ` (got "${x.slice(0, 64)}")` : ''}`);
  }
  return x as T;
}

function stringList(field: string, x: unknown): string[] {
  return v.list(field, x as unknown[]).map((s, i) => v.text(`${field}[${i}]`, s, MAX_LABEL_CHARS));
}

function positiveInt(field: string, x: unknown, max = MAX_INT32): number {
  const n = v.nonNegativeInt(field, x, max);
  if (n < 1) throw invalidArgument(field, 'must be at least 1');
  return n;
}

function checkTrigger(t: unknown, at: Date): Trigger {
  if (!v.isPlainObject(t)) throw invalidArgument('trigger', 'is required');
  const kind = oneOf('trigger.kind', t.kind, TRIGGER_KINDS);
  switch (kind) {
    case 'cron': {
      const tz = t.timezone === null || t.timezone === undefined ? null : cron.timezone('trigger.timezone', t.timezone);
      return { kind, schedule: cron.schedule('trigger.schedule', t.schedule, tz, at), timezone: tz };
    }
    case 'event': {
      const pattern = v.text('trigger.pattern', t.pattern, MAX_LABEL_CHARS);
      if (pattern.length === 0) throw invalidArgument('trigger.pattern', 'must not be empty');
      return { kind, pattern, channel: v.optName('trigger.channel', t.channel) };
    }
    case 'system_event': {
      const filters: Record<string, string> = {};
      const given = t.filters ?? {};
      if (!v.isPlainObject(given)) throw invalidArgument('trigger.filters', 'must be a map of field → string');
      for (const k of v.list('trigger.filters', Object.keys(given))) filters[v.name('trigger.filters key', k)] = v.text(`trigger.filters.${k}`, given[k], MAX_LABEL_CHARS);
      return { kind, source: v.name('trigger.source', t.source), eventType: v.name('trigger.event_type', t.eventType), filters };
    }
    case 'manual':
      return { kind };
  }
}

function checkAction(a: unknown): RoutineAction {
  if (!v.isPlainObject(a)) throw invalidArgument('action', 'is required');
  const kind = oneOf('action.kind', a.kind, ACTION_KINDS);
  if (kind === 'lightweight') {
    const prompt = v.text('action.prompt', a.prompt, MAX_PROMPT_CHARS);
    if (prompt.length === 0) throw invalidArgument('action.prompt', 'must not be empty');
    const rounds = v.nonNegativeInt('action.max_tool_rounds', a.maxToolRounds);
    if (rounds < MIN_TOOL_ROUNDS || rounds > MAX_TOOL_ROUNDS) throw invalidArgument('action.max_tool_rounds', `must be between ${MIN_TOOL_ROUNDS} and ${MAX_TOOL_ROUNDS}`);
    return {
      kind,
      prompt,
      contextPaths: stringList('action.context_paths', a.contextPaths),
      maxTokens: positiveInt('action.max_tokens', a.maxTokens),
      useTools: bool('action.use_tools', a.useTools),
      maxToolRounds: rounds,
    };
  }
  const title = v.text('action.title', a.title, MAX_LABEL_CHARS);
  if (title.length === 0) throw invalidArgument('action.title', 'must not be empty');
  return {
    kind,
    title,
    description: v.text('action.description', a.description, MAX_PROMPT_CHARS),
    maxIterations: positiveInt('action.max_iterations', a.maxIterations),
    toolPermissions: stringList('action.tool_permissions', a.toolPermissions),
  };
}

/**
 * Validates and normalises a routine definition for create/update. A cron
 * trigger without next_fire_at gets its first fire time after now.
 */
function checkRoutine(r: Routine): Routine {
  if (!v.isPlainObject(r)) throw invalidArgument('routine', 'is required');
  const at = now();
  const trigger = checkTrigger(r.trigger, at);
  const action = checkAction(r.action);
  const g = r.guardrails;
  if (!v.isPlainObject(g)) throw invalidArgument('guardrails', 'is required');
  const n = r.notify;
  if (!v.isPlainObject(n)) throw invalidArgument('notify', 'is required');
  v.json('state', r.state);
  let nextFireAt = r.nextFireAt === null || r.nextFireAt === undefined ? null : v.timestamp('next_fire_at', r.nextFireAt);
  if (nextFireAt === null && trigger.kind === 'cron') nextFireAt = cron.nextFireTime(trigger.schedule, trigger.timezone, at);
  const name = v.name('name', r.name);
  return {
    id: v.uuid('id', r.id),
    name,
    description: v.text('description', r.description, MAX_SHORT_TEXT_CHARS),
    userId: v.name('user_id', r.userId),
    enabled: bool('enabled', r.enabled),
    trigger,
    action,
    guardrails: {
      cooldownSecs: v.nonNegativeInt('guardrails.cooldown_secs', g.cooldownSecs),
      maxConcurrent: v.nonNegativeInt('guardrails.max_concurrent', g.maxConcurrent),
      dedupWindowSecs:
        g.dedupWindowSecs === null || g.dedupWindowSecs === undefined ? null : v.nonNegativeInt('guardrails.dedup_window_secs', g.dedupWindowSecs),
    },
    notify: {
      channel: v.optName('notify.channel', n.channel),
      user: normaliseNotifyUser(v.optName('notify.user', n.user)),
      onAttention: bool('notify.on_attention', n.onAttention),
      onFailure: bool('notify.on_failure', n.onFailure),
      onSuccess: bool('notify.on_success', n.onSuccess),
    },
    lastRunAt: null,
    nextFireAt,
    runCount: 0,
    consecutiveFailures: 0,
    state: r.state,
    createdAt: v.timestamp('created_at', r.createdAt),
    updatedAt: v.timestamp('updated_at', r.updatedAt),
  };
}

function checkRun(r: RoutineRun): RoutineRun {
  if (!v.isPlainObject(r)) throw invalidArgument('run', 'is required');
  return {
    id: v.uuid('run.id', r.id),
    routineId: v.uuid('run.routine_id', r.routineId),
    triggerType: oneOf('run.trigger_type', r.triggerType, TRIGGER_KINDS),
    triggerDetail: v.optText('run.trigger_detail', r.triggerDetail, MAX_SHORT_TEXT_CHARS),
    startedAt: v.timestamp('run.started_at', r.startedAt),
    // Not written by createRoutineRun (reference behaviour): set by completeRoutineRun.
    completedAt: null,
    status: oneOf('run.status', r.status, RUN_STATUSES),
    resultSummary: null,
    tokensUsed: null,
    jobId: v.optUuid('run.job_id', r.jobId),
    createdAt: r.createdAt,
  };
}

export const routineChecks: ArgChecks<RoutineStore> = {
  createRoutine: (routine) => [checkRoutine(routine)],
  getRoutine: (id) => [v.uuid('id', id)],
  getRoutineByName: (userId, name) => [v.name('user_id', userId), v.name('name', name)],
  listRoutines: (userId) => [v.name('user_id', userId)],
  listAllRoutines: () => [],
  listEventRoutines: () => [],
  listDueCronRoutines: () => [],
  updateRoutine: (routine) => [checkRoutine(routine)],
  updateRoutineRuntime: (id, lastRunAt, nextFireAt, runCount, consecutiveFailures, state) => {
    v.json('state', state);
    return [
      v.uuid('id', id),
      v.timestamp('last_run_at', lastRunAt),
      nextFireAt === null || nextFireAt === undefined ? null : v.timestamp('next_fire_at', nextFireAt),
      v.nonNegativeInt('run_count', runCount, MAX_COUNT),
      v.nonNegativeInt('consecutive_failures', consecutiveFailures),
      state,
    ];
  },
  deleteRoutine: (id) => [v.uuid('id', id)],
  createRoutineRun: (run) => [checkRun(run)],
  completeRoutineRun: (id, status, resultSummary, tokensUsed) => [
    v.uuid('id', id),
    oneOf('status', status, RUN_STATUSES),
    v.optText('result_summary', resultSummary),
    tokensUsed === null || tokensUsed === undefined ? null : v.nonNegativeInt('tokens_used', tokensUsed, MAX_INT32),
  ],
  listRoutineRuns: (routineId, limit) => [v.uuid('routine_id', routineId), v.limit('limit', limit, MAX_LIST_LIMIT)],
  countRunningRoutineRuns: (routineId) => [v.uuid('routine_id', routineId)],
  countRunningRoutineRunsBatch: (routineIds) => {
    return [[...new Set(v.list('routine_ids', routineIds).map((id, i) => v.uuid(`routine_ids[${i}]`, id)))]];
  },
  linkRoutineRunToJob: (runId, jobId) => [v.uuid('run_id', runId), v.uuid('job_id', jobId)],
  listDispatchedRoutineRuns: () => [],
  claimDueCronRoutines: (owner, limit) => {
    return [v.name('owner', owner), v.limit('limit', limit, MAX_LIST_LIMIT)];
  },
};
