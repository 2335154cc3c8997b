// RoutineStore over gRPC: decode → store → encode. Triggers and actions are
// typed oneofs on the wire and tagged unions in the store; absent optional
// fields take the documented defaults here, and the store validates.
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  RoutineStore,
  RunStatus as WireRunStatus,
  type Routine as WireRoutine,
  type RoutineAction as WireAction,
  type RoutineRun as WireRun,
  type RoutineSchema,
  type RoutineRunSchema,
  type Trigger as WireTrigger,
} from '../../gen/agentstore/v1/routines_pb.js';
import { now } from '../../store/clock.js';
import { invalidArgument } from '../../store/errors.js';
import {
  ACTION_DEFAULTS,
  GUARDRAIL_DEFAULTS,
  NOTIFY_DEFAULTS,
  type Routine,
  type RoutineAction,
  type RoutineRun,
  type RunStatus,
  type Trigger,
} from '../../store/routines.js';
import type { ServiceImpl } from '../bridge.js';
import type { StoresFor } from '../stores.js';
import { dateFromTimestamp, int, jsonFromValue, optDate, optTs, requiredDate, ts, valueFromJson } from '../convert.js';

const STATUS_TO_WIRE: Record<RunStatus, WireRunStatus> = {
  running: WireRunStatus.RUNNING,
  ok: WireRunStatus.OK,
  attention: WireRunStatus.ATTENTION,
  failed: WireRunStatus.FAILED,
};

function statusFromWire(field: string, s: WireRunStatus): RunStatus {
  for (const [k, v] of Object.entries(STATUS_TO_WIRE)) if (v === s) return k as RunStatus;
  throw invalidArgument(field, 'must be one of RUN_STATUS_RUNNING, RUN_STATUS_OK, RUN_STATUS_ATTENTION, RUN_STATUS_FAILED');
}

function triggerFromWire(t: WireTrigger | undefined): Trigger {
  if (!t) throw invalidArgument('trigger', 'is required');
  const k = t.kind;
  switch (k.case) {
    case 'cron':
      return { kind: 'cron', schedule: k.value.schedule, timezone: k.value.timezone ?? null };
    case 'event':
      return { kind: 'event', pattern: k.value.pattern, channel: k.value.channel ?? null };
    case 'systemEvent':
      return { kind: 'system_event', source: k.value.source, eventType: k.value.eventType, filters: { ...k.value.filters } };
    case 'manual':
      return { kind: 'manual' };
    default:
      throw invalidArgument('trigger.kind', 'must be one of cron, event, system_event, manual (none set)');
  }
}

function triggerToWire(t: Trigger): MessageInitShape<typeof RoutineSchema>['trigger'] {
  switch (t.kind) {
    case 'cron':
      return { kind: { case: 'cron', value: { schedule: t.schedule, timezone: t.timezone ?? undefined } } };
    case 'event':
      return { kind: { case: 'event', value: { pattern: t.pattern, channel: t.channel ?? undefined } } };
    case 'system_event':
      return { kind: { case: 'systemEvent', value: { source: t.source, eventType: t.eventType, filters: t.filters } } };
    case 'manual':
      return { kind: { case: 'manual', value: {} } };
  }
}

function actionFromWire(a: WireAction | undefined): RoutineAction {
  if (!a) throw invalidArgument('action', 'is required');
  const k = a.kind;
  switch (k.case) {
    case 'lightweight':
      return {
        kind: 'lightweight',
        prompt: k.value.prompt,
        contextPaths: [...k.value.contextPaths],
        maxTokens: k.value.maxTokens ?? ACTION_DEFAULTS.maxTokens,
        useTools: k.value.useTools ?? ACTION_DEFAULTS.useTools,
        maxToolRounds: k.value.maxToolRounds ?? ACTION_DEFAULTS.maxToolRounds,
      };
    case 'fullJob':
      return {
        kind: 'full_job',
        title: k.value.title,
        description: k.value.description,
        maxIterations: k.value.maxIterations ?? ACTION_DEFAULTS.maxIterations,
        toolPermissions: [...k.value.toolPermissions],
      };
    default:
      throw invalidArgument('action.kind', 'must be one of lightweight, full_job (none set)');
  }
}

