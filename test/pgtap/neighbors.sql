-- neighbors.sql: bundlerec.item_neighbors, customer_neighbors,
-- content_neighbors and recommend_from_neighbors against plain SQL.  The
-- similarities are the formulas of the API written as GROUP BY queries over
-- a self-join of the (customer, item, summed rating) matrix (cosine with
-- norms over all customers, Pearson centred by the item's mean over all its
-- customers, adjusted cosine centred by the customer's mean), shrinkage
-- common/(common + s), min_common and top_k by row_number() with ties in
-- neighbour text order.  Binary cosine is also checked against
-- count_ab / sqrt(count_a count_b).  Content similarity is TF-IDF built in
-- SQL from regexp_matches() tokens and ntile() price bands; recommendation
-- scores are sums over a hand-made neighbour table, with two cases worked
-- out by hand.  Nothing expected here is computed by bundlerec.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(38);

CREATE SCHEMA tap_neighbors;
SET LOCAL search_path = tap_neighbors, public;
SET LOCAL jit = off;

CREATE FUNCTION close_to(have float8, want float8, rel float8, scale float8)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN have IS NULL OR want IS NULL THEN false
		ELSE abs(have - want) <= rel * scale END
$$;

------------------------------------------------------------------------------
-- Brute force: similarity of the "ent" values of src compared across the
-- "over" values (items across customers for item_neighbors, customers across
-- items for customer_neighbors); rating NULL = binary.
------------------------------------------------------------------------------
CREATE FUNCTION bf_sim(src text, ent text, over text, rating text, measure text,
                       shrinkage float8 DEFAULT 0, min_common bigint DEFAULT 1)
RETURNS TABLE (item text, neighbor text, score float8, common bigint) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
	WITH r AS (SELECT %2$I::text AS o, %1$I::text AS e, %3$s AS r FROM %4$s
	           WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL GROUP BY %2$I, %1$I),
	em AS (SELECT e, avg(r) AS m, sqrt(sum(r * r)) AS nrm FROM r GROUP BY e),
	om AS (SELECT o, avg(r) AS m FROM r GROUP BY o),
	p AS (SELECT a.e AS i, b.e AS j, count(*) AS c, sum(a.r * b.r) AS dot,
	             sum((a.r - ea.m) * (b.r - eb.m)) AS pn, sum((a.r - ea.m) ^ 2) AS pa, sum((b.r - eb.m) ^ 2) AS pb,
	             sum((a.r - om.m) * (b.r - om.m)) AS an, sum((a.r - om.m) ^ 2) AS aa, sum((b.r - om.m) ^ 2) AS ab,
	             min(ea.nrm) AS na, min(eb.nrm) AS nb
	      FROM r a JOIN r b ON a.o = b.o AND a.e <> b.e
	      JOIN em ea ON ea.e = a.e JOIN em eb ON eb.e = b.e JOIN om ON om.o = a.o
	      GROUP BY a.e, b.e),
	s AS (SELECT i, j, c, CASE $1
	          WHEN 'cosine' THEN dot / nullif(na * nb, 0)
	          WHEN 'pearson' THEN pn / nullif(sqrt(pa * pb), 0)
	          WHEN 'adjusted_cosine' THEN an / nullif(sqrt(aa * ab), 0) END AS sim
	      FROM p)
	SELECT i, j, sim * c / (c + $2), c FROM s WHERE sim IS NOT NULL AND c >= $3$q$,
	ent, over, CASE WHEN rating IS NULL THEN '1::float8' ELSE format('sum(%I)::float8', rating) END, src)
	USING measure, shrinkage, min_common;
END
$$;

-- The top_k rows of bf_sim per item: score descending (equal to 1e-12),
-- then neighbour text order.
CREATE FUNCTION bf_top(src text, ent text, over text, rating text, measure text,
                       shrinkage float8, min_common bigint, k int)
