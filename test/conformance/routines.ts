// RoutineStore conformance (STORES.md §2.4, §7 "Routines"), plus the
// agentstore additions: validation on write, notify.user normalisation,
// computed next fire times and ClaimDueCronRoutines under concurrency.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Libsql from 'libsql';
import pg from 'pg';
import * as libsqlQueries from '../../src/backends/libsql/routines.js';
import { openDatabase } from '../../src/backends/open.js';
import * as pgQueries from '../../src/backends/postgres/routines.js';
import type { Config } from '../../src/config.js';
import { nextFireTime } from '../../src/store/cron.js';
import type { Database } from '../../src/store/database.js';
import type { ClaimedFiring, Routine, RoutineAction, RoutineRun, Trigger } from '../../src/store/routines.js';
import { openMigrated } from '../support/databases.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError, sleep } from './util.js';

const lightweight = (over: Partial<Extract<RoutineAction, { kind: 'lightweight' }>> = {}): RoutineAction => ({
  kind: 'lightweight',
  prompt: 'summarise my inbox',
  contextPaths: [],
  maxTokens: 4096,
  useTools: false,
  maxToolRounds: 3,
  ...over,
});

export function makeRoutine(over: Partial<Routine> = {}): Routine {
  const t = new Date();
  return {
    id: randomUUID(),
    name: `routine-${randomUUID().slice(0, 8)}`,
    description: '',
    userId: `user-${randomUUID().slice(0, 8)}`,
    enabled: true,
    trigger: { kind: 'cron', schedule: '0 0 9 * * *', timezone: null },
    action: lightweight(),
    guardrails: { cooldownSecs: 300, maxConcurrent: 1, dedupWindowSecs: null },
    notify: { channel: null, user: null, onAttention: true, onFailure: true, onSuccess: false },
    lastRunAt: null,
    nextFireAt: null,
    runCount: 0,
    consecutiveFailures: 0,
    state: {},
    createdAt: t,
    updatedAt: t,
    ...over,
  };
}

export function makeRun(routineId: string, over: Partial<RoutineRun> = {}): RoutineRun {
  return {
    id: randomUUID(),
    routineId,
    triggerType: 'cron',
    triggerDetail: '0 0 9 * * *',
    startedAt: new Date(),
    completedAt: null,
    status: 'running',
    resultSummary: null,
    tokensUsed: null,
    jobId: null,
    createdAt: new Date(),
    ...over,
  };
}

type RawParam = string | number | null | string[];

/**
 * Runs statements directly on the test database, bypassing the store (to
 * plant legacy rows, read query plans). `?` placeholders become $n on
 * PostgreSQL; the last statement's rows are returned.
 */
