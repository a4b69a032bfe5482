#!/usr/bin/env bash
# state_bench: what the text form of bundlerec.basketstate costs, the form in
# which Citus ships the partial state of pair_counts and basket_set from a
# worker to the coordinator.  On synthetic baskets (test/bench/synth_gen.sql,
# BENCH_BASKETS baskets, default 1000000, seed BENCH_SEED, default 0.42) it
# times, in one backend with \timing:
#   (a) SELECT bundlerec.basket_state(items) FROM synth_baskets (build)
#   (b) the same and its text form (basketstate_out): (b) - (a) = output
#   (c) text -> basketstate (basketstate_in, checked), beside (c0) reading
#       the text alone: (c) - (c0) = input
#   (d) pair_counts_merge over the state read back from text, against
#       pair_counts(items) directly (same result checked)
# Nothing timed is stored compressed (the text is kept with STORAGE EXTERNAL).
# Run like the other benchmarks: `bash test/bench/state_bench.sh` installs,
# builds and uses a throwaway cluster; `--inside` uses the PG* server as is.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_run_inside "$0" "$@"
	exit $?
fi
cd "$BR_ROOT"
BASKETS=${BENCH_BASKETS:-1000000}
SEED=${BENCH_SEED:-0.42}
br_bench_db "${BENCH_DB:-bench}"
bpsql -q -c 'CREATE EXTENSION IF NOT EXISTS bundlerec' -c 'CREATE SCHEMA IF NOT EXISTS pairs_bench'
bpsql -q -v baskets="$BASKETS" -v seed="$SEED" -f test/bench/synth_gen.sql >/dev/null
bpsql <<'SQL'
SET search_path = pairs_bench, public;
SET max_parallel_workers_per_gather = 0;
SET jit = off;
-- kept uncompressed, so that no TOAST compression enters the timings
CREATE TEMP TABLE st_text (t text);
ALTER TABLE st_text ALTER COLUMN t SET STORAGE EXTERNAL;
INSERT INTO st_text SELECT bundlerec.basket_state(items)::text FROM synth_baskets;
\timing on
\echo (a) build the state
SELECT bundlerec.basket_state(items) IS NOT NULL AS built FROM synth_baskets;
\echo (b) build the state and write its text form
SELECT octet_length(bundlerec.basket_state(items)::text) AS text_bytes FROM synth_baskets;
\echo (c0) read the text
SELECT octet_length(t) AS text_bytes FROM st_text;
\echo (c) read the text back into a state (checked)
SELECT t::bundlerec.basketstate IS NOT NULL AS read FROM st_text;
\echo (d1) pair_counts_merge over the state read back
CREATE TEMP TABLE pc_merge AS SELECT bundlerec.pair_counts_merge(t::bundlerec.basketstate) AS pc FROM st_text;
\echo (d2) pair_counts directly
CREATE TEMP TABLE pc_direct AS SELECT bundlerec.pair_counts(items) AS pc FROM synth_baskets;
\timing off
SELECT (SELECT count(*) FROM synth_baskets) AS baskets,
       (SELECT sum(cardinality(items)) FROM synth_baskets) AS lines,
       (SELECT pg_size_pretty(octet_length(bundlerec.basketstate_send(t::bundlerec.basketstate))::bigint) FROM st_text) AS state_binary,
       (SELECT pg_size_pretty(octet_length(t)::bigint) FROM st_text) AS state_text,
       round((SELECT octet_length(t)::numeric FROM st_text) / (SELECT sum(cardinality(items)) FROM synth_baskets), 2) AS text_bytes_per_line,
       (SELECT pc::text FROM pc_merge) = (SELECT pc::text FROM pc_direct) AS same_pairs;
SQL
