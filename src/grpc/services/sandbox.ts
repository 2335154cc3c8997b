// SandboxStore over gRPC: decode → store → encode; StreamJobEvents relays
// the store's live follower, one message per event, with back-pressure.
import { SandboxStore, SandboxJobStatus as WireStatus, type SandboxJobRecord as WireJob } from '../../gen/agentstore/v1/sandbox_pb.js';
import { invalidArgument, StoreError } from '../../store/errors.js';
import { SANDBOX_STATUSES, type JobEventRecord, type SandboxJobRecord, type SandboxJobSummary, type SandboxStatus } from '../../store/sandbox.js';
import type { ServiceImpl } from '../bridge.js';
import type { StoresFor } from '../stores.js';
import { int, jsonFromValue, optDate, optTs, requiredDate, ts, valueFromJson } from '../convert.js';

export function statusFromWire(field: string, s: WireStatus): SandboxStatus {
  const status = SANDBOX_STATUSES[s - 1];
  if (s < 1 || status === undefined) {
    throw invalidArgument(field, `must be one of ${SANDBOX_STATUSES.map((x) => `SANDBOX_JOB_STATUS_${x.toUpperCase()}`).join(', ')} (got ${s})`);
  }
  return status;
}

const statusToWire = (s: SandboxStatus): WireStatus => (SANDBOX_STATUSES.indexOf(s) + 1) as WireStatus;

function jobFromWire(j: WireJob | undefined): SandboxJobRecord {
  if (!j) throw invalidArgument('job', 'is required');
  return {
    id: j.id,
    task: j.task,
    status: statusFromWire('job.status', j.status),
    userId: j.userId,
    projectDir: j.projectDir,
    success: j.success ?? null,
    failureReason: j.failureReason ?? null,
    createdAt: requiredDate('job.created_at', j.createdAt),
    startedAt: optDate('job.started_at', j.startedAt),
    completedAt: optDate('job.completed_at', j.completedAt),
    credentialGrantsJson: j.credentialGrantsJson === '' ? '[]' : j.credentialGrantsJson,
  };
}

const jobToWire = (j: SandboxJobRecord) => ({
  id: j.id,
  task: j.task,
  status: statusToWire(j.status),
  userId: j.userId,
  projectDir: j.projectDir,
  success: j.success ?? undefined,
  failureReason: j.failureReason ?? undefined,
  createdAt: ts(j.createdAt),
  startedAt: optTs(j.startedAt),
  completedAt: optTs(j.completedAt),
  credentialGrantsJson: j.credentialGrantsJson,
});

const summaryToWire = (s: SandboxJobSummary) => ({
  total: BigInt(s.total),
  creating: BigInt(s.creating),
  running: BigInt(s.running),
  completed: BigInt(s.completed),
  failed: BigInt(s.failed),
  interrupted: BigInt(s.interrupted),
});

export const eventToWire = (e: JobEventRecord) => ({
  id: BigInt(e.id),
  jobId: e.jobId,
  eventType: e.eventType,
  data: valueFromJson(e.data),
  createdAt: ts(e.createdAt),
});

/** `shutdown` aborts when the daemon stops: open event streams then end with UNAVAILABLE. */
export const sandboxService = (stores: StoresFor, shutdown?: AbortSignal): ServiceImpl<typeof SandboxStore.method> => {
  return {
    saveSandboxJob: async (r, ctx) => {
      await stores(ctx).saveSandboxJob(jobFromWire(r.job));
      return {};
    },
    getSandboxJob: async (r, ctx) => {
      const j = await stores(ctx).getSandboxJob(r.id);
      return { job: j ? jobToWire(j) : undefined };
    },
    listSandboxJobs: async (_r, ctx) => ({ jobs: (await stores(ctx).listSandboxJobs()).map(jobToWire) }),
    updateSandboxJobStatus: async (r, ctx) => {
      await stores(ctx).updateSandboxJobStatus(
        r.id,
        statusFromWire('status', r.status),
        r.success ?? null,
        r.message ?? null,
        optDate('started_at', r.startedAt),
        optDate('completed_at', r.completedAt),
      );
      return {};
    },
    cleanupStaleSandboxJobs: async (_r, ctx) => ({ count: BigInt(await stores(ctx).cleanupStaleSandboxJobs()) }),
    sandboxJobSummary: async (_r, ctx) => ({ summary: summaryToWire(await stores(ctx).sandboxJobSummary()) }),
    listSandboxJobsForUser: async (r, ctx) => ({ jobs: (await stores(ctx).listSandboxJobsForUser(r.userId)).map(jobToWire) }),
    sandboxJobSummaryForUser: async (r, ctx) => ({ summary: summaryToWire(await stores(ctx).sandboxJobSummaryForUser(r.userId)) }),
    sandboxJobBelongsToUser: async (r, ctx) => ({ belongs: await stores(ctx).sandboxJobBelongsToUser(r.jobId, r.userId) }),
    updateSandboxJobMode: async (r, ctx) => {
      await stores(ctx).updateSandboxJobMode(r.id, r.mode);
      return {};
    },
    getSandboxJobMode: async (r, ctx) => ({ mode: (await stores(ctx).getSandboxJobMode(r.id)) ?? undefined }),
    saveJobEvent: async (r, ctx) => ({ id: BigInt(await stores(ctx).saveJobEvent(r.jobId, r.eventType, jsonFromValue('data', r.data))) }),
    listJobEvents: async (r, ctx) => ({
      events: (await stores(ctx).listJobEvents(r.jobId, r.limit === undefined ? null : int('limit', r.limit))).map(eventToWire),
    }),
    streamJobEvents: async (r, send, ctx) => {
      const signal = shutdown ? AbortSignal.any([ctx.signal, shutdown]) : ctx.signal;
      const stream = await stores(ctx).streamJobEvents(r.jobId, int('after_event_id', r.afterEventId), signal);
      for await (const e of stream) await send({ event: eventToWire(e) });
      if (shutdown?.aborted) throw new StoreError('unavailable', 'daemon is shutting down: resume with after_event_id = the last id received');
      // Cancelled or past its deadline: end with that status, not OK.
      if (ctx.signal.aborted) throw ctx.signal.reason;
    },
  };
};
