// RoutineStore on libSQL. Twin: src/backends/postgres/routines.ts.
// Statements with RETURNING are read with all(), never get(): the driver
// does not reset a cached statement whose get() failed, so the next use
// would repeat the old error.
// Claiming runs inside the one write transaction (BEGIN IMMEDIATE holds the
// file's write lock), so it is atomic for every connection and process.
import { now } from '../../store/clock.js';
import type { ClaimedFiring, Routine, RoutineRun, RoutineStore } from '../../store/routines.js';
import {
  actionConfig,
  nextAfterClaim,
  normaliseNotifyUser,
  readAction,
  readRunStatus,
  readRunTriggerType,
  readTrigger,
  routineConflict,
  routineMissing,
  runConflict,
  triggerConfig,
} from '../routine-rows.js';
import { readJson, readOptTs, readTs, ts } from './codec.js';
import type { Conn, LibsqlPool } from './pool.js';

const ROUTINE_COLUMNS = `id, name, description, user_id, enabled, trigger_type, trigger_config, action_type, action_config,
  cooldown_secs, max_concurrent, dedup_window_secs, notify_channel, notify_user, notify_on_success, notify_on_failure,
  notify_on_attention, state, last_run_at, next_fire_at, run_count, consecutive_failures, created_at, updated_at`;
const RUN_COLUMNS = `id, routine_id, trigger_type, trigger_detail, started_at, completed_at, status, result_summary, tokens_used, job_id, created_at`;

// The predicate repeats the partial index's WHERE so SQLite uses it.
const DUE = `enabled = 1 AND trigger_type = 'cron' AND next_fire_at IS NOT NULL AND next_fire_at <= ?`;

/** Only routines of the owner pass (every routine when the owner is null). */
const OWNER = 'user_id = COALESCE(?, user_id)';
/** Only runs of a routine of the owner pass. */
const OWNED_RUNS = 'EXISTS (SELECT 1 FROM routines r WHERE r.id = routine_runs.routine_id AND r.user_id = COALESCE(?, r.user_id))';
/** The same for a routine's runs, ?1 being the routine id (run once, not per run). */
const OWNED_ROUTINE = 'EXISTS (SELECT 1 FROM routines r WHERE r.id = ?1 AND r.user_id = COALESCE(?, r.user_id))';

// Exported for the plan test: the hot paths must read their indexes.
export const COUNT_RUNNING_BATCH = `SELECT routine_id, count(*) AS n FROM routine_runs
  WHERE routine_id IN (SELECT r.id FROM routines r WHERE r.id IN (SELECT value FROM json_each(?)) AND r.user_id = COALESCE(?, r.user_id))
    AND status = 'running' GROUP BY routine_id`;
export const CLAIM_SELECT = `SELECT ${ROUTINE_COLUMNS} FROM routines WHERE ${DUE} ORDER BY next_fire_at, id LIMIT ?`;

interface RoutineRow {
  id: string;
  name: string;
  description: string;
  user_id: string;
  enabled: number;
  trigger_type: string;
  trigger_config: string;
  action_type: string;
  action_config: string;
  cooldown_secs: number;
  max_concurrent: number;
  dedup_window_secs: number | null;
  notify_channel: string | null;
  notify_user: string | null;
  notify_on_success: number;
  notify_on_failure: number;
  notify_on_attention: number;
  state: string;
  last_run_at: string | null;
  next_fire_at: string | null;
  run_count: number;
  consecutive_failures: number;
  created_at: string;
  updated_at: string;
}

interface RunRow {
  id: string;
  routine_id: string;
  trigger_type: string;
  trigger_detail: string | null;
  started_at: string;
  completed_at: string | null;
  status: string;
  result_summary: string | null;
  tokens_used: number | null;
  job_id: string | null;
  created_at: string;
}

const toRoutine = (r: RoutineRow): Routine => ({
  id: r.id,
  name: r.name,
  description: r.description,
  userId: r.user_id,
  enabled: r.enabled !== 0,
  trigger: readTrigger(r.trigger_type, readJson('trigger_config', r.trigger_config)),
  action: readAction(r.action_type, readJson('action_config', r.action_config)),
  guardrails: { cooldownSecs: r.cooldown_secs, maxConcurrent: r.max_concurrent, dedupWindowSecs: r.dedup_window_secs },
  notify: {
    channel: r.notify_channel,
    user: normaliseNotifyUser(r.notify_user),
    onAttention: r.notify_on_attention !== 0,
    onFailure: r.notify_on_failure !== 0,
    onSuccess: r.notify_on_success !== 0,
  },
  lastRunAt: readOptTs('last_run_at', r.last_run_at),
  nextFireAt: readOptTs('next_fire_at', r.next_fire_at),
  runCount: r.run_count,
  consecutiveFailures: r.consecutive_failures,
  state: readJson('state', r.state),
  createdAt: readTs('created_at', r.created_at),
  updatedAt: readTs('updated_at', r.updated_at),
});

