-- models_incremental.sql: an incremental refresh against a full refresh of
-- the same lines, for every published table.
--   1. Counted and rebuilt results (customers, customer_items, items, pairs,
--      rules, item_weights, item_bundles, and the refresh state _item_counts,
--      _item_customers, _item_prices) equal those of a twin model refreshed
--      in full; the new pairs wait in _pair_delta.
--   2. "Per customer" results (recommendations, customer_bundles): the
--      customers with new orders get exactly the rows a full refresh gives
--      them; every other customer keeps the rows of the previous refresh.
--   3. customer_refresh_growth: once the orders have grown by more than it
--      since every customer was computed, all are recomputed (and equal a
--      full refresh); refresh_history records when that last happened.
--   4. With ALS embeddings (warm-started, so not comparable to a full
--      refresh): untouched customers keep their rows, touched ones are
--      recomputed.
--   5. model_refresh_growth (default 0.1, also for a model whose stored
--      options lack it; sections 1-3 set it to 0, so that everything is
--      rebuilt): a small incremental refresh keeps the
--      "model" results (rules, item weights, item bundles) as they were,
--      table and rows,
--      while items and pairs still equal a full refresh; once the orders
--      have grown by more than a tenth since they were built, they are
--      built again and equal a full refresh.
--   6. Order times of type date and timestamp (without time zone), which
--      the search for new lines compares on the source's own column: new
--      orders after the watermark and new orders at its very day are found
--      and counted as a full refresh counts them.
--   7. Pair changes into _pair_delta, then folded: each incremental
--      refresh appends its changes in place, a row per pair changed (a
--      pair may have several rows), and one that brings them past a
--      quarter of _pair_counts folds them in (_pair_delta empty); the pair
--      counts and pairs equal a full refresh's at every step.
--   8. A current table without the declared columns (as one made by an
--      earlier version would be): a per-customer or "model" result is built
--      anew instead of written in place or kept, and a count table makes
--      the refresh a full one.
--   9. Item attributes from refresh state (_item_prices, _item_categories,
--      _item_names), which an incremental refresh brings up to date from
--      the new lines and the lines the price window leaves behind: items
--      and the state equal a full refresh's, with a short window that
--      moves past an untouched item's lines, categories and names that the
--      new orders outvote, after price_window changes, and from an items
--      table without the declared columns; items' price, category and name
--      equal bundlerec._item_attributes' (the C reader) over all the lines;
--      an item not on the new orders is not read again (a name marked in
--      its state is published).
-- The model without embeddings is deterministic; floating-point columns are
-- compared to 10 decimals, since sums over rows in a different order may
-- differ in the last bit.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
BEGIN;
SELECT plan(75);

-- 420 orders over 40 customers and 90 items; the last 20 (after the cut)
-- come from 7 customers, one of them new, plus a late line in an old order.
CREATE TABLE mi_all AS
SELECT 'o' || o AS basket,
       'i' || ((o * 7 + j * j * 3 + (o % 5) * j) % 90) AS item,
       CASE WHEN o > 400 THEN 'c' || (o % 6) || CASE WHEN o = 420 THEN 'new' ELSE '' END
            ELSE 'c' || (o % 40) END AS customer,
       timestamptz '2024-01-01 00:00+00' + o * interval '1 hour' AS ordered_at,
       (1 + (o + j) % 3)::numeric AS quantity,
       (5 + (j * 13 + o) % 20)::numeric AS price
FROM generate_series(1, 420) o, generate_series(1, 2 + o % 5) j;
INSERT INTO mi_all VALUES ('o399', 'i29', 'c39', '2024-01-20 00:00+00', 1, 9);
CREATE TABLE mi_lines AS SELECT * FROM mi_all WHERE ordered_at <= '2024-01-17 16:00+00';
-- the columns of a per-customer result, floats rounded
CREATE FUNCTION mi_cols(t text) RETURNS text LANGUAGE sql AS $$
	SELECT CASE t
	WHEN 'recommendations' THEN 'customer, rank, item, round(score::numeric, 10) AS score, round(repeat_part::numeric, 10) AS repeat_part, round(model_part::numeric, 10) AS model_part, bought, customer_orders'
	ELSE 'customer, rank, rank_new, anchor, items, size, new_items, round(score::numeric, 10) AS score, round(repeat_part::numeric, 10) AS repeat_part, round(model_part::numeric, 10) AS model_part, round(cohesion::numeric, 10) AS cohesion, round(accept_probability::numeric, 10) AS accept_probability, explanation' END
