// Error messages for JobStore and SandboxStore failures, the same on both backends.
import { StoreError } from '../store/errors.js';

/** recordLlmCall references a job and a conversation, either of which may be missing (or not the caller's). */
export function llmCallReferenceMissing(jobId: string | null, conversationId: string | null, cause?: unknown): StoreError {
  const which = [jobId ? `job_id ${jobId}` : '', conversationId ? `conversation_id ${conversationId}` : ''].filter(Boolean).join(' or ');
  return new StoreError('failed_precondition', `${jobId ? 'job_id' : 'conversation_id'}: ${which} does not exist`, { cause });
}

/** A foreign-key failure of recordLlmCall, named after its references. */
export function llmCallReferences(jobId: string | null, conversationId: string | null) {
  return (e: unknown): never => {
    if (e instanceof StoreError && e.kind === 'failed_precondition') throw llmCallReferenceMissing(jobId, conversationId, e);
    throw e;
  };
}

/** A save whose id is taken by a job it may not overwrite: the other kind's, or (for a per-user view) another user's. */
export const idTaken = (field: string, id: string): StoreError => new StoreError('already_exists', `${field}: ${id} is already the id of another job`);

/** A referenced job that does not exist, or is not the caller's. */
export const jobMissing = (field: string, jobId: string): StoreError => new StoreError('failed_precondition', `${field}: job ${jobId} does not exist`);

export function duplicateAction(e: unknown): never {
  if (e instanceof StoreError && e.kind === 'already_exists') {
    throw new StoreError('already_exists', 'action: an action with this id or this (job, sequence) already exists', { cause: e });
  }
  throw e;
}
