// Every row of every table of a test database, read directly (not through
// agentstore), as one comparable value: tests that prove a call changed
// nothing compare a snapshot taken before it with one taken after.
import Libsql from 'libsql';
import pg from 'pg';
import type { Config } from '../../src/config.js';

/** Table name → its rows as JSON text, sorted. */
export type Snapshot = Record<string, string[]>;

export interface Snapshots {
  take(): Promise<Snapshot>;
  close(): Promise<void>;
}

/** Takes snapshots of the database `config` points at over one connection of its own. */
export async function snapshots(config: Config): Promise<Snapshots> {
  if (config.backend === 'libsql') {
    const db = new Libsql(config.libsqlPath, { readonly: true });
    return {
      take: async () => {
        const out: Snapshot = {};
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
        for (const { name } of tables) {
          const rows = db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[];
          out[name] = rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (v instanceof ArrayBuffer ? Buffer.from(v).toString('hex') : v))).sort();
        }
        return out;
      },
      close: async () => {
        db.close();
      },
    };
  }
  const c = new pg.Client({ connectionString: config.databaseUrl ?? '' });
  await c.connect();
  return {
    take: async () => {
      const out: Snapshot = {};
      const tables = await c.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
      );
      for (const { name } of tables.rows) {
        const rows = await c.query<{ r: string }>(`SELECT to_jsonb(t)::text AS r FROM "${name}" t`);
        out[name] = rows.rows.map((x) => x.r).sort();
      }
      return out;
    },
    close: () => c.end(),
  };
}
