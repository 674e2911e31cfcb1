-- The specialist's note on a consult. Each save of a correction is a new version; a
-- signed version never changes again (its SHA-256 is also in the audit chain).
CREATE TABLE consult_notes (
    id INTEGER PRIMARY KEY,
    consult_id INTEGER NOT NULL REFERENCES consults (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users (id),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    findings TEXT NOT NULL DEFAULT '',
    assessment TEXT NOT NULL DEFAULT '',
    icd10 TEXT,
    recommendation TEXT NOT NULL DEFAULT '',
    -- commune, follow_up, refer, transfer (or '' while a draft has none)
    disposition TEXT NOT NULL DEFAULT '',
    follow_up_on TEXT,
    refer_to TEXT,
    signed_at REAL,
    sha256 TEXT,
    UNIQUE (consult_id, version)
);
-- Other participants' remarks on a note (they do not edit it).
CREATE TABLE consult_note_comments (
    id INTEGER PRIMARY KEY,
    consult_id INTEGER NOT NULL REFERENCES consults (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES users (id),
    at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX consult_note_comments_consult ON consult_note_comments (consult_id, id);
