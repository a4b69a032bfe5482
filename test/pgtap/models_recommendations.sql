-- models_recommendations.sql: the recommendations stage (C, one pass over
-- the customers, bundlerec._recommendations) against the SQL it replaces,
-- kept here as the oracle (rec_reference):
--   candidates: the customer's items UNION their `candidates` best ALS
--   items (bundlerec.als_recommend_all); repeat part: orders of the item /
--   orders of the customer; model part: greatest(0, least(1, factors_dot));
--   score: repeat_weight * repeat part + model_weight * coalesce(model part,
--   0); kept above 0, ranked by score, then the item in "C" order; the k
--   best kept, and the k best of the items not bought (rank_new, their
--   rank among those; NULL for bought items).
-- One deliberate difference: a candidate whose customer or item has no
-- vector has no model part (NULL) in C, where the SQL's least(1, NULL) made
-- it 1.  A refresh never meets one (ALS trains on customer_items, so every
-- customer and item there has a vector): its published rows equal the SQL
-- as written.
-- Rows are compared exactly: every float as its shortest exact text, in
-- rank order.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
BEGIN;
SELECT plan(19);

-- The stage as written in SQL, over tables ci (customer_items), cu
-- (customers), ce and ie (factors; NULL without embeddings); only: the
-- customers to compute (NULL: all).  missing_is_null: the one difference
-- above; false is the SQL as written.
CREATE FUNCTION rec_reference(ci regclass, cu regclass, ce regclass, ie regclass, rw float8,
	mw float8, k int, candidates int, only_customers regclass DEFAULT NULL, missing_is_null boolean DEFAULT true)
RETURNS TABLE (customer text, rank integer, item text, score float8, repeat_part float8,
	model_part float8, bought bigint, customer_orders bigint, rank_new integer)
LANGUAGE plpgsql AS $f$
DECLARE
	has_embeddings boolean := ce IS NOT NULL;
	als_ce text := ce::text;
BEGIN
	IF has_embeddings AND only_customers IS NOT NULL THEN
		DROP TABLE IF EXISTS pg_temp._ref_touched_factors;
		EXECUTE format('CREATE TEMP TABLE _ref_touched_factors AS SELECT e.* FROM %s e '
		               'WHERE e.customer = ANY (SELECT tc.customer FROM %s tc)', ce, only_customers);
		als_ce := 'pg_temp._ref_touched_factors';
	END IF;
	RETURN QUERY EXECUTE format($q$
		WITH cand AS (
			SELECT customer, item FROM %1$s x
			%2$s),
		s AS (
			SELECT c.customer, c.item, coalesce(ci.orders, 0) AS bought, cu.orders AS customer_orders,
			       coalesce(ci.orders, 0)::float8 / cu.orders AS repeat_part,
			       %3$s AS model_part
			FROM cand c
			JOIN %4$s cu ON cu.customer = c.customer
			LEFT JOIN %5$s ci ON ci.customer = c.customer AND ci.item = c.item
			%6$s),
		r AS (
			SELECT s.*, %7$s * s.repeat_part + %8$s * coalesce(s.model_part, 0) AS score
			FROM s)
		SELECT r.customer, r.rank::integer AS rank, r.item, r.score, r.repeat_part, r.model_part,
		       r.bought, r.customer_orders, CASE WHEN r.bought = 0 THEN r.rank_new::integer END
		FROM (SELECT r.*, row_number() OVER (PARTITION BY r.customer ORDER BY r.score DESC, r.item COLLATE "C") AS rank,
		             row_number() OVER (PARTITION BY r.customer, r.bought = 0 ORDER BY r.score DESC, r.item COLLATE "C") AS rank_new
		      FROM r WHERE r.score > 0) r
		WHERE r.rank <= %9$s OR r.bought = 0 AND r.rank_new <= %9$s
		$q$,
		CASE WHEN only_customers IS NULL THEN ci::text
		     ELSE format('(SELECT x.* FROM %s x WHERE x.customer = ANY (SELECT tc.customer FROM %s tc))', ci, only_customers) END,
		CASE WHEN has_embeddings
		     THEN format('UNION SELECT a.customer, a.item FROM bundlerec.als_recommend_all(%L::regclass, %L::regclass, %s) a',
		                 als_ce, ie, candidates)
		     ELSE '' END,
		CASE WHEN NOT has_embeddings THEN 'NULL::float8'
		     WHEN missing_is_null
		     THEN 'CASE WHEN ce.factors IS NOT NULL AND ie.factors IS NOT NULL THEN greatest(0, least(1, bundlerec.factors_dot(ce.factors, ie.factors))) END'
		     ELSE 'greatest(0, least(1, bundlerec.factors_dot(ce.factors, ie.factors)))' END,
		cu, ci,
		CASE WHEN has_embeddings
		     THEN format('LEFT JOIN %s ce ON ce.customer = c.customer LEFT JOIN %s ie ON ie.item = c.item', ce, ie)
		     ELSE '' END,
		rw, mw, k);
