-- pairs_thresholds.sql: min_count, min_support and top_k / rank_by of
-- bundlerec.item_pairs() and bundlerec.pairs(), checked on the shipped sample
-- against plain SQL: a brute-force self-join for the pairs and window
-- functions (row_number() per item, both directions) for top_k.  Nothing
-- expected here is computed by bundlerec.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(51);

CREATE SCHEMA tap_thresholds;
SET LOCAL search_path = tap_thresholds, public;
-- Planner settings for speed only.
SET LOCAL jit = off;
SET LOCAL work_mem = '64MB';

\ir ../data/online_retail.sql

------------------------------------------------------------------------------
-- Brute force: pairs shared by at least 3 invoices (every threshold tested
-- on the sample is 3 or more), with item counts.  Items are numbered in the
-- column's collation order, so ia < ib is item_a < item_b.
------------------------------------------------------------------------------
CREATE TABLE lines AS SELECT DISTINCT invoice_no AS basket, stock_code AS item FROM sales;
SELECT count(DISTINCT basket) AS n FROM lines \gset
CREATE TABLE item_id AS
	SELECT item, cnt, (row_number() OVER (ORDER BY item))::int AS id
	FROM (SELECT item, count(*) AS cnt FROM lines GROUP BY item) s;
ANALYZE item_id;
CREATE TABLE lines_id AS
	SELECT dense_rank() OVER (ORDER BY l.basket) AS b, i.id AS i
	FROM lines l JOIN item_id i USING (item);
ANALYZE lines_id;
CREATE TABLE bf AS
	SELECT a.i AS ia, b.i AS ib, count(*) AS count_ab
	FROM lines_id a JOIN lines_id b ON a.b = b.b AND a.i < b.i
	GROUP BY a.i, b.i HAVING count(*) >= 3;
ANALYZE bf;

