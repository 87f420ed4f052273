-- Review workflow: escalation and claims on the case, and every decision taken.
ALTER TABLE use_cases ADD COLUMN escalated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE use_cases ADD COLUMN claimed_by TEXT REFERENCES users(id);
ALTER TABLE use_cases ADD COLUMN claimed_at TIMESTAMP;
CREATE INDEX use_cases_open ON use_cases (status, submitted_at);

CREATE TABLE decisions (
    id TEXT PRIMARY KEY NOT NULL,
    use_case_id TEXT NOT NULL REFERENCES use_cases(id),
    -- decisions count towards the revision they were taken on
    revision INTEGER NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users(id),
    action TEXT NOT NULL,
    rationale TEXT NOT NULL,
    senior BOOLEAN NOT NULL,
    -- comma-separated review groups an approval signed off (functional review)
    review_groups TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX decisions_use_case ON decisions (use_case_id, revision);
