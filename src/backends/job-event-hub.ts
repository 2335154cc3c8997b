// Live job-event followers, shared by both backends.
//
// Each backend wakes the hub when a job's events or status may have changed:
// libSQL right after its writer commits, PostgreSQL when a NOTIFY arrives on
// the daemon's one LISTEN connection (so events saved through any daemon on
// the database reach followers here). The hub never trusts a wake-up's
// content: per job with followers it re-reads the table after the highest id
// it has already handed out (one read per job, however many followers), and
// offers the rows to every follower of that job.
//
// Each follower has a bounded queue (events and payload bytes). A follower
// that falls behind (a slow client) overflows: its queue is dropped and it
// catches up by reading the table from its own cursor, so a slow follower
// costs at most `bufferSize` events / `bufferBytes` bytes of memory and never
// blocks writers or other followers. Every
// follower sends events in id order, each once: anything at or below its
// cursor is skipped.
//
// Why reading "after id n" never misses a row: the events of one job commit
// in id order (libSQL has one writer; PostgreSQL inserts lock the job's row
// first), so the visible events of a job are always a prefix of its ids.
import { StoreError } from '../store/errors.js';
import type { JobEventRecord, JobEventStream } from '../store/sandbox.js';

/** An event as read for followers, with the size of its JSON payload (what it costs to hold). */
export interface StoredEvent {
  event: JobEventRecord;
  bytes: number;
}

export interface JobEventSource {
  /** Events of the job with id > afterId, ascending, at most `limit`. */
  readAfter(jobId: string, afterId: number, limit: number): Promise<StoredEvent[]>;
  /** Highest event id of the job, 0 when none. */
  maxEventId(jobId: string): Promise<number>;
  /** undefined when the job does not exist (or, with an owner, is not that user's); otherwise whether it reached a terminal state. */
  jobTerminal(jobId: string, owner?: string | null): Promise<boolean | undefined>;
}

export interface JobEventHubOptions {
  /** Events queued per follower before it falls back to reading the table. */
  bufferSize: number;
  /** Payload bytes queued per follower before it falls back (one event is always allowed). */
  bufferBytes: number;
  /** Rows per table read. */
  batchSize: number;
  /** Makes sure wake-ups will arrive (PostgreSQL: LISTEN is active) before a follower reads its backlog. */
  ready?: () => Promise<void>;
}

export type WakeKind = 'event' | 'status';

class Follower {
  queue: StoredEvent[] = [];
  queuedBytes = 0;
  lastQueued: number;
  overflow = false;
  terminal = false;
  error: unknown = undefined;
  private waiter: (() => void) | null = null;

  constructor(
    public cursor: number,
    private readonly limits: { bufferSize: number; bufferBytes: number },
  ) {
    this.lastQueued = cursor;
  }

  offer(rows: StoredEvent[]): void {
    if (this.overflow) return;
    for (const r of rows) {
      if (r.event.id <= this.lastQueued) continue;
      const full =
        this.queue.length >= this.limits.bufferSize || (this.queue.length > 0 && this.queuedBytes + r.bytes > this.limits.bufferBytes);
      if (full) {
        this.overflow = true;
        this.queue = [];
        this.queuedBytes = 0;
        break;
      }
      this.queue.push(r);
      this.queuedBytes += r.bytes;
      this.lastQueued = r.event.id;
    }
    this.notify();
  }

  take(): JobEventRecord | undefined {
    const r = this.queue.shift();
    if (r) this.queuedBytes -= r.bytes;
    return r?.event;
  }

  /** Forget the queue and take new offers from the cursor on (before re-reading the table). */
  restart(): void {
    this.overflow = false;
    this.queue = [];
    this.queuedBytes = 0;
    this.lastQueued = this.cursor;
  }

