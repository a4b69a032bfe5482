-- serving_keys.sql: keys of the source's own type.  A model on integer items
-- and bigint customers, and one on uuid items and numeric customers, served
-- with keys of those types, give the rows the same keys give as text (the
-- form the results store); text literals and NULLs still pick the text
-- functions.  complete_cart takes text[] only: an anyarray overload would
-- make an array literal ambiguous, so other carts are cast with ::text[].
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(13);

CREATE SCHEMA tap_serving_keys;
SET LOCAL search_path = tap_serving_keys, public;

-- 300 orders of 4 lines over items 10..39 and customers 12340..12359
CREATE TABLE lines_int (basket integer, item integer, customer bigint, ordered_at timestamptz);
INSERT INTO lines_int
SELECT b, 10 + (b * 7 + j * j * 3) % 30, 12340 + b % 20, timestamptz '2024-01-01' + b * interval '1 hour'
FROM generate_series(1, 300) b, generate_series(1, 4) j;
-- the same shape with uuid items and numeric customers
CREATE TABLE lines_uuid (basket integer, item uuid, customer numeric, ordered_at timestamptz);
INSERT INTO lines_uuid
SELECT l.basket, ('00000000-0000-0000-0000-0000000000' || l.item)::uuid, l.customer + 0.5, l.ordered_at
FROM lines_int l;

SELECT bundlerec.create_model('tsk_int', 'tap_serving_keys.lines_int', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', options => '{"factors": 4, "iterations": 2}') IS NOT NULL AS created \gset
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('tsk_int') \gset
SELECT bundlerec.create_model('tsk_uuid', 'tap_serving_keys.lines_uuid', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', options => '{"factors": 4, "iterations": 2}') IS NOT NULL AS created \gset
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('tsk_uuid') \gset

SELECT ok((SELECT count(*) FROM bundlerec_tsk_int.pairs WHERE item = '12') >= 3, 'item 12 has partners');
SELECT results_eq($$SELECT * FROM bundlerec.frequently_bought_together('tsk_int', 12, 5)$$,
                  $$SELECT * FROM bundlerec.frequently_bought_together('tsk_int', '12', 5)$$,
	'frequently_bought_together: integer item = its text');
SELECT is((SELECT array_agg(partner ORDER BY rank) FROM bundlerec.frequently_bought_together('tsk_int', 12, 3)),
          (SELECT array_agg(partner ORDER BY rank) FROM (SELECT partner, rank FROM bundlerec_tsk_int.pairs WHERE item = '12' ORDER BY rank LIMIT 3) p),
	'frequently_bought_together: integer item gives the stored partners');
SELECT results_eq($$SELECT * FROM bundlerec.similar_items('tsk_int', 12::smallint, 5)$$,
                  $$SELECT * FROM bundlerec.similar_items('tsk_int', '12', 5)$$,
	'similar_items: smallint item');
SELECT results_eq($$SELECT * FROM bundlerec.bundles_for_item('tsk_int', 12::bigint, 3)$$,
                  $$SELECT * FROM bundlerec.bundles_for_item('tsk_int', '12', 3)$$,
	'bundles_for_item: bigint item');
SELECT results_eq($$SELECT * FROM bundlerec.bundles_for_customer('tsk_int', 12345, 5)$$,
                  $$SELECT * FROM bundlerec.bundles_for_customer('tsk_int', '12345', 5)$$,
	'bundles_for_customer(''shop'', 12345, 5): integer customer');
SELECT is((SELECT count(*) FROM bundlerec.bundles_for_customer('tsk_int', 12345, 5) WHERE source = 'customer'), 5::bigint,
	'and it is the known customer''s own bundles');
SELECT results_eq($$SELECT * FROM bundlerec.recommend_items('tsk_int', 12345::bigint, 5)$$,
                  $$SELECT * FROM bundlerec.recommend_items('tsk_int', '12345', 5)$$,
	'recommend_items: bigint customer');
SELECT results_eq($$SELECT * FROM bundlerec.complete_cart('tsk_int', '{12,13}', 5)$$,
                  $$SELECT * FROM bundlerec.complete_cart('tsk_int', ARRAY['12', '13'], 5)$$,
	'complete_cart: an array literal is a text[]');
SELECT results_eq($$SELECT * FROM bundlerec.frequently_bought_together('tsk_uuid', '00000000-0000-0000-0000-000000000012'::uuid, 5)$$,
                  $$SELECT * FROM bundlerec.frequently_bought_together('tsk_uuid', '00000000-0000-0000-0000-000000000012', 5)$$,
	'frequently_bought_together: uuid item');
SELECT ok((SELECT count(*) FROM bundlerec.frequently_bought_together('tsk_uuid', '00000000-0000-0000-0000-000000000012'::uuid, 5) WHERE source = 'pairs') >= 3,
	'and the uuid item is known');
SELECT results_eq($$SELECT * FROM bundlerec.recommend_items('tsk_uuid', 12345.5, 5)$$,
                  $$SELECT * FROM bundlerec.recommend_items('tsk_uuid', '12345.5', 5)$$,
	'recommend_items: numeric customer');
SELECT throws_ok($$SELECT * FROM bundlerec.frequently_bought_together('tsk_int', NULL)$$, '22004', NULL,
	'a NULL item is still an error, not an ambiguous call');

SELECT * FROM finish();
ROLLBACK;
