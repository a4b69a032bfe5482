#!/usr/bin/env bash
# pairs_bench: bundlerec.item_pairs() against the plain-SQL pair query a DBA
# would write, on the same order lines, checking that both give the same
# pairs.  Run with `make bench`: installs what is missing, builds and
# installs bundlerec, and runs against the server named by PG* variables (or
# a throwaway cluster).  `bash test/bench/pairs_bench.sh --inside` skips the
# install/build and uses the server named by PG* variables as is.
#
# Data sets (each in the same run):
#   synthetic      seeded synthetic order lines, synth_lines(basket int, item int):
#                    SELECT setseed(BENCH_SEED);  then, in one serial statement,
#                    for basket in 1..BENCH_BASKETS:
#                      lines n = 1 + floor(-ln(1 - random()) * 9)   (mean ~9.5)
#                      each line: item = least(50000, floor(exp(random() * ln(50001))))::int
#                    i.e. 50,000 items with log-uniform (Zipf-like, P(item = k) ~ 1/k)
#                    popularity; an item may repeat in a basket and counts once.
#                    See test/bench/synth_gen.sql.  Generation time is not compared.
#   retail_sample  test/data/online_retail_sample.csv (UCI Online Retail, 2010-12-01..12),
#                    sales only as in test/demo.sql (no 'C' invoices, quantity > 0,
#                    no postage/fee codes); basket invoice_no, item stock_code (text).
#   retail_full    the full UCI Online Retail data, same cleaning, when
#                    ../shared/data/online_retail/online_retail.csv.gz exists
#                    (relative to the repository root); skipped with a note if not.
#
# For each data set and min_count: (a) plain SQL: distinct (basket, item)
# lines, self-join on basket with a.item < b.item, GROUP BY the pair, HAVING
# count(*) >= min_count, joined with per-item basket counts for support,
# confidence both ways and lift; (b) bundlerec.item_pairs(source, basket,
# item, min_count => same).  Both are materialised with CREATE TEMP TABLE ...
# AS and timed with clock_timestamp() in SQL, with default planner settings
# (parallel query, work_mem and JIT as the server has them).  Results must
# match: same row count, (item_a, item_b, count_ab) EXCEPT both ways empty,
# and count_a, count_b, n_baskets, support, confidence and lift equal.
# Then the aggregate path on synth_baskets (basket arrays):
#   SELECT count(*) FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, m) FROM synth_baskets))
# serial vs a forced parallel plan, checking identical rows.
# bundlerec's peak memory comes from its DEBUG1 line; the backend's VmHWM
# from /proc/<pid>/status (read by the server, or by this script if the
# server is on this machine).
#
# Settings (environment):
#   BENCH_BASKETS            synthetic baskets (default 1000000)
#   BENCH_SEED               setseed() value (default 0.42)
#   BENCH_SYNTH_MIN_COUNTS   min_count values on synthetic (default "5 20")
#   BENCH_SAMPLE_MIN_COUNTS  on the shipped sample (default "1 3")
#   BENCH_FULL_MIN_COUNTS    on the full Online Retail data (default "1 10")
#   BENCH_AGG_MIN_COUNT      min_count of the aggregate path (default: first synthetic one)
#   BENCH_AGG_PARALLEL       0 skips the forced-parallel half of the aggregate path (default 1)
#   BENCH_DB                 database to use, created if missing (default bench)
# Raw logs go to test/bench/out/ (one file per step, plus summary.txt).
# A step that fails (an ERROR, or the backend crashing) is recorded as ERROR
# or CRASH in the summary; the script waits for the server to come back and
# goes on with the next step.
# Exit status: 0 when every result matched, 1 when any differed or failed.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
shift

BASKETS=${BENCH_BASKETS:-1000000}
SEED=${BENCH_SEED:-0.42}
SYNTH_MC=${BENCH_SYNTH_MIN_COUNTS:-5 20}
SAMPLE_MC=${BENCH_SAMPLE_MIN_COUNTS:-1 3}
FULL_MC=${BENCH_FULL_MIN_COUNTS:-1 10}
read -r -a synth_mc_arr <<<"$SYNTH_MC"
AGG_MC=${BENCH_AGG_MIN_COUNT:-${synth_mc_arr[0]}}
AGG_PARALLEL=${BENCH_AGG_PARALLEL:-1}
DB=${BENCH_DB:-bench}
FULL_GZ=../shared/data/online_retail/online_retail.csv.gz	# relative to the repo root

