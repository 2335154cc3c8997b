// The libSQL side of a copy. Reads go through one connection of their own
// (inside one read transaction when this file is the source, so the copy
// sees one snapshot while a daemon may still write); migrations, the
// embedding dimension and batch writes go through the backend's own pool and
// functions, so the target is built exactly as the daemon builds it.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AppliedMigration } from '../backends/migrations.js';
import { libsqlMigrations, migrateLibsql } from '../backends/libsql/migrate.js';
import { Database as Libsql } from '../backends/libsql/driver.js';
import { Conn, LibsqlPool, type Param } from '../backends/libsql/pool.js';
import { libsqlEmbeddingDimension } from '../backends/libsql/workspace.js';
import { byKey, derivedWords, streamOrder, writePlan, type Endpoint, type WriteMode } from './endpoint.js';
import { columnIndex, libsqlName, type Column, type Table } from './tables.js';
import { CopyError, decodeValue, keyIndexes, rowBytes, type BatchSizer, type Row, type Value } from './values.js';

/** What stream() uses of a statement of its own (iterated, so never shared through a cache). */
interface IteratedStatement {
  raw(on?: boolean): IteratedStatement;
  iterate(): IterableIterator<unknown>;
}

const BUSY_TIMEOUT_MS = 5000;

/** The SELECT expression of a column: integers as text, so no 64-bit value is rounded. */
const readExpr = (col: Column): string => (col.kind === 'int' ? `CAST(${libsqlName(col)} AS TEXT)` : libsqlName(col));

function encode(col: Column, v: Value): Param {
  if (v === null) return null;
  switch (col.kind) {
    case 'int':
      return BigInt(v as string);
    case 'bool':
      return v ? 1 : 0;
    default:
      return v as string | number | Buffer;
  }
}

/** Key values as a JSON array for json_each: integers unquoted (exact), text quoted. */
function keysJson(t: Table, rows: Row[]): string {
  const idx = keyIndexes(t);
  const lit = (i: number, v: Value) => (t.columns[i]!.kind === 'int' ? String(v) : JSON.stringify(v));
  if (idx.length === 1) return `[${rows.map((r) => lit(idx[0]!, r[idx[0]!]!)).join(',')}]`;
  return `[${rows.map((r) => `[${idx.map((i) => lit(i, r[i]!)).join(',')}]`).join(',')}]`;
}

export class LibsqlEndpoint implements Endpoint {
  private readonly reader: Conn;
  private pool: LibsqlPool | null = null;

  private constructor(
    readonly label: string,
    private readonly path: string,
  ) {
    // The driver through driver.ts, which keeps its native logging off; `timeout` is SQLite's busy timeout.
    this.reader = new Conn(new Libsql(path, { timeout: BUSY_TIMEOUT_MS }));
  }

  /** The source must exist; the target (and its folder) is created. */
  static open(path: string, role: 'source' | 'target'): LibsqlEndpoint {
    if (role === 'source' && !existsSync(path)) throw new CopyError(`--from: ${path} does not exist`);
    if (role === 'target') mkdirSync(dirname(path), { recursive: true });
    const e = new LibsqlEndpoint(path, path);
    if (role === 'source') e.reader.exec('PRAGMA query_only = ON');
    return e;
  }

  private writer(): LibsqlPool {
    this.pool ??= new LibsqlPool({ path: this.path, busyTimeoutMs: BUSY_TIMEOUT_MS, synchronous: 'NORMAL', maxReaders: 1 });
    return this.pool;
  }

  private value<T>(sql: string, params: Param[] = []): T | undefined {
    const r = this.reader.get<Record<string, T>>(sql, params);
    return r ? Object.values(r)[0] : undefined;
  }

  knownMigrations = libsqlMigrations;

  async appliedMigrations(): Promise<AppliedMigration[]> {
    if (!this.value("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agentstore_schema_history'")) return [];
    return this.reader.all<AppliedMigration>('SELECT version, name, checksum FROM agentstore_schema_history ORDER BY version');
  }

  migrate(): Promise<void> {
    return migrateLibsql(this.writer());
  }

  async beginSnapshot(): Promise<void> {
    this.reader.exec('BEGIN');
    // The first read starts the snapshot.
    this.value('SELECT count(*) FROM sqlite_master');
  }

  async embeddingDimension(): Promise<number | null> {
    const v = this.value<string>("SELECT value FROM workspace_meta WHERE key = 'embedding_dimension'");
    return v === undefined ? null : Number(v);
  }