RETURNS TABLE (item text, neighbor text, score float8, common bigint) LANGUAGE sql AS $$
	SELECT item, neighbor, score, common FROM (
		SELECT b.*, row_number() OVER (PARTITION BY b.item
		                               ORDER BY round(b.score::numeric, 12) DESC, b.neighbor COLLATE "C") AS rn
		FROM bf_sim(src, ent, over, rating, measure, shrinkage, min_common) b) s
	WHERE rn <= k
$$;

-- Rows of a neighbour query that differ from expected rows: missing,
-- extra, score off by more than tol (1e-10 unless given), other common.
CREATE FUNCTION nb_diff(got_q text, want_q text, tol float8 DEFAULT 1e-10) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	EXECUTE format($q$
		SELECT count(*) FROM (%s) g(item, neighbor, score, common)
		FULL JOIN (%s) w(item, neighbor, score, common) USING (item, neighbor)
		WHERE g.item IS NULL OR w.item IS NULL OR NOT close_to(g.score, w.score, $1, 1)
		   OR g.common IS DISTINCT FROM w.common$q$, got_q, want_q) USING tol INTO bad;
	RETURN bad;
END
$$;

------------------------------------------------------------------------------
-- Explicit ratings: 6 customers, 6 items, one repeated line (u5 rates A 1
-- then 2: summed to 3).  E's mean is 3 and u5 and u6 both give E a 3, so the
-- Pearson pair (E, F), whose common customers are exactly u5 and u6, has a
-- zero denominator and must be left out.
------------------------------------------------------------------------------
CREATE TABLE ratings (cust text, item text, stars int);
INSERT INTO ratings VALUES
	('u1', 'A', 5), ('u1', 'B', 3), ('u1', 'C', 4),
	('u2', 'A', 4), ('u2', 'B', 2), ('u2', 'D', 5), ('u2', 'E', 1),
	('u3', 'B', 4), ('u3', 'C', 5), ('u3', 'D', 3),
	('u4', 'A', 2), ('u4', 'C', 3), ('u4', 'D', 4), ('u4', 'E', 5),
	('u5', 'A', 1), ('u5', 'A', 2), ('u5', 'B', 5), ('u5', 'E', 3), ('u5', 'F', 4),
	('u6', 'C', 2), ('u6', 'E', 3), ('u6', 'D', 1), ('u6', 'F', 2),
	(NULL, 'A', 5), ('u6', NULL, 4);

-- Oracle spot checks worked by hand:
--   cosine(A, B): A = (5, 4, 0, 2, 3, 0), B = (3, 2, 4, 0, 5, 0) over u1..u6:
--     dot = 15 + 8 + 15 = 38, |A|^2 = 25 + 16 + 4 + 9 = 54, |B|^2 = 9 + 4 + 16 + 25 = 54 -> 38/54
--   pearson(A, B): means A 14/4 = 3.5, B 14/4 = 3.5; common u1 u2 u5:
--     A dev 1.5, 0.5, -0.5; B dev -0.5, -1.5, 1.5 -> (-0.75 - 0.75 - 0.75) / sqrt(2.75 * 4.75)
SELECT is(
	(SELECT array_agg(round(score::numeric, 12) ORDER BY measure)
	 FROM (SELECT 'c' AS measure, score FROM bf_sim('ratings', 'item', 'cust', 'stars', 'cosine') WHERE item = 'A' AND neighbor = 'B'
	       UNION ALL
	       SELECT 'p', score FROM bf_sim('ratings', 'item', 'cust', 'stars', 'pearson') WHERE item = 'A' AND neighbor = 'B') s),
	ARRAY[round(38 / 54.0, 12), round(-2.25 / sqrt(2.75 * 4.75)::numeric, 12)],
	'oracle check: brute-force cosine(A,B) = 38/54 and pearson(A,B) = -2.25/sqrt(2.75*4.75), as by hand');
