// Error messages for JobStore and SandboxStore failures, the same on both backends.
import { StoreError } from '../store/errors.js';

/** A foreign-key failure on a job reference, named after the field. */
export function jobMustExist(field: string, jobId: string | null) {
  return (e: unknown): never => {
    if (e instanceof StoreError && e.kind === 'failed_precondition') {
      throw new StoreError('failed_precondition', `${field}: job ${jobId} does not exist (or a referenced conversation does not)`, { cause: e });
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
