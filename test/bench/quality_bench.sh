#!/usr/bin/env bash
# quality_bench: recommendation quality of bundlerec's embedding and
# neighbour models against a popularity baseline, on held-out purchases
# (new-item discovery: every model's list leaves out the customer's
# training items, and only items the customer had not bought in training
# count as relevant).
#
# Models (each recommends 10 items per customer):
#   popularity  items by number of distinct training customers (ties by item)
#   als         bundlerec.als_train on the training pairs (weight w), then
#               bundlerec.als_recommend(the customer's trained vector, k 10,
#               exclude = training items); 15 iterations, seed 42
#   ease        bundlerec.ease (binary customers x items, the 200 largest
#               weights per item; ease() returns positive weights only),
#               then bundlerec.recommend_from_neighbors (training items, k 10)
#   item_knn    bundlerec.item_neighbors (binary, cosine), then
#               bundlerec.recommend_from_neighbors (training items, k 10)
# Tuned on a validation slice carved from the END of the training period
# (train on the earlier part, validate on the later part), never on the test
# period; the grid (test/bench/quality_eval.sql):
#   als       factors {32, 64, 128} x regularization {0.1, 1, 10, 100} x alpha {1, 5, 20}
#   ease      regularization {10, 50, 100, 250, 500, 1000, 2000}
#   item_knn  top_k {10, 20, 50, 100} x shrinkage {0, 10, 50}
# the configuration with the best validation NDCG@10 (first in grid order
# among equals) is retrained on the full training period and tested.
#
# Data sets:
#   retail     the shipped Online Retail sample (test/data), cleaned as the
#              sales view (no 'C' invoices, quantity > 0, no fee codes) and
#              with a known customer.  Time split: train on orders before
#              BENCH_RETAIL_TEST_CUT (2010-12-09), test on the later ones
#              (~24% of the orders); validation: train before
#              BENCH_RETAIL_VAL_CUT (2010-12-07), validate on
#              [VAL_CUT, TEST_CUT) (~27% of the training orders).  Training
#              weight w = distinct orders per (customer, item), from
#              bundlerec.interactions(basket => invoice_no).
#   movielens  MovieLens-100k, official u1 split, read at run time from
#              ../shared/data/movielens_100k/u1.base.gz and u1.test.gz
#              (relative to the repository root); skipped with a note when
#              missing.  Never copied into the repository (its licence
#              forbids redistribution).  Positives = ratings >= 4: train =
#              u1.base positives (w = 1), relevant = u1.test positives.
#              Validation: each user's u1.base positives in time order
#              (ties by item), the last floor(20%) held out.  (u1.test holds
#              ratings of 459 of the 943 users; only those are tested.)
# Evaluated customers: those with training items and at least one relevant
# item.  Metrics (computed in SQL from the lists, independently of bundlerec;
# definitions in quality_eval.sql): recall@10 = hits / min(10, |relevant|),
# NDCG@10 (binary gains, 1/log2(rank+1), ideal DCG over min(10, |relevant|)
# items), precision@10 = hits / 10, hit rate@10, catalogue coverage =
# distinct items recommended / items in training.
#
# `bash test/bench/quality_bench.sh` installs what is missing, builds and
# installs bundlerec and runs against a throwaway cluster (or the server
# named by PG* variables); `--inside` uses the server named by PG* variables
# as is.  BENCH_DB names the database (default bench; created when missing);
# BENCH_MODELS restricts the models (default "popularity als ease item_knn";
# models whose functions the installed bundlerec lacks are skipped with a
# note).  Logs go to test/bench/out/quality-<stamp>/, the summary also to
# test/bench/out/quality_summary.txt.
# Checks: no list holds a training item, a repeated item or more than 10
# items; ALS losses never rise (by more than 1e-9 of the loss: rounding once
# converged); on the test phase, plain SQL recomputes als_recommend's scores
# (dot products) and top 10 for 20 customers, recommend_from_neighbors'
# summed scores rank by rank for 20 customers, and item_neighbors' cosine,
# shrinkage, common counts and top_k for 20 items.  A model below popularity
# on every validation configuration, or on the test period, gets a note.
# Exit status: 0 when every run finished and every check held, 1 otherwise.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
shift

