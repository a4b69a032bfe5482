#!/usr/bin/env bash
# The bundlerec test suite: installs what is missing, builds with warnings as
# errors, starts a throwaway cluster, runs the pg_regress suite (sql/,
# expected/) and the pgTAP suites (test/pgtap/), drops the cluster, and ends
# with "N passed, M failed".  Exits non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" != "--inside" ]; then
	set -e
	br_install_deps
	br_build_install PG_CFLAGS="-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Werror"
	set +e
	# always a throwaway cluster, whatever PG* variables say
	env -u PGHOST -u PGPORT -u PGDATABASE -u PGSERVICE -u PGUSER -u PGPASSWORD \
		pg_virtualenv -t -v 15 \
		-o max_worker_processes=8 -o max_parallel_workers=8 \
		bash "$0" --inside
	exit $?
fi

cd "$BR_ROOT"
passed=0
failed=0

echo "== pg_regress (sql/ against expected/)"
make -s installcheck >test/regress.log 2>&1
regress_rc=$?
cat test/regress.log
ok=$(grep -cE '\.\.\. ok' test/regress.log || true)
bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed' test/regress.log || true)
if [ "$regress_rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
	bad=1
fi
if [ -f regression.diffs ] && [ -s regression.diffs ]; then
	echo "== regression.diffs"
	cat regression.diffs
fi
passed=$((passed + ok))
failed=$((failed + bad))

echo "== pgTAP (test/pgtap)"
pg_prove --verbose --ext .sql -r test/pgtap >test/tap.log 2>&1
tap_rc=$?
cat test/tap.log
ok=$(grep -cE '^[[:space:]]*ok [0-9]+' test/tap.log || true)
bad=$(grep -cE '^[[:space:]]*not ok [0-9]+' test/tap.log || true)
if [ "$tap_rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
	bad=1
fi
passed=$((passed + ok))
failed=$((failed + bad))

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
