-- agentstore V4 (PostgreSQL dialect): memory workspace — documents, chunks,
-- full-text index, embedding dimension record.
--
-- Uniqueness of (user, agent, path) holds with a null agent: the unique index
-- is on COALESCE(agent_id::text, ''), and every lookup compares that
-- expression (works on every supported PostgreSQL, unlike NULLS NOT DISTINCT).
-- Paths sort and compare in binary order (COLLATE "C"). Chunks carry a
-- tsvector of the distinct words the daemon's analyser produced
-- (src/store/workspace-search.ts), built with array_to_tsvector, so no text
-- search parser or dictionary is involved. Embeddings are real[] of the
-- recorded dimension, scored exactly, with their norm alongside.

CREATE TABLE workspace_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE memory_documents (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id         UUID PRIMARY KEY,
    user_id    TEXT NOT NULL,
    agent_id   UUID,
    path       TEXT COLLATE "C" NOT NULL,
    content    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    metadata   JSONB NOT NULL DEFAULT '{}'
);

CREATE UNIQUE INDEX uq_memory_documents_path
    ON memory_documents (user_id, (COALESCE(agent_id::text, '')), path);
CREATE INDEX idx_memory_documents_updated
    ON memory_documents (user_id, (COALESCE(agent_id::text, '')), updated_at DESC, seq DESC);

CREATE TABLE memory_chunks (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id             UUID PRIMARY KEY,
    document_id    UUID NOT NULL REFERENCES memory_documents (id) ON DELETE CASCADE,
    chunk_index    INTEGER NOT NULL,
    content        TEXT NOT NULL,
    content_tsv    TSVECTOR NOT NULL,
    word_count     INTEGER NOT NULL,
    embedding      REAL[],
    embedding_norm DOUBLE PRECISION,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (document_id, chunk_index)
);

CREATE INDEX idx_memory_chunks_tsv ON memory_chunks USING GIN (content_tsv);
CREATE INDEX idx_memory_chunks_unembedded
    ON memory_chunks (document_id, seq) WHERE embedding IS NULL;
