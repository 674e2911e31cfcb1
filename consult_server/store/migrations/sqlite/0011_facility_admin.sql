-- Facilities set up by admins: whether a facility's consults are recorded, and the
-- specialties it offers (declared; routing still follows the specialists on staff).
ALTER TABLE facilities ADD COLUMN records INTEGER NOT NULL DEFAULT 1;

CREATE TABLE facility_specialties (
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    specialty_code TEXT NOT NULL REFERENCES specialties (code),
    PRIMARY KEY (facility_id, specialty_code)
);

-- What each facility already staffs becomes what it offers.
INSERT INTO facility_specialties (facility_id, specialty_code)
SELECT DISTINCT u.facility_id, us.specialty_code
FROM users u JOIN user_specialties us ON us.user_id = u.id;
