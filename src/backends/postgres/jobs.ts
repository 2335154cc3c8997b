// JobStore on PostgreSQL. Twin: src/backends/libsql/jobs.ts.
// Statements that change a job's state also NOTIFY, in the same statement,
// so live event streams on every daemon learn when a job ends.
import { randomUUID } from 'node:crypto';
import { now } from '../../store/clock.js';
import type { ActionRecord, AgentJobRecord, JobContext, JobStore } from '../../store/jobs.js';
import type { JsonValue } from '../../store/types.js';
import { conversationMissing, conversationMustExist } from '../conversation-errors.js';
import { duplicateAction, idTaken, jobMissing, llmCallReferenceMissing, llmCallReferences } from '../job-errors.js';
import { agentSummary, readState, readTransitions, readWarnings, transitionsJson } from '../job-rows.js';
import { JOB_EVENTS_CHANNEL } from './listener.js';
import { sql, type PgPool } from './pool.js';

const notifyStatus = (from: string) => `SELECT pg_notify('${JOB_EVENTS_CHANNEL}', 's:' || id::text) AS n FROM ${from}`;

// The first save fixes conversation, budget, bid and creation time; later
// saves overwrite the rest. Only a direct row of the owner ($24, when there
// is one) is ever updated here, and a per-user save may only point at one
// of the user's conversations (conversation_ok false: nothing is written).
const SAVE = sql(`WITH conv AS (
  SELECT $24::text IS NULL OR $2::uuid IS NULL OR EXISTS (SELECT 1 FROM conversations c WHERE c.id = $2::uuid AND c.user_id = $24::text) AS ok
), s AS (
  INSERT INTO agent_jobs (id, conversation_id, title, description, category, status, source, user_id,
    budget_amount, budget_token, bid_amount, estimated_cost, estimated_time_secs, actual_cost, repair_attempts,
    max_tokens, total_tokens_used, requester_id, transitions, metadata, user_timezone, created_at, started_at, completed_at)
  SELECT $1::uuid, $2::uuid, $3::text, $4::text, $5::text, $6::text, 'direct', $7::text, $8::numeric, $9::text, $10::numeric, $11::numeric,
    $12::bigint, $13::numeric, $14::bigint, $15::bigint, $16::bigint, $17::text, $18::jsonb, $19::jsonb, $20::text, $21::timestamptz,
    $22::timestamptz, $23::timestamptz
  FROM conv WHERE conv.ok
  ON CONFLICT (id) DO UPDATE SET
    title = EXCLUDED.title, description = EXCLUDED.description, category = EXCLUDED.category, status = EXCLUDED.status,
    user_id = EXCLUDED.user_id, estimated_cost = EXCLUDED.estimated_cost, estimated_time_secs = EXCLUDED.estimated_time_secs,
    actual_cost = EXCLUDED.actual_cost, repair_attempts = EXCLUDED.repair_attempts, max_tokens = EXCLUDED.max_tokens,
    total_tokens_used = EXCLUDED.total_tokens_used, requester_id = EXCLUDED.requester_id, transitions = EXCLUDED.transitions,
    metadata = EXCLUDED.metadata, user_timezone = EXCLUDED.user_timezone, started_at = EXCLUDED.started_at,
    completed_at = EXCLUDED.completed_at
  WHERE agent_jobs.source = 'direct' AND agent_jobs.user_id = COALESCE($24::text, agent_jobs.user_id)
  RETURNING id
)
SELECT conv.ok AS conversation_ok, s.id, CASE WHEN s.id IS NOT NULL THEN pg_notify('${JOB_EVENTS_CHANNEL}', 's:' || s.id::text) END AS n
FROM conv LEFT JOIN s ON true`);

/** The job row of the owner ($n; every job when it is null). */
const ownedJob = (column: string, n: number) => `EXISTS (SELECT 1 FROM agent_jobs j WHERE j.id = ${column} AND j.user_id = COALESCE($${n}, j.user_id))`;

const GET = sql(`SELECT id, status, user_id, requester_id, conversation_id, title, description, category, budget_amount, budget_token,
  bid_amount, estimated_cost, estimated_time_secs, actual_cost, total_tokens_used, max_tokens, created_at, started_at,
  completed_at, repair_attempts, transitions, metadata, user_timezone
  FROM agent_jobs WHERE id = $1 AND source = 'direct' AND user_id = COALESCE($2, user_id)`);
const UPDATE_STATUS = sql(`WITH u AS (
  UPDATE agent_jobs SET status = $2, failure_reason = $3 WHERE id = $1 AND source = 'direct' AND user_id = COALESCE($4, user_id) RETURNING id
) ${notifyStatus('u')}`);
const MARK_STUCK = sql(`WITH u AS (
  UPDATE agent_jobs SET status = 'stuck', stuck_since = $2 WHERE id = $1 AND source = 'direct' AND user_id = COALESCE($3, user_id) RETURNING id
) ${notifyStatus('u')}`);
const STUCK = sql("SELECT id FROM agent_jobs WHERE source = 'direct' AND status = 'stuck' ORDER BY seq");
const LIST = sql(`SELECT id, title, status, user_id, created_at, started_at, completed_at, failure_reason
  FROM agent_jobs WHERE source = 'direct' ORDER BY created_at DESC, seq DESC`);
