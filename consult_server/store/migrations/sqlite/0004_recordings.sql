-- The patient's consent to recording, given by the clinician when filing the request,
-- and the catalog of recorded files (one per participant per session).
ALTER TABLE consults ADD COLUMN recording_consent INTEGER NOT NULL DEFAULT 0;

CREATE TABLE recordings (
    id INTEGER PRIMARY KEY,
    consult_id INTEGER NOT NULL REFERENCES consults (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    path TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    size INTEGER,
    sha256 TEXT,
    frames INTEGER,
    status TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'interrupted', 'damaged', 'deleted'))
);
CREATE INDEX recordings_consult ON recordings (consult_id);