case "$BASKETS" in '' | *[!0-9]*) echo "BENCH_BASKETS must be a positive integer" >&2; exit 2 ;; esac
for m in $SYNTH_MC $SAMPLE_MC $FULL_MC $AGG_MC; do
	case "$m" in '' | *[!0-9]* | 0) echo "min_count values must be positive integers, not '$m'" >&2; exit 2 ;; esac
done

cd "$BR_ROOT"
OUT=test/bench/out
mkdir -p "$OUT"
STAMP=$(date +%Y%m%d-%H%M%S)
LOG="$OUT/$STAMP"
mkdir -p "$LOG"

br_bench_db "$DB"

# CRASH when the log shows the connection dropped (the backend died), else ERROR.
fail_status() {
	if grep -q -e 'server closed the connection unexpectedly' -e 'connection to server was lost' "$1"; then
		echo CRASH
	else
		echo ERROR
	fi
}

echo "== pairs_bench $STAMP (logs: $LOG)"
bpsql -q -f test/bench/setup.sql >"$LOG/setup.log" 2>&1 || { cat "$LOG/setup.log" >&2; exit 1; }
bpsql -tA -F ' ' <<'SQL'
SELECT 'server:   ' || version();
SELECT 'bundlerec ' || extversion FROM pg_extension WHERE extname = 'bundlerec';
SELECT 'settings: ' || string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
FROM pg_settings
WHERE name IN ('work_mem', 'hash_mem_multiplier', 'shared_buffers', 'max_parallel_workers_per_gather',
               'max_parallel_workers', 'jit', 'bundlerec.memory_limit', 'bundlerec.blas_threads');
SQL
echo "machine:  $(nproc) CPUs, $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM (this client)"

cat <<EOF

== synthetic data: $BASKETS baskets, seed $SEED
   SELECT setseed($SEED); then for each basket 1..$BASKETS:
     lines n = 1 + floor(-ln(1 - random()) * 9)                        -- mean ~9.5 lines
     item    = least(50000, floor(exp(random() * ln(50001))))::int     -- P(item = k) ~ 1/k
   -> synth_lines(basket int, item int); synth_baskets = array_agg(item) per basket
EOF
t0=$(date +%s.%N)
step "$LOG/synth_gen.log" -v baskets="$BASKETS" -v seed="$SEED" -f test/bench/synth_gen.sql || exit 1
t1=$(date +%s.%N)
sed -n '/^  *lines *|/,/^([0-9]* row/p' "$LOG/synth_gen.log" | sed 's/^/   /'
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "   generated in %.1f s (not part of the comparison)\n", b - a }'

echo
echo "== Online Retail"
have_full=0
if [ -f "$FULL_GZ" ]; then
	have_full=1
	echo "   full data found: $FULL_GZ"
else
	echo "   note: $FULL_GZ not found (relative to $BR_ROOT); the retail_full data set is skipped"
fi
step "$LOG/retail_load.log" -v have_full="$have_full" -f test/bench/retail_load.sql || exit 1
sed -n '/^ *table *|/,/^([0-9]* row/p' "$LOG/retail_load.log" | sed 's/^/   /'

failed=0

# One comparison; records a row in pairs_bench.results (status 'ERROR' when
# a step fails) and bundlerec's peak memory from the DEBUG1 line.
run_pairs() {
	local ds=$1 src=$2 bcol=$3 icol=$4 mc=$5
	local logfile="$LOG/pairs_${ds}_m${mc}.log" peak
	echo
	echo "== $ds, min_count $mc"
	if step "$logfile" -v ds="$ds" -v src="$src" -v bcol="$bcol" -v icol="$icol" \
		-v min_count="$mc" -f test/bench/pairs_run.sql; then
		peak=$(sed -n 's/.*bundlerec\.item_pairs: .* peak memory \([0-9][0-9]*\) kB.*/\1/p' "$logfile" | tail -n 1)
		if [ -n "$peak" ]; then
			bpsql -q -c "UPDATE pairs_bench.results SET peak_kb = $peak
			             WHERE seq = (SELECT max(seq) FROM pairs_bench.results)"
		else
			echo "   (no 'peak memory' DEBUG line from bundlerec.item_pairs in $logfile)"
		fi
		grep -E '^(dataset |bundlerec\.item_pairs: [0-9.]+ s|plain SQL: |pairs: )' "$logfile" | sed 's/^/   /' || true
	else
		failed=1
		bpsql -q -c "INSERT INTO pairs_bench.results (dataset, source, min_count, status)
		             VALUES ('$ds', '$src', $mc, '$(fail_status "$logfile")')" || true
	fi
}

