-- One-time links an admin gives a person to set their password (a new account, or a
-- forgotten password): only the token's SHA-256 is kept; a link works once, for 24 h.
CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by INTEGER REFERENCES users (id),
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
CREATE INDEX password_links_user ON password_links (user_id);
