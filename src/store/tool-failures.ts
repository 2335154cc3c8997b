// ToolFailureStore: global per-tool failure counters for self-repair
// (STORES.md §2.5). Unlike the reference, a failure recorded after a repair
// starts a new episode (repaired_at cleared, count restarted at 1), so a tool
// that breaks again is reported again; the threshold is inclusive.
import type { ArgChecks } from './checks.js';
import { MAX_SHORT_TEXT_CHARS } from './limits.js';
import type { JsonValue } from './types.js';
import * as v from './validate.js';

export interface BrokenTool {
  name: string;
  failureCount: number;
  lastError: string | null;
  firstFailure: Date;
  lastFailure: Date;
  lastBuildResult: JsonValue | undefined;
  repairAttempts: number;
}

export interface ToolFailureStore {
  recordToolFailure(toolName: string, errorMessage: string): Promise<void>;
  getBrokenTools(threshold: number): Promise<BrokenTool[]>;
  markToolRepaired(toolName: string): Promise<void>;
  incrementRepairAttempts(toolName: string): Promise<void>;
}

export const toolFailureChecks: ArgChecks<ToolFailureStore> = {
  recordToolFailure: (toolName, errorMessage) => [v.name('tool_name', toolName), v.text('error_message', errorMessage, MAX_SHORT_TEXT_CHARS)],
  getBrokenTools: (threshold) => [v.nonNegativeInt('threshold', threshold)],
  markToolRepaired: (toolName) => [v.name('tool_name', toolName)],
  incrementRepairAttempts: (toolName) => [v.name('tool_name', toolName)],
};
