// ConversationStore conformance (STORES.md §2.1, §7 "Conversations").
import { describe } from 'node:test';
import type { SuiteContext } from './suite.js';

export function conversationSuite(_ctx: SuiteContext): void {
  describe('ConversationStore', () => {});
}
