-- models_tune.sql: tune() on a generated shop (30 customers, 15 items, 60
-- days of orders).
--   1. the validation slice: its start is the time that leaves the latest
--      10% of the orders (by first line) after it, by SQL; the case counts.
--   2. every value tried scores what evaluate() gives a model with that
--      option on the same split (complete the cart hit rate, next-period
--      NDCG); options searched one at a time, each later one with the
--      earlier ones at their best; the choice is the best score (a tie: the
--      value tried first).
--   3. refresh_history records the grid and the choice; apply => false
--      changes nothing; apply => true sets the options and leaves the live
--      results as they were.
--   4. orders after the watermark are never used.
--   5. bad input; the 150-line rule.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(21);

CREATE SCHEMA tap_models_tune;
SET LOCAL search_path = tap_models_tune, public;
SET LOCAL jit = off;

CREATE FUNCTION state_of(q text)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	RETURN SQLSTATE;
END
$$;

-- customer c orders on about a third of the days; each of its orders holds
-- each item of its group (three of the 15) with odds 0.6 and any other
-- with odds 0.08
CREATE TABLE tn_lines (basket text, item text, customer text, ordered_at timestamptz);
INSERT INTO tn_lines
SELECT format('o%s_%s', c, d), format('i%s', lpad(j::text, 2, '0')), format('c%s', lpad(c::text, 2, '0')),
       timestamptz '2024-01-01 10:00+00' + (d - 1) * interval '1 day' + c * interval '1 minute'
FROM generate_series(1, 30) c, generate_series(1, 60) d, generate_series(1, 15) j
WHERE abs(hashtext(format('day %s %s', c, d))) % 3 = 0
  AND abs(hashtext(format('item %s %s %s', c, d, j))) % 100
      < CASE WHEN (j - 1) / 3 = c % 5 THEN 60 ELSE 8 END;

SELECT lives_ok($$SELECT bundlerec.create_model('tn', 'tap_models_tune.tn_lines', 'basket', 'item',
	customer => 'customer', ordered_at => 'ordered_at',
	options => '{"factors": 4, "iterations": 3, "bundles": false, "ease": false, "min_count": 2}')$$, 'a model with small embeddings');

------------------------------------------------------------------------------
-- 1. the validation slice
------------------------------------------------------------------------------
CREATE TEMP TABLE tried AS
SELECT * FROM bundlerec.tune('tn', 0.1, '{"repeat_weight": [0, 4], "cart_pairs_weight": [0, 1, 2]}', k => 3);
CREATE TEMP TABLE hist AS
SELECT * FROM bundlerec.refresh_history WHERE model = 'tn' AND kind = 'tune';
CREATE TEMP TABLE split AS
SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY at) AS valid_from
FROM (SELECT min(ordered_at) AS at FROM tn_lines GROUP BY basket) b;

SELECT is((SELECT (metrics ->> 'validation_from')::timestamptz FROM hist), (SELECT valid_from FROM split),
	'the validation slice starts where the latest 10% of the orders start');
SELECT ok((SELECT count(DISTINCT basket) FROM tn_lines WHERE ordered_at >= (SELECT valid_from FROM split))::numeric
          / (SELECT count(DISTINCT basket) FROM tn_lines) BETWEEN 0.09 AND 0.12, 'about a tenth of the orders');
