-- A disabled user can neither sign in nor use a token; its sessions are deleted when disabled.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
CREATE INDEX api_tokens_user ON api_tokens (user_id);
