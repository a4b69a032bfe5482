#!/usr/bin/env bash
# The Citus suite: when the citus extension is installed, starts a throwaway
# Citus cluster on this machine (test/citus/cluster.sh: a coordinator and two
# workers), creates bundlerec there and runs the pgTAP files of test/citus/
# against the coordinator with pg_prove.  When citus is not installed it says
# so and exits 0, so the default test command passes on a machine without
# Citus.
#
#   bash test/citus/run.sh            # from the repository root
#   KEEP=1 bash test/citus/run.sh     # leave the cluster running
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cluster.sh"

if ! citus_available; then
	echo "== Citus suite skipped: the citus extension is not installed for PostgreSQL $(pg_config --version | awk '{print $2}') (no citus in pg_available_extensions)"
	exit 0
fi
citus_cluster_start || exit 1

PGHOST=$CITUS_BASE PGPORT=${CITUS_PORTS[0]} PGUSER=postgres PGDATABASE=postgres \
	pg_prove --verbose --ext .sql "$here"/*.sql
rc=$?
if [ -n "${KEEP:-}" ]; then
	echo "== kept: psql -h $CITUS_BASE -p ${CITUS_PORTS[0]} -U postgres"
fi
exit "$rc"
