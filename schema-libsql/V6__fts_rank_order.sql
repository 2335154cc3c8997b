-- agentstore V6 (SQLite dialect): full-text postings in rank order, per scope.
--
-- Full-text candidates rank by word count (shortest first), then newest
-- chunk first (src/store/workspace-search.ts). FTS5 walks a query's postings
-- in rowid order, so the index is rebuilt with each chunk under a rowid that
-- sorts exactly in that order:
--
--     word_count * 2^32 + (2^32 - 1 - _rowid)
--
-- and a search reads matches in rank order and stops at the first
-- pre_fusion_limit: a word found in every chunk no longer means reading
-- every match. Each chunk also carries its scope (user and agent of its
-- document) as one token, hex(user_id) || 'x' || hex(agent_id or ''), which
-- a search requires too: the postings of other users' chunks are skipped
-- inside FTS5 instead of being read and filtered out. The table is
-- contentless (the words live in memory_chunks.fts_text; documents never
-- change user or agent, and a chunk moved to another document, which only
-- `agentstore copy --merge` does, is indexed again); contentless_delete lets
-- the triggers delete by rowid alone. A chunk _rowid past 2^32 - 1 would not fit the key: such an insert
-- is refused rather than indexed under a colliding key.

DROP TRIGGER memory_chunks_fts_insert;
DROP TRIGGER memory_chunks_fts_delete;
DROP TRIGGER memory_chunks_fts_update;
DROP TABLE memory_chunks_fts;

CREATE VIRTUAL TABLE memory_chunks_fts USING fts5 (
    fts_text,
    scope,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii'
);

INSERT INTO memory_chunks_fts (rowid, fts_text, scope)
SELECT c.word_count * 4294967296 + (4294967295 - c._rowid), c.fts_text, hex(d.user_id) || 'x' || hex(COALESCE(d.agent_id, ''))
  FROM memory_chunks c JOIN memory_documents d ON d.id = c.document_id;

CREATE TRIGGER memory_chunks_fts_insert AFTER INSERT ON memory_chunks BEGIN
    SELECT RAISE(ABORT, 'memory_chunks: _rowid past 4294967295') WHERE new._rowid > 4294967295;
    INSERT INTO memory_chunks_fts (rowid, fts_text, scope)
    SELECT new.word_count * 4294967296 + (4294967295 - new._rowid), new.fts_text, hex(d.user_id) || 'x' || hex(COALESCE(d.agent_id, ''))
      FROM memory_documents d WHERE d.id = new.document_id;
END;

CREATE TRIGGER memory_chunks_fts_delete AFTER DELETE ON memory_chunks BEGIN
    DELETE FROM memory_chunks_fts WHERE rowid = old.word_count * 4294967296 + (4294967295 - old._rowid);
END;

CREATE TRIGGER memory_chunks_fts_update AFTER UPDATE OF fts_text, word_count, document_id ON memory_chunks BEGIN
    DELETE FROM memory_chunks_fts WHERE rowid = old.word_count * 4294967296 + (4294967295 - old._rowid);
    INSERT INTO memory_chunks_fts (rowid, fts_text, scope)
    SELECT new.word_count * 4294967296 + (4294967295 - new._rowid), new.fts_text, hex(d.user_id) || 'x' || hex(COALESCE(d.agent_id, ''))
      FROM memory_documents d WHERE d.id = new.document_id;
END;
