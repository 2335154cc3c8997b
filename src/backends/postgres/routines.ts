// RoutineStore on PostgreSQL. Twin: src/backends/libsql/routines.ts.
// Claiming locks the due rows it takes (FOR UPDATE SKIP LOCKED) and moves
// their next_fire_at in the same transaction, so concurrent daemons on one
// database each get different firings and never wait on one another.
import { now } from '../../store/clock.js';
import type { ClaimedFiring, Routine, RoutineRun, RoutineStore } from '../../store/routines.js';
import type { JsonValue } from '../../store/types.js';
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
import { sql, type PgPool } from './pool.js';

const ROUTINE_COLUMNS = `id, name, description, user_id, enabled, trigger_type, trigger_config, action_type, action_config,
  cooldown_secs, max_concurrent, dedup_window_secs, notify_channel, notify_user, notify_on_success, notify_on_failure,
  notify_on_attention, state, last_run_at, next_fire_at, run_count, consecutive_failures, created_at, updated_at`;
const RUN_COLUMNS = `id, routine_id, trigger_type, trigger_detail, started_at, completed_at, status, result_summary, tokens_used, job_id, created_at`;
const DUE = `enabled AND trigger_type = 'cron' AND next_fire_at IS NOT NULL AND next_fire_at <= $1`;
const SELECT_ROUTINES = `SELECT ${ROUTINE_COLUMNS} FROM routines`;

const INSERT = sql(`INSERT INTO routines (name, description, enabled, trigger_type, trigger_config, action_type, action_config,
    cooldown_secs, max_concurrent, dedup_window_secs, notify_channel, notify_user, notify_on_success, notify_on_failure,
    notify_on_attention, state, next_fire_at, id, user_id, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, $17, $18, $19, $20, $21)
  RETURNING ${ROUTINE_COLUMNS}`);
const UPDATE = sql(`UPDATE routines SET name = $1, description = $2, enabled = $3, trigger_type = $4, trigger_config = $5::jsonb,
    action_type = $6, action_config = $7::jsonb, cooldown_secs = $8, max_concurrent = $9, dedup_window_secs = $10,
    notify_channel = $11, notify_user = $12, notify_on_success = $13, notify_on_failure = $14, notify_on_attention = $15,
    state = $16::jsonb, next_fire_at = $17, updated_at = $18
  WHERE id = $19 AND user_id = COALESCE($20, user_id) RETURNING ${ROUTINE_COLUMNS}`);
// The owner parameter: only routines of that user (and their runs) pass; every one when it is null.
const GET = sql(`${SELECT_ROUTINES} WHERE id = $1 AND user_id = COALESCE($2, user_id)`);
const GET_BY_NAME = sql(`${SELECT_ROUTINES} WHERE user_id = $1 AND name = $2`);
const LIST = sql(`${SELECT_ROUTINES} WHERE user_id = $1 ORDER BY name`);
const LIST_ALL = sql(`${SELECT_ROUTINES} ORDER BY name, user_id`);
const LIST_EVENT = sql(`${SELECT_ROUTINES} WHERE enabled AND trigger_type IN ('event', 'system_event') ORDER BY name, user_id`);
const LIST_DUE = sql(`${SELECT_ROUTINES} WHERE ${DUE} ORDER BY next_fire_at, id`);
export const CLAIM_SELECT = sql(`${SELECT_ROUTINES} WHERE ${DUE} ORDER BY next_fire_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`);
const CLAIM_UPDATE = sql(`UPDATE routines r SET next_fire_at = u.next_fire_at, claimed_by = $3, claimed_at = $4
  FROM unnest($1::uuid[], $2::timestamptz[]) AS u (id, next_fire_at) WHERE r.id = u.id`);
const UPDATE_RUNTIME = sql(`UPDATE routines SET last_run_at = $2, next_fire_at = $3, run_count = $4, consecutive_failures = $5,
  state = $6::jsonb, updated_at = $7 WHERE id = $1 AND user_id = COALESCE($8, user_id)`);
const DELETE = sql('DELETE FROM routines WHERE id = $1 AND user_id = COALESCE($2, user_id)');
// From the routine row itself: a routine that is missing (or not the owner's) inserts nothing.
const INSERT_RUN = sql(`INSERT INTO routine_runs (id, routine_id, trigger_type, trigger_detail, started_at, status, job_id, created_at)
  SELECT $1::uuid, r.id, $3::text, $4::text, $5::timestamptz, $6::text, $7::uuid, $8::timestamptz
  FROM routines r WHERE r.id = $2::uuid AND r.user_id = COALESCE($9::text, r.user_id)`);
