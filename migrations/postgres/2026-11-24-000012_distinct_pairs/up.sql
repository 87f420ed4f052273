-- Pairs of use cases a reviewer has said are not duplicates of each other: the duplicate
-- finder no longer offers them. One row per pair, the smaller id first.
CREATE TABLE distinct_pairs (
    case_a TEXT NOT NULL REFERENCES use_cases(id),
    case_b TEXT NOT NULL REFERENCES use_cases(id),
    decided_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_a, case_b)
);
