// The link between an embedded replica and its primary. With LIBSQL_URL set,
// the file at LIBSQL_PATH is a copy of a remote libSQL database (Turso Cloud,
// or a self-hosted sqld): reads are local; the pool's one writer connection is
// the driver's replica handle, which runs every write transaction on the
// primary; when one commits, the pool pulls it back into the file before
// anything else (read-your-writes), so the daemon's next read sees it.
//
// What the `libsql` driver (0.5.x) does, and what this link adds to it:
//   - Every replica handle runs its own replicator, so there is one per file:
//     the writer. Readers are plain local connections, made read-only.
//   - Opening a handle asks the primary which sync protocol it speaks
//     (GET /info, no time limit), and a sync retries the replication handshake
//     three times, a second apart; the synchronous API blocks the event loop
//     for all of it. So the primary is probed here first, under a deadline,
//     and syncs go through the driver's promise flavour of the same native
//     call, which runs on the driver's own threads, under the same deadline.
//   - A failed contact with the primary (a sync, a write) marks it
//     unreachable: writes then fail at once with UNAVAILABLE rather than each
//     block on the network, and a sync is retried every retry interval until
//     the primary answers again.
//   - Errors from the primary come without an SQLite code; the driver's text
//     carries it (primarySqliteCode).
// The driver's own log lines (Rust tracing, on stdout) are off (./driver.ts).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ReplicaStatus, SyncResult } from '../../store/database.js';
import { StoreError } from '../../store/errors.js';
import { Database, PromiseDatabase, type Driver } from './driver.js';

export interface PrimaryOptions {
  /** The local replica file. */
  path: string;
  /** LIBSQL_URL: libsql://, https:// or http://, without credentials (config.ts checks). */
  url: string;
  authToken: string | null;
  /** Between background syncs; 0 = only on demand. */
  syncIntervalMs: number;
  /** Longest wait for the primary: the boot probe, each sync. */
  timeoutMs: number;
  /** How often an unreachable primary is tried again. */
  retryMs: number;
}

/** A write refused, or failed, because the primary cannot be reached. Retryable. */
export class PrimaryUnreachable extends StoreError {
  constructor(cause?: unknown) {
    super('unavailable', 'the primary database cannot be reached; retry later', { cause, setting: 'LIBSQL_URL' });
  }
}

// The driver's promise flavour of sync(); it takes the same native handle.
const nativeSync = PromiseDatabase.prototype.sync as (this: Driver) => Promise<unknown>;