$$;
CREATE TABLE mi_touched AS
	SELECT DISTINCT customer FROM mi_all WHERE ordered_at > '2024-01-17 16:00+00';

SELECT count(bundlerec.create_model(m, 'mi_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price', options => o::jsonb)) AS created
FROM (VALUES ('mi', '{"embeddings": false, "model_refresh_growth": 0}'), ('mi_full', '{"embeddings": false}'),
             ('mi_grow', '{"embeddings": false, "customer_refresh_growth": 0, "model_refresh_growth": 0}'),
             ('mi_als', '{"iterations": 3}'), ('mi_keep', '{"embeddings": false}')) v(m, o) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi') \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_grow') \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_als') \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_keep') \gset
-- as a model made before the option existed: the default applies
UPDATE bundlerec.models SET options = options - 'model_refresh_growth' WHERE name = 'mi_keep';
CREATE TABLE mi_keep_before AS
	SELECT u.name, m.tables ->> u.name AS tab,
	       CASE u.name WHEN 'rules' THEN (SELECT array_agg(r::text ORDER BY r::text) FROM bundlerec_mi_keep.rules r)
	                   WHEN 'item_weights' THEN (SELECT array_agg(w::text ORDER BY w::text) FROM bundlerec_mi_keep.item_weights w)
	                   ELSE (SELECT array_agg(b::text ORDER BY b::text) FROM bundlerec_mi_keep.item_bundles b) END AS rows_before
	FROM bundlerec.models m, unnest(ARRAY['rules', 'item_weights', 'item_bundles']) u(name) WHERE m.name = 'mi_keep';
CREATE TABLE mi_before_recs AS SELECT * FROM bundlerec_mi.recommendations;
CREATE TABLE mi_before_cb AS SELECT * FROM bundlerec_mi.customer_bundles;
CREATE TABLE mi_als_before_recs AS SELECT * FROM bundlerec_mi_als.recommendations;
CREATE TABLE mi_als_before_cb AS SELECT * FROM bundlerec_mi_als.customer_bundles;

INSERT INTO mi_lines SELECT * FROM mi_all WHERE ordered_at > '2024-01-17 16:00+00';
SELECT count(*) AS n FROM bundlerec.refresh('mi', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_grow', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_als', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_keep', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_full') \gset
CREATE TABLE mi_keep_after1 AS
	SELECT u.name, m.tables ->> u.name AS tab,
	       CASE u.name WHEN 'rules' THEN (SELECT array_agg(r::text ORDER BY r::text) FROM bundlerec_mi_keep.rules r)
	                   WHEN 'item_weights' THEN (SELECT array_agg(w::text ORDER BY w::text) FROM bundlerec_mi_keep.item_weights w)
	                   ELSE (SELECT array_agg(b::text ORDER BY b::text) FROM bundlerec_mi_keep.item_bundles b) END AS rows_after
	FROM bundlerec.models m, unnest(ARRAY['rules', 'item_weights', 'item_bundles']) u(name) WHERE m.name = 'mi_keep';
CREATE TABLE mi_keep_items_eq AS
	SELECT t, (SELECT count(*) FROM (
	             (SELECT * FROM bundlerec_mi_keep.items EXCEPT SELECT * FROM bundlerec_mi_full.items)
	             UNION ALL (SELECT * FROM bundlerec_mi_full.items EXCEPT SELECT * FROM bundlerec_mi_keep.items)) x) AS items_diff,
	          (SELECT count(*) FROM (
	             (SELECT * FROM bundlerec_mi_keep.pairs EXCEPT SELECT * FROM bundlerec_mi_full.pairs)
	             UNION ALL (SELECT * FROM bundlerec_mi_full.pairs EXCEPT SELECT * FROM bundlerec_mi_keep.pairs)) x) AS pairs_diff,
	          (SELECT count(*) FROM (
	             (SELECT * FROM bundlerec_mi_keep.item_bundles EXCEPT SELECT * FROM bundlerec_mi_full.item_bundles)
	             UNION ALL (SELECT * FROM bundlerec_mi_full.item_bundles EXCEPT SELECT * FROM bundlerec_mi_keep.item_bundles)) x) AS bundles_diff
	FROM (VALUES (1)) v(t);

SELECT is((SELECT count(*) FROM mi_touched), 8::bigint,
	'the new orders come from 8 customers (6 known, 1 new, 1 with a late line)');
