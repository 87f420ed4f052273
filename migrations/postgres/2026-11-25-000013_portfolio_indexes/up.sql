-- Indexes that answer the portfolio's counts at 100,000 cases without reading the cases' rows
-- (which carry the answers and the triage).
-- The radar counts every scored case by grid cell and tier, in the caller's scope.
CREATE INDEX use_cases_grid ON use_cases (business_value, feasibility, tier, priority, agency_id);
-- The summary counts by route and checks the cases cleared automatically against their trail.
CREATE INDEX use_cases_route ON use_cases (route, agency_id, id);
-- The summary counts by quadrant.
CREATE INDEX use_cases_quadrant ON use_cases (quadrant, agency_id);
-- Each reviewer's open claims.
CREATE INDEX use_cases_claims ON use_cases (status, claimed_by);
-- Chaining an event moves it from a negative (pending) sequence number to its place: every
-- event leaves a dead index entry among the pending ones, which writers look through after
-- each commit. Vacuum the trail every few thousand such entries instead of at a fifth of its
-- size (which, for a trail of millions, would let hundreds of thousands pile up).
ALTER TABLE audit_events SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
