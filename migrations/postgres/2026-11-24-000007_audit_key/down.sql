ALTER TABLE audit_head DROP COLUMN key_id;
