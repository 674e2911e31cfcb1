-- The patient a consult is about: medical data, under the consult's access rules.
-- Consults filed before this version have none (NULL), and are shown without one.
ALTER TABLE consults ADD COLUMN patient_name TEXT;
ALTER TABLE consults ADD COLUMN patient_birth_year INTEGER;
ALTER TABLE consults ADD COLUMN patient_sex TEXT;
ALTER TABLE consults ADD COLUMN patient_national_id TEXT;
ALTER TABLE consults ADD COLUMN patient_insurance_number TEXT;
ALTER TABLE consults ADD COLUMN patient_record_number TEXT;
