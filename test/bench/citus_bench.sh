#!/usr/bin/env bash
# citus_bench: pair_counts over UCI Online Retail distributed on a local Citus
# cluster (test/citus/cluster.sh: a coordinator and two workers on this one
# machine) beside the same query over a local table on the coordinator, and
# what crosses the network: the text partial states the workers ship
# (pushed-down aggregation, citus.coordinator_aggregation_strategy =
# 'disabled') against the basket arrays Citus's default strategy
# ('row-gather') would ship, and the raw order lines.  One machine shows the
# overhead, not a speed-up.
#
# Needs the citus extension and ../shared/data/online_retail/online_retail.csv.gz
# (relative to the repository root); bundlerec must be installed (make install).
# Sales only, as in test/demo.sql.  Table distributed by invoice_no with
# BENCH_SHARDS shards (default 32, Citus's default).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. test/citus/cluster.sh
data=../shared/data/online_retail/online_retail.csv.gz
citus_available || { echo "citus is not installed: nothing to measure"; exit 0; }
[ -f "$data" ] || { echo "$data not found: nothing to measure"; exit 0; }
citus_cluster_start
C=${CITUS_PORTS[0]}
cpsql "$C" -c 'CREATE EXTENSION bundlerec'
cpsql "$C" <<SQL
SET client_min_messages = warning;
CREATE TABLE raw (invoice_no text, stock_code text, description text, quantity integer,
	invoice_date timestamp, unit_price numeric, customer_id integer, country text);
\copy raw FROM PROGRAM 'zcat $data' WITH (FORMAT csv, HEADER true)
CREATE TABLE lines_local AS
	SELECT invoice_no, stock_code, quantity, unit_price, customer_id FROM raw
	WHERE invoice_no NOT LIKE 'C%' AND quantity > 0
	  AND stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE');
CREATE TABLE lines_dist AS SELECT * FROM lines_local;
SELECT create_distributed_table('lines_dist', 'invoice_no', shard_count => ${BENCH_SHARDS:-32}) \gset
VACUUM ANALYZE lines_local;
VACUUM ANALYZE lines_dist;
SQL
cpsql "$C" <<'SQL'
SET jit = off;
SET max_parallel_workers_per_gather = 0;
\pset footer off
SELECT count(*) AS lines, count(DISTINCT invoice_no) AS baskets, count(DISTINCT stock_code) AS items,
       (SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'lines_dist'::regclass) AS shards
FROM lines_local;
\timing on
\echo local table, on the coordinator:
CREATE TEMP TABLE pc_local AS
	SELECT bundlerec.pair_counts(items) AS pc
	FROM (SELECT invoice_no, array_agg(stock_code) AS items FROM lines_local GROUP BY 1) b;
\echo distributed, partial aggregates on the workers (disabled):
SET citus.coordinator_aggregation_strategy = 'disabled';
CREATE TEMP TABLE pc_dist AS
	SELECT bundlerec.pair_counts(items) AS pc
	FROM (SELECT invoice_no, array_agg(stock_code) AS items FROM lines_dist GROUP BY 1) b;
\echo distributed, default strategy (row-gather):
RESET citus.coordinator_aggregation_strategy;
CREATE TEMP TABLE pc_gather AS
	SELECT bundlerec.pair_counts(items) AS pc
	FROM (SELECT invoice_no, array_agg(stock_code) AS items FROM lines_dist GROUP BY 1) b;
\timing off
SELECT (SELECT pc::text FROM pc_local) = (SELECT pc::text FROM pc_dist) AS dist_same,
       (SELECT pc::text FROM pc_local) = (SELECT pc::text FROM pc_gather) AS gather_same,
       (SELECT count(*) FROM bundlerec.pairs((SELECT pc FROM pc_local))) AS pairs;

-- bytes that cross to the coordinator, summed over the shards
CREATE TEMP TABLE shipped AS
SELECT 'pushed down: text partial states (one per shard)' AS what,
       sum(result::bigint) AS bytes
FROM run_command_on_shards('lines_dist', $$SELECT octet_length(bundlerec.basket_state(items)::text)
	FROM (SELECT invoice_no, array_agg(stock_code) AS items FROM %s GROUP BY 1) b$$)
UNION ALL
SELECT 'row-gather: one basket array (text) per order',
       sum(result::bigint)
FROM run_command_on_shards('lines_dist', $$SELECT sum(octet_length(items::text))
	FROM (SELECT invoice_no, array_agg(stock_code) AS items FROM %s GROUP BY 1) b$$)
UNION ALL
SELECT 'raw order lines (invoice_no, stock_code as text)',
       sum(result::bigint)
FROM run_command_on_shards('lines_dist', $$SELECT sum(octet_length(invoice_no) + octet_length(stock_code) + 2) FROM %s$$);
SELECT what, bytes, pg_size_pretty(bytes) AS size,
       round(bytes::numeric / (SELECT count(*) FROM lines_local), 2) AS bytes_per_line
FROM shipped;
SELECT octet_length((SELECT bundlerec.basket_state(items)::text
	FROM (SELECT invoice_no, array_agg(stock_code) AS items FROM lines_local GROUP BY 1) b)) AS one_local_state_text_bytes;
SQL
