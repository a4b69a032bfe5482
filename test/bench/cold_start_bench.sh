#!/usr/bin/env bash
# cold_start_bench: Online Retail products first sold after a cut, judged
# on the orders after it: their frequently_bought_together and
# similar_items lists (HitRate@10, Recall@10) and complete_cart on held-out
# carts holding one (HitRate@10), for a model with a products source
# (product names as the text) beside the same model without one (today's
# fallbacks: popular in category, then popular).  The protocol is written
# at the top of test/bench/cold_start.sql.  A benchmark, not a test:
# nothing is asserted.
#
# Data: ../shared/data/online_retail/online_retail.csv.gz (relative to the
# repository root) when present, cut BENCH_CUT (default 2011-10-01); else
# the shipped sample test/data/online_retail_sample.csv, cut 2010-12-09.
#
# `bash test/bench/cold_start_bench.sh` installs what is missing, builds
# and installs bundlerec and runs against a throwaway cluster (or the server
# named by PG* variables); `--inside` uses the server named by PG* variables
# as is.  Output also goes to test/bench/out/cold_start_bench.txt.
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
	echo "== cold_start_bench $(date -u +%Y%m%d-%H%M%S)"
	echo "data: $data; trained before $cut, judged on the orders from $cut on"
	echo "bundlerec $(psql -X -At -c "SELECT extversion FROM pg_extension WHERE extname = 'bundlerec'" 2>/dev/null || true), default model options"
	echo
	sed -n '/^-- Data:/,/^--    models, and of the 10 best sellers/p' test/bench/cold_start.sql | sed 's/^-- /   /'
	echo
	psql -X -q -v ON_ERROR_STOP=1 -v have_full="$have_full" -v cut="$cut" \
		-c "CREATE EXTENSION IF NOT EXISTS bundlerec" -f test/bench/cold_start.sql 2>&1 | sed 's/^/   /'
} | tee "$OUT/cold_start_bench.txt"
