// The one bridge between protobuf-es service descriptors and grpc-js: it
// derives grpc-js service definitions (paths, serializers) from the generated
// descriptors and wraps every handler with the same authenticate → decode →
// authorize (the RPC's rule, src/grpc/rules.ts) → run → encode, error
// mapping, deadline check and one log line (an audit line for refused calls
// and for writes by user-scoped tokens). No per-method glue.
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import { StoreError } from '../store/errors.js';
import { AccessError, ANONYMOUS, type Authenticator, type Caller } from './auth.js';
import { statusName, toServiceError } from './errors.js';
import { authorize, type Rule, type Rules } from './rules.js';

export interface CallContext {
  requestId: string;
  /** Who is calling, decided once before the handler runs. */
  caller: Caller;
  /** Aborted when the client cancels or the deadline passes. */
  signal: AbortSignal;
  metadata: grpc.Metadata;
}

type Init<M extends DescMessage> = MessageInitShape<M>;
type UnaryHandler<I extends DescMessage, O extends DescMessage> = (req: MessageShape<I>, ctx: CallContext) => Promise<Init<O>> | Init<O>;
type ServerStreamHandler<I extends DescMessage, O extends DescMessage> = (
  req: MessageShape<I>,
  send: (msg: Init<O>) => Promise<void>,
  ctx: CallContext,
) => Promise<void>;

export type ServiceImpl<T extends GenServiceMethods> = {
  [K in keyof T]: T[K]['methodKind'] extends 'unary'
    ? UnaryHandler<T[K]['input'], T[K]['output']>
    : T[K]['methodKind'] extends 'server_streaming'
      ? ServerStreamHandler<T[K]['input'], T[K]['output']>
      : never;
};

