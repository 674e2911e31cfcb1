-- Booked consults: specialists' weekly availability per specialty (in the service's
-- time of day), their days off, and bookings of a slot's seats. A seat is taken once:
-- the unique index is what makes a double booking impossible, on either engine, however
-- many clinicians book the same slot at the same instant; a cancelled booking frees it.
CREATE TABLE availability (
    id INTEGER PRIMARY KEY,
    specialist_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    specialty_code TEXT NOT NULL REFERENCES specialties (code),
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL,
    slot_minutes INTEGER NOT NULL,
    per_slot INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX availability_specialist ON availability (specialist_id);

CREATE TABLE days_off (
    specialist_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    PRIMARY KEY (specialist_id, day)
);

CREATE TABLE bookings (
    id INTEGER PRIMARY KEY,
    specialist_id INTEGER NOT NULL REFERENCES users (id),
    specialty_code TEXT NOT NULL REFERENCES specialties (code),
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    seat INTEGER NOT NULL,
    clinician_id INTEGER NOT NULL REFERENCES users (id),
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    summary TEXT NOT NULL,
    patient_name TEXT,
    patient_birth_year INTEGER,
    patient_sex TEXT,
    recording_consent INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'completed', 'missed')),
    created_at REAL NOT NULL,
    cancelled_at REAL,
    cancelled_by INTEGER REFERENCES users (id),
    cancel_reason TEXT,
    consult_id INTEGER REFERENCES consults (id)
);
CREATE UNIQUE INDEX bookings_seat ON bookings (specialist_id, starts_at, seat)
    WHERE status <> 'cancelled';
CREATE INDEX bookings_clinician ON bookings (clinician_id, starts_at);
CREATE INDEX bookings_starts ON bookings (starts_at);
