-- pairs_bench: the aggregate path on the synthetic baskets,
--   SELECT count(*) FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, min_count) FROM synth_baskets))
-- serial (max_parallel_workers_per_gather = 0), then with a forced parallel
-- plan, checking that both give the same rows as each other and as
-- bundlerec.item_pairs on synth_lines.  The serial row is recorded before the
-- parallel part runs.  psql variables: min_count, do_parallel (boolean).
\set ON_ERROR_STOP on
SET client_min_messages = notice;
SET search_path = pairs_bench, public;

SELECT count(*) AS baskets FROM synth_baskets \gset

\echo == serial
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, :min_count) FROM synth_baskets));
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS pairs_serial
FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, :min_count) FROM synth_baskets)) \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS serial_s \gset
\echo pair_counts serial: :pairs_serial pairs in :serial_s s

-- Untimed: the rows, aggregate (serial) vs item_pairs.
CREATE TEMP TABLE agg_serial AS
	SELECT * FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, :min_count) FROM synth_baskets));
RESET max_parallel_workers_per_gather;
CREATE TEMP TABLE agg_item_pairs AS
	SELECT * FROM bundlerec.item_pairs('synth_lines', 'basket', 'item', min_count => :min_count);
SELECT count(*) AS agg_vs_item_pairs_diff
FROM ((SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM agg_serial
       EXCEPT ALL
       SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM agg_item_pairs)
      UNION ALL
      (SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM agg_item_pairs
       EXCEPT ALL
       SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM agg_serial)) x \gset
\echo rows differing: aggregate (serial) vs item_pairs :agg_vs_item_pairs_diff

INSERT INTO agg_results (dataset, min_count, baskets, pairs_serial, serial_s,
                         agg_vs_item_pairs_diff, status)
VALUES ('synthetic', :min_count, :baskets, :pairs_serial, :serial_s,
        :agg_vs_item_pairs_diff,
        CASE WHEN :agg_vs_item_pairs_diff = 0 THEN 'ok' ELSE 'DIFFERENT' END);

\if :do_parallel
\echo == parallel (forced)
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, :min_count) FROM synth_baskets));
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS pairs_parallel
FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, :min_count) FROM synth_baskets)) \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS parallel_s \gset
\echo pair_counts parallel: :pairs_parallel pairs in :parallel_s s

-- Untimed: how many workers the parallel plan got (EXPLAIN ANALYZE, JSON).
CREATE FUNCTION pg_temp.gather_workers(q text, OUT planned int, OUT launched int)
LANGUAGE plpgsql AS $$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || q INTO plan;
	SELECT coalesce(sum(v::text::int), 0) INTO planned
	FROM jsonb_path_query(plan, 'strict $.**."Workers Planned"') v;
	SELECT coalesce(sum(v::text::int), 0) INTO launched
	FROM jsonb_path_query(plan, 'strict $.**."Workers Launched"') v;
END
$$;
SELECT planned AS workers_planned, launched AS workers_launched
FROM pg_temp.gather_workers(format(
	'SELECT count(*) FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, %s) FROM pairs_bench.synth_baskets))',
	:min_count)) \gset
\echo parallel plan: :workers_planned workers planned, :workers_launched launched

-- Untimed: the rows, parallel vs serial.
CREATE TEMP TABLE agg_parallel AS
	SELECT * FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, :min_count) FROM synth_baskets));
SELECT count(*) AS ser_vs_par_diff
FROM ((TABLE agg_serial EXCEPT ALL TABLE agg_parallel)
      UNION ALL
      (TABLE agg_parallel EXCEPT ALL TABLE agg_serial)) x \gset
\echo rows differing: serial vs parallel :ser_vs_par_diff

UPDATE agg_results
SET pairs_parallel = :pairs_parallel, parallel_s = :parallel_s,
    workers_planned = :workers_planned, workers_launched = :workers_launched,
    ser_vs_par_diff = :ser_vs_par_diff,
    status = CASE WHEN status = 'ok' AND :pairs_parallel = :pairs_serial
                       AND :ser_vs_par_diff = 0 THEN 'ok' ELSE 'DIFFERENT' END
WHERE dataset = 'synthetic' AND min_count = :min_count;
\else
\echo == parallel part skipped (BENCH_AGG_PARALLEL=0)
\endif
