-- The radar lists cases by priority: an index in that order saves sorting the portfolio.
CREATE INDEX use_cases_priority ON use_cases (priority, id);
