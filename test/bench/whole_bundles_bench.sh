#!/usr/bin/env bash
# whole_bundles_bench: does ranking a bundle bought whole above its own
# subsets (generate_bundles' whole_share, a model's bundle_whole_share)
# change what real shops accept?  First-bundle and top-5 acceptance on
# held-out orders of Online Retail and, when present, Groceries, for
# whole_share off, 0 and 0.5 to 0.9, on a validation slice (where
# the default was chosen) and on the test slice.  The protocol is written at
# the top of test/bench/whole_bundles.sql; the planted-bundle side is
# test/bench/planted_bundles_bench.sh.  A benchmark, not a test: nothing is
# asserted.
#
# Data: ../shared/data/online_retail/online_retail.csv.gz (relative to the
# repository root) when present, else the shipped sample
# test/data/online_retail_sample.csv; ../shared/data/groceries/ when
# present.
#
# `bash test/bench/whole_bundles_bench.sh` builds and installs bundlerec
# and runs against a throwaway cluster (or the server named by PG*
# variables); `--inside` uses the server named by PG* variables as is.
# Output also goes to test/bench/out/whole_bundles_bench.txt.
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
	echo "== whole_bundles_bench $(date -u +%Y%m%d-%H%M%S)"
	echo "data: $data"
	echo
	sed -n '/^-- Data:/,/^-- part) against/p' test/bench/whole_bundles.sql | sed 's/^-- /   /; s/^--$//'
	echo
	psql -X -q -v ON_ERROR_STOP=1 -v have_full="$have_full" -v have_groceries="$have_groceries" \
		-c "CREATE EXTENSION IF NOT EXISTS bundlerec" -f test/bench/whole_bundles.sql 2>&1 | sed 's/^/   /'
} | tee "$OUT/whole_bundles_bench.txt"
