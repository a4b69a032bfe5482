-- Refresh atomicity seen from another session: while a refresh runs in a
-- second connection (dblink), readers keep getting the previous results;
-- a refresh cancelled by statement_timeout or pg_cancel_backend leaves them
-- intact.  Not one transaction: the fixture must be visible to the second
-- session, so it lives in its own schema and is dropped at the end.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
CREATE EXTENSION IF NOT EXISTS dblink;

SELECT bundlerec.drop_model('conc', if_exists => true);
DROP SCHEMA IF EXISTS conc_fixture CASCADE;
CREATE SCHEMA conc_fixture;

CREATE TABLE conc_fixture.lines (
	basket text, item text, customer text, ordered_at timestamptz);
-- 200 orders over 30 items, 40 customers
SELECT setseed(0.42);
INSERT INTO conc_fixture.lines
SELECT 'o' || b, 'i' || (1 + floor(random() * 30))::int, 'c' || (b % 40),
       timestamptz '2024-01-01' + b * interval '1 hour'
FROM generate_series(1, 200) b, generate_series(1, 4) j;

-- Each read of the source sleeps first, so the refresh takes seconds.
CREATE FUNCTION conc_fixture.nap() RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM pg_sleep(current_setting('conc.nap', true)::float8);
	RETURN 1;
END $$;
CREATE VIEW conc_fixture.slow_lines AS
	SELECT l.* FROM conc_fixture.lines l CROSS JOIN LATERAL (SELECT conc_fixture.nap()) n;

SELECT bundlerec.create_model('conc', 'conc_fixture.slow_lines', 'basket', 'item',
	customer => 'customer', ordered_at => 'ordered_at',
	options => '{"factors": 4, "iterations": 2, "rules": false}') IS NOT NULL AS created;
SET conc.nap = 0;
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('conc');

CREATE TABLE conc_fixture.before AS
	SELECT item, rank, partner, count FROM bundlerec_conc.pairs;
CREATE TABLE conc_fixture.reads (n integer, pairs bigint, items bigint, busy boolean);

-- new orders, so the next refresh changes the results
INSERT INTO conc_fixture.lines
SELECT 'p' || b, 'i' || (1 + ((b + j) % 5)), 'c' || (b % 40), timestamptz '2024-02-01' + b * interval '1 hour'
FROM generate_series(1, 60) b, generate_series(0, 1) j;

\ir lib/connstr.psql
SELECT dblink_connect('refresher', :'connstr');
SELECT dblink_exec('refresher', 'SET client_min_messages = warning');
SELECT dblink_exec('refresher', 'SET conc.nap = 0.2');
SELECT dblink_send_query('refresher', $$SELECT count(*) FROM bundlerec.refresh('conc')$$);

-- read while the refresh runs in the other session
DO $$
DECLARE
	i integer := 0;
	busy boolean;
BEGIN
	LOOP
		busy := dblink_is_busy('refresher') = 1;
		i := i + 1;
		INSERT INTO conc_fixture.reads
		SELECT i, (SELECT count(*) FROM bundlerec_conc.pairs), (SELECT count(*) FROM bundlerec_conc.items), busy;
		EXIT WHEN NOT busy OR i > 600;
		PERFORM pg_sleep(0.05);
	END LOOP;
END $$;
SELECT * FROM dblink_get_result('refresher') AS t(stages bigint);
-- the empty result that ends the query
SELECT * FROM dblink_get_result('refresher') AS t(stages bigint);

SELECT plan(10);

SELECT cmp_ok((SELECT count(*) FROM conc_fixture.reads WHERE busy), '>=', 10::bigint,
	'the reader read at least 10 times while the refresh ran');
SELECT is((SELECT count(*) FROM conc_fixture.reads WHERE pairs = 0 OR items = 0), 0::bigint,
	'no read during the refresh found an empty result table');
