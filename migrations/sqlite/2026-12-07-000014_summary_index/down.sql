DROP INDEX use_cases_summary;
CREATE INDEX use_cases_quadrant ON use_cases (quadrant, agency_id);
