#!/usr/bin/env bash
# serving_bench: a bundlerec model on UCI Online Retail, end to end: how long
# a full and an incremental refresh take, whether the incremental one gives
# the same counts as a full one, and the latency of the serving functions
# under pgbench.
#
# `bash test/bench/serving_bench.sh` installs what is missing, builds and
# installs bundlerec, and runs against a throwaway cluster (or the server
# named by PG* variables); `bash test/bench/serving_bench.sh --inside` skips
# the install/build and uses the server named by PG* variables as is.
#
# Data: the full UCI Online Retail data, ../shared/data/online_retail/
# online_retail.csv.gz (relative to the repository root), when present, else
# the shipped sample test/data/online_retail_sample.csv (the output says
# which).  test/bench/serving_load.sql loads it into schema serving_bench:
# order_lines (the CSV), view products (one description per stock code: the
# first non-empty one by invoice date; category = its last word,
# (regexp_match(description, '(\w+)\s*$'))[1]) and view sales (as in
# test/demo.sql: no 'C' invoices, quantity > 0, no postage/fee codes; every
# column plus category).
#
# 1. Refresh.  Table serving_bench.lines = the sales before (last order time
#    - BENCH_HOLDOUT_DAYS days), indexed on invoice_date and invoice_no;
#    bundlerec.create_model('shop', 'serving_bench.lines', 'invoice_no',
#    'stock_code', customer => 'customer_id', ordered_at => 'invoice_date',
#    quantity => 'quantity', price => 'unit_price', category => 'category')
#    with the default options; timed: SELECT * FROM bundlerec.refresh('shop')
#    (full; its per-stage rows are printed).  Then the held-out last days are
#    INSERTed (and ANALYZEd) and bundlerec.refresh('shop', incremental => true)
#    is timed; then a second model 'shop_full' on the same table, same
#    arguments, gets a full refresh of the same (complete) data, timed.
#    Times are wall-clock seconds around the psql call (statement and commit);
#    refresh_history.seconds (the function alone) is shown beside them.
#    Check: the count tables of 'shop' after the incremental refresh equal
#    those of 'shop_full' (_item_counts, _pair_counts, customers,
#    customer_items: EXCEPT both ways gives 0 rows), and so do items and
#    pairs (which the incremental refresh rebuilds from those counts).
# 2. Latency.  Arguments: serving_bench.bench_items = the BENCH_ARGS
#    best-selling items (by orders) + BENCH_UNKNOWN unknown ones;
#    bench_customers = BENCH_ARGS customers (by md5) + BENCH_UNKNOWN unknown
#    ones; bench_carts = BENCH_ARGS real baskets with >= 2 distinct items (by
#    md5 of the invoice) less one item (the one with the smallest
#    md5(invoice || '/' || item)); bench_carts50 = those of at most 50 items
#    (complete_cart's aim is stated for them).  First VACUUM ANALYZE and CHECKPOINT (what
#    autovacuum and the checkpointer would do after the refreshes), then
#    test/bench/serving_calls.sql calls every function once per argument in
#    one session, timed in the server with clock_timestamp() (second of two
#    passes): rows per call, share of rows from the model (not a 'popular'
#    fallback), per-call ms, complete_cart by cart size, the slowest call of
#    each function; the plans of those slowest calls (auto_explain with
#    nested statements) go to the log folder's explain.log.
#    Then pgbench: each script in test/bench/serving/ draws an id
#    (\set r random(1, :n_...)) and runs one call,
#    SELECT count(*) FROM bundlerec.<function>('shop', (SELECT ... WHERE id = :r), k):
#    frequently_bought_together k 10, similar_items 10, complete_cart 10
#    (all carts, and carts of at most 50 items),
#    bundles_for_item 5, bundles_for_item 5 explore => true,
#    bundles_for_customer 5, recommend_items 10; baselines measured in the
#    same run: SELECT 1, and the plain table reads a caller would otherwise
#    write: SELECT * FROM bundlerec_shop.pairs WHERE item = ... ORDER BY rank
#    LIMIT 10 and the same on bundlerec_shop.recommendations.
#    pgbench -n -M BENCH_PROTOCOL -c BENCH_CLIENTS -j BENCH_CLIENTS
#    -T BENCH_DURATION -l; latency percentiles (nearest rank), mean and max
#    are computed here from the per-transaction log (third column, in
#    microseconds; pgbench logs most SELECT 1 transactions as 0 us, so for
#    that one c/tps = clients / tps, Little's law, is the mean to trust);
#    x_base = the function's mean latency / its baseline's (pairs for item
#    and cart functions, recommendations for customer ones); bg% = CPU busy
#    on this machine in the 2 s before / after each run, while the benchmark
#    itself runs nothing (other work on a shared machine skews tail
#    latencies); each run first waits up to BENCH_QUIET_WAIT s for it to
#    drop to BENCH_QUIET_PCT %.
#
# Settings (environment):
#   BENCH_DB             database, created when missing (default: PGDATABASE unless
#                        that is postgres, else bench)
#   BENCH_DURATION       pgbench seconds per script (default 15)
#   BENCH_CLIENTS        pgbench clients = threads (default 2)
#   BENCH_PROTOCOL       pgbench -M: simple, extended or prepared (default simple)
#   BENCH_HOLDOUT_DAYS   days held out for the incremental refresh (default 7)
#   BENCH_ARGS           known items / customers / carts (default 500)
#   BENCH_UNKNOWN        unknown items / customers (default 50)
#   BENCH_P99_TARGET_MS  the p99 latency target, in ms (default 2)
#   BENCH_DATA           auto (the full data when present, default) or sample
#   BENCH_QUIET_WAIT     seconds each pgbench run waits at most for the machine to be
#                        quiet, i.e. at most BENCH_QUIET_PCT % CPU busy (defaults 120, 20)
#   PGBENCH              the pgbench to use (default: PostgreSQL 15's)
# Output: everything printed also goes to test/bench/out/serving_bench.txt;
# step logs and pgbench's own output to test/bench/out/serving-<stamp>/.
# Exit status: 0 when the incremental results equal the full ones and every
# pgbench run finished without errors, 1 otherwise (a p99 above the target
# is reported, not an error).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
shift

