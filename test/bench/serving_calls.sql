-- serving_bench: every serving function of model 'shop' called once per
-- benchmark argument (serving_bench.bench_items / bench_customers /
-- bench_carts), in this one session, timed in the server with
-- clock_timestamp() around each call (no client round trip, no other
-- client).  Two passes; the first warms the caches and is reported only
-- for complete_cart (whose rows are read once per session, then kept).
-- All calls run inside one DO block (one top-level statement), which makes
-- them cheaper than separate statements (bundles_for_item explore => true
-- about 1.1 ms here against 2.3 ms per statement under pgbench), so these
-- times are a lower bound and a breakdown, not the latency result.
-- Results in serving_bench.calls; prints rows per call, the share of rows
-- from the model (not a 'popular...' fallback), the per-call times, the
-- times of complete_cart by cart size, and each function's slowest call.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET search_path = serving_bench, public;

DROP TABLE IF EXISTS calls;
CREATE TABLE calls (
	o        int,		-- function's order in the report
	function text,
	pass     int,
	known    boolean,	-- argument known to the model's data
	arg      text,
	size     int,		-- cart size (complete_cart), else 1
	n        int,		-- rows returned
	m        int,		-- rows from the model (source not 'popular...')
	ms       float8,
	call     text		-- the call, $1 = arg
);

DO $do$
DECLARE
	f record;
	a record;
	t0 timestamptz;
	t1 timestamptz;
	n int;
	m int;
	pass int;
BEGIN
	FOR f IN SELECT * FROM (VALUES
		(1, 'frequently_bought_together(k 10)', 'items', 'bundlerec.frequently_bought_together(''shop'', $1, 10)'),
		(2, 'similar_items(10)', 'items', 'bundlerec.similar_items(''shop'', $1, 10)'),
		(3, 'complete_cart(10)', 'carts', 'bundlerec.complete_cart(''shop'', $1::text[], 10)'),
		(4, 'bundles_for_item(5)', 'items', 'bundlerec.bundles_for_item(''shop'', $1, 5)'),
		(5, 'bundles_for_item(5, explore => true)', 'items', 'bundlerec.bundles_for_item(''shop'', $1, 5, explore => true)'),
		(6, 'bundles_for_customer(5)', 'customers', 'bundlerec.bundles_for_customer(''shop'', $1, 5)'),
		(7, 'recommend_items(10)', 'customers', 'bundlerec.recommend_items(''shop'', $1, 10)')
		) v(o, function, args, call)
	LOOP
		FOR pass IN 1 .. 2 LOOP
			FOR a IN EXECUTE CASE f.args
				WHEN 'items' THEN 'SELECT known, item AS arg, 1 AS size FROM serving_bench.bench_items ORDER BY id'
				WHEN 'customers' THEN 'SELECT known, customer AS arg, 1 AS size FROM serving_bench.bench_customers ORDER BY id'
				ELSE 'SELECT true AS known, items::text AS arg, cardinality(items) AS size FROM serving_bench.bench_carts ORDER BY id' END
			LOOP
				t0 := clock_timestamp();
				EXECUTE format('SELECT count(*), count(*) FILTER (WHERE source NOT LIKE %L) FROM %s', 'popular%', f.call)
				INTO n, m USING a.arg;
				t1 := clock_timestamp();
				INSERT INTO serving_bench.calls
				VALUES (f.o, f.function, pass, a.known, a.arg, a.size, n, m, 1000 * extract(epoch FROM t1 - t0), f.call);
			END LOOP;
		END LOOP;
	END LOOP;
END
$do$;
\echo '-- complete_cart(10), first pass: each cart item''s rows read from the results the first time it is'
\echo '   seen in this session (the second pass below finds them kept; bundlerec.serving_cache_limit)'
SELECT count(*) AS carts,
       round(avg(ms)::numeric, 3) AS mean_ms,
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p50_ms,
       round(percentile_disc(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p95_ms,
       round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p99_ms,
       round(max(ms)::numeric, 3) AS max_ms
FROM calls WHERE o = 3 AND pass = 1;
DELETE FROM calls WHERE pass = 1;
ANALYZE calls;

\echo '-- rows per call; model % = rows not from a popular fallback, for known / unknown arguments;'
\echo '   ms = the call timed in the server (second pass), all calls inside one DO block: no client round trip'
\echo '   and no per-statement start-up, so a lower bound; the latencies a client sees are pgbench''s below'
SELECT function, count(*) AS calls, min(n) AS min_rows, round(avg(n), 2) AS avg_rows,
       round(100.0 * sum(m) FILTER (WHERE known) / nullif(sum(n) FILTER (WHERE known), 0), 1) AS "model % known",
       round(100.0 * sum(m) FILTER (WHERE NOT known) / nullif(sum(n) FILTER (WHERE NOT known), 0), 1) AS "model % unknown",
       round(avg(ms)::numeric, 3) AS mean_ms,
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p50_ms,
       round(percentile_disc(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p95_ms,
       round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p99_ms,
       round(max(ms)::numeric, 3) AS max_ms
FROM calls GROUP BY o, function ORDER BY o;

\echo '-- complete_cart(10) by cart size (items in the cart)'
SELECT CASE WHEN size < 10 THEN '1-9' WHEN size < 30 THEN '10-29' WHEN size < 100 THEN '30-99' ELSE '100+' END AS cart_size,
       count(*) AS carts,
       round(avg(ms)::numeric, 3) AS mean_ms,
       round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p50_ms,
       round(percentile_disc(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 3) AS p95_ms,
       round(max(ms)::numeric, 3) AS max_ms
FROM calls WHERE o = 3
GROUP BY 1 ORDER BY min(size);

\echo '-- each function''s slowest call'
SELECT DISTINCT ON (o) function, CASE WHEN o = 3 THEN size || ' items' ELSE arg END AS argument, known,
       round(ms::numeric, 3) AS ms
FROM calls ORDER BY o, ms DESC;

\echo '-- memory complete_cart keeps for the whole model: one cart of every item, then the backend''s'
\echo '   memory contexts of the kept rows'
SELECT count(*) AS rows FROM bundlerec.complete_cart('shop', ARRAY(SELECT item FROM bundlerec_shop.items), 10);
SELECT pg_size_pretty(sum(total_bytes)) AS kept_rows_all_items, count(*) AS models
FROM pg_backend_memory_contexts WHERE name = 'bundlerec serving cart rows of a model';
