// libSQL search batches share the event loop's turns (src/backends/libsql/turns.ts).
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { inTurn } from '../../src/backends/libsql/turns.js';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('inTurn', () => {
  it('concurrent searches take turns batch by batch, in arrival order', async () => {
    const order: string[] = [];
    const search = async (name: string) => {
      for (let i = 1; i <= 3; i++) await inTurn(() => order.push(`${name}${i}`));
    };
    await Promise.all([search('a'), search('b')]);
    assert.deepEqual(order, ['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
  });

  it('a turn past its budget lets timers and I/O run before the next batch', async () => {
    // Past any turn the previous test left open.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const order: string[] = [];
    let timer: Promise<void> | undefined;
    // Each batch alone is longer than a turn's budget; the first one starts a timer.
    await Promise.all(
      [1, 2, 3].map((i) =>
        inTurn(() => {
          if (i === 1) timer = new Promise((resolve) => setTimeout(() => resolve(void order.push('timer')), 0));
          busy(6);
          order.push(`batch${i}`);
        }),
      ),
    );
    await timer;
    assert.deepEqual(order, ['batch1', 'timer', 'batch2', 'batch3']);
  });

  it('a failing batch rejects its caller only', async () => {
    const failing = inTurn(() => {
      throw new Error('boom');
    });
    const fine = inTurn(() => 42);
    await assert.rejects(failing, /boom/);
    assert.equal(await fine, 42);
  });
});
