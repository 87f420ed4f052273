-- Idempotency keys of creating requests: the same key and request from the same user gives
-- the same outcome, also after a restart; the key with another request is refused.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    use_case_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);