SELECT is(ARRAY(SELECT last_refresh_kind FROM bundlerec.models WHERE name IN ('mi', 'mi_grow', 'mi_als') ORDER BY name),
	ARRAY['incremental', 'incremental', 'incremental'], 'the three models refreshed incrementally');

------------------------------------------------------------------------------
-- 1. counted and rebuilt results equal a full refresh
------------------------------------------------------------------------------
SELECT bag_eq(format('SELECT * FROM bundlerec_mi.%I', t), format('SELECT * FROM bundlerec_mi_full.%I', t),
	format('incremental = full: %s', t))
FROM unnest(ARRAY['customers', 'customer_items', 'items', 'pairs', 'rules', 'item_weights', 'item_bundles',
                   '_item_counts', '_item_customers', '_item_prices']) t;
SELECT ok((SELECT count(*) FROM bundlerec_mi._pair_delta) BETWEEN 1 AND (SELECT count(*) FROM bundlerec_mi._pair_counts) / 4,
	'the new orders'' pairs wait in _pair_delta, not yet folded into _pair_counts (which pairs reads with it)');
SELECT ok((SELECT count(*) FROM bundlerec_mi.rules) > 0 AND (SELECT count(*) FROM bundlerec_mi.item_bundles) > 0
          AND (SELECT count(*) FROM bundlerec_mi.item_weights) > 0,
	'the fixture publishes rules, item weights and item bundles');

------------------------------------------------------------------------------
-- 2. per customer: touched ones recomputed exactly, the others kept
------------------------------------------------------------------------------
SELECT bag_eq(
	format('SELECT %s FROM bundlerec_mi.%I WHERE customer IN (SELECT customer FROM mi_touched)', mi_cols(t), t),
	format('SELECT %s FROM bundlerec_mi_full.%I WHERE customer IN (SELECT customer FROM mi_touched)', mi_cols(t), t),
	format('%s of the customers with new orders equal a full refresh', t))
FROM unnest(ARRAY['recommendations', 'customer_bundles']) t;
SELECT bag_eq(
	'SELECT * FROM bundlerec_mi.recommendations WHERE customer NOT IN (SELECT customer FROM mi_touched)',
	'SELECT * FROM mi_before_recs WHERE customer NOT IN (SELECT customer FROM mi_touched)',
	'recommendations of the other customers are those of the previous refresh');
SELECT bag_eq(
	'SELECT * FROM bundlerec_mi.customer_bundles WHERE customer NOT IN (SELECT customer FROM mi_touched)',
	'SELECT * FROM mi_before_cb WHERE customer NOT IN (SELECT customer FROM mi_touched)',
	'customer_bundles of the other customers are those of the previous refresh');
SELECT ok((SELECT count(DISTINCT customer) FROM bundlerec_mi.customer_bundles
           WHERE customer IN (SELECT customer FROM mi_touched)) >= 7,
	'the customers with new orders have bundles, the new customer too');
SELECT ok(EXISTS (SELECT customer, rank, score FROM bundlerec_mi.customer_bundles
                  EXCEPT SELECT customer, rank, score FROM bundlerec_mi_full.customer_bundles),
	'kept rows differ from a full refresh''s (bounded staleness, as the README says): the comparison above is not vacuous');
SELECT is((SELECT (metrics ->> 'customers_at')::bigint FROM bundlerec.refresh_history
           WHERE model = 'mi' ORDER BY id DESC LIMIT 1),
	(SELECT count(DISTINCT basket) FROM mi_all WHERE ordered_at <= '2024-01-17 16:00+00'),
	'refresh_history: every customer was last computed at the full refresh''s order count');

------------------------------------------------------------------------------
-- 3. customer_refresh_growth 0: every customer recomputed
------------------------------------------------------------------------------
SELECT bag_eq(format('SELECT %s FROM bundlerec_mi_grow.%I', mi_cols(t), t), format('SELECT %s FROM bundlerec_mi_full.%I', mi_cols(t), t),
	format('customer_refresh_growth 0: %s equal a full refresh', t))
FROM unnest(ARRAY['recommendations', 'customer_bundles']) t;
SELECT is((SELECT (metrics ->> 'customers_at')::bigint FROM bundlerec.refresh_history
           WHERE model = 'mi_grow' ORDER BY id DESC LIMIT 1),
	(SELECT count(DISTINCT basket) FROM mi_all),
	'refresh_history: every customer computed at the new order count');
