// Error messages for ConversationStore failures, the same on both backends.
import { StoreError } from '../store/errors.js';

/** A message for a conversation that does not exist. */
export function conversationMissing(conversationId: string): StoreError {
  return new StoreError('failed_precondition', `conversation_id: conversation ${conversationId} does not exist`);
}

/** Turns a unique-index failure on metadata into a message that says which rule. */
export function singletonConflict(e: unknown): never {
  if (e instanceof StoreError && e.kind === 'already_exists') {
    throw new StoreError(
      'already_exists',
      'metadata: this user already has a conversation with this routine_id, a heartbeat conversation, or an assistant thread on this channel',
      { cause: e },
    );
  }
  throw e;
}

/** Turns a foreign-key failure into the message that names the conversation. */
export function conversationMustExist(conversationId: string) {
  return (e: unknown): never => {
    if (e instanceof StoreError && e.kind === 'failed_precondition') throw conversationMissing(conversationId);
    throw e;
  };
}