const ownedRuns = (n: number) => `EXISTS (SELECT 1 FROM routines r WHERE r.id = routine_runs.routine_id AND r.user_id = COALESCE($${n}, r.user_id))`;
const COMPLETE_RUN = sql(`UPDATE routine_runs SET completed_at = $2, status = $3, result_summary = $4, tokens_used = $5 WHERE id = $1 AND ${ownedRuns(6)}`);
const LIST_RUNS = sql(`SELECT ${RUN_COLUMNS} FROM routine_runs WHERE routine_id = $1 AND ${ownedRuns(3)} ORDER BY started_at DESC, seq DESC LIMIT $2`);
const COUNT_RUNNING = sql(`SELECT count(*) AS n FROM routine_runs WHERE routine_id = $1 AND status = 'running' AND ${ownedRuns(2)}`);
export const COUNT_RUNNING_BATCH = sql(`SELECT routine_id, count(*) AS n FROM routine_runs
  WHERE routine_id = ANY (ARRAY(SELECT r.id FROM routines r WHERE r.id = ANY ($1::uuid[]) AND r.user_id = COALESCE($2, r.user_id)))
    AND status = 'running' GROUP BY routine_id`);
const LINK_JOB = sql(`UPDATE routine_runs SET job_id = $2 WHERE id = $1 AND ${ownedRuns(3)}`);
const LIST_DISPATCHED = sql(`SELECT ${RUN_COLUMNS} FROM routine_runs WHERE status = 'running' AND job_id IS NOT NULL ORDER BY started_at, seq`);

interface RoutineRow {
  id: string;
  name: string;
  description: string;
  user_id: string;
  enabled: boolean;
  trigger_type: string;
  trigger_config: JsonValue;
  action_type: string;
  action_config: JsonValue;
  cooldown_secs: number;
  max_concurrent: number;
  dedup_window_secs: number | null;
  notify_channel: string | null;
  notify_user: string | null;
  notify_on_success: boolean;
  notify_on_failure: boolean;
  notify_on_attention: boolean;
  state: JsonValue;
  last_run_at: Date | null;
  next_fire_at: Date | null;
  run_count: number;
  consecutive_failures: number;
  created_at: Date;
  updated_at: Date;
}

interface RunRow {
  id: string;
  routine_id: string;
  trigger_type: string;
  trigger_detail: string | null;
  started_at: Date;
  completed_at: Date | null;
  status: string;
  result_summary: string | null;
  tokens_used: number | null;
  job_id: string | null;
  created_at: Date;
}

