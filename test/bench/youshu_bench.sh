#!/usr/bin/env bash
# youshu_bench: ranking merchant-defined bundles on the Youshu benchmark
# (BGCN / CrossCBR split), read at run time from ../shared/data/bundle_youshu
# (relative to the repository root; skipped with a note when missing, never
# copied into the repository).
#
# Protocol, as in BGCN and CrossCBR: train on user_bundle_train and
# user_item; for every user of the evaluated file, rank ALL bundles, leaving
# out the user's training bundles; Recall@20 = hits / number of the user's
# held-out bundles, NDCG@20 with binary gains and the ideal DCG over
# min(20, held-out) bundles, averaged over the users.  Metrics are computed
# in SQL from the returned lists (youshu_eval.sql), independently of
# bundlerec.
#
# Models:
#   popularity    bundles by number of training users (ties by bundle id)
#   rank_bundles  bundlerec.rank_bundles(bundle_item, user_bundle_train,
#                 user_item, ...): EASE over users x (bundles, items) plus
#                 the overlap of each bundle with the user's items, filled
#                 to 20 by popularity
#   old defaults  rank_bundles before the overlap term: item_weight 1,
#                 overlap_weight 0 (lambda 500)
#   defaults      rank_bundles with no tuning argument (lambda 500,
#                 item_weight 0.5, overlap_weight 0.3: the tune-split choice)
# rank_bundles' regularization, item_weight and overlap_weight are chosen on
# the tune file (train on train, evaluate on tune) from the grid BENCH_GRID
# (lambda:item_weight:overlap_weight), never on the test file; the chosen
# configuration is then evaluated on test.
#
# `bash test/bench/youshu_bench.sh` installs what is missing, builds and
# installs bundlerec and runs against a throwaway cluster; `--inside` uses
# the server named by PG* variables.  BENCH_DB (default bench_youshu).  The
# summary goes to test/bench/out/youshu_summary.txt.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
shift

DB=${BENCH_DB:-bench_youshu}
# regularization:item_weight:overlap_weight triples evaluated on tune
GRID=${BENCH_GRID:-"500:0.5:0.2 500:0.5:0.4 1000:0.5:0.3"}
DATA=../shared/data/bundle_youshu

cd "$BR_ROOT"
OUT=test/bench/out
mkdir -p "$OUT"
SUMMARY=$OUT/youshu_summary.txt
if [ ! -f "$DATA/user_bundle_train.txt.gz" ]; then
	echo "!! note: $DATA not found: Youshu benchmark skipped" | tee "$SUMMARY"
	exit 0
fi
br_bench_db "$DB"
abs=$(cd "$DATA" && pwd)

{
echo "== youshu_bench $(date +%Y-%m-%dT%H:%M:%S)"
bpsql -tA -c "SELECT 'server: ' || version()"
bpsql -q -v data="$abs" -f test/bench/youshu_eval.sql
echo
printf '%-34s %-5s %10s %10s %8s\n' model phase recall@20 ndcg@20 seconds
run() {	# label phase sql-producing-(customer,rank,bundle)
	local label=$1 phase=$2 query=$3 t0 t1 res
	t0=$(date +%s.%N)
	bpsql -q -c "SET client_min_messages = warning; DROP TABLE IF EXISTS youshu.lists; CREATE TABLE youshu.lists AS $query"
	t1=$(date +%s.%N)
	res=$(bpsql -tA -F ' ' -c "SELECT round(recall::numeric, 4), round(ndcg::numeric, 4) FROM youshu.evaluate('$phase')")
	printf '%-34s %-5s %10s %10s %8.1f\n' "$label" "$phase" ${res} "$(echo "$t1 - $t0" | bc)"
	bpsql -q -c "INSERT INTO youshu.results VALUES ('$label', '$phase', $(echo "$res" | tr ' ' ','))"
}
pop="SELECT u.customer::text AS customer, p.rank, p.bundle FROM (SELECT DISTINCT customer FROM youshu.PHASE) u
     CROSS JOIN LATERAL (SELECT q.bundle::text AS bundle, (row_number() OVER (ORDER BY q.n DESC, q.bundle))::int AS rank
                         FROM youshu.popularity q
                         WHERE q.bundle NOT IN (SELECT t.bundle FROM youshu.ub_train t WHERE t.customer = u.customer)
                         ORDER BY q.n DESC, q.bundle LIMIT 20) p"
for phase in tune test; do
	run popularity "$phase" "${pop//PHASE/ub_$phase}"
done
rb() {	# phase lambda item_weight overlap_weight: the SQL of one rank_bundles call
	echo "SELECT customer, rank, bundle::text FROM bundlerec.rank_bundles('youshu.bi', 'youshu.ub_train', 'youshu.ui',
	   customers => ARRAY(SELECT DISTINCT customer::text FROM youshu.ub_$1), k => 20${2:+, regularization => $2,
	   item_weight => $3, overlap_weight => $4})"
}
for phase in tune test; do
	run "old defaults (500:1:0)" "$phase" "$(rb "$phase" 500 1 0)"
	run "defaults (500:0.5:0.3)" "$phase" "$(rb "$phase")"
done
best="500:0.5:0.3"
best_ndcg=$(bpsql -tA -c "SELECT ndcg FROM youshu.results WHERE label = 'defaults (500:0.5:0.3)' AND phase = 'tune'")
for g in $GRID; do
	IFS=: read -r lam w ov <<< "$g"
	run "rank_bundles $g" tune "$(rb tune "$lam" "$w" "$ov")"
	nd=$(bpsql -tA -c "SELECT ndcg FROM youshu.results WHERE label = 'rank_bundles $g' AND phase = 'tune'")
	if [ "$(echo "$nd > $best_ndcg" | bc)" = 1 ]; then best=$g; best_ndcg=$nd; fi
done
echo "chosen on tune (best NDCG@20, lambda:item_weight:overlap_weight): $best"
if [ "$best" != "500:0.5:0.3" ]; then
	IFS=: read -r lam w ov <<< "$best"
	run "rank_bundles $best" test "$(rb test "$lam" "$w" "$ov")"
fi
bpsql -tA -c "SELECT 'check: lists hold no training bundle: ' || (count(*) = 0)::text FROM youshu.lists l JOIN youshu.ub_train t ON t.customer::text = l.customer AND t.bundle::text = l.bundle"
bpsql -tA -c "SELECT 'check: exactly 20 distinct bundles per user: ' || bool_and(n = 20 AND n = d)::text FROM (SELECT customer, count(*) n, count(DISTINCT bundle) d FROM youshu.lists GROUP BY 1) s"
echo "published on this split (Recall@20 / NDCG@20): MFBPR 0.1959 / 0.1117, BGCN 0.2347 / 0.1345, CrossCBR 0.2813 / 0.1668"
} 2>&1 | tee "$SUMMARY"