-- grown past the default 10%: the next incremental refresh recomputes all
INSERT INTO mi_lines
SELECT 'p' || o, 'i' || (o % 30), 'c' || (o % 40), timestamptz '2024-02-01 00:00+00' + o * interval '1 minute', 1, 5
FROM generate_series(1, 60) o, generate_series(0, 1) j WHERE j = 0
UNION ALL
SELECT 'p' || o, 'i' || ((o + 11) % 30), 'c' || (o % 40), timestamptz '2024-02-01 00:00+00' + o * interval '1 minute', 1, 5
FROM generate_series(1, 60) o;
INSERT INTO mi_all SELECT * FROM mi_lines WHERE basket LIKE 'p%';
SELECT count(*) AS n FROM bundlerec.refresh('mi', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_keep', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_full') \gset
SELECT bag_eq(format('SELECT %s FROM bundlerec_mi.%I', mi_cols(t), t), format('SELECT %s FROM bundlerec_mi_full.%I', mi_cols(t), t),
	format('orders grown by more than 10%%: %s of every customer equal a full refresh', t))
FROM unnest(ARRAY['recommendations', 'customer_bundles']) t;

------------------------------------------------------------------------------
-- 4. with embeddings: untouched customers kept, touched recomputed
------------------------------------------------------------------------------
SELECT bag_eq(
	format('SELECT * FROM bundlerec_mi_als.%I WHERE customer NOT IN (SELECT customer FROM mi_touched)', t),
	format('SELECT * FROM %I WHERE customer NOT IN (SELECT customer FROM mi_touched)', b),
	format('embeddings: %s of the other customers kept', t))
FROM (VALUES ('recommendations', 'mi_als_before_recs'), ('customer_bundles', 'mi_als_before_cb')) v(t, b);
SELECT is((SELECT count(DISTINCT customer) FROM bundlerec_mi_als.recommendations
           WHERE customer IN (SELECT customer FROM mi_touched)), 8::bigint,
	'embeddings: every customer with new orders has recommendations');
SELECT ok(EXISTS (SELECT customer, item, score FROM bundlerec_mi_als.recommendations
                  WHERE customer IN (SELECT customer FROM mi_touched)
                  EXCEPT SELECT customer, item, score FROM mi_als_before_recs),
	'embeddings: the touched customers'' recommendations were recomputed');

------------------------------------------------------------------------------
-- 5. model_refresh_growth: "model" results kept, then built again
------------------------------------------------------------------------------
SELECT is((SELECT array_agg(b.name ORDER BY b.name) FROM mi_keep_before b JOIN mi_keep_after1 a USING (name)
           WHERE a.tab = b.tab AND a.rows_after = b.rows_before),
	ARRAY['item_bundles', 'item_weights', 'rules'],
	'model_refresh_growth: after 20 new orders (5%) rules, item_weights and item_bundles are the same tables with the same rows');
SELECT is((SELECT items_diff + pairs_diff FROM mi_keep_items_eq), 0::bigint,
	'model_refresh_growth: items and pairs, rebuilt on every refresh, still equal a full refresh''s');
SELECT ok((SELECT bundles_diff FROM mi_keep_items_eq) > 0,
	'the kept item_bundles differ from a full refresh''s (so the comparisons of this section are not vacuous)');
SELECT is((SELECT (metrics ->> 'models_at')::bigint FROM bundlerec.refresh_history
           WHERE model = 'mi_keep' AND kind = 'incremental' ORDER BY id LIMIT 1),
	(SELECT count(DISTINCT basket) FROM mi_all WHERE ordered_at <= '2024-01-17 16:00+00'),
	'refresh_history: the kept results were built at the full refresh''s order count');
SELECT ok((SELECT bool_and(m.tables ->> b.name <> b.tab) FROM bundlerec.models m, mi_keep_before b
           WHERE m.name = 'mi_keep'),
	'model_refresh_growth: after the orders grew by more than a tenth, rules, item_weights and item_bundles are new tables');
SELECT bag_eq(format('SELECT * FROM bundlerec_mi_keep.%I', t), format('SELECT * FROM bundlerec_mi_full.%I', t),
	format('model_refresh_growth: once built again, %s equal a full refresh', t))
FROM unnest(ARRAY['rules', 'item_weights', 'item_bundles']) t;
SELECT is((SELECT (metrics ->> 'models_at')::bigint FROM bundlerec.refresh_history
           WHERE model = 'mi_keep' ORDER BY id DESC LIMIT 1),
	(SELECT count(DISTINCT basket) FROM mi_all),
	'refresh_history: built again at the new order count');

