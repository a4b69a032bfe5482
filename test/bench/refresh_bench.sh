#!/usr/bin/env bash
# refresh_bench: full and incremental refreshes of bundlerec models, each
# stage's rows and seconds (what bundlerec.refresh returns) and the
# backend's peak memory.  A benchmark, not a test: nothing is asserted
# about times.  Two shops, each split into all but the newest 1% of orders
# (the model's source at its full refresh) and that 1% (appended before an
# incremental refresh, whose time is then printed as a share of the full
# refresh's; the aim is 0.10 or less):
#
# 1. Online Retail, when ../shared/data/online_retail/online_retail.csv.gz
#    exists (UCI, 2010-12..2011-12; test/bench/refresh_retail.sql: sales
#    only, category = the last word of the description):
#      bundlerec.create_model('retail', 'refresh_bench.retail_lines',
#        'invoice_no', 'stock_code', customer => 'customer_id',
#        ordered_at => 'invoice_date', quantity => 'quantity',
#        price => 'unit_price', category => 'category',
#        item_name => 'description')
# 2. A generated shop (test/bench/refresh_gen.sql, seeded; described
#    there) of BENCH_LINES lines (5,000,000; 0 skips it), BENCH_CUSTOMERS
#    customers (200,000), BENCH_ITEMS items (20,000) with P(item = k) ~ 1/k,
#    40 categories, list prices, orders of about 5 lines spread over 2025,
#    every 10th order holding one of 500 planted 3-item bundles:
#      bundlerec.create_model('shop', 'refresh_bench.lines', 'order_id',
#        'item', customer => 'customer', ordered_at => 'ordered_at',
#        quantity => 'quantity', price => 'price', category => 'category')
#
# Both models have the default options.  Each refresh runs in its own psql
# session; right after it the same session reads the backend's VmHWM (peak
# resident memory, shared buffers it touched included) and VmRSS from
# /proc/<pg_backend_pid()>/status.
#
# `bash test/bench/refresh_bench.sh` installs what is missing, builds and
# installs bundlerec and runs against a throwaway cluster (or the server
# named by PG* variables); `--inside` uses the server named by PG* variables
# as is (the client must run on the server's machine to read /proc).
# Settings: BENCH_LINES, BENCH_CUSTOMERS, BENCH_ITEMS, BENCH_SEED (0.42),
# BENCH_RETAIL (1; 0 skips Online Retail), BENCH_DB (bench).  Output also
# goes to test/bench/out/refresh_bench.txt, step logs to
# test/bench/out/refresh-<stamp>/.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
shift

LINES=${BENCH_LINES:-5000000}
CUSTOMERS=${BENCH_CUSTOMERS:-200000}
ITEMS=${BENCH_ITEMS:-20000}
SEED=${BENCH_SEED:-0.42}
DB=${BENCH_DB:-bench}
RETAIL=${BENCH_RETAIL:-1}
RETAIL_GZ=../shared/data/online_retail/online_retail.csv.gz	# relative to the repo root
case "$LINES" in '' | *[!0-9]*) echo "BENCH_LINES must be a whole number, not '$LINES'" >&2; exit 2 ;; esac
for v in CUSTOMERS ITEMS; do
	case "${!v}" in '' | *[!0-9]* | 0) echo "BENCH_$v must be a positive integer, not '${!v}'" >&2; exit 2 ;; esac
done

cd "$BR_ROOT"
OUT=test/bench/out
STAMP=$(date +%Y%m%d-%H%M%S)
LOG="$OUT/refresh-$STAMP"
mkdir -p "$LOG"
br_bench_db "$DB"

since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# One refresh in its own session: its stage rows, then the backend's peak
# memory read from /proc by this client right after the statement.
refresh_with_memory() {
	local model=$1 incremental=$2 logfile="$LOG/refresh_$1_$2.log"
	bpsql -q -P footer=off >"$logfile" 2>&1 <<-SQL || { sed 's/^/   /' "$logfile" >&2; return 1; }
	SET client_min_messages = warning;
	SELECT pg_backend_pid() AS pid \\gset
	\\setenv BR_PID :pid
	SELECT clock_timestamp() AS t0 \\gset
	SELECT stage, rows, round(seconds::numeric, 2) AS seconds
	FROM bundlerec.refresh('$model', incremental => $incremental);
	SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS refresh_s \\gset
	\\echo refresh wall: :refresh_s s
	\\! grep -E '^(VmHWM|VmRSS|RssAnon|RssShmem):' /proc/\$BR_PID/status | tr -s ' \t' ' ' | sed 's/^/backend /'
	SQL
	sed 's/^/   /' "$logfile"
}

