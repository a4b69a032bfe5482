-- als_bench: seeded synthetic customer x item interactions,
-- als_bench.synth(customer int, item int), one row per interaction line.
-- psql variables: customers, items, lines, seed (for setseed, in [-1, 1]).
--
-- Generator (also printed by als_bench.sh):
--   SELECT setseed(:seed);  then, in one serial statement, for line in 1..:lines:
--     customer = 1 + floor(random() * :customers)        (uniform: ~Poisson(lines/customers) lines each)
--     item     = least(:items, floor(exp(random() * ln(:items + 1))))
--                (log-uniform on [1, items + 1): P(item = k) = ln((k+1)/k) / ln(items + 1),
--                 i.e. Zipf-like ~ 1/k; with 5,000 items item 1 is ~8% of lines)
-- The customer is drawn before the item on each line (the order of the
-- random() calls in the select list), so the same seed gives the same table.
-- A (customer, item) pair can occur on several lines; als_train sums them
-- (weight = number of lines).  random() is parallel restricted, so the
-- statement runs serially.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET search_path = als_bench, public;

DROP TABLE IF EXISTS synth;
SELECT setseed(:seed);
CREATE TABLE synth AS
	SELECT (1 + floor(random() * :customers))::int AS customer,
	       least(:items, floor(exp(random() * ln(:items + 1))))::int AS item
	FROM generate_series(1, :lines) AS line;
VACUUM ANALYZE synth;

SELECT count(*) AS lines,
       (SELECT count(*) FROM (SELECT DISTINCT customer, item FROM synth) d) AS distinct_pairs,
       count(DISTINCT customer) AS customers,
       count(DISTINCT item) AS items,
       round(100.0 * count(*) FILTER (WHERE item = 1) / count(*), 2) AS pct_lines_item_1,
       round(100.0 * count(*) FILTER (WHERE item <= 50) / count(*), 2) AS pct_lines_top_50
FROM synth;
