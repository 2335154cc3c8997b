-- agentstore V6 (PostgreSQL dialect): full-text candidates in rank order.
--
-- Full-text candidates rank by word count (shortest first), then newest
-- chunk first (src/store/workspace-search.ts). This index walks chunks in
-- exactly that order, so for a word found in many chunks the planner reads
-- them in rank order, tests the match and stops at the first
-- pre_fusion_limit of the caller's, instead of collecting every match from
-- the GIN index and sorting; for a rare word it keeps the GIN index. The
-- libSQL twin rebuilds its FTS5 index under rank-ordered rowids.

CREATE INDEX idx_memory_chunks_fts_rank ON memory_chunks (word_count, seq DESC);
