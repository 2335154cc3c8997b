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
/** When the current turn began (in runTurn); null once the loop has moved on. */
let turnStart: number | null = null;

const budgetLeft = () => turnStart !== null && performance.now() - turnStart < TURN_MS;

// Always in the check phase (setImmediate), so a turn that uses up its budget
// schedules the next one for the next loop iteration: timers and I/O first.
function runTurn(): void {
  scheduled = false;
  turnStart = performance.now();
  // Closes this turn in the next iteration, before any later runTurn opens its own.
  setImmediate(() => {
    turnStart = null;
  });
  while (queue.length > 0 && budgetLeft()) {
    const job = queue.shift()!;
    try {
      job.resolve(job.work());
    } catch (e) {
      job.reject(e);
    }
  }
  if (queue.length > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(runTurn);
}

/**
 * Runs one synchronous batch of search work in a turn of the event loop
 * shared with every other search: at once while a turn is open with budget
 * left and no other batch waits (a search's next batch, typically), else
 * queued for the next turn.
 */
export function inTurn<T>(work: () => T): Promise<T> {
  if (queue.length === 0 && budgetLeft()) {
    try {
      return Promise.resolve(work());
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return new Promise<T>((resolve, reject) => {
    queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
    schedule();
  });
}
