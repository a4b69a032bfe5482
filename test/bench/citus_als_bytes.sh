#!/usr/bin/env bash
# citus_als_bytes: what one ALS iteration would ship between nodes if the
# customer items of UCI Online Retail (sales, as the models read them) were
# distributed by customer on a local Citus cluster (test/citus/cluster.sh),
# for the design in README "Scaling out with Citus": the customer step on
# the workers where the customers' rows are, the item step's normal
# equations accumulated there per shard and summed and solved on the
# coordinator.  Counted from the data: the items each shard touches (one
# k x k Gram block, upper triangle, and one k-vector right-hand side per
# shard and item), the item factors broadcast to the workers, and, for the
# other way round, the customer factors and interactions the coordinator
# would read instead.  Text sizes are measured on random factors of the
# same shape (Citus ships partial states as text).
#
# Needs the citus extension and ../shared/data/online_retail/online_retail.csv.gz.
# FACTORS (default 32), BENCH_SHARDS (default 32).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. test/citus/cluster.sh
data=../shared/data/online_retail/online_retail.csv.gz
citus_available || { echo "citus is not installed: nothing to measure"; exit 0; }
[ -f "$data" ] || { echo "$data not found: nothing to measure"; exit 0; }
citus_cluster_start
C=${CITUS_PORTS[0]}
cpsql "$C" -v k="${FACTORS:-32}" -v shards="${BENCH_SHARDS:-32}" <<SQL
SET client_min_messages = warning;
CREATE TABLE raw (invoice_no text, stock_code text, description text, quantity integer,
	invoice_date timestamp, unit_price numeric, customer_id integer, country text);
\copy raw FROM PROGRAM 'zcat $data' WITH (FORMAT csv, HEADER true)
CREATE TABLE ci AS
	SELECT customer_id AS customer, stock_code AS item, count(DISTINCT invoice_no) AS orders
	FROM raw
	WHERE invoice_no ~ '^[0-9]+\$' AND quantity > 0 AND customer_id IS NOT NULL
	  AND stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE')
	GROUP BY 1, 2;
SELECT create_distributed_table('ci', 'customer', shard_count => :shards) \gset
\pset footer off
SELECT count(DISTINCT customer) AS customers, count(DISTINCT item) AS items, count(*) AS interactions,
       :k AS factors FROM ci;

-- the items each shard touches, and each worker
CREATE TEMP TABLE shard_items AS
	SELECT s.shardid, p.nodeport, r.result::bigint AS items
	FROM run_command_on_shards('ci', 'SELECT count(DISTINCT item) FROM %s') r
	JOIN pg_dist_shard s USING (shardid) JOIN pg_dist_shard_placement p USING (shardid);
CREATE TEMP TABLE node_items AS
	SELECT p.nodeport, count(DISTINCT i) AS items
	FROM run_command_on_shards('ci', 'SELECT array_agg(DISTINCT item) FROM %s') r
	JOIN pg_dist_shard_placement p USING (shardid),
	LATERAL unnest(r.result::text[]) i
	GROUP BY p.nodeport;

-- text sizes of one item's block and of factor vectors, random values
CREATE TEMP TABLE sizes AS SELECT
	(SELECT octet_length(array_agg(random())::text) FROM generate_series(1, :k * (:k + 1) / 2 + :k)) AS block_text,
	(:k * (:k + 1) / 2 + :k) * 8 AS block_binary,
	(SELECT octet_length(array_agg(random()::real)::text) FROM generate_series(1, :k)) AS vector_text,
	:k * 4 AS vector_binary;
SELECT * FROM sizes;

SELECT what, bytes, pg_size_pretty(bytes) AS size FROM (
	SELECT 1 AS o, 'item step, per shard: Gram blocks + right-hand sides (binary)' AS what,
	       (SELECT sum(items) FROM shard_items) * block_binary AS bytes FROM sizes
	UNION ALL SELECT 2, 'item step, per shard: the same as text (Citus partial states)',
	       (SELECT sum(items) FROM shard_items) * block_text FROM sizes
	UNION ALL SELECT 3, 'item step, summed per worker first (binary)',
	       (SELECT sum(items) FROM node_items) * block_binary FROM sizes
	UNION ALL SELECT 4, 'customer step: item factors broadcast to each worker (binary)',
	       (SELECT count(DISTINCT item) FROM ci) * vector_binary * (SELECT count(*) FROM node_items) FROM sizes
	UNION ALL SELECT 5, 'customer step: the same as text',
	       (SELECT count(DISTINCT item) FROM ci) * vector_text * (SELECT count(*) FROM node_items) FROM sizes
	UNION ALL SELECT 6, 'instead: customer factors to the coordinator (binary)',
	       (SELECT count(DISTINCT customer) FROM ci) * vector_binary FROM sizes
	UNION ALL SELECT 7, 'instead: customer factors to the coordinator (text)',
	       (SELECT count(DISTINCT customer) FROM ci) * vector_text FROM sizes
	UNION ALL SELECT 8, 'once per refresh: the interactions (customer, item, orders) as text',
	       (SELECT sum(octet_length(customer::text) + octet_length(item) + octet_length(orders::text) + 3) FROM ci)
) x ORDER BY o;
SELECT sum(items) AS shard_item_blocks, (SELECT sum(items) FROM node_items) AS worker_item_blocks,
       (SELECT count(DISTINCT item) FROM ci) AS items
FROM shard_items;
SQL
