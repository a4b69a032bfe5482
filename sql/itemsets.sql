-- Frequent itemsets and association rules against a brute-force enumeration
-- of every subset of every basket, written separately in SQL.
SET extra_float_digits = 0;

-- Eight baskets with a four-item itemset, ties and a single-item basket.
CREATE TABLE set_lines (basket int, item text);
INSERT INTO set_lines
	SELECT b, unnest(items) FROM (VALUES
		(1, '{milk,bread,butter}'::text[]),
		(2, '{milk,bread}'),
		(3, '{milk,butter}'),
		(4, '{bread,jam}'),
		(5, '{milk,bread,butter,jam}'),
		(6, '{eggs}'),
		(7, '{milk,bread,butter,jam,bread}'),
		(8, '{jam,eggs}')) v(b, items);
INSERT INTO set_lines VALUES (NULL, 'milk'), (9, NULL);

-- every subset of every basket, by recursion over items in ascending order
CREATE FUNCTION brute_itemsets(min_count bigint, max_size int)
RETURNS TABLE (items text[], size int, count bigint) LANGUAGE sql AS $$
	WITH RECURSIVE b AS (
		SELECT basket, array_agg(DISTINCT item ORDER BY item) AS its
		FROM set_lines WHERE basket IS NOT NULL AND item IS NOT NULL GROUP BY basket
	), sub(basket, items, last) AS (
		SELECT basket, ARRAY[i], i FROM b, unnest(its) i
		UNION ALL
		SELECT s.basket, s.items || i, i
		FROM sub s JOIN b USING (basket), unnest(b.its) i
		WHERE i > s.last AND cardinality(s.items) < max_size
	)
	SELECT items, cardinality(items), count(*) FROM sub GROUP BY items HAVING count(*) >= min_count
$$;

-- rules X => y from the brute-force itemsets, with arules' measures
CREATE FUNCTION brute_rules(min_count bigint, min_conf float8, max_size int)
RETURNS TABLE (antecedent text[], consequent text, count bigint, confidence float8,
               coverage float8, lift float8) LANGUAGE sql AS $$
	WITH n AS (SELECT count(DISTINCT basket)::float8 AS n FROM set_lines WHERE basket IS NOT NULL AND item IS NOT NULL),
	f AS (SELECT * FROM brute_itemsets(min_count, max_size)),
	r AS (
		SELECT array(SELECT x FROM unnest(f.items) x WHERE x <> y ORDER BY x) AS antecedent,
		       y AS consequent, f.count
		FROM f, unnest(f.items) y)
	SELECT r.antecedent, r.consequent, r.count,
	       r.count / coalesce(fx.count, n.n), coalesce(fx.count, n.n) / n.n,
	       (r.count / coalesce(fx.count, n.n)) / (fy.count / n.n)
	FROM r CROSS JOIN n
	LEFT JOIN f fx ON fx.items = r.antecedent
	JOIN f fy ON fy.items = ARRAY[r.consequent]
	WHERE r.count / coalesce(fx.count, n.n) >= min_conf
$$;

SELECT * FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', min_support => 0.25);
SET client_min_messages = warning;

-- itemsets: identical sets and counts at several thresholds and sizes
SELECT ms, mx,
	(SELECT count(*) FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', NULL, mx, min_count => ms)) AS mined,
	(SELECT count(*) FROM (
		(SELECT items, size, count FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', NULL, mx, min_count => ms)
		 EXCEPT SELECT * FROM brute_itemsets(ms, mx))
		UNION ALL
		(SELECT * FROM brute_itemsets(ms, mx)
		 EXCEPT SELECT items, size, count FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', NULL, mx, min_count => ms))) d) AS differences
FROM (VALUES (1, 5), (2, 5), (2, 2), (3, 3), (4, 4), (5, 5)) v(ms, mx);

-- rules, including empty antecedents, at several confidences
SELECT antecedent, consequent, size, count, support, confidence, coverage, lift,
	leverage, conviction, round(fisher_p::numeric, 12) AS fisher_p
FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.375, 0.75);
SELECT ms, conf,
	(SELECT count(*) FROM bundlerec.association_rules('set_lines', 'basket', 'item', NULL, conf, 5, min_count => ms)) AS mined,
	(SELECT count(*) FROM (
		SELECT * FROM bundlerec.association_rules('set_lines', 'basket', 'item', NULL, conf, 5, min_count => ms) m
		FULL JOIN brute_rules(ms, conf, 5) b USING (antecedent, consequent)
		WHERE m.count IS DISTINCT FROM b.count
		   OR abs(m.confidence - b.confidence) > 1e-12
		   OR abs(m.coverage - b.coverage) > 1e-12
		   OR abs(m.lift - b.lift) > 1e-12 * b.lift
		   OR m.consequent IS NULL OR b.consequent IS NULL) d) AS differences
FROM (VALUES (1, 0.0), (2, 0.0), (2, 0.5), (3, 0.6), (3, 1.0), (1, 1.0)) v(ms, conf);

-- Fisher p of butter => milk by hand: n = 8, 4 baskets with butter, 5 with
-- milk, all 4 butter baskets hold milk: C(5,4) C(3,0) / C(8,4) = 5/70
SELECT abs(fisher_p - 5/70.) < 1e-12 AS fisher_by_hand
FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.375, 0.75)
WHERE antecedent = '{butter}' AND consequent = 'milk';

-- min_size 2 drops the empty-antecedent rules only
SELECT (SELECT count(*) FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.25, 0.5))
     - (SELECT count(*) FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.25, 0.5, min_size => 2)) AS empty_lhs_rules,
       (SELECT count(*) FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.25, 0.5) WHERE antecedent = '{}') AS expected;

