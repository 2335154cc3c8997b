// The Database: every store plus lifecycle. open.ts returns one; nothing else
// in the program knows which backend it is talking to.
import { withChecks } from './checks.js';
import { conversationChecks, type ConversationStore } from './conversations.js';
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
}

export interface Stores extends ConversationStore, SettingsStore, ToolFailureStore, JobStore, SandboxStore, RoutineStore, WorkspaceStore {}

export interface Database extends Stores {
  /** Applies pending migrations; idempotent. */
  runMigrations(): Promise<void>;
  /** Reads the applied schema version without changing anything (0 for an empty database). */
  readSchemaVersion(): Promise<number>;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  health(): Promise<void>;
  info(): DatabaseInfo;
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

/** Puts the shared argument checks in front of a backend's stores. */
export function checked(db: Database): Database {
  return {
    ...withChecks<ConversationStore>(db, conversationChecks),
    ...withChecks<SettingsStore>(db, settingsChecks),
    ...withChecks<ToolFailureStore>(db, toolFailureChecks),
    ...withChecks<RoutineStore>(db, routineChecks),
    ...withChecks<JobStore>(db, jobChecks),
    ...withChecks<SandboxStore>(db, sandboxChecks),
    ...withChecks<WorkspaceStore>(db, workspaceChecks(db.info().embeddingDimension)),
    runMigrations: () => db.runMigrations(),
    readSchemaVersion: () => db.readSchemaVersion(),
    health: () => db.health(),
    info: () => db.info(),
    walCheckpoint: () => db.walCheckpoint(),
    close: () => db.close(),
  };
}
