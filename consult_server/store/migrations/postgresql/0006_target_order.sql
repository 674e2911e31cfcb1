-- The order in which a consult reached its facilities (SQLite kept it in rowid).
ALTER TABLE consult_targets ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
