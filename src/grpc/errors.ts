// Store and access errors → gRPC statuses. Messages from StoreError and
// AccessError are written for clients (they name the field or object);
// anything else is a bug, answered as INTERNAL with a request id and never
// with driver or SQL text.
import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { StoreError, type StoreErrorKind } from '../store/errors.js';
import { AccessError } from './auth.js';

const CODES: Record<StoreErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  failed_precondition: status.FAILED_PRECONDITION,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  data_loss: status.DATA_LOSS,
  internal: status.INTERNAL,
};

export function toServiceError(e: unknown, requestId: string): ServiceError {
  let code: status;
  let details: string;
  if (e instanceof AccessError) [code, details] = [e.code, e.message];
  else if (e instanceof StoreError) [code, details] = [CODES[e.kind], e.kind !== 'internal' ? e.message : `internal error (request ${requestId})`];
  else [code, details] = [status.INTERNAL, `internal error (request ${requestId})`];
  const err = new Error(details) as ServiceError;
  err.code = code;
  err.details = details;
  err.metadata = new Metadata();
  return err;
}

export const statusName = (code: status): string => status[code] ?? String(code);
