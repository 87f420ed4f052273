-- Writers no longer take the chain's head inside their transaction: they insert events with a
-- temporary negative sequence number, commit in parallel, and then chain what is pending in
-- batches under an advisory lock (db::audit::sequence). SQLite keeps chaining inline: it has
-- one writer at a time anyway.
CREATE SEQUENCE audit_pending;
ALTER TABLE audit_events ALTER COLUMN seq SET DEFAULT -nextval('audit_pending');
ALTER TABLE audit_events ALTER COLUMN prev_hash SET DEFAULT '';
ALTER TABLE audit_events ALTER COLUMN hash SET DEFAULT '';
