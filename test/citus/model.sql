-- model.sql: a model over order lines distributed by order on a Citus
-- cluster (a coordinator and two workers, see run.sh) beside the same model
-- over a local copy of the lines: create_model and refresh run on the
-- coordinator, the counting runs on the workers, and every result table,
-- counts included, is the same row for row after a full refresh and after
-- new orders and an incremental refresh.  The lines are the shipped Online
-- Retail sample (run from the repository root), order ids as integers.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

SELECT plan(23);

CREATE SCHEMA shop;
SET search_path = shop, public;
SET client_min_messages = error;	-- Citus: the sample's views stay local
\ir ../data/online_retail.sql
SET client_min_messages = warning;
-- orders up to 2010-12-09 14:00 first; the later ones are appended below
CREATE TABLE all_lines AS
	SELECT invoice_no::integer AS order_id, stock_code AS item, quantity, unit_price AS price,
	       customer_id AS customer, invoice_date AS ordered_at, description AS name, country AS category
	FROM order_lines
	WHERE invoice_no NOT LIKE 'C%' AND quantity > 0
	  AND stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE');
CREATE TABLE lines_local AS SELECT * FROM all_lines WHERE ordered_at < '2010-12-09 14:00';
CREATE TABLE lines_dist AS SELECT * FROM lines_local;
SELECT create_distributed_table('lines_dist', 'order_id', shard_count => 8);
CREATE VIEW sales_dist AS SELECT * FROM lines_dist WHERE quantity < 1000;

SELECT is((SELECT count(DISTINCT nodeport)::int FROM pg_dist_shard_placement
           WHERE shardid IN (SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'lines_dist'::regclass)),
	2, 'the order lines are spread over both workers');

-- the models, alike but for their source; a cap on basket size, so that
-- the pushed-down pair counting leaves out the same orders, and a price
-- window shorter than the orders' span
\set cols 'basket => ''order_id'', item => ''item'', customer => ''customer'', ordered_at => ''ordered_at'', quantity => ''quantity'', price => ''price'', item_name => ''name'', category => ''category'', options => ''{"max_basket_items": 60, "price_window": "2 days"}'''
SELECT lives_ok(format('SELECT bundlerec.create_model(''dist'', ''shop.lines_dist'', %s)', :'cols'),
	'create_model over the distributed table');
SELECT bundlerec.create_model('local', 'shop.lines_local', :cols) \g /dev/null

SELECT ok(bundlerec._distributed('shop.lines_dist'), 'the distributed table is seen as distributed');
SELECT ok(bundlerec._distributed('shop.sales_dist'), 'so is a view over it');
SELECT ok(NOT bundlerec._distributed('shop.lines_local'), 'the local copy is not');
SELECT is(bundlerec._order_key(m), '_b', 'orders of the distributed source are counted by its own order column')
FROM bundlerec.models m WHERE m.name = 'dist';
SELECT is(bundlerec._order_key(m), 'basket', 'those of the local one by the order as text, as before')
FROM bundlerec.models m WHERE m.name = 'local';