-- Rows of a pair query that differ from the brute-force pairs with
-- count_ab >= minc (pair set, the three counts and n_baskets).
CREATE FUNCTION pair_diff(q text, minc bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	EXECUTE format($q$
		SELECT count(*)
		FROM (SELECT x.id AS ia, y.id AS ib, g.count_ab, g.count_a, g.count_b, g.n_baskets
		      FROM %s g
		      LEFT JOIN tap_thresholds.item_id x ON x.item = g.item_a
		      LEFT JOIN tap_thresholds.item_id y ON y.item = g.item_b) g
		FULL JOIN (SELECT bf.*, x.cnt AS count_a, y.cnt AS count_b
		           FROM tap_thresholds.bf
		           JOIN tap_thresholds.item_id x ON x.id = bf.ia
		           JOIN tap_thresholds.item_id y ON y.id = bf.ib
		           WHERE count_ab >= %s) e USING (ia, ib)
		WHERE g.count_ab IS NULL OR e.count_ab IS NULL
		   OR (g.count_ab, g.count_a, g.count_b, g.n_baskets)
		      IS DISTINCT FROM (e.count_ab, e.count_a, e.count_b,
		                        (SELECT count(DISTINCT basket) FROM tap_thresholds.lines))$q$, q, minc)
	INTO bad;
	RETURN bad;
END
$$;

-- The whole sample as a paircounts value, built once.
CREATE TABLE pc AS
	SELECT bundlerec.pair_counts(items) AS pc
	FROM (SELECT invoice_no, array_agg(stock_code) AS items FROM sales GROUP BY invoice_no) b;

------------------------------------------------------------------------------
-- min_count
------------------------------------------------------------------------------
SELECT is(pair_diff($$bundlerec.item_pairs('sales', 'invoice_no', 'stock_code', min_count => 3)$$, 3),
	0::bigint, 'item_pairs min_count 3: exactly the brute-force pairs with count_ab >= 3, exact counts');
SELECT is(pair_diff($$bundlerec.item_pairs('sales', 'invoice_no', 'stock_code', min_count => 7)$$, 7),
	0::bigint, 'item_pairs min_count 7: exactly the brute-force pairs with count_ab >= 7, exact counts');
SELECT is(pair_diff($$bundlerec.item_pairs('sales', 'invoice_no', 'stock_code', min_count => 25)$$, 25),
	0::bigint, 'item_pairs min_count 25: exactly the brute-force pairs with count_ab >= 25, exact counts');
SELECT is(pair_diff($$bundlerec.pairs((SELECT pc FROM pc), min_count => 4)$$, 4),
	0::bigint, 'pairs(paircounts, min_count 4): exactly the brute-force pairs with count_ab >= 4');
SELECT is(pair_diff($$bundlerec.pairs((SELECT bundlerec.pair_counts(items, 5)
	FROM (SELECT invoice_no, array_agg(stock_code) AS items FROM sales GROUP BY invoice_no) b))$$, 5),
	0::bigint,
	'pair_counts(items, 5): pairs with count_ab >= 5; count_a, count_b and n_baskets still count every basket');
SELECT is(pair_diff($$bundlerec.pairs((SELECT bundlerec.pair_counts(items, 5)
	FROM (SELECT invoice_no, array_agg(stock_code) AS items FROM sales GROUP BY invoice_no) b), min_count => 9)$$, 9),
	0::bigint, 'pair_counts(items, 5) then pairs(min_count 9): the brute-force pairs with count_ab >= 9');
SELECT is(
	(SELECT count(*) FROM bundlerec.item_pairs('sales', 'invoice_no', 'stock_code',
		min_count => (SELECT max(count_ab) FROM bf))),
	(SELECT count(*) FROM bf WHERE count_ab = (SELECT max(count_ab) FROM bf)),
	'min_count = the largest pair count keeps just the pairs with that count');
SELECT is_empty(
	$$SELECT * FROM bundlerec.item_pairs('sales', 'invoice_no', 'stock_code',
		min_count => (SELECT max(count_ab) + 1 FROM tap_thresholds.bf))$$,
	'min_count above the largest pair count returns no rows');

------------------------------------------------------------------------------
-- min_support: count_ab / n_baskets >= s, as floats compare
------------------------------------------------------------------------------
SELECT is(
	pair_diff(format('bundlerec.item_pairs(%L, %L, %L, min_support => %s::float8 / %s)',
		'sales', 'invoice_no', 'stock_code', 10, :n), 10),
	0::bigint,
	'item_pairs min_support = 10/n exactly: pairs with count_ab >= 10 (the boundary count is kept)');
SELECT is(
	pair_diff(format('bundlerec.item_pairs(%L, %L, %L, min_support => %s::float8 / %s)',
		'sales', 'invoice_no', 'stock_code', 10.000001, :n), 11),
	0::bigint,
	'item_pairs min_support just above 10/n: pairs with count_ab >= 11');
SELECT is(
	pair_diff(format('bundlerec.pairs((SELECT pc FROM pc), min_support => %s::float8 / %s)', 3.5, :n), 4),
	0::bigint,
	'pairs() min_support = 3.5/n: pairs with count_ab >= 4');
SELECT is(
	pair_diff(format('bundlerec.pairs((SELECT pc FROM pc), min_count => 6, min_support => %s::float8 / %s)', 3, :n), 6),
	0::bigint,
	'min_count 6 with a lower min_support (3/n): the stricter threshold, count_ab >= 6, wins');
SELECT is(
	pair_diff(format('bundlerec.pairs((SELECT pc FROM pc), min_count => 3, min_support => %s::float8 / %s)', 8, :n), 8),
	0::bigint,
	'min_count 3 with a higher min_support (8/n): the stricter threshold, count_ab >= 8, wins');

-- A sweep of boundaries s = c/n (and just below, (c - 1e-9)/n): the number
-- of pairs kept equals the brute-force count with count_ab/n >= s.
CREATE TABLE sweep AS
	SELECT c::float8 / :n AS s FROM unnest(ARRAY[3, 5, 8, 13, 21, 34]) c
	UNION ALL SELECT (c - 1e-9)::float8 / :n FROM unnest(ARRAY[3, 5, 8, 13, 21, 34]) c;
SELECT is(
	(SELECT array_agg(format('%s:%s', s, (SELECT count(*) FROM bundlerec.pairs((SELECT pc FROM pc),
		min_support => s))) ORDER BY s)
	 FROM sweep),
	(SELECT array_agg(format('%s:%s', s, (SELECT count(*) FROM bf WHERE count_ab::float8 / :n >= s))
		ORDER BY s)
	 FROM sweep),
	'min_support sweep over c/n and just below (c = 3, 5, 8, 13, 21, 34): pair counts equal the brute force');

-- 49 baskets: 1.0/49 * 49 < 1 in floating point, the classic boundary trap.
CREATE TABLE lines49 (basket int, item text);
INSERT INTO lines49
	SELECT b, i FROM generate_series(1, 49) b,
		LATERAL (VALUES ('x' || (b % 7)), ('y' || (b % 5)), ('z' || (b % 3))) v(i)
	WHERE b <= 46;
INSERT INTO lines49 VALUES (47, 'solo1'), (47, 'solo2'), (48, 'solo1'), (49, 'x0');
CREATE TABLE bf49 AS
	SELECT a.item AS item_a, b.item AS item_b, count(*) AS count_ab
	FROM lines49 a JOIN lines49 b ON a.basket = b.basket AND a.item < b.item
	GROUP BY 1, 2;
SELECT is((SELECT 1::float8 / 49 * 49 < 1), true, 'fixture: 1.0/49 * 49 rounds below 1');
SELECT set_eq(
	$$SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('tap_thresholds.lines49', 'basket', 'item',
		min_support => 1::float8 / 49)$$,
	$$SELECT item_a, item_b, count_ab FROM tap_thresholds.bf49 WHERE count_ab::float8 / 49 >= 1::float8 / 49$$,
	'49 baskets, min_support = 1/49: every pair, including those in a single basket');
SELECT set_eq(
	$$SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('tap_thresholds.lines49', 'basket', 'item',
		min_support => 1::float8 / 49 * (1 + 3e-16))$$,
	$$SELECT item_a, item_b, count_ab FROM tap_thresholds.bf49
	  WHERE count_ab::float8 / 49 >= 1::float8 / 49 * (1 + 3e-16)$$,
	'49 baskets, min_support just above 1/49: single-basket pairs drop out');
SELECT is(
	(SELECT array_agg(format('%s:%s', c, (SELECT count(*) FROM bundlerec.item_pairs('lines49', 'basket', 'item',
		min_support => c::float8 / 49))) ORDER BY c) FROM generate_series(1, 12) c),
	(SELECT array_agg(format('%s:%s', c, (SELECT count(*) FROM bf49 WHERE count_ab::float8 / 49 >= c::float8 / 49))
		ORDER BY c) FROM generate_series(1, 12) c),
	'49 baskets, min_support = c/49 for c = 1..12: pair counts equal the brute force');
SELECT set_eq(
	$$SELECT item_a, item_b FROM bundlerec.item_pairs('tap_thresholds.lines49', 'basket', 'item', min_support => 1)$$,
	$$SELECT item_a, item_b FROM tap_thresholds.bf49 WHERE count_ab = 49$$,
	'min_support 1 keeps only pairs in every basket (none here)');

------------------------------------------------------------------------------
-- top_k: a pair is kept when it ranks within the top k partners of either
-- item; ties go to the partner earlier in key order; directional measures
-- are scored item => partner; min_count filters first.
------------------------------------------------------------------------------
-- Directed rows of the pairs with count_ab >= 8 (the min_count of every
-- top_k check on the sample): item, partner (ids in key order), ab and both
-- item counts.
CREATE TABLE dir AS
	SELECT d.*, x.cnt AS ci, y.cnt AS cp
	FROM (SELECT ia AS item, ib AS partner, count_ab AS ab FROM bf WHERE count_ab >= 8
	      UNION ALL
	      SELECT ib, ia, count_ab FROM bf WHERE count_ab >= 8) d
	JOIN item_id x ON x.id = d.item JOIN item_id y ON y.id = d.partner;

-- -ln P(X >= ab) for each (ci, cp, ab), from a numeric log-factorial table.
CREATE TABLE fisher AS
WITH c AS (SELECT DISTINCT ci, cp, ab FROM dir),
lf AS (
	SELECT array_agg(l ORDER BY i) AS lf
	FROM (SELECT i, (sum(ln(greatest(i, 1)::numeric(40, 30))) OVER (ORDER BY i))::float8 AS l
		  FROM generate_series(0, :n) i) s
), term AS MATERIALIZED (
	SELECT c.ci, c.cp, c.ab,
		lf[c.cp + 1] - lf[k + 1] - lf[c.cp - k + 1]
		+ lf[:n - c.cp + 1] - lf[c.ci - k + 1] - lf[:n - c.cp - c.ci + k + 1]
		- lf[:n + 1] + lf[c.ci + 1] + lf[:n - c.ci + 1] AS lp
	FROM c, lf, generate_series(greatest(c.ab, c.ci + c.cp - :n), least(c.ci, c.cp)) k
), m AS (
	SELECT *, max(lp) OVER (PARTITION BY ci, cp, ab) AS mx FROM term
)
SELECT ci, cp, ab, -(mx + ln(sum(exp(greatest(lp - mx, -700))))) AS neglogp
FROM m GROUP BY ci, cp, ab, mx;

-- Scores (higher is better) of partner for item.  Each is an exact integer
-- or one correctly rounded division of exact integers, so equal measures
-- give equal floats and ties are real ties; monotone transforms are used
-- where that helps (cosine squared; leverage and conviction without their
-- common positive factors).
CREATE TABLE ranked AS
SELECT * FROM (
	SELECT rank_by, item, partner, ab, score,
		row_number() OVER w AS rn, lead(score) OVER w AS next_score
	FROM (SELECT r.rank_by, d.item, d.partner, d.ab,
			CASE r.rank_by
				WHEN 'count' THEN d.ab::float8
				WHEN 'confidence' THEN d.ab::float8 / d.ci
				WHEN 'lift' THEN (d.ab * :n)::float8 / (d.ci * d.cp)
				WHEN 'jaccard' THEN d.ab::float8 / (d.ci + d.cp - d.ab)
				WHEN 'cosine' THEN (d.ab * d.ab)::float8 / (d.ci * d.cp)
				WHEN 'leverage' THEN (d.ab * :n - d.ci * d.cp)::float8
				WHEN 'conviction' THEN CASE WHEN d.ab = d.ci THEN 'Infinity'::float8
					ELSE (d.ci * (:n - d.cp))::float8 / (d.ci - d.ab) END
				WHEN 'fisher' THEN f.neglogp
			END AS score
		  FROM dir d JOIN fisher f USING (ci, cp, ab),
			unnest(ARRAY['count', 'confidence', 'lift', 'jaccard', 'cosine',
			             'leverage', 'conviction', 'fisher']) r(rank_by)) s
	WINDOW w AS (PARTITION BY rank_by COLLATE "C", item ORDER BY score DESC, partner)
) t WHERE rn <= 6;

-- The pairs kept by top_k: ranked within k by either of their items.
CREATE FUNCTION expected_top(r text, k int) RETURNS TABLE (item_a text, item_b text, count_ab bigint)
LANGUAGE sql STABLE AS $$
	SELECT x.item, y.item, t.ab
	FROM (SELECT DISTINCT least(item, partner) AS ia, greatest(item, partner) AS ib, ab
	      FROM tap_thresholds.ranked WHERE rank_by = r AND rn <= k) t
	JOIN tap_thresholds.item_id x ON x.id = t.ia JOIN tap_thresholds.item_id y ON y.id = t.ib
$$;

-- Ties at the cut: items whose k-th and (k+1)-th partners score the same, so
-- the partner-key tie-break decides what is kept.
CREATE FUNCTION ties_at_cut(r text, k int) RETURNS bigint LANGUAGE sql STABLE AS $$
	SELECT count(*) FROM tap_thresholds.ranked WHERE rank_by = r AND rn = k AND next_score = score
$$;

CREATE FUNCTION got_top(k int, r text) RETURNS TABLE (item_a text, item_b text, count_ab bigint)
LANGUAGE sql STABLE AS $$
	SELECT item_a, item_b, count_ab
	FROM bundlerec.pairs((SELECT pc FROM tap_thresholds.pc), min_count => 8, top_k => k, rank_by => r)
$$;

SELECT cmp_ok(ties_at_cut('count', 1), '>', 100::bigint, 'fixture: over 100 items tie at the cut for count, k = 1');
SELECT cmp_ok(ties_at_cut('confidence', 3), '>', 10::bigint, 'fixture: over 10 items tie at the cut for confidence, k = 3');
SELECT cmp_ok(ties_at_cut('lift', 2), '>', 10::bigint, 'fixture: over 10 items tie at the cut for lift, k = 2');
SELECT cmp_ok(ties_at_cut('jaccard', 2), '>', 10::bigint, 'fixture: over 10 items tie at the cut for jaccard, k = 2');
SELECT cmp_ok(ties_at_cut('conviction', 2), '>', 10::bigint, 'fixture: over 10 items tie at the cut (Infinity) for conviction, k = 2');
SELECT is(
	(SELECT count(*) FROM (
		SELECT item, score FROM ranked WHERE rank_by = 'fisher'
		GROUP BY item, score HAVING count(DISTINCT ab) > 1) t)
	+ (SELECT count(*) FROM ranked WHERE rank_by = 'fisher' AND next_score <> score
	   AND abs(next_score - score) <= 1e-9 * abs(score)),
	0::bigint,
	'fixture: no two different Fisher p-values of one item are within 1e-9 (the fisher ranking is well defined)');

SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(1, 'count')$$,
	$$SELECT * FROM tap_thresholds.expected_top('count', 1)$$,
	'top_k 1 by count (ties to the smaller partner key), min_count 8');
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(5, 'count')$$,
	$$SELECT * FROM tap_thresholds.expected_top('count', 5)$$,
	'top_k 5 by count, min_count 8');
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(2, 'support')$$,
	$$SELECT * FROM tap_thresholds.expected_top('count', 2)$$,
	'top_k 2 by support ranks as count does (support = count/n), min_count 8');
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(3, 'confidence')$$,
	$$SELECT * FROM tap_thresholds.expected_top('confidence', 3)$$,
	'top_k 3 by confidence (item => partner), min_count 8');
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(2, 'lift')$$,
	$$SELECT * FROM tap_thresholds.expected_top('lift', 2)$$,
	'top_k 2 by lift, min_count 8');
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(2, 'jaccard')$$,
	$$SELECT * FROM tap_thresholds.expected_top('jaccard', 2)$$,
	'top_k 2 by jaccard, min_count 8');
