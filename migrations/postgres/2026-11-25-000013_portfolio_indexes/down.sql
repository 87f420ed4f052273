ALTER TABLE audit_events RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold);
DROP INDEX use_cases_claims;
DROP INDEX use_cases_quadrant;
DROP INDEX use_cases_route;
DROP INDEX use_cases_grid;