const toRun = (r: RunRow): RoutineRun => ({
  id: r.id,
  routineId: r.routine_id,
  triggerType: readRunTriggerType(r.trigger_type),
  triggerDetail: r.trigger_detail,
  startedAt: readTs('started_at', r.started_at),
  completedAt: readOptTs('completed_at', r.completed_at),
  status: readRunStatus(r.status),
  resultSummary: r.result_summary,
  tokensUsed: r.tokens_used,
  jobId: r.job_id,
  createdAt: readTs('created_at', r.created_at),
});

const b = (x: boolean) => (x ? 1 : 0);
const optTs = (d: Date | null) => (d ? ts(d) : null);

/** The definition columns shared by insert and update, in a fixed order. */
function definition(r: Routine): (string | number | null)[] {
  return [
    r.name,
    r.description,
    b(r.enabled),
    r.trigger.kind,
    JSON.stringify(triggerConfig(r.trigger)),
    r.action.kind,
    JSON.stringify(actionConfig(r.action)),
    r.guardrails.cooldownSecs,
    r.guardrails.maxConcurrent,
    r.guardrails.dedupWindowSecs,
    r.notify.channel,
    normaliseNotifyUser(r.notify.user),
    b(r.notify.onSuccess),
    b(r.notify.onFailure),
    b(r.notify.onAttention),
    JSON.stringify(r.state),
    optTs(r.nextFireAt),
  ];
}

const INSERT = `INSERT INTO routines (name, description, enabled, trigger_type, trigger_config, action_type, action_config,
    cooldown_secs, max_concurrent, dedup_window_secs, notify_channel, notify_user, notify_on_success, notify_on_failure,
    notify_on_attention, state, next_fire_at, id, user_id, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  RETURNING ${ROUTINE_COLUMNS}`;
const UPDATE = `UPDATE routines SET name = ?, description = ?, enabled = ?, trigger_type = ?, trigger_config = ?, action_type = ?,
    action_config = ?, cooldown_secs = ?, max_concurrent = ?, dedup_window_secs = ?, notify_channel = ?, notify_user = ?,
    notify_on_success = ?, notify_on_failure = ?, notify_on_attention = ?, state = ?, next_fire_at = ?, updated_at = ?
  WHERE id = ? AND ${OWNER} RETURNING ${ROUTINE_COLUMNS}`;

function listRoutines(c: Conn, where: string, params: (string | number | null)[], order = ''): Routine[] {
  return c.all<RoutineRow>(`SELECT ${ROUTINE_COLUMNS} FROM routines ${where} ${order}`, params).map(toRoutine);
}