-- Equal cosines from different counts, e.g. 12/sqrt(29*16) = 9/sqrt(29*9),
-- must tie, and the tie goes to the smaller partner key.
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(3, 'cosine')$$,
	$$SELECT * FROM tap_thresholds.expected_top('cosine', 3)$$,
	'top_k 3 by cosine, exact ties (ab^2/(a*b) compared exactly) going to the smaller partner key');
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(2, 'leverage')$$,
	$$SELECT * FROM tap_thresholds.expected_top('leverage', 2)$$,
	'top_k 2 by leverage, min_count 8');
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(2, 'conviction')$$,
	$$SELECT * FROM tap_thresholds.expected_top('conviction', 2)$$,
	'top_k 2 by conviction (item => partner, Infinity ties to the smaller key), min_count 8');
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(3, 'fisher')$$,
	$$SELECT * FROM tap_thresholds.expected_top('fisher', 3)$$,
	'top_k 3 by fisher (-ln p), min_count 8');
SELECT bag_eq($$SELECT * FROM tap_thresholds.got_top(1000000, 'lift')$$,
	$$SELECT x.item AS item_a, y.item AS item_b, count_ab FROM tap_thresholds.bf
	  JOIN tap_thresholds.item_id x ON x.id = ia JOIN tap_thresholds.item_id y ON y.id = ib
	  WHERE count_ab >= 8$$,
	'top_k larger than any partner list keeps every pair passing min_count');