const toRoutine = (r: RoutineRow): Routine => ({
  id: r.id,
  name: r.name,
  description: r.description,
  userId: r.user_id,
  enabled: r.enabled,
  trigger: readTrigger(r.trigger_type, r.trigger_config),
  action: readAction(r.action_type, r.action_config),
  guardrails: { cooldownSecs: r.cooldown_secs, maxConcurrent: r.max_concurrent, dedupWindowSecs: r.dedup_window_secs },
  notify: {
    channel: r.notify_channel,
    user: normaliseNotifyUser(r.notify_user),
    onAttention: r.notify_on_attention,
    onFailure: r.notify_on_failure,
    onSuccess: r.notify_on_success,
  },
  lastRunAt: r.last_run_at,
  nextFireAt: r.next_fire_at,
  runCount: r.run_count,
  consecutiveFailures: r.consecutive_failures,
  state: r.state,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toRun = (r: RunRow): RoutineRun => ({
  id: r.id,
  routineId: r.routine_id,
  triggerType: readRunTriggerType(r.trigger_type),
  triggerDetail: r.trigger_detail,
  startedAt: r.started_at,
  completedAt: r.completed_at,
  status: readRunStatus(r.status),
  resultSummary: r.result_summary,
  tokensUsed: r.tokens_used,
  jobId: r.job_id,
  createdAt: r.created_at,
});

const iso = (d: Date) => d.toISOString();
const optIso = (d: Date | null) => (d ? d.toISOString() : null);

/** The definition parameters shared by insert and update ($1…$17). */
function definition(r: Routine): (string | number | boolean | null)[] {
  return [
    r.name,
    r.description,
    r.enabled,
    r.trigger.kind,
    JSON.stringify(triggerConfig(r.trigger)),
    r.action.kind,
    JSON.stringify(actionConfig(r.action)),
    r.guardrails.cooldownSecs,
    r.guardrails.maxConcurrent,
    r.guardrails.dedupWindowSecs,
    r.notify.channel,
    normaliseNotifyUser(r.notify.user),
    r.notify.onSuccess,
    r.notify.onFailure,
    r.notify.onAttention,
    JSON.stringify(r.state),
    optIso(r.nextFireAt),
  ];
}

/** `owner`: id-keyed methods see only that user's routines and their runs (null: everyone's). */
export function pgRoutines(pool: PgPool, owner: string | null): RoutineStore {
  return {
    async createRoutine(r) {
      const row = await pool.one<RoutineRow>(INSERT, [...definition(r), r.id, r.userId, iso(r.createdAt), iso(r.updatedAt)]).catch(routineConflict);
      return toRoutine(row!);
    },

    getRoutine: async (id) => {
      const r = await pool.one<RoutineRow>(GET, [id, owner]);
      return r ? toRoutine(r) : null;
    },

    getRoutineByName: async (userId, name) => {
      const r = await pool.one<RoutineRow>(GET_BY_NAME, [userId, name]);
      return r ? toRoutine(r) : null;
    },

    listRoutines: async (userId) => (await pool.rows<RoutineRow>(LIST, [userId])).map(toRoutine),

    listAllRoutines: async () => (await pool.rows<RoutineRow>(LIST_ALL)).map(toRoutine),

    listEventRoutines: async () => (await pool.rows<RoutineRow>(LIST_EVENT)).map(toRoutine),

    listDueCronRoutines: async () => (await pool.rows<RoutineRow>(LIST_DUE, [iso(now())])).map(toRoutine),

    async updateRoutine(r) {
      const row = await pool.one<RoutineRow>(UPDATE, [...definition(r), iso(now()), r.id, owner]).catch(routineConflict);
      return row ? toRoutine(row) : null;
    },

    async updateRoutineRuntime(id, lastRunAt, nextFireAt, runCount, consecutiveFailures, state) {
      await pool.exec(UPDATE_RUNTIME, [id, iso(lastRunAt), optIso(nextFireAt), runCount, consecutiveFailures, JSON.stringify(state), iso(now()), owner]);
    },

    deleteRoutine: async (id) => (await pool.exec(DELETE, [id, owner])) > 0,

    async createRoutineRun(run) {
      const n = await pool
        .exec(INSERT_RUN, [run.id, run.routineId, run.triggerType, run.triggerDetail, iso(run.startedAt), run.status, run.jobId, iso(now()), owner])
        .catch(runConflict);
      if (n === 0) throw routineMissing(run.routineId);
    },

    async completeRoutineRun(id, status, resultSummary, tokensUsed) {
      await pool.exec(COMPLETE_RUN, [id, iso(now()), status, resultSummary, tokensUsed, owner]);
    },

    listRoutineRuns: async (routineId, limit) => (await pool.rows<RunRow>(LIST_RUNS, [routineId, limit, owner])).map(toRun),

    countRunningRoutineRuns: async (routineId) => (await pool.one<{ n: number }>(COUNT_RUNNING, [routineId, owner]))!.n,

    async countRunningRoutineRunsBatch(routineIds) {
      const out = new Map<string, number>(routineIds.map((id) => [id, 0]));
      if (routineIds.length === 0) return out;
      for (const r of await pool.rows<{ routine_id: string; n: number }>(COUNT_RUNNING_BATCH, [routineIds as unknown as string, owner])) {
        out.set(r.routine_id, r.n);
      }
      return out;
    },

    async linkRoutineRunToJob(runId, jobId) {
      await pool.exec(LINK_JOB, [runId, jobId, owner]);
    },

    listDispatchedRoutineRuns: async () => (await pool.rows<RunRow>(LIST_DISPATCHED)).map(toRun),

    async claimDueCronRoutines(owner, limit) {
      if (limit === 0) return [];
      return pool.tx(async (q) => {
        const at = now();
        const due = (await q.rows<RoutineRow>(CLAIM_SELECT, [iso(at), limit])).map(toRoutine);
        if (due.length === 0) return [];
        const nextOf = nextAfterClaim(at);
        const claimed: ClaimedFiring[] = due.map((r) => ({ routine: { ...r, nextFireAt: nextOf(r.trigger) }, fireAt: r.nextFireAt! }));
        await q.exec(CLAIM_UPDATE, [
          claimed.map((f) => f.routine.id) as unknown as string,
          claimed.map((f) => optIso(f.routine.nextFireAt)) as unknown as string,
          owner,
          iso(at),
        ]);
        return claimed;
      });
    },
  };
}
