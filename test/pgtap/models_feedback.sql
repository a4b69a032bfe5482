-- models_feedback.sql: what create_model and record_feedback refuse, and
-- how feedback stays bounded.
--   1. Options outside what the engines accept are refused by create_model
--      (and refresh checks them again): 22023 for each, 42804 for a
--      category column of an unusable type.
--   2. record_feedback: the model must be refreshed (55000), the items its
--      own (22023), at most bundle_max_size of them (22023), an array
--      without NULLs (22004) of one dimension (2202E).
--   3. feedback_max_bundles: a new bundle past the cap drops the least
--      recently updated ones; purge_feedback deletes by age.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
BEGIN;
SELECT plan(22);

CREATE TABLE fb_lines (basket text, item text, meta jsonb);
INSERT INTO fb_lines VALUES ('b1', 'A', '{}'), ('b1', 'B', '{}'), ('b2', 'A', '{}'), ('b2', 'B', '{}'),
	('b2', 'C', '{}'), ('b3', 'C', '{}'), ('b3', 'D', '{}'), ('b4', 'C', '{}'), ('b4', 'D', '{}');

------------------------------------------------------------------------------
-- 1. options
------------------------------------------------------------------------------
CREATE FUNCTION fb_opt(o jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM bundlerec.create_model('fb_bad', 'fb_lines', 'basket', 'item', options => o);
	PERFORM bundlerec.drop_model('fb_bad');
	RETURN 'accepted';
EXCEPTION WHEN others THEN
	RETURN SQLSTATE;
END $$;
SELECT is(fb_opt('{"factors": 100000}'), '22023', 'factors 100000 (above 1024): 22023');
SELECT is(fb_opt('{"factors": 1024}'), 'accepted', 'factors 1024: accepted');
SELECT is(fb_opt('{"pairs_per_item": 2147483648}'), '22023', 'pairs_per_item 2^31: 22023');
SELECT is(fb_opt('{"rules_max_size": 1000}'), '22023', 'rules_max_size 1000 (above 64): 22023');
SELECT is(fb_opt('{"bundle_max_size": 1000}'), '22023', 'bundle_max_size 1000 (above 100): 22023');
SELECT is(fb_opt('{"iterations": 1e9}'), '22023', 'iterations 1e9: 22023');
SELECT is(fb_opt('{"beam": 2.5}'), '22023', 'beam 2.5 (not whole): 22023');
SELECT is(fb_opt('{"price_window": "-90 days"}'), '22023', 'price_window -90 days: 22023');
SELECT is(fb_opt('{"schema": 5}'), '22023', 'schema 5 (not a string): 22023');
SELECT is(fb_opt('{"schema": "pg_results"}'), '22023', 'schema pg_results: 22023');
SELECT throws_ok($$SELECT bundlerec.create_model('fb_bad', 'fb_lines', 'basket', 'item', category => 'meta')$$,
	'42804', NULL, 'a jsonb category column: 42804');

------------------------------------------------------------------------------
-- 2. record_feedback
------------------------------------------------------------------------------
SELECT bundlerec.create_model('fb', 'fb_lines', 'basket', 'item',
	options => '{"min_count": 1, "rules": false, "bundle_max_size": 3, "feedback_max_bundles": 2}') IS NOT NULL AS created \gset
SELECT throws_ok($$SELECT bundlerec.record_feedback('fb', ARRAY['A', 'B'])$$, '55000', NULL,
	'feedback on a model never refreshed: 55000');
SELECT count(*) AS n FROM bundlerec.refresh('fb') \gset
SELECT throws_ok($$SELECT bundlerec.record_feedback('fb', ARRAY['A', 'Z'])$$, '22023',
	'model "fb" does not know 1 of the items {A,Z}', 'feedback naming an item the model does not know: 22023');
SELECT throws_ok($$SELECT bundlerec.record_feedback('fb', ARRAY['A', 'B', 'C', 'D'])$$, '22023', NULL,
	'feedback on 4 items when bundle_max_size is 3: 22023');
SELECT throws_ok($$SELECT bundlerec.record_feedback('fb', ARRAY['A', NULL])$$, '22004', NULL,
	'a NULL item: 22004');
SELECT throws_ok($$SELECT bundlerec.record_feedback('fb', ARRAY[['A', 'B'], ['C', 'D']])$$, '2202E', NULL,
	'a two-dimensional array: 2202E');
SELECT is((SELECT count(*) FROM bundlerec.feedback WHERE model = 'fb'), 0::bigint, 'nothing recorded by the refused calls');

------------------------------------------------------------------------------
-- 3. the cap and purge
------------------------------------------------------------------------------
SELECT (bundlerec.record_feedback('fb', ARRAY['B', 'A'], 5, 1)).impressions AS x \gset
UPDATE bundlerec.feedback SET updated_at = now() - interval '10 days' WHERE model = 'fb' AND items = '{A,B}';
SELECT (bundlerec.record_feedback('fb', ARRAY['C', 'D'], 3, 0)).impressions AS x \gset
UPDATE bundlerec.feedback SET updated_at = now() - interval '5 days' WHERE model = 'fb' AND items = '{C,D}';
SELECT (bundlerec.record_feedback('fb', ARRAY['C', 'D'], 1, 1)).impressions AS x \gset
SELECT is(ARRAY(SELECT impressions || ':' || array_to_string(items, '') FROM bundlerec.feedback WHERE model = 'fb' ORDER BY items),
	ARRAY['5:AB', '4:CD'], 'two bundles, the second updated again');
SELECT (bundlerec.record_feedback('fb', ARRAY['A', 'C'], 2, 0)).impressions AS x \gset
SELECT is(ARRAY(SELECT array_to_string(items, '') FROM bundlerec.feedback WHERE model = 'fb' ORDER BY items),
	ARRAY['AC', 'CD'], 'a third bundle past feedback_max_bundles 2 drops the least recently updated one (A B)');
UPDATE bundlerec.feedback SET updated_at = now() - interval '40 days' WHERE model = 'fb' AND items = '{C,D}';
SELECT is(bundlerec.purge_feedback('fb', interval '30 days'), 1::bigint, 'purge_feedback 30 days deletes the bundle last updated 40 days ago');
SELECT is(ARRAY(SELECT array_to_string(items, '') FROM bundlerec.feedback WHERE model = 'fb'), ARRAY['AC'],
	'the recent feedback is kept');
SELECT throws_ok($$SELECT bundlerec.purge_feedback('fb', interval '-1 day')$$, '22023', NULL,
	'purge_feedback with a negative interval: 22023');

SELECT * FROM finish();
ROLLBACK;
