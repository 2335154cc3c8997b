// Applies migrations-pg/V*.sql in order, each in its own transaction together
// with its history row. A session-level advisory lock makes two daemons
// booting at once migrate once: the second waits, then finds nothing to do.
import { loadMigrations, pending, type AppliedMigration } from '../migrations.js';
import type { PgPool } from './pool.js';

// Arbitrary constant shared by every agentstore daemon ("agentstr" in ASCII);
// also held while the pgvector index is set up at boot (workspace.ts).
export const LOCK_KEY = '7018969283839865970';

export const pgMigrations = () => loadMigrations('migrations-pg');

export async function migratePostgres(pool: PgPool): Promise<void> {
  const known = pgMigrations();
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS agentstore_schema_history (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        checksum   TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
      const applied = (await client.query<AppliedMigration>('SELECT version, name, checksum FROM agentstore_schema_history ORDER BY version')).rows;
      for (const m of pending(known, applied)) {
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO agentstore_schema_history (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

export async function pgSchemaVersion(pool: PgPool): Promise<number> {
  const client = await pool.connect();
  try {
    const exists = await client.query("SELECT to_regclass('agentstore_schema_history') IS NOT NULL AS present");
    if (!exists.rows[0]?.present) return 0;
    const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM agentstore_schema_history');
    return r.rows[0]?.v ?? 0;
  } finally {
    client.release();
  }
}
