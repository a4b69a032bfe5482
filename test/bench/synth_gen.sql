-- pairs_bench: seeded synthetic order lines, synth_lines(basket int, item int).
-- psql variables: baskets (number of baskets), seed (for setseed, in [-1, 1]).
--
-- Generator (also printed by pairs_bench.sh):
--   SELECT setseed(:seed);  then, in one serial statement,
--   for basket in 1..:baskets:  n = 1 + floor(-ln(1 - random()) * 9)
--       (1 + floor of an exponential with mean 9: mean basket size ~9.5 lines)
--   each line: item = least(50000, floor(exp(random() * ln(50001))))::int
--       (log-uniform on [1, 50001): P(item = k) = ln((k+1)/k) / ln(50001),
--        i.e. Zipf-like ~ 1/k; item 1 is ~6.4% of lines)
-- An item can repeat within a basket (as a real order can hold the same
-- product on two lines); both methods count it once per basket.
-- random() is parallel restricted, so the statement runs serially and the
-- same seed gives the same table.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET search_path = pairs_bench, public;

DROP TABLE IF EXISTS synth_lines, synth_baskets;

SELECT setseed(:seed);
CREATE TABLE synth_lines AS
	WITH b AS MATERIALIZED (
		SELECT basket, 1 + floor(-ln(1 - random()) * 9)::int AS n
		FROM generate_series(1, :baskets) AS basket
	)
	SELECT b.basket::int AS basket,
	       least(50000, floor(exp(random() * ln(50001))))::int AS item
	FROM b CROSS JOIN LATERAL generate_series(1, b.n) AS line;
VACUUM ANALYZE synth_lines;

-- Basket arrays for the bundlerec.pair_counts aggregate path.
CREATE TABLE synth_baskets AS
	SELECT basket, array_agg(item) AS items FROM synth_lines GROUP BY basket;
VACUUM ANALYZE synth_baskets;

SELECT count(*) AS lines, count(DISTINCT basket) AS baskets,
       count(DISTINCT item) AS items,
       round(count(*)::numeric / count(DISTINCT basket), 2) AS mean_lines_per_basket,
       round(100.0 * count(*) FILTER (WHERE item = 1) / count(*), 2) AS pct_lines_item_1
FROM synth_lines;
