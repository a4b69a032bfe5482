#!/usr/bin/env bash
# ease_sparse_bench: HitRate@10 of completing held-out Online Retail carts
# with dense ease() (positive weights) and sparse_ease() (signed) at several
# neighbourhood sizes, with times.  Protocol at the top of
# test/bench/ease_sparse.sql.  A benchmark, not a test: nothing is asserted.
# Data: ../shared/data/online_retail/online_retail.csv.gz when present (cut
# 2011-10-01), else the shipped sample (cut 2010-12-09).
# `bash test/bench/ease_sparse_bench.sh` uses a throwaway cluster; `--inside`
# the server named by PG* variables.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
cd "$BR_ROOT"
DB=${BENCH_DB:-bench}
if [ -f ../shared/data/online_retail/online_retail.csv.gz ]; then
	have_full=1; cut=${BENCH_CUT:-2011-10-01}
else
	have_full=0; cut=${BENCH_CUT:-2010-12-09}
fi
br_bench_db "$DB"
echo "== ease_sparse_bench $(date -u +%Y%m%d-%H%M%S), full data: $have_full, cut $cut"
psql -X -q -v ON_ERROR_STOP=1 -v have_full="$have_full" -v cut="$cut" \
	-c "DROP SCHEMA IF EXISTS ease_sparse_bench CASCADE" -c "CREATE SCHEMA ease_sparse_bench" \
	-c "CREATE EXTENSION IF NOT EXISTS bundlerec" \
	-c "SET search_path = ease_sparse_bench, public" -f test/bench/ease_sparse.sql
