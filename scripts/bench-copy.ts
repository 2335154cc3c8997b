// agentstore copy benchmark: rows/s from libSQL to PostgreSQL for a
// database of 1M messages and 100k embedded chunks (in 10k conversations and
// 10k documents; the other tables stay empty), then back from PostgreSQL to a
// new libSQL file. The source is seeded with raw SQL in one transaction (the
// chunks with the word data insertChunk would store); the copies run the
// command's own code path, progress on stderr.
//
//   node dist/scripts/bench-copy.js
//   BENCH_MESSAGES=100000 BENCH_CHUNKS=10000 node dist/scripts/bench-copy.js
//   (also BENCH_DIM, default 384; BENCH_BATCH, rows per batch, default 1000;
//   BENCH_BACK=0 skips copying the result back to a new libSQL file)
//
// PostgreSQL: PG_TEST_URL if set, otherwise a throwaway embedded server
// (started with fsync=off, as in the tests).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Database as Libsql } from '../src/backends/libsql/driver.js';
import { loadConfig } from '../src/config.js';
import { formatReport } from '../src/copy/cli.js';
import { copyDatabase } from '../src/copy/copy.js';
import { stderrProgress } from '../src/copy/progress.js';
import { embeddingBytes, indexTerms, norm } from '../src/store/workspace-search.js';
import { openMigrated } from '../test/support/databases.js';
import { createTestDatabase, stopTestServer } from '../test/support/postgres.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 100_000);
const DIM = Number(process.env.BENCH_DIM ?? 384);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const BACK = process.env.BENCH_BACK !== '0';
const MESSAGES_PER_CONVERSATION = 100;
const CHUNKS_PER_DOCUMENT = 10;
const CONTENT = 'The quick brown fox jumps over the lazy dog; agentstore copy benchmark message of about a hundred chars.';

// Throughput does not depend on which words or floats: no seeded generator needed.
const rand = Math.random;
const VOCAB = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`);
const words = (n: number) => Array.from({ length: n }, () => VOCAB[Math.floor(rand() * VOCAB.length)]).join(' ');

function seedSource(path: string): void {
  const db = new Libsql(path);
  const t0 = Date.UTC(2024, 0, 1);
  const ts = (i: number) => new Date(t0 + i).toISOString();
  db.exec('BEGIN');
  const conv = db.prepare("INSERT INTO conversations (id, channel, user_id, thread_id, started_at, last_activity, metadata) VALUES (?, 'bench', ?, NULL, ?, ?, '{}')");
  const msg = db.prepare("INSERT INTO conversation_messages (id, conversation_id, role, content, created_at) VALUES (?, ?, 'user', ?, ?)");
  let conversation = '';
  for (let i = 0; i < MESSAGES; i++) {
    if (i % MESSAGES_PER_CONVERSATION === 0) {
      conversation = randomUUID();
      conv.run(conversation, `user-${i % 1000}`, ts(i), ts(i + MESSAGES_PER_CONVERSATION));
    }
    msg.run(randomUUID(), conversation, `${CONTENT} ${i}`, ts(i));
  }
  const doc = db.prepare("INSERT INTO memory_documents (id, user_id, agent_id, path, content, created_at, updated_at, metadata) VALUES (?, ?, NULL, ?, '', ?, ?, '{}')");
  const chunk = db.prepare(
    'INSERT INTO memory_chunks (id, document_id, chunk_index, content, fts_text, word_count, embedding, embedding_norm, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  let document = '';
  for (let i = 0; i < CHUNKS; i++) {
    if (i % CHUNKS_PER_DOCUMENT === 0) {
      document = randomUUID();
      doc.run(document, `user-${i % 100}`, `docs/${i}.md`, ts(i), ts(i));
    }
    const content = words(60);
    const { terms, wordCount } = indexTerms(content);
    const e = Float32Array.from({ length: DIM }, () => rand() - 0.5);
    chunk.run(randomUUID(), document, i % CHUNKS_PER_DOCUMENT, content, terms.join(' '), wordCount, embeddingBytes(e), norm(e), ts(i));
  }
  db.exec('COMMIT');
  db.close();
}

async function timedCopy(what: string, from: string, to: string): Promise<void> {
  const t = performance.now();
  const result = await copyDatabase({ from, to, merge: false, batchSize: BATCH, progress: stderrProgress() });
  const total = (performance.now() - t) / 1000;
  process.stdout.write(formatReport(result));
  const rows = result.copiedRows;
  console.log(
    `RESULT ${what}: ${rows.toLocaleString('en-US')} rows copied at ${Math.round(rows / result.seconds.copy).toLocaleString('en-US')} rows/s ` +
      `(copy ${result.seconds.copy.toFixed(1)} s + verify ${result.seconds.verify.toFixed(1)} s; ${total.toFixed(1)} s end to end)`,
  );
  if (!result.ok) process.exitCode = 1;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-bench-copy-'));
  const path = join(dir, 'source.db');
  try {
    console.log(`bench-copy: ${MESSAGES.toLocaleString('en-US')} messages, ${CHUNKS.toLocaleString('en-US')} chunks of dimension ${DIM}, batches of ${BATCH}`);
    console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    // Migrated (and its dimension recorded) exactly as the daemon does it.
    await (await openMigrated(loadConfig({ LIBSQL_PATH: path, EMBEDDING_DIMENSION: String(DIM) }).config)).close();
    let t = performance.now();
    seedSource(path);
    console.log(`seeded the libSQL source in ${((performance.now() - t) / 1000).toFixed(1)} s (${(statSync(path).size / 2 ** 20).toFixed(0)} MiB)`);

    const url = await createTestDatabase();
    await timedCopy('libsql→postgres', path, url);
    if (BACK) await timedCopy('postgres→libsql', url, join(dir, 'back.db'));
  } finally {
    await stopTestServer();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
