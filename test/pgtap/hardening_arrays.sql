-- hardening_arrays.sql: every array argument gets the same check: NULL
-- elements are 22004, more than one dimension is 2202E, and NaN or infinite
-- weights, ratings and factor values are 22023.  beta_sample() draws in
-- [0, 1] even for tiny parameters.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(49);

CREATE SCHEMA tap_hardening_arrays;
SET LOCAL search_path = tap_hardening_arrays, public;
SET LOCAL jit = off;

-- 12 orders of 8 customers over 6 products
CREATE TABLE lines (basket int, customer text, item text, price numeric, qty int);
INSERT INTO lines
SELECT o, 'c' || (o % 8), 'p' || i, 10 + i, 1 + (o + i) % 3
FROM generate_series(1, 12) o, generate_series(1, 6) i
WHERE (o + i) % 3 <> 0 OR i = 1;
CREATE TABLE products (item text, color text);
INSERT INTO products SELECT 'p' || i, CASE WHEN i % 2 = 0 THEN 'red' ELSE 'blue' END FROM generate_series(1, 6) i;
CREATE TABLE bundles (bundle text, item text);
INSERT INTO bundles VALUES ('b1', 'p1'), ('b1', 'p2'), ('b2', 'p3'), ('b2', 'p4');
CREATE TABLE customer_bundles (customer text, bundle text);
INSERT INTO customer_bundles SELECT 'c' || c, 'b' || (1 + c % 2) FROM generate_series(0, 7) c;
CREATE TABLE als_log AS
	SELECT * FROM bundlerec.als_train('lines', 'customer', 'item', 'cf', 'itf', factors => 2, iterations => 2);
CREATE TABLE ease_nb AS SELECT * FROM bundlerec.ease('lines', 'customer', 'item');
CREATE TABLE rules AS SELECT * FROM bundlerec.association_rules('lines', 'basket', 'item', 0.1, 0.1);

-- als_fold_in
SELECT throws_ok($$SELECT bundlerec.als_fold_in(ARRAY['p1', NULL], 'itf')$$,
	'22004', 'items must not contain NULL elements', 'als_fold_in: a NULL item is 22004');
SELECT throws_ok($$SELECT bundlerec.als_fold_in(ARRAY[['p1', 'p2'], ['p3', 'p4']], 'itf')$$,
	'2202E', 'items must be a one-dimensional array', 'als_fold_in: two-dimensional items are 2202E');
SELECT throws_ok($$SELECT bundlerec.als_fold_in(ARRAY['p1', 'p2'], 'itf', weights => ARRAY[1, NULL]::float8[])$$,
	'22004', 'weights must not contain NULL elements', 'als_fold_in: a NULL weight is 22004');
SELECT throws_ok($$SELECT bundlerec.als_fold_in(ARRAY['p1', 'p2'], 'itf', weights => ARRAY[1, 'NaN']::float8[])$$,
	'22023', 'weights must not contain NaN or infinite values', 'als_fold_in: a NaN weight is 22023');
SELECT throws_ok($$SELECT bundlerec.als_fold_in(ARRAY['p1', 'p2'], 'itf', weights => ARRAY['Infinity', 1]::float8[])$$,
	'22023', NULL, 'als_fold_in: an infinite weight is 22023');
SELECT throws_ok($$SELECT bundlerec.als_fold_in(ARRAY['p1', 'p2'], 'itf', weights => ARRAY[[1, 2]]::float8[])$$,
	'2202E', NULL, 'als_fold_in: two-dimensional weights are 2202E');
SELECT is(array_length(bundlerec.als_fold_in(ARRAY['p1', 'p2'], 'itf', weights => ARRAY[1, 2]::float8[]), 1), 2,
	'als_fold_in: valid items and weights still give a vector of 2 factors');

-- als_recommend
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend(ARRAY[0.5, 0.5]::real[], 'itf', exclude => ARRAY['p1', NULL])$$,
	'22004', 'exclude must not contain NULL elements', 'als_recommend: a NULL in exclude is 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend(ARRAY[0.5, 0.5]::real[], 'itf', exclude => ARRAY[['p1'], ['p2']])$$,
	'2202E', NULL, 'als_recommend: a two-dimensional exclude is 2202E');
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend(ARRAY[0.5, 'NaN']::real[], 'itf')$$,
	'22023', 'customer_vector must not contain NaN or infinite values', 'als_recommend: a NaN factor is 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend(ARRAY[[0.5, 0.5]]::real[], 'itf')$$,
	'2202E', NULL, 'als_recommend: a two-dimensional vector is 2202E');
SELECT is((SELECT count(*) FROM bundlerec.als_recommend(ARRAY[0.5, 0.5]::real[], 'itf', exclude => ARRAY['p1'])), 5::bigint,
	'als_recommend: a valid exclude leaves the other 5 items');