------------------------------------------------------------------------------
-- 6. date and timestamp order times
------------------------------------------------------------------------------
CREATE TABLE mi_dated (b integer, i text, c integer, d date, ts timestamp);
INSERT INTO mi_dated
SELECT o, 'i' || ((o * 3 + j * 7) % 25), o % 9, date '2024-03-01' + o / 10, timestamp '2024-03-01 00:00' + o * interval '7 hours'
FROM generate_series(1, 100) o, generate_series(1, 2 + o % 3) j;
SELECT count(bundlerec.create_model(m, 'mi_dated', 'b', 'i', customer => 'c', ordered_at => col,
	options => '{"embeddings": false, "model_refresh_growth": 0}')) AS created
FROM (VALUES ('mi_d', 'd'), ('mi_d_full', 'd'), ('mi_ts', 'ts'), ('mi_ts_full', 'ts')) v(m, col) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_d') \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_ts') \gset
-- new orders: later days, and one on the last day counted (date) / at the last time counted (timestamp)
INSERT INTO mi_dated
SELECT o, 'i' || ((o * 5 + j) % 25), o % 9, date '2024-03-01' + o / 10, timestamp '2024-03-01 00:00' + o * interval '7 hours'
FROM generate_series(101, 130) o, generate_series(1, 3) j;
INSERT INTO mi_dated VALUES (131, 'i1', 1, date '2024-03-11', timestamp '2024-03-01 00:00' + 100 * interval '7 hours'),
                            (131, 'i2', 1, date '2024-03-11', timestamp '2024-03-01 00:00' + 100 * interval '7 hours');
SELECT count(*) AS n FROM bundlerec.refresh('mi_d', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_ts', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_d_full') \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_ts_full') \gset
SELECT is(ARRAY(SELECT last_refresh_kind || '/' || n_baskets FROM bundlerec.models WHERE name IN ('mi_d', 'mi_ts') ORDER BY name),
	ARRAY['incremental/131', 'incremental/131'],
	'date and timestamp order times: incremental refreshes that counted all 131 orders');
SELECT bag_eq(format('SELECT * FROM bundlerec_%s.%I', m, t), format('SELECT * FROM bundlerec_%s_full.%I', m, t),
	format('%s order times: incremental = full: %s', m, t))
FROM unnest(ARRAY['mi_d', 'mi_ts']) m, unnest(ARRAY['customer_items', 'items', 'pairs']) t
WHERE t <> 'customer_items' OR m = 'mi_d';
------------------------------------------------------------------------------
-- 7. _pair_delta in place, then folded
------------------------------------------------------------------------------
CREATE TABLE mi_fold_all AS
SELECT o AS b, 'i' || ((o * 13 + j * j * 7 + o / 7) % 120) AS i, timestamptz '2024-05-01 00:00+00' + o * interval '1 hour' AS t
FROM generate_series(1, 600) o, generate_series(1, 3 + o % 4) j;
CREATE TABLE mi_fold AS SELECT * FROM mi_fold_all WHERE b <= 400;
SELECT count(bundlerec.create_model(m, 'mi_fold', 'b', 'i', ordered_at => 't',
	options => '{"model_refresh_growth": 0}')) AS created
