-- Where an imported case came from (a source id, or a hash of the row): importing the same
-- file twice creates nothing new.
ALTER TABLE use_cases ADD COLUMN import_key TEXT;
CREATE UNIQUE INDEX use_cases_import_key ON use_cases (import_key);