-- factors_dot
SELECT throws_ok($$SELECT bundlerec.factors_dot(ARRAY[1, 'NaN']::real[], ARRAY[1, 2]::real[])$$,
	'22023', 'first vector must not contain NaN or infinite values', 'factors_dot: a NaN is 22023');
SELECT throws_ok($$SELECT bundlerec.factors_dot(ARRAY[1, 2]::real[], ARRAY['-Infinity', 2]::real[])$$,
	'22023', NULL, 'factors_dot: an infinite value is 22023');
SELECT throws_ok($$SELECT bundlerec.factors_dot(ARRAY[1, NULL]::real[], ARRAY[1, 2]::real[])$$,
	'22004', NULL, 'factors_dot: a NULL element is 22004');
SELECT throws_ok($$SELECT bundlerec.factors_dot(ARRAY[[1, 2]]::real[], ARRAY[[1, 2]]::real[])$$,
	'2202E', NULL, 'factors_dot: two-dimensional vectors are 2202E');
SELECT is(bundlerec.factors_dot(ARRAY[1, 2]::real[], ARRAY[3, 4]::real[]), 11::float8,
	'factors_dot: 1*3 + 2*4 = 11');

-- bundle_score
SELECT throws_ok($$SELECT bundlerec.bundle_score('lines', 'basket', 'item', ARRAY[['p1', 'p2']])$$,
	'2202E', 'items must be a one-dimensional array', 'bundle_score: two-dimensional items are 2202E');
SELECT throws_ok($$SELECT bundlerec.bundle_score('lines', 'basket', 'item', ARRAY['p1', 'p2'], anchor => ARRAY['p1', NULL])$$,
	'22004', NULL, 'bundle_score: a NULL in the anchor is 22004');
SELECT throws_ok($$SELECT bundlerec.bundle_score('lines', 'basket', 'item', ARRAY['p1', 'p2'], history => ARRAY[NULL, 'p3'])$$,
	'22004', 'history must not contain NULL elements', 'bundle_score: a NULL in the history is 22004');
SELECT throws_ok($$SELECT bundlerec.bundle_score('lines', 'basket', 'item', ARRAY['p1', 'p2'], history => ARRAY[NULL, 'p3'],
	customer_vector => ARRAY[0.5, 0.5]::real[], item_factors => 'itf')$$,
	'22004', NULL, 'bundle_score: a NULL in the history is 22004 beside a customer vector too');
SELECT throws_ok($$SELECT bundlerec.bundle_score('lines', 'basket', 'item', ARRAY['p1', 'p2'],
	customer_vector => ARRAY['NaN', 0.5]::real[], item_factors => 'itf')$$,
	'22023', NULL, 'bundle_score: a NaN in the customer vector is 22023');
SELECT throws_ok($$SELECT bundlerec.bundle_score('lines', 'basket', 'item', ARRAY['p1', 'p2'],
	customer_vector => ARRAY[[0.5, 0.5]]::real[], item_factors => 'itf')$$,
	'2202E', NULL, 'bundle_score: a two-dimensional customer vector is 2202E');

-- generate_bundles
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('lines', 'basket', 'item', ARRAY[['p1']])$$,
	'2202E', 'anchor must be a one-dimensional array', 'generate_bundles: a two-dimensional anchor is 2202E');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('lines', 'basket', 'item', ARRAY['p1'], exclude => ARRAY['p2', NULL])$$,
	'22004', 'exclude must not contain NULL elements', 'generate_bundles: a NULL in exclude is 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('lines', 'basket', 'item', ARRAY['p1'], available => ARRAY[NULL::text])$$,
	'22004', NULL, 'generate_bundles: a NULL in available is 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('lines', 'basket', 'item', ARRAY['p1'], history => ARRAY[['p2']])$$,
	'2202E', NULL, 'generate_bundles: a two-dimensional history is 2202E');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('lines', 'basket', 'item', ARRAY['p1'],
	customer_vector => ARRAY[0.5, 'Infinity']::real[], item_factors => 'itf')$$,
	'22023', NULL, 'generate_bundles: an infinite customer vector value is 22023');

-- content_neighbors, ease
SELECT throws_ok($$SELECT * FROM bundlerec.content_neighbors('products', 'item', ARRAY['color', NULL])$$,
	'22004', 'attributes must not contain NULL elements', 'content_neighbors: a NULL attribute is 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.content_neighbors('products', 'item', ARRAY[['color']])$$,
	'2202E', NULL, 'content_neighbors: two-dimensional attributes are 2202E');
SELECT throws_ok($$SELECT * FROM bundlerec.ease('lines', 'customer', 'item', neighbors => ARRAY['p1', NULL])$$,
	'22004', 'neighbors must not contain NULL elements', 'ease: a NULL in neighbors is 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.ease('lines', 'customer', 'item', neighbors => ARRAY[['p1']])$$,
	'2202E', NULL, 'ease: two-dimensional neighbors are 2202E');

