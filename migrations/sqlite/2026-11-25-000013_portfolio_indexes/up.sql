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