DB=${BENCH_DB:-${PGDATABASE:-bench}}
if [ -z "${BENCH_DB:-}" ] && [ "$DB" = postgres ]; then DB=bench; fi	# not the maintenance database
DURATION=${BENCH_DURATION:-15}
CLIENTS=${BENCH_CLIENTS:-2}
PROTOCOL=${BENCH_PROTOCOL:-simple}
HOLDOUT=${BENCH_HOLDOUT_DAYS:-7}
NARGS=${BENCH_ARGS:-500}
NUNKNOWN=${BENCH_UNKNOWN:-50}
TARGET_MS=${BENCH_P99_TARGET_MS:-2}
DATA=${BENCH_DATA:-auto}
QUIET_WAIT=${BENCH_QUIET_WAIT:-120}
QUIET_PCT=${BENCH_QUIET_PCT:-20}
FULL_GZ=../shared/data/online_retail/online_retail.csv.gz	# relative to the repo root

for v in DURATION CLIENTS HOLDOUT NARGS; do
	case "${!v}" in '' | *[!0-9]* | 0) echo "BENCH_$v must be a positive integer, not '${!v}'" >&2; exit 2 ;; esac
done
case "$QUIET_WAIT$QUIET_PCT" in '' | *[!0-9]*) echo "BENCH_QUIET_WAIT and BENCH_QUIET_PCT must be whole numbers" >&2; exit 2 ;; esac
case "$NUNKNOWN" in '' | *[!0-9]*) echo "BENCH_UNKNOWN must be a whole number" >&2; exit 2 ;; esac
case "$TARGET_MS" in '' | *[!0-9.]*) echo "BENCH_P99_TARGET_MS must be a number" >&2; exit 2 ;; esac
case "$DATA" in auto | sample) ;; *) echo "BENCH_DATA must be auto or sample" >&2; exit 2 ;; esac
case "$PROTOCOL" in simple | extended | prepared) ;; *) echo "BENCH_PROTOCOL must be simple, extended or prepared" >&2; exit 2 ;; esac

# pgbench: PostgreSQL 15's, else the server build's, else the one on PATH.
if [ -z "${PGBENCH:-}" ]; then
	for p in /usr/lib/postgresql/15/bin/pgbench "$(pg_config --bindir 2>/dev/null)/pgbench" "$(command -v pgbench || true)"; do
		if [ -x "$p" ]; then PGBENCH=$p; break; fi
	done
fi
if [ -z "${PGBENCH:-}" ] || [ ! -x "$PGBENCH" ]; then
	echo "pgbench not found; set PGBENCH" >&2
	exit 2