-- recommend_from_neighbors, rank_bundles, complete_cart_rules (SQL-language)
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_from_neighbors(ARRAY['p1', 'p2'], 'ease_nb', ratings => ARRAY[1, 'NaN']::float8[])$$,
	'22023', 'ratings must not contain NaN or infinite values', 'recommend_from_neighbors: a NaN rating is 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_from_neighbors(ARRAY['p1', 'p2'], 'ease_nb', ratings => ARRAY[1, '-Infinity']::float8[])$$,
	'22023', NULL, 'recommend_from_neighbors: an infinite rating is 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_from_neighbors(ARRAY['p1', 'p2'], 'ease_nb', ratings => ARRAY[1, NULL]::float8[])$$,
	'22004', NULL, 'recommend_from_neighbors: a NULL rating is 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_from_neighbors(ARRAY['p1', NULL], 'ease_nb')$$,
	'22004', 'history must not contain NULL elements', 'recommend_from_neighbors: a NULL history item is 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_from_neighbors(ARRAY[['p1'], ['p2']], 'ease_nb')$$,
	'2202E', NULL, 'recommend_from_neighbors: a two-dimensional history is 2202E');
SELECT is((SELECT count(*) FILTER (WHERE score = 'NaN' OR predicted = 'NaN') FROM
	bundlerec.recommend_from_neighbors(ARRAY['p1', 'p2'], 'ease_nb', ratings => ARRAY[1, 2]::float8[])), 0::bigint,
	'recommend_from_neighbors: finite ratings give no NaN score');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bundles', 'customer_bundles', customers => ARRAY['c1', NULL], min_item_count => 1)$$,
	'22004', 'customers must not contain NULL elements', 'rank_bundles: a NULL customer is 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.complete_cart_rules(ARRAY[['p1']], 'rules')$$,
	'2202E', 'cart must be a one-dimensional array', 'complete_cart_rules: a two-dimensional cart is 2202E');
SELECT throws_ok($$SELECT * FROM bundlerec.complete_cart_rules(ARRAY['p1', NULL], 'rules')$$,
	'22004', NULL, 'complete_cart_rules: a NULL in the cart is 22004');

-- the SQL-callable check itself
SELECT lives_ok($$SELECT bundlerec.check_array(ARRAY[1.5, 2]::float8[], 'x'), bundlerec.check_array('{}'::text[], 'y')$$,
	'check_array: a flat array of finite numbers and an empty array pass');

------------------------------------------------------------------------------
-- beta_sample
------------------------------------------------------------------------------
-- Beta(a, b) with a, b tending to 0 puts mass a / (a + b) at 1 and the rest
-- at 0; Beta(2, 3) has mean 2/5; Beta(1/2, 1/2) is the arcsine law, with
-- P(X < 0.1) = 2/pi asin(sqrt(0.1)) = 0.2048.  Bounds are > 5 standard
-- errors wide.
CREATE TABLE draws AS
SELECT a, b, bundlerec.beta_sample(a, b) AS x
FROM (VALUES (1e-300::float8, 1e-300::float8), (1e-320, 1e-320), (1e-300, 1), (2, 3), (0.5, 0.5)) p(a, b),
	generate_series(1, 4000);
SELECT is((SELECT count(*) FROM draws WHERE x IS NULL OR x = 'NaN' OR x < 0 OR x > 1), 0::bigint,
	'beta_sample: every draw is a number in [0, 1], tiny parameters included');
SELECT ok((SELECT avg(x) BETWEEN 0.45 AND 0.55 FROM draws WHERE a = 1e-300 AND b = 1e-300),
	'beta_sample(1e-300, 1e-300): draws average 1/2');
SELECT ok((SELECT avg(x) BETWEEN 0.45 AND 0.55 FROM draws WHERE a = 1e-320 AND b = 1e-320),
	'beta_sample(1e-320, 1e-320): draws average 1/2');
SELECT ok((SELECT max(x) < 1e-6 FROM draws WHERE a = 1e-300 AND b = 1),
	'beta_sample(1e-300, 1): every draw is about 0');
SELECT ok((SELECT avg(x) BETWEEN 0.38 AND 0.42 FROM draws WHERE a = 2 AND b = 3),
	'beta_sample(2, 3): draws average 2/5');
SELECT ok((SELECT avg((x < 0.1)::int) BETWEEN 0.17 AND 0.24 FROM draws WHERE a = 0.5 AND b = 0.5),
	'beta_sample(1/2, 1/2): about 20.5% of draws are below 0.1');
SELECT throws_ok($$SELECT bundlerec.beta_sample(0, 1)$$, '22023', NULL, 'beta_sample(0, 1) is 22023');

SELECT * FROM finish();
ROLLBACK;
