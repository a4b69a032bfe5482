#!/usr/bin/env bash
# citus_refresh_bench: a model over UCI Online Retail distributed by order on
# a local Citus cluster (test/citus/cluster.sh: a coordinator and two
# workers on this one machine) beside the same model over a local table on
# the coordinator: full refresh, then the last month's orders appended and
# an incremental refresh; the stage timings of each, the bytes that crossed
# the loopback interface during each refresh (every node talks over
# 127.0.0.1; other traffic on it, measured over 5 idle seconds after, is
# shown beside), the bytes the pushed-down counting queries return
# (EXPLAIN ANALYZE: "Tuple data received from nodes") against the same
# queries counting by the order's text form, and a check that both models
# publish the same rows.  One machine shows the overhead, not a speed-up.
#
# Needs the citus extension and ../shared/data/online_retail/online_retail.csv.gz
# (relative to the repository root); bundlerec must be installed (make install).
# BENCH_SHARDS shards (default 32).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. test/citus/cluster.sh
data=../shared/data/online_retail/online_retail.csv.gz
citus_available || { echo "citus is not installed: nothing to measure"; exit 0; }
[ -f "$data" ] || { echo "$data not found: nothing to measure"; exit 0; }
citus_cluster_start
C=${CITUS_PORTS[0]}
cpsql "$C" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION bundlerec'
cpsql "$C" <<SQL
SET client_min_messages = warning;
CREATE TABLE raw (invoice_no text, stock_code text, description text, quantity integer,
	invoice_date timestamp, unit_price numeric, customer_id integer, country text);
\copy raw FROM PROGRAM 'zcat $data' WITH (FORMAT csv, HEADER true)
-- sales only, as in test/demo.sql; order ids as integers
CREATE TABLE all_lines AS
	SELECT invoice_no::integer AS order_id, stock_code AS item, quantity, unit_price AS price,
	       customer_id AS customer, invoice_date AS ordered_at, description AS name
	FROM raw
	WHERE invoice_no ~ '^[0-9]+\$' AND quantity > 0
	  AND stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE');
