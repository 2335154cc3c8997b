// Applies schema-libsql/V*.sql in order. Each migration runs in its own
// BEGIN IMMEDIATE transaction together with its history row, so two daemons
// booting on one file migrate once: the second waits for the write lock, then
// sees the version recorded and skips it.
import { loadMigrations, pending, type AppliedMigration } from '../migrations.js';
import { ts } from './codec.js';
import type { LibsqlPool } from './pool.js';

const HISTORY = `CREATE TABLE IF NOT EXISTS agentstore_schema_history (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  checksum   TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

export const libsqlMigrations = () => loadMigrations('schema-libsql');

export async function migrateLibsql(pool: LibsqlPool): Promise<void> {
  const known = libsqlMigrations();
  await pool.withWriter((c) => {
    c.exec(HISTORY);
    for (;;) {
      c.exec('BEGIN IMMEDIATE');
      try {
        const applied = c.all<AppliedMigration>('SELECT version, name, checksum FROM agentstore_schema_history ORDER BY version');
        const next = pending(known, applied)[0];
        if (!next) {
          c.exec('COMMIT');
          return;
        }
        c.exec(next.sql);
        c.run('INSERT INTO agentstore_schema_history (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)', [
          next.version,
          next.name,
          next.checksum,
          ts(new Date()),
        ]);
        c.exec('COMMIT');
      } catch (e) {
        if (c.driver.inTransaction) c.exec('ROLLBACK');
        throw e;
      }
    }
  });
}

/** What `migrateLibsql` would apply, read without the write lock (refuses a changed or newer history as it would). */
export async function libsqlPendingMigrations(pool: LibsqlPool): Promise<ReturnType<typeof pending>> {
  const applied = await pool.read((c) =>
    c.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'agentstore_schema_history'")
      ? c.all<AppliedMigration>('SELECT version, name, checksum FROM agentstore_schema_history ORDER BY version')
      : [],
  );
  return pending(libsqlMigrations(), applied);
}

export async function libsqlSchemaVersion(pool: LibsqlPool): Promise<number> {
  return pool.read((c) => {
    const exists = c.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'agentstore_schema_history'");
    if (!exists) return 0;
    return c.get<{ v: number | null }>('SELECT max(version) AS v FROM agentstore_schema_history')?.v ?? 0;
  });
}
