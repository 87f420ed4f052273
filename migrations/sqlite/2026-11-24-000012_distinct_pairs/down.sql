DROP TABLE distinct_pairs;
