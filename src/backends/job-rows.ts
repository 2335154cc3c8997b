// Row mapping shared by both backends' job and sandbox stores: states,
// transition history, summary buckets, terminal states.
import { StoreError } from '../store/errors.js';
import { JOB_STATES, TERMINAL_JOB_STATES, type AgentJobSummary, type JobState, type StateTransition } from '../store/jobs.js';
import { SANDBOX_STATUSES, TERMINAL_SANDBOX_STATUSES, type SandboxJobSummary, type SandboxStatus } from '../store/sandbox.js';
import type { JsonValue } from '../store/types.js';

export function readState(column: string, s: unknown): JobState {
  if (typeof s !== 'string' || !(JOB_STATES as readonly string[]).includes(s)) throw new StoreError('data_loss', `stored ${column} is not a job state`);
  return s as JobState;
}

export function readSandboxStatus(s: unknown): SandboxStatus {
  if (typeof s !== 'string' || !(SANDBOX_STATUSES as readonly string[]).includes(s)) throw new StoreError('data_loss', 'stored status is not a sandbox status');
  return s as SandboxStatus;
}

interface StoredTransition {
  from: string;
  to: string;
  timestamp: string;
  reason: string | null;
}

/** Transition history as stored: JSON with canonical millisecond timestamps. */
export const transitionsJson = (t: StateTransition[]): string =>
  JSON.stringify(t.map((x) => ({ from: x.from, to: x.to, timestamp: x.timestamp.toISOString(), reason: x.reason })));

export function readTransitions(v: JsonValue): StateTransition[] {
  if (!Array.isArray(v)) throw new StoreError('data_loss', 'stored transitions is not a list');
  return (v as unknown as StoredTransition[]).map((t) => {
    const timestamp = new Date(t.timestamp);
    if (Number.isNaN(timestamp.getTime())) throw new StoreError('data_loss', 'stored transitions.timestamp is not a timestamp');
    return { from: readState('transitions.from', t.from), to: readState('transitions.to', t.to), timestamp, reason: t.reason ?? null };
  });
}

export function readWarnings(v: JsonValue): string[] {
  if (!Array.isArray(v) || !v.every((w) => typeof w === 'string')) throw new StoreError('data_loss', 'stored sanitization_warnings is not a list of strings');
  return v as string[];
}

/** STORES.md §1.3 buckets; every row counts in total. */
export function agentSummary(rows: { status: string; n: number }[]): AgentJobSummary {
  const s: AgentJobSummary = { total: 0, pending: 0, inProgress: 0, completed: 0, failed: 0, stuck: 0 };
  for (const { status, n } of rows) {
    s.total += n;
    if (status === 'pending') s.pending += n;
    else if (status === 'in_progress') s.inProgress += n;
    else if (status === 'completed' || status === 'submitted' || status === 'accepted') s.completed += n;
    else if (status === 'failed' || status === 'cancelled') s.failed += n;
    else if (status === 'stuck') s.stuck += n;
  }
  return s;
}

/** STORES.md §1.4 buckets; every row counts in total. */
export function sandboxSummary(rows: { status: string; n: number }[]): SandboxJobSummary {
  const s: SandboxJobSummary = { total: 0, creating: 0, running: 0, completed: 0, failed: 0, interrupted: 0 };
  for (const { status, n } of rows) {
    s.total += n;
    if ((SANDBOX_STATUSES as readonly string[]).includes(status)) s[status as SandboxStatus] += n;
  }
  return s;
}

/** Whether a job row's status is final for its kind. */
export const isTerminal = (source: string, status: string): boolean =>
  source === 'sandbox' ? TERMINAL_SANDBOX_STATUSES.includes(status) : TERMINAL_JOB_STATES.includes(status);

/**
 * Event stream buffering (README "Live job events"): per follower at most 256
 * events or 4 MiB of payload queued; table reads of 100 events at a time.
 */
export const HUB_OPTIONS = { bufferSize: 256, bufferBytes: 4 * 1024 * 1024, batchSize: 100 };
