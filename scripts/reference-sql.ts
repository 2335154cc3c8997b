// The minimal reference: each operation is the SQL the contract needs, sent
// through the raw driver with nothing around it — a `pg` pool with
// unnamed (parse-every-time) statements, or one reused @libsql/client. The
// reference daemon serves these over gRPC; the benchmark also calls them
// in-process to compare against our Database path.
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from '@libsql/client';
import pg from 'pg';

export interface RefMessage {
  id: string;
  role: string;
  content: string;
  createdAt: Date;
  seq: number;
}

export interface RefStore {
  /**
   * The INSERT of the message, then the touch of its conversation: two
   * statements, no transaction, as STORES.md §2.1 describes the reference.
   */
  addMessage(conversationId: string, role: string, content: string): Promise<string>;
  /** The newest `limit` messages (limit + 1 fetched, for has_more), newest first. */
  page(conversationId: string, limit: number): Promise<RefMessage[]>;
  setSetting(userId: string, key: string, jsonText: string): Promise<void>;
  /** The stored JSON value, or undefined when there is no row. */
  getSetting(userId: string, key: string): Promise<unknown>;
  close(): Promise<void>;
}

const INSERT_MESSAGE = 'INSERT INTO conversation_messages (id, conversation_id, role, content, created_at) VALUES';
const TOUCH = 'UPDATE conversations SET last_activity = ';
const PAGE = 'SELECT id, role, content, created_at, seq FROM conversation_messages WHERE conversation_id =';

export async function referenceLibsql(path: string): Promise<RefStore> {
  // One connection: the client otherwise opens more whenever calls overlap
  // across an await, and a PRAGMA sent through execute() reaches only one of
  // them (the others would stay on synchronous=FULL and no busy timeout).
  const client: Client = createClient({ url: `file:${path}`, concurrency: 1 });
  // The same connection settings as agentstore's own connections (WAL is a
  // property of the file, already set by the migrations).
  await client.execute('PRAGMA busy_timeout = 5000');
  await client.execute('PRAGMA foreign_keys = ON');
  await client.execute('PRAGMA synchronous = NORMAL');
  return {
    async addMessage(conversationId, role, content) {
      const id = randomUUID();
      const now = new Date().toISOString();
      await client.execute({ sql: `${INSERT_MESSAGE} (?, ?, ?, ?, ?)`, args: [id, conversationId, role, content, now] });
      await client.execute({ sql: `${TOUCH} ? WHERE id = ?`, args: [now, conversationId] });
      return id;
    },
    async page(conversationId, limit) {
      const rs = await client.execute({ sql: `${PAGE} ? ORDER BY created_at DESC, seq DESC LIMIT ?`, args: [conversationId, limit + 1] });
      return rs.rows.map((r) => ({
        id: r.id as string,
        role: r.role as string,
        content: r.content as string,
        createdAt: new Date(r.created_at as string),
        seq: Number(r.seq),
      }));
    },
    async setSetting(userId, key, jsonText) {
      await client.execute({
        sql: `INSERT INTO settings (user_id, key, value, updated_at) VALUES (?, ?, ?, ?)
              ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        args: [userId, key, jsonText, new Date().toISOString()],
      });
    },
    async getSetting(userId, key) {
      const rs = await client.execute({ sql: 'SELECT value FROM settings WHERE user_id = ? AND key = ?', args: [userId, key] });
      const r = rs.rows[0];
      return r ? (JSON.parse(r.value as string) as unknown) : undefined;
    },
    async close() {
      client.close();
    },
  };
}

export async function referencePostgres(url: string, size: number): Promise<RefStore> {
  const pool = new pg.Pool({ connectionString: url, max: size });
  // pg-pool's end() resolves before its clients' sockets close; a server
  // stopped right after would otherwise crash the process through an
  // unhandled 'error' on the pool.
  pool.on('error', () => undefined);
  await pool.query('SELECT 1');
  return {
    async addMessage(conversationId, role, content) {
      const id = randomUUID();
      const now = new Date().toISOString();
      await pool.query(`${INSERT_MESSAGE} ($1, $2, $3, $4, $5)`, [id, conversationId, role, content, now]);
      await pool.query(`${TOUCH} $1 WHERE id = $2`, [now, conversationId]);
      return id;
    },
    async page(conversationId, limit) {
      const rs = await pool.query<{ id: string; role: string; content: string; created_at: Date; seq: string }>(
        `${PAGE} $1 ORDER BY created_at DESC, seq DESC LIMIT $2`,
        [conversationId, limit + 1],
      );
      return rs.rows.map((r) => ({ id: r.id, role: r.role, content: r.content, createdAt: r.created_at, seq: Number(r.seq) }));
    },
    async setSetting(userId, key, jsonText) {
      await pool.query(
        `INSERT INTO settings (user_id, key, value, updated_at) VALUES ($1, $2, $3::jsonb, $4)
         ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
        [userId, key, jsonText, new Date().toISOString()],
      );
    },
    async getSetting(userId, key) {
      const rs = await pool.query<{ value: unknown }>('SELECT value FROM settings WHERE user_id = $1 AND key = $2', [userId, key]);
      return rs.rows[0] ? rs.rows[0].value : undefined;
    },
    close: () => pool.end(),
  };
}
