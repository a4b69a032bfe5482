#!/usr/bin/env bash
# The bundlerec demo: installs what is missing, builds and installs the
# extension, loads a small real sample of UCI Online Retail (shipped in
# test/data) into a throwaway cluster (or the server named by PG*
# variables) and prints pairs, rules, embeddings and bundles, then creates a
# model, refreshes it (full, then incremental), serves from it and evaluates it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_install_deps
	br_build_install
	br_with_server bash "$0" --inside
	exit $?
fi

cd "$BR_ROOT"
psql -X -v ON_ERROR_STOP=1 -q -f test/demo.sql