-- the plan's text, one string
CREATE FUNCTION plan_text(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	t text := '';
BEGIN
	FOR r IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
		t := t || r."QUERY PLAN" || E'\n';
	END LOOP;
	RETURN t;
END
$$;

-- the queries the stages run, over the model's lines view: pair counts as
-- partial pair_counts states per shard, item counts grouped on the workers
-- by item alone (no order ids shipped)
SET citus.coordinator_aggregation_strategy = 'disabled';
SET citus.enable_ddl_propagation = off;	-- a temporary view, as refresh makes it
SELECT bundlerec._lines_view(m, 'dist_lines') FROM bundlerec.models m WHERE m.name = 'dist' \g /dev/null
CREATE TABLE ctx AS
	SELECT ROW(m, 'pg_temp.dist_lines'::regclass, 'pg_temp.dist_lines'::regclass, 'x', '', false, '{}',
	           NULL, 0, NULL)::bundlerec._build_context AS c
	FROM bundlerec.models m WHERE m.name = 'dist';
SELECT matches(plan_text('SELECT * FROM ' || bundlerec._pair_source(c)), 'worker_partial_agg\(.*pair_counts',
	'EXPLAIN: the pair counts stage runs pair_counts as partial aggregates on the workers')
FROM ctx;
SELECT matches(plan_text('SELECT item, count(DISTINCT _b), sum(quantity) FROM pg_temp.dist_lines GROUP BY item'),
	'Task.*\n(.*\n)*.*Group Key: lines_dist.item\n',
	'EXPLAIN: item counts by the order column are grouped by item alone on the workers');
SELECT matches(plan_text('SELECT l.item, sum(l.price) FILTER (WHERE l.ordered_at >= now()), count(l.price) FROM pg_temp.dist_lines l GROUP BY l.item'),
	'Task.*\n(.*\n)*.*Group Key: lines_dist.item\n',
	'EXPLAIN: the items stage''s price sums are grouped by item on the workers');
SELECT matches(plan_text('SELECT l.item, l.category, count(*) FROM pg_temp.dist_lines l GROUP BY l.item, l.category'),
	'Task.*\n(.*\n)*.*Group Key: lines_dist.item, ',
	'EXPLAIN: the items stage''s lines per category are grouped on the workers');
DROP VIEW dist_lines;
RESET citus.enable_ddl_propagation;

-- refreshed without gathering rows for any aggregate
SELECT lives_ok($$SELECT * FROM bundlerec.refresh('dist')$$,
	'refresh over the distributed table, coordinator aggregation disabled');
RESET citus.coordinator_aggregation_strategy;
SELECT * FROM bundlerec.refresh('local') \g /dev/null

-- The result tables of models a and b whose rows differ (row for row, as
-- text), and those one has and the other lacks.
CREATE FUNCTION differing(a text, b text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	ma bundlerec.models;
	mb bundlerec.models;
	t text;
	n bigint;
	out text[] := '{}';
BEGIN
	SELECT * INTO ma FROM bundlerec.models WHERE name = a;
	SELECT * INTO mb FROM bundlerec.models WHERE name = b;
	FOR t IN SELECT jsonb_object_keys(ma.tables || mb.tables) ORDER BY 1 LOOP
		IF NOT (ma.tables ? t AND mb.tables ? t) THEN
			out := out || t;
			CONTINUE;
		END IF;
		EXECUTE format('SELECT count(*) FROM ((SELECT x::text FROM %1$I.%2$I x EXCEPT ALL SELECT y::text FROM %3$I.%4$I y) '
		               'UNION ALL (SELECT y::text FROM %3$I.%4$I y EXCEPT ALL SELECT x::text FROM %1$I.%2$I x)) d',
		               ma.results_schema, ma.tables ->> t, mb.results_schema, mb.tables ->> t) INTO n;
		IF n > 0 THEN
			out := out || t;
		END IF;
	END LOOP;
	RETURN out;
END
$$;

-- what is compared: every result, with rows
CREATE FUNCTION result_rows(model text) RETURNS TABLE (name text, n bigint) LANGUAGE plpgsql AS $$
DECLARE
	m bundlerec.models;
	t text;
BEGIN
	SELECT * INTO m FROM bundlerec.models mm WHERE mm.name = model;
	FOR t IN SELECT jsonb_object_keys(m.tables) ORDER BY 1 LOOP
		name := t;
		EXECUTE format('SELECT count(*) FROM %I.%I', m.results_schema, m.tables ->> t) INTO n;
		RETURN NEXT;
	END LOOP;
END
$$;

SELECT cmp_ok((SELECT count(*) FROM result_rows('dist') WHERE n > 0 AND name <> '_pair_delta'), '>=', 10::bigint,
	'the distributed model has results with rows (items, pairs, rules, embeddings, bundles, recommendations, ...)');
SELECT is(differing('dist', 'local'), '{}'::text[],
	'full refresh: every result table of the distributed model is row for row the local model''s');
SELECT is((SELECT n_baskets FROM bundlerec.models WHERE name = 'dist'),
          (SELECT count(DISTINCT order_id) FROM lines_local), 'the orders counted are those of the lines');
SELECT is((SELECT orders FROM bundlerec_dist._item_counts WHERE item = '85123A'),
          (SELECT count(DISTINCT order_id) FROM lines_local WHERE item = '85123A'),
	'an item''s orders are its distinct orders');

-- new orders in both, then incremental refreshes
INSERT INTO lines_local SELECT * FROM all_lines WHERE ordered_at >= '2010-12-09 14:00';
INSERT INTO lines_dist SELECT * FROM all_lines WHERE ordered_at >= '2010-12-09 14:00';
SET citus.coordinator_aggregation_strategy = 'disabled';
SELECT lives_ok($$SELECT * FROM bundlerec.refresh('dist', incremental => true)$$,
	'incremental refresh over the distributed table, coordinator aggregation disabled');
RESET citus.coordinator_aggregation_strategy;
SELECT * FROM bundlerec.refresh('local', incremental => true) \g /dev/null
SELECT is((SELECT array_agg(last_refresh_kind ORDER BY name) FROM bundlerec.models WHERE name IN ('dist', 'local')),
	ARRAY['incremental', 'incremental'], 'both refreshes were incremental');
SELECT is(differing('dist', 'local'), '{}'::text[],
	'incremental refresh: every result table is again the local model''s');

-- a full refresh of the grown distributed table lands on the same results
SELECT * FROM bundlerec.refresh('dist') \g /dev/null
SELECT * FROM bundlerec.refresh('local') \g /dev/null
SELECT is(differing('dist', 'local'), '{}'::text[],
	'full refresh of the grown tables: the same again');

-- serving is unchanged: it reads the coordinator's result tables
SELECT is(
	(SELECT array_agg(x::text) FROM bundlerec.bundles_for_item('dist', '85123A') x),
	(SELECT array_agg(x::text) FROM bundlerec.bundles_for_item('local', '85123A') x),
	'serving: bundles_for_item of the distributed model gives the local model''s');

-- evaluate over the distributed source: the local model's figures
SELECT is(
	(SELECT array_agg(e::text ORDER BY e.task, e.method) FROM bundlerec.evaluate('dist', '2010-12-10') e),
	(SELECT array_agg(e::text ORDER BY e.task, e.method) FROM bundlerec.evaluate('local', '2010-12-10') e),
	'evaluate of the distributed model gives the local model''s figures');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname LIKE 'bundlerec_eval_%'),
	'evaluate leaves no scratch schema');

SELECT * FROM finish();
SELECT bundlerec.drop_model('dist');
SELECT bundlerec.drop_model('local');
DROP SCHEMA shop CASCADE;