  notify(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  wait(): Promise<void> {
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

class Channel {
  readonly followers = new Set<Follower>();
  fetched = 0;
  ready: Promise<void>;
  fetching = false;
  dirty = false;
  statusDirty = false;
  terminal = false;

  constructor(init: Promise<number>) {
    this.ready = init.then((max) => {
      this.fetched = max;
    });
  }
}

export class JobEventHub {
  private readonly channels = new Map<string, Channel>();
  private closed = false;

  constructor(
    private readonly source: JobEventSource,
    private readonly opts: JobEventHubOptions,
  ) {}

  /** Something about this job may have changed. */
  wake(jobId: string, kind: WakeKind): void {
    const ch = this.channels.get(jobId);
    if (!ch) return;
    if (kind === 'status') ch.statusDirty = true;
    void this.pump(jobId, ch);
  }

  /** Wake-ups may have been lost (a reconnect): re-check every followed job. */
  wakeAll(): void {
    for (const jobId of this.channels.keys()) this.wake(jobId, 'status');
  }

  get followerCount(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.followers.size;
    return n;
  }

  private async pump(jobId: string, ch: Channel): Promise<void> {
    if (ch.fetching) {
      ch.dirty = true;
      return;
    }
    ch.fetching = true;
    try {
      await ch.ready;
      do {
        ch.dirty = false;
        if (ch.statusDirty) {
          ch.statusDirty = false;
          if (await this.source.jobTerminal(jobId)) ch.terminal = true;
        }
        for (;;) {
          const rows = await this.source.readAfter(jobId, ch.fetched, this.opts.batchSize);
          if (rows.length > 0) {
            ch.fetched = rows[rows.length - 1]!.event.id;
            for (const f of ch.followers) f.offer(rows);
          }
          if (rows.length < this.opts.batchSize) break;
        }
        if (ch.terminal) {
          for (const f of ch.followers) {
            f.terminal = true;
            f.notify();
          }
        }
      } while (ch.dirty && !this.closed);
    } catch (e) {
      // The followers end with the error; their clients resume from their cursors.
      for (const f of ch.followers) {
        f.error = e;
        f.notify();
      }
    } finally {
      ch.fetching = false;
    }
  }

  /** With an `owner`, a job of another user is as missing (NOT_FOUND). */
  async follow(jobId: string, afterId: number, signal?: AbortSignal, owner: string | null = null): Promise<JobEventStream> {
    if (this.closed) throw new StoreError('unavailable', 'database is closed');
    await this.opts.ready?.();
    const terminal = await this.source.jobTerminal(jobId, owner);
    if (terminal === undefined) throw new StoreError('not_found', `job_id: job ${jobId} does not exist`);
    let ch = this.channels.get(jobId);
    if (!ch) {
      ch = new Channel(this.source.maxEventId(jobId));
      this.channels.set(jobId, ch);
    }
    const channel = ch;
    const f = new Follower(afterId, this.opts);
    f.terminal = terminal;
    channel.followers.add(f);
    const leave = () => {
      channel.followers.delete(f);
      if (channel.followers.size === 0 && this.channels.get(jobId) === channel) this.channels.delete(jobId);
    };
    try {
      await channel.ready;
    } catch (e) {
      leave();
      throw e;
    }
    const onAbort = () => f.notify();
    signal?.addEventListener('abort', onAbort);
    const { source, opts } = this;
    const hub = this;

    async function* run(): AsyncGenerator<JobEventRecord> {
      const ended = () => signal?.aborted === true || hub.closed;
      /** Reads the table from the cursor until caught up. */
      async function* catchUp(): AsyncGenerator<JobEventRecord> {
        for (;;) {
          const rows = await source.readAfter(jobId, f.cursor, opts.batchSize);
          for (const { event } of rows) {
            if (ended()) return;
            yield event;
            f.cursor = event.id;
          }
          if (rows.length < opts.batchSize) return;
        }
      }
      try {
        let needRead = true;
        for (;;) {
          if (ended()) return;
          if (f.error !== undefined) throw f.error;
          if (needRead) {
            needRead = false;
            f.restart();
            yield* catchUp();
            continue;
          }
          while (f.queue.length > 0 && !f.overflow) {
            const r = f.take()!;
            if (r.id <= f.cursor) continue;
            if (ended()) return;
            yield r;
            f.cursor = r.id;
          }
          if (f.overflow) {
            needRead = true;
            continue;
          }
          if (f.terminal) {
            // Drain what committed up to the terminal state, then end.
            yield* catchUp();
            return;
          }
          await f.wait();
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        leave();
      }
    }
    return run();
  }

  /** Ends every follower (their streams finish). */
  close(): void {
    this.closed = true;
    for (const ch of this.channels.values()) for (const f of ch.followers) f.notify();
  }
}
