// SandboxStore: sandbox (container) jobs in the shared jobs table, their
// modes, and the job event log with its live stream (STORES.md §2.3). Sandbox
// statuses are the five the spec lists; anything else is refused. Id-keyed
// methods see sandbox jobs only.
import type { ArgChecks } from './checks.js';
import { invalidArgument } from './errors.js';
import { MAX_COUNT, MAX_LABEL_CHARS, MAX_SHORT_TEXT_CHARS } from './limits.js';
import type { JsonValue, Uuid } from './types.js';
import * as v from './validate.js';

export const SANDBOX_STATUSES = ['creating', 'running', 'completed', 'failed', 'interrupted'] as const;
export type SandboxStatus = (typeof SANDBOX_STATUSES)[number];
/** Statuses after which a sandbox job never changes again (its event stream ends). */
export const TERMINAL_SANDBOX_STATUSES: readonly string[] = ['completed', 'failed', 'interrupted'];

export interface SandboxJobRecord {
  id: Uuid;
  task: string;
  status: SandboxStatus;
  userId: string;
  projectDir: string;
  success: boolean | null;
  failureReason: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  /** JSON text of [{secret_name, env_var}]. */
  credentialGrantsJson: string;
}

export interface SandboxJobSummary {
  total: number;
  creating: number;
  running: number;
  completed: number;
  failed: number;
  interrupted: number;
}

export interface JobEventRecord {
  id: number;
  jobId: Uuid;
  eventType: string;
  data: JsonValue;
  createdAt: Date;
}

/** A live follower of one job's events; iterate it, and it ends on terminal state, abort or close. */
export type JobEventStream = AsyncIterable<JobEventRecord>;

export interface SandboxStore {
  saveSandboxJob(job: SandboxJobRecord): Promise<void>;
  getSandboxJob(id: Uuid): Promise<SandboxJobRecord | null>;
  listSandboxJobs(): Promise<SandboxJobRecord[]>;
  updateSandboxJobStatus(
    id: Uuid,
    status: SandboxStatus,
    success: boolean | null,
    message: string | null,
    startedAt: Date | null,
    completedAt: Date | null,
  ): Promise<void>;
  cleanupStaleSandboxJobs(): Promise<number>;
  sandboxJobSummary(): Promise<SandboxJobSummary>;
  listSandboxJobsForUser(userId: string): Promise<SandboxJobRecord[]>;
  sandboxJobSummaryForUser(userId: string): Promise<SandboxJobSummary>;
  sandboxJobBelongsToUser(jobId: Uuid, userId: string): Promise<boolean>;
  updateSandboxJobMode(id: Uuid, mode: string): Promise<void>;
  getSandboxJobMode(id: Uuid): Promise<string | null>;
  /** Returns the new event's id (the reference returns nothing). */
  saveJobEvent(jobId: Uuid, eventType: string, data: JsonValue): Promise<number>;
  listJobEvents(jobId: Uuid, limit?: number | null): Promise<JobEventRecord[]>;
  /**
   * Resolves once the job is known to exist (else NOT_FOUND) with a stream of
   * its events after `afterEventId`, stored ones first, then live ones.
   */
  streamJobEvents(jobId: Uuid, afterEventId: number, signal?: AbortSignal): Promise<JobEventStream>;
}

export function sandboxStatus(field: string, s: unknown): SandboxStatus {
  if (typeof s !== 'string' || !(SANDBOX_STATUSES as readonly string[]).includes(s)) {
    throw invalidArgument(field, `must be one of ${SANDBOX_STATUSES.join(', ')}`);
  }
  return s as SandboxStatus;
}

const optDate = (field: string, d: unknown) => (d === null || d === undefined ? null : v.timestamp(field, d));
const optBool = (field: string, b: unknown) => {
  if (b === null || b === undefined) return null;
  if (typeof b !== 'boolean') throw invalidArgument(field, 'must be a boolean');
  return b;
};

export const sandboxChecks: ArgChecks<SandboxStore> = {
  saveSandboxJob: (j) => {
    if (typeof j !== 'object' || j === null) throw invalidArgument('job', 'is required');
    return [
      {
        id: v.uuid('job.id', j.id),
        task: v.text('job.task', j.task),
        status: sandboxStatus('job.status', j.status),
        userId: v.name('job.user_id', j.userId),
        projectDir: v.text('job.project_dir', j.projectDir, MAX_LABEL_CHARS),
        success: optBool('job.success', j.success),
        failureReason: v.optText('job.failure_reason', j.failureReason, MAX_SHORT_TEXT_CHARS),
        createdAt: v.timestamp('job.created_at', j.createdAt),
        startedAt: optDate('job.started_at', j.startedAt),
        completedAt: optDate('job.completed_at', j.completedAt),
        credentialGrantsJson: v.jsonText('job.credential_grants_json', j.credentialGrantsJson),
      },
    ];
  },
  getSandboxJob: (id) => [v.uuid('id', id)],
  listSandboxJobs: () => [],
  updateSandboxJobStatus: (id, status, success, message, startedAt, completedAt) => [
    v.uuid('id', id),
    sandboxStatus('status', status),
    optBool('success', success),
    v.optText('message', message, MAX_SHORT_TEXT_CHARS),
    optDate('started_at', startedAt),
    optDate('completed_at', completedAt),
  ],
  cleanupStaleSandboxJobs: () => [],
  sandboxJobSummary: () => [],
  listSandboxJobsForUser: (userId) => [v.name('user_id', userId)],
  sandboxJobSummaryForUser: (userId) => [v.name('user_id', userId)],
  sandboxJobBelongsToUser: (jobId, userId) => [v.uuid('job_id', jobId), v.name('user_id', userId)],
  updateSandboxJobMode: (id, mode) => [v.uuid('id', id), v.name('mode', mode)],
  getSandboxJobMode: (id) => [v.uuid('id', id)],
  saveJobEvent: (jobId, eventType, data) => {
    v.json('data', data);
    return [v.uuid('job_id', jobId), v.name('event_type', eventType), data];
  },
  listJobEvents: (jobId, limit) => [v.uuid('job_id', jobId), limit === null || limit === undefined ? null : v.limit('limit', limit)],
  streamJobEvents: (jobId, afterEventId, signal) => [
    v.uuid('job_id', jobId),
    v.nonNegativeInt('after_event_id', afterEventId, MAX_COUNT),
    signal,
  ],
};
