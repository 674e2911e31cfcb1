-- A DICOM whose patient (name, birth year, sex) is not the consult's: the fields that
-- disagree ("name,birth_year"), shown as a warning on the file to every participant.
-- NULL: nothing disagrees (or the file names no patient).
ALTER TABLE consult_files ADD COLUMN patient_mismatch TEXT;
