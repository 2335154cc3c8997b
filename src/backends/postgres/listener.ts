// The daemon's one LISTEN connection for job-event wake-ups. Every follower
// of every job on this daemon shares it (fan-out happens in process, in the
// hub); it is opened when the first follower arrives, outside the pool, and
// re-opened with back-off if it drops, after which every followed job is
// re-checked, since notifications sent meanwhile are lost.
import pg from 'pg';
import { StoreError } from '../../store/errors.js';
import { translate } from './pool.js';

export const JOB_EVENTS_CHANNEL = 'agentstore_job_events';

export class PgListener {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly onNotify: (payload: string) => void,
    private readonly onReconnect: () => void,
    private readonly onError?: (e: Error) => void,
  ) {}

  /** Resolves once LISTEN is active. */
  ensure(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('unavailable', 'database is closed'));
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, application_name: 'agentstore-listen' });
    c.on('notification', (m) => {
      if (m.channel === JOB_EVENTS_CHANNEL && m.payload) this.onNotify(m.payload);
    });
    c.on('error', (e) => {
      this.onError?.(e);
      this.lost(c);
    });
    c.on('end', () => this.lost(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${JOB_EVENTS_CHANNEL}`);
    } catch (e) {
      c.end().catch(() => undefined);
      const t = translate(e);
      throw t instanceof StoreError ? t : new StoreError('unavailable', 'cannot listen for job events; retry', { cause: e });
    }
    if (this.closed) {
      await c.end().catch(() => undefined);
      throw new StoreError('unavailable', 'database is closed');
    }
    this.client = c;
  }

  private lost(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = null;
    const retry = (delay: number) => {
      const t = setTimeout(() => {
        if (this.closed) return;
        this.ensure().then(
          () => this.onReconnect(),
          () => retry(Math.min(delay * 2, 5000)),
        );
      }, delay);
      t.unref();
    };
    if (!this.closed) retry(100);
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
