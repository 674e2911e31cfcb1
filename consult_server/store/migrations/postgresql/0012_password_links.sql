-- One-time links an admin gives a person to set their password (a new account, or a
-- forgotten password): only the token's SHA-256 is kept; a link works once, for 24 h.
CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by BIGINT REFERENCES users (id),
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    used_at DOUBLE PRECISION
);
CREATE INDEX password_links_user ON password_links (user_id);
