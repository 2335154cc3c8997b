// Housekeeping: node-cron schedules from the configuration, each run logged,
// no overlap, and stop() waiting for a run in progress. The WAL checkpoint
// runs against a real libSQL file and must leave the log truncated.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../../src/config.js';
import { housekeepingTasks, startHousekeeping } from '../../src/housekeeping.js';
import { openMigrated } from '../support/databases.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

describe('housekeeping', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-housekeeping-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the schedule setting: default, "off", and a bad expression named at boot', () => {
    assert.equal(loadConfig({}).config.walCheckpointSchedule, '0 */5 * * * *');
    assert.equal(loadConfig({ AGENTSTORE_WAL_CHECKPOINT_SCHEDULE: 'off' }).config.walCheckpointSchedule, null);
    assert.equal(loadConfig({}, ['--wal-checkpoint-schedule', '*/30 * * * *']).config.walCheckpointSchedule, '*/30 * * * *');
    assert.throws(() => loadConfig({ AGENTSTORE_WAL_CHECKPOINT_SCHEDULE: 'every minute' }), (e: unknown) => e instanceof ConfigError && /^AGENTSTORE_WAL_CHECKPOINT_SCHEDULE:/.test(e.message));
    assert.throws(() => loadConfig({}, ['--wal-checkpoint-schedule=61 * * * *']), (e: unknown) => e instanceof ConfigError && /^--wal-checkpoint-schedule:/.test(e.message));
  });

  it('checkpoints the libSQL WAL on its schedule, logs each run, and stops', async () => {
    const path = join(dir, 'agentstore.db');
    const config = loadConfig({ LIBSQL_PATH: path, AGENTSTORE_WAL_CHECKPOINT_SCHEDULE: '* * * * * *' }).config;
    const db = await openMigrated(config);
    try {
      for (let i = 0; i < 50; i++) await db.setSetting('u', `k${i}`, { i, pad: 'x'.repeat(2000) });
      assert.ok(statSync(`${path}-wal`).size > 0, 'writes leave a WAL');
      const { log, lines } = capture();
      const hk = startHousekeeping(housekeepingTasks(config, db), log);
      assert.deepEqual(hk.tasks, ['wal-checkpoint']);
      const runs = () => lines.filter((l) => l.msg === 'housekeeping' && l.task === 'wal-checkpoint');
      for (let i = 0; i < 40 && runs().length === 0; i++) await sleep(100);
      await hk.stop();
      assert.ok(runs().length >= 1, 'the checkpoint ran');
      const result = runs()[0]!.result as { busy: boolean; logPages: number; checkpointedPages: number };
      assert.equal(result.busy, false);
      assert.equal(result.logPages, result.checkpointedPages);
      assert.equal(statSync(`${path}-wal`).size, 0, 'TRUNCATE leaves an empty log');
      const count = runs().length;
      await sleep(1300);
      assert.equal(runs().length, count, 'no run after stop()');
      assert.ok(lines.some((l) => l.msg === 'housekeeping scheduled' && l.schedule === '* * * * * *'));
      // The database still works after the checkpoint.
      assert.deepEqual(await db.getSetting('u', 'k3'), { i: 3, pad: 'x'.repeat(2000) });
    } finally {
      await db.close();
    }
  });

  it('a slow run never overlaps itself, a failure is logged, and stop() waits for the run in progress', async () => {
    const { log, lines } = capture();
    let active = 0;
    let maxActive = 0;
    let finished = 0;
    const hk = startHousekeeping(
      [
        {
          name: 'slow',
          schedule: '* * * * * *',
          run: async () => {
            active++;
            maxActive = Math.max(maxActive, active);
            await sleep(1500);
            active--;
            finished++;
            return 'done';
          },
        },
        { name: 'broken', schedule: '* * * * * *', run: async () => Promise.reject(new Error('disk on fire')) },
      ],
      log,
    );
    for (let i = 0; i < 40 && active === 0; i++) await sleep(100);
    assert.equal(active, 1);
    await sleep(1100); // at least one more tick while the first run is still going
    await hk.stop();
    assert.equal(active, 0, 'stop() resolved only after the run in progress finished');
    assert.equal(maxActive, 1);
    assert.ok(finished >= 1);
    assert.ok(lines.some((l) => l.msg === 'housekeeping failed' && l.task === 'broken' && (l.err as { message: string }).message === 'disk on fire'));
  });
});
