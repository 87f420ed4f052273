DROP INDEX use_cases_summary;
DROP INDEX use_cases_grid;
