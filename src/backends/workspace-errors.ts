// Error messages for WorkspaceStore failures, the same on both backends.
import { StoreError } from '../store/errors.js';

/** A chunk's document that does not exist (or is not the caller's). */
export const documentMissing = (documentId: string): StoreError =>
  new StoreError('failed_precondition', `document_id: document ${documentId} does not exist`);

/** insertChunk: a foreign-key failure names the document, a unique one the index. */
export function chunkInsertFailed(documentId: string, chunkIndex: number) {
  return (e: unknown): never => {
    if (e instanceof StoreError && e.kind === 'failed_precondition') {
      throw documentMissing(documentId);
    }
    if (e instanceof StoreError && e.kind === 'already_exists') {
      throw new StoreError('already_exists', `chunk_index: document ${documentId} already has chunk ${chunkIndex} (delete its chunks before re-indexing)`, {
        cause: e,
      });
    }
    throw e;
  };
}