-- the basketset aggregate gives the same itemsets and rules
CREATE TABLE set_baskets AS
	SELECT basket, array_agg(item) AS items FROM set_lines
	WHERE basket IS NOT NULL AND item IS NOT NULL GROUP BY basket;
SELECT
	(SELECT count(*) FROM (
		(SELECT * FROM bundlerec.itemsets((SELECT bundlerec.basket_set(items) FROM set_baskets), 0.25)
		 EXCEPT SELECT * FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', 0.25))
		UNION ALL
		(SELECT * FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', 0.25)
		 EXCEPT SELECT * FROM bundlerec.itemsets((SELECT bundlerec.basket_set(items) FROM set_baskets), 0.25))) d
	) AS itemset_differences,
	(SELECT count(*) FROM (
		(SELECT * FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.25, 0.3)
		 EXCEPT SELECT * FROM bundlerec.rules((SELECT bundlerec.basket_set(items) FROM set_baskets), 0.25, 0.3))
		UNION ALL
		(SELECT * FROM bundlerec.rules((SELECT bundlerec.basket_set(items) FROM set_baskets), 0.25, 0.3)
		 EXCEPT SELECT * FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.25, 0.3))) d
	) AS rule_differences;

-- completing a cart from a rules table
CREATE TABLE set_rules AS SELECT * FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.25, 0.3);
SELECT * FROM bundlerec.complete_cart_rules(ARRAY['milk', 'butter'], 'set_rules');
SELECT * FROM bundlerec.complete_cart_rules(ARRAY['jam'], 'set_rules', k => 2);
SELECT * FROM bundlerec.complete_cart_rules(ARRAY['caviar'], 'set_rules', k => 1);

-- bad input
RESET client_min_messages;
\set VERBOSITY default
SELECT * FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', 0);
SELECT * FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', 1.5);
SELECT * FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', NULL::float8);
SELECT * FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', NULL, min_count => 0);
SELECT * FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', 0.1, max_size => 0);
SELECT * FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'nope', 0.1);
SELECT * FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.1, 1.2);
SELECT * FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.1, -0.5);
SELECT * FROM bundlerec.association_rules('set_lines', 'basket', 'item', 0.1, 0.5, max_size => 3, min_size => 4);
SELECT * FROM bundlerec.complete_cart_rules(ARRAY['milk', NULL], 'set_rules');
SELECT * FROM bundlerec.complete_cart_rules(ARRAY['milk'], 'set_rules', k => 0);
SELECT * FROM bundlerec.complete_cart_rules(ARRAY['milk'], 'set_lines');
-- the explosion guard
SET bundlerec.max_itemsets = 10;
SELECT count(*) FROM bundlerec.frequent_itemsets('set_lines', 'basket', 'item', NULL, min_count => 1);
RESET bundlerec.max_itemsets;
-- an empty source gives no rows
CREATE TABLE set_empty (basket int, item text);
SELECT count(*) FROM bundlerec.frequent_itemsets('set_empty', 'basket', 'item', 0.1);
SELECT count(*) FROM bundlerec.association_rules('set_empty', 'basket', 'item', 0.1, 0.1);