SELECT is((SELECT count(*) FROM bf_sim('ratings', 'item', 'cust', 'stars', 'pearson') WHERE item IN ('E', 'F') AND neighbor IN ('E', 'F')),
	0::bigint, 'oracle check: the zero-denominator Pearson pair (E, F) is absent from the brute force');

-- item_neighbors, all pairs (top_k 100)
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', 'cosine', top_k => 100)$$,
	$$SELECT * FROM bf_sim('ratings', 'item', 'cust', 'stars', 'cosine')$$), 0::bigint,
	'item cosine on ratings: every pair with a common customer, score and common as in SQL');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', 'pearson', top_k => 100)$$,
	$$SELECT * FROM bf_sim('ratings', 'item', 'cust', 'stars', 'pearson')$$), 0::bigint,
	'item pearson (item means over all customers, sums over common customers): as in SQL, (E,F) left out');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', 'adjusted_cosine', top_k => 100)$$,
	$$SELECT * FROM bf_sim('ratings', 'item', 'cust', 'stars', 'adjusted_cosine')$$), 0::bigint,
	'item adjusted_cosine (centred by customer means): as in SQL');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', 'cosine', top_k => 100, shrinkage => 2.5)$$,
	$$SELECT * FROM bf_sim('ratings', 'item', 'cust', 'stars', 'cosine', 2.5)$$), 0::bigint,
	'item cosine with shrinkage 2.5: score = cosine * common / (common + 2.5)');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', 'pearson', top_k => 100, min_common => 2)$$,
	$$SELECT * FROM bf_sim('ratings', 'item', 'cust', 'stars', 'pearson', 0, 2)$$), 0::bigint,
	'item pearson with min_common 2: pairs with one common customer left out');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', 'adjusted_cosine', top_k => 2, min_common => 2, shrinkage => 1)$$,
	$$SELECT * FROM bf_top('ratings', 'item', 'cust', 'stars', 'adjusted_cosine', 1, 2, 2)$$), 0::bigint,
	'item adjusted_cosine, top_k 2, min_common 2, shrinkage 1: the two best shrunk scores per item');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', 'cosine', top_k => 1)$$,
	$$SELECT * FROM bf_top('ratings', 'item', 'cust', 'stars', 'cosine', 0, 1, 1)$$), 0::bigint,
	'item cosine, top_k 1: the best neighbour of each item');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars')$$,
	$$SELECT * FROM bf_top('ratings', 'item', 'cust', 'stars', 'cosine', 0, 1, 20)$$), 0::bigint,
	'defaults: cosine, top_k 20, min_common 1, no shrinkage');

-- customer_neighbors: the same with customers and items swapped
-- (adjusted_cosine then centres by the item mean).
SELECT is(nb_diff($$SELECT * FROM bundlerec.customer_neighbors('ratings', 'cust', 'item', 'stars', 'cosine', top_k => 100)$$,
	$$SELECT * FROM bf_sim('ratings', 'cust', 'item', 'stars', 'cosine')$$), 0::bigint,
	'customer cosine on ratings: every pair with a common item, as in SQL');
SELECT is(nb_diff($$SELECT * FROM bundlerec.customer_neighbors('ratings', 'cust', 'item', 'stars', 'pearson', top_k => 100)$$,
	$$SELECT * FROM bf_sim('ratings', 'cust', 'item', 'stars', 'pearson')$$), 0::bigint,
	'customer pearson (customer means over all their items): as in SQL');
SELECT is(nb_diff($$SELECT * FROM bundlerec.customer_neighbors('ratings', 'cust', 'item', 'stars', 'adjusted_cosine', top_k => 100)$$,
	$$SELECT * FROM bf_sim('ratings', 'cust', 'item', 'stars', 'adjusted_cosine')$$), 0::bigint,
	'customer adjusted_cosine (centred by item means): as in SQL');