async function rawRows(config: Config, statements: string[], params: RawParam[]): Promise<Record<string, unknown>[]> {
  if (config.backend === 'libsql') {
    const d = new Libsql(config.libsqlPath);
    try {
      for (const s of statements.slice(0, -1)) d.exec(s);
      const st = d.prepare(statements.at(-1)!);
      return st.reader ? (st.all(...params) as Record<string, unknown>[]) : (st.run(...params), []);
    } finally {
      d.close();
    }
  }
  const c = new pg.Client({ connectionString: config.databaseUrl! });
  await c.connect();
  try {
    for (const s of statements.slice(0, -1)) await c.query(s);
    let i = 0;
    const text = statements.at(-1)!.replace(/\?/g, () => `$${++i}`);
    return (await c.query(text, params)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

async function raw(config: Config, text: string, params: RawParam[]): Promise<void> {
  await rawRows(config, [text], params);
}

const ids = (rs: { id: string }[]) => rs.map((r) => r.id);

export function routineSuite(ctx: SuiteContext): void {
  describe('RoutineStore', () => {
    let config: Config;
    let db: Database;
    before(async () => {
      // A database of its own: the store's global lists (due, event, all) must
      // not see other suites' rows, and legacy rows are planted through SQL.
      config = await ctx.backend.config();
      db = await openMigrated(config);
    });
    after(async () => {
      await db?.close();
    });

    it('create → get, get by name; runtime fields are not written by create', async () => {
      const r = makeRoutine({
        description: 'daily digest',
        runCount: 7,
        consecutiveFailures: 3,
        lastRunAt: new Date('2026-01-01T00:00:00.000Z'),
        nextFireAt: new Date('2030-01-01T09:00:00.123Z'),
        state: { cursor: 'abc', n: [1, 2] },
        guardrails: { cooldownSecs: 60, maxConcurrent: 2, dedupWindowSecs: 3600 },
        notify: { channel: 'telegram', user: 'ada', onAttention: false, onFailure: true, onSuccess: true },
        createdAt: new Date('2026-02-03T04:05:06.789Z'),
        updatedAt: new Date('2026-02-03T04:05:06.789Z'),
      });
      const created = await db.createRoutine(r);
      const got = await db.getRoutine(r.id);
      assert.deepEqual(got, created);
      assert.deepEqual(got, { ...r, runCount: 0, consecutiveFailures: 0, lastRunAt: null });
      assert.deepEqual(await db.getRoutineByName(r.userId, r.name), got);
      assert.equal(await db.getRoutineByName(r.userId, r.name.toUpperCase()), null);
      assert.equal(await db.getRoutineByName('someone-else', r.name), null);
      assert.equal(await db.getRoutine(randomUUID()), null);
    });

    it('every trigger and action kind round-trips in its typed shape', async () => {
      const triggers: Trigger[] = [
        { kind: 'cron', schedule: '0 */5 * * * *', timezone: 'Europe/Berlin' },
        { kind: 'event', pattern: '^deploy (\\w+)$', channel: 'slack' },
        { kind: 'event', pattern: 'hello', channel: null },
        { kind: 'system_event', source: 'github', eventType: 'push', filters: { repo: 'agentstore', branch: 'main' } },
        { kind: 'manual' },
      ];
      const actions: RoutineAction[] = [
        lightweight({ contextPaths: ['MEMORY.md', 'daily/'], maxTokens: 1000, useTools: true, maxToolRounds: 20 }),
        { kind: 'full_job', title: 'Triage', description: 'triage new issues', maxIterations: 25, toolPermissions: ['shell', 'http'] },
      ];
      for (const trigger of triggers) {
        for (const action of actions) {
          const r = makeRoutine({ trigger, action, nextFireAt: trigger.kind === 'cron' ? new Date('2031-01-01T00:00:00.000Z') : null });
          await db.createRoutine(r);
          const got = await db.getRoutine(r.id);
          assert.deepEqual(got?.trigger, trigger);
          assert.deepEqual(got?.action, action);
        }
      }
    });

    it('lists a user\'s routines by name in binary order; duplicate (user, name) or id fails', async () => {
      const user = `user-${randomUUID()}`;
      for (const name of ['beta', 'Alpha', 'alpha', '_x', 'Zed']) await db.createRoutine(makeRoutine({ userId: user, name }));
      const names = (await db.listRoutines(user)).map((r) => r.name);
      assert.deepEqual(names, ['Alpha', 'Zed', '_x', 'alpha', 'beta']);
      await assertStoreError(db.createRoutine(makeRoutine({ userId: user, name: 'beta' })), 'already_exists', /name/);
      const first = (await db.listRoutines(user))[0]!;
      await assertStoreError(db.createRoutine(makeRoutine({ id: first.id })), 'already_exists');
      // Another user may reuse the name.
      await db.createRoutine(makeRoutine({ name: 'beta' }));
      const all = await db.listAllRoutines();
      const allNames = all.map((r) => `${r.name}\u0000${r.userId}`);
      assert.deepEqual(allNames, [...allNames].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      assert.ok(ids(all).includes(first.id));
    });

    it('update replaces the definition only; runtime fields and created_at stay', async () => {
      const r = makeRoutine({ nextFireAt: new Date('2030-01-01T00:00:00.000Z') });
      await db.createRoutine(r);
      await db.updateRoutineRuntime(r.id, new Date('2026-05-05T05:05:05.005Z'), new Date('2030-06-01T00:00:00.000Z'), 4, 2, { k: 1 });
      const before = (await db.getRoutine(r.id))!;
      await sleep(5);
      const next: Routine = {
        ...r,
        name: `${r.name}-renamed`,
        description: 'changed',
        enabled: false,
        trigger: { kind: 'event', pattern: 'ping', channel: null },
        action: { kind: 'full_job', title: 't', description: 'd', maxIterations: 10, toolPermissions: [] },
        guardrails: { cooldownSecs: 1, maxConcurrent: 3, dedupWindowSecs: null },
        notify: { channel: 'web', user: null, onAttention: true, onFailure: false, onSuccess: true },
        state: { replaced: true },
        nextFireAt: null,
        runCount: 999,
        consecutiveFailures: 999,
        lastRunAt: null,
        createdAt: new Date('2000-01-01T00:00:00.000Z'),
        userId: 'not-the-owner',
      };
      const updated = await db.updateRoutine(next);
      const got = (await db.getRoutine(r.id))!;
      assert.deepEqual(updated, got);
      assert.equal(got.name, next.name);
      assert.equal(got.enabled, false);
      assert.deepEqual(got.trigger, next.trigger);
      assert.deepEqual(got.action, next.action);
      assert.deepEqual(got.state, { replaced: true });
      assert.equal(got.nextFireAt, null);
      assert.equal(got.userId, r.userId);
      assert.deepEqual(got.createdAt, r.createdAt);
      assert.deepEqual(got.lastRunAt, before.lastRunAt);
      assert.equal(got.runCount, 4);
      assert.equal(got.consecutiveFailures, 2);
      assert.ok(got.updatedAt.getTime() > before.updatedAt.getTime());
      assert.equal(await db.updateRoutine(makeRoutine()), null, 'missing id is a no-op');
    });

    it('renaming onto another routine of the same user fails and changes nothing', async () => {
      const user = `user-${randomUUID()}`;
      const a = makeRoutine({ userId: user, name: 'a' });
      const b = makeRoutine({ userId: user, name: 'b' });
      await db.createRoutine(a);
      await db.createRoutine(b);
      await assertStoreError(db.updateRoutine({ ...b, name: 'a', description: 'x' }), 'already_exists');
      assert.equal((await db.getRoutine(b.id))?.description, '');
    });

    it('runtime update round-trips; a null next_fire_at clears it', async () => {
      const r = makeRoutine({ nextFireAt: new Date('2030-01-01T00:00:00.000Z') });
      await db.createRoutine(r);
      const last = new Date('2026-03-01T10:00:00.250Z');
      await db.updateRoutineRuntime(r.id, last, new Date('2026-03-02T10:00:00.000Z'), 12, 1, { seen: ['a'] });
      let got = (await db.getRoutine(r.id))!;
      assert.deepEqual(got.lastRunAt, last);
      assert.deepEqual(got.nextFireAt, new Date('2026-03-02T10:00:00.000Z'));
      assert.equal(got.runCount, 12);
      assert.equal(got.consecutiveFailures, 1);
      assert.deepEqual(got.state, { seen: ['a'] });
      await db.updateRoutineRuntime(r.id, last, null, 13, 0, null);
      got = (await db.getRoutine(r.id))!;
      assert.equal(got.nextFireAt, null);
      assert.equal(got.state, null);
      await db.updateRoutineRuntime(randomUUID(), last, null, 1, 0, {}); // missing id: no-op
    });

    it('delete returns true, then false; its runs go with it', async () => {
      const r = makeRoutine();
      await db.createRoutine(r);
      const run = makeRun(r.id);
      await db.createRoutineRun(run);
      assert.equal(await db.countRunningRoutineRuns(r.id), 1);
      assert.equal(await db.deleteRoutine(r.id), true);
      assert.equal(await db.deleteRoutine(r.id), false);
      assert.equal(await db.getRoutine(r.id), null);
      assert.deepEqual(await db.listRoutineRuns(r.id, 10), []);
      assert.equal(await db.countRunningRoutineRuns(r.id), 0);
    });

    it('due crons: enabled + cron + next_fire_at ≤ now only', async () => {
      const past = new Date(Date.now() - 60_000);
      const future = new Date(Date.now() + 3_600_000);
      const due = makeRoutine({ nextFireAt: past });
      const exactlyNow = makeRoutine({ nextFireAt: new Date() });
      const disabled = makeRoutine({ nextFireAt: past, enabled: false });
      const later = makeRoutine({ nextFireAt: future });
      const eventDue = makeRoutine({ nextFireAt: past, trigger: { kind: 'event', pattern: 'x', channel: null } });
      const cleared = makeRoutine({ nextFireAt: past });
      for (const r of [due, exactlyNow, disabled, later, eventDue, cleared]) await db.createRoutine(r);
      await db.updateRoutineRuntime(cleared.id, past, null, 1, 0, {});
      await sleep(2);
      const got = ids(await db.listDueCronRoutines());
      assert.ok(got.includes(due.id));
      assert.ok(got.includes(exactlyNow.id));
      for (const r of [disabled, later, eventDue, cleared]) assert.ok(!got.includes(r.id), `${r.name} must not be due`);
      // Listing claims nothing.
      assert.ok(ids(await db.listDueCronRoutines()).includes(due.id));
    });

    it('event routines: enabled event and system_event only', async () => {
      const ev = makeRoutine({ trigger: { kind: 'event', pattern: 'x', channel: null } });
      const sys = makeRoutine({ trigger: { kind: 'system_event', source: 's', eventType: 'e', filters: {} } });
      const off = makeRoutine({ enabled: false, trigger: { kind: 'event', pattern: 'x', channel: null } });
      const man = makeRoutine({ trigger: { kind: 'manual' } });
      const cr = makeRoutine();
      for (const r of [ev, sys, off, man, cr]) await db.createRoutine(r);
      const got = ids(await db.listEventRoutines());
      assert.ok(got.includes(ev.id) && got.includes(sys.id));
      for (const r of [off, man, cr]) assert.ok(!got.includes(r.id));
    });

    it('a cron routine without next_fire_at gets the next fire time of its schedule and zone', async () => {
      const t0 = new Date();
      const r = makeRoutine({ trigger: { kind: 'cron', schedule: '0 30 2 * * *', timezone: 'America/New_York' } });
      const created = await db.createRoutine(r);
      const t1 = new Date();
      const next = created.nextFireAt!;
      assert.ok(next > t1);
      assert.ok(next > t0);
      assert.deepEqual(next, nextFireTime('0 30 2 * * *', 'America/New_York', t1));
      // 02:30 in New York.
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(next);
      assert.ok(local === '02:30' || local === '03:00', local); // 03:00 only on the spring-forward day
      assert.deepEqual((await db.getRoutine(r.id))?.nextFireAt, next);
      // Five fields work too, and the zone name is stored canonically.
      const five = await db.createRoutine(makeRoutine({ trigger: { kind: 'cron', schedule: '15 9 * * MON-FRI', timezone: 'europe/berlin' } }));
      assert.deepEqual(five.trigger, { kind: 'cron', schedule: '15 9 * * MON-FRI', timezone: 'Europe/Berlin' });
      assert.ok(five.nextFireAt && five.nextFireAt > t1);
      // An explicit next_fire_at is kept; non-cron triggers get none.
      const given = new Date('2029-12-31T23:59:59.999Z');
      assert.deepEqual((await db.createRoutine(makeRoutine({ nextFireAt: given }))).nextFireAt, given);
      assert.equal((await db.createRoutine(makeRoutine({ trigger: { kind: 'manual' } }))).nextFireAt, null);
      // Update computes it again from the new schedule when not given.
      const upd = await db.updateRoutine({ ...created, trigger: { kind: 'cron', schedule: '0 0 0 1 1 *', timezone: 'UTC' }, nextFireAt: null });
      const y = new Date().getUTCFullYear() + 1;
      assert.deepEqual(upd?.nextFireAt, new Date(`${y}-01-01T00:00:00.000Z`));
    });

    it('refuses bad definitions with INVALID_ARGUMENT naming the field, writing nothing', async () => {
      const bad: [Partial<Routine>, RegExp][] = [
        [{ trigger: { kind: 'webhook' } as unknown as Trigger }, /trigger\.kind/],
        [{ trigger: { kind: 'cron', schedule: '61 * * * *', timezone: null } }, /trigger\.schedule/],
        [{ trigger: { kind: 'cron', schedule: 'every day', timezone: null } }, /trigger\.schedule/],
        [{ trigger: { kind: 'cron', schedule: '* * * *', timezone: null } }, /trigger\.schedule/],
        [{ trigger: { kind: 'cron', schedule: '0 0 0 30 2 *', timezone: null } }, /trigger\.schedule: .*never fires/],
        [{ trigger: { kind: 'cron', schedule: '0 0 9 * * *', timezone: 'Mars/Olympus' } }, /trigger\.timezone/],
        [{ trigger: { kind: 'cron', schedule: '0 0 9 * * *', timezone: '' } }, /trigger\.timezone/],
        [{ trigger: { kind: 'event', pattern: '', channel: null } }, /trigger\.pattern/],
        [{ trigger: { kind: 'system_event', source: '', eventType: 'e', filters: {} } }, /trigger\.source/],
        [{ action: { kind: 'shell' } as unknown as RoutineAction }, /action\.kind/],
        [{ action: lightweight({ maxToolRounds: 21 }) }, /action\.max_tool_rounds/],
        [{ action: lightweight({ maxToolRounds: 0 }) }, /action\.max_tool_rounds/],
        [{ action: lightweight({ prompt: '' }) }, /action\.prompt/],
        [{ action: lightweight({ maxTokens: 0 }) }, /action\.max_tokens/],
        [{ action: { kind: 'full_job', title: '', description: 'd', maxIterations: 1, toolPermissions: [] } }, /action\.title/],
        [{ id: 'not-a-uuid' }, /^id/],
        [{ name: '' }, /^name/],
        [{ userId: '' }, /user_id/],
        [{ guardrails: { cooldownSecs: -1, maxConcurrent: 1, dedupWindowSecs: null } }, /guardrails\.cooldown_secs/],
        [{ state: Number.NaN }, /^state/],
      ];
      for (const [over, field] of bad) {
        const r = makeRoutine(over);
        await assertStoreError(db.createRoutine(r), 'invalid_argument', field);
        if (typeof over.id !== 'string') assert.equal(await db.getRoutine(r.id), null);
      }
      const ok = makeRoutine();
      await db.createRoutine(ok);
      await assertStoreError(db.updateRoutine({ ...ok, trigger: { kind: 'cron', schedule: 'nope', timezone: null } }), 'invalid_argument', /trigger\.schedule/);
      assert.deepEqual((await db.getRoutine(ok.id))?.trigger, ok.trigger);
      await assertStoreError(db.getRoutine('x'), 'invalid_argument', /^id/);
      await assertStoreError(db.listRoutineRuns(ok.id, -1), 'invalid_argument', /limit/);
      await assertStoreError(db.claimDueCronRoutines('', 1), 'invalid_argument', /owner/);
      await assertStoreError(db.claimDueCronRoutines('me', -1), 'invalid_argument', /limit/);
      await assertStoreError(db.countRunningRoutineRunsBatch(['x']), 'invalid_argument', /routine_ids\[0\]/);
    });

    it('notify.user is normalised on write and on read', async () => {
      const cases: [string | null, string | null][] = [
        ['  ada  ', 'ada'],
        ['default', null],
        ['   ', null],
        ['', null],
        [null, null],
      ];
      for (const [given, expected] of cases) {
        const r = makeRoutine({ notify: { channel: null, user: given, onAttention: true, onFailure: true, onSuccess: false } });
        assert.equal((await db.createRoutine(r)).notify.user, expected);
        assert.equal((await db.getRoutine(r.id))?.notify.user, expected);
      }
      // A legacy row stored verbatim reads normalised.
      const legacy = makeRoutine();
      await db.createRoutine(legacy);
      await raw(config, 'UPDATE routines SET notify_user = ? WHERE id = ?', [' default ', legacy.id]);
      assert.equal((await db.getRoutine(legacy.id))?.notify.user, null);
      await raw(config, 'UPDATE routines SET notify_user = ? WHERE id = ?', [' bob ', legacy.id]);
      assert.equal((await db.getRoutine(legacy.id))?.notify.user, 'bob');
    });

    it('stored configs read with the reference defaults; an unreadable row is DATA_LOSS', async () => {
      const r = makeRoutine({ trigger: { kind: 'system_event', source: 's', eventType: 'e', filters: {} } });
      await db.createRoutine(r);
      await raw(config, 'UPDATE routines SET trigger_config = ?, action_config = ? WHERE id = ?', [
        JSON.stringify({ source: 's', event_type: 'e', filters: { n: 5, b: true, s: 'x', o: { no: 1 }, z: null } }),
        JSON.stringify({ prompt: 'p', context_paths: ['a', 3, 'b'], max_tool_rounds: 99 }),
        r.id,
      ]);
      let got = (await db.getRoutine(r.id))!;
      assert.deepEqual(got.trigger, { kind: 'system_event', source: 's', eventType: 'e', filters: { n: '5', b: 'true', s: 'x' } });
      assert.deepEqual(got.action, { kind: 'lightweight', prompt: 'p', contextPaths: ['a', 'b'], maxTokens: 4096, useTools: false, maxToolRounds: 20 });
      await raw(config, "UPDATE routines SET trigger_type = 'cron', trigger_config = ?, action_type = 'full_job', action_config = ? WHERE id = ?", [
        JSON.stringify({ schedule: '0 0 9 * * *', timezone: 'Not/AZone' }),
        JSON.stringify({ title: 't', description: 'd' }),
        r.id,
      ]);
      got = (await db.getRoutine(r.id))!;
      assert.deepEqual(got.trigger, { kind: 'cron', schedule: '0 0 9 * * *', timezone: null });
      assert.deepEqual(got.action, { kind: 'full_job', title: 't', description: 'd', maxIterations: 10, toolPermissions: [] });
      await raw(config, 'UPDATE routines SET action_config = ? WHERE id = ?', [JSON.stringify({ prompt: 'p' }), r.id]);
      await assertStoreError(db.getRoutine(r.id), 'data_loss', /action_config/);
      await db.deleteRoutine(r.id);
    });

    it('the table refuses unknown kinds and statuses even past the daemon', async () => {
      const r = makeRoutine();
      await db.createRoutine(r);
      await assert.rejects(raw(config, "UPDATE routines SET trigger_type = 'webhook' WHERE id = ?", [r.id]));
      await assert.rejects(raw(config, "UPDATE routines SET action_type = 'shell' WHERE id = ?", [r.id]));
      const run = makeRun(r.id);
      await db.createRoutineRun(run);
      await assert.rejects(raw(config, "UPDATE routine_runs SET status = 'done' WHERE id = ?", [run.id]));
      assert.equal((await db.listRoutineRuns(r.id, 5)).length, 1);
    });

    it('runs: create ignores completion fields, list newest first with limit, complete', async () => {
      const r = makeRoutine();
      await db.createRoutine(r);
      const base = Date.now();
      const runs = [0, 1, 2].map((i) =>
        makeRun(r.id, {
          startedAt: new Date(base + i * 1000),
          triggerType: i === 2 ? 'manual' : 'cron',
          triggerDetail: i === 1 ? null : `detail ${i}`,
          completedAt: new Date(),
          resultSummary: 'ignored',
          tokensUsed: 5,
        }),
      );
      for (const run of runs) await db.createRoutineRun(run);
      const listed = await db.listRoutineRuns(r.id, 10);
      assert.deepEqual(ids(listed), ids([...runs].reverse()));
      for (const got of listed) {
        const given = runs.find((x) => x.id === got.id)!;
        assert.equal(got.completedAt, null);
        assert.equal(got.resultSummary, null);
        assert.equal(got.tokensUsed, null);
        assert.equal(got.status, 'running');
        assert.equal(got.triggerType, given.triggerType);
        assert.equal(got.triggerDetail, given.triggerDetail);
        assert.deepEqual(got.startedAt, given.startedAt);
        assert.ok(got.createdAt instanceof Date);
      }
      assert.deepEqual(ids(await db.listRoutineRuns(r.id, 2)), [runs[2]!.id, runs[1]!.id]);
      assert.deepEqual(await db.listRoutineRuns(r.id, 0), []);

      const before = Date.now();
      await db.completeRoutineRun(runs[0]!.id, 'attention', 'needs a look', 1234);
      const done = (await db.listRoutineRuns(r.id, 10)).find((x) => x.id === runs[0]!.id)!;
      assert.equal(done.status, 'attention');
      assert.equal(done.resultSummary, 'needs a look');
      assert.equal(done.tokensUsed, 1234);
      assert.ok(done.completedAt && done.completedAt.getTime() >= before - 1);
      // Nulls overwrite; completing twice overwrites.
      await db.completeRoutineRun(runs[0]!.id, 'ok', null, null);
      const again = (await db.listRoutineRuns(r.id, 10)).find((x) => x.id === runs[0]!.id)!;
      assert.equal(again.status, 'ok');
      assert.equal(again.resultSummary, null);
      assert.equal(again.tokensUsed, null);
      await db.completeRoutineRun(randomUUID(), 'failed', null, null); // missing id: no-op
    });

    it('runs: equal started_at keep insertion order (newest first)', async () => {
      const r = makeRoutine();
      await db.createRoutine(r);
      const t = new Date();
      const runs = [0, 1, 2, 3].map(() => makeRun(r.id, { startedAt: t }));
      for (const run of runs) await db.createRoutineRun(run);
      assert.deepEqual(ids(await db.listRoutineRuns(r.id, 10)), ids([...runs].reverse()));
    });

    it('runs: bad input and unknown routine', async () => {
      const r = makeRoutine();
      await db.createRoutine(r);
      await assertStoreError(db.createRoutineRun(makeRun(r.id, { status: 'done' as never })), 'invalid_argument', /run\.status/);
      await assertStoreError(db.createRoutineRun(makeRun(r.id, { triggerType: 'webhook' as never })), 'invalid_argument', /run\.trigger_type/);
      await assertStoreError(db.createRoutineRun(makeRun(r.id, { jobId: 'nope' })), 'invalid_argument', /run\.job_id/);
      await assertStoreError(db.createRoutineRun(makeRun(randomUUID())), 'failed_precondition', /run\.routine_id/);
      const run = makeRun(r.id);
      await db.createRoutineRun(run);
      await assertStoreError(db.createRoutineRun(run), 'already_exists', /run\.id/);
      await assertStoreError(db.completeRoutineRun(run.id, 'finished' as never, null, null), 'invalid_argument', /status/);
      await assertStoreError(db.completeRoutineRun(run.id, 'ok', null, -1), 'invalid_argument', /tokens_used/);
      assert.equal((await db.listRoutineRuns(r.id, 10)).length, 1);
      assert.equal((await db.listRoutineRuns(r.id, 10))[0]!.status, 'running');
    });

    it('running counts, single and batch (every requested id, 0 default, duplicates collapse)', async () => {
      const a = makeRoutine();
      const b = makeRoutine();
      await db.createRoutine(a);
      await db.createRoutine(b);
      const runs = [makeRun(a.id), makeRun(a.id), makeRun(a.id), makeRun(b.id)];
      for (const run of runs) await db.createRoutineRun(run);
      await db.completeRoutineRun(runs[2]!.id, 'failed', 'boom', null);
      assert.equal(await db.countRunningRoutineRuns(a.id), 2);
      assert.equal(await db.countRunningRoutineRuns(b.id), 1);
      assert.equal(await db.countRunningRoutineRuns(randomUUID()), 0);
      const none = randomUUID();
      const m = await db.countRunningRoutineRunsBatch([a.id, b.id, none, a.id.toUpperCase()]);
      assert.deepEqual(
        [...m.entries()].sort(),
        [
          [a.id, 2],
          [b.id, 1],
          [none, 0],
        ].sort(),
      );
      assert.equal((await db.countRunningRoutineRunsBatch([])).size, 0);
    });

    it('dispatched = running with a job id; linking a missing run is a no-op', async () => {
      const r = makeRoutine({ action: { kind: 'full_job', title: 't', description: 'd', maxIterations: 10, toolPermissions: [] } });
      await db.createRoutine(r);
      const plain = makeRun(r.id);
      const linked = makeRun(r.id);
      const finished = makeRun(r.id, { jobId: randomUUID() });
      const given = makeRun(r.id, { jobId: randomUUID() });
      for (const run of [plain, linked, finished, given]) await db.createRoutineRun(run);
      const job = randomUUID();
      await db.linkRoutineRunToJob(linked.id, job);
      await db.completeRoutineRun(finished.id, 'ok', null, null);
      await db.linkRoutineRunToJob(randomUUID(), job);
      const dispatched = (await db.listDispatchedRoutineRuns()).filter((x) => x.routineId === r.id);
      assert.deepEqual(ids(dispatched).sort(), [linked.id, given.id].sort());
      assert.equal(dispatched.find((x) => x.id === linked.id)?.jobId, job);
      assert.equal(dispatched.find((x) => x.id === given.id)?.jobId, given.jobId);
    });

    it('the batch running count and the due/claim query read their indexes', async () => {
      const plan = async (sqlText: string, params: RawParam[]) => {
        const rows =
          config.backend === 'libsql'
            ? await rawRows(config, [`EXPLAIN QUERY PLAN ${sqlText}`], params)
            : await rawRows(config, ['SET enable_seqscan = off', `EXPLAIN ${sqlText.replace(/\$\d+/g, '?')}`], params);
        return rows.map((r) => String(r.detail ?? r['QUERY PLAN'])).join('\n');
      };
      const id = randomUUID();
      const batch =
        config.backend === 'libsql'
          ? await plan(libsqlQueries.COUNT_RUNNING_BATCH, [JSON.stringify([id]), null])
          : await plan(pgQueries.COUNT_RUNNING_BATCH.text, [[id], null]);
      assert.match(batch, /idx_routine_runs_running/);
      const claim =
        config.backend === 'libsql'
          ? await plan(libsqlQueries.CLAIM_SELECT, [new Date().toISOString(), 10])
          : await plan(pgQueries.CLAIM_SELECT.text, [new Date().toISOString(), 10]);
      assert.match(claim, /idx_routines_due_cron/);
    });

    describe('ClaimDueCronRoutines', () => {
      let claimConfig: Config;
      let claimDb: Database;
      before(async () => {
        claimConfig = await ctx.backend.config();
        claimDb = await openMigrated(claimConfig);
      });
      after(async () => {
        await claimDb?.close();
      });

      it('claims due cron routines once, advancing next_fire_at from the schedule', async () => {
        const past = new Date(Date.now() - 3_600_000);
        const due = makeRoutine({ nextFireAt: past, trigger: { kind: 'cron', schedule: '*/10 * * * * *', timezone: null } });
        const off = makeRoutine({ nextFireAt: past, enabled: false });
        const ev = makeRoutine({ nextFireAt: past, trigger: { kind: 'manual' } });
        for (const r of [due, off, ev]) await claimDb.createRoutine(r);
        assert.deepEqual(await claimDb.claimDueCronRoutines('daemon-a', 0), []);
        const t0 = new Date();
        const claimed = await claimDb.claimDueCronRoutines('daemon-a', 10);
        assert.deepEqual(ids(claimed.map((c) => c.routine)), [due.id]);
        assert.deepEqual(claimed[0]!.fireAt, past);
        const next = claimed[0]!.routine.nextFireAt!;
        assert.ok(next > t0 && next.getTime() - t0.getTime() <= 10_000, next.toISOString());
        assert.equal(next.getUTCSeconds() % 10, 0);
        assert.deepEqual((await claimDb.getRoutine(due.id))?.nextFireAt, next);
        assert.deepEqual(await claimDb.claimDueCronRoutines('daemon-b', 10), []);
        assert.ok(!ids(await claimDb.listDueCronRoutines()).includes(due.id));
        for (const r of [off, ev]) assert.deepEqual((await claimDb.getRoutine(r.id))?.nextFireAt, past);
        await claimDb.deleteRoutine(due.id);
      });

      it('4 concurrent claimers × 200 due routines → every firing claimed exactly once', async () => {
        const routines = Array.from({ length: 200 }, (_, i) =>
          makeRoutine({ nextFireAt: new Date(Date.now() - 1000 - i), trigger: { kind: 'cron', schedule: '0 0 0 1 1 *', timezone: 'Europe/Berlin' } }),
        );
        for (const r of routines) await claimDb.createRoutine(r);
        // On PostgreSQL every claimer is its own Database (its own pool), as
        // separate daemons would be; libSQL daemons share one writer queue.
        const claimers: Database[] =
          claimConfig.backend === 'postgres' ? [0, 1, 2, 3].map(() => openDatabase(claimConfig)) : [claimDb, claimDb, claimDb, claimDb];
        try {
          const results = await Promise.all(
            claimers.map(async (d, i) => {
              const got: ClaimedFiring[] = [];
              for (;;) {
                const batch = await d.claimDueCronRoutines(`claimer-${i}`, 7);
                if (batch.length === 0) return got;
                got.push(...batch);
              }
            }),
          );
          const all = results.flat();
          const keys = all.map((c) => `${c.routine.id}@${c.fireAt.toISOString()}`);
          assert.equal(new Set(keys).size, keys.length, 'a firing was claimed twice');
          assert.deepEqual(new Set(all.map((c) => c.routine.id)), new Set(ids(routines)));
          assert.equal(all.length, 200);
          const y = new Date().getUTCFullYear() + 1;
          for (const c of all) assert.deepEqual(c.routine.nextFireAt, new Date(`${y - 1}-12-31T23:00:00.000Z`));
          assert.deepEqual(await claimDb.listDueCronRoutines(), []);
        } finally {
          if (claimConfig.backend === 'postgres') await Promise.all(claimers.map((d) => d.close()));
        }
      });

      it('a schedule that never fires again is claimed once and then left alone', async () => {
        const r = makeRoutine({ nextFireAt: new Date(Date.now() - 1000) });
        await claimDb.createRoutine(r);
        await raw(claimConfig, 'UPDATE routines SET trigger_config = ? WHERE id = ?', [JSON.stringify({ schedule: '0 0 0 30 2 *', timezone: null }), r.id]);
        const claimed = await claimDb.claimDueCronRoutines('x', 10);
        assert.deepEqual(ids(claimed.map((c) => c.routine)), [r.id]);
        assert.equal(claimed[0]!.routine.nextFireAt, null);
        assert.equal((await claimDb.getRoutine(r.id))?.nextFireAt, null);
        assert.deepEqual(await claimDb.claimDueCronRoutines('x', 10), []);
      });
    });
  });
}
