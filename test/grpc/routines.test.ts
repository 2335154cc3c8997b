// Every RoutineStore RPC through a running daemon and a real gRPC client,
// on libSQL and on PostgreSQL: the wire shapes (typed triggers and actions,
// defaults for absent optional fields, the run status enum) and the status
// codes a client acts on.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { RoutineStore, RunStatus } from '../../src/gen/agentstore/v1/routines_pb.js';
import { serviceDefinition } from '../../src/grpc/bridge.js';
import { projectRoot } from '../../src/backends/migrations.js';
import { createTestDatabase, freePort, stopTestServer } from '../support/postgres.js';

type Methods = typeof RoutineStore.method;
type Client = {
  [K in keyof Methods]: (req: MessageInitShape<Methods[K]['input']>) => Promise<MessageShape<Methods[K]['output']>>;
};

/** A promise client for one service, built from its generated descriptor. */
function client(address: string): { c: Client; close: () => void } {
  const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(RoutineStore as unknown as GenService<GenServiceMethods>), 'RoutineStore');
  const raw = new Ctor(address, grpc.credentials.createInsecure()) as unknown as Record<string, Function>;
  const c = {} as Record<string, unknown>;
  for (const m of RoutineStore.methods) {
    c[m.localName] = (init: MessageInitShape<DescMessage>) =>
      new Promise((resolve, reject) =>
        raw[m.name]!.call(raw, create(m.input, init), { deadline: Date.now() + 15_000 }, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))),
      );
  }
  return { c: c as Client, close: () => (raw as unknown as grpc.Client).close() };
}

