-- Questions viewers ask in a teaching session, which the presenters read and mark
-- answered: kept with the session (a reconnect or a late joiner sees the list).
CREATE TABLE teaching_questions (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES teaching_sessions (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES users (id),
    text TEXT NOT NULL,
    asked_at REAL NOT NULL,
    answered_at REAL,
    answered_by INTEGER REFERENCES users (id)
);
CREATE INDEX teaching_questions_session ON teaching_questions (session_id, id);
