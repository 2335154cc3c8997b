// SandboxStore on libSQL. Twin: src/backends/postgres/sandbox.ts.
// Live events: the one in-process writer commits events in id order, and
// wakes the hub right after each commit.
import { now } from '../../store/clock.js';
import type { JobEventRecord, SandboxJobRecord, SandboxStore } from '../../store/sandbox.js';
import { JobEventHub } from '../job-event-hub.js';
import { idTaken, jobMissing } from '../job-errors.js';
import { HUB_OPTIONS, isTerminal, readSandboxStatus, sandboxSummary } from '../job-rows.js';
import { readJson, readOptTs, readTs, ts } from './codec.js';
import type { LibsqlPool } from './pool.js';

const SAVE = `INSERT INTO agent_jobs (id, title, description, status, source, user_id, project_dir, success, failure_reason,
    created_at, started_at, completed_at)
  VALUES (?, ?, ?, ?, 'sandbox', ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET
    status = excluded.status, success = excluded.success, failure_reason = excluded.failure_reason,
    started_at = excluded.started_at, completed_at = excluded.completed_at
  WHERE agent_jobs.source = 'sandbox' AND agent_jobs.user_id = COALESCE(?, agent_jobs.user_id)`;

/** Only jobs of the owner pass (every job when the owner is null). */
const OWNER = 'user_id = COALESCE(?, user_id)';

const COLUMNS = 'id, title, status, user_id, project_dir, success, failure_reason, created_at, started_at, completed_at, description';

interface Row {
  id: string;
  title: string;
  status: string;
  user_id: string;
  project_dir: string | null;
  success: number | null;
  failure_reason: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  description: string;
}

const toRecord = (r: Row): SandboxJobRecord => ({
  id: r.id,
  task: r.title,
  status: readSandboxStatus(r.status),
  userId: r.user_id,
  projectDir: r.project_dir ?? '',
  success: r.success === null ? null : r.success !== 0,
  failureReason: r.failure_reason,
  createdAt: readTs('created_at', r.created_at),
  startedAt: readOptTs('started_at', r.started_at),
  completedAt: readOptTs('completed_at', r.completed_at),
  credentialGrantsJson: r.description,
});

interface EventRow {
  id: number;
  job_id: string;
  event_type: string;
  data: string;
  created_at: string;
}

const toEvent = (r: EventRow): JobEventRecord => ({
  id: r.id,
  jobId: r.job_id,
  eventType: r.event_type,
  data: readJson('data', r.data),
  createdAt: readTs('created_at', r.created_at),
});

const EVENT_COLUMNS = 'SELECT id, job_id, event_type, data, created_at FROM job_events WHERE job_id = ?';
// Only events of a job of the owner. ?1 is EVENT_COLUMNS' job id: run once, not per event.
const OWNED_EVENTS = 'EXISTS (SELECT 1 FROM agent_jobs j WHERE j.id = ?1 AND j.user_id = COALESCE(?, j.user_id))';

export function libsqlJobEventHub(pool: LibsqlPool): JobEventHub {
  return new JobEventHub(
    {
      readAfter: (jobId, afterId, limit) =>
        pool.read((c) =>
          c.all<EventRow>(`${EVENT_COLUMNS} AND id > ? ORDER BY id LIMIT ?`, [jobId, afterId, limit]).map((r) => ({ event: toEvent(r), bytes: r.data.length })),
        ),
      maxEventId: (jobId) => pool.read((c) => c.get<{ m: number | null }>('SELECT max(id) AS m FROM job_events WHERE job_id = ?', [jobId])?.m ?? 0),
      jobTerminal: (jobId, owner) =>
        pool.read((c) => {
          const r = c.get<{ source: string; status: string }>(`SELECT source, status FROM agent_jobs WHERE id = ? AND ${OWNER}`, [jobId, owner ?? null]);
          return r ? isTerminal(r.source, r.status) : undefined;
        }),
    },
    HUB_OPTIONS,
  );
}

