#!/usr/bin/env bash
# tune_bench: what tune() chooses on the Online Retail orders before a cut,
# and what the choice gives on the orders after it, beside the default
# options, with evaluate().  The protocol is written at the top of
# test/bench/tune_bench.sql.  A benchmark, not a test: nothing is asserted.
#
# Data: ../shared/data/online_retail/online_retail.csv.gz (relative to the
# repository root) when present, cut BENCH_CUT (default 2011-10-01); else
# the shipped sample test/data/online_retail_sample.csv, cut 2010-12-09.
#
# `bash test/bench/tune_bench.sh` installs what is missing, builds and
# installs bundlerec and runs against a throwaway cluster (or the server
# named by PG* variables); `--inside` uses the server named by PG* variables
# as is.  Output also goes to test/bench/out/tune_bench.txt.
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
	echo "== tune_bench $(date -u +%Y%m%d-%H%M%S)"
	echo "data: $data; tuned on the orders before $cut, judged on the orders from $cut on"
	echo
	sed -n '/^-- Protocol/,/^\\set ON_ERROR_STOP/p' test/bench/tune_bench.sql | grep '^--' | sed 's/^-- /   /'
	echo
	psql -X -q -v ON_ERROR_STOP=1 -v have_full="$have_full" -v cut="$cut" \
		-c "CREATE EXTENSION IF NOT EXISTS bundlerec" -f test/bench/tune_bench.sql 2>&1 | sed 's/^/   /'
} | tee "$OUT/tune_bench.txt"
