#!/usr/bin/env bash
# The pg_regress and pgTAP suites against a server running under Valgrind
# (memcheck with PostgreSQL's own suppressions, as PostgreSQL's docs and
# buildfarm run it).  Takes hours; run by hand, never from CI.
#
# Needs:
#   PG_CONFIG      pg_config of a PostgreSQL 15 built with
#                  CFLAGS='-O1 -g -fno-omit-frame-pointer -DUSE_VALGRIND',
#                  with dblink, pgTAP and pg_cron installed into it
#   VALGRIND_SUPP  path of PostgreSQL's src/tools/valgrind.supp
#   valgrind and pg_prove on PATH
# Optional:
#   VG_PORT        server port (default 5497)
#   VG_DIR         work directory, kept (default: a new directory in /tmp)
#   VG_REGRESS     pg_regress tests to run (default: all of sql/)
#   VG_TAP         pgTAP files to run (default: all of test/pgtap/)
#   VG_TIME_SCALE  bundlerec_test.time_scale of the cluster (default 20): the
#                  suites with timed waits and timeouts stretch them by it
#                  (test/pgtap/lib/time_scale.psql)
#   VG_INSTALLED   1: test the bundlerec already installed in that PostgreSQL
#                  (no make clean, build or install), e.g. to rerun a few
#                  files beside a run that is still going
#
#   PG_CONFIG=/opt/pg15vg/bin/pg_config VALGRIND_SUPP=/tmp/valgrind.supp \
#     bash test/valgrind.sh
#
# It runs "make clean", builds and installs bundlerec into that PostgreSQL,
# initdb's a cluster in the work directory, starts the postmaster under
# valgrind (one log per process in VG_DIR/valgrind/), runs both suites,
# stops the server, and prints the pass/fail tallies of both suites, the
# number of Valgrind error reports and each distinct error with its first
# frames, marked "bundlerec" when a frame of it (or of its origin) is in
# bundlerec.so.  Exits 1 when any error is in bundlerec code, 2 when the
# run could not be set up; failed tests alone do not change the status
# (timing-sensitive tests can fail from Valgrind's slowness alone).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${VG_PORT:-5497}

die() {
	echo "!! $*" >&2
	exit 2
}

[ -n "${PG_CONFIG:-}" ] || die "set PG_CONFIG to the pg_config of a PostgreSQL built with -DUSE_VALGRIND"
[ -n "${VALGRIND_SUPP:-}" ] || die "set VALGRIND_SUPP to PostgreSQL's src/tools/valgrind.supp"
[ -r "$VALGRIND_SUPP" ] || die "cannot read $VALGRIND_SUPP"
case " $("$PG_CONFIG" --cflags) " in
*-DUSE_VALGRIND*) ;;
*) die "$PG_CONFIG: PostgreSQL was not built with -DUSE_VALGRIND" ;;
esac
command -v valgrind >/dev/null || die "valgrind is not installed"
command -v pg_prove >/dev/null || die "pg_prove is not installed"

