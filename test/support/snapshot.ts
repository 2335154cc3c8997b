// Every row of every table of a test database, read directly (not through
// agentstore), as one comparable value: tests that prove a call changed
// nothing compare a snapshot taken before it with one taken after.
import Libsql from 'libsql';
import pg from 'pg';
import type { Config } from '../../src/config.js';

/** Table name → its rows as JSON text, sorted. */
export type Snapshot = Record<string, string[]>;

export async function snapshot(config: Config): Promise<Snapshot> {
  const out: Snapshot = {};
  if (config.backend === 'libsql') {
    const db = new Libsql(config.libsqlPath, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
      for (const { name } of tables) {
        const rows = db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[];
        out[name] = rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (v instanceof ArrayBuffer ? Buffer.from(v).toString('hex') : v))).sort();
      }
    } finally {
      db.close();
    }
    return out;
  }
  const c = new pg.Client({ connectionString: config.databaseUrl ?? '' });
  await c.connect();
  try {
    const tables = await c.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    for (const { name } of tables.rows) {
      const rows = await c.query<{ r: string }>(`SELECT to_jsonb(t)::text AS r FROM "${name}" t`);
      out[name] = rows.rows.map((x) => x.r).sort();
    }
  } finally {
    await c.end();
  }
  return out;
}
