-- models_lifecycle.sql: what happens to a model when its source changes
-- under it, when the data holds odd values, and across DROP EXTENSION.
--   1. The source dropped (42P01, naming the model), renamed (the model
--      follows it), a column changed to a type bundlerec cannot use (42804
--      at refresh, as at create_model).
--   2. An infinite order time is no time: never the watermark, and later
--      incremental refreshes stay incremental and equal a full refresh;
--      so do new orders at the watermark's very time.
--   3. NaN, infinite, zero and negative prices never reach items.price.
--   4. max_basket_items: orders above the cap are left out of pairs (not
--      of item counts), checked against brute-force SQL, also after an
--      incremental refresh in which an order grows past the cap.
--   5. DROP EXTENSION, CREATE EXTENSION, create_model of the same name.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
BEGIN;
SELECT plan(24);

CREATE TABLE lc_lines (basket text, item text, customer text, ordered_at timestamptz, price numeric);

-- a model's pair counts: _pair_counts plus the changes not yet folded in
CREATE FUNCTION lc_pair_counts(sch text) RETURNS TABLE (item_a text, item_b text, count bigint)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format('SELECT item_a, item_b, sum(count)::bigint FROM (SELECT * FROM %1$I._pair_counts '
	                            'UNION ALL SELECT * FROM %1$I._pair_delta) x GROUP BY 1, 2 HAVING sum(count) <> 0', sch);
END $$;

-- pairs of the orders with at most cap distinct items, by brute force
CREATE FUNCTION lc_bf_pairs(cap integer)
RETURNS TABLE (item_a text, item_b text, count bigint) LANGUAGE sql STABLE AS $$
	WITH bi AS (SELECT DISTINCT basket, item FROM lc_lines WHERE basket IS NOT NULL AND item IS NOT NULL),
	ok AS (SELECT basket FROM bi GROUP BY basket HAVING cap = 0 OR count(*) <= cap)
	SELECT a.item, b.item, count(*) FROM bi a JOIN bi b ON b.basket = a.basket AND a.item < b.item COLLATE "C"
	WHERE a.basket IN (SELECT basket FROM ok)
	GROUP BY a.item, b.item
$$;

