-- Nothing on SQLite: events are chained inline by its single writer (see the PostgreSQL migration).
SELECT 1;
