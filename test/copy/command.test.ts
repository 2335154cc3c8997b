// The `agentstore copy` command as a user runs it: a copy killed mid-way
// (SIGKILL, no chance to clean up) and run again completes, with nothing
// lost or doubled; the report and every message keep the URL's password
// out; bad usage exits 2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { projectRoot } from '../../src/backends/migrations.js';
import { loadConfig } from '../../src/config.js';
import { TABLES } from '../../src/copy/tables.js';
import { openMigrated } from '../support/databases.js';
import { createTestDatabase, stopTestServer } from '../support/postgres.js';
import { sleep } from '../conformance/util.js';
import { DIM, populate, readAll, USER } from './fixture.js';

const MAIN = join(projectRoot(), 'dist/src/main.js');
const dir = mkdtempSync(join(tmpdir(), 'agentstore-copy-cli-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[]): { done: Promise<Run>; kill(): void } {
  const child = spawn(process.execPath, [MAIN, 'copy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    done: new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr }))),
    kill: () => child.kill('SIGKILL'),
  };
}
const run = (args: string[]) => start(args).done;

after(async () => {
  await stopTestServer();
  rmSync(dir, { recursive: true, force: true });
});

describe('agentstore copy (command)', () => {
  it('resumes a copy killed mid-way to completion, nothing lost or doubled', async () => {
    const source = loadConfig({ LIBSQL_PATH: join(dir, 'source.db'), EMBEDDING_DIMENSION: String(DIM) }).config;
    const MESSAGES = 4000;
    const db = await openMigrated(source);
    const fx = await populate(db);
    const conversation = await db.createConversation('bulk', USER, null);
    for (let i = 0; i < MESSAGES; i++) await db.addConversationMessage(conversation, 'user', `message ${i} ${'x'.repeat(200)}`);
    fx.conversations.push(conversation);
    const expected = await readAll(db, fx);
    await db.close();

    const url = await createTestDatabase();
    const password = new URL(url).password;
    assert.ok(password.length > 0);
    const target = new pg.Client({ connectionString: url });
    await target.connect();
    try {
      const copied = async () => {
        try {
          return Number((await target.query<{ n: string }>("SELECT count(*) AS n FROM conversation_messages")).rows[0]!.n);
        } catch {
          return 0; // not migrated yet
        }
      };
      const first = start(['--from', source.libsqlPath, '--to', url, '--batch-size', '10']);
      const deadline = Date.now() + 60_000;
      while ((await copied()) < 100 && Date.now() < deadline) await sleep(5);
      first.kill();
      const killed = await first.done;
      assert.equal(killed.code, null, `the first copy ended by itself before it was killed: ${killed.stderr}`);
      // A statement the server was running when its client died still
      // finishes: count once the killed copy's sessions are gone.
      const others = "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
      while ((await target.query<{ n: number }>(others)).rows[0]!.n > 0 && Date.now() < deadline) await sleep(20);
      const partial = await copied();
      assert.ok(partial > 0 && partial < MESSAGES, `killed after ${partial} of ${MESSAGES} messages`);

      const resumed = await run(['--from', source.libsqlPath, '--to', url]);
      assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
      assert.match(resumed.stdout, new RegExp(`verified: all ${TABLES.length} tables match`));
      assert.match(resumed.stdout, /conversation_messages +4,01\d +4,01\d .* ok/);
      // What the killed run had committed is not written again.
      const [, read, written] = /copied ([\d,]+) rows \(([\d,]+) new or changed in the target\)/.exec(resumed.stdout)!.map((n) => Number(n.replace(/,/g, '')));
      assert.equal(read! - written!, partial);
      for (const out of [killed.stdout, killed.stderr, resumed.stdout, resumed.stderr]) assert.ok(!out.includes(password), 'the password was printed');
      assert.match(resumed.stdout, /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/);
    } finally {
      await target.end();
    }
    const pgConfig = loadConfig({ DATABASE_BACKEND: 'postgres', DATABASE_URL: url, EMBEDDING_DIMENSION: String(DIM) }).config;
    const copy = await openMigrated(pgConfig);
    try {
      assert.deepEqual(await readAll(copy, fx), expected);
    } finally {
      await copy.close();
    }
  });

  it('says what is wrong: bad usage exits 2, a refused copy exits 1, passwords stay hidden', async () => {
    const usage = await run(['--from', 'a.db']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--to: required/);
    const typo = await run(['--to', 'b.db', 'postgres://u:s3cret@127.0.0.1:1/x']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown argument "postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x"/);
    assert.ok(!typo.stderr.includes('s3cret'));
    const misspelt = await run(['--form=postgres://u:s3cret@127.0.0.1:1/x', '--to', 'b.db']);
    assert.equal(misspelt.code, 2);
    assert.match(misspelt.stderr, /unknown argument "--form=postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x"/);
    assert.ok(!misspelt.stderr.includes('s3cret'));
    const missing = await run(['--from', join(dir, 'nope.db'), '--to', join(dir, 'b.db')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--from: .*nope\.db does not exist/);
    const unreachable = await run(['--from', 'postgres://u:s3cret@127.0.0.1:1/x', '--to', join(dir, 'b.db')]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/);
    assert.ok(!unreachable.stderr.includes('s3cret'));
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: agentstore copy --from/);
  });
});
