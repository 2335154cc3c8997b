// PostgreSQL connections: one pg-pool, sized by DATABASE_POOL_SIZE, with an
// acquire timeout. An operation holds at most one pooled client; a
// multi-statement method runs in one transaction on that client. Statements
// are named, so each connection parses and plans each of them once.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { StoreError } from '../../store/errors.js';

export interface Stmt {
  readonly name: string;
  readonly text: string;
}

/** A named (prepared-once-per-connection) statement. */
export function sql(text: string): Stmt {
  return { name: 'as_' + createHash('sha1').update(text).digest('hex').slice(0, 16), text };
}

/**
 * An unnamed statement, planned for its parameters on every call: for a
 * query whose best plan depends on the values (a named statement may switch to
 * one generic plan after five calls).
 */
export function sqlPlannedPerCall(text: string): Stmt {
  return { name: '', text };
}

type Param = string | number | boolean | null | Buffer;

export interface Queryable {
  rows<T>(stmt: Stmt, params?: Param[]): Promise<T[]>;
  one<T>(stmt: Stmt, params?: Param[]): Promise<T | undefined>;
  exec(stmt: Stmt, params?: Param[]): Promise<number>;
}

// int8 → number (counts and sequences stay far below 2^53); numeric stays a
// string (exact decimals); timestamptz → Date; jsonb → parsed JSON.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function queryable(run: (cfg: pg.QueryConfig) => Promise<pg.QueryResult>): Queryable {
  return {
    async rows<T>(stmt: Stmt, params: Param[] = []) {
      return (await run({ name: stmt.name, text: stmt.text, values: params }).catch(rethrow)).rows as T[];
    },
    async one<T>(stmt: Stmt, params: Param[] = []) {
      return (await run({ name: stmt.name, text: stmt.text, values: params }).catch(rethrow)).rows[0] as T | undefined;
    },
    async exec(stmt: Stmt, params: Param[] = []) {
      return (await run({ name: stmt.name, text: stmt.text, values: params }).catch(rethrow)).rowCount ?? 0;
    },
  };
}

export class PgPool implements Queryable {
  readonly pool: pg.Pool;
  private readonly q: Queryable;

  constructor(opts: { url: string; size: number; acquireTimeoutMs: number; onError?: (e: Error) => void }) {
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.size,
      connectionTimeoutMillis: opts.acquireTimeoutMs,
      idleTimeoutMillis: 30_000,
      types,
      application_name: 'agentstore',
    });
    // An idle client losing its connection must not crash the daemon; the
    // pool drops it and the next acquire opens a fresh one.
    this.pool.on('error', (e) => opts.onError?.(e));
    this.q = queryable((cfg) => this.pool.query(cfg));
  }

  rows<T>(stmt: Stmt, params?: Param[]) {
    return this.q.rows<T>(stmt, params);
  }
  one<T>(stmt: Stmt, params?: Param[]) {
    return this.q.one<T>(stmt, params);
  }
  exec(stmt: Stmt, params?: Param[]) {
    return this.q.exec(stmt, params);
  }

  /** Runs `fn` in one transaction on one client; any failure rolls back. */
  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch(rethrow);
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(queryable((cfg) => client.query(cfg)));
      await client.query('COMMIT');
      return result;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw rethrow(e);
    } finally {
      client.release(broken);
    }
  }

  /** A client for the caller's exclusive use (migrations). */
  connect(): Promise<pg.PoolClient> {
    return this.pool.connect().catch(rethrow);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', '53300', '57P01', '57P02', '57P03']);

/** Maps driver errors to store errors; store errors pass through. */
export function translate(e: unknown): unknown {
  if (e instanceof StoreError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : '';
  if (code === '23505') return new StoreError('already_exists', 'a row with the same key already exists', { cause: e });
  if (code === '23503') return new StoreError('failed_precondition', 'a referenced row does not exist', { cause: e });
  if (code === '40001' || code === '40P01' || code === '55P03') return new StoreError('unavailable', 'transaction conflict; retry', { cause: e });
  if (
    UNAVAILABLE_CODES.has(code) ||
    code.startsWith('08') ||
    /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error|Cannot use a pool after calling end/i.test(message)
  ) {
    return new StoreError('unavailable', 'database is unreachable; retry', { cause: e });
  }
  return e;
}

function rethrow(e: unknown): never {
  throw translate(e);
}