/** Marks a request that failed to decode, so the handler answers INVALID_ARGUMENT. */
class Undecodable {
  constructor(readonly reason: string) {}
}

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function methodDefinition(method: DescMethod, service: { typeName: string }): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/${service.typeName}/${method.name}`,
    requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
    responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
    requestSerialize: (msg: unknown) => toBuffer(toBinary(method.input, msg as MessageShape<DescMessage>)),
    requestDeserialize: (buf: Buffer) => {
      try {
        return fromBinary(method.input, buf);
      } catch (e) {
        return new Undecodable(e instanceof Error ? e.message : 'malformed message');
      }
    },
    responseSerialize: (msg: unknown) => toBuffer(toBinary(method.output, msg as MessageShape<DescMessage>)),
    responseDeserialize: (buf: Buffer) => fromBinary(method.output, buf),
    originalName: method.localName,
  };
}

/** grpc-js service definition of a protobuf-es service descriptor. */
export function serviceDefinition(service: GenService<GenServiceMethods>): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) def[m.name] = methodDefinition(m, service);
  return def as grpc.ServiceDefinition;
}

let requestCounter = 0;

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

function deadlineMs(call: AnyCall): number {
  const d = call.getDeadline();
  return d instanceof Date ? d.getTime() : d;
}

/**
 * The call's context. The abort signal is built on first use only (streams
 * use it; most unary handlers never look), so a plain unary call pays for no
 * timer or listener.
 */
function contextOf(call: AnyCall): CallContext & { done: () => void } {
  const given = call.metadata.get('x-request-id')[0];
  const requestId = typeof given === 'string' && given.length > 0 && given.length <= 128 ? given : `r${++requestCounter}`;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onCancel = () => controller?.abort(new StoreError('unavailable', 'call cancelled'));
  return {
    requestId,
    caller: ANONYMOUS,
    metadata: call.metadata,
    get signal() {
      if (!controller) {
        controller = new AbortController();
        call.once('cancelled', onCancel);
        const ms = deadlineMs(call) - Date.now();
        if (ms <= 0 || call.cancelled) controller.abort(new StoreError('unavailable', 'deadline exceeded or call cancelled'));
        else if (Number.isFinite(ms)) timer = setTimeout(() => controller?.abort(new StoreError('unavailable', 'deadline exceeded')), ms);
      }
      return controller.signal;
    },
    done: () => {
      if (timer) clearTimeout(timer);
      if (controller) call.removeListener('cancelled', onCancel);
    },
  };
}

/** CANCELLED or DEADLINE_EXCEEDED when the call has ended that way, else undefined. */
function endedError(call: AnyCall): grpc.ServiceError | undefined {
  let code: grpc.status;
  let details: string;
  if (call.cancelled) [code, details] = [grpc.status.CANCELLED, 'call cancelled by the client'];
  else if (deadlineMs(call) <= Date.now()) [code, details] = [grpc.status.DEADLINE_EXCEEDED, 'deadline exceeded'];
  else return undefined;
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

export interface BridgeDeps {
  log: Logger;
  auth: Authenticator;
}

/**
 * Authenticates the call and checks its rule; the refusal is an AccessError.
 * Returns the request, or the reason it could not be decoded.
 */
function admit(call: AnyCall, ctx: CallContext, rule: Rule<unknown>, auth: Authenticator): unknown {
  ctx.caller = auth.authenticate(call.metadata);
  const req = call.request;
  // A service-only refusal needs no request (undecodable bytes are refused
  // too, and audited); the user-id check needs the request decoded.
  if (!(req instanceof Undecodable) || rule.kind === 'service') authorize(rule, ctx.caller, req);
  return req;
}

/** Registers `impl` for `service` on `server`, every method wrapped alike and guarded by its rule in `rules`. */
export function addService<T extends GenServiceMethods>(server: grpc.Server, service: GenService<T>, impl: ServiceImpl<T>, rules: Rules<T>, deps: BridgeDeps): void {
  const { log, auth } = deps;
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const rpc = `${service.typeName}/${method.name}`;
    const fn = (impl as Record<string, unknown>)[method.localName];
    if (typeof fn !== 'function') throw new Error(`no handler for ${rpc}`);
    const rule = (rules as Record<string, Rule<unknown> | undefined>)[method.localName];
    if (rule === undefined) throw new Error(`no authorization rule for ${rpc}`);

    const finish = (call: AnyCall, ctx: CallContext, started: number, code: grpc.status, err?: unknown) => {
      const line: Record<string, unknown> = { rpc, code: statusName(code), ms: Math.round((performance.now() - started) * 1000) / 1000, req: ctx.requestId };
      const { caller } = ctx;
      if (caller.name !== null) line.who = caller.name;
      // The audit trail: every refused call, every write by a user-scoped token.
      if (err instanceof AccessError) Object.assign(line, { audit: true, why: err.message, peer: call.getPeer() });
      else if (caller.userId !== null && rule.access === 'write') Object.assign(line, { audit: true, user: caller.userId });
      if (code === grpc.status.INTERNAL || code === grpc.status.DATA_LOSS) log.error({ ...line, err }, 'rpc failed');
      else log.info(line, 'rpc');
    };

    if (method.methodKind === 'unary') {
      const handler = fn as UnaryHandler<DescMessage, DescMessage>;
      handlers[method.name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const started = performance.now();
        const ctx = contextOf(call);
        const fail = (e: unknown) => {
          ctx.done();
          const se = endedError(call) ?? toServiceError(e, ctx.requestId);
          finish(call, ctx, started, se.code, e);
          callback(se);
        };
        let req: unknown;
        try {
          req = admit(call, ctx, rule, auth);
        } catch (e) {
          return fail(e);
        }
        if (req instanceof Undecodable) return fail(new StoreError('invalid_argument', `request: cannot decode ${method.input.typeName}: ${req.reason}`));
        if (endedError(call)) return fail(undefined);
        let pending: Promise<Init<DescMessage>> | Init<DescMessage>;
        try {
          pending = handler(req as MessageShape<DescMessage>, ctx);
        } catch (e) {
          return fail(e);
        }
        Promise.resolve(pending).then((out) => {
          ctx.done();
          let msg: MessageShape<DescMessage>;
          try {
            msg = create(method.output, out);
          } catch (e) {
            return fail(e);
          }
          finish(call, ctx, started, grpc.status.OK);
          callback(null, msg);
        }, fail);
      };
    } else if (method.methodKind === 'server_streaming') {
      const handler = fn as ServerStreamHandler<DescMessage, DescMessage>;
      handlers[method.name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const started = performance.now();
        const ctx = contextOf(call);
        const send = (out: Init<DescMessage>): Promise<void> =>
          new Promise((resolve, reject) => {
            const signal = ctx.signal;
            if (signal.aborted) return reject(signal.reason);
            // Respect back-pressure: wait for the write to drain before the
            // next, but give up when the call ends (a cancelled call never drains).
            if (call.write(create(method.output, out))) return resolve();
            const onDrain = () => {
              signal.removeEventListener('abort', onAbort);
              resolve();
            };
            const onAbort = () => {
              call.removeListener('drain', onDrain);
              reject(signal.reason);
            };
            call.once('drain', onDrain);
            signal.addEventListener('abort', onAbort, { once: true });
          });
        const run = Promise.resolve().then(() => {
          const req = admit(call, ctx, rule, auth);
          if (req instanceof Undecodable) throw new StoreError('invalid_argument', `request: cannot decode ${method.input.typeName}: ${req.reason}`);
          return handler(req as MessageShape<DescMessage>, send, ctx);
        });
        run.then(
          () => {
            ctx.done();
            finish(call, ctx, started, grpc.status.OK);
            call.end();
          },
          (e: unknown) => {
            ctx.done();
            const se = endedError(call) ?? toServiceError(e, ctx.requestId);
            finish(call, ctx, started, se.code, e);
            // grpc-js sends a stream's status from end(); emitting 'error'
            // records the status and ends the stream. (destroy() would skip
            // end() and leave the client waiting for a status forever.)
            if (!call.cancelled) call.emit('error', se);
          },
        );
      };
    } else {
      throw new Error(`${rpc}: ${method.methodKind} methods are not supported`);
    }
  }
  server.addService(serviceDefinition(service as unknown as GenService<GenServiceMethods>), handlers);
}