-- item_pairs path, default rank_by (confidence), and min_support before top_k.
SELECT bag_eq(
	$$SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('tap_thresholds.sales', 'invoice_no', 'stock_code', min_count => 8, top_k => 2)$$,
	$$SELECT * FROM tap_thresholds.expected_top('confidence', 2)$$,
	'item_pairs top_k 2 with the default rank_by is confidence, min_count 8');
SELECT bag_eq(
	$$SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('tap_thresholds.sales', 'invoice_no', 'stock_code', min_count => 8, top_k => 3, rank_by => 'lift')$$,
	$$SELECT * FROM tap_thresholds.expected_top('lift', 3)$$,
	'item_pairs top_k 3 by lift, min_count 8');
SELECT bag_eq(
	format($$SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('tap_thresholds.sales', 'invoice_no', 'stock_code',
		min_count => 2, min_support => 8::float8 / %s, top_k => 1, rank_by => 'fisher')$$, :n),
	$$SELECT * FROM tap_thresholds.expected_top('fisher', 1)$$,
	'item_pairs min_support 8/n (stricter than min_count 2) filters before top_k 1 by fisher');

-- The rows top_k keeps carry the same values as without top_k.
SELECT is(
	(SELECT count(*) FROM bundlerec.pairs((SELECT pc FROM pc), min_count => 8, top_k => 2, rank_by => 'lift') t
	 LEFT JOIN bundlerec.pairs((SELECT pc FROM pc), min_count => 8) a USING (item_a, item_b)
	 WHERE a.item_a IS NULL OR (t.*) IS DISTINCT FROM (a.*)),
	0::bigint,
	'rows kept by top_k are identical (every column) to the same pairs without top_k');

