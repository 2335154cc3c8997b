// ToolFailureStore on PostgreSQL. Twin: src/backends/libsql/tool-failures.ts.
import { randomUUID } from 'node:crypto';
import { now } from '../../store/clock.js';
import type { BrokenTool, ToolFailureStore } from '../../store/tool-failures.js';
import type { JsonValue } from '../../store/types.js';
import { sql, type PgPool } from './pool.js';

// A failure after a repair starts a new episode: count from 1, new first
// failure, repair attempts reset, repaired_at cleared. (SET expressions see
// the row as it was before the update.)
const RECORD = sql(`INSERT INTO tool_failures (id, tool_name, error_message, error_count, first_failure, last_failure, repair_attempts)
  VALUES ($1, $2, $3, 1, $4, $4, 0)
  ON CONFLICT (tool_name) DO UPDATE SET
    error_message   = EXCLUDED.error_message,
    last_failure    = EXCLUDED.last_failure,
    error_count     = CASE WHEN tool_failures.repaired_at IS NULL THEN tool_failures.error_count + 1 ELSE 1 END,
    first_failure   = CASE WHEN tool_failures.repaired_at IS NULL THEN tool_failures.first_failure ELSE EXCLUDED.first_failure END,
    repair_attempts = CASE WHEN tool_failures.repaired_at IS NULL THEN tool_failures.repair_attempts ELSE 0 END,
    repaired_at     = NULL`);
const BROKEN = sql(`SELECT tool_name, error_message, error_count, first_failure, last_failure, last_build_result, repair_attempts
  FROM tool_failures WHERE repaired_at IS NULL AND error_count >= $1
  ORDER BY error_count DESC, tool_name`);
const REPAIRED = sql('UPDATE tool_failures SET repaired_at = $2, error_count = 0 WHERE tool_name = $1');
const INCREMENT = sql('UPDATE tool_failures SET repair_attempts = repair_attempts + 1 WHERE tool_name = $1');

interface Row {
  tool_name: string;
  error_message: string | null;
  error_count: number;
  first_failure: Date;
  last_failure: Date;
  last_build_result: JsonValue;
  repair_attempts: number;
}

const toBroken = (r: Row): BrokenTool => ({
  name: r.tool_name,
  failureCount: r.error_count,
  lastError: r.error_message,
  firstFailure: r.first_failure,
  lastFailure: r.last_failure,
  // A SQL NULL and a stored JSON null both arrive as null; the column is only
  // ever NULL (never written by these methods) or an object, so null = absent.
  lastBuildResult: r.last_build_result === null ? undefined : r.last_build_result,
  repairAttempts: r.repair_attempts,
});

export function pgToolFailures(pool: PgPool): ToolFailureStore {
  return {
    async recordToolFailure(toolName, errorMessage) {
      await pool.exec(RECORD, [randomUUID(), toolName, errorMessage, now().toISOString()]);
    },
    getBrokenTools: async (threshold) => (await pool.rows<Row>(BROKEN, [threshold])).map(toBroken),
    async markToolRepaired(toolName) {
      await pool.exec(REPAIRED, [toolName, now().toISOString()]);
    },
    async incrementRepairAttempts(toolName) {
      await pool.exec(INCREMENT, [toolName]);
    },
  };
}
