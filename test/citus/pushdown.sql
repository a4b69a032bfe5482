-- pushdown.sql: bundlerec's basket aggregates on a Citus cluster (a
-- coordinator and two workers, see run.sh).  Order lines distributed by
-- order; with citus.coordinator_aggregation_strategy = 'disabled' (no
-- gathering of rows to the coordinator) pair_counts and basket_set over
-- per-order baskets run as partial aggregates on the workers, whose states
-- travel as text to the coordinator, and give what a local copy of the
-- table gives and what a plain self-join counts.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

SELECT plan(17);

-- deterministic order lines: 4000 orders of 1 to 8 lines over 60 items,
-- some items repeated inside an order
CREATE TABLE lines (
	order_id int NOT NULL,
	item text NOT NULL,
	quantity int NOT NULL,
	price numeric NOT NULL,
	ordered_at timestamptz NOT NULL
);
INSERT INTO lines
SELECT o, 'item-' || lpad(((o * 37 + k * k * 11 + (o % 7) * k) % 60)::text, 2, '0'),
       1 + (o + k) % 4, (1 + (o * k) % 50) / 4.0,
       timestamptz '2024-01-01' + make_interval(hours => o)
FROM generate_series(1, 4000) o, generate_series(1, 1 + o % 8) k;
CREATE TABLE lines_local AS SELECT * FROM lines;
SELECT create_distributed_table('lines', 'order_id', shard_count => 8);

SELECT is((SELECT count(*)::int FROM pg_dist_node WHERE noderole = 'primary' AND groupid > 0),
	2, 'the cluster has two workers');
SELECT is((SELECT count(DISTINCT nodeport)::int FROM pg_dist_shard_placement
           WHERE shardid IN (SELECT shardid FROM pg_dist_shard WHERE logicalrelid = 'lines'::regclass)),
	2, 'the order lines are spread over both workers');

SET citus.coordinator_aggregation_strategy = 'disabled';

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

\set pc_dist 'SELECT bundlerec.pair_counts(items) FROM (SELECT order_id, array_agg(item) AS items FROM lines GROUP BY order_id) b'
\set pc_local 'SELECT bundlerec.pair_counts(items) FROM (SELECT order_id, array_agg(item) AS items FROM lines_local GROUP BY order_id) b'

SELECT lives_ok(:'pc_dist', 'pair_counts over per-order baskets runs with coordinator aggregation disabled');
SELECT matches(plan_text(:'pc_dist'), 'worker_partial_agg\(.*pair_counts',
	'EXPLAIN: the workers compute partial pair_counts states (worker_partial_agg)');
SELECT matches(plan_text(:'pc_dist'), 'coord_combine_agg\(.*remote_scan\.pair_counts',
	'EXPLAIN: the coordinator combines the shipped states (coord_combine_agg)');

CREATE TABLE pc AS
	SELECT (:pc_dist) AS dist, (:pc_local) AS local;
SELECT is((SELECT dist::text FROM pc), (SELECT local::text FROM pc),
	'pair_counts over the distributed table is byte for byte the local one');

-- Citus's default strategy gathers the baskets and aggregates on the
-- coordinator: the same value
RESET citus.coordinator_aggregation_strategy;
SELECT is((:pc_dist)::text, (SELECT local::text FROM pc),
	'with the default strategy (row-gather) pair_counts is the same value');
SET citus.coordinator_aggregation_strategy = 'disabled';

-- the independent answer: a self-join of distinct (order, item) lines
CREATE TABLE bi AS SELECT DISTINCT order_id, item FROM lines_local;
CREATE TABLE brute AS
	SELECT a.item AS item_a, b.item AS item_b, count(*) AS count_ab,
	       ca.n AS count_a, cb.n AS count_b, (SELECT count(DISTINCT order_id) FROM bi) AS n_baskets
	FROM bi a JOIN bi b ON a.order_id = b.order_id AND a.item < b.item
	JOIN (SELECT item, count(*) AS n FROM bi GROUP BY item) ca ON ca.item = a.item
	JOIN (SELECT item, count(*) AS n FROM bi GROUP BY item) cb ON cb.item = b.item
	GROUP BY a.item, b.item, ca.n, cb.n;
SELECT cmp_ok((SELECT count(*) FROM brute), '>', 1000::bigint, 'the fixture has many pairs');
SELECT set_eq(
	'SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM bundlerec.pairs((SELECT dist FROM pc))',
	'SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM brute',
	'pairs and item counts from the workers equal a plain self-join');

\set pc20_dist 'SELECT bundlerec.pair_counts(items, 20) FROM (SELECT order_id, array_agg(item) AS items FROM lines GROUP BY order_id) b'
SELECT matches(plan_text(:'pc20_dist'), 'worker_partial_agg\(.*pair_counts',
	'EXPLAIN: pair_counts(items, min_count) is pushed down too');
SELECT set_eq(
	format('SELECT item_a, item_b, count_ab FROM bundlerec.pairs((%s))', :'pc20_dist'),
	'SELECT item_a, item_b, count_ab FROM brute WHERE count_ab >= 20',
	'pair_counts(items, 20) from the workers keeps the pairs the self-join counts at least 20 times');

\set bs_dist 'SELECT bundlerec.basket_set(items) FROM (SELECT order_id, array_agg(item) AS items FROM lines GROUP BY order_id) b'
\set bs_local 'SELECT bundlerec.basket_set(items) FROM (SELECT order_id, array_agg(item) AS items FROM lines_local GROUP BY order_id) b'
SELECT matches(plan_text(:'bs_dist'), 'worker_partial_agg\(.*basket_set',
	'EXPLAIN: the workers compute partial basket_set states');
SELECT set_eq(
	format('SELECT items, count FROM bundlerec.itemsets((%s), 0.01, 3)', :'bs_dist'),
	format('SELECT items, count FROM bundlerec.itemsets((%s), 0.01, 3)', :'bs_local'),
	'itemsets over basket_set from the workers equal those over the local table');

-- the model's item counts stage (src/sql/refresh.sql): plain SQL, pushed down
\set ic 'SELECT item, count(DISTINCT order_id) AS orders, sum(quantity) AS quantity, sum(quantity * price) AS revenue, min(ordered_at) AS first_ordered, max(ordered_at) AS last_ordered FROM %s GROUP BY item'
SELECT lives_ok(format(:'ic', 'lines'), 'item counts over the distributed table run with coordinator aggregation disabled');
SELECT set_eq(format(:'ic', 'lines'), format(:'ic', 'lines_local'),
	'item counts over the distributed table equal the local ones');
SELECT set_eq(
	format('SELECT item, orders FROM (%s) s', format(:'ic', 'lines')),
	'SELECT item, count(*) FROM bi GROUP BY item',
	'item order counts equal a count of distinct (order, item) lines');

-- a shipped state is the text form of basketstate
SELECT matches(
	(SELECT bundlerec.basket_state(items)::text FROM (SELECT order_id, array_agg(item) AS items FROM lines GROUP BY order_id) b),
	'^1:[A-Za-z0-9+/=]+$', 'basket_state over the distributed table has the versioned text form');

SELECT * FROM finish();
DROP TABLE lines, lines_local, pc, bi, brute;
DROP FUNCTION plan_text(text);