CREATE TABLE lines_local AS SELECT * FROM all_lines WHERE ordered_at < '2011-11-25';
CREATE TABLE lines_dist AS SELECT * FROM lines_local;
SELECT create_distributed_table('lines_dist', 'order_id', shard_count => ${BENCH_SHARDS:-32}) \gset
VACUUM ANALYZE lines_local;
VACUUM ANALYZE lines_dist;
SELECT bundlerec.create_model('loc', 'lines_local', basket => 'order_id', item => 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price', item_name => 'name') \gset
SELECT bundlerec.create_model('dist', 'lines_dist', basket => 'order_id', item => 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price', item_name => 'name') \gset
SELECT count(*) AS lines, count(DISTINCT order_id) AS orders,
       (SELECT count(*) FROM all_lines WHERE ordered_at >= '2011-11-25') AS appended_lines
FROM lines_local;
SQL

lo_bytes() { awk '/^ *lo:/ {print $2}' /proc/net/dev; }
# run refresh call $2 on the coordinator, labelled $1: seconds, loopback
# bytes, other traffic over 5 idle seconds after, and each stage's rows,
# seconds and loopback bytes (the counter sampled every 0.1 s, the stages
# laid end to end from the call's start)
measure() {
	local label=$1 sql=$2 a b t0 t1 idle secs sampler
	a=$(lo_bytes); t0=$(date +%s.%N)
	while :; do echo "$(date +%s.%N) $(lo_bytes)"; sleep 0.1; done >"$CITUS_BASE/$label.lo" &
	sampler=$!
	cpsql "$C" -At -F ' ' -c 'SET client_min_messages = warning' \
		-c "SELECT replace(stage, ' ', '_'), rows, seconds FROM $sql" >"$CITUS_BASE/$label.out"
	t1=$(date +%s.%N); b=$(lo_bytes)
	kill "$sampler"; wait "$sampler" 2>/dev/null || true
	secs=$(echo "$t1 - $t0" | bc)
	local i0 i1
	i0=$(lo_bytes); sleep 5; i1=$(lo_bytes)
	idle=$(echo "($i1 - $i0) * $secs / 5" | bc)
	printf '%-12s %8.2f s   loopback %12d bytes   (other traffic, from 5 idle seconds after: about %d bytes)\n' \
		"$label" "$secs" $((b - a)) "$idle"
	awk -v t0="$t0" 'NR == FNR { ts[n] = $1; by[n++] = $2; next }
		function at(t,  i) { for (i = 0; i < n - 1 && ts[i + 1] <= t; i++); return by[i] }
		FNR == 1 { t = t0 + 0.02; printf "    %-28s %9s %9s %14s\n", "stage", "rows", "seconds", "loopback bytes" }
		{ printf "    %-28s %9d %9.3f %14d\n", $1, $2, $3, at(t + $3) - at(t); t += $3 }' \
		"$CITUS_BASE/$label.lo" "$CITUS_BASE/$label.out"
}

echo "== full refresh"
measure full_local "bundlerec.refresh('loc')"
measure full_dist "bundlerec.refresh('dist')"
cpsql "$C" -c "INSERT INTO lines_local SELECT * FROM all_lines WHERE ordered_at >= '2011-11-25'" \
	-c "INSERT INTO lines_dist SELECT * FROM all_lines WHERE ordered_at >= '2011-11-25'"
echo "== incremental refresh (orders from 2011-11-25 on)"
measure inc_local "bundlerec.refresh('loc', true)"
measure inc_dist "bundlerec.refresh('dist', true)"

cpsql "$C" <<'SQL'
SET client_min_messages = warning;
\pset footer off
SET citus.enable_ddl_propagation = off;	-- pg_temp functions and views stay here
-- both models publish the same rows
CREATE FUNCTION pg_temp.differing(a text, b text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	ma bundlerec.models;
	mb bundlerec.models;
	t text;
	n bigint;
	out text[] := '{}';
BEGIN
	SELECT * INTO ma FROM bundlerec.models WHERE name = a;
	SELECT * INTO mb FROM bundlerec.models WHERE name = b;
	FOR t IN SELECT jsonb_object_keys(ma.tables) LOOP
		EXECUTE format('SELECT count(*) FROM ((SELECT x::text FROM %1$I.%2$I x EXCEPT ALL SELECT y::text FROM %3$I.%4$I y) '
		               'UNION ALL (SELECT y::text FROM %3$I.%4$I y EXCEPT ALL SELECT x::text FROM %1$I.%2$I x)) d',
		               ma.results_schema, ma.tables ->> t, mb.results_schema, mb.tables ->> t) INTO n;
		IF n > 0 THEN out := out || t; END IF;
	END LOOP;
	RETURN out;
END
$$;
SELECT pg_temp.differing('dist', 'loc') AS tables_that_differ,
       (SELECT count(*) FROM jsonb_object_keys((SELECT tables FROM bundlerec.models WHERE name = 'dist'))) AS tables_compared;

-- what the counting queries ship: by the order column (as refresh does
-- over a distributed source) and by its text form (as before)
SELECT bundlerec._lines_view(m, 'bl') FROM bundlerec.models m WHERE m.name = 'dist' \g /dev/null
CREATE FUNCTION pg_temp.received(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) ' || q LOOP
		IF r."QUERY PLAN" ~ 'Tuple data received from nodes' THEN
			RETURN substring(r."QUERY PLAN" FROM 'nodes: (.*)$');
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
SELECT q.what,
       pg_temp.received(format(q.sql, '_b')) AS by_order_column,
       pg_temp.received(format(q.sql, 'basket')) AS by_order_text
FROM (VALUES
	('item counts', 'SELECT item, count(DISTINCT %s), sum(quantity), sum(quantity * price), min(ordered_at), max(ordered_at) FROM pg_temp.bl GROUP BY item'),
	('customers', 'SELECT customer, count(DISTINCT %s), min(ordered_at), max(ordered_at) FROM pg_temp.bl WHERE customer IS NOT NULL GROUP BY customer'),
	('customer items', 'SELECT customer, item, count(DISTINCT %s), sum(quantity), min(ordered_at), max(ordered_at) FROM pg_temp.bl WHERE customer IS NOT NULL GROUP BY customer, item'),
	('orders (read step)', 'SELECT count(*), count(DISTINCT %s), max(ordered_at) FROM pg_temp.bl')) q(what, sql);
-- pair counts: one text state per shard, against every basket array
SELECT sum(result::bigint) AS pair_states_text_bytes
FROM run_command_on_shards('lines_dist', $$SELECT octet_length(bundlerec.basket_state(items)::text)
	FROM (SELECT order_id, array_agg(item::text) AS items FROM %s GROUP BY 1) b$$);
SELECT pg_temp.received('SELECT basket, item FROM pg_temp.bl') AS every_line_basket_item,
       pg_temp.received('SELECT * FROM pg_temp.bl') AS every_line_all_columns;
SQL
