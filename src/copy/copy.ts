// `agentstore copy`: every table of every store from one database to another
// (libSQL ⇄ PostgreSQL, or the same dialect), in dependency order.
//
//  1. The source must be at this build's schema version; the target is
//     brought to it by its own migration runner.
//  2. The source is read in one snapshot, so a daemon may keep using it.
//  3. A target that already holds rows is checked before anything is
//     written: every source row is looked up by primary key in the target.
//     Without --merge the target must hold nothing but exact copies of
//     source rows (an interrupted earlier copy): otherwise the copy is
//     refused. With --merge, source rows overwrite target rows with the same
//     key and the target's other rows stay; only job events, whose ids are
//     each database's own counter, can never be merged over different ones.
//  4. Rows are upserted by primary key in batches, each batch one
//     transaction, so an interrupted copy resumes by running it again.
//  5. Counters (identity sequences, AUTOINCREMENT) are moved past every
//     copied value, so the target never hands out an id the source used.
//  6. Verification: per table, row counts and an order-independent checksum
//     of the rows as read back from each side; what differs is listed.
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pending } from '../backends/migrations.js';
import { isPostgresUrl } from '../config.js';
import { StoreError } from '../store/errors.js';
import type { Endpoint } from './endpoint.js';
import { LibsqlEndpoint } from './libsql.js';
import { PostgresEndpoint } from './postgres.js';
import { silentProgress, type Progress } from './progress.js';
import { columnIndex, TABLES, type Table } from './tables.js';
import { BatchSizer, Checksum, CopyError, encodeRow, keyIndexes, keyOf, type Row } from './values.js';

export interface CopyOptions {
  /** A libSQL file path or a postgres:// URL. */
  from: string;
  to: string;
  merge: boolean;
  /** Most rows per batch (fewer when rows are large). */
  batchSize: number;
  progress?: Progress;
}

export interface TableResult {
  table: string;
  sourceRows: number;
  targetRows: number;
  /** Over the source's rows, and over the target's rows with the same keys (seq left out under --merge). */
  sourceChecksum: string;
  targetChecksum: string;
  /** Source rows absent from the target / present with other content; target rows absent from the source (counted only without --merge). */
  missing: number;
  different: number;
  extra: number;
  /** A few of the rows that differ, said in words. */
  samples: string[];
  ok: boolean;
}

export interface CopyResult {
  source: string;
  target: string;
  tables: TableResult[];
  embeddingDimension: { source: number | null; target: number | null };
  /** Rows read from the source and upserted into the target, and how many of them it did not hold yet (or held otherwise). */
  copiedRows: number;
  writtenRows: number;
  seconds: { check: number; copy: number; verify: number };
  ok: boolean;
}

export const DEFAULT_BATCH_ROWS = 1000;
const SAMPLES = 5;

const libsqlPath = (s: string): string => resolve(s.replace(/^file:/, ''));

function sameDatabase(a: string, b: string): boolean {
  if (isPostgresUrl(a) !== isPostgresUrl(b)) return false;
  if (!isPostgresUrl(a)) return libsqlPath(a) === libsqlPath(b);
  try {
    const [x, y] = [new URL(a), new URL(b)];
    return x.host === y.host && x.pathname === y.pathname;
  } catch {
    return false;
  }
}

async function openEndpoint(spec: string, role: 'source' | 'target'): Promise<Endpoint> {
  return isPostgresUrl(spec) ? PostgresEndpoint.open(spec) : LibsqlEndpoint.open(libsqlPath(spec), role);
}

/** A database error as one line: the driver's message, the server's detail, the cause. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const detail = (e as { detail?: unknown }).detail;
  const cause = (e as { cause?: unknown }).cause;
  return [e.message, typeof detail === 'string' ? detail : null, cause instanceof Error ? cause.message : null].filter(Boolean).join(': ');
}

/**
 * Runs `fn` on every batch in order, one at a time, while the next batch is
 * read: the source's reading and decoding overlap the target's work.
 */
async function eachBatch(batches: AsyncIterable<Row[]>, fn: (batch: Row[]) => Promise<void>): Promise<void> {
  let inFlight: Promise<void> = Promise.resolve();
  for await (const batch of batches) {
    await inFlight; // rethrows the previous batch's failure
    inFlight = fn(batch);
    // Observed at once, so a failure is no unhandled rejection while the next batch is read.
    inFlight.catch(() => undefined);
  }
  await inFlight;
}

interface Comparison {
  rows: number;
  matched: number;
  missing: number;
  different: number;
  /** A few keys of each kind, and for differing rows the columns that differ. */
  missingKeys: string[];
  differences: string[];
  fromChecksum: string;
  toChecksum: string;
}

/**
 * Reads every row of `t` from `from` and looks each one up by key in `to`:
 * how many are there, how many differ (and in which columns), and — when
 * `checksums` (the final verification's report) — both sides' checksums
 * over those rows.
 */