  async hasEmbeddings(): Promise<boolean> {
    return this.value('SELECT 1 FROM memory_chunks WHERE embedding IS NOT NULL LIMIT 1') !== undefined;
  }

  recordEmbeddingDimension(dimension: number): Promise<void> {
    return libsqlEmbeddingDimension(this.writer(), dimension);
  }

  async count(t: Table): Promise<number> {
    return Number(this.value(`SELECT count(*) FROM ${t.name}`));
  }

  private selectList(t: Table): string {
    return t.columns.map(readExpr).join(', ');
  }

  private decodeRow(t: Table, raw: unknown[]): Row {
    return t.columns.map((col, i) => decodeValue(t, col, raw[i], (b) => b));
  }

  async *stream(t: Table, sizer: BatchSizer): AsyncIterable<Row[]> {
    const order = streamOrder(t).map(libsqlName);
    // Not cached: a statement mid-iteration must not be handed to anyone else.
    const it = (this.reader.driver.prepare(`SELECT ${this.selectList(t)} FROM ${t.name} ORDER BY ${order.join(', ')}`) as unknown as IteratedStatement)
      .raw(true)
      .iterate();
    let done = false;
    while (!done) {
      const batch: Row[] = [];
      let bytes = 0;
      while (batch.length < sizer.rows && !sizer.full(bytes)) {
        const r = it.next();
        if (r.done) {
          done = true;
          break;
        }
        const row = this.decodeRow(t, r.value as unknown[]);
        batch.push(row);
        bytes += rowBytes(row);
      }
      if (batch.length > 0) {
        sizer.observe(batch.length, bytes);
        yield batch;
      }
    }
  }

  async lookup(t: Table, rows: Row[]): Promise<Map<string, Row>> {
    const idx = keyIndexes(t);
    const keyCols = idx.map((i) => libsqlName(t.columns[i]!));
    const match =
      keyCols.length === 1
        ? `${keyCols[0]} IN (SELECT value FROM json_each(?))`
        : `(${keyCols.join(', ')}) IN (SELECT ${keyCols.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ')} FROM json_each(?))`;
    const found = this.reader.allArrays(`SELECT ${this.selectList(t)} FROM ${t.name} WHERE ${match}`, [keysJson(t, rows)]);
    return byKey(
      t,
      found.map((raw) => this.decodeRow(t, raw)),
    );
  }

  async write(t: Table, rows: Row[], mode: WriteMode): Promise<number> {
    const plan = writePlan(t, mode);
    const cols = plan.cols;
    const names = cols.map(({ col }) => libsqlName(col));
    const updated = plan.updated.map(libsqlName);
    const onConflict = mode.update
      ? `DO UPDATE SET ${updated.map((n) => `${n} = excluded.${n}`).join(', ')} WHERE ${updated.map((n) => `${t.name}.${n} IS NOT excluded.${n}`).join(' OR ')}`
      : 'DO NOTHING';
    const sql = `INSERT INTO ${t.name} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})
      ON CONFLICT (${t.key.map((k) => libsqlName(t.columns[columnIndex(t, k)]!)).join(', ')}) ${onConflict}`;
    const words = derivedWords(t, rows);
    return this.writer().write((c) => {
      let changed = 0;
      rows.forEach((row, k) => {
        const w = words?.[k];
        changed += c.run(
          sql,
          cols.map(({ col, i }) => {
            if (w && col.kind === 'terms') return w.terms.join(' ');
            if (w && col.derived) return BigInt(w.wordCount);
            return encode(col, row[i]!);
          }),
        ).changes;
      });
      return changed;
    });
  }

  async counterPosition(t: Table): Promise<bigint> {
    const col = libsqlName(t.columns[columnIndex(t, t.counter!)]!);
    const v = this.value<string>(
      `SELECT CAST(max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), COALESCE((SELECT max(${col}) FROM ${t.name}), 0)) AS TEXT)`,
      [t.name],
    );
    return BigInt(v ?? '0');
  }

  async raiseCounter(t: Table, to: bigint): Promise<void> {
    if (to < 1n) return;
    // SQLite hands out max(sqlite_sequence.seq, max(rowid)) + 1 for AUTOINCREMENT tables.
    await this.writer().write((c) => {
      const r = c.run('UPDATE sqlite_sequence SET seq = ? WHERE name = ? AND seq < ?', [to, t.name, to]);
      if (r.changes === 0) c.run('INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)', [t.name, to, t.name]);
    });
  }

  async close(): Promise<void> {
    if (this.reader.driver.inTransaction) this.reader.exec('ROLLBACK');
    this.reader.close();
    await this.pool?.close();
  }
}
