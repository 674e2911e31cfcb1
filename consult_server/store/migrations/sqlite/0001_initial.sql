-- Accounts, the referral tree, login sessions and consults.
CREATE TABLE facilities (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('commune', 'district', 'provincial', 'central')),
    parent_id INTEGER REFERENCES facilities (id)
);

CREATE TABLE specialties (
    code TEXT PRIMARY KEY,
    name_vi TEXT NOT NULL,
    name_en TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('clinician', 'specialist', 'supervisor', 'admin')),
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    language TEXT CHECK (language IN ('vi', 'en')),
    active INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
);

CREATE TABLE user_specialties (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    specialty_code TEXT NOT NULL REFERENCES specialties (code),
    PRIMARY KEY (user_id, specialty_code)
);

CREATE TABLE login_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX login_sessions_expiry ON login_sessions (expires_at);

CREATE TABLE consults (
    id INTEGER PRIMARY KEY,
    clinician_id INTEGER NOT NULL REFERENCES users (id),
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    specialty_code TEXT NOT NULL REFERENCES specialties (code),
    urgency TEXT NOT NULL CHECK (urgency IN ('routine', 'urgent', 'emergency')),
    summary TEXT NOT NULL,
    state TEXT NOT NULL,
    tier INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    next_escalation_at REAL,
    accepted_by INTEGER REFERENCES users (id),
    accepted_at REAL,
    started_at REAL,
    ended_at REAL,
    end_reason TEXT,
    -- optimistic concurrency: every update bumps it; the first accept wins.
    version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX consults_open ON consults (state, expires_at);

-- Facilities a consult has reached, with the escalation tier that reached each.
CREATE TABLE consult_targets (
    consult_id INTEGER NOT NULL REFERENCES consults (id) ON DELETE CASCADE,
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    tier INTEGER NOT NULL,
    PRIMARY KEY (consult_id, facility_id)
);
CREATE INDEX consult_targets_facility ON consult_targets (facility_id);

-- Each time a participant is in the room (a rejoin is a new row).
CREATE TABLE consult_participants (
    id INTEGER PRIMARY KEY,
    consult_id INTEGER NOT NULL REFERENCES consults (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    joined_at REAL NOT NULL,
    left_at REAL
);
CREATE INDEX consult_participants_consult ON consult_participants (consult_id);

-- Status history of a consult (no patient text here).
CREATE TABLE consult_events (
    id INTEGER PRIMARY KEY,
    consult_id INTEGER NOT NULL REFERENCES consults (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    actor_id INTEGER REFERENCES users (id)
);
