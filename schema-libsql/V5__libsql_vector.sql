-- agentstore V5 (SQLite dialect): a change counter for stored embeddings.
--
-- The daemon keeps 1-bit codes of the embeddings of searched users in memory
-- (src/backends/libsql/vector-index.ts) and updates them with its own
-- writes. Every change to an embedding, by any connection — another process
-- on the same file, or other daemons' writes arriving on an embedded replica
-- through sync — bumps this counter, so a count the daemon did not make
-- itself tells it to reload those codes from the table.

INSERT INTO workspace_meta (key, value) VALUES ('embedding_changes', '0');

CREATE TRIGGER memory_chunks_embedding_insert AFTER INSERT ON memory_chunks
WHEN new.embedding IS NOT NULL BEGIN
    UPDATE workspace_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'embedding_changes';
END;

CREATE TRIGGER memory_chunks_embedding_delete AFTER DELETE ON memory_chunks
WHEN old.embedding IS NOT NULL BEGIN
    UPDATE workspace_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'embedding_changes';
END;

CREATE TRIGGER memory_chunks_embedding_update AFTER UPDATE OF embedding ON memory_chunks BEGIN
    UPDATE workspace_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'embedding_changes';
END;
