-- The radar counts every scored case by grid cell and tier: an index holding those columns
-- (and the scope's agency) answers it without reading the cases' rows.
CREATE INDEX use_cases_grid ON use_cases (business_value, feasibility, tier, priority, agency_id);
-- The portfolio summary counts cases by route, quadrant, tier, status and agency, and checks
-- the cases cleared automatically: one index holding them all answers each count without
-- reading the rows (which carry the answers and the triage).
CREATE INDEX use_cases_summary ON use_cases (route, quadrant, tier, status, agency_id);
