# Shared by test/run.sh, test/demo.sh and test/bench/*.sh: install what is
# missing, build and install bundlerec, and run a command against a server.

# shellcheck shell=bash
BR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BR_PACKAGES="make gcc pkg-config postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap postgresql-15-cron libtap-parser-sourcehandler-pgtap-perl libopenblas-dev"

br_sudo() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Install the Debian packages bundlerec needs, keeping the server and its
# headers at the same minor version.
br_install_deps() {
	local missing="" p
	for p in $BR_PACKAGES; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	local sv dv
	sv=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true)
	dv=$(dpkg-query -W -f='${Version}' postgresql-server-dev-15 2>/dev/null || true)
	if [ -n "$missing" ] || [ "$sv" != "$dv" ]; then
		echo "== installing:${missing:- postgresql-15 postgresql-server-dev-15 (same minor version)}"
		br_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		br_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			$BR_PACKAGES >/dev/null
	fi
}

# Build and install the extension; extra make arguments are passed through.
br_build_install() {
	make -C "$BR_ROOT" -s clean
	make -C "$BR_ROOT" -s "$@"
	br_sudo make -C "$BR_ROOT" -s install
}

# Run "$@" against the server named by PG* variables when one is named,
# otherwise against a throwaway cluster that is dropped afterwards.
br_with_server() {
	if [ -n "${PGHOST:-}${PGPORT:-}${PGDATABASE:-}${PGSERVICE:-}" ]; then
		"$@"
	else
		pg_virtualenv -t -v 15 \
			-o max_worker_processes=8 -o max_parallel_workers=8 \
			-o max_parallel_workers_per_gather=4 \
			"$@"
	fi
}

# Benchmarks: use database $1, creating it when missing (through the
# maintenance database), and make it the default for psql.
br_bench_db() {
	if ! psql -X -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1; then
		psql -X -d postgres -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$1\""
	fi
	export PGDATABASE=$1
}

# Benchmarks on Online Retail: have_full (1: the full data set at
# ../shared/data/online_retail/, else the shipped sample), cut (BENCH_CUT,
# else 2011-10-01 on the full data and 2010-12-09 on the sample) and data
# (what was found, in words).  Run from the repository root.
br_retail_data() {
	if [ -f ../shared/data/online_retail/online_retail.csv.gz ]; then
		have_full=1
		cut=${BENCH_CUT:-2011-10-01}
		data="UCI Online Retail, full ($(cd .. && pwd)/shared/data/online_retail/online_retail.csv.gz)"
	else
		have_full=0
		cut=${BENCH_CUT:-2010-12-09}
		data="UCI Online Retail, the shipped sample (test/data/online_retail_sample.csv)"
	fi
}

# ... and Groceries when present: have_groceries, appended to data.
br_groceries_data() {
	if [ -f ../shared/data/groceries/groceries_long.csv.gz ]; then
		have_groceries=1
		data="$data; Groceries ($(cd .. && pwd)/shared/data/groceries)"
	else
		have_groceries=0
		data="$data; Groceries not present, left out"
	fi
}

# psql for benchmark steps: no psqlrc, stop at the first error.
bpsql() {
	psql -X -v ON_ERROR_STOP=1 "$@"
}

# Wait up to 2 minutes for the server to accept connections (it restarts
# after a backend crash).
wait_server() {
	local i
	for i in $(seq 1 120); do
		psql -X -tAc 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 1
	done
	echo "!! the server did not come back" >&2
	return 1
}

# A benchmark step: bpsql with the given arguments, all output to LOGFILE
# ($1); on failure show the log's tail, wait for the server and return
# non-zero.
step() {
	local logfile=$1
	shift
	if ! bpsql -a "$@" >"$logfile" 2>&1; then
		echo "!! failed, see $logfile:" >&2
		tail -n 25 "$logfile" | sed 's/^/   /' >&2
		wait_server
		return 1
	fi
}

# A script run without --inside installs what is missing, builds, and runs
# itself again with --inside against a throwaway cluster (or the PG* server).
br_run_inside() {
	local script=$1
	shift
	br_install_deps
	br_build_install
	br_with_server bash "$script" --inside "$@"
}
