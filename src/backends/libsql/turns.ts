// Turns of the event loop for long, synchronous search work on libSQL.
//
// The libsql driver runs a statement on the calling thread, so a search that
// reads many batches must hand the event loop back between them. Each
// search yielding on its own (setImmediate) is not enough: Node runs every
// immediate already queued in one check phase, so n concurrent searches ran
// n slices back to back before any I/O (6 searches: a 32 ms stall). Here
// every batch of every search goes through one queue, and each turn of the
// loop runs queued batches for at most TURN_MS (plus the one batch that
// crosses it) before the next turn, with I/O polled in between. Batches run
// in arrival order, so concurrent searches interleave fairly.
import { performance } from 'node:perf_hooks';

/** Search work per event-loop turn before the loop polls I/O again. */
const TURN_MS = 4;

interface Job {
  work: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const queue: Job[] = [];
let scheduled = false;

function runTurn(): void {
  scheduled = false;
  const start = performance.now();
  while (queue.length > 0 && performance.now() - start < TURN_MS) {
    const job = queue.shift()!;
    try {
      job.resolve(job.work());
    } catch (e) {
      job.reject(e);
    }
  }
  // Scheduled from inside the check phase: runs in the next loop iteration, after I/O.
  if (queue.length > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(runTurn);
}

/** Runs one synchronous batch of search work in a turn of the event loop shared with every other search. */
export function inTurn<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
    schedule();
  });
}