fi

cd "$BR_ROOT"
OUT=test/bench/out
mkdir -p "$OUT"
STAMP=$(date +%Y%m%d-%H%M%S)
LOG="$OUT/serving-$STAMP"
mkdir -p "$LOG"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

br_bench_db "$DB"

# Seconds since t0 (date +%s.%N).
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }

# A timed refresh: prints its stage rows; sets REFRESH_S (wall clock) and
# REFRESH_FN_S (refresh_history.seconds).
timed_refresh() {
	local model=$1 incremental=$2 t0
	t0=$(date +%s.%N)
	bpsql -q -P footer=off -c "SET client_min_messages = warning" \
		-c "SELECT * FROM bundlerec.refresh('$model', incremental => $incremental)" \
		>"$LOG/refresh_${model}_$incremental.log" 2>&1 || {
		sed 's/^/   /' "$LOG/refresh_${model}_$incremental.log"
		return 1
	}
	REFRESH_S=$(since "$t0")
	sed 's/^/   /' "$LOG/refresh_${model}_$incremental.log"
	REFRESH_FN_S=$(bpsql -tA -c "SELECT round(seconds::numeric, 3) || ' s (' || kind || ')'
	                            FROM bundlerec.refresh_history WHERE model = '$model' ORDER BY id DESC LIMIT 1")
}

# Percent of all CPUs busy over the next $1 seconds (from /proc/stat).
cpu_busy() {
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit }' /proc/stat)
	sleep "$1"
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2];
		if (busy + idle > 0) printf "%.0f", 100 * busy / (busy + idle); else print "?" }'
}