SELECT is(nb_diff($$SELECT * FROM bundlerec.customer_neighbors('ratings', 'cust', 'item', 'stars', 'pearson', top_k => 2, shrinkage => 3, min_common => 2)$$,
	$$SELECT * FROM bf_top('ratings', 'cust', 'item', 'stars', 'pearson', 3, 2, 2)$$), 0::bigint,
	'customer pearson, top_k 2, shrinkage 3, min_common 2: as in SQL');
SELECT is(nb_diff($$SELECT * FROM bundlerec.customer_neighbors('ratings', 'cust', 'item', top_k => 100)$$,
	$$SELECT * FROM bf_sim('ratings', 'cust', 'item', NULL, 'cosine')$$), 0::bigint,
	'customer binary cosine (rating NULL): as in SQL');

------------------------------------------------------------------------------
-- Binary: a generated 80 x 20 fixture with repeated lines
------------------------------------------------------------------------------
SELECT setseed(0.19);
CREATE TABLE buys AS
	SELECT 'c' || lpad(u::text, 2, '0') AS cust, 'p' || lpad(i::text, 2, '0') AS item
	FROM (SELECT u, i, random() AS r FROM generate_series(1, 80) u CROSS JOIN generate_series(1, 20) i ORDER BY u, i) s
	WHERE r < 0.1 + 0.02 * (i % 7);
INSERT INTO buys SELECT * FROM buys WHERE cust < 'c10';
-- cosine = count_ab / sqrt(count_a * count_b) over distinct (customer, item)
CREATE TABLE bin_cos AS
	WITH l AS (SELECT DISTINCT cust, item FROM buys),
	     n AS (SELECT item, count(*) AS cnt FROM l GROUP BY item)
	SELECT a.item, b.item AS neighbor, count(*)::float8 / sqrt((min(na.cnt) * min(nb.cnt))::float8) AS score,
	       count(*) AS common
	FROM l a JOIN l b ON a.cust = b.cust AND a.item <> b.item
	JOIN n na ON na.item = a.item JOIN n nb ON nb.item = b.item
	GROUP BY a.item, b.item;
SELECT cmp_ok((SELECT count(*) FROM bin_cos), '>', 250::bigint, 'fixture: over 250 co-bought item pairs (ordered)');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('buys', 'cust', 'item', top_k => 100)$$,
	$$SELECT * FROM bin_cos$$), 0::bigint,
	'binary item cosine = count_ab / sqrt(count_a count_b) for every pair, repeated lines counted once');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('buys', 'cust', 'item', top_k => 4, min_common => 3)$$,
	$$SELECT item, neighbor, score, common FROM (
	    SELECT *, row_number() OVER (PARTITION BY item ORDER BY round(score::numeric, 12) DESC, neighbor COLLATE "C") AS rn
	    FROM bin_cos WHERE common >= 3) s WHERE rn <= 4$$), 0::bigint,
	'binary cosine, min_common 3, top_k 4: best 4 per item, equal scores in neighbour text order');
SELECT is(nb_diff($$SELECT * FROM bundlerec.item_neighbors('buys', 'cust', 'item', NULL, 'adjusted_cosine', top_k => 100)$$,
	$$SELECT * FROM bf_sim('buys', 'item', 'cust', NULL, 'adjusted_cosine')$$), 0::bigint,
	'binary adjusted_cosine: every deviation is 0, so every pair has a zero denominator and none is returned');
SELECT is((SELECT count(*) FROM bundlerec.item_neighbors('buys', 'cust', 'item', NULL, 'pearson')), 0::bigint,
	'binary pearson: item means are 1, every denominator is 0, no rows');
SELECT is(nb_diff($$SELECT * FROM bundlerec.customer_neighbors('buys', 'cust', 'item', top_k => 3, shrinkage => 2)$$,
	$$SELECT * FROM bf_top('buys', 'cust', 'item', NULL, 'cosine', 2, 1, 3)$$), 0::bigint,
	'binary customer cosine, shrinkage 2, top_k 3: as in SQL');

