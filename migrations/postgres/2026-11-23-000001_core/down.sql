DROP TABLE audit_head;
DROP TABLE audit_events;
DROP TABLE assessments;
DROP TABLE use_cases;
DROP TABLE api_tokens;
DROP TABLE users;
DROP TABLE agencies;
