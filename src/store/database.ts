// The Database: every store plus lifecycle. open.ts returns one; nothing else
// in the program knows which backend it is talking to.
import { withChecks } from './checks.js';
import { conversationChecks, type ConversationStore } from './conversations.js';
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

export interface Stores extends ConversationStore, SettingsStore, ToolFailureStore, WorkspaceStore {}

export interface Database extends Stores {
  /** Applies pending migrations; idempotent. */
  runMigrations(): Promise<void>;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  health(): Promise<void>;
  info(): DatabaseInfo;
  close(): Promise<void>;
}

/** Puts the shared argument checks in front of a backend's stores. */
export function checked(db: Database): Database {
  return {
    ...withChecks<ConversationStore>(db, conversationChecks),
    ...withChecks<SettingsStore>(db, settingsChecks),
    ...withChecks<ToolFailureStore>(db, toolFailureChecks),
    ...withChecks<WorkspaceStore>(db, workspaceChecks(db.info().embeddingDimension)),
    runMigrations: () => db.runMigrations(),
    health: () => db.health(),
    info: () => db.info(),
    close: () => db.close(),
  };
}