SELECT is((SELECT (metrics #>> '{protocol,complete_the_cart,test_orders}')::bigint FROM hist),
	(SELECT count(DISTINCT basket) FROM tn_lines WHERE ordered_at >= (SELECT valid_from FROM split)),
	'its orders are the test orders of the protocol');

------------------------------------------------------------------------------
-- 2. every value's score is evaluate()'s on the same split
------------------------------------------------------------------------------
SELECT is((SELECT array_agg(option || '=' || value::text ORDER BY option DESC, value::text::numeric) FROM tried),
	'{repeat_weight=0,repeat_weight=4,cart_pairs_weight=0,cart_pairs_weight=1,cart_pairs_weight=2}'::text[],
	'each value of each option tried once, the option that needs a rebuild first');

-- a model per value: repeat_weight (searched first) from the stored options,
-- cart_pairs_weight with repeat_weight at its best
CREATE FUNCTION eval_with(opts jsonb, want_task text, want_metric text)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	s float8;
BEGIN
	PERFORM bundlerec.drop_model('tn_check', if_exists => true);
	PERFORM bundlerec.create_model('tn_check', 'tap_models_tune.tn_lines', 'basket', 'item',
		customer => 'customer', ordered_at => 'ordered_at',
		options => '{"factors": 4, "iterations": 3, "bundles": false, "ease": false, "min_count": 2}'::jsonb || opts);
	EXECUTE format('SELECT %I FROM bundlerec.evaluate(%L, %L, 3) WHERE task = %L AND method = %L',
	               want_metric, 'tn_check', (SELECT valid_from FROM split), want_task, 'model') INTO s;
	RETURN s;
END
$$;
SELECT is((SELECT count(*) FROM tried t
           WHERE t.option = 'repeat_weight'
             AND abs(t.score - eval_with(jsonb_build_object('repeat_weight', t.value), 'next period', 'ndcg')) < 1e-12),
	2::bigint, 'repeat_weight: each value''s next-period NDCG@10 is evaluate()''s');
SELECT is((SELECT count(*) FROM tried t
           WHERE t.option = 'cart_pairs_weight'
             AND abs(t.score - eval_with(jsonb_build_object('cart_pairs_weight', t.value,
                                         'repeat_weight', (SELECT value FROM tried WHERE option = 'repeat_weight' AND chosen)),
                                         'complete the cart', 'hit_rate')) < 1e-12),
	3::bigint, 'cart_pairs_weight: each value''s complete-the-cart hit rate is evaluate()''s, with repeat_weight at its best');
SELECT ok((SELECT bool_and(n > 1) FROM (SELECT count(DISTINCT score) AS n FROM tried GROUP BY option) x),
	'the values score differently (the check above can tell them apart)');
SELECT is((SELECT count(*) FROM tried t
           WHERE t.chosen IS DISTINCT FROM (t.value = (SELECT u.value FROM tried u WHERE u.option = t.option
                                                       ORDER BY u.score DESC, (SELECT o FROM jsonb_array_elements(
                                                           CASE u.option WHEN 'repeat_weight' THEN '[0, 4]'::jsonb ELSE '[0, 1, 2]' END)
                                                           WITH ORDINALITY a(v, o) WHERE a.v = u.value) LIMIT 1))),
	0::bigint, 'the chosen value is the best scoring one (the first tried on a tie), one per option');
SELECT is((SELECT count(*) FROM tried WHERE chosen), 2::bigint, 'one choice per option');

------------------------------------------------------------------------------
-- 3. the history; apply
------------------------------------------------------------------------------
SELECT is((SELECT jsonb_array_length(metrics -> 'grid') FROM hist), 5, 'refresh_history: every value tried');
SELECT is((SELECT metrics -> 'chosen' FROM hist),
	(SELECT jsonb_object_agg(option, value) FROM tried WHERE chosen), 'and the choice');
SELECT is((SELECT options ->> 'repeat_weight' FROM bundlerec.models WHERE name = 'tn'), '1',
	'apply => false leaves the options alone');

SELECT lives_ok($$SELECT bundlerec.refresh('tn')$$, 'a refresh');
CREATE TEMP TABLE live_before AS SELECT * FROM bundlerec_tn.recommendations;
CREATE TEMP TABLE tables_before AS SELECT tables FROM bundlerec.models WHERE name = 'tn';
-- later orders: after the watermark, never used
INSERT INTO tn_lines
SELECT 'late' || c, 'i01', 'c01', timestamptz '2024-06-01 10:00+00' FROM generate_series(1, 3) c;
CREATE TEMP TABLE tried2 AS
SELECT * FROM bundlerec.tune('tn', 0.1, '{"repeat_weight": [0.5, 4]}', apply => true, k => 3);
SELECT is((SELECT metrics FROM bundlerec.refresh_history WHERE model = 'tn' AND kind = 'tune' ORDER BY id DESC LIMIT 1)
          #>> '{protocol,complete_the_cart,test_orders}',
	(SELECT metrics #>> '{protocol,complete_the_cart,test_orders}' FROM hist),
	'orders after the watermark are not validation orders');
SELECT is((SELECT (options -> 'repeat_weight') FROM bundlerec.models WHERE name = 'tn'),
	(SELECT value FROM tried2 WHERE chosen), 'apply => true sets the chosen value');
SELECT is((SELECT count(*) FROM (SELECT * FROM live_before EXCEPT SELECT * FROM bundlerec_tn.recommendations) d)
          + (SELECT count(*) FROM (SELECT * FROM bundlerec_tn.recommendations EXCEPT SELECT * FROM live_before) d)
          + (SELECT count(*) FROM bundlerec.models m, tables_before b WHERE m.name = 'tn' AND m.tables <> b.tables),
	0::bigint, 'and leaves the live results as they were');

------------------------------------------------------------------------------
-- 5. bad input; the 150-line rule
------------------------------------------------------------------------------
SELECT is(ARRAY[
	state_of($$SELECT * FROM bundlerec.tune('tn', grid => '[1]')$$),
	state_of($$SELECT * FROM bundlerec.tune('tn', grid => '{"min_count": [1, 2]}')$$),
	state_of($$SELECT * FROM bundlerec.tune('tn', grid => '{"repeat_weight": []}')$$),
	state_of($$SELECT * FROM bundlerec.tune('tn', grid => '{"repeat_weight": [-1]}')$$),
	state_of($$SELECT * FROM bundlerec.tune('tn', 0)$$),
	state_of($$SELECT * FROM bundlerec.tune('tn', 1)$$),
	state_of($$SELECT * FROM bundlerec.tune('tn', k => 0)$$),
	state_of($$SELECT * FROM bundlerec.tune('nope')$$)],
	'{22023,22023,22023,22023,22023,22023,22023,42704}'::text[],
	'grids that are not objects of value arrays, options tune cannot try, invalid values, shares outside (0, 1), k 0, no such model');
CREATE TABLE tn_undated (basket text, item text);
INSERT INTO tn_undated VALUES ('b1', 'x'), ('b1', 'y');
SELECT bundlerec.create_model('tn_undated', 'tap_models_tune.tn_undated', 'basket', 'item');
SELECT is(state_of($$SELECT * FROM bundlerec.tune('tn_undated')$$), '55000', 'a model without ordered_at');
CREATE TABLE tn_nocust AS SELECT basket, item, ordered_at FROM tn_lines;
SELECT bundlerec.create_model('tn_nocust', 'tap_models_tune.tn_nocust', 'basket', 'item', ordered_at => 'ordered_at');
SELECT is(state_of($$SELECT * FROM bundlerec.tune('tn_nocust', grid => '{"repeat_weight": [1, 2]}')$$), '22023',
	'a grid of next-period options for a model without customers: nothing to tune');
SELECT is(
	(SELECT string_agg(p.proname, ', ') FROM pg_proc p
	 WHERE p.pronamespace = 'bundlerec'::regnamespace AND (p.proname LIKE 'tune%' OR p.proname LIKE '\_tune\_%')
	   AND array_length(string_to_array(p.prosrc, E'\n'), 1) > 150),
	NULL, 'tune and its steps are each 150 lines or fewer');

SELECT * FROM finish();
ROLLBACK;
