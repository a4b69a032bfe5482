#!/usr/bin/env bash
# refresh_bench: a full refresh of a bundlerec model on a generated shop of
# BENCH_LINES order lines (default 5,000,000), each stage's rows and seconds
# (what bundlerec.refresh returns) and the backend's peak memory; then an
# incremental refresh after appending the newest 1% of orders, and its time
# as a share of the full refresh's.  A benchmark, not a test: nothing is
# asserted about times.
#
# Data: test/bench/refresh_gen.sql (seeded; described there): BENCH_LINES
# lines, BENCH_CUSTOMERS customers (200,000), BENCH_ITEMS items (20,000)
# with P(item = k) ~ 1/k, 40 categories, list prices, orders of about 5
# lines spread over 2025, every 10th order holding one of 500 planted
# 3-item bundles.  refresh_bench.lines = the lines of all but the newest 1%
# of orders (by ordered_at); the model is
#   bundlerec.create_model('shop', 'refresh_bench.lines', 'order_id', 'item',
#     customer => 'customer', ordered_at => 'ordered_at', quantity => 'quantity',
#     price => 'price', category => 'category')
# with the default options.  The full refresh runs in its own psql session;
# right after it the same session reads the backend's VmHWM (peak resident
# memory, shared buffers it touched included) and VmRSS from
# /proc/<pg_backend_pid()>/status.  Then the newest 1% is INSERTed and
# ANALYZEd and bundlerec.refresh('shop', incremental => true) runs in a
# fresh session, measured the same way.
#
# `bash test/bench/refresh_bench.sh` installs what is missing, builds and
# installs bundlerec and runs against a throwaway cluster (or the server
# named by PG* variables); `--inside` uses the server named by PG* variables
# as is (the client must run on the server's machine to read /proc).
# Settings: BENCH_LINES, BENCH_CUSTOMERS, BENCH_ITEMS, BENCH_SEED (0.42),
# BENCH_DB (bench).  Output also goes to test/bench/out/refresh_bench.txt,
# step logs to test/bench/out/refresh-<stamp>/.
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
for v in LINES CUSTOMERS ITEMS; do
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
	local incremental=$1 logfile="$LOG/refresh_$1.log"
	bpsql -q -P footer=off >"$logfile" 2>&1 <<-SQL || { sed 's/^/   /' "$logfile" >&2; return 1; }
	SET client_min_messages = warning;
	SELECT pg_backend_pid() AS pid \\gset
	\\setenv BR_PID :pid
	SELECT clock_timestamp() AS t0 \\gset
	SELECT stage, rows, round(seconds::numeric, 2) AS seconds
	FROM bundlerec.refresh('shop', incremental => $incremental);
	SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2) AS refresh_s \\gset
	\\echo refresh wall: :refresh_s s
	\\! grep -E '^(VmHWM|VmRSS|RssAnon|RssShmem):' /proc/\$BR_PID/status | tr -s ' \t' ' ' | sed 's/^/backend /'
	SQL
	sed 's/^/   /' "$logfile"
}

main() {
	echo "== refresh_bench $STAMP (logs: $LOG)"
	bpsql -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS bundlerec" \
		-c "DROP SCHEMA IF EXISTS refresh_bench CASCADE" -c "CREATE SCHEMA refresh_bench"
	bpsql -q -c "SET client_min_messages = warning" -c "SELECT bundlerec.drop_model('shop')" >/dev/null 2>&1 || true
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

	echo
	echo "== generating $LINES lines: $CUSTOMERS customers, $ITEMS items, seed $SEED (test/bench/refresh_gen.sql)"
	local t0
	t0=$(date +%s.%N)
	step "$LOG/gen.log" -v lines="$LINES" -v customers="$CUSTOMERS" -v items="$ITEMS" -v seed="$SEED" \
		-f test/bench/refresh_gen.sql
	sed -n '/^ *lines *|/,/^([0-9]* row/p' "$LOG/gen.log" | sed 's/^/   /'
	echo "   generated in $(since "$t0") s"
	step "$LOG/split.log" <<-'SQL'
	SET client_min_messages = warning;
	SET search_path = refresh_bench, public;
	-- the newest 1% of orders are held out for the incremental refresh
	CREATE TABLE cut AS
		SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY ordered_at) AS at
		FROM (SELECT DISTINCT order_id, ordered_at FROM shop_lines) o;
	CREATE TABLE lines AS SELECT * FROM shop_lines WHERE ordered_at < (SELECT at FROM cut);
	CREATE INDEX ON lines (ordered_at);
	CREATE INDEX ON lines (order_id);
	VACUUM ANALYZE lines;
	SELECT bundlerec.create_model('shop', 'refresh_bench.lines', 'order_id', 'item',
		customer => 'customer', ordered_at => 'ordered_at', quantity => 'quantity',
		price => 'price', category => 'category');
	SQL
	bpsql -tA -c "SELECT 'model source: ' || count(*) || ' lines; held out: '
	                     || (SELECT count(*) FROM refresh_bench.shop_lines) - count(*) || ' lines (newest 1% of orders)'
	              FROM refresh_bench.lines" | sed 's/^/   /'

	echo
	echo "== full refresh: SELECT * FROM bundlerec.refresh('shop')"
	t0=$(date +%s.%N)
	refresh_with_memory false
	local full_s
	full_s=$(since "$t0")

	echo
	echo "== append the newest 1% of orders, then bundlerec.refresh('shop', incremental => true)"
	step "$LOG/append.log" -c "INSERT INTO refresh_bench.lines SELECT * FROM refresh_bench.shop_lines
	                            WHERE ordered_at >= (SELECT at FROM refresh_bench.cut)" \
		-c "ANALYZE refresh_bench.lines"
	t0=$(date +%s.%N)
	refresh_with_memory true
	local inc_s
	inc_s=$(since "$t0")

	echo
	echo "== summary ($LINES lines)"
	bpsql -P footer=off -c "SELECT kind, round(seconds::numeric, 1) AS seconds FROM bundlerec.refresh_history
	                        WHERE model = 'shop' ORDER BY id" | sed 's/^/   /'
	awk -v f="$full_s" -v i="$inc_s" 'BEGIN { printf "   psql wall: full %.1f s, incremental %.1f s, incremental / full = %.3f\n", f, i, i / f }'
}

main 2>&1 | tee "$OUT/refresh_bench.txt"
exit "${PIPESTATUS[0]}"