# Full refresh of model $1, append the lines of table $2 to its source $3,
# incremental refresh; prints both and their ratio.
full_then_incremental() {
	local model=$1 new=$2 source=$3 t0 full_s inc_s
	echo
	echo "== full refresh: SELECT * FROM bundlerec.refresh('$model')"
	t0=$(date +%s.%N)
	refresh_with_memory "$model" false
	full_s=$(since "$t0")

	echo
	echo "== append the newest 1% of orders ($new), then bundlerec.refresh('$model', incremental => true)"
	step "$LOG/append_$model.log" -c "INSERT INTO $source SELECT * FROM $new" -c "ANALYZE $source"
	t0=$(date +%s.%N)
	refresh_with_memory "$model" true
	inc_s=$(since "$t0")

	echo
	echo "== summary ($model)"
	bpsql -P footer=off -c "SELECT kind, rows_read, round(seconds::numeric, 1) AS seconds FROM bundlerec.refresh_history
	                        WHERE model = '$model' ORDER BY id" | sed 's/^/   /'
	bpsql -tA -c "SELECT 'refresh_history: incremental / full = '
	                     || round((max(seconds) FILTER (WHERE kind = 'incremental')
	                               / nullif(max(seconds) FILTER (WHERE kind = 'full'), 0))::numeric, 3)
	              FROM bundlerec.refresh_history WHERE model = '$model'" | sed 's/^/   /'
	awk -v f="$full_s" -v i="$inc_s" 'BEGIN { printf "   psql wall: full %.1f s, incremental %.1f s, incremental / full = %.3f\n", f, i, i / f }'
}

retail() {
	echo
	echo "==== Online Retail ($RETAIL_GZ)"
	if [ "$RETAIL" = 0 ]; then
		echo "   skipped (BENCH_RETAIL=0)"
		return 0
	fi
	if [ ! -f "$RETAIL_GZ" ]; then
		echo "   note: $RETAIL_GZ not found (relative to $BR_ROOT); skipped"
		return 0
	fi
	local t0
	t0=$(date +%s.%N)
	step "$LOG/retail_load.log" -f test/bench/refresh_retail.sql
	sed -n '/^ *lines *|/,/^([0-9]* row/p' "$LOG/retail_load.log" | sed 's/^/   /'
	echo "   loaded in $(since "$t0") s"
	full_then_incremental retail refresh_bench.retail_new refresh_bench.retail_lines
}

generated() {
	echo
	echo "==== generated shop: $LINES lines, $CUSTOMERS customers, $ITEMS items, seed $SEED (test/bench/refresh_gen.sql)"
	if [ "$LINES" = 0 ]; then
		echo "   skipped (BENCH_LINES=0)"
		return 0
	fi
	local t0
	t0=$(date +%s.%N)
	step "$LOG/gen.log" -v lines="$LINES" -v customers="$CUSTOMERS" -v items="$ITEMS" -v seed="$SEED" \
		-f test/bench/refresh_gen.sql
	sed -n '/^ *lines *|/,/^([0-9]* row/p' "$LOG/gen.log" | sed 's/^/   /'
	echo "   generated in $(since "$t0") s"
	step "$LOG/split.log" <<-'SQL'
	SET client_min_messages = warning;
	SET search_path = refresh_bench, public;
	-- a spilling hash aggregate over 5M lines at the default 4MB took minutes
	SET work_mem = '256MB';
	-- the newest 1% of orders are held out for the incremental refresh
	CREATE TABLE cut AS
		SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY ordered_at) AS at
		FROM (SELECT order_id, min(ordered_at) AS ordered_at FROM shop_lines GROUP BY order_id) o;
	CREATE TABLE lines AS SELECT * FROM shop_lines WHERE ordered_at < (SELECT at FROM cut);
	CREATE TABLE new_lines AS SELECT * FROM shop_lines WHERE ordered_at >= (SELECT at FROM cut);
	CREATE INDEX ON lines (ordered_at);
	CREATE INDEX ON lines (order_id);
	VACUUM ANALYZE lines;
	SELECT bundlerec.create_model('shop', 'refresh_bench.lines', 'order_id', 'item',
		customer => 'customer', ordered_at => 'ordered_at', quantity => 'quantity',
		price => 'price', category => 'category');
	SQL
	bpsql -tA -c "SELECT 'model source: ' || count(*) || ' lines; held out: '
	                     || (SELECT count(*) FROM refresh_bench.new_lines) || ' lines (newest 1% of orders)'
	              FROM refresh_bench.lines" | sed 's/^/   /'
	full_then_incremental shop refresh_bench.new_lines refresh_bench.lines
}

main() {
	echo "== refresh_bench $STAMP (logs: $LOG)"
	bpsql -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS bundlerec" \
		-c "DROP SCHEMA IF EXISTS refresh_bench CASCADE" -c "CREATE SCHEMA refresh_bench"
	local m
	for m in shop retail; do
		bpsql -q -c "SET client_min_messages = warning" -c "SELECT bundlerec.drop_model('$m')" >/dev/null 2>&1 || true
	done
	# LOAD (superuser) so that pg_settings lists bundlerec's settings
	bpsql -tA -q <<-'SQL'
	\set ON_ERROR_STOP 0
	LOAD 'bundlerec';
	\set ON_ERROR_STOP 1
	SELECT 'server:   ' || version();
	SELECT 'bundlerec ' || extversion FROM pg_extension WHERE extname = 'bundlerec';
	SELECT 'settings: ' || string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
	FROM pg_settings WHERE name IN ('bundlerec.memory_limit', 'bundlerec.blas_threads', 'work_mem',
	                                'shared_buffers', 'max_parallel_workers_per_gather', 'jit');
	SQL
	echo "machine:  $(nproc) CPUs, $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM"
	retail
	generated
}

main 2>&1 | tee "$OUT/refresh_bench.txt"
exit "${PIPESTATUS[0]}"
