#!/usr/bin/env bash
# youshu_explore: bundle recommendation on the Youshu benchmark (BGCN / CrossCBR
# split), scoring merchant-defined bundles with bundlerec's EASE / kNN and
# plain-SQL item affinity; all SQL and the protocol are in
# test/bench/youshu_explore.sql (Recall@20 = hits / |gt|, NDCG@20; train
# bundles masked; weights chosen on the tune file, reported on tune and test).
#
# Data: ../shared/data/bundle_youshu (relative to the repository root; set
# YOUSHU_DIR to read it elsewhere); skipped with a note when missing.  The
# server reads the files itself (COPY FROM PROGRAM 'zcat ...'), so it must be
# able to read that directory and the role must be a superuser or hold
# pg_execute_server_program.
#
# `bash test/bench/youshu_explore.sh` installs what is missing, builds and
# installs bundlerec and runs against a throwaway cluster (or the server named
# by PG* variables); `--inside` uses the server named by PG* variables as is.
# BENCH_DB names the database (default youshu; created when missing; its schema
# youshu is dropped and rebuilt).  BENCH_GRID=1 also runs the hyper-parameter
# grids (about 25 minutes more on 2 cores; the default run takes about 8).
# Logs go to test/bench/out/youshu-<stamp>/, the summary also to
# test/bench/out/youshu_explore_summary.txt.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
shift

cd "$BR_ROOT"
DATA=$(cd "${YOUSHU_DIR:-../shared/data/bundle_youshu}" 2>/dev/null && pwd) || DATA=""
if [ -z "$DATA" ] || [ ! -f "$DATA/user_bundle_train.txt.gz" ]; then
	echo "!! note: Youshu data not found (${YOUSHU_DIR:-../shared/data/bundle_youshu}); skipped"
	exit 0
fi
OUT=test/bench/out
STAMP=$(date +%Y%m%d-%H%M%S)
LOG="$OUT/youshu-$STAMP"
mkdir -p "$LOG"
br_bench_db "${BENCH_DB:-youshu}"

grid=()
[ "${BENCH_GRID:-0}" = 1 ] && grid=(-v grid=1)
echo "== youshu_explore $STAMP (data: $DATA, logs: $LOG)"
t0=$(date +%s)
step "$LOG/explore.log" -v datadir="$DATA" "${grid[@]}" -f test/bench/youshu_explore.sql || exit 1
t1=$(date +%s)
{
	echo "youshu_explore $STAMP: $((t1 - t0)) s; Recall@20 = hits / |gt|, NDCG@20; train masked"
	sed -n '/^ *name *| *tune_recall20/,/^([0-9]* row/p' "$LOG/explore.log"
} | tee "$OUT/youshu_explore_summary.txt"
