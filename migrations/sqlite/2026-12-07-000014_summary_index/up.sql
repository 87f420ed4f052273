-- The portfolio summary counts the cases in scope by quadrant, route, tier, status and agency
-- in one pass over this index alone (five passes over the cases, one per count, took half of
-- its time at 100,000 cases). It leads with the quadrant, so a lookup by quadrant still has an
-- index (though no longer by quadrant and agency together).
DROP INDEX use_cases_quadrant;
CREATE INDEX use_cases_summary ON use_cases (quadrant, route, tier, status, agency_id);
