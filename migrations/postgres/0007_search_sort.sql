-- Search at a million orders (issue 5): SQLite's 0007 adds orders_id_created for its few-matches
-- search path (store/list.rs), which sorts FTS5 matches by id lookups. PostgreSQL searches the GIN
-- index on search_tsv in one statement and has no such path, so there is nothing to add here; the
-- version exists so both dialects keep the same numbers (tests/tidy.rs).
SELECT 1;
