// ToolFailureStore on libSQL. Twin: src/backends/postgres/tool-failures.ts.
import { randomUUID } from 'node:crypto';
import { now } from '../../store/clock.js';
import type { BrokenTool, ToolFailureStore } from '../../store/tool-failures.js';
import { readOptJson, readTs, ts } from './codec.js';
import type { LibsqlPool } from './pool.js';

// A failure after a repair starts a new episode: count from 1, new first
// failure, repair attempts reset, repaired_at cleared. (SET expressions see
// the row as it was before the update.)
const RECORD = `INSERT INTO tool_failures (id, tool_name, error_message, error_count, first_failure, last_failure, repair_attempts)
  VALUES (?, ?, ?, 1, ?, ?, 0)
  ON CONFLICT (tool_name) DO UPDATE SET
    error_message   = excluded.error_message,
    last_failure    = excluded.last_failure,
    error_count     = CASE WHEN tool_failures.repaired_at IS NULL THEN tool_failures.error_count + 1 ELSE 1 END,
    first_failure   = CASE WHEN tool_failures.repaired_at IS NULL THEN tool_failures.first_failure ELSE excluded.first_failure END,
    repair_attempts = CASE WHEN tool_failures.repaired_at IS NULL THEN tool_failures.repair_attempts ELSE 0 END,
    repaired_at     = NULL`;

interface Row {
  tool_name: string;
  error_message: string | null;
  error_count: number;
  first_failure: string;
  last_failure: string;
  last_build_result: string | null;
  repair_attempts: number;
}

const toBroken = (r: Row): BrokenTool => ({
  name: r.tool_name,
  failureCount: r.error_count,
  lastError: r.error_message,
  firstFailure: readTs('first_failure', r.first_failure),
  lastFailure: readTs('last_failure', r.last_failure),
  lastBuildResult: readOptJson('last_build_result', r.last_build_result),
  repairAttempts: r.repair_attempts,
});

export function libsqlToolFailures(pool: LibsqlPool): ToolFailureStore {
  return {
    async recordToolFailure(toolName, errorMessage) {
      await pool.write((c) => {
        const t = ts(now());
        c.run(RECORD, [randomUUID(), toolName, errorMessage, t, t]);
      });
    },

    getBrokenTools: (threshold) =>
      pool.read((c) =>
        c
          .all<Row>(
            `SELECT tool_name, error_message, error_count, first_failure, last_failure, last_build_result, repair_attempts
             FROM tool_failures WHERE repaired_at IS NULL AND error_count >= ?
             ORDER BY error_count DESC, tool_name`,
            [threshold],
          )
          .map(toBroken),
      ),

    async markToolRepaired(toolName) {
      await pool.write((c) => c.run('UPDATE tool_failures SET repaired_at = ?, error_count = 0 WHERE tool_name = ?', [ts(now()), toolName]));
    },

    async incrementRepairAttempts(toolName) {
      await pool.write((c) => c.run('UPDATE tool_failures SET repair_attempts = repair_attempts + 1 WHERE tool_name = ?', [toolName]));
    },
  };
}