DB=${BENCH_DB:-bench}
MODELS=${BENCH_MODELS:-popularity als ease item_knn}
TEST_CUT=${BENCH_RETAIL_TEST_CUT:-2010-12-09}
VAL_CUT=${BENCH_RETAIL_VAL_CUT:-2010-12-07}
ML_DIR=../shared/data/movielens_100k	# relative to the repository root
ML_BASE=$ML_DIR/u1.base.gz
ML_TEST=$ML_DIR/u1.test.gz

cd "$BR_ROOT"
OUT=test/bench/out
STAMP=$(date +%Y%m%d-%H%M%S)
LOG="$OUT/quality-$STAMP"
mkdir -p "$LOG"

br_bench_db "$DB"

t_start=$(date +%s)
echo "== quality_bench $STAMP (logs: $LOG)"
bpsql -q -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS bundlerec"
bpsql -tA <<'SQL'
SELECT 'server:   ' || version();
SELECT 'bundlerec ' || extversion FROM pg_extension WHERE extname = 'bundlerec';
SQL
echo "machine:  $(nproc) CPUs (this client)"

# Models whose functions are installed.
models=()
for m in $MODELS; do
	case "$m" in
	popularity) need="" ;;
	als) need="als_train als_recommend" ;;
	ease) need="ease recommend_from_neighbors" ;;
	item_knn) need="item_neighbors recommend_from_neighbors" ;;
	*) echo "unknown model '$m' in BENCH_MODELS" >&2; exit 2 ;;
	esac
	missing=""
	for f in $need; do
		[ "$(bpsql -tAc "SELECT to_regproc('bundlerec.$f') IS NOT NULL")" = t ] || missing="$missing $f"
	done
	if [ -n "$missing" ]; then
		echo "!! note: model $m skipped: bundlerec.${missing# } not installed in database $DB"
	else
		models+=("$m")
	fi
done
[ "${#models[@]}" -gt 0 ] || { echo "no model to run" >&2; exit 1; }
models_csv=$(IFS=,; echo "${models[*]}")
echo "models:   ${models[*]}"

step "$LOG/eval_setup.log" -q -f test/bench/quality_eval.sql || exit 1

failed=0
datasets=()

# --- retail
echo
echo "== retail: shipped Online Retail sample; validation: train < $VAL_CUT, validate [$VAL_CUT, $TEST_CUT);"
echo "   test: train < $TEST_CUT, test >= $TEST_CUT"
if step "$LOG/load_retail.log" -v ds=retail -v test_cut="$TEST_CUT" -v val_cut="$VAL_CUT" -f test/bench/quality_load.sql; then
	grep -E '^interactions\(\) vs' "$LOG/load_retail.log" | sed 's/^/   /' || true
	sed -n '/^ *phase *| *orders_train/,/^([0-9]* row/p' "$LOG/load_retail.log" | sed 's/^/   /'
	sed -n '/^ *phase *| *train_pairs/,/^([0-9]* row/p' "$LOG/load_retail.log" | sed 's/^/   /'
	datasets+=(retail)
else
	failed=1
fi

