// Direct reads of a test database, for stored values no store method returns
// (estimation snapshots, llm calls, stuck_since). One query per dialect.
import Database from 'libsql';
import pg from 'pg';
import type { Config } from '../../src/config.js';

type Param = string | number | null;

export async function rawRows(config: Config, libsqlSql: string, pgSql: string, params: Param[] = []): Promise<Record<string, unknown>[]> {
  if (config.backend === 'libsql') {
    const db = new Database(config.libsqlPath, { readonly: true });
    try {
      return db.prepare(libsqlSql).all(...params) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: config.databaseUrl ?? '' });
  await c.connect();
  try {
    return (await c.query(pgSql, params)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}
