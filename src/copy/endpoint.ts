// One side of a copy: a libSQL file or a PostgreSQL database, seen through
// the few operations the copy needs. Both dialects implement it
// (src/copy/libsql.ts, src/copy/postgres.ts); copy.ts never branches on
// which one it holds.
import type { AppliedMigration, Migration } from '../backends/migrations.js';
import { indexTerms } from '../store/workspace-search.js';
import { columnIndex, type Column, type Table } from './tables.js';
import { keyIndexes, keyOf, type BatchSizer, type Row } from './values.js';

export interface WriteMode {
  /** Same key, different content: overwrite the target's row (else keep it). */
  update: boolean;
  /** Leave the seq column out, so the target numbers the new rows itself. */
  renumber: boolean;
}

export interface Endpoint {
  /** What the user named, safe to print (no password). */
  readonly label: string;
  /** The migrations this build ships for the dialect, and those the database has applied. */
  knownMigrations(): Migration[];
  appliedMigrations(): Promise<AppliedMigration[]>;
  /** Applies pending migrations with the backend's own runner. */
  migrate(): Promise<void>;
  /** From now on every read sees one consistent snapshot (the source, which may still be in use). */
  beginSnapshot(): Promise<void>;
  embeddingDimension(): Promise<number | null>;
  hasEmbeddings(): Promise<boolean>;
  /** Records the dimension as the daemon does at boot (refused if embeddings of another one are stored). */
  recordEmbeddingDimension(dimension: number): Promise<void>;
  count(t: Table): Promise<number>;
  /** Every row of `t` in insertion order (seq / counter, else key), in batches. */
  stream(t: Table, sizer: BatchSizer): AsyncIterable<Row[]>;
  /** This side's rows with the keys of `rows`, by key (see keyOf). */
  lookup(t: Table, rows: Row[]): Promise<Map<string, Row>>;
  /** Upserts `rows` by primary key in one transaction; returns how many it inserted or changed. */
  write(t: Table, rows: Row[], mode: WriteMode): Promise<number>;
  /** Highest value the table's counter has handed out (or holds). */
  counterPosition(t: Table): Promise<bigint>;
  /** Moves the counter forward so that it never hands out `to` or anything below. */
  raiseCounter(t: Table, to: bigint): Promise<void>;
  close(): Promise<void>;
}

/** The columns a write sends (seq left out when renumbering), and those an update overwrites (neither key nor seq). */
export function writePlan(t: Table, mode: WriteMode): { cols: { col: Column; i: number }[]; updated: Column[] } {
  const seq = mode.renumber && t.seq ? columnIndex(t, t.seq) : -1;
  const cols = t.columns.map((col, i) => ({ col, i })).filter(({ i }) => i !== seq);
  return { cols, updated: cols.map(({ col }) => col).filter((col) => !t.key.includes(col.name) && col.name !== t.seq) };
}

/** Per row, the word data of its content exactly as insertChunk builds it; null when the table has none. */
export function derivedWords(t: Table, rows: Row[]): { terms: string[]; wordCount: number }[] | null {
  if (!t.columns.some((col) => col.derived)) return null;
  const content = columnIndex(t, 'content');
  return rows.map((r) => indexTerms(r[content] as string));
}

/** The order a table is streamed in: insertion order where the table keeps one, else its key. */
export const streamOrder = (t: Table): Column[] => [t.seq ?? t.counter ?? t.key].flat().map((n) => t.columns[columnIndex(t, n)]!);

/** Rows by their key (keyOf). */
export function byKey(t: Table, rows: Row[]): Map<string, Row> {
  const idx = keyIndexes(t);
  return new Map(rows.map((r) => [keyOf(idx, r), r]));
}
