#!/usr/bin/env bash
# planted_bundles_bench: synthetic shops with planted bundles; for each
# planted bundle and each of its items, is the planted bundle the first
# bundle served for that item?  Printed per variant for bundlerec
# (bundles_for_item of a model with default options), generate_bundles told
# the size, a top-pair-count baseline and generate_bundles over a range of
# whole_share (a bundle bought whole above its own subsets).  The generator and protocol are written at the top of
# test/bench/planted_bundles.sql.  A benchmark, not a test: nothing is
# asserted.  Needs no data files.
#
# `bash test/bench/planted_bundles_bench.sh` builds and installs bundlerec
# and runs against a throwaway cluster (or the server named by PG*
# variables); `--inside` uses the server named by PG* variables as is.
# BENCH_ORDERS (default 50000) sets the orders of the base variant.
# Output also goes to test/bench/out/planted_bundles_bench.txt.
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
N=${BENCH_ORDERS:-50000}
br_bench_db "$DB"
# variant: label orders bundles bsize whole partial skew items
VARIANTS="base $N 300 3 0.20 0.06 2 5000
few_bundles $N 100 3 0.20 0.06 2 5000
many_bundles $N 600 3 0.20 0.06 2 5000
low_noise $N 300 3 0.20 0.02 2 5000
high_noise $N 300 3 0.20 0.12 2 5000
trap $N 300 3 0.10 0.20 2 5000
uniform_pop $N 300 3 0.20 0.06 1 5000
skewed_pop $N 300 3 0.20 0.06 3 5000
pairs $N 300 2 0.20 0.06 2 5000
quads $N 300 4 0.20 0.06 2 5000"
{
	echo "== planted_bundles_bench $(date -u +%Y%m%d-%H%M%S)"
	sed -n '/^-- psql variables/,/^--   Nothing is tuned/p' test/bench/planted_bundles.sql | sed 's/^-- /   /; s/^--$//'
	echo "   variants (label orders bundles bsize whole partial skew items):"
	echo "$VARIANTS" | sed 's/^/     /'
	psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS bundlerec" >/dev/null
	echo "$VARIANTS" | while read -r v o b s w p k i; do
		psql -X -q -v ON_ERROR_STOP=1 -v variant="$v" -v orders="$o" -v bundles="$b" -v bsize="$s" \
			-v whole="$w" -v partial="$p" -v skew="$k" -v items="$i" -v seed=0.42 \
			-f test/bench/planted_bundles.sql | grep ' | anchors '
	done
} | tee "$OUT/planted_bundles_bench.txt"
