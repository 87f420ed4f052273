DROP TABLE decisions;
DROP INDEX use_cases_open;
ALTER TABLE use_cases DROP COLUMN claimed_at;
ALTER TABLE use_cases DROP COLUMN claimed_by;
ALTER TABLE use_cases DROP COLUMN escalated;
