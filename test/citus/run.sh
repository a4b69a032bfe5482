#!/usr/bin/env bash
# The Citus suite: when the citus extension is installed, starts a throwaway
# Citus cluster on this machine (a coordinator and two workers, each its own
# server on a free port, citus preloaded), creates bundlerec there and runs
# the pgTAP files of test/citus/ against the coordinator with pg_prove.
# When citus is not installed it says so and exits 0, so the default test
# command passes on a machine without Citus.
#
#   bash test/citus/run.sh            # from the repository root
#   KEEP=1 bash test/citus/run.sh     # leave the cluster running (prints how to reach it)
set -uo pipefail

PGBIN=$(pg_config --bindir)
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -f "$(pg_config --sharedir)/extension/citus.control" ]; then
	echo "== Citus suite skipped: the citus extension is not installed for PostgreSQL $(pg_config --version | awk '{print $2}') (no citus in pg_available_extensions)"
	exit 0
fi

# initdb refuses root: run the servers as postgres then
as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# a TCP port nobody listens on, from $1 upwards
free_port() {
	local p=$1
	while (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((p + 1))
	done
	echo "$p"
}

base=$(mktemp -d /tmp/bundlerec-citus.XXXXXX)
chmod 755 "$base"
[ "$(id -u)" = 0 ] && chown postgres "$base"
names=(coordinator worker1 worker2)
ports=()
p=$((40000 + $$ % 10000))
for n in "${names[@]}"; do
	p=$(free_port "$p")
	ports+=("$p")
	p=$((p + 1))
done

stop_all() {
	local n
	for n in "${names[@]}"; do
		[ -f "$base/$n/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$base/$n" -m immediate stop >/dev/null 2>&1
	done
	rm -rf "$base"
}
if [ -z "${KEEP:-}" ]; then
	trap stop_all EXIT
fi

for i in 0 1 2; do
	n=${names[$i]}
	as_owner "$PGBIN/initdb" -D "$base/$n" -U postgres --auth=trust --no-sync >"$base/$n.initdb.log" 2>&1 || {
		cat "$base/$n.initdb.log"; exit 1; }
	cat >>"$base/$n/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$base'
shared_preload_libraries = 'citus'
citus.node_conninfo = 'sslmode=prefer'
max_worker_processes = 16
max_connections = 100
fsync = off
CONF
	# a port found free may be taken before the server binds it: try on
	for try in 1 2 3 4 5; do
		echo "port = ${ports[$i]}" >"$base/$n/port.conf"
		grep -q "^include 'port.conf'" "$base/$n/postgresql.conf" ||
			echo "include 'port.conf'" >>"$base/$n/postgresql.conf"
		[ "$(id -u)" = 0 ] && chown postgres "$base/$n/port.conf"
		if as_owner "$PGBIN/pg_ctl" -D "$base/$n" -l "$base/$n.log" -w start >/dev/null; then
			break
		fi
		[ "$try" = 5 ] && { cat "$base/$n.log"; exit 1; }
		ports[$i]=$(free_port $((ports[i] + 3)))
	done
done

cpsql() {
	local port=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -h "$base" -p "$port" -U postgres -d postgres "$@"
}
for i in 0 1 2; do
	cpsql "${ports[$i]}" -c 'CREATE EXTENSION citus' || exit 1
done
cpsql "${ports[0]}" -c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]})" \
	-c "SELECT citus_add_node('127.0.0.1', ${ports[1]})" \
	-c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" >/dev/null || exit 1
echo "== Citus cluster: coordinator on port ${ports[0]}, workers on ${ports[1]} and ${ports[2]} ($base)"

PGHOST=$base PGPORT=${ports[0]} PGUSER=postgres PGDATABASE=postgres \
	pg_prove --verbose --ext .sql "$here"/*.sql
rc=$?
if [ -n "${KEEP:-}" ]; then
	echo "== kept: psql -h $base -p ${ports[0]} -U postgres"
fi
exit "$rc"
