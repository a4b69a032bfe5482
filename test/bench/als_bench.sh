#!/usr/bin/env bash
# als_bench: speed of bundlerec.als_train (implicit ALS), seconds per
# iteration and GFLOP/s from the seconds and gflop columns it returns, and
# the loss of every iteration (it must never increase).
#
#   movielens  MovieLens-100k, all 100,000 ratings of u.data (943 users x
#              1,682 movies), every rating taken as one implicit interaction
#              of weight 1 whatever its value; read at run time from
#              ../shared/data/movielens_100k/u.data.gz (relative to the
#              repository root) when present, skipped with a note if not.
#              Never copied into the repository: its licence forbids
#              redistribution.
#   synthetic  seeded synthetic interactions, generated in SQL by
#              test/bench/als_synth_gen.sql:
#                SELECT setseed(BENCH_SEED);  then for line in 1..BENCH_SYNTH_LINES:
#                  customer = 1 + floor(random() * BENCH_SYNTH_CUSTOMERS)     (uniform)
#                  item     = least(ITEMS, floor(exp(random() * ln(ITEMS + 1))))
#                             (log-uniform: P(item = k) ~ 1/k, Zipf-like)
#              default 1,400,000 lines, 200,000 customers, 5,000 items;
#              repeated (customer, item) lines are summed by als_train
#              (weight = number of lines).
#
# Each data set is trained with factors BENCH_ALS_FACTORS (64),
# BENCH_ALS_ITERATIONS (5) iterations, regularization 0.1, alpha 10, seed 42,
# once for each bundlerec.blas_threads value in BENCH_ALS_THREADS ("1 2")
# and each solver in BENCH_ALS_SOLVERS ("exact cg": the exact row solves and
# the default conjugate-gradient solver, BENCH_ALS_CG_STEPS (3) steps per row).
# The summary ends with each data set's exact / cg ratios of seconds per
# iteration and of final loss, from this one run.
# Reported: mean seconds per iteration over iterations 2..n (the first is
# shown apart), GFLOP per iteration, GFLOP/s = sum(gflop) / sum(seconds) over
# iterations 2..n, the wall time of the whole als_train call (reading the
# source, building the matrix and writing the factor tables included), and
# each iteration's loss, which must not rise (by more than 1e-9 of itself:
# float rounding once converged).  blas_threads = 1 is the reference figure; the other
# values are for information (the machine may have few cores).
#
# `bash test/bench/als_bench.sh` installs what is missing, builds and
# installs bundlerec and runs against a throwaway cluster (or the server
# named by PG* variables); `bash test/bench/als_bench.sh --inside` uses the
# server named by PG* variables as is.  BENCH_DB names the database (default
# bench; created when missing).  Logs go to test/bench/out/als-<stamp>/, the
# summary also to test/bench/out/als_summary.txt.
# Exit status: 0 when every run finished and no loss increased, 1 otherwise.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
shift

FACTORS=${BENCH_ALS_FACTORS:-64}
ITERS=${BENCH_ALS_ITERATIONS:-5}
THREADS=${BENCH_ALS_THREADS:-1 2}
SOLVERS=${BENCH_ALS_SOLVERS:-exact cg}
CG_STEPS=${BENCH_ALS_CG_STEPS:-3}
SEED=${BENCH_SEED:-0.42}
S_CUST=${BENCH_SYNTH_CUSTOMERS:-200000}
S_ITEMS=${BENCH_SYNTH_ITEMS:-5000}
S_LINES=${BENCH_SYNTH_LINES:-1400000}
DB=${BENCH_DB:-bench}
ML=../shared/data/movielens_100k/u.data.gz	# relative to the repository root

for v in "$FACTORS" "$ITERS" "$S_CUST" "$S_ITEMS" "$S_LINES" "$CG_STEPS" $THREADS; do
	case "$v" in '' | *[!0-9]* | 0) echo "sizes, factors, iterations and thread counts must be positive integers, not '$v'" >&2; exit 2 ;; esac
