-- Every pair measure on a hand-checked fixture, through both entry points.
SET extra_float_digits = 0;

-- Six orders; order 6 holds one item; order 1 has a duplicate line; the
-- NULL lines are skipped with a NOTICE.
CREATE TABLE fixture_lines (basket int, item text, qty int);
INSERT INTO fixture_lines VALUES
	(1, 'milk', 1), (1, 'bread', 2), (1, 'butter', 1), (1, 'milk', 3),
	(2, 'milk', 1), (2, 'bread', 1),
	(3, 'milk', 2), (3, 'butter', 1),
	(4, 'bread', 1), (4, 'jam', 1),
	(5, 'milk', 1), (5, 'bread', 1), (5, 'butter', 1), (5, 'jam', 1),
	(6, 'eggs', 12),
	(NULL, 'milk', 1), (7, NULL, 1);

-- Hand-computed: n = 6; milk 4, bread 4, butter 3, jam 2, eggs 1.
-- fisher_p = P(X >= count_ab), X hypergeometric, worked out by hand, e.g.
-- bread/butter: (C(3,2)C(3,2) + C(3,3)C(3,1)) / C(6,4) = 12/15.
CREATE TABLE fixture_expected (item_a text, item_b text, count_ab bigint,
	count_a bigint, count_b bigint, support float8, confidence_ab float8,
	confidence_ba float8, lift float8, jaccard float8, cosine float8,
	leverage float8, conviction float8, conviction_ba float8, fisher_p float8);
INSERT INTO fixture_expected VALUES
	('bread',  'butter', 2, 4, 3, 2/6., 2/4., 2/3., 1,     2/5., 2/sqrt(12), 0,      1,              1,              12/15.),
	('bread',  'jam',    2, 4, 2, 2/6., 2/4., 1,    1.5,   2/4., 2/sqrt(8),  1/9.,   4/3.,           'Infinity',     6/15.),
	('bread',  'milk',   3, 4, 4, 3/6., 3/4., 3/4., 1.125, 3/5., 3/4.,       1/18.,  4/3.,           4/3.,           9/15.),
	('butter', 'jam',    1, 3, 2, 1/6., 1/3., 1/2., 1,     1/4., 1/sqrt(6),  0,      1,              1,              16/20.),
	('butter', 'milk',   3, 3, 4, 3/6., 1,    3/4., 1.5,   3/4., 3/sqrt(12), 1/6.,   'Infinity',     2,              4/20.),
	('jam',    'milk',   1, 2, 4, 1/6., 1/2., 1/4., 0.75,  1/5., 1/sqrt(8),  -1/18., 2/3.,           8/9.,           14/15.);

CREATE FUNCTION close_to(x float8, y float8) RETURNS bool LANGUAGE sql IMMUTABLE AS
$$ SELECT x = y OR abs(x - y) <= 1e-12 * greatest(abs(x), abs(y), 1e-300) $$;

-- the table form
CREATE TABLE got_lines AS
	SELECT * FROM bundlerec.item_pairs('fixture_lines', 'basket', 'item');
SELECT g.item_a, g.item_b, g.count_ab, g.count_a, g.count_b, g.n_baskets,
	close_to(g.support, e.support) AS support,
	close_to(g.confidence_ab, e.confidence_ab) AS conf_ab,
	close_to(g.confidence_ba, e.confidence_ba) AS conf_ba,
	close_to(g.lift, e.lift) AS lift,
	close_to(g.jaccard, e.jaccard) AS jaccard,
	close_to(g.cosine, e.cosine) AS cosine,
	abs(g.leverage - e.leverage) <= 1e-15 AS leverage,
	close_to(g.conviction, e.conviction) AS conv_ab,
	close_to(g.conviction_ba, e.conviction_ba) AS conv_ba,
	close_to(g.fisher_p, e.fisher_p) AS fisher
FROM got_lines g FULL JOIN fixture_expected e USING (item_a, item_b)
ORDER BY 1, 2;

-- counts are exactly the hand counts
SELECT count(*) AS mismatches FROM got_lines g FULL JOIN fixture_expected e USING (item_a, item_b)
WHERE g.count_ab IS DISTINCT FROM e.count_ab OR g.count_a IS DISTINCT FROM e.count_a
   OR g.count_b IS DISTINCT FROM e.count_b OR g.n_baskets IS DISTINCT FROM 6;

-- the aggregate form over basket arrays gives the same rows
CREATE TABLE fixture_baskets AS
	SELECT basket, array_agg(item ORDER BY item) AS items
	FROM fixture_lines WHERE basket IS NOT NULL AND item IS NOT NULL GROUP BY basket;
SELECT count(*) AS differences FROM (
	(SELECT * FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items) FROM fixture_baskets))
	 EXCEPT ALL SELECT * FROM got_lines)
	UNION ALL
	(SELECT * FROM got_lines
	 EXCEPT ALL SELECT * FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items) FROM fixture_baskets)))
) d;

-- a readable view of the measures
SELECT item_a, item_b, count_ab, round(support::numeric, 4) AS support,
	round(confidence_ab::numeric, 4) AS conf_ab, round(confidence_ba::numeric, 4) AS conf_ba,
	round(lift::numeric, 4) AS lift, round(jaccard::numeric, 4) AS jaccard,
	round(cosine::numeric, 4) AS cosine, round(leverage::numeric, 4) AS leverage,
	conviction, round(fisher_p::numeric, 4) AS fisher_p
FROM got_lines ORDER BY 1, 2;

-- thresholds: min_count, min_support (2/6 exactly), top_k
SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('fixture_lines', 'basket', 'item', min_count => 3);
SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('fixture_lines', 'basket', 'item', min_support => 2/6.);
-- best partner by confidence: bread->milk (3/4), butter->milk (1), jam->bread (1),
-- milk->bread and milk->butter tie at 3/4, bread comes first
SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('fixture_lines', 'basket', 'item', top_k => 1);
-- by lift: bread->jam (1.5), butter->milk (1.5), jam->bread (1.5), milk->butter (1.5)
SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('fixture_lines', 'basket', 'item', top_k => 1, rank_by => 'lift');

-- an empty source gives no rows
CREATE TABLE empty_lines (basket int, item text);
SELECT count(*) FROM bundlerec.item_pairs('empty_lines', 'basket', 'item');
SELECT count(*) FROM bundlerec.pairs((SELECT bundlerec.pair_counts(ARRAY[item]) FROM empty_lines));

-- baskets whose kept items are fewer than two, last in the input: the
-- pair layout must not write past them (this crashed an early build)
CREATE TABLE tail_lines AS
	SELECT b AS basket, i AS item FROM generate_series(1, 2000) b, generate_series(1, 2) i
	UNION ALL SELECT 2001, 1
	UNION ALL SELECT 2002, 3;
SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets
FROM bundlerec.item_pairs('tail_lines', 'basket', 'item');
SELECT item_a, item_b, count_ab, n_baskets
FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items)
                      FROM (SELECT ARRAY[1, 2] AS items FROM generate_series(1, 2000)
                            UNION ALL SELECT ARRAY[1]) s));
