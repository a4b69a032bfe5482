-- The README's pg_cron recipe: a scheduled job refreshes a model.  The test
-- cluster preloads pg_cron with cron.use_background_workers (test/run.sh).
-- Not one transaction: the job's worker must see the committed model.  It
-- waits for the next minute boundary, so it takes up to about a minute.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

SELECT plan(7);

SELECT ok(current_setting('shared_preload_libraries') ~ 'pg_cron',
	'pg_cron is preloaded');
SELECT is(current_setting('cron.database_name'), current_database()::text,
	'pg_cron runs its jobs in this database');
CREATE EXTENSION IF NOT EXISTS pg_cron;

SELECT bundlerec.drop_model('cronshop', if_exists => true);
DROP SCHEMA IF EXISTS cron_fixture CASCADE;
CREATE SCHEMA cron_fixture;
CREATE TABLE cron_fixture.lines (basket text, item text, customer text, ordered_at timestamptz);
INSERT INTO cron_fixture.lines VALUES
	('o1', 'tea', 'c1', '2024-01-01'), ('o1', 'cup', 'c1', '2024-01-01'),
	('o2', 'tea', 'c2', '2024-01-02'), ('o2', 'cup', 'c2', '2024-01-02'), ('o2', 'jam', 'c2', '2024-01-02'),
	('o3', 'tea', 'c1', '2024-01-03'), ('o3', 'jam', 'c1', '2024-01-03'),
	('o4', 'cup', 'c3', '2024-01-04'), ('o4', 'jam', 'c3', '2024-01-04');
SELECT bundlerec.create_model('cronshop', 'cron_fixture.lines', 'basket', 'item',
	customer => 'customer', ordered_at => 'ordered_at',
	options => '{"factors": 2, "iterations": 2}') IS NOT NULL AS created;

-- the recipe, as in the README
SELECT cron.schedule('bundlerec-cronshop', '* * * * *', $$SELECT bundlerec.refresh('cronshop')$$) AS jobid \gset

-- wait for the job to run (at most 80 s)
DO $$
BEGIN
	FOR i IN 1..160 LOOP
		EXIT WHEN EXISTS (SELECT 1 FROM cron.job_run_details d
		                  WHERE d.jobid = (SELECT j.jobid FROM cron.job j WHERE j.jobname = 'bundlerec-cronshop')
		                    AND d.status IN ('succeeded', 'failed'));
		PERFORM pg_sleep(0.5);
	END LOOP;
END $$;

SELECT is((SELECT d.status FROM cron.job_run_details d WHERE d.jobid = :jobid ORDER BY d.runid LIMIT 1),
	'succeeded', 'the scheduled refresh ran and succeeded');
SELECT isnt((SELECT last_refresh FROM bundlerec.models WHERE name = 'cronshop'), NULL,
	'the catalogue records the refresh');
SELECT is((SELECT count(*) FROM bundlerec.refresh_history WHERE model = 'cronshop' AND kind = 'full'), 1::bigint,
	'the refresh is in the history');
-- tea+cup in o1, o2; tea+jam in o2, o3; cup+jam in o2, o4: every pair twice
SELECT set_eq($$SELECT item, partner, count FROM bundlerec_cronshop.pairs$$,
	$$VALUES ('cup', 'jam', 2::bigint), ('cup', 'tea', 2), ('jam', 'cup', 2), ('jam', 'tea', 2),
	         ('tea', 'cup', 2), ('tea', 'jam', 2)$$,
	'the job published the pairs');
SELECT is((SELECT f.source FROM bundlerec.frequently_bought_together('cronshop', 'tea', 1) f), 'pairs',
	'the storefront can read them');

SELECT cron.unschedule(:jobid);
SELECT * FROM finish();
SELECT bundlerec.drop_model('cronshop');
DROP SCHEMA cron_fixture CASCADE;
