-- agentstore V5 (PostgreSQL dialect): nothing to do. The libSQL twin adds a
-- change counter for the in-memory codes of its vector pre-selection;
-- PostgreSQL searches in the server and needs none. Kept so that both
-- dialects carry the same versions.
SELECT 1;
