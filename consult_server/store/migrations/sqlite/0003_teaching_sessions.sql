-- Teaching sessions: up to two presenters, any number of receive-only viewers.
CREATE TABLE teaching_sessions (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    host_id INTEGER NOT NULL REFERENCES users (id),
    co_presenter_id INTEGER REFERENCES users (id),
    state TEXT NOT NULL CHECK (state IN ('open', 'live', 'ended')),
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    end_reason TEXT
);
CREATE INDEX teaching_sessions_state ON teaching_sessions (state);

CREATE TABLE teaching_attendance (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES teaching_sessions (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    joined_at REAL NOT NULL,
    left_at REAL
);
CREATE INDEX teaching_attendance_session ON teaching_attendance (session_id);