function actionToWire(a: RoutineAction): MessageInitShape<typeof RoutineSchema>['action'] {
  return a.kind === 'lightweight'
    ? {
        kind: {
          case: 'lightweight',
          value: { prompt: a.prompt, contextPaths: a.contextPaths, maxTokens: a.maxTokens, useTools: a.useTools, maxToolRounds: a.maxToolRounds },
        },
      }
    : {
        kind: {
          case: 'fullJob',
          value: { title: a.title, description: a.description, maxIterations: a.maxIterations, toolPermissions: a.toolPermissions },
        },
      };
}

function routineFromWire(r: WireRoutine | undefined): Routine {
  if (!r) throw invalidArgument('routine', 'is required');
  const g = r.guardrails;
  const n = r.notify;
  const createdAt = r.createdAt ? dateFromTimestamp('created_at', r.createdAt) : now();
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    userId: r.userId,
    enabled: r.enabled ?? true,
    trigger: triggerFromWire(r.trigger),
    action: actionFromWire(r.action),
    guardrails: {
      cooldownSecs: g?.cooldownSecs ?? GUARDRAIL_DEFAULTS.cooldownSecs,
      maxConcurrent: g?.maxConcurrent ?? GUARDRAIL_DEFAULTS.maxConcurrent,
      dedupWindowSecs: g?.dedupWindowSecs ?? GUARDRAIL_DEFAULTS.dedupWindowSecs,
    },
    notify: {
      channel: n?.channel ?? NOTIFY_DEFAULTS.channel,
      user: n?.user ?? NOTIFY_DEFAULTS.user,
      onAttention: n?.onAttention ?? NOTIFY_DEFAULTS.onAttention,
      onFailure: n?.onFailure ?? NOTIFY_DEFAULTS.onFailure,
      onSuccess: n?.onSuccess ?? NOTIFY_DEFAULTS.onSuccess,
    },
    lastRunAt: null,
    nextFireAt: optDate('next_fire_at', r.nextFireAt),
    runCount: 0,
    consecutiveFailures: 0,
    state: r.state ? jsonFromValue('state', r.state) : {},
    createdAt,
    updatedAt: r.updatedAt ? dateFromTimestamp('updated_at', r.updatedAt) : createdAt,
  };
}

export function routineToWire(r: Routine): MessageInitShape<typeof RoutineSchema> {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    userId: r.userId,
    enabled: r.enabled,
    trigger: triggerToWire(r.trigger),
    action: actionToWire(r.action),
    guardrails: {
      cooldownSecs: r.guardrails.cooldownSecs,
      maxConcurrent: r.guardrails.maxConcurrent,
      dedupWindowSecs: r.guardrails.dedupWindowSecs ?? undefined,
    },
    notify: {
      channel: r.notify.channel ?? undefined,
      user: r.notify.user ?? undefined,
      onAttention: r.notify.onAttention,
      onFailure: r.notify.onFailure,
      onSuccess: r.notify.onSuccess,
    },
    lastRunAt: optTs(r.lastRunAt),
    nextFireAt: optTs(r.nextFireAt),
    runCount: BigInt(r.runCount),
    consecutiveFailures: BigInt(r.consecutiveFailures),
    state: valueFromJson(r.state),
    createdAt: ts(r.createdAt),
    updatedAt: ts(r.updatedAt),
  };
}

function runFromWire(r: WireRun | undefined): RoutineRun {
  if (!r) throw invalidArgument('run', 'is required');
  return {
    id: r.id,
    routineId: r.routineId,
    triggerType: r.triggerType as RoutineRun['triggerType'],
    triggerDetail: r.triggerDetail ?? null,
    startedAt: r.startedAt ? dateFromTimestamp('run.started_at', r.startedAt) : now(),
    completedAt: null,
    status: statusFromWire('run.status', r.status),
    resultSummary: null,
    tokensUsed: null,
    jobId: r.jobId ?? null,
    createdAt: now(),
  };
}