BINDIR=$("$PG_CONFIG" --bindir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
WORK=${VG_DIR:-$(mktemp -d /tmp/bundlerec-vg.XXXXXX)}
WORK=$(mkdir -p "$WORK" && cd "$WORK" && pwd)
VGLOGS=$WORK/valgrind

# The server cannot run as root: then it runs as postgres.
if [ "$(id -u)" = 0 ]; then
	as_server() { runuser -u postgres -- "$@"; }
	export PGUSER=postgres
else
	as_server() { "$@"; }
fi

if [ "${VG_INSTALLED:-}" = 1 ]; then
	[ -r "$PKGLIBDIR/bundlerec.so" ] || die "bundlerec is not installed in $PKGLIBDIR"
	echo "== testing the bundlerec installed in $PKGLIBDIR ($("$PG_CONFIG" --version))"
else
	echo "== building and installing bundlerec for $("$PG_CONFIG" --version) ($PG_CONFIG)"
	make -C "$ROOT" -s clean
	make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" || die "build failed"
	if [ -w "$PKGLIBDIR" ]; then
		make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install || die "install failed"
	else
		sudo make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install || die "install failed"
	fi
fi

echo "== cluster in $WORK"
rm -rf "$WORK/data" "$VGLOGS"
mkdir -p "$VGLOGS"
[ "$(id -u)" = 0 ] && chown -R postgres "$WORK"
as_server "$BINDIR/initdb" -D "$WORK/data" -A trust --no-sync >"$WORK/initdb.log" 2>&1 ||
	die "initdb failed, see $WORK/initdb.log"
# pg_cron as in test/run.sh; no statement timeout, the suites are slow here,
# and the suites' own waits and timeouts are stretched
cat >>"$WORK/data/postgresql.conf" <<EOF
bundlerec_test.time_scale = ${VG_TIME_SCALE:-20}
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK'
fsync = off
statement_timeout = 0
max_worker_processes = 12
max_parallel_workers = 8
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
cron.max_running_jobs = 4
log_line_prefix = '%m [%p] '
EOF

stop_server() {
	if [ -f "$WORK/data/postmaster.pid" ]; then
		as_server "$BINDIR/pg_ctl" -D "$WORK/data" -m fast -t 1200 stop >/dev/null 2>&1 ||
			as_server "$BINDIR/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1
	fi
	wait 2>/dev/null
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# OpenBLAS (pthread build) starts its worker threads when bundlerec.so is
# loaded, with signals unblocked, and bundlerec.blas_threads = 1 leaves them
# idle.  A lock or statement timeout signals SIGINT to the backend's
# process (and group), and the kernel may hand it to such a thread; under
# Valgrind, which runs one thread at a time, that thread's handler then runs
# late, after the main thread has raised and caught the lock timeout's
# error, and cancels the next statement "due to user request" (refresh's
# lock retries in _lock_results catch lock timeouts).  So no worker threads
# here: OpenBLAS starts them when blas_threads asks for more than one.
echo "== starting the postmaster under valgrind on port $PORT"
started=$(date +%s)
as_server env OPENBLAS_NUM_THREADS=1 valgrind --quiet --trace-children=yes --track-origins=yes \
	--read-var-info=yes --read-inline-info=yes --leak-check=no --gen-suppressions=all \
	--suppressions="$VALGRIND_SUPP" \
	--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
	--log-file="$VGLOGS/%p.log" \
	"$BINDIR/postgres" -D "$WORK/data" >"$WORK/server.log" 2>&1 &
vgpid=$!
for _ in $(seq 1 600); do
	"$BINDIR/pg_isready" -q -h "$WORK" -p "$PORT" && break
	kill -0 "$vgpid" 2>/dev/null || break
	sleep 1
done
"$BINDIR/pg_isready" -q -h "$WORK" -p "$PORT" || die "the server did not start, see $WORK/server.log"

export PGHOST=$WORK PGPORT=$PORT PGDATABASE=postgres

echo "== pg_regress (sql/ against expected/)"
t0=$(date +%s)
if [ -n "${VG_REGRESS:-}" ]; then
	make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS="$VG_REGRESS" >"$WORK/regress.log" 2>&1
else
	make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" installcheck >"$WORK/regress.log" 2>&1
fi
regress_rc=$?
regress_s=$(($(date +%s) - t0))
[ -s "$ROOT/regression.diffs" ] && cp "$ROOT/regression.diffs" "$WORK/"
cat "$WORK/regress.log"

echo "== pgTAP (test/pgtap)"
t0=$(date +%s)
# shellcheck disable=SC2086
(cd "$ROOT" && pg_prove --psql-bin "$BINDIR/psql" --verbose --timer --ext .sql ${VG_TAP:--r test/pgtap}) \
	>"$WORK/tap.log" 2>&1
tap_rc=$?
tap_s=$(($(date +%s) - t0))
grep -E '^test/pgtap/.*\.sql \.\.|^ *not ok|^Failed|^Result' "$WORK/tap.log"

echo "== stopping the server"
trap - EXIT
stop_server
total_s=$(($(date +%s) - started))

# bundlerec's functions (with their source files) tell its frames apart
nm --defined-only "$PKGLIBDIR/bundlerec.so" | awk '$2 ~ /^[tT]$/ { print $3 }' >"$WORK/bundlerec.syms"
(cd "$ROOT/src" && ls -- *.c *.h) >"$WORK/bundlerec.srcs"

# One signature per error report: its kind, its first six frames and the
# first frame of its origin.
summarise() {
	awk -v syms="$WORK/bundlerec.syms" -v srcs="$WORK/bundlerec.srcs" '
	BEGIN {
		while ((getline s < syms) > 0) sym[s] = 1
		while ((getline s < srcs) > 0) src[s] = 1
	}
	{ sub(/^==[0-9]+== ?/, "") }
	/VALGRINDERROR-BEGIN/ { inerr = 1; kind = ""; sig = ""; nf = 0; ours = 0; origin = ""; next }
	/VALGRINDERROR-END/ {
		inerr = 0; total++
		if (!(sig in count)) { order[++n] = sig; kindof[sig] = kind; frames[sig] = fr }
		count[sig]++
		if (ours) { mine[sig] = 1; ourtotal++ }
		next
	}
	!inerr { next }
	kind == "" { kind = $0; fr = ""; next }
	/^ *(at|by) 0x/ {
		f = $0; sub(/^ *(at|by) 0x[0-9A-Fa-f]+: /, "", f)
		fn = f; sub(/ \(.*$/, "", fn)
		loc = f; sub(/^[^(]*\(/, "", loc); sub(/\)$/, "", loc)
		file = loc; sub(/:.*$/, "", file)
		if (loc ~ /bundlerec\.so/ || (fn in sym && file in src)) ours = 1
		if (nf < 6) { fr = fr "\n      " f; sig = sig "|" fn " " loc }
		else if (origin != "" && fn !~ /^(AllocSet|Generation|Slab|MemoryContext|palloc|repalloc|pstrdup|[mc]alloc|realloc|free$|pfree)/) {
			fr = fr "\n    " origin ": " f; sig = sig "|" origin " " fn " " loc; origin = ""
		}
		nf++
		next
	}
	# where the bad value or block came from: its first frame outside the
	# allocator is shown
	/created by|alloc.d|free.d/ { origin = $0; sub(/^ +/, "", origin); nf = 6; next }
	/Address 0x/ { nf = 7 }
	END {
		printf "%d error reports, %d in bundlerec code, %d elsewhere; %d distinct\n",
			total, ourtotal, total - ourtotal, n
		for (i = 1; i <= n; i++) {
			s = order[i]
			printf "-- %dx %s: %s%s\n", count[s], (s in mine) ? "bundlerec" : "other",
				kindof[s], frames[s]
		}
	}' "$VGLOGS"/*.log
}

# Passed and failed counts of a log: $1 the log, $2 and $3 the patterns.
tally() {
	echo "$(grep -cE "$2" "$1") passed, $(grep -cE "$3" "$1") failed"
}

echo
echo "== summary (work directory $WORK)"
echo "pg_regress: $(tally "$WORK/regress.log" '\.\.\. ok' '\.\.\. (FAILED|failed)') (exit $regress_rc, ${regress_s} s)"
echo "pgTAP: $(tally "$WORK/tap.log" '^[[:space:]]*ok [0-9]+' '^[[:space:]]*not ok [0-9]+') tests (exit $tap_rc, ${tap_s} s)"
echo "server: $(grep -cE 'terminated by signal|was terminated by exception' "$WORK/server.log") backend crashes; up ${total_s} s"
echo "valgrind: $(ls "$VGLOGS" | wc -l) process logs"
summarise | tee "$WORK/valgrind-summary.txt"
ours=$(sed -n '1s/^[0-9]* error reports, \([0-9]*\) in bundlerec.*/\1/p' "$WORK/valgrind-summary.txt")
[ "${ours:-0}" -eq 0 ]
