-- Recordings grouped into sessions (one per time a consult's room ran recorded), the
-- room's own events for the review timeline, and the append-only, hash-chained audit log.
CREATE TABLE recording_sessions (
    id INTEGER PRIMARY KEY,
    consult_id INTEGER NOT NULL REFERENCES consults (id),
    started_at REAL NOT NULL,
    ended_at REAL,
    UNIQUE (consult_id, started_at)
);
INSERT INTO recording_sessions (consult_id, started_at, ended_at)
    SELECT consult_id, started_at, MAX(ended_at) FROM recordings
    GROUP BY consult_id, started_at;

ALTER TABLE recordings ADD COLUMN session_id INTEGER REFERENCES recording_sessions (id);
UPDATE recordings SET session_id = (
    SELECT s.id FROM recording_sessions s
    WHERE s.consult_id = recordings.consult_id AND s.started_at = recordings.started_at
);
CREATE INDEX recordings_session ON recordings (session_id);
ALTER TABLE recordings ADD COLUMN deleted_at REAL;
-- Which process records it ("host:pid"): start-up recovery leaves alone what another
-- live process on this host (or another host) is still writing.
ALTER TABLE recordings ADD COLUMN recorder TEXT;
-- Frames the recorder could not write in time (a disk too slow): the call went on.
ALTER TABLE recordings ADD COLUMN frames_dropped INTEGER NOT NULL DEFAULT 0;

-- consult_events also carries what happened in the room: joins, leaves, microphone and
-- camera switches, recording start and stop (kinds prefixed "room_").
CREATE INDEX consult_events_consult ON consult_events (consult_id, at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    -- NULL: the server itself (retention)
    actor_id INTEGER REFERENCES users (id),
    -- the account name at the time (kept even if the account changes)
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    -- "recording:<id>" (a file) or "recording_session:<id>"
    object TEXT NOT NULL,
    remote TEXT NOT NULL,
    -- JSON: reason codes and sizes only, never patient text
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_object ON audit_log (object);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
