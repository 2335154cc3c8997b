// SandboxStore on PostgreSQL. Twin: src/backends/libsql/sandbox.ts.
// Live events: an event insert locks its job's row first (so one job's
// events commit in id order) and NOTIFYs in the same statement; every daemon
// on the database hears it on its one LISTEN connection and wakes its hub.
import { now } from '../../store/clock.js';
import type { JobEventRecord, SandboxJobRecord, SandboxStore } from '../../store/sandbox.js';
import type { JsonValue } from '../../store/types.js';
import { JobEventHub } from '../job-event-hub.js';
import { idTaken, jobMissing } from '../job-errors.js';
import { HUB_OPTIONS, isTerminal, readSandboxStatus, sandboxSummary } from '../job-rows.js';
import { JOB_EVENTS_CHANNEL, PgListener } from './listener.js';
import { PgPool, sql } from './pool.js';

const notifyStatus = (from: string) => `SELECT pg_notify('${JOB_EVENTS_CHANNEL}', 's:' || id::text) AS n FROM ${from}`;

const SAVE = sql(`WITH s AS (
  INSERT INTO agent_jobs (id, title, description, status, source, user_id, project_dir, success, failure_reason,
    created_at, started_at, completed_at)
  VALUES ($1, $2, $3, $4, 'sandbox', $5, $6, $7, $8, $9, $10, $11)
  ON CONFLICT (id) DO UPDATE SET
    status = EXCLUDED.status, success = EXCLUDED.success, failure_reason = EXCLUDED.failure_reason,
    started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at
  WHERE agent_jobs.source = 'sandbox' AND agent_jobs.user_id = COALESCE($12, agent_jobs.user_id)
  RETURNING id
) ${notifyStatus('s')}`);

const COLUMNS = 'id, title, status, user_id, project_dir, success, failure_reason, created_at, started_at, completed_at, description';
const ORDER = 'ORDER BY created_at DESC, seq DESC';
// The owner parameter: only jobs of that user pass (every job when it is null).
const GET = sql(`SELECT ${COLUMNS} FROM agent_jobs WHERE id = $1 AND source = 'sandbox' AND user_id = COALESCE($2, user_id)`);
const LIST = sql(`SELECT ${COLUMNS} FROM agent_jobs WHERE source = 'sandbox' ${ORDER}`);
const LIST_FOR_USER = sql(`SELECT ${COLUMNS} FROM agent_jobs WHERE source = 'sandbox' AND user_id = $1 ${ORDER}`);
const UPDATE_STATUS = sql(`WITH u AS (
  UPDATE agent_jobs SET status = $2, success = COALESCE($3, success), failure_reason = COALESCE($4, failure_reason),
    started_at = COALESCE($5, started_at), completed_at = COALESCE($6, completed_at)
  WHERE id = $1 AND source = 'sandbox' AND user_id = COALESCE($7, user_id) RETURNING id
) ${notifyStatus('u')}`);
const CLEANUP = sql(`WITH u AS (
  UPDATE agent_jobs SET status = 'interrupted', failure_reason = 'Process restarted', completed_at = $1
  WHERE source = 'sandbox' AND status IN ('running', 'creating') RETURNING id
) ${notifyStatus('u')}`);
const SUMMARY = sql("SELECT status, count(*) AS n FROM agent_jobs WHERE source = 'sandbox' GROUP BY status");
const SUMMARY_FOR_USER = sql("SELECT status, count(*) AS n FROM agent_jobs WHERE source = 'sandbox' AND user_id = $1 GROUP BY status");
const BELONGS = sql("SELECT 1 AS x FROM agent_jobs WHERE id = $1 AND user_id = $2 AND source = 'sandbox'");
const SET_MODE = sql("UPDATE agent_jobs SET job_mode = $2 WHERE id = $1 AND source = 'sandbox' AND user_id = COALESCE($3, user_id)");
const GET_MODE = sql("SELECT job_mode AS m FROM agent_jobs WHERE id = $1 AND source = 'sandbox' AND user_id = COALESCE($2, user_id)");
// Lock the job row (not its key: foreign-key checks of other inserts go on),
// then take the next id, insert and notify; the lock is held to commit.
const SAVE_EVENT = sql(`WITH j AS (SELECT id FROM agent_jobs WHERE id = $1 AND user_id = COALESCE($5, user_id) FOR NO KEY UPDATE),
  e AS (INSERT INTO job_events (job_id, event_type, data, created_at) SELECT j.id, $2::text, $3::jsonb, $4::timestamptz FROM j RETURNING id, job_id)
  SELECT e.id, pg_notify('${JOB_EVENTS_CHANNEL}', 'e:' || e.job_id::text) AS n FROM e`);
const EVENT_COLUMNS = `SELECT id, job_id, event_type, data, created_at FROM job_events WHERE job_id = $1
  AND EXISTS (SELECT 1 FROM agent_jobs j WHERE j.id = $1 AND j.user_id = COALESCE($2, j.user_id))`;
const EVENTS_ALL = sql(`${EVENT_COLUMNS} ORDER BY id`);
const EVENTS_LAST = sql(`SELECT * FROM (${EVENT_COLUMNS} ORDER BY id DESC LIMIT $3) t ORDER BY id`);
// As text, so followers know each payload's size without serialising it again.
const EVENTS_AFTER = sql('SELECT id, job_id, event_type, data::text AS data, created_at FROM job_events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3');
const MAX_EVENT = sql('SELECT max(id) AS m FROM job_events WHERE job_id = $1');
const JOB_STATE = sql('SELECT source, status FROM agent_jobs WHERE id = $1 AND user_id = COALESCE($2, user_id)');