done
for v in $SOLVERS; do
	case "$v" in exact | cg) ;; *) echo "BENCH_ALS_SOLVERS takes exact and cg, not '$v'" >&2; exit 2 ;; esac
done
[ "$ITERS" -ge 2 ] || { echo "BENCH_ALS_ITERATIONS must be at least 2 (the first iteration is reported apart)" >&2; exit 2; }

cd "$BR_ROOT"
OUT=test/bench/out
STAMP=$(date +%Y%m%d-%H%M%S)
LOG="$OUT/als-$STAMP"
mkdir -p "$LOG"

br_bench_db "$DB"

t_start=$(date +%s)
echo "== als_bench $STAMP (logs: $LOG)"
bpsql -q >"$LOG/setup.log" 2>&1 <<'SQL' || { cat "$LOG/setup.log" >&2; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bundlerec;
DROP SCHEMA IF EXISTS als_bench CASCADE;
CREATE SCHEMA als_bench;
CREATE TABLE als_bench.runs (
	seq       serial PRIMARY KEY,
	dataset   text NOT NULL,
	solver    text NOT NULL,
	threads   int NOT NULL,
	lines     bigint,
	pairs     bigint,
	customers bigint,
	items     bigint,
	wall_s    float8,
	status    text NOT NULL DEFAULT 'ok'
);
CREATE TABLE als_bench.iters (
	dataset   text NOT NULL,
	solver    text NOT NULL,
	threads   int NOT NULL,
	iteration int NOT NULL,
	loss      float8,
	seconds   float8,
	gflop     float8
);
SQL
bpsql -tA <<'SQL'
SELECT 'server:   ' || version();
SELECT 'bundlerec ' || extversion FROM pg_extension WHERE extname = 'bundlerec';
SQL
echo "machine:  $(nproc) CPUs, $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM (this client)"
echo "als_train: factors $FACTORS, iterations $ITERS, regularization 0.1, alpha 10, seed 42; blas_threads: $THREADS; solvers: $SOLVERS (cg_steps $CG_STEPS)"

datasets=()
if [ -f "$ML" ]; then
	echo
	echo "== movielens: all 100,000 ratings of $ML as implicit interactions (weight 1 each)"
	bpsql -q >"$LOG/movielens_load.log" 2>&1 <<-SQL || { cat "$LOG/movielens_load.log" >&2; exit 1; }
	SET client_min_messages = warning;
	CREATE TABLE als_bench.movielens (customer int, item int, rating int, ts bigint);
	\\copy als_bench.movielens FROM PROGRAM 'zcat $ML' WITH (FORMAT text)
	ANALYZE als_bench.movielens;
	SQL
	datasets+=(movielens)
else
	echo
	echo "== note: $ML not found (relative to $BR_ROOT); the movielens data set is skipped"
fi

cat <<EOF

== synthetic: $S_LINES lines, $S_CUST customers, $S_ITEMS items, seed $SEED
   SELECT setseed($SEED); then for each line 1..$S_LINES:
     customer = 1 + floor(random() * $S_CUST)                        -- uniform
     item     = least($S_ITEMS, floor(exp(random() * ln($S_ITEMS + 1))))   -- P(item = k) ~ 1/k
   -> als_bench.synth(customer int, item int); repeated pairs summed by als_train
EOF
t0=$(date +%s.%N)
bpsql -v customers="$S_CUST" -v items="$S_ITEMS" -v lines="$S_LINES" -v seed="$SEED" \
	-f test/bench/als_synth_gen.sql >"$LOG/synth_gen.log" 2>&1 || { cat "$LOG/synth_gen.log" >&2; exit 1; }
t1=$(date +%s.%N)
sed -n '/^ *lines *|/,/^([0-9]* row/p' "$LOG/synth_gen.log" | sed 's/^/   /'
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "   generated in %.1f s\n", b - a }'
datasets+=(synth)

