-- A short fuzz run: 1500 seeded calls of every public bundlerec function
-- with random and boundary arguments (test/fuzz/setup.sql), each in its
-- own subtransaction.  Every call must return or fail with a clean error:
-- no internal error (SQLSTATE class XX), and the backend must survive (the
-- suite goes on).  The whole run is under a statement_timeout (240 s
-- times lib/time_scale.psql's scale), so a hang fails it.
-- test/fuzz/fuzz.sh is the long run (100,000+ calls, each its own
-- statement with its own timeout, crashes counted).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
SET bundlerec.memory_limit = '256MB';
\o /dev/null
\ir ../fuzz/setup.sql
\o
CREATE TABLE fz.outcomes (i integer, fn text, sqlstate text, message text);

\ir lib/time_scale.psql
SELECT (240 * :time_scale)::bigint || 's' AS fuzz_timeout \gset
SET statement_timeout = :'fuzz_timeout';
DO $$
DECLARE
	c record;
	n bigint;
BEGIN
	FOR c IN SELECT * FROM fz.calls(1500, 0.42) LOOP
		BEGIN
			EXECUTE c.call INTO n;
			INSERT INTO fz.outcomes VALUES (c.i, c.fn, NULL, NULL);
		EXCEPTION WHEN others THEN
			INSERT INTO fz.outcomes VALUES (c.i, c.fn, SQLSTATE, SQLERRM);
		END;
	END LOOP;
END $$;
RESET statement_timeout;

SELECT plan(4);
SELECT cmp_ok((SELECT count(*) FROM fz.outcomes), '>=', 1200::bigint, 'at least 1200 calls ran');
SELECT is((SELECT count(DISTINCT fn) FROM fz.outcomes WHERE fn <> 'fz.ensure_model'), (SELECT count(DISTINCT name) FROM fz.fns),
	'every public function was called');
SELECT is((SELECT coalesce(array_agg(DISTINCT fn || ': ' || sqlstate || ' ' || left(message, 200)), '{}')
           FROM fz.outcomes WHERE sqlstate LIKE 'XX%'),
	'{}'::text[], 'no call raised an internal error (XX000, XX001, ...)');
SELECT cmp_ok((SELECT count(*) FROM fz.outcomes WHERE sqlstate IS NULL AND fn <> 'fz.ensure_model'), '>=', 200::bigint,
	'at least 200 calls returned results (the fuzzer reaches past argument checks)');
SELECT diag('outcomes: ' || string_agg(o, ', ' ORDER BY n DESC))
FROM (SELECT coalesce(sqlstate, 'result') || ' ' || count(*) AS o, count(*) AS n FROM fz.outcomes GROUP BY sqlstate) x;
SELECT * FROM finish();

DROP SCHEMA fz CASCADE;
SELECT bundlerec.drop_model(m.name) FROM bundlerec.models m WHERE m.name LIKE 'fz%';
