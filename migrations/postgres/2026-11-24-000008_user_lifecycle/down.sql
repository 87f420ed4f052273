DROP INDEX api_tokens_user;
ALTER TABLE users DROP COLUMN disabled_at;
