#!/usr/bin/env bash
# The long fuzz run: FUZZ_CALLS (default 100000) seeded calls of every
# public bundlerec function with random and boundary arguments, each its
# own statement under statement_timeout = FUZZ_TIMEOUT (default 10s), in
# batches of 2000 per session (the fixture is rebuilt for each batch).
# Counts each outcome: result, clean error (by SQLSTATE), internal error
# (class XX), timeout (57014: a hang), crash (the session lost).
#
# `bash test/fuzz/fuzz.sh` installs what is missing, builds and installs
# bundlerec and runs against a throwaway cluster; `--inside` uses the
# server named by PG* variables.  Output: test/bench/out/fuzz-<time>/.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
if [ "${1:-}" != "--inside" ]; then
	set -e
	br_install_deps
	br_build_install
	set +e
	env -u PGHOST -u PGPORT -u PGDATABASE -u PGSERVICE pg_virtualenv -t -v 15 bash "$0" --inside
	exit $?
fi
cd "$BR_ROOT"
CALLS=${FUZZ_CALLS:-100000}
TIMEOUT=${FUZZ_TIMEOUT:-10s}
BATCH=2000
out="test/bench/out/fuzz-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
psql -X -q -c 'CREATE EXTENSION IF NOT EXISTS bundlerec' >/dev/null
batches=$(( (CALLS + BATCH - 1) / BATCH ))
crashes=0
for b in $(seq 1 "$batches"); do
	# each call prints fz:ok, or its error as "ERROR:  <sqlstate>"
	psql -X -q -v ON_ERROR_STOP=0 -v VERBOSITY=sqlstate >"$out/batch$b.log" 2>&1 <<SQL
\set VERBOSITY sqlstate
\pset tuples_only on
\o /dev/null
\i test/fuzz/setup.sql
\o
SET bundlerec.memory_limit = '256MB';
SET statement_timeout = '$TIMEOUT';
SELECT 'SELECT ''fz:ok'' FROM (' || call || ') z' FROM fz.calls($BATCH, $b / ($batches + 1.0)) \gexec
SQL
	if grep -qE 'server closed the connection|connection to server was lost|terminated abnormally' "$out/batch$b.log"; then
		crashes=$((crashes + 1))
		echo "batch $b: the session was lost (see $out/batch$b.log)"
		sleep 5
	fi
done
ok=$(cat "$out"/batch*.log | grep -c '^ *fz:ok' || true)
errs=$(cat "$out"/batch*.log | grep -oE '^ERROR: +[0-9A-Z]{5}' | awk '{print $2}' | sort | uniq -c | sort -rn)
xx=$(printf '%s\n' "$errs" | awk '$2 ~ /^XX/ {s += $1} END {print s + 0}')
hang=$(printf '%s\n' "$errs" | awk '$2 == "57014" {s += $1} END {print s + 0}')
clean=$(printf '%s\n' "$errs" | awk '$2 !~ /^XX/ && $2 != "57014" {s += $1} END {print s + 0}')
{
	echo "== bundlerec fuzz: $CALLS calls planned in $batches batches (and a model check every 25), statement_timeout $TIMEOUT"
	echo "statements run:      $((ok + clean + xx + hang)) (fuzz calls and the model checks; calls whose argument types have no values are skipped)"
	echo "results:             $ok"
	echo "clean errors:        $clean"
	echo "internal errors XX:  $xx"
	echo "timeouts (hangs):    $hang"
	echo "sessions lost:       $crashes"
	echo "errors by SQLSTATE:"
	printf '%s\n' "$errs"
} | tee "$out/summary.txt"
[ "$xx" -eq 0 ] && [ "$hang" -eq 0 ] && [ "$crashes" -eq 0 ]
