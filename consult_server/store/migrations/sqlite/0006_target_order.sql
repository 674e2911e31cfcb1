-- The order in which a consult reached its facilities, as a column: SQLite kept it in
-- rowid, which PostgreSQL does not have.
ALTER TABLE consult_targets ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
UPDATE consult_targets SET position = rowid;
