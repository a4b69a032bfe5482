-- ease_sparse_large: EASE on a generated catalogue of :n_items items, beyond
-- the dense inverse at the default bundlerec.memory_limit (1GB holds about
-- 11,000 items).  :n_baskets baskets of 2 to 14 lines (mean 8): the first
-- line cycles through the catalogue so that every item is bought, the
-- others are log-uniform over item numbers (item x drawn with probability
-- about 1 / x, a Zipf-like popularity), so a few thousand items carry most
-- lines and most items are rare.  Seeded: the same data every run.
\set ON_ERROR_STOP 1
SELECT setseed(0.42);
CREATE TABLE lines AS
	SELECT b AS basket,
	       CASE WHEN k = 1 THEN 1 + b % :n_items
	            ELSE least(:n_items, floor(exp(random() * ln(:n_items + 1)))::int) END AS item
	FROM generate_series(1, :n_baskets) b, generate_series(1, 2 + b % 13) k;
SELECT count(*) AS lines, count(DISTINCT basket) AS baskets, count(DISTINCT item) AS items FROM lines;

CREATE TABLE results (engine text, seconds numeric, weights bigint, note text);
SET bundlerec.memory_limit = '1GB';

-- dense EASE refuses before allocating: its message is the note
DO $$
BEGIN
	PERFORM count(*) FROM bundlerec.ease('lines', 'basket', 'item');
	INSERT INTO results VALUES ('ease() dense', NULL, NULL, 'ran');
EXCEPTION WHEN program_limit_exceeded THEN
	INSERT INTO results VALUES ('ease() dense', NULL, NULL, SQLERRM);
END $$;

-- bundlerec's peak memory comes in the DEBUG1 line of sparse EASE
SET client_min_messages = debug1;
SELECT clock_timestamp() AS t0 \gset
CREATE TABLE w AS SELECT * FROM bundlerec._ease_weights('lines', 'basket', 'item');
INSERT INTO results SELECT '_ease_weights (routed: sparse, neighborhood 200)',
	round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 1),
	(SELECT count(*) FROM w), NULL;
SELECT clock_timestamp() AS t0 \gset
CREATE TABLE w50 AS SELECT * FROM bundlerec.sparse_ease('lines', 'basket', 'item', neighborhood => 50);
INSERT INTO results SELECT 'sparse_ease neighborhood 50',
	round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 1),
	(SELECT count(*) FROM w50), NULL;
RESET client_min_messages;
SELECT * FROM results;
-- the backend's peak resident memory over the whole run
SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+) kB'))[1]::bigint / 1024 AS backend_peak_rss_mb;