/** Starts `agentstore serve` and resolves once it answers. */
async function startDaemon(env: Record<string, string>): Promise<{ address: string; proc: ChildProcess; stop: () => Promise<void> }> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const proc = spawn(process.execPath, [join(projectRoot(), 'dist/src/main.js'), 'serve'], {
    env: { ...process.env, AGENTSTORE_LISTEN: address, AGENTSTORE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`daemon exited with ${code}: ${stderr}`))));
  const ready = (async () => {
    for (let i = 0; i < 200; i++) {
      const { c, close } = client(address);
      try {
        await c.listAllRoutines({});
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        close();
      }
    }
    throw new Error(`daemon did not answer: ${stderr}`);
  })();
  await Promise.race([ready, exited]);
  return {
    address,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.removeAllListeners('exit');
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

async function rejectsWith(p: Promise<unknown>, code: grpc.status, details: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    const err = e as grpc.ServiceError;
    assert.equal(err.code, code, `expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
    assert.match(err.details, details);
    return true;
  });
}

const cron = (schedule: string, timezone?: string) => ({ kind: { case: 'cron' as const, value: { schedule, timezone } } });
const prompt = { kind: { case: 'lightweight' as const, value: { prompt: 'check the weather' } } };

const BACKENDS: { name: string; env: () => Promise<Record<string, string>>; cleanup: () => Promise<void> }[] = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-grpc-routines-'));
  return [
    {
      name: 'libsql',
      env: async () => ({ DATABASE_BACKEND: 'libsql', LIBSQL_PATH: join(dir, 'agentstore.db') }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    },
    {
      name: 'postgres',
      env: async () => ({ DATABASE_BACKEND: 'postgres', DATABASE_URL: await createTestDatabase() }),
      cleanup: stopTestServer,
    },
  ];
})();

for (const backend of BACKENDS) {
  describe(`RoutineStore over gRPC: ${backend.name}`, () => {
    let daemon: Awaited<ReturnType<typeof startDaemon>>;
    let env: Record<string, string>;
    let c: Client;
    let close: () => void;
    before(async () => {
      env = await backend.env();
      daemon = await startDaemon(env);
      ({ c, close } = client(daemon.address));
    });
    after(async () => {
      close?.();
      await daemon?.stop();
      await backend.cleanup();
    });

    it('drives every RPC', async () => {
      const user = `user-${randomUUID()}`;
      const id = randomUUID();

      // CreateRoutine: defaults for absent optional fields, computed next fire time, normalised notify.user.
      const before = Date.now();
      const created = (
        await c.createRoutine({
          routine: { id, name: 'morning', userId: user, trigger: cron('0 30 7 * * *', 'Europe/Berlin'), action: prompt, notify: { user: ' default ' } },
        })
      ).routine!;
      assert.equal(created.id, id);
      assert.equal(created.enabled, true, 'absent enabled means enabled');
      assert.equal(created.trigger?.kind.case, 'cron');
      assert.deepEqual(created.guardrails && { c: created.guardrails.cooldownSecs, m: created.guardrails.maxConcurrent, d: created.guardrails.dedupWindowSecs }, { c: 300, m: 1, d: undefined });
      assert.equal(created.notify?.user, undefined);
      assert.equal(created.notify?.onFailure, true);
      assert.equal(created.notify?.onSuccess, false);
      const lw = created.action?.kind.case === 'lightweight' ? created.action.kind.value : undefined;
      assert.deepEqual(lw && [lw.maxTokens, lw.useTools, lw.maxToolRounds], [4096, false, 3]);
      const next = timestampDate(created.nextFireAt!);
      assert.ok(next.getTime() > before && next.getTime() - before <= 25 * 3600_000);
      assert.equal(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(next), '07:30');
      assert.equal(created.runCount, 0n);
      assert.equal(created.state?.kind.case, 'structValue');

      // Bad input: status code and the field.
      await rejectsWith(c.createRoutine({ routine: { id: randomUUID(), name: 'x', userId: user, trigger: cron('0 61 * * * *'), action: prompt } }), grpc.status.INVALID_ARGUMENT, /^trigger\.schedule/);
      await rejectsWith(c.createRoutine({ routine: { id: randomUUID(), name: 'x', userId: user, trigger: cron('0 0 9 * * *', 'Nowhere/City'), action: prompt } }), grpc.status.INVALID_ARGUMENT, /^trigger\.timezone/);
      await rejectsWith(c.createRoutine({ routine: { id: randomUUID(), name: 'x', userId: user, trigger: {}, action: prompt } }), grpc.status.INVALID_ARGUMENT, /^trigger\.kind/);
      await rejectsWith(c.createRoutine({ routine: { id: randomUUID(), name: 'x', userId: user, trigger: cron('@daily'), action: {} } }), grpc.status.INVALID_ARGUMENT, /^action\.kind/);
      await rejectsWith(
        c.createRoutine({ routine: { id: randomUUID(), name: 'x', userId: user, trigger: cron('@daily'), action: { kind: { case: 'lightweight', value: { prompt: 'p', maxToolRounds: 50 } } } } }),
        grpc.status.INVALID_ARGUMENT,
        /^action\.max_tool_rounds/,
      );
      await rejectsWith(c.createRoutine({}), grpc.status.INVALID_ARGUMENT, /^routine/);
      await rejectsWith(c.createRoutine({ routine: { id, name: 'other', userId: user, trigger: cron('@daily'), action: prompt } }), grpc.status.ALREADY_EXISTS, /routine/);

      // Reads.
      assert.equal((await c.getRoutine({ id })).routine?.name, 'morning');
      assert.equal((await c.getRoutine({ id: randomUUID() })).routine, undefined);
      await rejectsWith(c.getRoutine({ id: 'nope' }), grpc.status.INVALID_ARGUMENT, /^id/);
      assert.equal((await c.getRoutineByName({ userId: user, name: 'morning' })).routine?.id, id);
      assert.equal((await c.getRoutineByName({ userId: user, name: 'Morning' })).routine, undefined);

      const eventId = randomUUID();
      await c.createRoutine({
        routine: {
          id: eventId,
          name: 'deploys',
          userId: user,
          enabled: true,
          trigger: { kind: { case: 'systemEvent', value: { source: 'github', eventType: 'deployment', filters: { env: 'prod' } } } },
          action: { kind: { case: 'fullJob', value: { title: 'Check deploy', description: 'verify', toolPermissions: ['http'] } } },
          guardrails: { cooldownSecs: 10, dedupWindowSecs: 60 },
        },
      });
      const dueId = randomUUID();
      const past = new Date(Date.now() - 60_000);
      await c.createRoutine({
        routine: { id: dueId, name: 'due', userId: user, enabled: true, trigger: cron('*/5 * * * *'), action: prompt, nextFireAt: timestampFromDate(past) },
      });
      assert.deepEqual((await c.listRoutines({ userId: user })).routines.map((r) => r.name), ['deploys', 'due', 'morning']);
      assert.ok((await c.listAllRoutines({})).routines.some((r) => r.id === eventId));
      const ev = (await c.listEventRoutines({})).routines.find((r) => r.id === eventId)!;
      assert.equal(ev.trigger?.kind.case, 'systemEvent');
      assert.deepEqual(ev.trigger?.kind.case === 'systemEvent' ? ev.trigger.kind.value.filters : null, { env: 'prod' });
      assert.equal(ev.action?.kind.case === 'fullJob' ? ev.action.kind.value.maxIterations : 0, 10);
      assert.equal(ev.guardrails?.dedupWindowSecs, 60);
      assert.deepEqual((await c.listDueCronRoutines({})).routines.map((r) => r.id), [dueId]);

      // UpdateRoutine and UpdateRoutineRuntime.
      // A spread message keeps its $typeName, and create() would then not
      // convert the plain trigger inside it: drop the tag first.
      const { $typeName: _tag, ...createdInit } = created;
      const upd = (await c.updateRoutine({ routine: { ...createdInit, description: 'weekdays only', trigger: cron('0 30 7 * * MON-FRI', 'Europe/Berlin'), nextFireAt: undefined } })).routine!;
      assert.equal(upd.description, 'weekdays only');
      assert.ok(upd.nextFireAt);
      assert.equal((await c.updateRoutine({ routine: { ...createdInit, id: randomUUID() } })).routine, undefined);
      const last = new Date('2026-04-01T05:30:00.000Z');
      await c.updateRoutineRuntime({ id, lastRunAt: timestampFromDate(last), runCount: 3n, consecutiveFailures: 1n, state: { kind: { case: 'stringValue', value: 'ok' } } });
      const rt = (await c.getRoutine({ id })).routine!;
      assert.deepEqual(timestampDate(rt.lastRunAt!), last);
      assert.equal(rt.nextFireAt, undefined, 'absent next_fire_at clears it');
      assert.equal(rt.runCount, 3n);
      assert.equal(rt.consecutiveFailures, 1n);
      assert.equal(rt.state?.kind.value, 'ok');
      await rejectsWith(c.updateRoutineRuntime({ id, runCount: 1n }), grpc.status.INVALID_ARGUMENT, /^last_run_at/);

      // Runs.
      const runId = randomUUID();
      await c.createRoutineRun({ run: { id: runId, routineId: eventId, triggerType: 'system_event', triggerDetail: 'deployment prod', status: RunStatus.RUNNING } });
      const run2 = randomUUID();
      await c.createRoutineRun({ run: { id: run2, routineId: eventId, triggerType: 'manual', status: RunStatus.RUNNING, startedAt: timestampFromDate(new Date(Date.now() + 1000)) } });
      await rejectsWith(c.createRoutineRun({ run: { id: randomUUID(), routineId: eventId, triggerType: 'manual' } }), grpc.status.INVALID_ARGUMENT, /^run\.status/);
      await rejectsWith(c.createRoutineRun({ run: { id: randomUUID(), routineId: eventId, triggerType: 'webhook', status: RunStatus.RUNNING } }), grpc.status.INVALID_ARGUMENT, /^run\.trigger_type/);
      await rejectsWith(c.createRoutineRun({ run: { id: randomUUID(), routineId: randomUUID(), triggerType: 'manual', status: RunStatus.RUNNING } }), grpc.status.FAILED_PRECONDITION, /^run\.routine_id/);
      assert.equal((await c.countRunningRoutineRuns({ routineId: eventId })).count, 2n);
      const job = randomUUID();
      await c.linkRoutineRunToJob({ runId, jobId: job });
      await rejectsWith(c.linkRoutineRunToJob({ runId, jobId: 'job-1' }), grpc.status.INVALID_ARGUMENT, /^job_id/);
      const dispatched = (await c.listDispatchedRoutineRuns({})).runs;
      assert.deepEqual(dispatched.map((r) => [r.id, r.jobId]), [[runId, job]]);
      await c.completeRoutineRun({ id: run2, status: RunStatus.ATTENTION, resultSummary: 'look', tokensUsed: 42 });
      await rejectsWith(c.completeRoutineRun({ id: run2, status: RunStatus.UNSPECIFIED }), grpc.status.INVALID_ARGUMENT, /^status/);
      const runs = (await c.listRoutineRuns({ routineId: eventId, limit: 10n })).runs;
      assert.deepEqual(runs.map((r) => r.id), [run2, runId]);
      assert.equal(runs[0]!.status, RunStatus.ATTENTION);
      assert.equal(runs[0]!.tokensUsed, 42);
      assert.equal(runs[0]!.resultSummary, 'look');
      assert.ok(runs[0]!.completedAt);
      assert.equal(runs[1]!.triggerDetail, 'deployment prod');
      assert.equal(runs[1]!.completedAt, undefined);
      assert.equal((await c.listRoutineRuns({ routineId: eventId, limit: 1n })).runs.length, 1);
      await rejectsWith(c.listRoutineRuns({ routineId: eventId, limit: -1n }), grpc.status.INVALID_ARGUMENT, /^limit/);
      const none = randomUUID();
      const batch = (await c.countRunningRoutineRunsBatch({ routineIds: [eventId, id, none, eventId] })).counts;
      assert.deepEqual({ ...batch }, { [eventId]: 1n, [id]: 0n, [none]: 0n });
      await rejectsWith(c.countRunningRoutineRunsBatch({ routineIds: ['x'] }), grpc.status.INVALID_ARGUMENT, /^routine_ids\[0\]/);

      // ClaimDueCronRoutines.
      const claims = (await c.claimDueCronRoutines({ owner: 'grpc-test', limit: 10n })).claims;
      assert.deepEqual(claims.map((x) => x.routine?.id), [dueId]);
      assert.deepEqual(timestampDate(claims[0]!.fireAt!), past);
      const advanced = timestampDate(claims[0]!.routine!.nextFireAt!);
      assert.ok(advanced.getTime() > Date.now() - 1000 && advanced.getUTCMinutes() % 5 === 0);
      assert.deepEqual((await c.claimDueCronRoutines({ owner: 'grpc-test', limit: 10n })).claims, []);
      await rejectsWith(c.claimDueCronRoutines({ owner: '', limit: 1n }), grpc.status.INVALID_ARGUMENT, /^owner/);

      // DeleteRoutine (runs go with it).
      assert.equal((await c.deleteRoutine({ id: eventId })).deleted, true);
      assert.equal((await c.deleteRoutine({ id: eventId })).deleted, false);
      assert.equal((await c.countRunningRoutineRuns({ routineId: eventId })).count, 0n);
    });

    it('two daemons on one database: 4 claimers × 200 due routines → every firing claimed once', async () => {
      const second = await startDaemon(env);
      const other = client(second.address);
      try {
        const user = `claim-${randomUUID()}`;
        const ids = new Set<string>();
        const past = timestampFromDate(new Date(Date.now() - 5000));
        for (let i = 0; i < 200; i++) {
          const id = randomUUID();
          ids.add(id);
          await c.createRoutine({ routine: { id, name: `r${i}`, userId: user, trigger: cron('0 0 0 1 1 *', 'Asia/Tokyo'), action: prompt, nextFireAt: past } });
        }
        const claimers = [c, c, other.c, other.c];
        const results = await Promise.all(
          claimers.map(async (cl, i) => {
            const got: string[] = [];
            for (;;) {
              const claims = (await cl.claimDueCronRoutines({ owner: `daemon-${i >> 1}-claimer-${i}`, limit: 7n })).claims;
              if (claims.length === 0) return got;
              for (const x of claims) got.push(`${x.routine!.id}@${timestampDate(x.fireAt!).toISOString()}`);
            }
          }),
        );
        const all = results.flat().filter((k) => ids.has(k.split('@')[0]!));
        assert.equal(all.length, 200);
        assert.equal(new Set(all).size, 200, 'a firing was claimed twice');
        assert.deepEqual((await other.c.listDueCronRoutines({})).routines, []);
      } finally {
        other.close();
        await second.stop();
      }
    });
  });
}
