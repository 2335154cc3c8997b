// Database lifecycle conformance: migrations, reopen, health.
import { describe } from 'node:test';
import type { SuiteContext } from './suite.js';

export function lifecycleSuite(_ctx: SuiteContext): void {
  describe('Database lifecycle', () => {});
}