------------------------------------------------------------------------------
-- top_k on a hand-made fixture: the either-item rule and key-order ties
------------------------------------------------------------------------------
-- p1 co-occurs with a, b, c in 2 baskets each and with d in 1; a, b, c, d
-- have no other partners.  With top_k 1 by count, p1's best partner is a
-- (tie a = b = c, smallest key), while b, c and d each keep p1 as their only
-- partner, so every pair survives through the other item.
CREATE TABLE fix (basket int, item text);
INSERT INTO fix VALUES
	(1, 'p1'), (1, 'a'), (2, 'p1'), (2, 'a'),
	(3, 'p1'), (3, 'b'), (4, 'p1'), (4, 'b'),
	(5, 'p1'), (5, 'c'), (6, 'p1'), (6, 'c'),
	(7, 'p1'), (7, 'd'),
	(8, 'q'), (8, 'r'), (9, 'q'), (9, 's'), (10, 'q'), (10, 's');
SELECT results_eq(
	$$SELECT item_a, item_b, count_ab FROM bundlerec.item_pairs('tap_thresholds.fix', 'basket', 'item', top_k => 1, rank_by => 'count')$$,
	$$VALUES ('a', 'p1', 2::bigint), ('b', 'p1', 2), ('c', 'p1', 2), ('d', 'p1', 1), ('q', 'r', 1), ('q', 's', 2)$$,
	'fixture: top_k 1 keeps a pair that is the best partner of either of its items');
