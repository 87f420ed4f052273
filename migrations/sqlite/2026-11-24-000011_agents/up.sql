-- Agent declarations (agents, their tools, delegations) of a use case as it stands, and of
-- each submitted revision; when a revision was approved (its guardrail policy is served).
ALTER TABLE use_cases ADD COLUMN declarations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE assessments ADD COLUMN declarations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE assessments ADD COLUMN approved_at TIMESTAMP;