/** `owner`: id-keyed methods see only that user's jobs (null: everyone's). */
export function libsqlSandbox(pool: LibsqlPool, hub: JobEventHub, owner: string | null): SandboxStore {
  const list = (where: string, params: string[]) =>
    pool.read((c) => c.all<Row>(`SELECT ${COLUMNS} FROM agent_jobs WHERE source = 'sandbox' ${where} ORDER BY created_at DESC, seq DESC`, params).map(toRecord));
  const summary = (where: string, params: string[]) =>
    pool.read((c) =>
      sandboxSummary(c.all<{ status: string; n: number }>(`SELECT status, count(*) AS n FROM agent_jobs WHERE source = 'sandbox' ${where} GROUP BY status`, params)),
    );

  return {
    async saveSandboxJob(j) {
      await pool.write((c) => {
        const r = c.run(SAVE, [
          j.id,
          j.task,
          j.credentialGrantsJson,
          j.status,
          j.userId,
          j.projectDir,
          j.success === null ? null : j.success ? 1 : 0,
          j.failureReason,
          ts(j.createdAt),
          j.startedAt ? ts(j.startedAt) : null,
          j.completedAt ? ts(j.completedAt) : null,
          owner,
        ]);
        if (r.changes === 0) throw idTaken('job.id', j.id);
      });
      hub.wake(j.id, 'status');
    },

    getSandboxJob: (id) =>
      pool.read((c) => {
        const r = c.get<Row>(`SELECT ${COLUMNS} FROM agent_jobs WHERE id = ? AND source = 'sandbox' AND ${OWNER}`, [id, owner]);
        return r ? toRecord(r) : null;
      }),

    listSandboxJobs: () => list('', []),

    async updateSandboxJobStatus(id, status, success, message, startedAt, completedAt) {
      await pool.write((c) =>
        c.run(
          `UPDATE agent_jobs SET status = ?, success = COALESCE(?, success), failure_reason = COALESCE(?, failure_reason),
             started_at = COALESCE(?, started_at), completed_at = COALESCE(?, completed_at)
           WHERE id = ? AND source = 'sandbox' AND ${OWNER}`,
          [status, success === null ? null : success ? 1 : 0, message, startedAt ? ts(startedAt) : null, completedAt ? ts(completedAt) : null, id, owner],
        ),
      );
      hub.wake(id, 'status');
    },

    async cleanupStaleSandboxJobs() {
      const ids = await pool.write((c) =>
        c
          .all<{ id: string }>(
            `UPDATE agent_jobs SET status = 'interrupted', failure_reason = 'Process restarted', completed_at = ?
             WHERE source = 'sandbox' AND status IN ('running', 'creating') RETURNING id`,
            [ts(now())],
          )
          .map((r) => r.id),
      );
      for (const id of ids) hub.wake(id, 'status');
      return ids.length;
    },

    sandboxJobSummary: () => summary('', []),
    listSandboxJobsForUser: (userId) => list('AND user_id = ?', [userId]),
    sandboxJobSummaryForUser: (userId) => summary('AND user_id = ?', [userId]),

    sandboxJobBelongsToUser: (jobId, userId) =>
      pool.read((c) => c.get("SELECT 1 AS x FROM agent_jobs WHERE id = ? AND user_id = ? AND source = 'sandbox'", [jobId, userId]) !== undefined),

    async updateSandboxJobMode(id, mode) {
      await pool.write((c) => c.run(`UPDATE agent_jobs SET job_mode = ? WHERE id = ? AND source = 'sandbox' AND ${OWNER}`, [mode, id, owner]));
    },

    getSandboxJobMode: (id) =>
      pool.read((c) => c.get<{ m: string }>(`SELECT job_mode AS m FROM agent_jobs WHERE id = ? AND source = 'sandbox' AND ${OWNER}`, [id, owner])?.m ?? null),

    async saveJobEvent(jobId, eventType, data) {
      const id = await pool.write((c) => {
        // From the job row itself: a job that is missing (or not the owner's) inserts nothing.
        const r = c.run(`INSERT INTO job_events (job_id, event_type, data, created_at) SELECT id, ?, ?, ? FROM agent_jobs WHERE id = ? AND ${OWNER}`, [
          eventType,
          JSON.stringify(data),
          ts(now()),
          jobId,
          owner,
        ]);
        if (r.changes === 0) throw jobMissing('job_id', jobId);
        return r.lastInsertRowid;
      });
      hub.wake(jobId, 'event');
      return id;
    },

    listJobEvents: (jobId, limit) =>
      pool.read((c) => {
        if (limit === null || limit === undefined) return c.all<EventRow>(`${EVENT_COLUMNS} AND ${OWNED_EVENTS} ORDER BY id`, [jobId, owner]).map(toEvent);
        return c.all<EventRow>(`${EVENT_COLUMNS} AND ${OWNED_EVENTS} ORDER BY id DESC LIMIT ?`, [jobId, owner, limit]).reverse().map(toEvent);
      }),

    streamJobEvents: (jobId, afterEventId, signal) => hub.follow(jobId, afterEventId, signal, owner),
  };
}
