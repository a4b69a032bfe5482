-- als_scoring.sql: als_recommend_all and als_similar_items (the ALS
-- candidates of the recommendations stage, and the nearest items) against
-- brute force in SQL.  Factors are multiples of 1/4 (customers) or of
-- 1/2 scaled by 1, 2 or 4 (items, so that every item vector's length is a
-- power of two), so every dot product and cosine is exact in any order of
-- summation and ties are everywhere: the k best must be the same items in
-- the same order, ties going to the item first in "C" order.  600 items
-- take the bounded path of the top k, 300 items and k above 128 the plain
-- one; 300 customers make two scoring blocks.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
BEGIN;
SELECT plan(8);

SELECT setseed(0.77);
CREATE TEMP TABLE as_items AS
SELECT CASE WHEN i % 3 = 0 THEN 'I' ELSE 'i' END || lpad(i::text, 3, '0') AS item,
       ARRAY(SELECT (s * (CASE WHEN random() < 0.5 THEN -0.5 ELSE 0.5 END))::real
             FROM generate_series(1, 4 + 0 * i)) AS factors
FROM generate_series(1, 600) i, LATERAL (SELECT power(2, floor(random() * 3 + 0 * i))::real AS s) x;
CREATE TEMP TABLE as_customers AS
SELECT 'c' || lpad(c::text, 3, '0') AS customer,
       ARRAY(SELECT ((floor(random() * 9) - 4) / 4)::real FROM generate_series(1, 4 + 0 * c)) AS factors
FROM generate_series(1, 300) c;
CREATE TEMP TABLE as_items_300 AS SELECT * FROM as_items WHERE item < 'i300' OR item LIKE 'I%' AND item < 'I300';

-- the k items of largest x . y per customer
CREATE FUNCTION as_top(items regclass, k int) RETURNS TABLE (customer text, rank int, item text, score real)
LANGUAGE plpgsql AS $f$
BEGIN
	RETURN QUERY EXECUTE format($q$
		SELECT customer, rank::int, item, score::real FROM (
			SELECT c.customer, i.item, s.score,
			       row_number() OVER (PARTITION BY c.customer ORDER BY s.score DESC, i.item COLLATE "C") AS rank
			FROM as_customers c CROSS JOIN %s i
			CROSS JOIN LATERAL (SELECT sum(a::float8 * b::float8) AS score FROM unnest(c.factors, i.factors) u(a, b)) s) x
		WHERE rank <= %s$q$, items, k);
END
$f$;

-- the k items of largest cosine per item, the item itself left out
CREATE FUNCTION as_near(items regclass, k int) RETURNS TABLE (item text, rank int, neighbor text, similarity real)
LANGUAGE plpgsql AS $f$
BEGIN
	RETURN QUERY EXECUTE format($q$
		WITH n AS (SELECT item, factors, sqrt((SELECT sum(a::float8 * a::float8) FROM unnest(factors) a)) AS norm FROM %s)
		SELECT item, rank::int, neighbor, similarity::real FROM (
			SELECT a.item, b.item AS neighbor, s.cos AS similarity,
			       row_number() OVER (PARTITION BY a.item ORDER BY s.cos DESC, b.item COLLATE "C") AS rank
			FROM n a JOIN n b ON b.item <> a.item
			CROSS JOIN LATERAL (SELECT sum(x::float8 * y::float8) / (a.norm * b.norm) AS cos
			                    FROM unnest(a.factors, b.factors) u(x, y)) s) x
		WHERE rank <= %s$q$, items, k);
END
$f$;

CREATE TEMP TABLE as_top41 AS SELECT * FROM as_top('as_items', 41);
SELECT ok((SELECT count(*) FROM as_top41 a JOIN as_top41 b
           ON b.customer = a.customer AND a.rank = 40 AND b.rank = 41 AND b.score = a.score) > 100,
	'most customers have ties across the 40th place');
SELECT results_eq(
	$$SELECT customer, rank, item, score FROM bundlerec.als_recommend_all('as_customers', 'as_items', 40) ORDER BY customer, rank$$,
	$$SELECT * FROM as_top('as_items', 40) ORDER BY customer, rank$$,
	'als_recommend_all, 600 items, k 40 = brute force');
SELECT results_eq(
	$$SELECT customer, rank, item, score FROM bundlerec.als_recommend_all('as_customers', 'as_items', 1) ORDER BY customer, rank$$,
	$$SELECT * FROM as_top('as_items', 1) ORDER BY customer, rank$$,
	'als_recommend_all, 600 items, k 1 = brute force');
SELECT results_eq(
	$$SELECT customer, rank, item, score FROM bundlerec.als_recommend_all('as_customers', 'as_items', 200) ORDER BY customer, rank$$,
	$$SELECT * FROM as_top('as_items', 200) ORDER BY customer, rank$$,
	'als_recommend_all, 600 items, k 200 = brute force');
SELECT results_eq(
	$$SELECT customer, rank, item, score FROM bundlerec.als_recommend_all('as_customers', 'as_items_300', 40) ORDER BY customer, rank$$,
	$$SELECT * FROM as_top('as_items_300', 40) ORDER BY customer, rank$$,
	'als_recommend_all, 300 items, k 40 = brute force');
SELECT results_eq(
	$$SELECT item, rank, neighbor, similarity FROM bundlerec.als_similar_items('as_items', 30) ORDER BY item, rank$$,
	$$SELECT * FROM as_near('as_items', 30) ORDER BY item, rank$$,
	'als_similar_items, 600 items, k 30 = brute force (the item itself left out)');
SELECT results_eq(
	$$SELECT item, rank, neighbor, similarity FROM bundlerec.als_similar_items('as_items', 150) ORDER BY item, rank$$,
	$$SELECT * FROM as_near('as_items', 150) ORDER BY item, rank$$,
	'als_similar_items, 600 items, k 150 = brute force');
SELECT results_eq(
	$$SELECT item, rank, neighbor, similarity FROM bundlerec.als_similar_items('as_items_300', 20) ORDER BY item, rank$$,
	$$SELECT * FROM as_near('as_items_300', 20) ORDER BY item, rank$$,
	'als_similar_items, 300 items, k 20 = brute force');

SELECT * FROM finish();
ROLLBACK;