SELECT results_eq(
	$$SELECT item_a, item_b FROM bundlerec.item_pairs('tap_thresholds.fix', 'basket', 'item', min_count => 2, top_k => 1, rank_by => 'count')$$,
	$$VALUES ('a', 'p1'), ('b', 'p1'), ('c', 'p1'), ('q', 's')$$,
	'min_count 2 removes d-p1 and q-r before ranking');
-- Among r and s, q prefers s (count 2); r's only partner is q.  By
-- confidence r => q is 1 and s => q is 1: both kept either way.  From p1's
-- side, confidence p1 => a = p1 => b = p1 => c = 2/7: ties go to a.
SELECT results_eq(
	$$SELECT item_a, item_b FROM bundlerec.item_pairs('tap_thresholds.fix', 'basket', 'item', top_k => 1, rank_by => 'confidence')
	  WHERE 'p1' IN (item_a, item_b)$$,
	$$VALUES ('a', 'p1'), ('b', 'p1'), ('c', 'p1'), ('d', 'p1')$$,
	'confidence is directional: d => p1 is 1, so d-p1 is kept although p1 => d is the weakest');

------------------------------------------------------------------------------
-- Exact ties between different counts: measures computed in floating point
-- can come out one ulp apart for equal values, so ranking must compare them
-- exactly for the partner-key tie-break to apply.  Each fixture is the
-- smallest found; expected sets by hand.
------------------------------------------------------------------------------
-- cosine: x (6 baskets) meets p (9 baskets) in 3 and q (1 basket) in 1:
-- 3/sqrt(6*9) = 1/sqrt(6*1).  x keeps p (p < q); p prefers r (5/sqrt(45)).
CREATE TABLE tie_cos (basket int, item text);
INSERT INTO tie_cos VALUES (1, 'x'), (1, 'q'), (2, 'x'), (2, 'p'), (3, 'x'), (3, 'p'), (4, 'x'),
	(4, 'p'), (5, 'x'), (6, 'x'), (7, 'p'), (7, 'r'), (8, 'p'), (8, 'r'), (9, 'p'), (9, 'r'),
	(10, 'p'), (10, 'r'), (11, 'p'), (11, 'r'), (12, 'p');