failed=0
for ds in "${datasets[@]}"; do
	if [ "$ds" = movielens ]; then name=movielens; else name=synthetic; fi
	for sv in $SOLVERS; do
	for th in $THREADS; do
		logfile="$LOG/train_${name}_${sv}_t$th.log"
		echo
		echo "== $name, solver $sv, blas_threads $th"
		if bpsql -a >"$logfile" 2>&1 <<-SQL
		SET search_path = als_bench, public;
		SET bundlerec.blas_threads = $th;
		DROP TABLE IF EXISTS f_cust, f_item;
		INSERT INTO runs (dataset, solver, threads, lines, pairs, customers, items)
		SELECT '$name', '$sv', $th, count(*),
		       (SELECT count(*) FROM (SELECT DISTINCT customer, item FROM $ds) d),
		       count(DISTINCT customer), count(DISTINCT item)
		FROM $ds;
		SELECT clock_timestamp() AS t0 \\gset
		INSERT INTO iters
		SELECT '$name', '$sv', $th, t.* FROM bundlerec.als_train('$ds', 'customer', 'item', 'f_cust', 'f_item',
			factors => $FACTORS, regularization => 0.1, alpha => 10, iterations => $ITERS, seed => 42,
			solver => '$sv', cg_steps => $CG_STEPS) t;
		UPDATE runs SET wall_s = extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)
		WHERE seq = (SELECT max(seq) FROM runs);
		SELECT (SELECT count(*) FROM f_cust) AS customer_vectors, (SELECT count(*) FROM f_item) AS item_vectors,
		       (SELECT min(cardinality(factors)) FROM f_item) AS dim;
		SQL
		then
			grep -E 'NOTICE: +ALS iteration' "$logfile" | sed 's/^/   /' || true
		else
			failed=1
			echo "!! als_train failed, see $logfile:" >&2
			tail -n 20 "$logfile" | sed 's/^/   /' >&2
			wait_server || exit 1
			st=ERROR
			grep -q -e 'server closed the connection unexpectedly' -e 'connection to server was lost' "$logfile" && st=CRASH
			bpsql -q -c "INSERT INTO als_bench.runs (dataset, solver, threads, status) VALUES ('$name', '$sv', $th, '$st')" || true
		fi
	done
	done
done

