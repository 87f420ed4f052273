-- Core tables. UUIDs and JSON are TEXT so one diesel code path serves SQLite and PostgreSQL.
CREATE TABLE agencies (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    email TEXT NOT NULL UNIQUE,
    -- comma-separated roles: submitter, reviewer, senior_reviewer, portfolio_owner, admin
    roles TEXT NOT NULL,
    -- comma-separated review groups (privacy, security, legal, ethics, ...)
    review_groups TEXT NOT NULL,
    -- '' = own agency; '*' = every agency; else comma-separated agency ids
    review_scope TEXT NOT NULL,
    password_hash TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    -- hex SHA-256 of the token; the token itself is never stored
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE use_cases (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id),
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    business_function TEXT NOT NULL,
    status TEXT NOT NULL,
    -- optimistic concurrency: every change increments it
    version INTEGER NOT NULL,
    -- number of submissions so far
    revision INTEGER NOT NULL,
    answers TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    -- the latest assessment, denormalised for listing, filtering and the radar
    business_value INTEGER,
    feasibility INTEGER,
    readiness INTEGER,
    priority INTEGER,
    quadrant TEXT,
    tier TEXT,
    route TEXT,
    rules_version TEXT,
    scores TEXT,
    triage TEXT
);
CREATE INDEX use_cases_agency_id ON use_cases (agency_id, id);
CREATE INDEX use_cases_status_id ON use_cases (status, id);
CREATE INDEX use_cases_tier_id ON use_cases (tier, id);

-- One row per submission: the answers as submitted and what the rules made of them.
CREATE TABLE assessments (
    id TEXT PRIMARY KEY NOT NULL,
    use_case_id TEXT NOT NULL REFERENCES use_cases(id),
    revision INTEGER NOT NULL,
    answers TEXT NOT NULL,
    scores TEXT NOT NULL,
    triage TEXT NOT NULL,
    tier TEXT NOT NULL,
    route TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (use_case_id, revision)
);

-- Append-only, hash-chained record of every change.
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    use_case_id TEXT REFERENCES use_cases(id),
    actor_id TEXT REFERENCES users(id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    details TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_use_case ON audit_events (use_case_id, seq);

-- The head of the chain: writers lock this row, so events get gap-free sequence numbers.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'genesis');