------------------------------------------------------------------------------
-- Errors of the collaborative neighbours
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', 'jaccardish')$$,
	'22023', NULL, 'an unknown measure is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', shrinkage => -1)$$,
	'22023', NULL, 'a negative shrinkage is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.item_neighbors('ratings', 'cust', 'item', 'stars', top_k => 0)$$,
	'22023', NULL, 'top_k 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.customer_neighbors('ratings', 'cust', 'item', 'rating')$$,
	'42703', NULL, 'a missing rating column is SQLSTATE 42703');

------------------------------------------------------------------------------
-- content_neighbors: TF-IDF over attribute values, price bands and name words
------------------------------------------------------------------------------
CREATE TABLE catalogue (sku text, category text, brand text, name text, price numeric);
INSERT INTO catalogue VALUES
	('p1', 'mugs', 'acme', 'Red ceramic mug', 3.50),
	('p2', 'mugs', 'zenith', 'Blue ceramic mug, 12oz', 4.00),
	('p3', 'plates', 'acme', 'Red dinner plate', 7.25),
	('p4', 'plates', 'zenith', 'Blue side plate & saucer', 9.00),
	('p5', 'lamps', 'acme', 'Red red desk lamp', 25.00),
	('p6', 'lamps', NULL, 'Desk lamp (LED) x 2', 30.00);
-- Tokens by hand: p5's name has "red" twice (tf 2); "x" and "2" are too short;
-- no token is in all six products, so every idf = ln(6/df) is positive.
-- Price bands with 3 bands: {p1, p2} {p3, p4} {p5, p6}.

-- Expected similarity: tokens tagged by their source, tf-idf, L2 cosine.
CREATE FUNCTION bf_content(attrs boolean, words boolean, bands int)
RETURNS TABLE (item text, neighbor text, score float8, common bigint) LANGUAGE sql AS $$
	WITH tok AS (
		SELECT sku, 'category:' || category AS t, 1 AS tf FROM catalogue WHERE attrs AND category IS NOT NULL
		UNION ALL
		SELECT sku, 'brand:' || brand, 1 FROM catalogue WHERE attrs AND brand IS NOT NULL
		UNION ALL
		SELECT sku, 'word:' || m[1], count(*) FROM catalogue, regexp_matches(lower(name), '[a-z0-9]+', 'g') m
		WHERE words AND length(m[1]) >= 2 GROUP BY sku, m[1]
		UNION ALL
		SELECT sku, 'band:' || ntile(bands) OVER (ORDER BY price), 1 FROM catalogue WHERE bands IS NOT NULL
	),
	n AS (SELECT count(*)::float8 AS n FROM catalogue),
	df AS (SELECT t, count(*) AS df FROM tok GROUP BY t),
	w AS (SELECT tok.sku, tok.t, tok.tf * ln(n.n / df.df) AS w FROM tok JOIN df USING (t), n),
	nrm AS (SELECT sku, sqrt(sum(w * w)) AS nrm FROM w GROUP BY sku)
	SELECT a.sku, b.sku, sum(a.w * b.w) / (min(na.nrm) * min(nb.nrm)), count(*)
	FROM w a JOIN w b ON a.t = b.t AND a.sku <> b.sku
	JOIN nrm na ON na.sku = a.sku JOIN nrm nb ON nb.sku = b.sku
	GROUP BY a.sku, b.sku
$$;

-- Content scores are compared to 1e-7 (absolute, scores are at most 1):
-- bundlerec's agree with the float8 SQL to about 3e-9 only, as from single
-- precision weights, where the collaborative ones agree to 1e-15.

-- Hand check of the oracle, attributes only: p1 {mugs, acme}, p3 {plates, acme}:
-- idf mugs = plates = ln 3, acme = ln 2; cos = ln2^2 / (ln3^2 + ln2^2).
SELECT ok(close_to((SELECT score FROM bf_content(true, false, NULL) WHERE item = 'p1' AND neighbor = 'p3'),
	ln(2) ^ 2 / (ln(3) ^ 2 + ln(2) ^ 2), 1e-12, 1),
	'oracle check: attribute cosine(p1, p3) = ln2^2 / (ln3^2 + ln2^2)');
