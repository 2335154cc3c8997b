-- agentstore V2 (SQLite dialect): agent and sandbox jobs, job actions, LLM
-- calls, estimation snapshots, job events. Decimals are TEXT in plain
-- notation, exactly as the client gave them; counts and durations are
-- INTEGER (64-bit); booleans 0/1; arrays and JSON as text.

CREATE TABLE agent_jobs (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT NOT NULL UNIQUE,
    marketplace_job_id  TEXT,
    conversation_id     TEXT REFERENCES conversations (id),
    title               TEXT NOT NULL,
    description         TEXT NOT NULL,
    category            TEXT,
    status              TEXT NOT NULL,
    source              TEXT NOT NULL CHECK (source IN ('direct', 'sandbox')),
    user_id             TEXT NOT NULL DEFAULT 'default',
    project_dir         TEXT,
    job_mode            TEXT NOT NULL DEFAULT 'worker',
    budget_amount       TEXT,
    budget_token        TEXT,
    bid_amount          TEXT,
    estimated_cost      TEXT,
    estimated_time_secs INTEGER,
    estimated_value     TEXT,
    actual_cost         TEXT,
    actual_time_secs    INTEGER,
    success             INTEGER,
    failure_reason      TEXT,
    stuck_since         TEXT,
    repair_attempts     INTEGER NOT NULL DEFAULT 0,
    max_tokens          INTEGER NOT NULL DEFAULT 0,
    total_tokens_used   INTEGER NOT NULL DEFAULT 0,
    requester_id        TEXT,
    transitions         TEXT NOT NULL DEFAULT '[]',
    metadata            TEXT NOT NULL DEFAULT 'null',
    user_timezone       TEXT NOT NULL DEFAULT 'UTC',
    created_at          TEXT NOT NULL,
    started_at          TEXT,
    completed_at        TEXT
);

CREATE INDEX idx_agent_jobs_source_created ON agent_jobs (source, created_at DESC, seq DESC);
CREATE INDEX idx_agent_jobs_source_user_created ON agent_jobs (source, user_id, created_at DESC, seq DESC);
CREATE INDEX idx_agent_jobs_source_status ON agent_jobs (source, status);
CREATE INDEX idx_agent_jobs_conversation ON agent_jobs (conversation_id);

CREATE TABLE job_actions (
    id                    TEXT PRIMARY KEY,
    job_id                TEXT NOT NULL REFERENCES agent_jobs (id) ON DELETE CASCADE,
    sequence_num          INTEGER NOT NULL,
    tool_name             TEXT NOT NULL,
    input                 TEXT NOT NULL,
    output_raw            TEXT,
    output_sanitized      TEXT,
    sanitization_warnings TEXT NOT NULL DEFAULT '[]',
    cost                  TEXT,
    duration_ms           INTEGER NOT NULL,
    success               INTEGER NOT NULL,
    error_message         TEXT,
    created_at            TEXT NOT NULL,
    UNIQUE (job_id, sequence_num)
);

CREATE INDEX idx_job_actions_tool ON job_actions (tool_name);

CREATE TABLE llm_calls (
    id              TEXT PRIMARY KEY,
    job_id          TEXT REFERENCES agent_jobs (id) ON DELETE CASCADE,
    conversation_id TEXT REFERENCES conversations (id),
    provider        TEXT NOT NULL,
    model           TEXT NOT NULL,
    input_tokens    INTEGER NOT NULL,
    output_tokens   INTEGER NOT NULL,
    cost            TEXT NOT NULL,
    purpose         TEXT,
    created_at      TEXT NOT NULL
);

CREATE INDEX idx_llm_calls_job ON llm_calls (job_id);
CREATE INDEX idx_llm_calls_conversation ON llm_calls (conversation_id);
CREATE INDEX idx_llm_calls_provider ON llm_calls (provider);

CREATE TABLE estimation_snapshots (
    id                  TEXT PRIMARY KEY,
    job_id              TEXT NOT NULL REFERENCES agent_jobs (id) ON DELETE CASCADE,
    category            TEXT NOT NULL,
    tool_names          TEXT NOT NULL DEFAULT '[]',
    estimated_cost      TEXT NOT NULL,
    actual_cost         TEXT,
    estimated_time_secs INTEGER NOT NULL,
    actual_time_secs    INTEGER,
    estimated_value     TEXT NOT NULL,
    actual_value        TEXT,
    created_at          TEXT NOT NULL
);

CREATE INDEX idx_estimation_snapshots_job ON estimation_snapshots (job_id);
CREATE INDEX idx_estimation_snapshots_category ON estimation_snapshots (category);

-- id is the stream cursor: AUTOINCREMENT never reuses an id, and the one
-- in-process writer commits events in id order.
CREATE TABLE job_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT NOT NULL REFERENCES agent_jobs (id),
    event_type TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX idx_job_events_job ON job_events (job_id, id);
