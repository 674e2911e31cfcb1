-- Files attached to a consult (X-rays, CT slices, clips, lab results), stored by their
-- SHA-256 under <data.dir>/files. Part of the consult's record, under its access rules.
CREATE TABLE consult_files (
    id INTEGER PRIMARY KEY,
    consult_id INTEGER NOT NULL REFERENCES consults (id) ON DELETE CASCADE,
    uploaded_by INTEGER NOT NULL REFERENCES users (id),
    uploaded_at REAL NOT NULL,
    -- The name on the sender's computer: medical data (it may name the patient).
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    -- 'ok', or 'damaged' once a served copy no longer matched its SHA-256.
    status TEXT NOT NULL DEFAULT 'ok',
    width INTEGER,
    height INTEGER,
    frames INTEGER,
    duration REAL,
    modality TEXT,
    study_uid TEXT,
    series_uid TEXT,
    instance_number INTEGER,
    -- Row and column spacing in mm, "0.66 0.66".
    pixel_spacing TEXT,
    UNIQUE (consult_id, sha256)
);
CREATE INDEX consult_files_consult ON consult_files (consult_id, id);
