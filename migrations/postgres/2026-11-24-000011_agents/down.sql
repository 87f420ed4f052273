ALTER TABLE assessments DROP COLUMN approved_at;
ALTER TABLE assessments DROP COLUMN declarations;
ALTER TABLE use_cases DROP COLUMN declarations;
