# Shared by test/citus/run.sh and test/bench/citus_bench.sh: a throwaway
# Citus cluster on this machine, a coordinator and two workers, each its own
# server on a free TCP port of 127.0.0.1 with citus preloaded.
#   citus_available        true when the citus extension is installed
#   citus_cluster_start    starts it; sets CITUS_BASE (data and sockets) and
#                          CITUS_PORTS (coordinator first); it is stopped and
#                          removed on exit unless KEEP is set
#   cpsql PORT ARGS...     psql on one node as postgres, stopping at errors

# shellcheck shell=bash
CITUS_PGBIN=$(pg_config --bindir)
CITUS_NAMES=(coordinator worker1 worker2)

citus_available() {
	[ -f "$(pg_config --sharedir)/extension/citus.control" ]
}

# initdb refuses root: run the servers as postgres then
citus_as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# a TCP port nobody listens on, from $1 upwards
citus_free_port() {
	local p=$1
	while (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((p + 1))
	done
	echo "$p"
}

citus_cluster_stop() {
	local n
	for n in "${CITUS_NAMES[@]}"; do
		[ -f "$CITUS_BASE/$n/postmaster.pid" ] &&
			citus_as_owner "$CITUS_PGBIN/pg_ctl" -D "$CITUS_BASE/$n" -m immediate stop >/dev/null 2>&1
	done
	rm -rf "$CITUS_BASE"
}

cpsql() {
	local port=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_BASE" -p "$port" -U postgres -d postgres "$@"
}

# Start one node ($1: index): initdb, settings, start on a free port.
citus_node_start() {
	local i=$1 n=${CITUS_NAMES[$1]}
	citus_as_owner "$CITUS_PGBIN/initdb" -D "$CITUS_BASE/$n" -U postgres --auth=trust \
		--no-sync >"$CITUS_BASE/$n.initdb.log" 2>&1 || { cat "$CITUS_BASE/$n.initdb.log"; return 1; }
	cat >>"$CITUS_BASE/$n/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CITUS_BASE'
shared_preload_libraries = 'citus'
citus.node_conninfo = 'sslmode=prefer'
max_worker_processes = 16
fsync = off
include 'port.conf'
CONF
	# a port found free may be taken before the server binds it: try on
	for _ in 1 2 3 4 5; do
		echo "port = ${CITUS_PORTS[$i]}" >"$CITUS_BASE/$n/port.conf"
		[ "$(id -u)" = 0 ] && chown postgres "$CITUS_BASE/$n/port.conf"
		if citus_as_owner "$CITUS_PGBIN/pg_ctl" -D "$CITUS_BASE/$n" -l "$CITUS_BASE/$n.log" \
			-w start >/dev/null; then
			return 0
		fi
		CITUS_PORTS[i]=$(citus_free_port $((CITUS_PORTS[i] + 3)))
	done
	cat "$CITUS_BASE/$n.log"
	return 1
}

citus_cluster_start() {
	local p i
	CITUS_BASE=$(mktemp -d /tmp/bundlerec-citus.XXXXXX)
	chmod 755 "$CITUS_BASE"
	[ "$(id -u)" = 0 ] && chown postgres "$CITUS_BASE"
	[ -z "${KEEP:-}" ] && trap citus_cluster_stop EXIT
	CITUS_PORTS=()
	p=$((40000 + $$ % 10000))
	for i in 0 1 2; do
		p=$(citus_free_port "$p")
		CITUS_PORTS+=("$p")
		p=$((p + 1))
	done
	for i in 0 1 2; do
		citus_node_start "$i" || return 1
		cpsql "${CITUS_PORTS[$i]}" -c 'CREATE EXTENSION citus' || return 1
	done
	cpsql "${CITUS_PORTS[0]}" \
		-c "SELECT citus_set_coordinator_host('127.0.0.1', ${CITUS_PORTS[0]})" \
		-c "SELECT citus_add_node('127.0.0.1', ${CITUS_PORTS[1]})" \
		-c "SELECT citus_add_node('127.0.0.1', ${CITUS_PORTS[2]})" >/dev/null || return 1
	echo "== Citus cluster: coordinator on port ${CITUS_PORTS[0]}, workers on ${CITUS_PORTS[1]} and ${CITUS_PORTS[2]} ($CITUS_BASE)"
}
