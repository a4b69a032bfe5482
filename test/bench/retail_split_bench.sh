#!/usr/bin/env bash
# retail_split_bench: a bundlerec model trained on the Online Retail orders
# before a cut, judged on the orders after it: recommend_items per customer
# (NDCG@10, all items bought after the cut and new items only) beside the
# repeat and popularity baselines, and complete_cart on held-out carts
# (HitRate@10, one item hidden per order) beside popularity, the blend
# before item_weights, item_weights alone and the EASE engine; then the
# validation grid (the last training month) the complete_cart defaults
# were chosen on.  The protocol is written at the top of
# test/bench/retail_split.sql.  A benchmark, not a test: nothing is
# asserted.
#
# Data: ../shared/data/online_retail/online_retail.csv.gz (relative to the
# repository root) when present, cut BENCH_CUT (default 2011-10-01); else
# the shipped sample test/data/online_retail_sample.csv, cut 2010-12-09.
#
# `bash test/bench/retail_split_bench.sh` installs what is missing, builds
# and installs bundlerec and runs against a throwaway cluster (or the server
# named by PG* variables); `--inside` uses the server named by PG* variables
# as is.  Output also goes to test/bench/out/retail_split_bench.txt.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi

cd "$BR_ROOT"
DB=${BENCH_DB:-bench}
OUT=test/bench/out
mkdir -p "$OUT"
br_retail_data
br_bench_db "$DB"
{
	echo "== retail_split_bench $(date -u +%Y%m%d-%H%M%S)"
	echo "data: $data; trained before $cut, judged on the orders from $cut on"
	echo "bundlerec $(psql -X -At -c "SELECT extversion FROM pg_extension WHERE extname = 'bundlerec'" 2>/dev/null || true), default model options"
	echo
	sed -n '/^-- 1. Next period/,/^\\set ON_ERROR_STOP/p' test/bench/retail_split.sql | grep '^--' | sed 's/^-- /   /'
	echo
	psql -X -q -v ON_ERROR_STOP=1 -v have_full="$have_full" -v cut="$cut" \
		-c "CREATE EXTENSION IF NOT EXISTS bundlerec" -f test/bench/retail_split.sql 2>&1 | sed 's/^/   /'
} | tee "$OUT/retail_split_bench.txt"
