// JobStore on libSQL. Twin: src/backends/postgres/jobs.ts.
import { randomUUID } from 'node:crypto';
import { now } from '../../store/clock.js';
import type { ActionRecord, AgentJobRecord, JobContext, JobStore } from '../../store/jobs.js';
import { conversationMissing, conversationMustExist } from '../conversation-errors.js';
import { duplicateAction, idTaken, jobMissing, llmCallReferenceMissing, llmCallReferences } from '../job-errors.js';
import { agentSummary, readState, readTransitions, readWarnings, transitionsJson } from '../job-rows.js';
import { readJson, readOptJson, readOptTs, readTs, ts } from './codec.js';
import type { Conn, LibsqlPool } from './pool.js';

// The first save fixes conversation, budget, bid and creation time; later
// saves overwrite the rest. Only a direct row of the owner (when there is
// one) is ever updated here.
const SAVE = `INSERT INTO agent_jobs (id, conversation_id, title, description, category, status, source, user_id,
    budget_amount, budget_token, bid_amount, estimated_cost, estimated_time_secs, actual_cost, repair_attempts,
    max_tokens, total_tokens_used, requester_id, transitions, metadata, user_timezone, created_at, started_at, completed_at)
  VALUES (?, ?, ?, ?, ?, ?, 'direct', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET
    title = excluded.title, description = excluded.description, category = excluded.category, status = excluded.status,
    user_id = excluded.user_id, estimated_cost = excluded.estimated_cost, estimated_time_secs = excluded.estimated_time_secs,
    actual_cost = excluded.actual_cost, repair_attempts = excluded.repair_attempts, max_tokens = excluded.max_tokens,
    total_tokens_used = excluded.total_tokens_used, requester_id = excluded.requester_id, transitions = excluded.transitions,
    metadata = excluded.metadata, user_timezone = excluded.user_timezone, started_at = excluded.started_at,
    completed_at = excluded.completed_at
  WHERE agent_jobs.source = 'direct' AND agent_jobs.user_id = COALESCE(?, agent_jobs.user_id)`;

/** The job, when it exists and belongs to the owner (to every job when the owner is null). */
const OWNED_JOB = 'SELECT 1 AS x FROM agent_jobs WHERE id = ? AND user_id = COALESCE(?, user_id)';
/** Only rows of a job of the owner; `column` names the job (`?1` when it is the statement's first parameter: then it runs once, not per row). */
const OWNED_JOB_OF = (column: string) => `EXISTS (SELECT 1 FROM agent_jobs j WHERE j.id = ${column} AND j.user_id = COALESCE(?, j.user_id))`;

const JOB_COLUMNS = `id, status, user_id, requester_id, conversation_id, title, description, category, budget_amount, budget_token,
  bid_amount, estimated_cost, estimated_time_secs, actual_cost, total_tokens_used, max_tokens, created_at, started_at,
  completed_at, repair_attempts, transitions, metadata, user_timezone`;

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
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  repair_attempts: number;
  transitions: string;
  metadata: string;
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
  createdAt: readTs('created_at', r.created_at),
  startedAt: readOptTs('started_at', r.started_at),
  completedAt: readOptTs('completed_at', r.completed_at),
  repairAttempts: r.repair_attempts,
  transitions: readTransitions(readJson('transitions', r.transitions)),
  metadata: readJson('metadata', r.metadata),
  userTimezone: r.user_timezone,
});

interface RecordRow {
  id: string;
  title: string;
  status: string;
  user_id: string;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  failure_reason: string | null;
}

const toRecord = (r: RecordRow): AgentJobRecord => ({
  id: r.id,
  title: r.title,
  status: readState('status', r.status),
  userId: r.user_id,
  createdAt: readTs('created_at', r.created_at),
  startedAt: readOptTs('started_at', r.started_at),
  completedAt: readOptTs('completed_at', r.completed_at),
  failureReason: r.failure_reason,
});

interface ActionRow {
  id: string;
  sequence_num: number;
  tool_name: string;
  input: string;
  output_raw: string | null;
  output_sanitized: string | null;
  sanitization_warnings: string;
  cost: string | null;
  duration_ms: number;
  success: number;
  error_message: string | null;
  created_at: string;
}

const toAction = (r: ActionRow): ActionRecord => {
  return {
    id: r.id,
    sequence: r.sequence_num,
    toolName: r.tool_name,
    input: readJson('input', r.input),
    outputRaw: r.output_raw,
    outputSanitized: readOptJson('output_sanitized', r.output_sanitized),
    sanitizationWarnings: readWarnings(readJson('sanitization_warnings', r.sanitization_warnings)),
    cost: r.cost,
    durationMs: r.duration_ms,
    success: r.success !== 0,
    error: r.error_message,
    executedAt: readTs('created_at', r.created_at),
  };
};

/**
 * `owner`: id-keyed methods see only that user's jobs (null: everyone's).
 * `onStatus` is told after commit which job's state changed (live event streams end on terminal states).
 */
