#!/usr/bin/env bash
# ease_sparse_large: EASE on a generated 50,000-item catalogue (default;
# BENCH_ITEMS, BENCH_BASKETS to change), past the dense limit of the default
# bundlerec.memory_limit: dense ease() refuses, _ease_weights() falls back to
# sparse EASE; time, weights, bundlerec's peak memory (its DEBUG1 line) and
# the backend's peak RSS.  Data and protocol at the top of
# test/bench/ease_sparse_large.sql.  A benchmark, not a test.
# `bash test/bench/ease_sparse_large.sh` uses a throwaway cluster; `--inside`
# the server named by PG* variables.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
cd "$BR_ROOT"
DB=${BENCH_DB:-bench}
br_bench_db "$DB"
echo "== ease_sparse_large $(date -u +%Y%m%d-%H%M%S), items ${BENCH_ITEMS:-50000}, baskets ${BENCH_BASKETS:-300000}"
psql -X -q -v ON_ERROR_STOP=1 -v n_items="${BENCH_ITEMS:-50000}" -v n_baskets="${BENCH_BASKETS:-300000}" \
	-c "DROP SCHEMA IF EXISTS ease_sparse_large CASCADE" -c "CREATE SCHEMA ease_sparse_large" \
	-c "CREATE EXTENSION IF NOT EXISTS bundlerec" \
	-c "SET search_path = ease_sparse_large, public" \
	-f test/bench/ease_sparse_large.sql 2>&1 | grep -v 'DEBUG: *\(drop auto-cascades\|building index\)' || true