FROM (VALUES ('mi_f'), ('mi_f_full')) v(m) \gset
-- the exact count of every pair of a model: _pair_counts plus _pair_delta
CREATE FUNCTION mi_pair_counts(sch text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
BEGIN
	RETURN QUERY EXECUTE format('SELECT item_a || ''|'' || item_b || ''|'' || sum(count) FROM (SELECT * FROM %1$I._pair_counts '
	                            'UNION ALL SELECT * FROM %1$I._pair_delta) x GROUP BY item_a, item_b HAVING sum(count) <> 0', sch);
END
$f$;
SELECT count(*) AS n FROM bundlerec.refresh('mi_f') \gset
CREATE TABLE mi_f_step0 AS SELECT tables ->> '_pair_delta' AS tab FROM bundlerec.models WHERE name = 'mi_f';
INSERT INTO mi_fold SELECT * FROM mi_fold_all WHERE b BETWEEN 401 AND 420;
SELECT count(*) AS n FROM bundlerec.refresh('mi_f', incremental => true) \gset
CREATE TABLE mi_f_step1 AS
	SELECT (SELECT sum(count) FROM bundlerec_mi_f._pair_delta) AS n,
	       (SELECT count(*) FROM bundlerec_mi_f._pair_delta) AS delta_rows,
	       (SELECT count(*) FROM bundlerec_mi_f._pair_counts) AS base_pairs,
	       (SELECT tables ->> '_pair_delta' FROM bundlerec.models WHERE name = 'mi_f') AS tab;
INSERT INTO mi_fold SELECT * FROM mi_fold_all WHERE b = 421;
SELECT count(*) AS n FROM bundlerec.refresh('mi_f', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_f_full') \gset
SELECT ok((SELECT n FROM mi_f_step1) = (SELECT sum(k * (k - 1) / 2) FROM (SELECT count(DISTINCT i) AS k FROM mi_fold_all WHERE b BETWEEN 401 AND 420 GROUP BY b) x)
          AND (SELECT tab FROM mi_f_step1) = (SELECT tab FROM mi_f_step0),
	'20 new orders: their pairs wait in _pair_delta, appended to the table the full refresh made');
SELECT is((SELECT sum(count) FROM bundlerec_mi_f._pair_delta) - (SELECT n FROM mi_f_step1),
	(SELECT sum(k * (k - 1) / 2) FROM (SELECT count(DISTINCT i) AS k FROM mi_fold_all WHERE b = 421 GROUP BY b) x),
	'one more order: _pair_delta grew by its pairs');
SELECT is((SELECT count(*) FROM bundlerec_mi_f._pair_delta) - (SELECT delta_rows FROM mi_f_step1),
	(SELECT count(*) FROM (SELECT DISTINCT least(x.i, y.i), greatest(x.i, y.i) FROM mi_fold_all x JOIN mi_fold_all y ON y.b = x.b AND y.i <> x.i
	                       WHERE x.b = 421) p),
	'one more order: a row appended per pair of it, whether or not the pair was waiting already (no key kept)');
SELECT is((SELECT tables ->> '_pair_delta' FROM bundlerec.models WHERE name = 'mi_f'), (SELECT tab FROM mi_f_step1),
	'one more order: its pairs were appended in place (the same table)');
SELECT set_eq($$SELECT * FROM mi_pair_counts('bundlerec_mi_f')$$, $$SELECT * FROM mi_pair_counts('bundlerec_mi_f_full')$$,
	'after both, _pair_counts + _pair_delta = a full refresh''s counts');
SELECT bag_eq('SELECT * FROM bundlerec_mi_f.pairs', 'SELECT * FROM bundlerec_mi_f_full.pairs',
	'after both, pairs = a full refresh''s');
INSERT INTO mi_fold SELECT * FROM mi_fold_all WHERE b > 421;
SELECT count(*) AS n FROM bundlerec.refresh('mi_f', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_f_full') \gset
SELECT is((SELECT count(*) FROM bundlerec_mi_f._pair_delta), 0::bigint,
	'179 more orders: the changes passed a quarter of _pair_counts and were folded in (_pair_delta is empty)');
SELECT bag_eq('SELECT * FROM bundlerec_mi_f._pair_counts', 'SELECT * FROM bundlerec_mi_f_full._pair_counts',
	'folded: _pair_counts = a full refresh''s');
SELECT bag_eq('SELECT * FROM bundlerec_mi_f.pairs', 'SELECT * FROM bundlerec_mi_f_full.pairs',
	'folded: pairs = a full refresh''s');
SELECT is((SELECT last_refresh_kind FROM bundlerec.models WHERE name = 'mi_f'), 'incremental',
	'the folding refresh was incremental');

------------------------------------------------------------------------------
-- 8. current tables unlike the declaration
------------------------------------------------------------------------------
CREATE TABLE mi_d_tabs AS SELECT tables FROM bundlerec.models WHERE name = 'mi_d';
SELECT format('ALTER TABLE bundlerec_mi_d.%I RENAME COLUMN explanation TO explained', tables ->> 'customer_bundles') AS alter1,
       format('ALTER TABLE bundlerec_mi_d.%I RENAME COLUMN fisher_p TO fisher', tables ->> 'rules') AS alter2
FROM mi_d_tabs \gset
:alter1;
:alter2;
INSERT INTO mi_dated VALUES (132, 'i3', 2, date '2024-03-15', timestamp '2024-03-25 00:00'),
                            (132, 'i4', 2, date '2024-03-15', timestamp '2024-03-25 00:00');
SELECT count(*) AS n FROM bundlerec.refresh('mi_d', incremental => true) \gset
SELECT is((SELECT last_refresh_kind FROM bundlerec.models WHERE name = 'mi_d'), 'incremental',
	'renamed columns in customer_bundles and rules: still an incremental refresh');
SELECT ok((SELECT bool_and(m.tables ->> t <> o.tables ->> t) FROM bundlerec.models m, mi_d_tabs o, unnest(ARRAY['customer_bundles', 'rules']) t
           WHERE m.name = 'mi_d'),
	'customer_bundles and rules were built anew, not written in place or kept');
SELECT is(ARRAY(SELECT a.attname::text FROM bundlerec.models m, pg_attribute a
                WHERE m.name = 'mi_d' AND a.attrelid = format('bundlerec_mi_d.%I', m.tables ->> 'rules')::regclass
                  AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
	(SELECT columns FROM bundlerec.result_tables WHERE name = 'rules'),
	'the new rules table has the declared columns');
SELECT format('ALTER TABLE bundlerec_mi_d.%I RENAME COLUMN revenue TO revenue_old', tables ->> '_item_counts') AS alter3
FROM bundlerec.models WHERE name = 'mi_d' \gset
:alter3;
INSERT INTO mi_dated VALUES (133, 'i5', 2, date '2024-03-16', timestamp '2024-03-26 00:00'),
                            (133, 'i6', 2, date '2024-03-16', timestamp '2024-03-26 00:00');
SELECT count(*) AS n FROM bundlerec.refresh('mi_d', incremental => true) \gset
SELECT is((SELECT last_refresh_kind FROM bundlerec.models WHERE name = 'mi_d'), 'full',
	'a renamed column in _item_counts: the incremental refresh asked for runs in full');

------------------------------------------------------------------------------
-- 9. item attributes read again only where they can change
------------------------------------------------------------------------------
-- prices rise with time, so a window of 2 days gives an item the mean of
-- its last prices; categories and names change after the cut for a few
-- items, so the new orders outvote the old lines
CREATE TABLE mi_at_all AS
SELECT basket, item, customer, ordered_at, quantity,
       price + extract(epoch FROM ordered_at - '2024-01-01 00:00+00') / 86400 AS price,
       CASE WHEN ordered_at > '2024-01-17 16:00+00' AND item IN ('i1', 'i2', 'i3') THEN 'late'
            ELSE 'k' || length(item) END AS category,
       CASE WHEN ordered_at > '2024-01-17 16:00+00' AND item IN ('i1', 'i2', 'i3') THEN 'new ' || item
            ELSE 'old ' || item END AS name
FROM mi_all;
-- i1..i3 in many new orders, so that their new category and name win
INSERT INTO mi_at_all
SELECT 'x' || o, 'i' || j, 'c1', timestamptz '2024-01-17 16:00+00' + o * interval '1 minute', 1, 30, 'late', 'new i' || j
FROM generate_series(1, 40) o, generate_series(1, 3) j;
CREATE TABLE mi_at_lines AS SELECT * FROM mi_at_all WHERE ordered_at <= '2024-01-17 16:00+00';
SELECT count(bundlerec.create_model(m, 'mi_at_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price', category => 'category',
	item_name => 'name', options => '{"embeddings": false, "rules": false, "bundles": false, "price_window": "2 days"}')) AS created
FROM unnest(ARRAY['mi_at', 'mi_at_full']) m \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_at') \gset
CREATE TABLE mi_at_before AS SELECT * FROM bundlerec_mi_at.items;
INSERT INTO mi_at_lines SELECT * FROM mi_at_all WHERE ordered_at > '2024-01-17 16:00+00';
SELECT count(*) AS n FROM bundlerec.refresh('mi_at', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_at_full') \gset
SELECT bag_eq('SELECT * FROM bundlerec_mi_at.items', 'SELECT * FROM bundlerec_mi_at_full.items',
	'item attributes from the refresh state: items = a full refresh''s');
SELECT bag_eq(format('SELECT * FROM bundlerec_mi_at.%I', t), format('SELECT * FROM bundlerec_mi_at_full.%I', t),
	format('refresh state %s = a full refresh''s', t))
FROM unnest(ARRAY['_item_prices', '_item_categories', '_item_names', '_item_customers']) t;
-- a second algorithm: the C reader's mean and most frequent values over
-- the lines (the one bundle scoring uses)
SELECT bag_eq('SELECT item, price, category, name FROM bundlerec_mi_at.items',
	$$SELECT item, round(price, 4), category, name FROM bundlerec._item_attributes('mi_at_lines', 'basket', 'item', 'price',
	  'ordered_at', 'category', 'name', '2 days')$$,
	'items'' price, category and name = bundlerec._item_attributes over all the lines');
SELECT ok((SELECT count(*) FROM mi_at_before b JOIN bundlerec_mi_at.items a USING (item)
           WHERE a.price <> b.price
             AND item NOT IN (SELECT item FROM mi_at_all WHERE ordered_at > '2024-01-17 16:00+00')) > 0,
	'the window moved past lines of items not on the new orders: their prices changed, as in full');
SELECT is(ARRAY(SELECT category || ' ' || name FROM bundlerec_mi_at.items WHERE item IN ('i1', 'i2') ORDER BY item),
	ARRAY['late new i1', 'late new i2'], 'the new orders outvoted the old category and name');
-- a new price window: every item is read again
UPDATE bundlerec.models SET options = options || '{"price_window": "5 days"}' WHERE name IN ('mi_at', 'mi_at_full');
INSERT INTO mi_at_lines VALUES ('y1', 'i7', 'c2', '2025-01-01 00:00+00', 1, 50, 'k2', 'old i7');
SELECT count(*) AS n FROM bundlerec.refresh('mi_at', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_at_full') \gset
SELECT is((SELECT last_refresh_kind FROM bundlerec.models WHERE name = 'mi_at'), 'incremental',
	'a changed price_window: still an incremental refresh');
SELECT bag_eq('SELECT * FROM bundlerec_mi_at.items', 'SELECT * FROM bundlerec_mi_at_full.items',
	'after price_window changed: items = a full refresh''s');
SELECT bag_eq(format('SELECT * FROM bundlerec_mi_at.%I', t), format('SELECT * FROM bundlerec_mi_at_full.%I', t),
	format('after price_window changed: refresh state %s = a full refresh''s', t))
FROM unnest(ARRAY['_item_prices', '_item_categories', '_item_names']) t;
-- the items stage follows the change: an item not on the new orders, whose
-- lines the window's move (a minute) passes by, is not read again, so a
-- name marked in its refresh state is what items publishes, and every other
-- item equals a full refresh's
SELECT item AS kept, name AS kept_name FROM bundlerec_mi_at.items WHERE item <> 'i7' ORDER BY item LIMIT 1 \gset
UPDATE bundlerec_mi_at._item_names SET lines = lines + 1000, name = 'kept'
WHERE (item, name) = (SELECT item, name FROM bundlerec_mi_at.items WHERE item = :'kept');
INSERT INTO mi_at_lines VALUES ('y2', 'i7', 'c2', '2025-01-01 00:01+00', 1, 60, 'k2', 'old i7');
SELECT count(*) AS n FROM bundlerec.refresh('mi_at', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_at_full') \gset
SELECT is((SELECT name FROM bundlerec_mi_at.items WHERE item = :'kept'), 'kept',
	'an item not on the new orders is not read again: items follows its refresh state');
SELECT bag_eq(format('SELECT * FROM bundlerec_mi_at.items WHERE item <> %L', :'kept'),
	format('SELECT * FROM bundlerec_mi_at_full.items WHERE item <> %L', :'kept'),
	'every other item = a full refresh''s');
UPDATE bundlerec_mi_at._item_names SET lines = lines - 1000, name = :'kept_name' WHERE (item, name) = (:'kept', 'kept');
-- a current items table without the declared columns: read in full
SELECT format('ALTER TABLE bundlerec_mi_at.%I RENAME COLUMN name TO name_old', tables ->> 'items') AS alter4
FROM bundlerec.models WHERE name = 'mi_at' \gset
:alter4;
INSERT INTO mi_at_lines VALUES ('y3', 'i8', 'c2', '2025-01-01 00:02+00', 1, 70, 'k2', 'old i8');
SELECT count(*) AS n FROM bundlerec.refresh('mi_at', incremental => true) \gset
SELECT count(*) AS n FROM bundlerec.refresh('mi_at_full') \gset
SELECT bag_eq('SELECT * FROM bundlerec_mi_at.items', 'SELECT * FROM bundlerec_mi_at_full.items',
	'a current items table with a renamed column: every item read again, items = a full refresh''s');

SELECT * FROM finish();
ROLLBACK;