interface Row {
  id: string;
  title: string;
  status: string;
  user_id: string;
  project_dir: string | null;
  success: boolean | null;
  failure_reason: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  description: string;
}

const toRecord = (r: Row): SandboxJobRecord => ({
  id: r.id,
  task: r.title,
  status: readSandboxStatus(r.status),
  userId: r.user_id,
  projectDir: r.project_dir ?? '',
  success: r.success,
  failureReason: r.failure_reason,
  createdAt: r.created_at,
  startedAt: r.started_at,
  completedAt: r.completed_at,
  credentialGrantsJson: r.description,
});

interface EventRow {
  id: number;
  job_id: string;
  event_type: string;
  data: JsonValue;
  created_at: Date;
}

const toEvent = (r: EventRow): JobEventRecord => ({ id: r.id, jobId: r.job_id, eventType: r.event_type, data: r.data, createdAt: r.created_at });

/**
 * The hub, its LISTEN connection and its own two-connection read pool (so
 * follower reads never queue behind a burst of writes in the main pool);
 * `close` stops all three.
 */
export function pgJobEventHub(url: string, acquireTimeoutMs: number, onError?: (e: Error) => void): { hub: JobEventHub; close: () => Promise<void> } {
  const pool = new PgPool({ url, size: 2, acquireTimeoutMs, onError });
  let hub: JobEventHub | undefined;
  const listener = new PgListener(
    url,
    (payload) => {
      // "e:<job id>" (an event) or "s:<job id>" (a state change).
      const kind = payload.startsWith('s:') ? 'status' : 'event';
      hub?.wake(payload.slice(2), kind);
    },
    () => hub?.wakeAll(),
    onError,
  );
  hub = new JobEventHub(
    {
      readAfter: async (jobId, afterId, limit) =>
        (await pool.rows<EventRow & { data: string }>(EVENTS_AFTER, [jobId, afterId, limit])).map((r) => ({
          event: toEvent({ ...r, data: JSON.parse(r.data) as JsonValue }),
          bytes: r.data.length,
        })),
      maxEventId: async (jobId) => (await pool.one<{ m: number | null }>(MAX_EVENT, [jobId]))?.m ?? 0,
      jobTerminal: async (jobId, owner) => {
        const r = await pool.one<{ source: string; status: string }>(JOB_STATE, [jobId, owner ?? null]);
        return r ? isTerminal(r.source, r.status) : undefined;
      },
    },
    { ...HUB_OPTIONS, ready: () => listener.ensure() },
  );
  const h = hub;
  return {
    hub: h,
    close: async () => {
      h.close();
      await listener.close();
      await pool.close();
    },
  };
}

/** `owner`: id-keyed methods see only that user's jobs (null: everyone's). */
export function pgSandbox(pool: PgPool, hub: JobEventHub, owner: string | null): SandboxStore {
  return {
    async saveSandboxJob(j) {
      const rows = await pool.rows(SAVE, [
        j.id,
        j.task,
        j.credentialGrantsJson,
        j.status,
        j.userId,
        j.projectDir,
        j.success,
        j.failureReason,
        j.createdAt.toISOString(),
        j.startedAt ? j.startedAt.toISOString() : null,
        j.completedAt ? j.completedAt.toISOString() : null,
        owner,
      ]);
      if (rows.length === 0) throw idTaken('job.id', j.id);
    },

    async getSandboxJob(id) {
      const r = await pool.one<Row>(GET, [id, owner]);
      return r ? toRecord(r) : null;
    },

    listSandboxJobs: async () => (await pool.rows<Row>(LIST)).map(toRecord),

    async updateSandboxJobStatus(id, status, success, message, startedAt, completedAt) {
      await pool.rows(UPDATE_STATUS, [id, status, success, message, startedAt ? startedAt.toISOString() : null, completedAt ? completedAt.toISOString() : null, owner]);
    },

    cleanupStaleSandboxJobs: async () => (await pool.rows(CLEANUP, [now().toISOString()])).length,

    sandboxJobSummary: async () => sandboxSummary(await pool.rows<{ status: string; n: number }>(SUMMARY)),
    listSandboxJobsForUser: async (userId) => (await pool.rows<Row>(LIST_FOR_USER, [userId])).map(toRecord),
    sandboxJobSummaryForUser: async (userId) => sandboxSummary(await pool.rows<{ status: string; n: number }>(SUMMARY_FOR_USER, [userId])),
    sandboxJobBelongsToUser: async (jobId, userId) => (await pool.one(BELONGS, [jobId, userId])) !== undefined,

    async updateSandboxJobMode(id, mode) {
      await pool.exec(SET_MODE, [id, mode, owner]);
    },

    getSandboxJobMode: async (id) => (await pool.one<{ m: string }>(GET_MODE, [id, owner]))?.m ?? null,

    async saveJobEvent(jobId, eventType, data) {
      const r = await pool.one<{ id: number }>(SAVE_EVENT, [jobId, eventType, JSON.stringify(data), now().toISOString(), owner]);
      if (!r) throw jobMissing('job_id', jobId);
      return r.id;
    },

    async listJobEvents(jobId, limit) {
      const rows =
        limit === null || limit === undefined ? await pool.rows<EventRow>(EVENTS_ALL, [jobId, owner]) : await pool.rows<EventRow>(EVENTS_LAST, [jobId, owner, limit]);
      return rows.map(toEvent);
    },

    streamJobEvents: (jobId, afterEventId, signal) => hub.follow(jobId, afterEventId, signal, owner),
  };
}
