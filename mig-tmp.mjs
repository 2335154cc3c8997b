// Time of schema V6 on a V5 libSQL database of 100k chunks (120 words each).
import Database from 'libsql';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { libsqlMigrations } from './dist/src/backends/libsql/migrate.js';
import { indexTerms } from './dist/src/store/workspace-search.js';
const dir = mkdtempSync(join(tmpdir(), 'mig-'));
const d = new Database(join(dir, 'x.db'));
d.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL');
const ms = libsqlMigrations();
for (const m of ms.filter((m) => m.version <= 5)) d.exec(m.sql);
const t0 = new Date().toISOString();
d.exec('BEGIN');
const doc = d.prepare("INSERT INTO memory_documents (id, user_id, path, created_at, updated_at) VALUES (?, 'u', ?, ?, ?)");
const ch = d.prepare('INSERT INTO memory_chunks (id, document_id, chunk_index, content, fts_text, word_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
for (let i = 0; i < 100000; i++) {
  const di = `00000000-0000-4000-8000-${String(Math.floor(i / 10)).padStart(12, '0')}`;
  if (i % 10 === 0) doc.run(di, `docs/${i / 10}.md`, t0, t0);
  const text = Array.from({ length: 120 }, () => `w${Math.floor(Math.exp(rnd() * Math.log(5001)) - 1).toString(36)}`).join(' ');
  const { terms, wordCount } = indexTerms(text);
  ch.run(`10000000-0000-4000-8000-${String(i).padStart(12, '0')}`, di, i % 10, text, terms.join(' '), wordCount, t0);
}
d.exec('COMMIT');
const v6 = ms.find((m) => m.version === 6);
const t = performance.now();
d.exec('BEGIN IMMEDIATE'); d.exec(v6.sql); d.exec('COMMIT');
console.log(`V6 on 100k chunks: ${((performance.now() - t) / 1000).toFixed(2)} s`);
d.close(); rmSync(dir, { recursive: true });
