// The daemon's own periodic maintenance, on node-cron schedules set in the
// configuration (README "Housekeeping"). Each run is logged with its
// duration and result; a run never overlaps the previous one of the same
// task; stop() ends the schedules and waits for a run in progress, so the
// database is closed only after it.
import { createTask, type ScheduledTask } from 'node-cron';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './store/database.js';

export interface HousekeepingTask {
  name: string;
  /** node-cron expression (5 fields, or 6 with seconds first), in UTC. */
  schedule: string;
  run(): Promise<unknown>;
}

export interface Housekeeping {
  readonly tasks: readonly string[];
  stop(): Promise<void>;
}

/**
 * The tasks the configuration turns on. A task a backend has no use for
 * (a WAL checkpoint on PostgreSQL) answers null and is logged at debug only.
 */
export function housekeepingTasks(config: Pick<Config, 'walCheckpointSchedule'>, db: Database): HousekeepingTask[] {
  const tasks: HousekeepingTask[] = [];
  if (config.walCheckpointSchedule) tasks.push({ name: 'wal-checkpoint', schedule: config.walCheckpointSchedule, run: () => db.walCheckpoint() });
  return tasks;
}

export function startHousekeeping(tasks: HousekeepingTask[], log: Logger): Housekeeping {
  const running = new Set<Promise<void>>();
  let stopped = false;
  const scheduled: ScheduledTask[] = tasks.map((t) => {
    let busy = false;
    const once = async () => {
      const started = performance.now();
      try {
        const result = await t.run();
        log[result === null ? 'debug' : 'info']({ task: t.name, ms: Math.round(performance.now() - started), result }, 'housekeeping');
      } catch (e) {
        log.warn({ task: t.name, ms: Math.round(performance.now() - started), err: e instanceof Error ? { message: e.message } : String(e) }, 'housekeeping failed');
      }
    };
    const task = createTask(
      t.schedule,
      () => {
        if (stopped || busy) return;
        busy = true;
        const p = once().finally(() => {
          busy = false;
          running.delete(p);
        });
        running.add(p);
        return p;
      },
      { name: `agentstore-${t.name}`, timezone: 'UTC', noOverlap: true },
    );
    void task.start();
    log.info({ task: t.name, schedule: t.schedule }, 'housekeeping scheduled');
    return task;
  });
  return {
    tasks: tasks.map((t) => t.name),
    async stop() {
      stopped = true;
      await Promise.all(scheduled.map(async (s) => s.destroy()));
      await Promise.all([...running]);
    },
  };
}