# --- movielens
echo
if [ -f "$ML_BASE" ] && [ -f "$ML_TEST" ]; then
	echo "== movielens: MovieLens-100k u1 split from $ML_DIR; positives = ratings >= 4;"
	echo "   validation = the last floor(20%) of each user's u1.base positives by time"
	ok=0
	if step "$LOG/load_movielens_raw.log" <<-SQL
	SET client_min_messages = warning;
	CREATE TABLE quality_bench.ml_base (u int, i int, r int, ts bigint);
	CREATE TABLE quality_bench.ml_test (LIKE quality_bench.ml_base);
	\\copy quality_bench.ml_base FROM PROGRAM 'zcat $ML_BASE' WITH (FORMAT text)
	\\copy quality_bench.ml_test FROM PROGRAM 'zcat $ML_TEST' WITH (FORMAT text)
	SQL
	then
		step "$LOG/load_movielens.log" -v ds=movielens -f test/bench/quality_load.sql && ok=1
	fi
	if [ "$ok" = 1 ]; then
		grep -E '^ *u1\.base ratings' "$LOG/load_movielens.log" | sed 's/^ */   /' || true
		sed -n '/^ *phase *| *train_pairs/,/^([0-9]* row/p' "$LOG/load_movielens.log" | sed 's/^/   /'
		datasets+=(movielens)
	else
		failed=1
	fi
else
	echo "== note: $ML_BASE or $ML_TEST not found (relative to $BR_ROOT); the movielens data set is skipped"
fi

for ds in "${datasets[@]}"; do
	echo
	echo "== $ds: grid on the validation phase, then the chosen configurations on the test phase"
	t0=$(date +%s)
	if ! step "$LOG/run_$ds.log" -v ds="$ds" -v models="$models_csv" -f test/bench/quality_run.sql; then
		failed=1
	fi
	echo "   $(($(date +%s) - t0)) s"
done

