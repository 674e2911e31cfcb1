-- What was said in a consult's room: part of its record, under its access rules.
CREATE TABLE consult_messages (
    id INTEGER PRIMARY KEY,
    consult_id INTEGER NOT NULL REFERENCES consults (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES users (id),
    at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX consult_messages_consult ON consult_messages (consult_id, id);