for mc in $SYNTH_MC; do
	run_pairs synthetic synth_lines basket item "$mc"
done
for mc in $SAMPLE_MC; do
	run_pairs retail_sample retail_sample_sales invoice_no stock_code "$mc"
done
if [ "$have_full" = 1 ]; then
	for mc in $FULL_MC; do
		run_pairs retail_full retail_full_sales invoice_no stock_code "$mc"
	done
fi

echo
echo "== aggregate path on synth_baskets, min_count $AGG_MC: serial vs forced parallel"
agglog="$LOG/agg_synthetic_m$AGG_MC.log"
if [ "$AGG_PARALLEL" = 0 ]; then do_parallel=false; else do_parallel=true; fi
if ! step "$agglog" -v min_count="$AGG_MC" -v do_parallel="$do_parallel" -f test/bench/agg_run.sql; then
	failed=1
	st=$(fail_status "$agglog")
	bpsql -q <<SQL || true
UPDATE pairs_bench.agg_results SET status = '$st' WHERE dataset = 'synthetic';
INSERT INTO pairs_bench.agg_results (dataset, min_count, status)
SELECT 'synthetic', $AGG_MC, '$st'
WHERE NOT EXISTS (SELECT FROM pairs_bench.agg_results WHERE dataset = 'synthetic');
SQL
fi
grep -E '^(pair_counts |parallel plan: |rows differing: |== parallel part skipped)' "$agglog" | sed 's/^/   /' || true

# Summary (also written to the log folder and to test/bench/out/summary.txt).
{
	cat <<EOF

== Summary ($STAMP; synthetic: $BASKETS baskets, seed $SEED, Zipf-like items
   least(50000, floor(exp(random()*ln(50001)))), basket size 1 + floor(-ln(1-random())*9))
   baseline = plain SQL self-join (default planner settings); bundlerec = bundlerec.item_pairs;
   both materialised with CREATE TEMP TABLE AS; ratio = baseline s / bundlerec s;
   peak_mem = bundlerec's DEBUG1 peak memory; vmhwm = the backend's VmHWM (peak RSS) after
   item_pairs, run first in a fresh backend; vmhwm_before = the same just before it
EOF
	bpsql -q -P footer=off <<'SQL'
\echo plain SQL vs bundlerec.item_pairs
SELECT dataset, lines, baskets, items, min_count,
       coalesce(pairs_br, pairs_base) AS pairs,
       round(base_s::numeric, 2) AS baseline_s,
       round(br_s::numeric, 2) AS bundlerec_s,
       round((base_s / nullif(br_s, 0))::numeric, 1) AS ratio,
       CASE status WHEN 'ok' THEN 'yes' WHEN 'DIFFERENT' THEN 'NO' ELSE status END AS identical,
       CASE WHEN peak_kb IS NOT NULL THEN round(peak_kb / 1024.0, 1) || ' MB' END AS peak_mem,
       CASE WHEN hwm_after_kb IS NOT NULL THEN round(hwm_after_kb / 1024.0, 1) || ' MB' END AS vmhwm,
       CASE WHEN hwm_before_kb IS NOT NULL THEN round(hwm_before_kb / 1024.0, 1) || ' MB' END AS vmhwm_before
FROM pairs_bench.results ORDER BY seq;
\echo aggregate path: count(*) FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, min_count) FROM synth_baskets))
\echo identical = serial rows = parallel rows = bundlerec.item_pairs rows (pair, counts, n_baskets)
SELECT dataset, min_count, baskets, pairs_serial AS pairs,
       round(serial_s::numeric, 2) AS serial_s,
       round(parallel_s::numeric, 2) AS parallel_s,
       round((serial_s / nullif(parallel_s, 0))::numeric, 2) AS speedup,
       workers_launched || '/' || workers_planned AS "workers (launched/planned)",
       CASE status WHEN 'ok' THEN 'yes' WHEN 'DIFFERENT' THEN 'NO' ELSE status END AS identical
FROM pairs_bench.agg_results;
SQL
} | tee "$LOG/summary.txt"
cp "$LOG/summary.txt" "$OUT/summary.txt"

bad=$(bpsql -tA -c "SELECT (SELECT count(*) FROM pairs_bench.results WHERE status <> 'ok')
                          + (SELECT count(*) FROM pairs_bench.agg_results WHERE status <> 'ok')") || bad=unknown
if [ "$failed" != 0 ] || [ "$bad" != 0 ]; then
	echo "!! $bad result(s) differ or failed; see $LOG" >&2
	exit 1
fi
echo "all results identical"