const SUMMARY = sql("SELECT status, count(*) AS n FROM agent_jobs WHERE source = 'direct' GROUP BY status");
const FAILURE_REASON = sql("SELECT failure_reason AS r FROM agent_jobs WHERE id = $1 AND source = 'direct' AND user_id = COALESCE($2, user_id)");
// Only onto a direct job (of the owner $14): no row inserted means there is none with that id.
const SAVE_ACTION = sql(`INSERT INTO job_actions (id, job_id, sequence_num, tool_name, input, output_raw, output_sanitized,
    sanitization_warnings, cost, duration_ms, success, error_message, created_at)
  SELECT $1::uuid, j.id, $3::bigint, $4::text, $5::jsonb, $6::text, $7::jsonb, $8::jsonb, $9::numeric, $10::bigint, $11::boolean, $12::text, $13::timestamptz
  FROM agent_jobs j WHERE j.id = $2::uuid AND j.source = 'direct' AND j.user_id = COALESCE($14::text, j.user_id)`);
const ACTIONS = sql(`SELECT id, sequence_num, tool_name, input, output_raw, output_sanitized, sanitization_warnings, cost, duration_ms,
  success, error_message, created_at FROM job_actions WHERE job_id = $1 AND ${ownedJob('$1', 2)} ORDER BY sequence_num`);
// A per-user call ($11) may reference only the user's own job and conversation: otherwise nothing is inserted.
const LLM_CALL = sql(`INSERT INTO llm_calls (id, job_id, conversation_id, provider, model, input_tokens, output_tokens, cost, purpose, created_at)
  SELECT $1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, $6::bigint, $7::bigint, $8::numeric, $9::text, $10::timestamptz
  WHERE $11::text IS NULL
     OR (($2::uuid IS NULL OR EXISTS (SELECT 1 FROM agent_jobs j WHERE j.id = $2::uuid AND j.user_id = $11::text))
     AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM conversations c WHERE c.id = $3::uuid AND c.user_id = $11::text)))`);
const SNAPSHOT = sql(`INSERT INTO estimation_snapshots (id, job_id, category, tool_names, estimated_cost, estimated_time_secs, estimated_value, created_at)
  SELECT $1::uuid, j.id, $3::text, $4::text[], $5::numeric, $6::bigint, $7::numeric, $8::timestamptz
  FROM agent_jobs j WHERE j.id = $2::uuid AND j.user_id = COALESCE($9::text, j.user_id)`);
const ACTUALS = sql(`UPDATE estimation_snapshots SET actual_cost = $2, actual_time_secs = $3, actual_value = $4
  WHERE id = $1 AND ${ownedJob('estimation_snapshots.job_id', 5)}`);

interface JobRow {
  id: string;
  status: string;
  user_id: string;
  requester_id: string | null;
  conversation_id: string | null;
  title: string;
  description: string;
  category: string | null;
  budget_amount: string | null;
  budget_token: string | null;
  bid_amount: string | null;
  estimated_cost: string | null;
  estimated_time_secs: number | null;
  actual_cost: string | null;
  total_tokens_used: number;
  max_tokens: number;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  repair_attempts: number;
  transitions: JsonValue;
  metadata: JsonValue;
  user_timezone: string;
}

const toJob = (r: JobRow): JobContext => ({
  jobId: r.id,
  state: readState('status', r.status),
  userId: r.user_id,
  requesterId: r.requester_id,
  conversationId: r.conversation_id,
  title: r.title,
  description: r.description,
  category: r.category,
  budget: r.budget_amount,
  budgetToken: r.budget_token,
  bidAmount: r.bid_amount,
  estimatedCost: r.estimated_cost,
  estimatedDurationSecs: r.estimated_time_secs,
  actualCost: r.actual_cost ?? '0',
  totalTokensUsed: r.total_tokens_used,
  maxTokens: r.max_tokens,
  createdAt: r.created_at,
  startedAt: r.started_at,
  completedAt: r.completed_at,
  repairAttempts: r.repair_attempts,
  transitions: readTransitions(r.transitions),
  metadata: r.metadata,
  userTimezone: r.user_timezone,
});

interface RecordRow {
  id: string;
  title: string;
  status: string;
  user_id: string;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  failure_reason: string | null;
}

const toRecord = (r: RecordRow): AgentJobRecord => ({
  id: r.id,
  title: r.title,
  status: readState('status', r.status),
  userId: r.user_id,
  createdAt: r.created_at,
  startedAt: r.started_at,
  completedAt: r.completed_at,
  failureReason: r.failure_reason,
});

interface ActionRow {
  id: string;
  sequence_num: number;
  tool_name: string;
  input: JsonValue;
  output_raw: string | null;
  output_sanitized: JsonValue | null;
  sanitization_warnings: JsonValue;
  cost: string | null;
  duration_ms: number;
  success: boolean;
  error_message: string | null;
  created_at: Date;
}