async function compare(t: Table, from: Endpoint, to: Endpoint, ignoreSeq: boolean, batchSize: number, progress: Progress, checksums = false): Promise<Comparison> {
  const idx = keyIndexes(t);
  const skip = ignoreSeq && t.seq ? columnIndex(t, t.seq) : -1;
  const fromSum = checksums ? new Checksum() : null;
  const toSum = checksums ? new Checksum() : null;
  const c: Comparison = { rows: 0, matched: 0, missing: 0, different: 0, missingKeys: [], differences: [], fromChecksum: '', toChecksum: '' };
  await eachBatch(from.stream(t, new BatchSizer(batchSize)), async (batch) => {
    const found = await to.lookup(t, batch);
    for (const row of batch) {
      c.rows++;
      const mine = encodeRow(row, skip);
      fromSum?.add(mine);
      const key = keyOf(idx, row);
      const other = found.get(key);
      if (!other) {
        if (c.missing++ < SAMPLES) c.missingKeys.push(key);
        continue;
      }
      c.matched++;
      const theirs = encodeRow(other, skip);
      toSum?.add(theirs);
      if (theirs !== mine) {
        if (c.different++ < SAMPLES) c.differences.push(`${key}: ${differingColumns(t, row, other, skip).join(', ')}`);
      }
    }
    progress.advance(t.name, batch.length);
  });
  c.fromChecksum = fromSum?.hex() ?? '';
  c.toChecksum = toSum?.hex() ?? '';
  return c;
}

function differingColumns(t: Table, a: Row, b: Row, skip: number): string[] {
  return t.columns.filter((_, i) => i !== skip && encodeRow([a[i]!]) !== encodeRow([b[i]!])).map((col) => col.name);
}

async function checkSourceSchema(source: Endpoint): Promise<void> {
  const applied = await source.appliedMigrations();
  if (applied.length === 0) throw new CopyError(`--from: ${source.label} holds no agentstore database`);
  const known = source.knownMigrations();
  let todo;
  try {
    todo = pending(known, applied);
  } catch (e) {
    throw e instanceof StoreError ? new CopyError(`--from: ${e.message}`) : e;
  }
  if (todo.length > 0) {
    throw new CopyError(
      `--from: ${source.label} is at schema version ${applied.at(-1)!.version} but this agentstore's is ${known.at(-1)!.version}: ` +
        'bring it up to date first (agentstore migrate against it), then copy',
    );
  }
}

async function migrateTarget(target: Endpoint): Promise<void> {
  try {
    await target.migrate();
  } catch (e) {
    throw e instanceof StoreError ? new CopyError(`--to: ${e.message}`) : e;
  }
}

