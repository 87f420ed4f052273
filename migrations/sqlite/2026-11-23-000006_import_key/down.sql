DROP INDEX use_cases_import_key;
ALTER TABLE use_cases DROP COLUMN import_key;