SELECT is((SELECT count(*) FROM conc_fixture.reads WHERE busy AND pairs <> (SELECT count(*) FROM conc_fixture.before)),
	0::bigint, 'every read while the refresh ran saw the previous pairs');
SELECT isnt((SELECT count(*) FROM bundlerec_conc.pairs), (SELECT count(*) FROM conc_fixture.before),
	'after it committed, the new pairs are there');
SELECT is((SELECT kind FROM bundlerec.refresh_history WHERE model = 'conc' ORDER BY id DESC LIMIT 1), 'full',
	'the refresh from the other session is in the history');

-- cancelled refreshes keep the results
CREATE TABLE conc_fixture.committed AS SELECT item, rank, partner, count FROM bundlerec_conc.pairs;
CREATE TABLE conc_fixture.committed_model AS SELECT last_refresh, watermark FROM bundlerec.models WHERE name = 'conc';
INSERT INTO conc_fixture.lines VALUES ('q1', 'i1', 'c1', '2024-03-01'), ('q1', 'i2', 'c1', '2024-03-01'),
	('q2', 'i1', 'c2', '2024-03-02'), ('q2', 'i2', 'c2', '2024-03-02');

SELECT dblink_exec('refresher', 'SET statement_timeout = 1500');
SELECT dblink_send_query('refresher', $$SELECT count(*) FROM bundlerec.refresh('conc')$$);
SELECT count(*) FROM dblink_get_result('refresher', false) AS t(n bigint);
SELECT dblink_error_message('refresher') AS timeout_error \gset
SELECT count(*) FROM dblink_get_result('refresher', false) AS t(n bigint);
SELECT matches(:'timeout_error'::text, 'statement timeout',
	'a refresh stopped by statement_timeout fails');
SELECT dblink_exec('refresher', 'RESET statement_timeout');

-- a slower source, so the refresh is still running when the cancel comes
-- even on a loaded machine
SELECT dblink_exec('refresher', 'SET conc.nap = 0.6');
SELECT dblink_send_query('refresher', $$SELECT count(*) FROM bundlerec.refresh('conc')$$);
DO $$
DECLARE
	pid integer;
BEGIN
	FOR i IN 1..400 LOOP
		SELECT a.pid INTO pid FROM pg_stat_activity a
		WHERE a.query LIKE '%bundlerec.refresh(''conc'')%' AND a.state = 'active' AND a.pid <> pg_backend_pid();
		EXIT WHEN pid IS NOT NULL;
		PERFORM pg_sleep(0.05);
		-- pg_stat_activity is read once per transaction unless cleared
		PERFORM pg_stat_clear_snapshot();
	END LOOP;
	PERFORM pg_sleep(1);
	PERFORM pg_cancel_backend(pid);
END $$;
SELECT count(*) FROM dblink_get_result('refresher', false) AS t(n bigint);
SELECT dblink_error_message('refresher') AS cancel_error \gset
SELECT count(*) FROM dblink_get_result('refresher', false) AS t(n bigint);
SELECT matches(:'cancel_error'::text, 'canceling statement due to user request',
	'a refresh cancelled with pg_cancel_backend fails');
SELECT dblink_disconnect('refresher');

SELECT set_eq('SELECT item, rank, partner, count FROM bundlerec_conc.pairs',
              'SELECT * FROM conc_fixture.committed',
	'after both cancelled refreshes the pairs are those of the last committed one');
SELECT results_eq('SELECT last_refresh, watermark FROM bundlerec.models WHERE name = ''conc''',
                  'SELECT * FROM conc_fixture.committed_model',
	'the catalogue still shows the last committed refresh');
SELECT is((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'bundlerec_conc' AND c.relkind = 'r' AND c.relname LIKE '%\_new'), 0::bigint,
	'no half-built table is left behind');
SELECT * FROM finish();

SELECT bundlerec.drop_model('conc');
DROP SCHEMA conc_fixture CASCADE;