END
$f$;

-- The rows of query q as exact text, in customer and rank order.
CREATE FUNCTION rec_rows(q text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
BEGIN
	RETURN QUERY EXECUTE format(
		'SELECT concat_ws(''|'', t.customer, t.rank, t.item, t.score::text, t.repeat_part::text, '
		'coalesce(t.model_part::text, ''NULL''), t.bought, t.customer_orders, coalesce(t.rank_new::text, ''NULL'')) '
		'FROM (%s) t ORDER BY t.customer COLLATE "C", t.rank', q);
END
$f$;

-- 1. A refreshed model (default options: 20 per customer, 40 ALS
-- candidates): the published table and the SQL as written.
SELECT setseed(0.23);
CREATE TABLE rc_lines AS
SELECT 'o' || o AS basket,
       CASE WHEN o % 3 = 0 THEN 'I' ELSE 'i' END
           || lpad((1 + floor(power(random(), 1.5) * 60))::int::text, 2, '0') AS item,
       'c' || (o % 149) AS customer,
       timestamptz '2024-03-01 00:00+00' + o * interval '41 minutes' AS ordered_at
FROM generate_series(1, 900) o, generate_series(1, 2 + o % 4) j;
SELECT bundlerec.create_model('rc', 'rc_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at',
	options => '{"iterations": 4, "factors": 8}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('rc') \gset

SELECT ok((SELECT count(*) FROM bundlerec_rc.recommendations WHERE rank <= 20) = 149 * 20
          AND EXISTS (SELECT FROM bundlerec_rc.recommendations WHERE bought = 0)
          AND EXISTS (SELECT FROM bundlerec_rc.recommendations WHERE model_part = 1),
	'every one of the 149 customers has 20 recommendations, new items and clipped model parts among them');
SELECT ok((SELECT count(*) FROM bundlerec_rc.recommendations WHERE rank > 20) > 0
          AND (SELECT count(*) FROM bundlerec_rc.recommendations WHERE rank > 20 AND (bought > 0 OR rank_new > 20)) = 0,
	'beyond the 20 best, only new items are kept, up to 20 of them per customer (so the comparisons below cover rank_new)');
SELECT results_eq(
	$$SELECT * FROM rec_rows('SELECT * FROM bundlerec_rc.recommendations')$$,
	$$SELECT * FROM rec_rows('SELECT * FROM rec_reference(''bundlerec_rc.customer_items'', ''bundlerec_rc.customers'',
	     ''bundlerec_rc.customer_embeddings'', ''bundlerec_rc.item_embeddings'', 1, 1, 20, 40, missing_is_null => false)')$$,
	'published recommendations = the SQL as written, row for row');
SELECT results_eq(
	$$SELECT * FROM rec_rows('SELECT * FROM bundlerec._recommendations(''bundlerec_rc.customer_items'', ''bundlerec_rc.customers'',
	     ''bundlerec_rc.customer_embeddings'', ''bundlerec_rc.item_embeddings'', 0.3, 2, 7, 3, NULL)')$$,
	$$SELECT * FROM rec_rows('SELECT * FROM rec_reference(''bundlerec_rc.customer_items'', ''bundlerec_rc.customers'',
	     ''bundlerec_rc.customer_embeddings'', ''bundlerec_rc.item_embeddings'', 0.3, 2, 7, 3)')$$,
	'_recommendations = the SQL with other weights, k 7 and 3 candidates');

-- 2. A fixture with ties everywhere: factors are multiples of 1/4, so dot
-- products are exact and often equal (and often above 1); 600 customers
-- with vectors, three blocks of ALS scoring; item keys whose "C" order is
-- not their dictionary order.
SELECT setseed(0.61);
CREATE TEMP TABLE rf_ie AS
SELECT CASE WHEN i % 3 = 0 THEN 'I' ELSE 'i' END || lpad(i::text, 2, '0') AS item,
       ARRAY(SELECT ((floor(random() * 9) - 4) / 4)::real FROM generate_series(1, 4 + 0 * i)) AS factors
FROM generate_series(1, 40) i;
-- two items with the vector of a third
INSERT INTO rf_ie SELECT v.item, e.factors FROM rf_ie e, (VALUES ('I41'), ('i42')) v(item) WHERE e.item = 'i01';
CREATE TEMP TABLE rf_ce AS
SELECT CASE WHEN c % 4 = 0 THEN 'C' ELSE 'c' END || lpad(c::text, 3, '0') AS customer,
       ARRAY(SELECT ((floor(random() * 9) - 4) / 4)::real FROM generate_series(1, 4 + 0 * c)) AS factors
FROM generate_series(1, 640) c;
CREATE TEMP TABLE rf_ci AS
SELECT DISTINCT ON (customer, item) customer, item, (1 + floor(random() * 5))::bigint AS orders
FROM (SELECT e.customer, CASE WHEN random() < 0.08 THEN 'zz' || (1 + floor(random() * 3))::int
                              ELSE (SELECT i.item FROM rf_ie i ORDER BY random() + 0 * length(e.customer) LIMIT 1) END AS item
      FROM rf_ce e, generate_series(1, 6) j
      WHERE j <= 1 + length(e.customer) % 2 + ascii(substr(e.customer, 4)) % 5) x;
CREATE TEMP TABLE rf_cu AS
SELECT customer, max(orders) + floor(random() * 4)::bigint AS orders FROM rf_ci GROUP BY customer;
-- customers without vectors (items only), with vectors but no items (ALS
-- only), with items but not in customers, without orders
DELETE FROM rf_ce WHERE right(customer, 1) = '7' AND customer < 'c300';
DELETE FROM rf_ci WHERE customer IN ('c005', 'c010', 'c333');
DELETE FROM rf_cu WHERE customer IN ('c005', 'c010', 'c333');
INSERT INTO rf_cu VALUES ('c005', 3), ('c010', 1), ('c333', 2), ('c999', 4);
INSERT INTO rf_ci VALUES ('ghost', 'i01', 2), ('c999', 'i02', 1);
UPDATE rf_cu SET orders = NULL WHERE customer = 'c011';
ANALYZE rf_ie, rf_ce, rf_ci, rf_cu;
CREATE TEMP TABLE rf_only AS SELECT customer FROM rf_cu WHERE customer LIKE '%3' OR customer IN ('c005', 'c017');

CREATE TEMP TABLE rf_expected AS SELECT * FROM rec_reference('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 1, 1, 10, 6);
SELECT ok((SELECT count(*) FROM rf_expected r JOIN rf_expected s
           ON s.customer = r.customer AND s.item <> r.item AND s.score = r.score) > 1000,
	'the fixture''s customers have many items of equal score');
SELECT results_eq(
	$$SELECT * FROM rec_rows('SELECT * FROM bundlerec._recommendations(''rf_ci'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 1, 1, 10, 6, NULL)')$$,
	$$SELECT * FROM rec_rows('SELECT * FROM rec_reference(''rf_ci'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 1, 1, 10, 6)')$$,
	'ties: = the SQL (k 10 above 6 candidates)');
SELECT results_eq(
	$$SELECT * FROM rec_rows('SELECT * FROM bundlerec._recommendations(''rf_ci'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 0.25, 1, 3, 2, NULL)')$$,
	$$SELECT * FROM rec_rows('SELECT * FROM rec_reference(''rf_ci'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 0.25, 1, 3, 2)')$$,
	'ties: = the SQL (k 3, 2 candidates, other weights)');
SELECT results_eq(
	$$SELECT * FROM rec_rows('SELECT * FROM bundlerec._recommendations(''rf_ci'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 0, 1, 50, 45, NULL)')$$,
	$$SELECT * FROM rec_rows('SELECT * FROM rec_reference(''rf_ci'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 0, 1, 50, 45)')$$,
	'ties: = the SQL (k 50 and 45 candidates above the 42 items, model only)');
SELECT results_eq(
	$$SELECT * FROM rec_rows('SELECT * FROM bundlerec._recommendations(''rf_ci'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 1, 1, 10, 6, ''rf_only'')')$$,
	$$SELECT * FROM rec_rows('SELECT * FROM rec_reference(''rf_ci'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 1, 1, 10, 6, ''rf_only'')')$$,
	'only_customers: = the SQL for those customers (ALS scored by blocks of them)');
SELECT results_eq(
	$$SELECT * FROM rec_rows('SELECT * FROM bundlerec._recommendations(''rf_ci'', ''rf_cu'', NULL, NULL, 1, 1, 10, 6, NULL)')$$,
	$$SELECT * FROM rec_rows('SELECT * FROM rec_reference(''rf_ci'', ''rf_cu'', NULL, NULL, 1, 1, 10, 6)')$$,
	'without factors: = the SQL (no ALS candidates, model part NULL)');
-- more items without vectors than the item table starts with (1,024)
CREATE TEMP TABLE rf_ci_wide AS
SELECT ci.* FROM rf_ci ci
UNION ALL
SELECT cu.customer, 'w' || lpad((3 * n + j)::text, 4, '0'), (1 + j)::bigint
FROM (SELECT customer, row_number() OVER (ORDER BY customer) AS n FROM rf_cu) cu, generate_series(0, 2) j;
SELECT results_eq(
	$$SELECT * FROM rec_rows('SELECT * FROM bundlerec._recommendations(''rf_ci_wide'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 1, 1, 10, 6, NULL)')$$,
	$$SELECT * FROM rec_rows('SELECT * FROM rec_reference(''rf_ci_wide'', ''rf_cu'', ''rf_ce'', ''rf_ie'', 1, 1, 10, 6)')$$,
	'1,900 more items without vectors: = the SQL');
SELECT results_eq(
	$$SELECT * FROM rec_rows('SELECT * FROM bundlerec._recommendations(''rf_ci_wide'', ''rf_cu'', NULL, NULL, 1, 1, 10, 6, NULL)')$$,
	$$SELECT * FROM rec_rows('SELECT * FROM rec_reference(''rf_ci_wide'', ''rf_cu'', NULL, NULL, 1, 1, 10, 6)')$$,
	'1,900 more items, no factors at all: = the SQL');

-- 3. The cases one by one.
SELECT is((SELECT count(*) FROM bundlerec._recommendations('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 1, 1, 10, 6, NULL)
           WHERE customer IN ('c005', 'c010', 'c333')),
	(SELECT count(*) FROM rf_expected WHERE customer IN ('c005', 'c010', 'c333') AND bought = 0 AND model_part > 0),
	'customers without items get their ALS candidates that score above 0');
SELECT is((SELECT array_agg(n ORDER BY customer) FROM (
	          SELECT customer, count(*) AS n FROM bundlerec._recommendations('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 0, 1, 10, 6, NULL)
	          WHERE customer IN ('c005', 'c010', 'c333') GROUP BY customer) x), ARRAY[6, 6, 6]::bigint[],
	'k above the candidates: a customer without items gets their 6 ALS candidates');
SELECT ok(EXISTS (SELECT FROM bundlerec._recommendations('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 1, 1, 10, 6, NULL)
                  WHERE customer = 'c017' AND model_part IS NULL)
          AND NOT EXISTS (SELECT FROM bundlerec._recommendations('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 1, 1, 10, 6, NULL)
                          WHERE customer = 'c017' AND (model_part IS NOT NULL OR bought = 0))
          AND EXISTS (SELECT FROM rec_reference('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 1, 1, 10, 6, missing_is_null => false)
                      WHERE customer = 'c017' AND model_part = 1),
	'a customer without a vector: their items, no model part (the SQL as written gave 1)');
SELECT ok(EXISTS (SELECT FROM bundlerec._recommendations('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 1, 1, 10, 6, NULL)
                  WHERE item LIKE 'zz%' AND model_part IS NULL)
          AND NOT EXISTS (SELECT FROM bundlerec._recommendations('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 1, 1, 10, 6, NULL)
                          WHERE customer IN ('ghost', 'c011')),
	'an item without a vector has no model part; customers not in customers, or without orders, get nothing');
SELECT throws_ok($$SELECT * FROM bundlerec._recommendations('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 1, 1, 0, 6, NULL)$$,
	'22023', 'k must be at least 1, not 0', 'k 0 is refused');
SELECT throws_ok($$SELECT * FROM bundlerec._recommendations('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', 1, 1, 5, 0, NULL)$$,
	'22023', 'candidates must be at least 1, not 0', 'candidates 0 is refused');
SELECT throws_ok($$SELECT * FROM bundlerec._recommendations('rf_ci', 'rf_cu', 'rf_ce', 'rf_ie', NULL, 1, 5, 5, NULL)$$,
	'22004', NULL, 'a NULL weight is refused');

SELECT * FROM finish();
ROLLBACK;
