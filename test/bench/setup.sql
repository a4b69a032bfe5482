-- pairs_bench: schema, result tables and a helper, in the benchmark database.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bundlerec;
CREATE SCHEMA IF NOT EXISTS pairs_bench;
SET search_path = pairs_bench, public;

-- One row per (dataset, min_count): plain SQL vs bundlerec.item_pairs.
DROP TABLE IF EXISTS results, agg_results;
CREATE TABLE results (
	seq              serial PRIMARY KEY,
	dataset          text NOT NULL,
	source           text NOT NULL,
	lines            bigint,		-- order lines with basket and item set
	baskets          bigint,
	items            bigint,
	min_count        bigint NOT NULL,
	pairs_base       bigint,
	pairs_br         bigint,
	only_base        bigint,		-- (item_a, item_b, count_ab) EXCEPT, both ways
	only_br          bigint,
	measure_mismatch bigint,		-- joined pairs whose other columns differ
	base_s           float8,
	br_s             float8,
	peak_kb          bigint,		-- bundlerec's own DEBUG1 "peak memory"
	hwm_before_kb    bigint,		-- backend VmHWM before / after item_pairs
	hwm_after_kb     bigint,
	status           text NOT NULL DEFAULT 'ok'
);

-- The pair_counts aggregate path on synth_baskets, serial vs parallel.
CREATE TABLE agg_results (
	dataset          text NOT NULL,
	min_count        bigint NOT NULL,
	baskets          bigint,
	pairs_serial     bigint,
	pairs_parallel   bigint,
	serial_s         float8,
	parallel_s       float8,
	workers_planned  int,
	workers_launched int,
	ser_vs_par_diff  bigint,		-- rows in one result and not the other
	agg_vs_item_pairs_diff bigint,
	status           text NOT NULL DEFAULT 'ok'
);

-- A field of this backend's /proc/<pid>/status in kB, NULL when the server
-- cannot read it (not Linux, or not superuser).
CREATE OR REPLACE FUNCTION proc_status_kb(field text) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
	RETURN substring(pg_read_file('/proc/' || pg_backend_pid() || '/status')
	                 FROM field || ':\s*(\d+) kB')::bigint;
EXCEPTION WHEN OTHERS THEN
	RETURN NULL;
END
$$;