SELECT is(nb_diff($$SELECT * FROM bundlerec.content_neighbors('catalogue', 'sku', ARRAY['category', 'brand'])$$,
	$$SELECT * FROM bf_content(true, false, NULL)$$, 1e-7), 0::bigint,
	'attributes only: TF-IDF cosine and shared tokens of every pair sharing a value (NULL brand gives no token)');
SELECT is(nb_diff($$SELECT * FROM bundlerec.content_neighbors('catalogue', 'sku', name => 'name')$$,
	$$SELECT * FROM bf_content(false, true, NULL)$$, 1e-7), 0::bigint,
	'name only: lower-cased alphanumeric words of 2+ characters, tf counts repeats');
SELECT is(nb_diff($$SELECT * FROM bundlerec.content_neighbors('catalogue', 'sku', ARRAY['category', 'brand'], 'name', 'price', 3)$$,
	$$SELECT * FROM bf_content(true, true, 3)$$, 1e-7), 0::bigint,
	'attributes, name and 3 price bands together: TF-IDF cosine as in SQL');
SELECT is(nb_diff($$SELECT * FROM bundlerec.content_neighbors('catalogue', 'sku', ARRAY['category', 'brand'], 'name', 'price', 3, top_k => 2)$$,
	$$SELECT item, neighbor, score, common FROM (
	    SELECT *, row_number() OVER (PARTITION BY item ORDER BY round(score::numeric, 12) DESC, neighbor COLLATE "C") AS rn
	    FROM bf_content(true, true, 3)) s WHERE rn <= 2$$, 1e-7), 0::bigint,
	'top_k 2: the two most similar products of each');
SELECT is(nb_diff($$SELECT * FROM bundlerec.content_neighbors('catalogue', 'sku', '{}', NULL, 'price', 3)$$,
	$$SELECT * FROM bf_content(false, false, 3)$$, 1e-7), 0::bigint,
	'price bands only: products in the same band have cosine 1, one shared token');

------------------------------------------------------------------------------
-- recommend_from_neighbors on a hand-made neighbour table
------------------------------------------------------------------------------
CREATE TABLE nbr (item text, neighbor text, score float8, common bigint);
INSERT INTO nbr VALUES
	('A', 'B', 0.5, 1), ('A', 'C', 0.25, 1), ('A', 'D', -0.1, 1),
	('B', 'A', 0.4, 1), ('B', 'C', 0.3, 1), ('B', 'E', 0.2, 1),
	('C', 'E', 0.9, 1), ('C', 'A', 0.6, 1),
	('D', 'A', 0.7, 1), ('E', 'F', 0.05, 1);

-- History {A, B}, no ratings: rows A-C .25, A-D -.1, B-C .3, B-E .2:
--   C: .55, predicted .55/.55 = 1, because {A, B};  E: .2, 1, {B};  D: -.1, -1, {A}
SELECT results_eq(
	$$SELECT item, round(score::numeric, 12), round(predicted::numeric, 12),
	         (SELECT array_agg(b ORDER BY b) FROM unnest(because) b)
	  FROM bundlerec.recommend_from_neighbors(ARRAY['A', 'B'], 'nbr')$$,
	$$VALUES ('C', 0.55, 1.0, ARRAY['A', 'B']), ('E', 0.2, 1.0, ARRAY['B']), ('D', -0.1, -1.0, ARRAY['A'])$$,
	'history {A, B}: scores .55, .2, -.1, predicted 1, 1, -1, best first, with the contributing history items');
