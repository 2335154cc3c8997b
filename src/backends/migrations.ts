// Versioned migration files, shared by both backends' runners. Files are
// named V{n}__{name}.sql; both dialect folders carry the same versions and
// names. An applied file is identified by its SHA-256, so an edit after
// release is detected at boot.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from '../store/errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

const FILE_RE = /^V(\d+)__([A-Za-z0-9_]+)\.sql$/;

/** The repository root, from both src/ (tsx) and dist/src/ (compiled). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('cannot locate the agentstore package root');
}

export function loadMigrations(folder: 'migrations-pg' | 'schema-libsql'): Migration[] {
  const dir = join(projectRoot(), folder);
  const out: Migration[] = [];
  for (const file of readdirSync(dir)) {
    const m = FILE_RE.exec(file);
    if (!m) continue;
    const sql = readFileSync(join(dir, file), 'utf8');
    out.push({ version: Number(m[1]), name: m[2]!, sql, checksum: sha256(sql) });
  }
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.version === out[i - 1]!.version) throw new Error(`${folder}: two migrations numbered V${out[i]!.version}`);
  }
  return out;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Compares what the database has applied with what this build ships and
 * returns the migrations still to apply, or refuses to go on when an applied
 * file changed or the database is newer than this build.
 */
export function pending(known: Migration[], applied: AppliedMigration[]): Migration[] {
  const byVersion = new Map(known.map((m) => [m.version, m]));
  const latest = known.length ? known[known.length - 1]!.version : 0;
  for (const a of applied) {
    const m = byVersion.get(a.version);
    if (!m) {
      if (a.version > latest) {
        throw new StoreError(
          'failed_precondition',
          `database schema is at version ${a.version} but this agentstore knows only up to ${latest}: upgrade agentstore (never run an older build against a newer database)`,
        );
      }
      throw new StoreError('failed_precondition', `database has migration V${a.version}__${a.name} that this build does not ship: use the agentstore build that applied it`);
    }
    if (m.checksum !== a.checksum) {
      throw new StoreError(
        'failed_precondition',
        `migration V${a.version}__${a.name} was changed after it was applied (checksum ${a.checksum.slice(0, 12)}… in the database, ${m.checksum.slice(0, 12)}… in this build): restore the released file and put the change in a new migration`,
      );
    }
  }
  const done = new Set(applied.map((a) => a.version));
  return known.filter((m) => !done.has(m.version));
}
