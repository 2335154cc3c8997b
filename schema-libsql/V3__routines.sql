-- agentstore V3 (SQLite dialect): routines and routine runs.
-- Kinds and statuses are checked by the table as well as by the daemon, so
-- no row can hold a value that reads would refuse. Timestamps are RFC 3339
-- UTC text with milliseconds; JSON is text; booleans 0/1.

CREATE TABLE routines (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    user_id              TEXT NOT NULL,
    enabled              INTEGER NOT NULL DEFAULT 1,
    trigger_type         TEXT NOT NULL CHECK (trigger_type IN ('cron', 'event', 'system_event', 'manual')),
    trigger_config       TEXT NOT NULL,
    action_type          TEXT NOT NULL CHECK (action_type IN ('lightweight', 'full_job')),
    action_config        TEXT NOT NULL,
    cooldown_secs        INTEGER NOT NULL DEFAULT 300,
    max_concurrent       INTEGER NOT NULL DEFAULT 1,
    dedup_window_secs    INTEGER,
    notify_channel       TEXT,
    notify_user          TEXT,
    notify_on_success    INTEGER NOT NULL DEFAULT 0,
    notify_on_failure    INTEGER NOT NULL DEFAULT 1,
    notify_on_attention  INTEGER NOT NULL DEFAULT 1,
    state                TEXT NOT NULL DEFAULT '{}',
    last_run_at          TEXT,
    next_fire_at         TEXT,
    run_count            INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    -- Who last claimed a firing (ClaimDueCronRoutines) and when.
    claimed_by           TEXT,
    claimed_at           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (user_id, name)
);

-- Due-cron polling and claiming read only this index.
CREATE INDEX idx_routines_due_cron
    ON routines (next_fire_at, id)
    WHERE enabled = 1 AND trigger_type = 'cron' AND next_fire_at IS NOT NULL;
CREATE INDEX idx_routines_event_triggers
    ON routines (trigger_type, user_id)
    WHERE enabled = 1 AND trigger_type IN ('event', 'system_event');
CREATE INDEX idx_routines_name
    ON routines (name, user_id);

-- job_id names an agent job but is deliberately not a foreign key: the jobs
-- table is added by another migration, and a run must be recordable
-- whichever is applied first.
CREATE TABLE routine_runs (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    routine_id     TEXT NOT NULL REFERENCES routines (id) ON DELETE CASCADE,
    trigger_type   TEXT NOT NULL CHECK (trigger_type IN ('cron', 'event', 'system_event', 'manual')),
    trigger_detail TEXT,
    started_at     TEXT NOT NULL,
    completed_at   TEXT,
    status         TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'attention', 'failed')),
    result_summary TEXT,
    tokens_used    INTEGER,
    job_id         TEXT,
    created_at     TEXT NOT NULL
);

CREATE INDEX idx_routine_runs_routine_started
    ON routine_runs (routine_id, started_at DESC, seq DESC);
-- Running counts (single and batch) read only this index.
CREATE INDEX idx_routine_runs_running
    ON routine_runs (routine_id)
    WHERE status = 'running';
CREATE INDEX idx_routine_runs_dispatched
    ON routine_runs (started_at)
    WHERE status = 'running' AND job_id IS NOT NULL;
