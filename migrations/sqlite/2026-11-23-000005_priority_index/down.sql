DROP INDEX use_cases_priority;
