// The Database: every store plus lifecycle. open.ts returns one; nothing else
// in the program knows which backend it is talking to.
import { withChecks } from './checks.js';
import { conversationChecks, type ConversationStore } from './conversations.js';
import { StoreError } from './errors.js';
import { routineChecks, type RoutineStore } from './routines.js';
import { jobChecks, type JobStore } from './jobs.js';
import { sandboxChecks, type SandboxStore } from './sandbox.js';
import { settingsChecks, type SettingsStore } from './settings.js';
import { toolFailureChecks, type ToolFailureStore } from './tool-failures.js';
import { workspaceChecks, type WorkspaceStore } from './workspace.js';

export type BackendName = 'libsql' | 'postgres';

export interface DatabaseInfo {
  backend: BackendName;
  /** Highest migration version applied to the database. */
  schemaVersion: number;
  /** Highest migration version this build ships. */
  latestSchemaVersion: number;
  vectorSearch: boolean;
  vectorSearchMethod: string;
  embeddingDimension: number;
  /** Embedded-replica state; null when the database is not a replica. */
  replica: ReplicaStatus | null;
}

/** An embedded replica: a local copy of a remote primary that takes its writes. */
export interface ReplicaStatus {
  /** The primary (LIBSQL_URL), never with credentials. */
  primaryUrl: string;
  /** Seconds between background syncs; 0 when the replica syncs only on demand. */
  syncIntervalSeconds: number;
  lastSyncAt: Date | null;
  /** Frames the last successful sync pulled, and all syncs since the daemon started. */
  lastSyncFrames: number;
  framesPulled: number;
  /** The primary's frame number the replica has reached (null until known). */
  frameNo: number | null;
  /** The most recent sync failure since the daemon started, and when. */
  lastSyncError: string | null;
  lastSyncErrorAt: Date | null;
  /** False from a failed contact with the primary until it answers again: writes fail at once meanwhile. */
  writable: boolean;
}

export interface SyncResult {
  framesPulled: number;
  frameNo: number | null;
  syncedAt: Date;
}

export interface Stores extends ConversationStore, SettingsStore, ToolFailureStore, JobStore, SandboxStore, RoutineStore, WorkspaceStore {}

export interface Database extends Stores {
  /**
   * The stores as one user sees them. Every method that addresses a row by
   * id (a conversation, job, routine, run, document, chunk, snapshot…),
   * directly or as a reference in what it writes, acts only on that user's
   * rows, in the same SQL statement: another user's row answers exactly as a
   * missing one and is never changed. Methods keyed by a user id act on the
   * user they are given (the gRPC layer refuses a user id other than the
   * caller's), and the cross-user views and sweeps (listAgentJobs,
   * listAllRoutines, tool failures, cleanupStaleSandboxJobs, claiming…) are
   * not narrowed (the gRPC layer serves them to service callers only).
   */
  ownedBy(userId: string): Stores;
  /** Applies pending migrations; idempotent. */
  runMigrations(): Promise<void>;
  /** Reads the applied schema version without changing anything (0 for an empty database). */
  readSchemaVersion(): Promise<number>;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  health(): Promise<void>;
  info(): DatabaseInfo;
  /**
   * Pulls from the primary what the local replica lacks. FAILED_PRECONDITION
   * on a database that is not an embedded replica; UNAVAILABLE when the
   * primary cannot be reached.
   */
  sync(): Promise<SyncResult>;
  /**
   * Folds the write-ahead log back into the database file and truncates it
   * (housekeeping). Null where the backend keeps no log of its own to fold.
   */
  walCheckpoint(): Promise<WalCheckpoint | null>;
  close(): Promise<void>;
}

export interface WalCheckpoint {
  /** True when a reader kept the checkpoint from finishing; it is retried next time. */
  busy: boolean;
  /** Pages in the log, and how many of them reached the database file. */
  logPages: number;
  checkpointedPages: number;
}

/** What `sync()` answers on a database that is not an embedded replica. */
export const notAReplica = (): Promise<never> =>
  Promise.reject(
    new StoreError('failed_precondition', 'this daemon is not an embedded replica: sync needs DATABASE_BACKEND=libsql with LIBSQL_URL and LIBSQL_AUTH_TOKEN set'),
  );

function checkedStores(s: Stores, embeddingDimension: number): Stores {
  return {
    ...withChecks<ConversationStore>(s, conversationChecks),
    ...withChecks<SettingsStore>(s, settingsChecks),
    ...withChecks<ToolFailureStore>(s, toolFailureChecks),
    ...withChecks<RoutineStore>(s, routineChecks),
    ...withChecks<JobStore>(s, jobChecks),
    ...withChecks<SandboxStore>(s, sandboxChecks),
    ...withChecks<WorkspaceStore>(s, workspaceChecks(embeddingDimension)),
  };
}

/** Puts the shared argument checks in front of a backend's stores (its per-user views included). */
export function checked(db: Database): Database {
  return {
    ...checkedStores(db, db.info().embeddingDimension),
    ownedBy: (userId) => checkedStores(db.ownedBy(userId), db.info().embeddingDimension),
    runMigrations: () => db.runMigrations(),
    readSchemaVersion: () => db.readSchemaVersion(),
    health: () => db.health(),
    info: () => db.info(),
    sync: () => db.sync(),
    walCheckpoint: () => db.walCheckpoint(),
    close: () => db.close(),
  };
}
