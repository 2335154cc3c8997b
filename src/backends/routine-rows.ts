// Routine rows ⇄ domain, shared by both backends so they store and read the
// same JSON shapes (STORES.md §1.5, §1.9): the kind in its own column, the
// variant's fields in a config object with every key present. Reading
// applies the reference's read rules (defaults, clamping, zone dropped when
// unknown, filter numbers as text); a row that still cannot be read is
// DATA_LOSS naming the column, never a silent substitute.
import * as cron from '../store/cron.js';
import { StoreError } from '../store/errors.js';
import {
  ACTION_DEFAULTS,
  MAX_TOOL_ROUNDS,
  MIN_TOOL_ROUNDS,
  RUN_STATUSES,
  TRIGGER_KINDS,
  normaliseNotifyUser,
  type RoutineAction,
  type RunStatus,
  type Trigger,
  type TriggerKind,
} from '../store/routines.js';
import type { JsonObject, JsonValue } from '../store/types.js';

export function triggerConfig(t: Trigger): JsonObject {
  switch (t.kind) {
    case 'cron':
      return { schedule: t.schedule, timezone: t.timezone };
    case 'event':
      return { pattern: t.pattern, channel: t.channel };
    case 'system_event':
      return { source: t.source, event_type: t.eventType, filters: t.filters };
    case 'manual':
      return {};
  }
}

export function actionConfig(a: RoutineAction): JsonObject {
  return a.kind === 'lightweight'
    ? { prompt: a.prompt, context_paths: a.contextPaths, max_tokens: a.maxTokens, use_tools: a.useTools, max_tool_rounds: a.maxToolRounds }
    : { title: a.title, description: a.description, max_iterations: a.maxIterations, tool_permissions: a.toolPermissions };
}

const loss = (column: string, why: string) => new StoreError('data_loss', `stored ${column} ${why}`);

function obj(column: string, v: JsonValue): JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw loss(column, 'is not a JSON object');
  return v;
}

function reqString(column: string, c: JsonObject, key: string): string {
  const x = c[key];
  if (typeof x !== 'string') throw loss(column, `lacks the string "${key}"`);
  return x;
}

const optString = (c: JsonObject, key: string): string | null => (typeof c[key] === 'string' ? (c[key] as string) : null);

function uint(c: JsonObject, key: string, fallback: number): number {
  const x = c[key];
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : fallback;
}

const strings = (x: JsonValue | undefined): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);

export function readTrigger(type: string, config: JsonValue): Trigger {
  const c = obj('trigger_config', config);
  switch (type) {
    case 'cron':
      return { kind: 'cron', schedule: reqString('trigger_config', c, 'schedule'), timezone: cron.knownTimezoneOrNull(c.timezone) };
    case 'event':
      return { kind: 'event', pattern: reqString('trigger_config', c, 'pattern'), channel: optString(c, 'channel') };
    case 'system_event': {
      const filters: Record<string, string> = {};
      const f = c.filters;
      if (f !== null && typeof f === 'object' && !Array.isArray(f)) {
        for (const [k, x] of Object.entries(f)) {
          if (typeof x === 'string') filters[k] = x;
          else if (typeof x === 'number' || typeof x === 'boolean') filters[k] = String(x);
        }
      }
      return { kind: 'system_event', source: reqString('trigger_config', c, 'source'), eventType: reqString('trigger_config', c, 'event_type'), filters };
    }
    case 'manual':
      return { kind: 'manual' };
    default:
      throw loss('trigger_type', `"${type.slice(0, 64)}" is not a known trigger kind`);
  }
}

export function readAction(type: string, config: JsonValue): RoutineAction {
  const c = obj('action_config', config);
  switch (type) {
    case 'lightweight':
      return {
        kind: 'lightweight',
        prompt: reqString('action_config', c, 'prompt'),
        contextPaths: strings(c.context_paths),
        maxTokens: uint(c, 'max_tokens', ACTION_DEFAULTS.maxTokens),
        useTools: typeof c.use_tools === 'boolean' ? c.use_tools : ACTION_DEFAULTS.useTools,
        maxToolRounds: Math.min(MAX_TOOL_ROUNDS, Math.max(MIN_TOOL_ROUNDS, uint(c, 'max_tool_rounds', ACTION_DEFAULTS.maxToolRounds))),
      };
    case 'full_job':
      return {
        kind: 'full_job',
        title: reqString('action_config', c, 'title'),
        description: reqString('action_config', c, 'description'),
        maxIterations: uint(c, 'max_iterations', ACTION_DEFAULTS.maxIterations),
        toolPermissions: strings(c.tool_permissions),
      };
    default:
      throw loss('action_type', `"${type.slice(0, 64)}" is not a known action kind`);
  }
}

export function readRunStatus(s: string): RunStatus {
  if (!(RUN_STATUSES as readonly string[]).includes(s)) throw loss('routine_runs.status', `"${s.slice(0, 64)}" is not a known run status`);
  return s as RunStatus;
}

export function readRunTriggerType(s: string): TriggerKind {
  if (!(TRIGGER_KINDS as readonly string[]).includes(s)) throw loss('routine_runs.trigger_type', `"${s.slice(0, 64)}" is not a known trigger kind`);
  return s as TriggerKind;
}

export { normaliseNotifyUser };

/** A run's routine that does not exist (or is not the caller's). */
export const routineMissing = (routineId: string): StoreError =>
  new StoreError('failed_precondition', `run.routine_id: routine ${routineId} does not exist`);

/** Turns a unique failure on (user_id, name) or id into a message that says which. */
export function routineConflict(e: unknown): never {
  if (e instanceof StoreError && e.kind === 'already_exists') {
    throw new StoreError('already_exists', 'routine: a routine with this id, or with this name for this user, already exists', { cause: e });
  }
  throw e;
}

export function runConflict(e: unknown): never {
  if (e instanceof StoreError && e.kind === 'already_exists') {
    throw new StoreError('already_exists', 'run.id: a routine run with this id already exists', { cause: e });
  }
  throw e;
}

/**
 * For one claim at instant `after`: the next fire time of a claimed cron
 * routine (null when it never fires again). Routines sharing a schedule and
 * zone share the computation, which dominates the cost of a claim.
 */
export function nextAfterClaim(after: Date): (trigger: Trigger) => Date | null {
  const memo = new Map<string, Date | null>();
  return (trigger) => {
    if (trigger.kind !== 'cron') return null;
    const key = `${trigger.timezone ?? ''}\u0000${trigger.schedule}`;
    let next = memo.get(key);
    if (next === undefined) {
      next = cron.nextFireTime(trigger.schedule, trigger.timezone, after);
      memo.set(key, next);
    }
    return next;
  };
}
