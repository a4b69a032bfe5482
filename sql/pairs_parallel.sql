-- The pair_counts aggregate under parallel query: a Partial Aggregate plan
-- whose result is byte-for-byte the serial result, whatever the worker count.
CREATE TABLE par_baskets AS
	SELECT b AS basket,
	       ARRAY(SELECT ((b * 7919 + k * k * 104729) % 300)::int
	             FROM generate_series(1, 1 + b % 9) k) AS items
	FROM generate_series(1, 30000) b;
ALTER TABLE par_baskets ADD COLUMN titems text[];
UPDATE par_baskets SET titems = items::text[];
VACUUM ANALYZE par_baskets;

CREATE FUNCTION workers_launched(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, FORMAT JSON) ' || query INTO plan;
	RETURN (jsonb_path_query_first(plan, '$.**."Workers Launched"'))::int;
END
$$;

-- serial results
SET max_parallel_workers_per_gather = 0;
CREATE TABLE serial_pc AS
	SELECT bundlerec.pair_counts(items) AS pc_int,
	       bundlerec.pair_counts(titems) AS pc_text,
	       bundlerec.pair_counts(items, 20) AS pc_min20
	FROM par_baskets;
CREATE TABLE serial_groups AS
	SELECT basket % 3 AS g, bundlerec.pair_counts(items) AS pc FROM par_baskets GROUP BY 1;

-- forced parallel plans
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
	SELECT bundlerec.pair_counts(items) FROM par_baskets;
EXPLAIN (COSTS OFF)
	SELECT basket % 3 AS g, bundlerec.pair_counts(items) FROM par_baskets GROUP BY 1;

CREATE FUNCTION same_as_serial() RETURNS TABLE (workers int, int_keys bool, text_keys bool, min_count bool, groups bool)
LANGUAGE sql AS $$
	SELECT workers_launched('SELECT bundlerec.pair_counts(items) FROM par_baskets'),
	       (SELECT bundlerec.pair_counts(items)::text FROM par_baskets) = (SELECT pc_int::text FROM serial_pc),
	       (SELECT bundlerec.pair_counts(titems)::text FROM par_baskets) = (SELECT pc_text::text FROM serial_pc),
	       (SELECT bundlerec.pair_counts(items, 20)::text FROM par_baskets) = (SELECT pc_min20::text FROM serial_pc),
	       NOT EXISTS (
	           SELECT g, pc::text FROM (SELECT basket % 3 AS g, bundlerec.pair_counts(items) AS pc
	                                    FROM par_baskets GROUP BY 1) p
	           EXCEPT SELECT g, pc::text FROM serial_groups)
$$;

ALTER TABLE par_baskets SET (parallel_workers = 1);
SET max_parallel_workers_per_gather = 1;
SELECT * FROM same_as_serial();
ALTER TABLE par_baskets SET (parallel_workers = 2);
SET max_parallel_workers_per_gather = 2;
SELECT * FROM same_as_serial();
ALTER TABLE par_baskets SET (parallel_workers = 4);
SET max_parallel_workers_per_gather = 4;
SELECT * FROM same_as_serial();
SET parallel_leader_participation = off;
SELECT * FROM same_as_serial();
RESET parallel_leader_participation;

-- and the counts themselves against a plain self-join
RESET max_parallel_workers_per_gather;
SELECT count(*) AS pairs, sum(count_ab) AS total
FROM bundlerec.pairs((SELECT pc_int FROM serial_pc));
SELECT count(*) AS pairs, sum(n) AS total FROM (
	SELECT a.i, b.i, count(*) AS n
	FROM (SELECT DISTINCT basket, unnest(items) AS i FROM par_baskets) a
	JOIN (SELECT DISTINCT basket, unnest(items) AS i FROM par_baskets) b
	  ON a.basket = b.basket AND a.i < b.i
	GROUP BY 1, 2) s;
