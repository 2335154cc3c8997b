-- agentstore V1 (SQLite dialect): conversations, messages, settings, tool failures.
-- Timestamps are RFC 3339 UTC text with exactly three fractional digits and a
-- trailing Z, so text order is time order. JSON is text. seq columns carry
-- insertion order and break timestamp ties.

CREATE TABLE conversations (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    channel       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    thread_id     TEXT,
    started_at    TEXT NOT NULL,
    last_activity TEXT NOT NULL,
    metadata      TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX idx_conversations_user_activity
    ON conversations (user_id, last_activity DESC, seq DESC);
CREATE INDEX idx_conversations_user_channel_activity
    ON conversations (user_id, channel, last_activity DESC, seq DESC);
-- One routine conversation per (user, routine); one heartbeat per user; one
-- assistant thread per (user, channel).
CREATE UNIQUE INDEX uq_conv_routine
    ON conversations (user_id, json_extract(metadata, '$.routine_id'))
    WHERE json_extract(metadata, '$.routine_id') IS NOT NULL;
CREATE UNIQUE INDEX uq_conv_heartbeat
    ON conversations (user_id)
    WHERE json_extract(metadata, '$.thread_type') = 'heartbeat';
CREATE UNIQUE INDEX uq_conv_assistant
    ON conversations (user_id, channel)
    WHERE json_extract(metadata, '$.thread_type') = 'assistant';

CREATE TABLE conversation_messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE INDEX idx_messages_conversation
    ON conversation_messages (conversation_id, created_at, seq);
-- Summaries count and preview user messages per conversation.
CREATE INDEX idx_messages_conversation_role
    ON conversation_messages (conversation_id, role, created_at, seq);

CREATE TABLE settings (
    user_id    TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
) WITHOUT ROWID;

CREATE TABLE tool_failures (
    id                TEXT PRIMARY KEY,
    tool_name         TEXT NOT NULL UNIQUE,
    error_message     TEXT,
    error_count       INTEGER NOT NULL DEFAULT 1,
    first_failure     TEXT NOT NULL,
    last_failure      TEXT NOT NULL,
    last_build_result TEXT,
    repaired_at       TEXT,
    repair_attempts   INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX idx_tool_failures_unrepaired
    ON tool_failures (error_count DESC, tool_name)
    WHERE repaired_at IS NULL;
