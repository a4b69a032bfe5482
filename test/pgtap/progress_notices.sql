-- progress_notices.sql: the progress NOTICEs of long loops
-- (bundlerec.progress_interval).  NOTICEs cannot be caught in SQL, so a
-- second psql session (lib/progress_run.psql) counts the pairs of 30,000
-- orders over 2,000 items and this suite reads what it printed:
--   1. with the interval at 1ms: reports "bundlerec: pair counts: N of 2000
--      items (P%) after S s", N never decreasing and at most 2000, P =
--      floor(100 N / 2000), S never decreasing;
--   2. with the interval at 0, and at the default 10s (the call takes well
--      under that), no report;
--   3. the setting takes time units and refuses a negative value.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
BEGIN;
SELECT plan(8);

\set out_1ms `psql -X -q -v interval=1ms -f test/pgtap/lib/progress_run.psql 2>&1`
\set out_0 `psql -X -q -v interval=0 -f test/pgtap/lib/progress_run.psql 2>&1`
\set out_default `psql -X -q -v interval=10s -f test/pgtap/lib/progress_run.psql 2>&1`

CREATE TABLE pn_reports AS
SELECT n, m[1]::bigint AS done, m[2]::bigint AS total, m[3]::int AS pct, m[4]::numeric AS secs, line
FROM regexp_split_to_table(:'out_1ms', E'\n') WITH ORDINALITY l(line, n)
LEFT JOIN LATERAL regexp_match(line, '^psql:[^ ]* NOTICE:  bundlerec: pair counts: ([0-9]+) of ([0-9]+) items \(([0-9]+)%\) after ([0-9.]+) s$') m ON true
WHERE line <> '';

SELECT is((SELECT count(*) FROM pn_reports WHERE done IS NULL), 0::bigint,
	'interval 1ms: every line printed is a pair-count progress report');
SELECT cmp_ok((SELECT count(*) FROM pn_reports), '>=', 1::bigint,
	'interval 1ms: the item loop reports');
SELECT is((SELECT count(*) FROM pn_reports WHERE total <> 2000 OR done > total OR pct <> 100 * done / total), 0::bigint,
	'each report says N of the 2000 items, N at most 2000, and the share of them');
SELECT is((SELECT count(*) FROM (SELECT done < lag(done) OVER w OR secs < lag(secs) OVER w AS back
                                 FROM pn_reports WINDOW w AS (ORDER BY n)) x WHERE back), 0::bigint,
	'the items done and the seconds never go back from one report to the next');
SELECT is(:'out_0'::text, '', 'interval 0: no report');
SELECT is(:'out_default'::text, '', 'interval 10s: no report from a call that takes well under that');

-- the setting exists once the library is loaded
LOAD '$libdir/bundlerec';
SELECT is((SELECT setting || ' ' || unit FROM pg_settings WHERE name = 'bundlerec.progress_interval'),
	'10000 ms', 'the default is 10s, in milliseconds');
SELECT throws_ok($$SET bundlerec.progress_interval = -1$$, '22023', NULL,
	'a negative interval is refused');

SELECT * FROM finish();
ROLLBACK;