// output_sanitized is JSONB: SQL NULL (none) and a stored JSON null would
// both arrive as null, so the JSON text is selected to tell them apart.
const toAction = (r: ActionRow & { output_sanitized_text: string | null }): ActionRecord => ({
  id: r.id,
  sequence: r.sequence_num,
  toolName: r.tool_name,
  input: r.input,
  outputRaw: r.output_raw,
  outputSanitized: r.output_sanitized_text === null ? undefined : (JSON.parse(r.output_sanitized_text) as JsonValue),
  sanitizationWarnings: readWarnings(r.sanitization_warnings),
  cost: r.cost,
  durationMs: r.duration_ms,
  success: r.success,
  error: r.error_message,
  executedAt: r.created_at,
});

const ACTIONS_TEXT = sql(ACTIONS.text.replace('output_sanitized,', 'output_sanitized::text AS output_sanitized_text,'));

/** `owner`: id-keyed methods see only that user's jobs (null: everyone's). */
export function pgJobs(pool: PgPool, owner: string | null): JobStore {
  return {
    async saveJob(j) {
      const saved = await pool
        .one<{ conversation_ok: boolean; id: string | null }>(SAVE, [
          j.jobId,
          j.conversationId,
          j.title,
          j.description,
          j.category,
          j.state,
          j.userId,
          j.budget,
          j.budgetToken,
          j.bidAmount,
          j.estimatedCost,
          j.estimatedDurationSecs,
          j.actualCost,
          j.repairAttempts,
          j.maxTokens,
          j.totalTokensUsed,
          j.requesterId,
          transitionsJson(j.transitions),
          JSON.stringify(j.metadata),
          j.userTimezone,
          j.createdAt.toISOString(),
          j.startedAt ? j.startedAt.toISOString() : null,
          j.completedAt ? j.completedAt.toISOString() : null,
          owner,
        ])
        .catch(conversationMustExist(j.conversationId ?? ''));
      if (!saved?.conversation_ok) throw conversationMissing(j.conversationId ?? '');
      if (saved.id === null) throw idTaken('job.job_id', j.jobId);
    },

    async getJob(id) {
      const r = await pool.one<JobRow>(GET, [id, owner]);
      return r ? toJob(r) : null;
    },

    async updateJobStatus(id, status, failureReason) {
      await pool.rows(UPDATE_STATUS, [id, status, failureReason ?? null, owner]);
    },

    async markJobStuck(id) {
      await pool.rows(MARK_STUCK, [id, now().toISOString(), owner]);
    },

    getStuckJobs: async () => (await pool.rows<{ id: string }>(STUCK)).map((r) => r.id),

    listAgentJobs: async () => (await pool.rows<RecordRow>(LIST)).map(toRecord),

    agentJobSummary: async () => agentSummary(await pool.rows<{ status: string; n: number }>(SUMMARY)),

    getAgentJobFailureReason: async (id) => (await pool.one<{ r: string | null }>(FAILURE_REASON, [id, owner]))?.r ?? null,

    async saveAction(jobId, a) {
      const n = await pool
        .exec(SAVE_ACTION, [
          a.id,
          jobId,
          a.sequence,
          a.toolName,
          JSON.stringify(a.input),
          a.outputRaw,
          a.outputSanitized === undefined ? null : JSON.stringify(a.outputSanitized),
          JSON.stringify(a.sanitizationWarnings),
          a.cost,
          a.durationMs,
          a.success,
          a.error,
          a.executedAt.toISOString(),
          owner,
        ])
        .catch(duplicateAction);
      if (n === 0) throw jobMissing('job_id', jobId);
    },

    getJobActions: async (jobId) => (await pool.rows<ActionRow & { output_sanitized_text: string | null }>(ACTIONS_TEXT, [jobId, owner])).map(toAction),

    async recordLlmCall(r) {
      const id = randomUUID();
      const n = await pool
        .exec(LLM_CALL, [id, r.jobId, r.conversationId, r.provider, r.model, r.inputTokens, r.outputTokens, r.cost, r.purpose, now().toISOString(), owner])
        .catch(llmCallReferences(r.jobId, r.conversationId));
      if (n === 0) throw llmCallReferenceMissing(r.jobId, r.conversationId);
      return id;
    },

    async saveEstimationSnapshot(jobId, category, toolNames, estimatedCost, estimatedTimeSecs, estimatedValue) {
      const id = randomUUID();
      const n = await pool.exec(SNAPSHOT, [id, jobId, category, toolNames as unknown as string, estimatedCost, estimatedTimeSecs, estimatedValue, now().toISOString(), owner]);
      if (n === 0) throw jobMissing('job_id', jobId);
      return id;
    },

    async updateEstimationActuals(id, actualCost, actualTimeSecs, actualValue) {
      await pool.exec(ACTUALS, [id, actualCost, actualTimeSecs, actualValue, owner]);
    },
  };
}
