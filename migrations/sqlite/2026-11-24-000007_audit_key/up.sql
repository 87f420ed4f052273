-- Which key seals the audit chain (a public id of it, never the key): NULL while the chain is
-- plain SHA-256. The key itself is kept outside the database.
ALTER TABLE audit_head ADD COLUMN key_id TEXT;