export class PrimaryLink {
  private writable = true;
  private lastSyncAt: Date | null = null;
  private lastSyncFrames = 0;
  private framesPulled = 0;
  private frameNo: number | null = null;
  private lastSyncError: string | null = null;
  private lastSyncErrorAt: Date | null = null;
  /**
   * The driver's syncs, one after another: each starts after the one before
   * has finished (even one that outlived its deadline), so it pulls at least
   * what was committed when it was asked for.
   */
  private chain: Promise<unknown> = Promise.resolve();
  private background: (() => Promise<unknown>) | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: PrimaryOptions) {}

  /**
   * Checks, within the deadline, that the primary answers and takes the token.
   * Turso Cloud answers GET /info; sqld answers the replication handshake
   * (gRPC-web) on the same port, refusing a bad token with UNAUTHENTICATED.
   */
  async probe(): Promise<void> {
    const deadline = Date.now() + this.o.timeoutMs;
    const bearer = this.o.authToken ? `Bearer ${this.o.authToken}` : null;
    const base = this.o.url.replace(/^libsql:/, 'https:').replace(/\/+$/, '');
    const info = await this.ask(`${base}/info`, 'GET', bearer ? { authorization: bearer } : {}, deadline);
    if (info.refused) throw this.tokenRefused(`HTTP ${info.status}`);
    if (info.status >= 200 && info.status < 300) return;
    const headers = { 'content-type': 'application/grpc-web+proto', ...(bearer ? { 'x-authorization': bearer } : {}) };
    const hello = await this.ask(`${base}/wal_log.ReplicationLog/Hello`, 'POST', headers, deadline, Buffer.alloc(5)); // one empty message
    if (hello.refused) throw this.tokenRefused(hello.grpcStatus ? `gRPC status ${hello.grpcStatus}` : `HTTP ${hello.status}`);
  }

  /** One HTTP request, answered by `deadline`: its status, and a gRPC status from its headers or body. */
  private ask(url: string, method: string, headers: Record<string, string>, deadline: number, body?: Buffer): Promise<{ status: number; grpcStatus: string | null; refused: boolean }> {
    return new Promise((resolve, reject) => {
      const unreachable = (cause: string, e?: unknown) =>
        reject(new StoreError('unavailable', `cannot reach the primary at ${this.o.url} (${this.clean(cause)})`, { cause: e, setting: 'LIBSQL_URL' }));
      const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => unreachable(e.message, e));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const header = res.headers['grpc-status'];
          const grpcStatus = (typeof header === 'string' ? header : null) ?? /grpc-status:\s*(\d+)/.exec(Buffer.concat(chunks).toString('latin1'))?.[1] ?? null;
          // 401/403, or gRPC UNAUTHENTICATED (16) / PERMISSION_DENIED (7).
          resolve({ status, grpcStatus, refused: status === 401 || status === 403 || grpcStatus === '16' || grpcStatus === '7' });
        });
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)), Math.max(1, deadline - Date.now()));
      req.on('close', () => clearTimeout(timer));
      req.on('error', (e) => unreachable(e.message, e));
      req.end(body);
    });
  }

  private tokenRefused(how: string): StoreError {
    return new StoreError('unavailable', `the primary at ${this.o.url} refused the token (${how})`, { setting: 'LIBSQL_AUTH_TOKEN' });
  }

  /** Opens the replica handle on the local file, after a probe. */
  async open(): Promise<Driver> {
    await this.probe();
    try {
      return new Database(this.o.path, {
        syncUrl: this.o.url,
        authToken: this.o.authToken ?? '',
        // The pool pulls once per committed transaction instead (pool.ts pullBack).
        readYourWrites: false,
      } as ConstructorParameters<typeof Database>[1]);
    } catch (e) {
      const text = this.clean(causeOf(e));
      if (/wal_index|metadata file/.test(text)) {
        throw new StoreError('failed_precondition', `${this.o.path} holds a database that is not a replica of ${this.o.url}: move it away, or point LIBSQL_PATH at a new file`, {
          cause: e,
          setting: 'LIBSQL_PATH',
        });
      }
      if (/Unauthori[sz]ed/i.test(text)) throw this.tokenRefused(text);
      throw new StoreError('unavailable', `cannot open the replica of ${this.o.url} (${text})`, { cause: e, setting: 'LIBSQL_URL' });
    }
  }

  /** Pulls what the primary has that the replica lacks, through the replica handle. */
  async pull(handle: Driver): Promise<SyncResult> {
    const mine = this.chain.then(() => nativeSync.call(handle));
    this.chain = mine.catch(() => undefined);
    try {
      const r = (await within(mine, this.o.timeoutMs)) as { frames_synced?: unknown; frame_no?: unknown } | undefined;
      const frames = typeof r?.frames_synced === 'number' ? r.frames_synced : 0;
      if (typeof r?.frame_no === 'number') this.frameNo = r.frame_no;
      this.lastSyncAt = new Date();
      this.lastSyncFrames = frames;
      this.framesPulled += frames;
      this.writable = true;
      return { framesPulled: frames, frameNo: this.frameNo, syncedAt: this.lastSyncAt };
    } catch (e) {
      const failure = this.syncFailure(e);
      this.lastSyncError = failure.message;
      this.lastSyncErrorAt = new Date();
      this.writable = false;
      throw failure;
    } finally {
      this.schedule();
    }
  }

  private syncFailure(e: unknown): StoreError {
    if (e instanceof StoreError) return e;
    const text = this.clean(causeOf(e));
    if (/Unauthenticated|PermissionDenied|Unauthori[sz]ed/.test(text)) return this.tokenRefused(text);
    if (/PrimaryHandshakeTimeout/.test(text)) {
      return new StoreError('unavailable', `the primary at ${this.o.url} did not complete the replication handshake (is it a libSQL server?)`, { cause: e, setting: 'LIBSQL_URL' });
    }
    return new StoreError('unavailable', `cannot sync with the primary at ${this.o.url} (${text})`, { cause: e, setting: 'LIBSQL_URL' });
  }

  /** Refuses a write at once while the primary is known to be unreachable. */
  checkWritable(): void {
    if (!this.writable) throw new PrimaryUnreachable();
  }

  /** A write found the primary unreachable: refuse writes until a sync gets through. */
  lost(): void {
    if (!this.writable) return;
    this.writable = false;
    this.schedule();
  }

  /** Starts the background syncs: every sync interval, or every retry interval while the primary is unreachable. */
  startBackground(sync: () => Promise<unknown>): void {
    this.background = sync;
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const ms = this.writable ? this.o.syncIntervalMs : this.o.retryMs;
    if (this.closed || !this.background || ms <= 0) return;
    const run = this.background;
    this.timer = setTimeout(() => void run().catch(() => undefined), ms).unref();
  }

  status(): ReplicaStatus {
    return {
      primaryUrl: this.o.url,
      syncIntervalSeconds: this.o.syncIntervalMs / 1000,
      lastSyncAt: this.lastSyncAt,
      lastSyncFrames: this.lastSyncFrames,
      framesPulled: this.framesPulled,
      frameNo: this.frameNo,
      lastSyncError: this.lastSyncError,
      lastSyncErrorAt: this.lastSyncErrorAt,
      writable: this.writable,
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** Driver text made fit for logs and clients: first line, no response headers, never the token. */
  private clean(text: string): string {
    let t = text.split('\n')[0]!.replace(/,?\s*metadata: MetadataMap \{.*$/, ')');
    if (this.o.authToken) t = t.split(this.o.authToken).join('***');
    return t.length > 300 ? `${t.slice(0, 300)}…` : t;
  }
}

function causeOf(e: unknown): string {
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message) return cause.message;
  return e instanceof Error ? e.message : String(e);
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

// Extended SQLite result codes the primary reports as numbers
// (RemoteSqliteFailure): the ones translate() in pool.ts gives a meaning, by
// extended code or by primary code (its low byte).
const SQLITE_CODES: Record<number, string> = {
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  13: 'SQLITE_FULL',
  787: 'SQLITE_CONSTRAINT_FOREIGNKEY',
  1555: 'SQLITE_CONSTRAINT_PRIMARYKEY',
  2067: 'SQLITE_CONSTRAINT_UNIQUE',
};

/**
 * The SQLite code of a statement that failed on the primary, from the
 * driver's uncoded error: `RemoteSqliteFailure(<proxy error kind>, 2067, "…")`
 * (write delegation to sqld) or a code name in a Hrana error (Turso Cloud).
 * Null when the text holds none.
 */
export function primarySqliteCode(message: string): string | null {
  const remote = /RemoteSqliteFailure\(\d+, (\d+),/.exec(message);
  if (remote) {
    const extended = Number(remote[1]);
    return SQLITE_CODES[extended] ?? SQLITE_CODES[extended & 0xff] ?? null;
  }
  return /\bSQLITE_[A-Z_]+\b/.exec(message)?.[0] ?? null;
}

/** Whether an uncoded driver error is about reaching the primary (delegating, replicating, syncing). */
export function isPrimaryFailure(message: string): boolean {
  return /^(?:WriteDelegation|Replication|Hrana|Sync)\(|^(?:Write delegation|replication error|Hrana|sync error):/.test(message);
}
