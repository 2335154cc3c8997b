// The one error type stores raise. Each kind maps to one gRPC status code
// (src/grpc/errors.ts); the message is safe to show to a client: it names the
// field or the object, never SQL or driver internals.

export type StoreErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'resource_exhausted'
  | 'unavailable'
  | 'data_loss'
  | 'internal';

export class StoreError extends Error {
  /** The setting to name when this error stops the daemon at boot (LIBSQL_URL, …). */
  readonly setting: string | undefined;

  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown; setting?: string },
  ) {
    super(message, options);
    this.name = 'StoreError';
    this.setting = options?.setting;
  }
}

export const invalidArgument = (field: string, why: string): StoreError =>
  new StoreError('invalid_argument', `${field}: ${why}`);

export const isStoreError = (e: unknown): e is StoreError => e instanceof StoreError;