export function libsqlJobs(pool: LibsqlPool, owner: string | null, onStatus: (jobId: string) => void): JobStore {
  /** A per-user view may only point a job at one of the user's conversations. */
  const conversationVisible = (c: Conn, conversationId: string | null) =>
    owner === null || conversationId === null || c.get('SELECT 1 AS x FROM conversations WHERE id = ? AND user_id = ?', [conversationId, owner]) !== undefined;
  return {
    async saveJob(j) {
      await pool
        .write((c) => {
          if (!conversationVisible(c, j.conversationId)) throw conversationMissing(j.conversationId!);
          const r = c.run(SAVE, [
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
            ts(j.createdAt),
            j.startedAt ? ts(j.startedAt) : null,
            j.completedAt ? ts(j.completedAt) : null,
            owner,
          ]);
          if (r.changes === 0) throw idTaken('job.job_id', j.jobId);
        })
        .catch(conversationMustExist(j.conversationId ?? ''));
      onStatus(j.jobId);
    },

    getJob: (id) =>
      pool.read((c) => {
        const r = c.get<JobRow>(`SELECT ${JOB_COLUMNS} FROM agent_jobs WHERE id = ? AND source = 'direct' AND user_id = COALESCE(?, user_id)`, [id, owner]);
        return r ? toJob(r) : null;
      }),

    async updateJobStatus(id, status, failureReason) {
      await pool.write((c) =>
        c.run("UPDATE agent_jobs SET status = ?, failure_reason = ? WHERE id = ? AND source = 'direct' AND user_id = COALESCE(?, user_id)", [
          status,
          failureReason ?? null,
          id,
          owner,
        ]),
      );
      onStatus(id);
    },

    async markJobStuck(id) {
      await pool.write((c) =>
        c.run("UPDATE agent_jobs SET status = 'stuck', stuck_since = ? WHERE id = ? AND source = 'direct' AND user_id = COALESCE(?, user_id)", [ts(now()), id, owner]),
      );
      onStatus(id);
    },

    getStuckJobs: () =>
      pool.read((c) => c.all<{ id: string }>("SELECT id FROM agent_jobs WHERE source = 'direct' AND status = 'stuck' ORDER BY seq").map((r) => r.id)),

    listAgentJobs: () =>
      pool.read((c) =>
        c
          .all<RecordRow>(
            `SELECT id, title, status, user_id, created_at, started_at, completed_at, failure_reason
             FROM agent_jobs WHERE source = 'direct' ORDER BY created_at DESC, seq DESC`,
          )
          .map(toRecord),
      ),

    agentJobSummary: () =>
      pool.read((c) => agentSummary(c.all<{ status: string; n: number }>("SELECT status, count(*) AS n FROM agent_jobs WHERE source = 'direct' GROUP BY status"))),

    getAgentJobFailureReason: (id) =>
      pool.read(
        (c) =>
          c.get<{ r: string | null }>("SELECT failure_reason AS r FROM agent_jobs WHERE id = ? AND source = 'direct' AND user_id = COALESCE(?, user_id)", [id, owner])
            ?.r ?? null,
      ),

    async saveAction(jobId, a) {
      await pool
        .write((c) => {
          const job = c.get<{ source: string }>('SELECT source FROM agent_jobs WHERE id = ? AND user_id = COALESCE(?, user_id)', [jobId, owner]);
          if (!job || job.source !== 'direct') throw jobMissing('job_id', jobId);
          c.run(
            `INSERT INTO job_actions (id, job_id, sequence_num, tool_name, input, output_raw, output_sanitized, sanitization_warnings,
               cost, duration_ms, success, error_message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [
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
              a.success ? 1 : 0,
              a.error,
              ts(a.executedAt),
            ],
          );
        })
        .catch(duplicateAction);
    },

    getJobActions: (jobId) =>
      pool.read((c) =>
        c
          .all<ActionRow>(
            `SELECT id, sequence_num, tool_name, input, output_raw, output_sanitized, sanitization_warnings, cost, duration_ms,
               success, error_message, created_at FROM job_actions WHERE job_id = ? AND ${OWNED_JOB_OF('?1')} ORDER BY sequence_num`,
            [jobId, owner],
          )
          .map(toAction),
      ),

    async recordLlmCall(r) {
      const id = randomUUID();
      await pool
        .write((c) => {
          // A per-user view may only reference the user's own job and conversation.
          if ((owner !== null && r.jobId !== null && !c.get(OWNED_JOB, [r.jobId, owner])) || !conversationVisible(c, r.conversationId)) {
            throw llmCallReferenceMissing(r.jobId, r.conversationId);
          }
          c.run(
            `INSERT INTO llm_calls (id, job_id, conversation_id, provider, model, input_tokens, output_tokens, cost, purpose, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [id, r.jobId, r.conversationId, r.provider, r.model, r.inputTokens, r.outputTokens, r.cost, r.purpose, ts(now())],
          );
        })
        .catch(llmCallReferences(r.jobId, r.conversationId));
      return id;
    },

    async saveEstimationSnapshot(jobId, category, toolNames, estimatedCost, estimatedTimeSecs, estimatedValue) {
      const id = randomUUID();
      await pool
        .write((c) => {
          const n = c.run(
            `INSERT INTO estimation_snapshots (id, job_id, category, tool_names, estimated_cost, estimated_time_secs, estimated_value, created_at)
             SELECT ?, id, ?, ?, ?, ?, ?, ? FROM agent_jobs WHERE id = ? AND user_id = COALESCE(?, user_id)`,
            [id, category, JSON.stringify(toolNames), estimatedCost, estimatedTimeSecs, estimatedValue, ts(now()), jobId, owner],
          ).changes;
          if (n === 0) throw jobMissing('job_id', jobId);
        });
      return id;
    },

    async updateEstimationActuals(id, actualCost, actualTimeSecs, actualValue) {
      await pool.write((c) =>
        c.run(
          `UPDATE estimation_snapshots SET actual_cost = ?, actual_time_secs = ?, actual_value = ?
           WHERE id = ? AND ${OWNED_JOB_OF('estimation_snapshots.job_id')}`,
          [actualCost, actualTimeSecs, actualValue, id, owner],
        ),
      );
    },
  };
}