-- History {A, C} rated 5 and 2: rows A-B .5, A-D -.1, C-E .9:
--   B: 5(.5) = 2.5, predicted 2.5/.5 = 5;  E: 2(.9) = 1.8, 1.8/.9 = 2;  D: 5(-.1) = -.5, -.5/.1 = -5
SELECT results_eq(
	$$SELECT item, round(score::numeric, 12), round(predicted::numeric, 12)
	  FROM bundlerec.recommend_from_neighbors(ARRAY['A', 'C'], 'nbr', ratings => ARRAY[5, 2]::float8[])$$,
	$$VALUES ('B', 2.5, 5.0), ('E', 1.8, 2.0), ('D', -0.5, -5.0)$$,
	'history {A, C} rated 5 and 2: rating-weighted scores and predictions 5, 2, -5');
SELECT results_eq(
	$$SELECT item FROM bundlerec.recommend_from_neighbors(ARRAY['A', 'B'], 'nbr', k => 1)$$,
	$$VALUES ('C')$$,
	'k 1: only the best');

-- Against SQL on a computed neighbour table: customers' histories from the
-- ratings fixture, neighbours from item_neighbors (the table is input; the
-- expectation is computed from its rows in SQL).
CREATE TABLE nbr_items AS
	SELECT * FROM bundlerec.item_neighbors('buys', 'cust', 'item', top_k => 5);
-- Every candidate of a history: summed scores, the prediction, and the
-- contributing history items by decreasing contribution (ties by item), cut
-- to the 3 that contribute most (the README: "the three history items that
-- contribute most").
CREATE FUNCTION bf_rec(hist text[])
RETURNS TABLE (item text, score float8, predicted float8, because text[]) LANGUAGE sql AS $$
	SELECT n.neighbor, sum(n.score), sum(n.score) / sum(abs(n.score)),
	       (array_agg(n.item ORDER BY n.score DESC, n.item COLLATE "C"))[1:3]
	FROM nbr_items n WHERE n.item = ANY (hist) AND NOT (n.neighbor = ANY (hist))
	GROUP BY n.neighbor
$$;
CREATE TABLE rec_check AS
	SELECT h.cust, r.ord, r.item, r.score, r.predicted, r.because,
	       b.score AS want_score, b.predicted AS want_predicted, b.because AS want_because,
	       (SELECT s.score FROM bf_rec(h.hist) s ORDER BY s.score DESC OFFSET r.ord - 1 LIMIT 1) AS want_rank_score
	FROM (SELECT cust, array_agg(DISTINCT item) AS hist FROM buys GROUP BY cust) h
	CROSS JOIN LATERAL bundlerec.recommend_from_neighbors(h.hist, 'nbr_items', 5)
		WITH ORDINALITY r(item, score, predicted, because, ord)
	LEFT JOIN LATERAL bf_rec(h.hist) b ON b.item = r.item;
-- Equal sums (ties) may come in either order, so each returned item is
-- checked against its own SQL sum, and the i-th score against the i-th best.
SELECT is(
	(SELECT count(*) FROM rec_check
	 WHERE NOT close_to(score, want_score, 1e-10, 1) OR NOT close_to(predicted, want_predicted, 1e-10, 1)
	    OR NOT close_to(score, want_rank_score, 1e-10, 1)),
	0::bigint,
	'every customer of the binary fixture: each of the top 5 is a candidate with the SQL sum and prediction, the i-th score is the i-th best');
SELECT is(
	(SELECT count(*) FROM (SELECT cust, count(*) AS n FROM rec_check GROUP BY cust) c
	 WHERE n <> least(5, (SELECT count(*) FROM bf_rec((SELECT array_agg(DISTINCT item) FROM buys b WHERE b.cust = c.cust))))),
	0::bigint, 'every customer gets min(5, candidates) rows');
SELECT is((SELECT count(*) FROM rec_check WHERE because IS DISTINCT FROM want_because), 0::bigint,
	'because lists the contributing history items by decreasing contribution, at most 3');
SELECT cmp_ok((SELECT count(DISTINCT cust) FROM buys), '>=', 75::bigint, 'fixture: at least 75 histories compared');

SELECT * FROM finish();
ROLLBACK;
