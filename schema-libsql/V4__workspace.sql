-- agentstore V4 (SQLite dialect): memory workspace — documents, chunks,
-- full-text index, embedding dimension record.
--
-- Uniqueness of (user, agent, path) holds with a null agent: the unique index
-- is on COALESCE(agent_id, ''), and every lookup compares that expression.
-- Chunks are indexed for full-text search by fts_text, the space-joined
-- distinct words the daemon's analyser produced (src/store/workspace-search.ts);
-- FTS5's `ascii` tokenizer splits that text exactly at the spaces, so the
-- index holds the daemon's words unchanged. Embeddings are little-endian
-- float32 blobs of the recorded dimension, with their norm alongside.

CREATE TABLE workspace_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE memory_documents (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL,
    agent_id   TEXT,
    path       TEXT NOT NULL,
    content    TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    metadata   TEXT NOT NULL DEFAULT '{}'
);

CREATE UNIQUE INDEX uq_memory_documents_path
    ON memory_documents (user_id, COALESCE(agent_id, ''), path);
CREATE INDEX idx_memory_documents_updated
    ON memory_documents (user_id, COALESCE(agent_id, ''), updated_at DESC, seq DESC);

CREATE TABLE memory_chunks (
    _rowid         INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    document_id    TEXT NOT NULL REFERENCES memory_documents (id) ON DELETE CASCADE,
    chunk_index    INTEGER NOT NULL,
    content        TEXT NOT NULL,
    fts_text       TEXT NOT NULL,
    word_count     INTEGER NOT NULL,
    embedding      BLOB,
    embedding_norm REAL,
    created_at     TEXT NOT NULL,
    UNIQUE (document_id, chunk_index)
);

CREATE INDEX idx_memory_chunks_unembedded
    ON memory_chunks (document_id, _rowid) WHERE embedding IS NULL;

CREATE VIRTUAL TABLE memory_chunks_fts USING fts5 (
    fts_text,
    content = 'memory_chunks',
    content_rowid = '_rowid',
    tokenize = 'ascii'
);

CREATE TRIGGER memory_chunks_fts_insert AFTER INSERT ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (rowid, fts_text) VALUES (new._rowid, new.fts_text);
END;

CREATE TRIGGER memory_chunks_fts_delete AFTER DELETE ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (memory_chunks_fts, rowid, fts_text) VALUES ('delete', old._rowid, old.fts_text);
END;

CREATE TRIGGER memory_chunks_fts_update AFTER UPDATE OF fts_text ON memory_chunks BEGIN
    INSERT INTO memory_chunks_fts (memory_chunks_fts, rowid, fts_text) VALUES ('delete', old._rowid, old.fts_text);
    INSERT INTO memory_chunks_fts (rowid, fts_text) VALUES (new._rowid, new.fts_text);
END;
