// Live job events across daemons: two daemons on one PostgreSQL database,
// 1,000 events written through both while three followers stream (one on
// the first daemon, two on the second, one of those artificially slow) and a
// fourth disconnects midway and resumes from its cursor on the other daemon.
// Every follower must receive all 1,000 events in id order, exactly once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate, ValueSchema } from '@bufbuild/protobuf/wkt';
import { SandboxJobStatus, SandboxStore } from '../../src/gen/agentstore/v1/sandbox_pb.js';
import { stopTestServer } from '../support/postgres.js';
import { backendEnv, followEvents, promiseClient, startDaemon, type Daemon } from './jobs-helpers.js';

const N = 1000;
const WRITERS = 8;

describe('StreamJobEvents across two daemons on one PostgreSQL', () => {
  let a: Daemon;
  let b: Daemon;

  before(async () => {
    const env = await backendEnv('postgres');
    [a, b] = await Promise.all([startDaemon(env), startDaemon(env)]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await stopTestServer();
  });

  it('1,000 events through both daemons reach every follower in order, exactly once', async () => {
    const ca = promiseClient(SandboxStore, a.address);
    const cb = promiseClient(SandboxStore, b.address);
    try {
      const jobId = randomUUID();
      await ca.saveSandboxJob({
        job: { id: jobId, task: 't', status: SandboxJobStatus.RUNNING, userId: 'u', projectDir: '/p', createdAt: timestampFromDate(new Date()), credentialGrantsJson: '[]' },
      });
      const onA = followEvents(a.address, jobId, 0n);
      const onB = followEvents(b.address, jobId, 0n);
      const slowOnB = followEvents(b.address, jobId, 0n, 5);
      const leaving = followEvents(a.address, jobId, 0n);
      // let the followers register before the writes start (they would catch up anyway)
      await new Promise((r) => setTimeout(r, 200));

      const written: bigint[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, w) => {
          const client = w % 2 === 0 ? ca : cb;
          while (next < N) {
            const i = next++;
            const data = create(ValueSchema, { kind: { case: 'structValue', value: { fields: { i: create(ValueSchema, { kind: { case: 'numberValue', value: i } }) } } } });
            written.push((await client.saveJobEvent({ jobId, eventType: 'message', data })).id);
          }
        }),
      );
      written.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      assert.equal(new Set(written).size, N);

      // the leaving follower disconnects after some events and resumes on the other daemon
      const firstPart = await leaving.waitFor(300);
      leaving.cancel();
      const cursor = leaving.events[leaving.events.length - 1]!.id;
      const resumed = followEvents(b.address, jobId, cursor);
      const seenBefore = leaving.events.length;
      const rest = await resumed.waitFor(N - seenBefore, 120_000);
      const reconnected = [...leaving.events, ...rest].map((e) => e.id);
      assert.ok(firstPart.length === 300);

      for (const [name, f] of [
        ['follower on daemon A', onA],
        ['follower on daemon B', onB],
        ['slow follower on daemon B', slowOnB],
      ] as const) {
        const got = await f.waitFor(N, 120_000);
        assert.deepEqual(
          got.map((e) => e.id),
          written,
          `${name}: all ${N} in id order, once`,
        );
        assert.equal(f.events.length, N, `${name}: nothing extra`);
      }
      assert.deepEqual(reconnected, written, 'reconnected follower: no gap, no duplicate');

      // the job ends: every stream drains and closes with OK
      await cb.updateSandboxJobStatus({ id: jobId, status: SandboxJobStatus.COMPLETED, success: true });
      for (const f of [onA, onB, slowOnB, resumed]) assert.equal((await f.ended).code, 0);
      assert.equal(onA.events.length, N);
    } finally {
      ca.close();
      cb.close();
    }
  });
});