SELECT results_eq(
	$$SELECT item_a, item_b FROM bundlerec.item_pairs('tap_thresholds.tie_cos', 'basket', 'item', top_k => 1, rank_by => 'cosine')$$,
	$$VALUES ('p', 'r'), ('p', 'x'), ('q', 'x')$$,
	'cosine tie 3/sqrt(54) = 1/sqrt(6): x keeps p, the smaller key');
-- conviction (n = 5): x => b = (1 - 3/5)/(1 - 1/3) = 0.6 = (1 - 4/5)/(1 - 2/3)
-- = x => a, and b => x = b => a = 0.6 likewise: both keep a.
CREATE TABLE tie_conv (basket int, item text);
INSERT INTO tie_conv VALUES (1, 'x'), (2, 'x'), (3, 'x'), (1, 'b'), (4, 'b'), (5, 'b'),
	(2, 'a'), (3, 'a'), (4, 'a'), (5, 'a');
SELECT results_eq(
	$$SELECT item_a, item_b FROM bundlerec.item_pairs('tap_thresholds.tie_conv', 'basket', 'item', top_k => 1, rank_by => 'conviction')$$,
	$$VALUES ('a', 'b'), ('a', 'x')$$,
	'conviction tie 0.6 = 0.6: x and b keep a, the smaller key');
-- leverage (n = 6): x-a = 2/6 - (2/6)(5/6) = 2/36 = 1/6 - (2/6)(2/6) = x-b;
-- x keeps a; b prefers c (4/36); so b-x is not kept.
CREATE TABLE tie_lev (basket int, item text);
INSERT INTO tie_lev VALUES (1, 'x'), (1, 'b'), (1, 'a'), (2, 'x'), (2, 'a'), (3, 'b'), (3, 'c'),
	(4, 'a'), (5, 'a'), (6, 'a');
SELECT results_eq(
	$$SELECT item_a, item_b FROM bundlerec.item_pairs('tap_thresholds.tie_lev', 'basket', 'item', top_k => 1, rank_by => 'leverage')$$,
	$$VALUES ('a', 'x'), ('b', 'c')$$,
	'leverage tie 2/36 = 2/36: x keeps a, the smaller key');

------------------------------------------------------------------------------
-- Invalid thresholds are rejected
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.item_pairs('tap_thresholds.fix', 'basket', 'item', min_count => 0)$$,
	'22023', NULL, 'min_count 0 is rejected');
SELECT throws_ok($$SELECT * FROM bundlerec.item_pairs('tap_thresholds.fix', 'basket', 'item', min_support => 1.5)$$,
	'22023', NULL, 'min_support above 1 is rejected');
SELECT throws_ok($$SELECT * FROM bundlerec.item_pairs('tap_thresholds.fix', 'basket', 'item', min_support => 'NaN')$$,
	'22023', NULL, 'min_support NaN is rejected');
SELECT throws_ok($$SELECT * FROM bundlerec.item_pairs('tap_thresholds.fix', 'basket', 'item', top_k => 0)$$,
	'22023', NULL, 'top_k 0 is rejected');
SELECT throws_ok($$SELECT * FROM bundlerec.item_pairs('tap_thresholds.fix', 'basket', 'item', top_k => 1, rank_by => 'popularity')$$,
	'22023', NULL, 'an unknown rank_by is rejected');

SELECT * FROM finish();
ROLLBACK;
