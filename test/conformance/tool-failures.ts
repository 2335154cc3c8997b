// ToolFailureStore conformance (STORES.md §2.5, §7 "Tool failures"), with
// the agentstore fix: a failure after a repair starts a new episode.
// Tool failures are global, so every test uses tool names of its own and
// looks only at those.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Database } from '../../src/store/database.js';
import type { BrokenTool } from '../../src/store/tool-failures.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError, sleep } from './util.js';

const prefix = () => `tool-${randomUUID()}-`;

async function broken(db: Database, threshold: number, p: string): Promise<BrokenTool[]> {
  return (await db.getBrokenTools(threshold)).filter((t) => t.name.startsWith(p));
}

async function fail(db: Database, tool: string, times: number): Promise<void> {
  for (let i = 1; i <= times; i++) await db.recordToolFailure(tool, `error ${i}`);
}

export function toolFailureSuite(ctx: SuiteContext): void {
  describe('ToolFailureStore', () => {
    it('counts failures, keeps the last message; the threshold is inclusive', async () => {
      const db = ctx.db();
      const p = prefix();
      const tool = `${p}search`;
      const t0 = Date.now();
      await db.recordToolFailure(tool, 'first: timeout');
      await sleep(3);
      await db.recordToolFailure(tool, 'second');
      await sleep(3);
      await db.recordToolFailure(tool, 'third: 💥 "quoted"');
      const [t, ...rest] = await broken(db, 3, p);
      assert.deepEqual(rest, []);
      assert.ok(t);
      assert.equal(t.name, tool);
      assert.equal(t.failureCount, 3);
      assert.equal(t.lastError, 'third: 💥 "quoted"');
      assert.equal(t.repairAttempts, 0);
      assert.equal(t.lastBuildResult, undefined);
      assert.ok(t.firstFailure.getTime() >= t0 - 1000);
      assert.ok(t.lastFailure.getTime() - t.firstFailure.getTime() >= 6, 'first_failure stays, last_failure moves');
      assert.deepEqual(await broken(db, 4, p), []);
      assert.equal((await broken(db, 1, p)).length, 1);
      assert.equal((await broken(db, 0, p)).length, 1);
    });

    it('orders by count descending, then by name in binary order', async () => {
      const db = ctx.db();
      const p = prefix();
      await fail(db, `${p}b`, 5);
      await fail(db, `${p}a`, 2);
      await fail(db, `${p}c`, 5);
      await fail(db, `${p}B`, 5);
      await fail(db, `${p}_`, 3);
      assert.deepEqual(
        (await broken(db, 1, p)).map((t) => [t.name.slice(p.length), t.failureCount]),
        [
          ['B', 5],
          ['b', 5],
          ['c', 5],
          ['_', 3],
          ['a', 2],
        ],
      );
      assert.deepEqual(
        (await broken(db, 3, p)).map((t) => t.name.slice(p.length)),
        ['B', 'b', 'c', '_'],
      );
    });

    it('markToolRepaired excludes the tool; an unknown tool is a no-op', async () => {
      const db = ctx.db();
      const p = prefix();
      await fail(db, `${p}x`, 5);
      await fail(db, `${p}y`, 5);
      await db.markToolRepaired(`${p}x`);
      await db.markToolRepaired(`${p}never-failed`);
      assert.deepEqual(
        (await broken(db, 0, p)).map((t) => t.name),
        [`${p}y`],
      );
    });

    it('a failure after a repair starts a new episode that is reported again at the threshold', async () => {
      const db = ctx.db();
      const p = prefix();
      const tool = `${p}shell`;
      await fail(db, tool, 5);
      await db.incrementRepairAttempts(tool);
      await db.incrementRepairAttempts(tool);
      const before = (await broken(db, 5, p))[0]!;
      assert.equal(before.repairAttempts, 2);
      await db.markToolRepaired(tool);
      const repairedAt = Date.now();
      await sleep(3);
      await db.recordToolFailure(tool, 'broke again');
      const again = (await broken(db, 1, p))[0];
      assert.ok(again, 'reported again after a repair');
      assert.equal(again.failureCount, 1, 'counted from 1');
      assert.equal(again.lastError, 'broke again');
      assert.equal(again.repairAttempts, 0, 'a new episode has its own repair attempts');
      assert.ok(again.firstFailure.getTime() >= repairedAt, 'the episode starts at its first failure');
      assert.deepEqual(await broken(db, 3, p), []);
      await fail(db, tool, 2);
      const third = await broken(db, 3, p);
      assert.equal(third.length, 1);
      assert.equal(third[0]!.failureCount, 3);
      assert.equal(third[0]!.firstFailure.getTime(), again.firstFailure.getTime());
    });

    it('incrementRepairAttempts counts up; an unknown tool is a no-op', async () => {
      const db = ctx.db();
      const p = prefix();
      const tool = `${p}t`;
      await db.recordToolFailure(tool, 'e');
      for (let i = 1; i <= 3; i++) {
        await db.incrementRepairAttempts(tool);
        assert.equal((await broken(db, 1, p))[0]!.repairAttempts, i);
      }
      await db.incrementRepairAttempts(`${p}unknown`);
      assert.equal((await broken(db, 0, p)).length, 1, 'incrementing does not create a row');
      await db.recordToolFailure(tool, 'e2');
      const t = (await broken(db, 1, p))[0]!;
      assert.equal(t.repairAttempts, 3, 'failures do not reset attempts within an episode');
      assert.equal(t.failureCount, 2);
    });

    it('concurrent failures of one tool are all counted', async () => {
      const db = ctx.db();
      const p = prefix();
      const tool = `${p}busy`;
      await Promise.all(Array.from({ length: 50 }, (_, i) => db.recordToolFailure(tool, `e${i}`)));
      const [t] = await broken(db, 50, p);
      assert.equal(t?.failureCount, 50);
      assert.match(t!.lastError!, /^e\d+$/);
    });

    it('rejects bad arguments naming the field, and writes nothing', async () => {
      const db = ctx.db();
      const p = prefix();
      for (const bad of ['', 'a\u0000b', 'x'.repeat(513), 'half\ud800']) {
        await assertStoreError(db.recordToolFailure(bad, 'e'), 'invalid_argument', /^tool_name:/);
        await assertStoreError(db.markToolRepaired(bad), 'invalid_argument', /^tool_name:/);
        await assertStoreError(db.incrementRepairAttempts(bad), 'invalid_argument', /^tool_name:/);
      }
      for (const bad of ['nul\u0000', 'x'.repeat(65537), '\udfff']) {
        await assertStoreError(db.recordToolFailure(`${p}t`, bad), 'invalid_argument', /^error_message:/);
      }
      for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
        await assertStoreError(db.getBrokenTools(bad), 'invalid_argument', /^threshold:/);
      }
      assert.deepEqual(await broken(db, 0, p), []);
      await db.recordToolFailure(`${p}t`, '');
      assert.equal((await broken(db, 1, p))[0]!.lastError, '', 'an empty message is allowed');
    });
  });
}
