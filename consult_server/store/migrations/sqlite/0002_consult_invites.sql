-- A consult can take in more specialists (commune + district + central).
CREATE TABLE consult_invites (
    consult_id INTEGER NOT NULL REFERENCES consults (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    invited_by INTEGER NOT NULL REFERENCES users (id),
    invited_at REAL NOT NULL,
    PRIMARY KEY (consult_id, user_id)
);
CREATE INDEX consult_invites_user ON consult_invites (user_id);
