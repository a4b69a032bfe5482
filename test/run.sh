#!/usr/bin/env bash
# The bundlerec test suite: installs what is missing, builds with warnings as
# errors, starts a throwaway cluster, runs the pg_regress suite (sql/,
# expected/), the pgTAP suites (test/pgtap/) and the Citus suite (test/citus/,
# on a coordinator and two workers of its own; skipped with a message when the
# citus extension is not installed), drops the cluster, and ends with
# "N passed, M failed".  Exits non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" != "--inside" ]; then
	set -e
	br_install_deps
	br_build_install PG_CFLAGS="-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Werror"
	set +e
	# always a throwaway cluster, whatever PG* variables say
	# pg_cron is preloaded for the scheduling test (test/pgtap/models_cron.sql);
	# its jobs run as background workers in the database the suites use.
	env -u PGHOST -u PGPORT -u PGDATABASE -u PGSERVICE -u PGUSER -u PGPASSWORD \
		pg_virtualenv -t -v 15 \
		-o max_worker_processes=12 -o max_parallel_workers=8 \
		-o shared_preload_libraries=pg_cron -o cron.use_background_workers=on \
		-o cron.database_name=postgres -o cron.max_running_jobs=4 \
		bash "$0" --inside 2>&1 | tee test/run.log
	rc=${PIPESTATUS[0]}
	# repeat the tally last, after the cluster's own goodbye
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' test/run.log | tail -1)
	echo "${summary:-0 passed, 1 failed}"
	if [ -z "$summary" ] && [ "$rc" -eq 0 ]; then
		rc=1
	fi
	exit "$rc"
fi

cd "$BR_ROOT"
passed=0
failed=0

# Add a runner's passes and failures to the totals: $1 its exit status,
# $2 its log, $3 and $4 patterns of a passed and of a failed test.
tally() {
	local ok bad
	ok=$(grep -cE "$3" "$2" || true)
	bad=$(grep -cE "$4" "$2" || true)
	if [ "$1" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

echo "== pg_regress (sql/ against expected/)"
make -s installcheck >test/regress.log 2>&1
rc=$?
cat test/regress.log
if [ -s regression.diffs ]; then
	echo "== regression.diffs"
	cat regression.diffs
fi
tally "$rc" test/regress.log '\.\.\. ok' '\.\.\. (FAILED|failed)'

echo "== pgTAP (test/pgtap)"
pg_prove --verbose --ext .sql -r test/pgtap >test/tap.log 2>&1
rc=$?
cat test/tap.log
tally "$rc" test/tap.log '^[[:space:]]*ok [0-9]+' '^[[:space:]]*not ok [0-9]+'

# its own coordinator and two workers when citus is installed, else skipped
echo "== Citus (test/citus)"
bash test/citus/run.sh >test/citus.log 2>&1
rc=$?
cat test/citus.log
tally "$rc" test/citus.log '^[[:space:]]*ok [0-9]+' '^[[:space:]]*not ok [0-9]+'

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