/** `owner`: id-keyed methods see only that user's routines and their runs (null: everyone's). */
export function libsqlRoutines(pool: LibsqlPool, owner: string | null): RoutineStore {
  return {
    createRoutine: (r) =>
      pool
        .write((c) => {
          const row = c.all<RoutineRow>(INSERT, [...definition(r), r.id, r.userId, ts(r.createdAt), ts(r.updatedAt)])[0];
          return toRoutine(row!);
        })
        .catch(routineConflict),

    getRoutine: (id) => pool.read((c) => listRoutines(c, `WHERE id = ? AND ${OWNER}`, [id, owner])[0] ?? null),

    getRoutineByName: (userId, name) => pool.read((c) => listRoutines(c, 'WHERE user_id = ? AND name = ?', [userId, name])[0] ?? null),

    listRoutines: (userId) => pool.read((c) => listRoutines(c, 'WHERE user_id = ?', [userId], 'ORDER BY name')),

    listAllRoutines: () => pool.read((c) => listRoutines(c, '', [], 'ORDER BY name, user_id')),

    listEventRoutines: () =>
      pool.read((c) => listRoutines(c, "WHERE enabled = 1 AND trigger_type IN ('event', 'system_event')", [], 'ORDER BY name, user_id')),

    listDueCronRoutines: () => pool.read((c) => listRoutines(c, `WHERE ${DUE}`, [ts(now())], 'ORDER BY next_fire_at, id')),

    updateRoutine: (r) =>
      pool
        .write((c) => {
          const row = c.all<RoutineRow>(UPDATE, [...definition(r), ts(now()), r.id, owner])[0];
          return row ? toRoutine(row) : null;
        })
        .catch(routineConflict),

    async updateRoutineRuntime(id, lastRunAt, nextFireAt, runCount, consecutiveFailures, state) {
      await pool.write((c) =>
        c.run(
          `UPDATE routines SET last_run_at = ?, next_fire_at = ?, run_count = ?, consecutive_failures = ?, state = ?, updated_at = ?
           WHERE id = ? AND ${OWNER}`,
          [ts(lastRunAt), optTs(nextFireAt), runCount, consecutiveFailures, JSON.stringify(state), ts(now()), id, owner],
        ),
      );
    },

    deleteRoutine: (id) => pool.write((c) => c.run(`DELETE FROM routines WHERE id = ? AND ${OWNER}`, [id, owner]).changes > 0),

    async createRoutineRun(run) {
      await pool
        .write((c) => {
          // From the routine row itself: a routine that is missing (or not the owner's) inserts nothing.
          const r = c.run(
            `INSERT INTO routine_runs (id, routine_id, trigger_type, trigger_detail, started_at, status, job_id, created_at)
             SELECT ?, id, ?, ?, ?, ?, ?, ? FROM routines WHERE id = ? AND ${OWNER}`,
            [run.id, run.triggerType, run.triggerDetail, ts(run.startedAt), run.status, run.jobId, ts(now()), run.routineId, owner],
          );
          if (r.changes === 0) throw routineMissing(run.routineId);
        })
        .catch(runConflict);
    },

    async completeRoutineRun(id, status, resultSummary, tokensUsed) {
      await pool.write((c) =>
        c.run(`UPDATE routine_runs SET completed_at = ?, status = ?, result_summary = ?, tokens_used = ? WHERE id = ? AND ${OWNED_RUNS}`, [
          ts(now()),
          status,
          resultSummary,
          tokensUsed,
          id,
          owner,
        ]),
      );
    },

    listRoutineRuns: (routineId, limit) =>
      pool.read((c) =>
        c
          .all<RunRow>(`SELECT ${RUN_COLUMNS} FROM routine_runs WHERE routine_id = ? AND ${OWNED_ROUTINE} ORDER BY started_at DESC, seq DESC LIMIT ?`, [
            routineId,
            owner,
            limit,
          ])
          .map(toRun),
      ),

    countRunningRoutineRuns: (routineId) =>
      pool.read((c) => c.get<{ n: number }>(`SELECT count(*) AS n FROM routine_runs WHERE routine_id = ? AND status = 'running' AND ${OWNED_ROUTINE}`, [routineId, owner])!.n),

    async countRunningRoutineRunsBatch(routineIds) {
      const out = new Map<string, number>(routineIds.map((id) => [id, 0]));
      if (routineIds.length === 0) return out;
      await pool.read((c) => {
        const rows = c.all<{ routine_id: string; n: number }>(COUNT_RUNNING_BATCH, [JSON.stringify(routineIds), owner]);
        for (const r of rows) out.set(r.routine_id, r.n);
      });
      return out;
    },

    async linkRoutineRunToJob(runId, jobId) {
      await pool.write((c) => c.run(`UPDATE routine_runs SET job_id = ? WHERE id = ? AND ${OWNED_RUNS}`, [jobId, runId, owner]));
    },

    listDispatchedRoutineRuns: () =>
      pool.read((c) =>
        c
          .all<RunRow>(`SELECT ${RUN_COLUMNS} FROM routine_runs WHERE status = 'running' AND job_id IS NOT NULL ORDER BY started_at, seq`)
          .map(toRun),
      ),

    claimDueCronRoutines: (owner, limit) =>
      pool.write((c) => {
        if (limit === 0) return [];
        const at = now();
        const due = c.all<RoutineRow>(CLAIM_SELECT, [ts(at), limit]).map(toRoutine);
        const claimed: ClaimedFiring[] = [];
        const nextOf = nextAfterClaim(at);
        for (const r of due) {
          const next = nextOf(r.trigger);
          c.run('UPDATE routines SET next_fire_at = ?, claimed_by = ?, claimed_at = ? WHERE id = ?', [optTs(next), owner, ts(at), r.id]);
          claimed.push({ routine: { ...r, nextFireAt: next }, fireAt: r.nextFireAt! });
        }
        return claimed;
      }),
  };
}
