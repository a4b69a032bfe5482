#!/usr/bin/env bash
# bundle_alike_bench: whether a bundle's score should reward alike items
# (content similarity) or unlike, complementary ones, judged on held-out
# orders of Online Retail (time split) and, when present, Groceries: test
# acceptance of bundles by cohesion and alikeness, then the bundles that
# models with each bundle_alike_weight serve.  The protocol is written at
# the top of test/bench/bundle_alike.sql.  A benchmark, not a test: nothing
# is asserted.
#
# Data: ../shared/data/online_retail/online_retail.csv.gz (relative to the
# repository root) when present, cut BENCH_CUT (default 2011-10-01); else
# the shipped sample test/data/online_retail_sample.csv, cut 2010-12-09.
# ../shared/data/groceries/ when present.
#
# `bash test/bench/bundle_alike_bench.sh` installs what is missing, builds
# and installs bundlerec and runs against a throwaway cluster (or the server
# named by PG* variables); `--inside` uses the server named by PG* variables
# as is.  Output also goes to test/bench/out/bundle_alike_bench.txt.
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
br_groceries_data
br_bench_db "$DB"
{
	echo "== bundle_alike_bench $(date -u +%Y%m%d-%H%M%S)"
	echo "data: $data; Online Retail trained before $cut, judged on the orders from $cut on"
	echo
	sed -n '/^-- Data:/,/^--    the bundles served/p' test/bench/bundle_alike.sql | sed 's/^-- /   /; s/^--$//'
	echo
	psql -X -q -v ON_ERROR_STOP=1 -v have_full="$have_full" -v cut="$cut" -v have_groceries="$have_groceries" \
		-c "CREATE EXTENSION IF NOT EXISTS bundlerec" -f test/bench/bundle_alike.sql 2>&1 | sed 's/^/   /'
} | tee "$OUT/bundle_alike_bench.txt"
