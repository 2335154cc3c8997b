// ToolFailureStore conformance (STORES.md §2.5, §7 "Tool failures").
import { describe } from 'node:test';
import type { SuiteContext } from './suite.js';

export function toolFailureSuite(_ctx: SuiteContext): void {
  describe('ToolFailureStore', () => {});
}