const runToWire = (r: RoutineRun): MessageInitShape<typeof RoutineRunSchema> => ({
  id: r.id,
  routineId: r.routineId,
  triggerType: r.triggerType,
  triggerDetail: r.triggerDetail ?? undefined,
  startedAt: ts(r.startedAt),
  completedAt: optTs(r.completedAt),
  status: STATUS_TO_WIRE[r.status],
  resultSummary: r.resultSummary ?? undefined,
  tokensUsed: r.tokensUsed ?? undefined,
  jobId: r.jobId ?? undefined,
  createdAt: ts(r.createdAt),
});

const optRoutine = (r: Routine | null) => ({ routine: r ? routineToWire(r) : undefined });

export const routineService = (stores: StoresFor): ServiceImpl<typeof RoutineStore.method> => {
  return {
    createRoutine: async (r, ctx) => ({ routine: routineToWire(await stores(ctx).createRoutine(routineFromWire(r.routine))) }),
    getRoutine: async (r, ctx) => optRoutine(await stores(ctx).getRoutine(r.id)),
    getRoutineByName: async (r, ctx) => optRoutine(await stores(ctx).getRoutineByName(r.userId, r.name)),
    listRoutines: async (r, ctx) => ({ routines: (await stores(ctx).listRoutines(r.userId)).map(routineToWire) }),
    listAllRoutines: async (_r, ctx) => ({ routines: (await stores(ctx).listAllRoutines()).map(routineToWire) }),
    listEventRoutines: async (_r, ctx) => ({ routines: (await stores(ctx).listEventRoutines()).map(routineToWire) }),
    listDueCronRoutines: async (_r, ctx) => ({ routines: (await stores(ctx).listDueCronRoutines()).map(routineToWire) }),
    updateRoutine: async (r, ctx) => optRoutine(await stores(ctx).updateRoutine(routineFromWire(r.routine))),
    updateRoutineRuntime: async (r, ctx) => {
      await stores(ctx).updateRoutineRuntime(
        r.id,
        requiredDate('last_run_at', r.lastRunAt),
        optDate('next_fire_at', r.nextFireAt),
        int('run_count', r.runCount),
        int('consecutive_failures', r.consecutiveFailures),
        r.state ? jsonFromValue('state', r.state) : null,
      );
      return {};
    },
    deleteRoutine: async (r, ctx) => ({ deleted: await stores(ctx).deleteRoutine(r.id) }),
    createRoutineRun: async (r, ctx) => {
      await stores(ctx).createRoutineRun(runFromWire(r.run));
      return {};
    },
    completeRoutineRun: async (r, ctx) => {
      await stores(ctx).completeRoutineRun(r.id, statusFromWire('status', r.status), r.resultSummary ?? null, r.tokensUsed ?? null);
      return {};
    },
    listRoutineRuns: async (r, ctx) => ({ runs: (await stores(ctx).listRoutineRuns(r.routineId, int('limit', r.limit))).map(runToWire) }),
    countRunningRoutineRuns: async (r, ctx) => ({ count: BigInt(await stores(ctx).countRunningRoutineRuns(r.routineId)) }),
    countRunningRoutineRunsBatch: async (r, ctx) => {
      const m = await stores(ctx).countRunningRoutineRunsBatch(r.routineIds);
      return { counts: Object.fromEntries([...m].map(([id, n]) => [id, BigInt(n)])) };
    },
    linkRoutineRunToJob: async (r, ctx) => {
      await stores(ctx).linkRoutineRunToJob(r.runId, r.jobId);
      return {};
    },
    listDispatchedRoutineRuns: async (_r, ctx) => ({ runs: (await stores(ctx).listDispatchedRoutineRuns()).map(runToWire) }),
    claimDueCronRoutines: async (r, ctx) => ({
      claims: (await stores(ctx).claimDueCronRoutines(r.owner, int('limit', r.limit))).map((c) => ({ routine: routineToWire(c.routine), fireAt: ts(c.fireAt) })),
    }),
  };
};