/** The target may record another dimension only while it holds no embeddings (the daemon's own boot rule). */
async function checkDimensions(source: Endpoint, target: Endpoint): Promise<number | null> {
  const [from, to] = [await source.embeddingDimension(), await target.embeddingDimension()];
  if (from !== null && to !== null && from !== to && (await target.hasEmbeddings())) {
    throw new CopyError(
      `embedding dimension: the source's embeddings have dimension ${from} but the target holds embeddings of dimension ${to}; ` +
        'copy into a database without embeddings, or clear the target\'s first (UPDATE memory_chunks SET embedding = NULL, embedding_norm = NULL)',
    );
  }
  return from;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/**
 * Runs before any write into a non-empty target. Returns the tables that
 * still need copying; throws when the target's rows conflict with the source.
 */
async function checkTarget(
  source: Endpoint,
  target: Endpoint,
  counts: { source: Map<Table, number>; target: Map<Table, number> },
  o: Required<CopyOptions>,
): Promise<Set<Table>> {
  const todo = new Set<Table>();
  const problems: string[] = [];
  o.progress.phase('checking', sum(counts.source));
  for (const t of TABLES) {
    const c = await compare(t, source, target, o.merge, o.batchSize, o.progress);
    const extra = counts.target.get(t)! - c.matched;
    const what = ` (${c.differences.join('; ')})`;
    if (t.name === 'job_events' && c.different > 0) {
      problems.push(
        `job_events: ${plural(c.different, 'event')} with the id of a different event in the target${what}; ` +
          'event ids are numbered by each database, so the event logs of two databases cannot be merged',
      );
    } else if (!o.merge && c.different > 0) {
      problems.push(`${t.name}: ${plural(c.different, 'row')} with the key of a target row of other content${what}`);
    }
    if (!o.merge && extra > 0) problems.push(`${t.name}: ${plural(extra, 'row')} in the target that the source does not have`);
    if (c.missing > 0 || (o.merge && c.different > 0)) todo.add(t);
  }
  o.progress.done();
  if (problems.length > 0) {
    const hint = o.merge
      ? ''
      : '\n--merge copies the source\'s rows over target rows with the same key and keeps the target\'s other rows; or copy into an empty database';
    throw new CopyError(`the target ${target.label} is not empty and does not match the source; no row was written:\n  ${problems.join('\n  ')}${hint}`);
  }
  return todo;
}

const sum = (m: Map<Table, number>) => [...m.values()].reduce((a, b) => a + b, 0);

async function countAll(e: Endpoint): Promise<Map<Table, number>> {
  const out = new Map<Table, number>();
  for (const t of TABLES) out.set(t, await e.count(t));
  return out;
}

/** Moves every target counter past what the source handed out and what the target holds. */
async function raiseCounters(source: Endpoint, target: Endpoint): Promise<void> {
  for (const t of TABLES) {
    if (!t.counter) continue;
    const [a, b] = [await source.counterPosition(t), await target.counterPosition(t)];
    await target.raiseCounter(t, a > b ? a : b);
  }
}

async function copyRows(
  source: Endpoint,
  target: Endpoint,
  tables: Table[],
  targetCounts: Map<Table, number>,
  o: Required<CopyOptions>,
): Promise<{ copied: number; written: number }> {
  let copied = 0;
  let written = 0;
  for (const t of tables) {
    // --merge into a table that already has rows: the target numbers the new
    // ones after its own, in the source's order.
    const mode = { update: o.merge, renumber: o.merge && t.seq !== undefined && targetCounts.get(t)! > 0 };
    try {
      await eachBatch(source.stream(t, new BatchSizer(o.batchSize)), async (batch) => {
        written += await target.write(t, batch, mode);
        copied += batch.length;
        o.progress.advance(t.name, batch.length);
      });
    } catch (e) {
      if (e instanceof CopyError) throw e;
      throw new CopyError(
        `writing ${t.name}: ${describeError(e)}\nThe batches written so far are committed; fix the cause and run the same command again to resume.`,
      );
    }
  }
  return { copied, written };
}

async function verify(source: Endpoint, target: Endpoint, sourceCounts: Map<Table, number>, o: Required<CopyOptions>): Promise<TableResult[]> {
  const out: TableResult[] = [];
  o.progress.phase('verifying', sum(sourceCounts));
  for (const t of TABLES) {
    const c = await compare(t, source, target, o.merge, o.batchSize, o.progress, true);
    const targetRows = await target.count(t);
    const extra = o.merge ? 0 : targetRows - c.matched;
    const samples = [...c.missingKeys.map((k) => `${k}: not in the target`), ...c.differences.map((d) => `${d}: differ`)];
    if (extra > 0) {
      // Only when something is wrong: which target rows the source lacks.
      const back = await compare(t, target, source, o.merge, o.batchSize, silentProgress);
      samples.push(...back.missingKeys.map((k) => `${k}: not in the source`));
    }
    out.push({
      table: t.name,
      sourceRows: c.rows,
      targetRows,
      sourceChecksum: c.fromChecksum,
      targetChecksum: c.toChecksum,
      missing: c.missing,
      different: c.different,
      extra,
      samples,
      // Rows are compared one by one; the checksums only report the content.
      ok: c.missing === 0 && c.different === 0 && extra === 0,
    });
  }
  o.progress.done();
  return out;
}

export async function copyDatabase(options: CopyOptions): Promise<CopyResult> {
  const o: Required<CopyOptions> = { progress: silentProgress, ...options };
  if (sameDatabase(o.from, o.to)) throw new CopyError('--from and --to name the same database');
  const source = await openEndpoint(o.from, 'source');
  let target: Endpoint | undefined;
  try {
    target = await openEndpoint(o.to, 'target');
    await checkSourceSchema(source);
    await migrateTarget(target);
    await source.beginSnapshot();
    const dimension = await checkDimensions(source, target);
    const counts = { source: await countAll(source), target: await countAll(target) };

    let t0 = performance.now();
    const targetEmpty = sum(counts.target) === 0;
    const todo = targetEmpty ? new Set(TABLES.filter((t) => counts.source.get(t)! > 0)) : await checkTarget(source, target, counts, o);
    const check = (performance.now() - t0) / 1000;

    t0 = performance.now();
    const tables = TABLES.filter((t) => todo.has(t));
    o.progress.phase('copying', tables.reduce((n, t) => n + counts.source.get(t)!, 0));
    await raiseCounters(source, target);
    if (dimension !== null) await target.recordEmbeddingDimension(dimension);
    const { copied: copiedRows, written: writtenRows } = await copyRows(source, target, tables, counts.target, o);
    await raiseCounters(source, target);
    o.progress.done();
    const copy = (performance.now() - t0) / 1000;

    t0 = performance.now();
    const results = await verify(source, target, counts.source, o);
    const targetDimension = await target.embeddingDimension();
    const verifySecs = (performance.now() - t0) / 1000;
    return {
      source: source.label,
      target: target.label,
      tables: results,
      embeddingDimension: { source: dimension, target: targetDimension },
      copiedRows,
      writtenRows,
      seconds: { check, copy, verify: verifySecs },
      ok: results.every((r) => r.ok) && (dimension === null || dimension === targetDimension),
    };
  } finally {
    await source.close();
    await target?.close();
  }
}