t_end=$(date +%s)
{
	cat <<EOF

== quality_bench summary ($STAMP; $(nproc) cores; total $((t_end - t_start)) s)
   new-item discovery: lists exclude the customer's training items; relevant = held-out items not bought in training
   recall@10 = hits / min(10, |relevant|); NDCG@10 = binary gains, 1/log2(rank+1), ideal DCG over
   min(10, |relevant|) items; precision@10 = hits / 10; hit@10 = share of customers with a hit;
   coverage = distinct items recommended / items in training; x_pop = ratio to popularity
   hyper-parameters chosen by validation NDCG@10 on the end of the training period, never on the test period
EOF
	bpsql -q -P footer=off <<'SQL'
\echo
\echo every validation configuration: test/bench/out/quality_grid.txt
SELECT ds, model, params::text AS params, customers AS users, round(recall::numeric, 4) AS "recall@10",
       round(ndcg::numeric, 4) AS "ndcg@10", round(hit_rate::numeric, 3) AS "hit@10",
       round(coverage::numeric, 3) AS coverage, round(mean_len::numeric, 2) AS mean_len,
       round((train_s + score_s)::numeric, 2) AS s
FROM quality_bench.results WHERE phase = 'val'
ORDER BY ds, model, ndcg DESC, seq
\g test/bench/out/quality_grid.txt
\echo
\echo chosen hyper-parameters (best validation NDCG@10) and their validation scores
SELECT c.ds, c.model, c.params::text AS params, round(c.val_ndcg::numeric, 4) AS "val ndcg@10",
       round(c.val_recall::numeric, 4) AS "val recall@10",
       (SELECT count(*) FROM quality_bench.results r WHERE r.ds = c.ds AND r.model = c.model AND r.phase = 'val') AS configs,
       coalesce((SELECT string_agg(e.k, ', ' ORDER BY e.k) FROM jsonb_each_text(c.params) e(k, v)
                 JOIN LATERAL (SELECT min((g.params->>e.k)::numeric) AS lo, max((g.params->>e.k)::numeric) AS hi
                               FROM quality_bench.grid g WHERE g.model = c.model) b ON b.lo < b.hi
                 WHERE e.v::numeric IN (b.lo, b.hi)), '') AS "at grid edge"
FROM quality_bench.chosen c ORDER BY c.ds DESC, array_position(ARRAY['popularity', 'als', 'ease', 'item_knn'], c.model);
SQL
	for ds in "${datasets[@]}"; do
		echo
		echo "test results: $ds"
		bpsql -q -P footer=off <<-SQL
		WITH t AS (SELECT * FROM quality_bench.results WHERE ds = '$ds' AND phase = 'test'),
		p AS (SELECT recall, ndcg FROM t WHERE model = 'popularity')
		SELECT t.model, t.customers AS users,
		       round(t.recall::numeric, 4) AS "recall@10", round(t.ndcg::numeric, 4) AS "ndcg@10",
		       round(t.precision::numeric, 4) AS "prec@10", round(t.hit_rate::numeric, 3) AS "hit@10",
		       round(t.coverage::numeric, 3) AS coverage,
		       round((t.recall / nullif(p.recall, 0))::numeric, 2) AS "recall x_pop",
		       round((t.ndcg / nullif(p.ndcg, 0))::numeric, 2) AS "ndcg x_pop",
		       round(t.train_s::numeric, 2) AS train_s, round(t.score_s::numeric, 2) AS score_s,
		       t.params::text AS params
		FROM t LEFT JOIN p ON true
		ORDER BY array_position(ARRAY['popularity', 'als', 'ease', 'item_knn'], t.model);
		SQL
	done
	echo
	echo "checks"
	bpsql -tA <<-'SQL'
	SELECT CASE WHEN count(*) = 0 THEN '   ok: no list holds a training item, a repeated item or more than 10 items; no ALS loss rose by more than 1e-9 of itself'
	            ELSE '   !! ' || string_agg(format('%s %s %s %s: leaked %s, bad lists %s, ALS loss rose %s (largest relative rise %s)',
	                                              ds, phase, model, params, leaked, dup_or_long, loss_rose, loss_max_rise), E'\n   !! ') END
	FROM quality_bench.results WHERE leaked <> 0 OR dup_or_long <> 0 OR loss_rose;
	SELECT '   ALS largest relative loss rise between iterations (float rounding after convergence; checked against 1e-9): '
	       || coalesce(to_char(max(loss_max_rise), '0.0EEEE'), 'none')
	FROM quality_bench.results WHERE model = 'als';
	SELECT CASE WHEN check_note ~ '(: |for )[1-9][0-9]* (of|ranks) ' THEN '   !! ' ELSE '   ' END
	       || ds || ' test, ' || model || ' vs plain SQL: ' || check_note
	FROM quality_bench.results WHERE check_note IS NOT NULL ORDER BY seq;
	SELECT '   note: ' || ds || ': ' || model || ' is below popularity (NDCG@10) on every validation configuration ('
	       || count(*) || ' configurations, ' || max(customers) || ' validation customers)'
	FROM quality_bench.results a
	WHERE model <> 'popularity' AND phase = 'val'
	GROUP BY ds, model
	HAVING max(ndcg) < (SELECT ndcg FROM quality_bench.results p WHERE p.ds = a.ds AND p.phase = 'val' AND p.model = 'popularity')
	ORDER BY ds DESC, model;
	SELECT '   note: ' || ds || ': ' || model || ' is below popularity (NDCG@10) on the test period'
	FROM quality_bench.results a
	WHERE model <> 'popularity' AND phase = 'test'
	  AND ndcg < (SELECT ndcg FROM quality_bench.results p WHERE p.ds = a.ds AND p.phase = 'test' AND p.model = 'popularity')
	ORDER BY ds DESC, model;
	SQL
} | tee "$LOG/summary.txt"
cp "$LOG/summary.txt" "$OUT/quality_summary.txt"
cp "$OUT/quality_grid.txt" "$LOG/grid.txt" 2>/dev/null || true

bad=$(bpsql -tA -c "SELECT count(*) FROM quality_bench.results WHERE leaked <> 0 OR dup_or_long <> 0 OR loss_rose
                     OR check_note ~ '(: |for )[1-9][0-9]* (of|ranks) '") || bad=unknown
if [ "$failed" != 0 ] || [ "$bad" != 0 ]; then
	echo "!! failed step(s) or $bad failed check(s); see $LOG" >&2
	exit 1
fi
