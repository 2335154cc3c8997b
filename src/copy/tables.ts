// What `agentstore copy` moves: every data table of the seven stores, in an
// order where each table comes after the tables it references, with each
// column's kind. The kind decides how a value is read from either dialect
// into one neutral form, compared, and written back (src/copy/values.ts).
// Both dialects' schemas (migrations-pg/, schema-libsql/) name the same
// tables and columns; where a name differs it is given per dialect.
//
// Not copied as rows: agentstore_schema_history (each database records its
// own dialect's migrations, applied to the target by its own runner) and
// workspace_meta (it holds only the recorded embedding dimension, which the
// copy checks and records on its own; see copy.ts).

export type ColumnKind =
  | 'uuid'
  | 'text'
  /** 64-bit integer, kept as its decimal text so no value loses precision. */
  | 'int'
  /** Double precision. */
  | 'real'
  | 'bool'
  /** Millisecond timestamp, as RFC 3339 UTC text ("2024-01-02T03:04:05.678Z"). */
  | 'ts'
  /** Any JSON value, as canonical text (sorted keys). */
  | 'json'
  /** Exact decimal in plain notation, as text. */
  | 'decimal'
  /** Array of strings: PostgreSQL text[], libSQL JSON text. */
  | 'textArray'
  /** float32 embedding: PostgreSQL real[], libSQL little-endian blob. */
  | 'embedding'
  /** The chunk's full-text words (PostgreSQL tsvector, libSQL fts_text), as sorted space-joined text. */
  | 'terms';

export interface Column {
  name: string;
  kind: ColumnKind;
  /** The column's name on libSQL / on PostgreSQL when it differs. */
  libsqlName?: string;
  pgName?: string;
  /** Built from the row's content on write, exactly as the store's insert builds it; read for verification only. */
  derived?: boolean;
}

export interface Table {
  name: string;
  columns: Column[];
  /** Primary-key columns: the identity of a row across databases. */
  key: string[];
  /**
   * Insertion-order column (seq): copied as it is, except by --merge into a
   * table that already holds rows, where the target numbers new rows itself.
   */
  seq?: string;
  /** Column fed by a counter (identity / AUTOINCREMENT) whose position the target must reach. */
  counter?: string;
}

const c = (name: string, kind: ColumnKind, extra: Partial<Column> = {}): Column => ({ name, kind, ...extra });