# One pgbench run: NAME SCRIPT BASELINE_NAME LABEL; prints a table row and
# keeps the mean in MEAN_<name>.
pgbench_failed=0
run_pgbench() {
	local name=$1 script=$2 base=$3 label=$4 out="$LOG/pgbench_$1.log" rc=0 tps little stats n mean p50 p95 p99 max base_mean xb ok bg
	# wait (up to BENCH_QUIET_WAIT s) for the machine to be quiet
	local waited=0
	while bg=$(cpu_busy 2); [ "$bg" != "?" ] && [ "$bg" -gt "$QUIET_PCT" ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
		waited=$((waited + 2))
	done
	"$PGBENCH" -n -M "$PROTOCOL" -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" \
		-D n_items="$N_ITEMS" -D n_customers="$N_CUSTOMERS" -D n_carts="$N_CARTS" -D n_carts50="$N_CARTS50" \
		-l --log-prefix="$TMP/$name" -f "test/bench/serving/$script" >"$out" 2>&1 || rc=$?
	bg="$bg/$(cpu_busy 2)"
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$out")
	# the mean latency of a closed loop by Little's law: clients / tps
	little=$(awk -v t="$tps" -v c="$CLIENTS" 'BEGIN { if (t > 0) printf "%.3f", 1000 * c / t; else print "-" }')
	tps=$(awk -v t="$tps" 'BEGIN { if (t != "") printf "%.0f", t; else print "?" }')
	cat "$TMP/$name".* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n >"$TMP/$name.lat"
	rm -f "$TMP/$name".[0-9]*
	# n mean p50 p95 p99 max, in ms
	stats=$(awk '{ v[NR] = $1; s += $1 }
		function q(p,  i) { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; return v[i] / 1000 }
		END { if (NR == 0) { print "0 - - - - -"; exit }
		      printf "%d %.3f %.3f %.3f %.3f %.3f\n", NR, s / NR / 1000, q(0.50), q(0.95), q(0.99), v[NR] / 1000 }' \
		"$TMP/$name.lat")
	read -r n mean p50 p95 p99 max <<<"$stats"
	printf -v "MEAN_$name" '%s' "$mean"
	xb=-
	if [ -n "$base" ]; then
		base_mean=MEAN_$base
		xb=$(awk -v a="$mean" -v b="${!base_mean:-}" 'BEGIN { if (b > 0 && a != "-") printf "%.1f", a / b; else print "-" }')
	fi
	ok=$(awk -v p="$p99" -v t="$TARGET_MS" 'BEGIN { if (p == "-") print "-"; else if (p < t) print "yes"; else print "NO" }')
	if [ "$rc" != 0 ] || grep -q -e 'aborted' -e 'ERROR' "$out" || [ "$n" = 0 ]; then
		pgbench_failed=1
		ok="FAILED (rc $rc, see $out)"
	fi
	printf '%-40s %7s %6s %7s %7s %7s %7s %7s %8s %6s  %s\n' "$label" "$bg" "$tps" "$little" "$mean" "$p50" "$p95" "$p99" "$max" "$xb" "$ok"
}

main() {
	set -e
	echo "== serving_bench $STAMP (logs: $LOG)"
	bpsql -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS bundlerec"
	bpsql -tA -F ' ' <<'SQL'
SELECT 'server:   ' || version();
SELECT 'bundlerec ' || extversion FROM pg_extension WHERE extname = 'bundlerec';
SELECT 'settings: ' || string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
FROM pg_settings
WHERE name IN ('work_mem', 'shared_buffers', 'max_parallel_workers_per_gather', 'jit',
               'synchronous_commit', 'bundlerec.blas_threads');
SQL
	echo "machine:  $(nproc) CPUs, $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM (this client); pgbench: $PGBENCH ($("$PGBENCH" --version | awk '{print $3}'))"

	echo
	echo "== Online Retail"
	local have_full=0
	if [ "$DATA" = sample ]; then
		echo "   data: the shipped SAMPLE test/data/online_retail_sample.csv (BENCH_DATA=sample)"
	elif [ -f "$FULL_GZ" ]; then
		have_full=1
		echo "   data: the FULL data set, $FULL_GZ"
	else
		echo "   data: the shipped SAMPLE test/data/online_retail_sample.csv ($FULL_GZ not found, relative to $BR_ROOT)"
	fi
	local t0
	t0=$(date +%s.%N)
	step "$LOG/load.log" -v have_full="$have_full" -v holdout_days="$HOLDOUT" \
		-v bench_n="$NARGS" -v bench_unknown="$NUNKNOWN" -f test/bench/serving_load.sql || return 1
	bpsql -P footer=off -x -c "SELECT * FROM serving_bench.load_summary" | sed 's/^/   /'
	echo "   loaded in $(since "$t0") s (not part of any timing)"

	echo
	echo "== 1. Refresh"
	bpsql -q -tA -c "SET client_min_messages = warning" -c "
		SELECT 'create_model: ' || name || ' on ' || source::text || ', results in ' || results_schema
		FROM bundlerec.create_model('shop', 'serving_bench.lines', 'invoice_no', 'stock_code',
		       customer => 'customer_id', ordered_at => 'invoice_date', quantity => 'quantity',
		       price => 'unit_price', category => 'category')" | sed 's/^/   /'
	local lines0 orders0 lines1 orders1 added_lines added_orders
	read -r lines0 orders0 <<<"$(bpsql -tA -F ' ' -c "SELECT count(*), count(DISTINCT invoice_no) FROM serving_bench.lines")"
	echo
	echo "-- full refresh of 'shop': $lines0 lines, $orders0 orders (before the cut)"
	timed_refresh shop false || return 1
	local full0_s=$REFRESH_S full0_fn=$REFRESH_FN_S
	echo "   full refresh: $full0_s s wall clock; refresh_history: $full0_fn"

	echo
	read -r added_lines added_orders <<<"$(bpsql -tA -F ' ' -c "
		INSERT INTO serving_bench.lines SELECT s.* FROM serving_bench.sales s
		WHERE s.invoice_date >= (SELECT cut FROM serving_bench.params);
		ANALYZE serving_bench.lines;
		SELECT count(*), count(DISTINCT invoice_no) FROM serving_bench.lines
		WHERE invoice_date >= (SELECT cut FROM serving_bench.params)" | tail -n 1)"
	read -r lines1 orders1 <<<"$(bpsql -tA -F ' ' -c "SELECT count(*), count(DISTINCT invoice_no) FROM serving_bench.lines")"
	echo "-- incremental refresh of 'shop': + $added_lines lines, $added_orders orders (the last $HOLDOUT days; now $lines1 lines, $orders1 orders)"
	timed_refresh shop true || return 1
	local inc_s=$REFRESH_S inc_fn=$REFRESH_FN_S
	echo "   incremental refresh: $inc_s s wall clock; refresh_history: $inc_fn"

	echo
	echo "-- full refresh of the same $lines1 lines: model 'shop_full' on serving_bench.lines, same arguments"
	bpsql -q -tA -c "SET client_min_messages = warning" -c "
		SELECT FROM bundlerec.create_model('shop_full', 'serving_bench.lines', 'invoice_no', 'stock_code',
		       customer => 'customer_id', ordered_at => 'invoice_date', quantity => 'quantity',
		       price => 'unit_price', category => 'category')" >/dev/null
	timed_refresh shop_full false || return 1
	local full1_s=$REFRESH_S full1_fn=$REFRESH_FN_S
	echo "   full refresh: $full1_s s wall clock; refresh_history: $full1_fn"

	echo
	echo "-- incremental 'shop' vs full 'shop_full' (EXCEPT both ways; the count tables must match, and so"
	echo "   must items and pairs, rebuilt from them)"
	local sql="" t
	for t in _item_counts _pair_counts customers customer_items items pairs; do
		[ -n "$sql" ] && sql="$sql UNION ALL "
		sql="$sql SELECT '$t' AS \"table\",
			(SELECT count(*) FROM bundlerec_shop.$t) AS rows_incremental,
			(SELECT count(*) FROM bundlerec_shop_full.$t) AS rows_full,
			(SELECT count(*) FROM (SELECT * FROM bundlerec_shop.$t EXCEPT SELECT * FROM bundlerec_shop_full.$t) x) AS only_incremental,
			(SELECT count(*) FROM (SELECT * FROM bundlerec_shop_full.$t EXCEPT SELECT * FROM bundlerec_shop.$t) x) AS only_full"
	done
	bpsql -q -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS serving_bench.refresh_check" \
		-c "CREATE TABLE serving_bench.refresh_check AS $sql"
	bpsql -q -P footer=off -c "
		SELECT *, CASE WHEN only_incremental = 0 AND only_full = 0 AND rows_incremental = rows_full
		               THEN 'yes' ELSE 'NO' END AS equal
		FROM serving_bench.refresh_check" | sed 's/^/   /'
	local bad
	bad=$(bpsql -tA -c "SELECT count(*) FROM serving_bench.refresh_check
	                    WHERE only_incremental + only_full > 0 OR rows_incremental <> rows_full")

	echo
	echo "-- refresh summary"
	{
		printf '   %-44s %s\n' "lines (complete data)" "$lines1"
		printf '   %-44s %s\n' "orders (complete data)" "$orders1"
		printf '   %-44s %s\n' "lines / orders in the first full refresh" "$lines0 / $orders0"
		printf '   %-44s %s\n' "lines / orders added (last $HOLDOUT days)" "$added_lines / $added_orders"
		printf '   %-44s %s s (function: %s)\n' "full refresh, before the cut ('shop')" "$full0_s" "$full0_fn"
		printf '   %-44s %s s (function: %s)\n' "incremental refresh ('shop')" "$inc_s" "$inc_fn"
		printf '   %-44s %s s (function: %s)\n' "full refresh, complete data ('shop_full')" "$full1_s" "$full1_fn"
		printf '   %-44s %s\n' "full / incremental (complete data, wall)" \
			"$(awk -v a="$full1_s" -v b="$inc_s" 'BEGIN { printf "%.2f", a / b }')"
		if [ "$bad" = 0 ]; then
			printf '   %-44s %s\n' "incremental = full" "yes (all 6 tables identical)"
		else
			printf '   %-44s %s\n' "incremental = full" "NO: $bad table(s) differ"
		fi
	}

	echo
	echo "== 2. Serving latency"
	read -r N_ITEMS N_CUSTOMERS N_CARTS N_CARTS50 <<<"$(bpsql -tA -F ' ' -c "
		SELECT (SELECT count(*) FROM serving_bench.bench_items), (SELECT count(*) FROM serving_bench.bench_customers),
		       (SELECT count(*) FROM serving_bench.bench_carts), (SELECT count(*) FROM serving_bench.bench_carts50)")"
	bpsql -tA -F ' ' -c "
		SELECT '   arguments: ' || (SELECT count(*) FILTER (WHERE known) || ' best-selling + ' || count(*) FILTER (WHERE NOT known) || ' unknown items' FROM serving_bench.bench_items)
		       || ', ' || (SELECT count(*) FILTER (WHERE known) || ' + ' || count(*) FILTER (WHERE NOT known) || ' unknown customers' FROM serving_bench.bench_customers)
		       || ', ' || (SELECT count(*) || ' carts of ' || min(cardinality(items)) || '..' || max(cardinality(items))
		                  || ' items (median ' || percentile_disc(0.5) WITHIN GROUP (ORDER BY cardinality(items))
		                  || ', p95 ' || percentile_disc(0.95) WITHIN GROUP (ORDER BY cardinality(items)) || ')'
		                  FROM serving_bench.bench_carts)"
	echo
	echo "-- settle: VACUUM ANALYZE and CHECKPOINT (what autovacuum and the checkpointer would do after a refresh)"
	t0=$(date +%s.%N)
	bpsql -q -c "SET client_min_messages = error" -c "VACUUM ANALYZE"
	bpsql -q -c "CHECKPOINT" 2>/dev/null || echo "   (CHECKPOINT not allowed for this role; skipped)"
	echo "   done in $(since "$t0") s"
	echo
	echo "-- every function once per argument, in one session (test/bench/serving_calls.sql)"
	if ! bpsql -q -P footer=off -f test/bench/serving_calls.sql >"$LOG/calls.log" 2>&1; then
		tail -n 25 "$LOG/calls.log" | sed 's/^/   /'
		return 1
	fi
	sed 's/^/   /' "$LOG/calls.log"
	# the plans of each function's slowest call, inner statements included
	if bpsql -q -P footer=off -f - >"$LOG/explain.log" 2>&1 <<'SQL'; then
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET client_min_messages = log;
SELECT format('SELECT %L AS function; SELECT count(*) FROM %s', function, replace(call, '$1', quote_literal(arg)))
FROM (SELECT DISTINCT ON (o) * FROM serving_bench.calls ORDER BY o, ms DESC) s ORDER BY o
\gexec
SQL
		echo "   plans of each function's slowest call (auto_explain, nested statements): $LOG/explain.log"
	else
		echo "   (auto_explain could not be loaded; no plans: $LOG/explain.log)"
	fi

	echo
	echo "-- pgbench -n -M $PROTOCOL -c $CLIENTS -j $CLIENTS -T $DURATION, one call per transaction; latencies in ms"
	echo "   from the per-transaction log (nearest rank; mean and max too); c/tps = $CLIENTS / tps, the mean latency by"
	echo "   Little's law (a check on the log's mean); x_base = mean / mean of the baseline; p99 target < $TARGET_MS ms"
	echo "   (pgbench's per-transaction times are not reliable for SELECT 1: most are logged as 0 us; use its c/tps);"
	echo "   bg% = CPU busy on this machine (all $(nproc) CPUs) in the 2 s before / after the run, while this benchmark runs"
	echo "   nothing: other work on a shared machine, which skews the tail latencies (each run first waits up to"
	echo "   ${QUIET_WAIT} s for bg% <= $QUIET_PCT)"
	printf '%-40s %7s %6s %7s %7s %7s %7s %7s %8s %6s  %s\n' function bg% tps c/tps mean p50 p95 p99 max x_base "p99<${TARGET_MS}ms"
	run_pgbench select1 base_select1.sql "" "baseline: SELECT 1"
	run_pgbench bpairs base_pairs.sql "" "baseline: SELECT pairs WHERE item (10)"
	run_pgbench brecs base_recommendations.sql "" "baseline: SELECT recommendations (10)"
	run_pgbench fbt fbt.sql bpairs "frequently_bought_together(k 10)"
	run_pgbench similar similar.sql bpairs "similar_items(10)"
	run_pgbench cart cart.sql bpairs "complete_cart(10)"
	run_pgbench cart50 cart50.sql bpairs "complete_cart(10), carts <= 50 items"
	run_pgbench bitem bundles_item.sql bpairs "bundles_for_item(5)"
	run_pgbench bitemx bundles_item_explore.sql bpairs "bundles_for_item(5, explore => true)"
	run_pgbench bcust bundles_customer.sql brecs "bundles_for_customer(5)"
	run_pgbench recs recommend.sql brecs "recommend_items(10)"

	echo
	if [ "$bad" != 0 ]; then
		echo "!! the incremental refresh's results differ from the full refresh's"
	fi
	if [ "$pgbench_failed" != 0 ]; then
		echo "!! a pgbench run failed; see $LOG"
	fi
	[ "$bad" = 0 ] && [ "$pgbench_failed" = 0 ]
}

set +e
main 2>&1 | tee "$OUT/serving_bench.txt"
rc=${PIPESTATUS[0]}
cp "$OUT/serving_bench.txt" "$LOG/serving_bench.txt"
exit "$rc"