------------------------------------------------------------------------------
-- 1. the source changes under the model
------------------------------------------------------------------------------
CREATE TABLE lc_src (basket text, item text);
INSERT INTO lc_src VALUES ('b1', 'A'), ('b1', 'B'), ('b2', 'A'), ('b2', 'B');
SELECT bundlerec.create_model('lc_src', 'lc_src', 'basket', 'item',
	options => '{"rules": false, "bundles": false}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('lc_src') \gset
ALTER TABLE lc_src RENAME TO lc_src_renamed;
SELECT lives_ok($$SELECT * FROM bundlerec.refresh('lc_src')$$,
	'a renamed source: the model follows the table and refreshes');
ALTER TABLE lc_src_renamed ALTER COLUMN item TYPE point USING point(length(item), 0);
SELECT throws_ok($$SELECT * FROM bundlerec.refresh('lc_src')$$, '42804',
	'model "lc_src": column "item" (item) of public.lc_src_renamed has type point, which bundlerec cannot use as a key',
	'a column changed to point: refresh checks the types again (42804)');
DROP TABLE lc_src_renamed;
SELECT throws_matching($$SELECT * FROM bundlerec.refresh('lc_src')$$,
	'^model "lc_src": the source relation of the model \(oid [0-9]+\) no longer exists$',
	'a dropped source: the error names the model and the missing relation');
SELECT throws_ok($$SELECT * FROM bundlerec.refresh('lc_src')$$, '42P01', NULL,
	'a dropped source: SQLSTATE 42P01');
SELECT ok(EXISTS (SELECT 1 FROM bundlerec_lc_src.pairs),
	'a dropped source: the published results are kept');

------------------------------------------------------------------------------
-- 2. infinite order times
------------------------------------------------------------------------------
INSERT INTO lc_lines VALUES
	('o1', 'A', 'c1', '2024-01-01 10:00', 2), ('o1', 'B', 'c1', '2024-01-01 10:00', 3),
	('o2', 'A', 'c2', '2024-01-02 10:00', 2), ('o2', 'C', 'c2', '2024-01-02 10:00', 1),
	('o3', 'B', 'c1', 'infinity', 3), ('o3', 'C', 'c1', 'infinity', 1),
	('o4', 'A', 'c3', '-infinity', 2), ('o4', 'B', 'c3', '-infinity', 3);
SELECT bundlerec.create_model('lc_inf', 'lc_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', price => 'price',
	options => '{"rules": false, "bundles": false, "embeddings": false}') IS NOT NULL AS created \gset
SELECT bundlerec.create_model('lc_inf_full', 'lc_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', price => 'price',
	options => '{"rules": false, "bundles": false, "embeddings": false}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('lc_inf') \gset
SELECT is((SELECT watermark FROM bundlerec.models WHERE name = 'lc_inf'), '2024-01-02 10:00'::timestamptz,
	'the watermark is the latest finite order time');
SELECT is((SELECT orders FROM bundlerec_lc_inf.items WHERE item = 'B'), 3::bigint,
	'orders at infinite times are counted (as undated orders)');
INSERT INTO lc_lines VALUES ('o5', 'B', 'c2', '2024-01-03 10:00', 3), ('o5', 'C', 'c2', '2024-01-03 10:00', 1);
SELECT count(*) AS n FROM bundlerec.refresh('lc_inf', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('lc_inf_full') \gset
SELECT is((SELECT last_refresh_kind FROM bundlerec.models WHERE name = 'lc_inf'), 'incremental',
	'with infinite order times in the source, an incremental refresh stays incremental');
SELECT bag_eq($$SELECT * FROM lc_pair_counts('bundlerec_lc_inf')$$, $$SELECT * FROM lc_pair_counts('bundlerec_lc_inf_full')$$,
	'infinite order times: incremental pair counts equal a full refresh');
SELECT bag_eq('SELECT * FROM bundlerec_lc_inf.items', 'SELECT * FROM bundlerec_lc_inf_full.items',
	'infinite order times: incremental items equal a full refresh');

-- orders with the watermark's very time: new ones stay incremental, a
-- changed one means a full refresh
INSERT INTO lc_lines VALUES ('o6', 'A', 'c4', '2024-01-03 10:00', 2), ('o6', 'C', 'c4', '2024-01-03 10:00', 1);
SELECT count(*) AS n FROM bundlerec.refresh('lc_inf', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('lc_inf_full') \gset
SELECT is((SELECT last_refresh_kind || ' ' || watermark FROM bundlerec.models WHERE name = 'lc_inf'),
	'incremental ' || '2024-01-03 10:00'::timestamptz,
	'a new order at the watermark''s very time: the refresh stays incremental');
SELECT bag_eq($$SELECT * FROM lc_pair_counts('bundlerec_lc_inf')$$, $$SELECT * FROM lc_pair_counts('bundlerec_lc_inf_full')$$,
	'a new order at the watermark''s time: pair counts equal a full refresh');
INSERT INTO lc_lines VALUES ('o6', 'B', 'c4', '2024-01-03 10:00', 3);
SELECT count(*) AS n FROM bundlerec.refresh('lc_inf', incremental => true) \gset
SELECT is((SELECT last_refresh_kind FROM bundlerec.models WHERE name = 'lc_inf'), 'full',
	'a line added to an order already counted at the watermark''s time: a full refresh');

------------------------------------------------------------------------------
-- 3. prices
------------------------------------------------------------------------------
CREATE TABLE lc_priced (basket text, item text, ordered_at timestamptz, price numeric);
INSERT INTO lc_priced VALUES
	('p1', 'A', '2024-01-01', 'NaN'), ('p1', 'B', '2024-01-01', 4),
	('p2', 'A', '2024-01-02', 2), ('p2', 'B', '2024-01-02', -1),
	('p3', 'A', '2024-01-03', 'Infinity'), ('p3', 'C', '2024-01-03', 0),
	('p4', 'C', '2024-01-04', '-Infinity'), ('p4', 'B', '2024-01-04', 6);
SELECT bundlerec.create_model('lc_price', 'lc_priced', 'basket', 'item', ordered_at => 'ordered_at', price => 'price',
	options => '{"rules": false, "bundles": false}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('lc_price') \gset
SELECT results_eq('SELECT item, price FROM bundlerec_lc_price.items ORDER BY item',
	$$VALUES ('A', 2.0000::numeric), ('B', 5.0000), ('C', NULL)$$,
	'items.price: the mean of the positive finite prices only (A 2, B (4 + 6) / 2, C none)');
SELECT results_eq('SELECT item, revenue FROM bundlerec_lc_price.items ORDER BY item',
	$$VALUES ('A', 2::numeric), ('B', 9), ('C', 0)$$,
	'revenue counts finite prices, zero and negative ones included (B 4 - 1 + 6), and no NaN or infinity');

------------------------------------------------------------------------------
-- 4. max_basket_items
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT bundlerec.create_model('lc_bad', 'lc_lines', 'basket', 'item', options => '{"max_basket_items": -1}')$$,
	'22023', NULL, 'max_basket_items below 0: 22023');
DELETE FROM lc_lines;
INSERT INTO lc_lines VALUES
	('w1', 'A', 'c1', '2024-02-01', 1), ('w1', 'B', 'c1', '2024-02-01', 1), ('w1', 'C', 'c1', '2024-02-01', 1),
	('w2', 'A', 'c2', '2024-02-02', 1), ('w2', 'B', 'c2', '2024-02-02', 1), ('w2', 'C', 'c2', '2024-02-02', 1),
	('w2', 'D', 'c2', '2024-02-02', 1),
	('w3', 'A', 'c3', '2024-02-03', 1), ('w3', 'B', 'c3', '2024-02-03', 1);
SELECT bundlerec.create_model('lc_cap', 'lc_lines', 'basket', 'item', customer => 'customer', ordered_at => 'ordered_at',
	options => '{"max_basket_items": 3, "min_count": 1, "rules": false, "bundles": false, "embeddings": false}') IS NOT NULL AS created \gset
SELECT bundlerec.create_model('lc_cap_full', 'lc_lines', 'basket', 'item', customer => 'customer', ordered_at => 'ordered_at',
	options => '{"max_basket_items": 3, "min_count": 1, "rules": false, "bundles": false, "embeddings": false}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('lc_cap') \gset
SELECT bag_eq($$SELECT * FROM lc_pair_counts('bundlerec_lc_cap')$$, 'SELECT * FROM lc_bf_pairs(3)',
	'max_basket_items 3: pair counts leave out the 4-item order (brute force)');
SELECT results_eq($q$SELECT item_a, item_b, count FROM lc_pair_counts('bundlerec_lc_cap') ORDER BY 1, 2$q$,
	$$VALUES ('A', 'B', 2::bigint), ('A', 'C', 1), ('B', 'C', 1)$$,
	'max_basket_items 3 by hand: w1 and w3 counted, w2 not');
SELECT is((SELECT orders FROM bundlerec_lc_cap.items WHERE item = 'D'), 1::bigint,
	'max_basket_items: item counts still count the capped order');
-- w1 grows past the cap, w4 is new
INSERT INTO lc_lines VALUES ('w1', 'D', 'c1', '2024-02-05', 1), ('w4', 'C', 'c4', '2024-02-06', 1),
	('w4', 'D', 'c4', '2024-02-06', 1);
SELECT count(*) AS n FROM bundlerec.refresh('lc_cap', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('lc_cap_full') \gset
SELECT is((SELECT last_refresh_kind FROM bundlerec.models WHERE name = 'lc_cap'), 'incremental', 'the capped model refreshed incrementally');
SELECT bag_eq($$SELECT * FROM lc_pair_counts('bundlerec_lc_cap')$$, 'SELECT * FROM lc_bf_pairs(3)',
	'max_basket_items: after an order grew past the cap, incremental pair counts equal the brute force');
SELECT bag_eq('SELECT * FROM bundlerec_lc_cap.pairs', 'SELECT * FROM bundlerec_lc_cap_full.pairs',
	'max_basket_items: incremental pairs equal a full refresh');

------------------------------------------------------------------------------
-- 5. DROP EXTENSION leaves the results schemas; a new model of the same
-- name replaces its orphaned schema (last: the file's ROLLBACK undoes it)
------------------------------------------------------------------------------
SELECT bundlerec.drop_model('lc_src');
DROP EXTENSION bundlerec CASCADE;
CREATE EXTENSION bundlerec;
SELECT lives_ok($$SELECT bundlerec.create_model('lc_inf', 'lc_lines', 'basket', 'item',
	options => '{"rules": false, "bundles": false}')$$,
	'after DROP EXTENSION and CREATE EXTENSION, create_model of the same name works');
SELECT count(*) AS n FROM bundlerec.refresh('lc_inf') \gset
SELECT results_eq('SELECT item_a, item_b, count FROM bundlerec_lc_inf._pair_counts ORDER BY 1, 2',
	'SELECT * FROM lc_bf_pairs(0) ORDER BY 1, 2',
	'the re-created model refreshes into its schema');

SELECT * FROM finish();
ROLLBACK;