t_end=$(date +%s)
{
	cat <<EOF

== als_bench summary ($STAMP; $(nproc) cores; als_train factors $FACTORS, $ITERS iterations,
   regularization 0.1, alpha 10, seed 42)
   movielens = MovieLens-100k u.data, all 100,000 ratings as implicit interactions (weight 1)
   synthetic = $S_LINES seeded lines (setseed $SEED), $S_CUST customers uniform, $S_ITEMS items P(k) ~ 1/k
   s/iter = mean seconds of iterations 2..$ITERS (iteration 1 shown apart); GFLOP/s = sum(gflop) / sum(seconds)
   over iterations 2..$ITERS; wall = the whole als_train call; loss ok = no iteration's loss above the previous one by more
   than 1e-9 of it (float rounding once converged); largest_rise = largest relative rise seen, if any
EOF
	bpsql -q -P footer=off <<'SQL'
SELECT r.dataset, r.solver, r.threads, r.pairs AS "pairs (distinct)", r.customers, r.items,
       round(max(i.seconds) FILTER (WHERE i.iteration = 1)::numeric, 3) AS iter1_s,
       round(avg(i.seconds) FILTER (WHERE i.iteration > 1)::numeric, 3) AS "s/iter",
       round(avg(i.gflop) FILTER (WHERE i.iteration > 1)::numeric, 2) AS "GFLOP/iter",
       round((sum(i.gflop) FILTER (WHERE i.iteration > 1)
              / nullif(sum(i.seconds) FILTER (WHERE i.iteration > 1), 0))::numeric, 2) AS "GFLOP/s",
       round(r.wall_s::numeric, 2) AS wall_s,
       CASE WHEN r.status <> 'ok' THEN r.status
            WHEN bool_and(i.loss <= p.prev * (1 + 1e-9) OR p.prev IS NULL) THEN 'yes' ELSE 'NO' END AS "loss ok",
       coalesce(to_char(max((i.loss - p.prev) / p.prev) FILTER (WHERE i.loss > p.prev), '0.0EEEE'), 'none') AS largest_rise
FROM als_bench.runs r
LEFT JOIN als_bench.iters i USING (dataset, solver, threads)
LEFT JOIN LATERAL (SELECT j.loss AS prev FROM als_bench.iters j
                   WHERE j.dataset = i.dataset AND j.solver = i.solver AND j.threads = i.threads
                     AND j.iteration = i.iteration - 1) p ON true
GROUP BY r.seq, r.dataset, r.solver, r.threads, r.pairs, r.customers, r.items, r.wall_s, r.status
ORDER BY r.seq;
\echo
\echo loss per iteration (change = loss / previous loss - 1)
SELECT dataset, solver, threads, iteration, round(loss::numeric, 1) AS loss,
       to_char(loss / lag(loss) OVER w - 1, 'SG0.000000') AS change,
       round(seconds::numeric, 3) AS seconds, round(gflop::numeric, 3) AS gflop,
       round((gflop / nullif(seconds, 0))::numeric, 2) AS "GFLOP/s"
FROM als_bench.iters
WINDOW w AS (PARTITION BY dataset, solver, threads ORDER BY iteration)
ORDER BY dataset, solver, threads, iteration;
\echo
\echo same seed, different blas_threads: largest relative difference of the loss at any iteration
SELECT a.dataset, a.solver, a.threads AS threads_a, b.threads AS threads_b,
       to_char(max(abs(a.loss - b.loss) / nullif(abs(a.loss), 0)), '0.0EEEE') AS max_rel_loss_diff
FROM als_bench.iters a JOIN als_bench.iters b
  ON b.dataset = a.dataset AND b.solver = a.solver AND b.iteration = a.iteration AND b.threads > a.threads
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
\echo
\echo exact / cg, same data and blas_threads: s/iter over iterations 2..n, and the final loss (cg / exact - 1)
WITH s AS (SELECT dataset, solver, threads, avg(seconds) FILTER (WHERE iteration > 1) AS spi,
                  (array_agg(loss ORDER BY iteration DESC))[1] AS last_loss
           FROM als_bench.iters GROUP BY 1, 2, 3)
SELECT e.dataset, e.threads, round(e.spi::numeric, 3) AS exact_s_iter, round(c.spi::numeric, 3) AS cg_s_iter,
       round((e.spi / nullif(c.spi, 0))::numeric, 2) AS "speed-up",
       round(e.last_loss::numeric, 1) AS exact_loss, round(c.last_loss::numeric, 1) AS cg_loss,
       to_char(c.last_loss / e.last_loss - 1, 'SG0.0000') AS cg_loss_excess
FROM s e JOIN s c ON c.dataset = e.dataset AND c.threads = e.threads AND c.solver = 'cg'
WHERE e.solver = 'exact' ORDER BY 1, 2;
SQL
	echo "total run time: $((t_end - t_start)) s"
} | tee "$LOG/summary.txt"
cp "$LOG/summary.txt" "$OUT/als_summary.txt"

bad=$(bpsql -tA <<'SQL'
SELECT (SELECT count(*) FROM als_bench.runs WHERE status <> 'ok')
     + (SELECT count(*) FROM als_bench.iters i JOIN als_bench.iters p
          ON p.dataset = i.dataset AND p.solver = i.solver AND p.threads = i.threads AND p.iteration = i.iteration - 1
        WHERE i.loss > p.loss * (1 + 1e-9) OR i.loss IS NULL OR NOT i.loss < 'Infinity'::float8)
SQL
) || bad=unknown
if [ "$failed" != 0 ] || [ "$bad" != 0 ]; then
	echo "!! $bad failed run(s) or loss increase(s); see $LOG" >&2
	exit 1
fi
echo "every run finished; no loss increased"
