DROP INDEX use_cases_claims;
DROP INDEX use_cases_quadrant;
DROP INDEX use_cases_route;
DROP INDEX use_cases_grid;