export const TABLES: readonly Table[] = [
  {
    name: 'conversations',
    key: ['id'],
    seq: 'seq',
    counter: 'seq',
    columns: [
      c('id', 'uuid'),
      c('seq', 'int'),
      c('channel', 'text'),
      c('user_id', 'text'),
      c('thread_id', 'text'),
      c('started_at', 'ts'),
      c('last_activity', 'ts'),
      c('metadata', 'json'),
    ],
  },
  {
    name: 'conversation_messages',
    key: ['id'],
    seq: 'seq',
    counter: 'seq',
    columns: [c('id', 'uuid'), c('seq', 'int'), c('conversation_id', 'uuid'), c('role', 'text'), c('content', 'text'), c('created_at', 'ts')],
  },
  {
    name: 'settings',
    key: ['user_id', 'key'],
    columns: [c('user_id', 'text'), c('key', 'text'), c('value', 'json'), c('updated_at', 'ts')],
  },
  {
    name: 'tool_failures',
    key: ['id'],
    columns: [
      c('id', 'uuid'),
      c('tool_name', 'text'),
      c('error_message', 'text'),
      c('error_count', 'int'),
      c('first_failure', 'ts'),
      c('last_failure', 'ts'),
      c('last_build_result', 'json'),
      c('repaired_at', 'ts'),
      c('repair_attempts', 'int'),
    ],
  },
  {
    name: 'agent_jobs',
    key: ['id'],
    seq: 'seq',
    counter: 'seq',
    columns: [
      c('id', 'uuid'),
      c('seq', 'int'),
      c('marketplace_job_id', 'uuid'),
      c('conversation_id', 'uuid'),
      c('title', 'text'),
      c('description', 'text'),
      c('category', 'text'),
      c('status', 'text'),
      c('source', 'text'),
      c('user_id', 'text'),
      c('project_dir', 'text'),
      c('job_mode', 'text'),
      c('budget_amount', 'decimal'),
      c('budget_token', 'text'),
      c('bid_amount', 'decimal'),
      c('estimated_cost', 'decimal'),
      c('estimated_time_secs', 'int'),
      c('estimated_value', 'decimal'),
      c('actual_cost', 'decimal'),
      c('actual_time_secs', 'int'),
      c('success', 'bool'),
      c('failure_reason', 'text'),
      c('stuck_since', 'ts'),
      c('repair_attempts', 'int'),
      c('max_tokens', 'int'),
      c('total_tokens_used', 'int'),
      c('requester_id', 'text'),
      c('transitions', 'json'),
      c('metadata', 'json'),
      c('user_timezone', 'text'),
      c('created_at', 'ts'),
      c('started_at', 'ts'),
      c('completed_at', 'ts'),
    ],
  },
  {
    name: 'job_actions',
    key: ['id'],
    columns: [
      c('id', 'uuid'),
      c('job_id', 'uuid'),
      c('sequence_num', 'int'),
      c('tool_name', 'text'),
      c('input', 'json'),
      c('output_raw', 'text'),
      c('output_sanitized', 'json'),
      c('sanitization_warnings', 'json'),
      c('cost', 'decimal'),
      c('duration_ms', 'int'),
      c('success', 'bool'),
      c('error_message', 'text'),
      c('created_at', 'ts'),
    ],
  },
  {
    name: 'llm_calls',
    key: ['id'],
    columns: [
      c('id', 'uuid'),
      c('job_id', 'uuid'),
      c('conversation_id', 'uuid'),
      c('provider', 'text'),
      c('model', 'text'),
      c('input_tokens', 'int'),
      c('output_tokens', 'int'),
      c('cost', 'decimal'),
      c('purpose', 'text'),
      c('created_at', 'ts'),
    ],
  },
  {
    name: 'estimation_snapshots',
    key: ['id'],
    columns: [
      c('id', 'uuid'),
      c('job_id', 'uuid'),
      c('category', 'text'),
      c('tool_names', 'textArray'),
      c('estimated_cost', 'decimal'),
      c('actual_cost', 'decimal'),
      c('estimated_time_secs', 'int'),
      c('actual_time_secs', 'int'),
      c('estimated_value', 'decimal'),
      c('actual_value', 'decimal'),
      c('created_at', 'ts'),
    ],
  },
  {
    // The id is the stream cursor clients resume from: always copied as it
    // is, never renumbered.
    name: 'job_events',
    key: ['id'],
    counter: 'id',
    columns: [c('id', 'int'), c('job_id', 'uuid'), c('event_type', 'text'), c('data', 'json'), c('created_at', 'ts')],
  },
  {
    name: 'routines',
    key: ['id'],
    columns: [
      c('id', 'uuid'),
      c('name', 'text'),
      c('description', 'text'),
      c('user_id', 'text'),
      c('enabled', 'bool'),
      c('trigger_type', 'text'),
      c('trigger_config', 'json'),
      c('action_type', 'text'),
      c('action_config', 'json'),
      c('cooldown_secs', 'int'),
      c('max_concurrent', 'int'),
      c('dedup_window_secs', 'int'),
      c('notify_channel', 'text'),
      c('notify_user', 'text'),
      c('notify_on_success', 'bool'),
      c('notify_on_failure', 'bool'),
      c('notify_on_attention', 'bool'),
      c('state', 'json'),
      c('last_run_at', 'ts'),
      c('next_fire_at', 'ts'),
      c('run_count', 'int'),
      c('consecutive_failures', 'int'),
      c('claimed_by', 'text'),
      c('claimed_at', 'ts'),
      c('created_at', 'ts'),
      c('updated_at', 'ts'),
    ],
  },
  {
    name: 'routine_runs',
    key: ['id'],
    seq: 'seq',
    counter: 'seq',
    columns: [
      c('id', 'uuid'),
      c('seq', 'int'),
      c('routine_id', 'uuid'),
      c('trigger_type', 'text'),
      c('trigger_detail', 'text'),
      c('started_at', 'ts'),
      c('completed_at', 'ts'),
      c('status', 'text'),
      c('result_summary', 'text'),
      c('tokens_used', 'int'),
      c('job_id', 'uuid'),
      c('created_at', 'ts'),
    ],
  },
  {
    name: 'memory_documents',
    key: ['id'],
    seq: 'seq',
    counter: 'seq',
    columns: [
      c('id', 'uuid'),
      c('seq', 'int'),
      c('user_id', 'text'),
      c('agent_id', 'uuid'),
      c('path', 'text'),
      c('content', 'text'),
      c('created_at', 'ts'),
      c('updated_at', 'ts'),
      c('metadata', 'json'),
    ],
  },
  {
    name: 'memory_chunks',
    key: ['id'],
    seq: 'seq',
    counter: 'seq',
    columns: [
      c('id', 'uuid'),
      c('seq', 'int', { libsqlName: '_rowid' }),
      c('document_id', 'uuid'),
      c('chunk_index', 'int'),
      c('content', 'text'),
      c('word_count', 'int', { derived: true }),
      c('terms', 'terms', { libsqlName: 'fts_text', pgName: 'content_tsv', derived: true }),
      c('embedding', 'embedding'),
      c('embedding_norm', 'real'),
      c('created_at', 'ts'),
    ],
  },
];

export const libsqlName = (col: Column): string => col.libsqlName ?? col.name;
export const pgName = (col: Column): string => col.pgName ?? col.name;

export const columnIndex = (t: Table, name: string): number => {
  const i = t.columns.findIndex((col) => col.name === name);
  if (i < 0) throw new Error(`${t.name} has no column ${name}`);
  return i;
};
