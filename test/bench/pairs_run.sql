-- pairs_bench: one comparison of the plain-SQL pair query a DBA would write
-- with bundlerec.item_pairs() on the same order lines.
-- psql variables: ds (dataset label), src (table or view in pairs_bench),
-- bcol, icol (basket and item columns), min_count.
-- Both results are materialised (CREATE TEMP TABLE ... AS) so both pay the
-- output cost; each is timed with clock_timestamp() around its statement.
-- Planner settings, work_mem and JIT are the server defaults.
\set ON_ERROR_STOP on
SET client_min_messages = notice;
SET search_path = pairs_bench, public;
SELECT pg_backend_pid() AS be_pid \gset

-- Shape of the data set (untimed; also warms the OS cache for both runs).
SELECT count(*) AS lines, count(DISTINCT :"bcol") AS baskets,
       count(DISTINCT :"icol") AS items
FROM :src WHERE :"bcol" IS NOT NULL AND :"icol" IS NOT NULL \gset
\echo dataset :ds, source :src: :lines lines, :baskets baskets, :items items, min_count :min_count

------------------------------------------------------------------------------
-- (b) bundlerec.item_pairs, first, in this fresh backend so that the
-- backend's VmHWM afterwards is mostly bundlerec's.  DEBUG1 makes it report
-- its peak memory; pairs_bench.sh reads that line from this log.
------------------------------------------------------------------------------
SELECT coalesce(proc_status_kb('VmHWM')::text, '') AS hwm0_srv \gset
\set hwm0_cli `awk '/^VmHWM:/ {print $2}' /proc/:be_pid/status 2>/dev/null`
SET client_min_messages = debug1;
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE br_pairs AS
	SELECT * FROM bundlerec.item_pairs(:'src', :'bcol', :'icol', min_count => :min_count);
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS br_s \gset
RESET client_min_messages;
SELECT coalesce(proc_status_kb('VmHWM')::text, '') AS hwm1_srv \gset
\set hwm1_cli `awk '/^VmHWM:/ {print $2}' /proc/:be_pid/status 2>/dev/null`
\echo bundlerec.item_pairs: :br_s s

------------------------------------------------------------------------------
-- (a) the plain-SQL baseline: distinct (basket, item) lines, self-join on
-- basket with a.item < b.item, GROUP BY the pair, HAVING count >= min_count,
-- joined with per-item basket counts and the basket total for support,
-- confidence both ways and lift.  Items keep their own type (so integer
-- items are ordered numerically, as bundlerec orders them) and are cast to
-- text only in the output.
------------------------------------------------------------------------------
CREATE TEMP VIEW src_lines AS
	SELECT :"bcol" AS basket, :"icol" AS item
	FROM :src WHERE :"bcol" IS NOT NULL AND :"icol" IS NOT NULL;
CREATE TEMP VIEW baseline_pairs AS
	SELECT p.item_a::text AS item_a, p.item_b::text AS item_b, p.count_ab,
	       ca.n AS count_a, cb.n AS count_b, t.n AS n_baskets,
	       p.count_ab::float8 / t.n AS support,
	       p.count_ab::float8 / ca.n AS confidence_ab,
	       p.count_ab::float8 / cb.n AS confidence_ba,
	       p.count_ab::float8 * t.n / (ca.n::float8 * cb.n) AS lift
	FROM (SELECT a.item AS item_a, b.item AS item_b, count(*) AS count_ab
	      FROM (SELECT DISTINCT basket, item FROM src_lines) a
	      JOIN (SELECT DISTINCT basket, item FROM src_lines) b
	        ON a.basket = b.basket AND a.item < b.item
	      GROUP BY a.item, b.item
	      HAVING count(*) >= :min_count) p
	JOIN (SELECT item, count(DISTINCT basket) AS n FROM src_lines GROUP BY item) ca
	  ON ca.item = p.item_a
	JOIN (SELECT item, count(DISTINCT basket) AS n FROM src_lines GROUP BY item) cb
	  ON cb.item = p.item_b
	CROSS JOIN (SELECT count(DISTINCT basket) AS n FROM src_lines) t;
-- (views are inlined: the plan is that of the query written out in full)
EXPLAIN (COSTS OFF) CREATE TEMP TABLE base_pairs AS SELECT * FROM baseline_pairs;
SELECT clock_timestamp() AS t0 \gset
CREATE TEMP TABLE base_pairs AS SELECT * FROM baseline_pairs;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS base_s \gset
\echo plain SQL: :base_s s

------------------------------------------------------------------------------
-- Same rows?  Row counts, (item_a, item_b, count_ab) EXCEPT both ways, and
-- the other columns of every joined pair (floats within 1e-12 relative).
------------------------------------------------------------------------------
SELECT (SELECT count(*) FROM base_pairs) AS pairs_base,
       (SELECT count(*) FROM br_pairs) AS pairs_br,
       (SELECT count(*) FROM (SELECT item_a, item_b, count_ab FROM base_pairs
                              EXCEPT SELECT item_a, item_b, count_ab FROM br_pairs) x) AS only_base,
       (SELECT count(*) FROM (SELECT item_a, item_b, count_ab FROM br_pairs
                              EXCEPT SELECT item_a, item_b, count_ab FROM base_pairs) x) AS only_br,
       (SELECT count(*) FROM base_pairs b JOIN br_pairs r USING (item_a, item_b)
        WHERE b.count_ab <> r.count_ab OR b.count_a <> r.count_a
           OR b.count_b <> r.count_b OR b.n_baskets <> r.n_baskets
           OR abs(b.support - r.support) > 1e-12 * abs(b.support)
           OR abs(b.confidence_ab - r.confidence_ab) > 1e-12 * abs(b.confidence_ab)
           OR abs(b.confidence_ba - r.confidence_ba) > 1e-12 * abs(b.confidence_ba)
           OR abs(b.lift - r.lift) > 1e-12 * abs(b.lift)) AS measure_mismatch \gset
\echo pairs: plain SQL :pairs_base, bundlerec :pairs_br; only in plain SQL :only_base, only in bundlerec :only_br, other columns differing :measure_mismatch

-- A few differing rows, if any, for the log.
(SELECT 'only plain SQL' AS side, * FROM (SELECT item_a, item_b, count_ab FROM base_pairs
	EXCEPT SELECT item_a, item_b, count_ab FROM br_pairs) x ORDER BY 2, 3 LIMIT 10)
UNION ALL
(SELECT 'only bundlerec', * FROM (SELECT item_a, item_b, count_ab FROM br_pairs
	EXCEPT SELECT item_a, item_b, count_ab FROM base_pairs) x ORDER BY 2, 3 LIMIT 10);

INSERT INTO results (dataset, source, lines, baskets, items, min_count,
                     pairs_base, pairs_br, only_base, only_br, measure_mismatch,
                     base_s, br_s, hwm_before_kb, hwm_after_kb, status)
VALUES (:'ds', :'src', :lines, :baskets, :items, :min_count,
        :pairs_base, :pairs_br, :only_base, :only_br, :measure_mismatch,
        :base_s, :br_s,
        coalesce(nullif(:'hwm0_srv', ''), nullif(:'hwm0_cli', ''))::bigint,
        coalesce(nullif(:'hwm1_srv', ''), nullif(:'hwm1_cli', ''))::bigint,
        CASE WHEN :pairs_base = :pairs_br AND :only_base = 0 AND :only_br = 0
                  AND :measure_mismatch = 0 THEN 'ok' ELSE 'DIFFERENT' END);
