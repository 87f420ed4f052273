-- Notifications to deliver, written in the same transaction as the change they announce.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    event TEXT NOT NULL,
    use_case_id TEXT REFERENCES use_cases(id),
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);
