// Error messages for JobStore and SandboxStore failures, the same on both backends.
import { StoreError } from '../store/errors.js';

/** A foreign-key failure on a job reference, named after the field. */
export function jobMustExist(field: string, jobId: string | null) {
  return (e: unknown): never => {
    if (e instanceof StoreError && e.kind === 'failed_precondition') {
      throw new StoreError('failed_precondition', `${field}: job ${jobId} does not exist`, { cause: e });
    }
    throw e;
  };
}

/** recordLlmCall references a job and a conversation, either of which may be missing. */
export function llmCallReferences(jobId: string | null, conversationId: string | null) {
  return (e: unknown): never => {
    if (e instanceof StoreError && e.kind === 'failed_precondition') {
      const which = [jobId ? `job_id ${jobId}` : '', conversationId ? `conversation_id ${conversationId}` : ''].filter(Boolean).join(' or ');
      throw new StoreError('failed_precondition', `${jobId ? 'job_id' : 'conversation_id'}: ${which} does not exist`, { cause: e });
    }
    throw e;
  };
}

export const otherKind = (field: string, id: string, kind: 'sandbox' | 'direct'): StoreError =>
  new StoreError('already_exists', `${field}: ${id} is already the id of a ${kind} job`);

export function duplicateAction(e: unknown): never {
  if (e instanceof StoreError && e.kind === 'already_exists') {
    throw new StoreError('already_exists', 'action: an action with this id or this (job, sequence) already exists', { cause: e });
  }
  throw e;
}
