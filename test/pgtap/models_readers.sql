-- Readers never fail while a model is refreshed or dropped: two sessions
-- (dblink) call every serving function, and read a report view of their
-- own that joins two result tables, while a third session refreshes the
-- model three times (full, incremental, full) and then drops it.  Every
-- call before the drop returns rows; after it, serving says the model does
-- not exist (42704) and nothing else.  The report view and a grant on a
-- result table survive the refreshes.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
CREATE EXTENSION IF NOT EXISTS dblink;

SELECT bundlerec.drop_model('rdr', if_exists => true);
DROP SCHEMA IF EXISTS rdr_fixture CASCADE;
DROP ROLE IF EXISTS rdr_analyst;
CREATE SCHEMA rdr_fixture;
CREATE ROLE rdr_analyst NOLOGIN;

CREATE TABLE rdr_fixture.lines (basket text, item text, customer text, ordered_at timestamptz);
SELECT setseed(0.17);
INSERT INTO rdr_fixture.lines
SELECT 'o' || b, 'i' || (1 + floor(random() * 25))::int, 'c' || (b % 30),
       timestamptz '2024-01-01' + b * interval '1 hour'
FROM generate_series(1, 240) b, generate_series(1, 4) j;

-- each read of the source sleeps first, so a refresh takes a while
CREATE FUNCTION rdr_fixture.nap() RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM pg_sleep(coalesce(current_setting('rdr.nap', true), '0')::float8);
	RETURN 1;
END $$;
CREATE VIEW rdr_fixture.slow_lines AS
	SELECT l.* FROM rdr_fixture.lines l CROSS JOIN LATERAL (SELECT rdr_fixture.nap()) n;

SELECT bundlerec.create_model('rdr', 'rdr_fixture.slow_lines', 'basket', 'item',
	customer => 'customer', ordered_at => 'ordered_at',
	options => '{"factors": 4, "iterations": 2}') IS NOT NULL AS created \gset
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('rdr') \gset

-- what a BI tool would build: a view over two result tables, and a grant
CREATE VIEW rdr_fixture.report AS
	SELECT p.item, p.partner, p.count, i.orders, i.popularity_rank
	FROM bundlerec_rdr.pairs p JOIN bundlerec_rdr.items i ON i.item = p.item;
GRANT USAGE ON SCHEMA bundlerec_rdr TO rdr_analyst;
GRANT SELECT ON bundlerec_rdr.pairs TO rdr_analyst;

-- new orders, so the incremental refresh has work
INSERT INTO rdr_fixture.lines
SELECT 'n' || b, 'i' || (1 + (b + j) % 7), 'c' || (b % 30), timestamptz '2024-03-01' + b * interval '1 hour'
FROM generate_series(1, 40) b, generate_series(0, 2) j;

CREATE TABLE rdr_fixture.flag (stop boolean NOT NULL);
INSERT INTO rdr_fixture.flag VALUES (false);
CREATE TABLE rdr_fixture.calls (reader text, fn text, at timestamptz, rows bigint, sqlstate text, message text);
CREATE TABLE rdr_fixture.events (what text, at timestamptz);

\ir lib/connstr.psql

-- a reader: every serving function and the report, one transaction per
-- call, until the flag says stop.  Reader r1 runs one statement per call;
-- r2 one statement that plans the report with every call, so it holds the
-- report's tables when it calls a serving function (the lock order a
-- refresh must not deadlock with).
SELECT $reader$
DO $$
DECLARE
	fn text;
	n bigint;
	me text := current_setting('application_name');
BEGIN
	FOR i IN 1..100000 LOOP
		FOREACH fn IN ARRAY ARRAY['frequently_bought_together', 'similar_items', 'complete_cart', 'bundles_for_item',
		                          'bundles_for_item explore', 'bundles_for_customer', 'recommend_items', 'report'] LOOP
			BEGIN
				IF me = 'r2' THEN
					n := CASE fn
						WHEN 'frequently_bought_together' THEN (SELECT count(*) FROM bundlerec.frequently_bought_together('rdr', 'i1', 5))
						WHEN 'complete_cart' THEN (SELECT count(*) FROM bundlerec.complete_cart('rdr', ARRAY['i1', 'i3'], 5))
						WHEN 'bundles_for_customer' THEN (SELECT count(*) FROM bundlerec.bundles_for_customer('rdr', 'c1', 3))
						WHEN 'recommend_items' THEN (SELECT count(*) FROM bundlerec.recommend_items('rdr', 'c2', 5))
						ELSE (SELECT count(*) FROM rdr_fixture.report) END;
				ELSE
				EXECUTE CASE fn
					WHEN 'frequently_bought_together' THEN $q$SELECT count(*) FROM bundlerec.frequently_bought_together('rdr', 'i1', 5)$q$
					WHEN 'similar_items' THEN $q$SELECT count(*) FROM bundlerec.similar_items('rdr', 'i2', 5)$q$
					WHEN 'complete_cart' THEN $q$SELECT count(*) FROM bundlerec.complete_cart('rdr', ARRAY['i1', 'i3'], 5)$q$
					WHEN 'bundles_for_item' THEN $q$SELECT count(*) FROM bundlerec.bundles_for_item('rdr', 'i4', 3)$q$
					WHEN 'bundles_for_item explore' THEN $q$SELECT count(*) FROM bundlerec.bundles_for_item('rdr', 'i4', 3, explore => true)$q$
					WHEN 'bundles_for_customer' THEN $q$SELECT count(*) FROM bundlerec.bundles_for_customer('rdr', 'c1', 3)$q$
					WHEN 'recommend_items' THEN $q$SELECT count(*) FROM bundlerec.recommend_items('rdr', 'c2', 5)$q$
					ELSE $q$SELECT count(*) FROM rdr_fixture.report$q$
				END INTO n;
				END IF;
				INSERT INTO rdr_fixture.calls VALUES (me, fn, clock_timestamp(), n, NULL, NULL);
			EXCEPTION WHEN others THEN
				INSERT INTO rdr_fixture.calls VALUES (me, fn, clock_timestamp(), NULL, SQLSTATE, SQLERRM);
			END;
			COMMIT;
		END LOOP;
		EXIT WHEN (SELECT stop FROM rdr_fixture.flag);
	END LOOP;
END $$
$reader$ AS reader_sql \gset

SELECT dblink_connect('r1', :'connstr' || ' application_name=r1');
SELECT dblink_connect('r2', :'connstr' || ' application_name=r2');
SELECT dblink_connect('refresher', :'connstr');
SELECT dblink_exec('refresher', 'SET client_min_messages = warning');
SELECT dblink_exec('refresher', 'SET rdr.nap = 0.1');
SELECT dblink_send_query('r1', :'reader_sql');
SELECT dblink_send_query('r2', :'reader_sql');

SELECT dblink_send_query('refresher', $$
DO $d$
BEGIN
	PERFORM bundlerec.refresh('rdr');
	INSERT INTO rdr_fixture.events VALUES ('refresh 1', clock_timestamp());
	COMMIT;
	PERFORM bundlerec.refresh('rdr', incremental => true);
	INSERT INTO rdr_fixture.events VALUES ('refresh 2', clock_timestamp());
	COMMIT;
	PERFORM bundlerec.refresh('rdr');
	INSERT INTO rdr_fixture.events VALUES ('refresh 3', clock_timestamp());
	COMMIT;
END $d$
$$);
SELECT * FROM dblink_get_result('refresher') AS t(status text);
SELECT * FROM dblink_get_result('refresher') AS t(status text);

-- the user's view and grant after three refreshes
CREATE TABLE rdr_fixture.after_refreshes AS
SELECT (SELECT count(*) FROM rdr_fixture.report) AS report_rows,
       (SELECT count(*) FROM bundlerec_rdr.pairs) AS pairs_rows,
       has_table_privilege('rdr_analyst', 'bundlerec_rdr.pairs', 'SELECT') AS granted,
       (SELECT array_agg(kind ORDER BY id) FROM bundlerec.refresh_history WHERE model = 'rdr') AS kinds;

INSERT INTO rdr_fixture.events VALUES ('drop started', clock_timestamp());
SELECT dblink_send_query('refresher', $$SELECT bundlerec.drop_model('rdr')$$);
SELECT * FROM dblink_get_result('refresher') AS t(status text);
SELECT * FROM dblink_get_result('refresher') AS t(status text);
\ir lib/time_scale.psql
SELECT pg_sleep(0.5 * :time_scale);
UPDATE rdr_fixture.flag SET stop = true;
SELECT * FROM dblink_get_result('r1') AS t(status text);
SELECT * FROM dblink_get_result('r1') AS t(status text);
SELECT * FROM dblink_get_result('r2') AS t(status text);
SELECT * FROM dblink_get_result('r2') AS t(status text);
SELECT dblink_disconnect('r1'), dblink_disconnect('r2'), dblink_disconnect('refresher');

CREATE TABLE rdr_fixture.drop_at AS SELECT at FROM rdr_fixture.events WHERE what = 'drop started';

SELECT plan(9);

SELECT cmp_ok((SELECT count(*) FROM rdr_fixture.calls c, rdr_fixture.drop_at d WHERE c.at < d.at), '>=', 100::bigint,
	'the readers made at least 100 calls during the refreshes');
SELECT is((SELECT array_agg(DISTINCT fn ORDER BY fn) FROM rdr_fixture.calls c, rdr_fixture.drop_at d
           WHERE c.at < d.at AND c.sqlstate IS NULL),
	ARRAY['bundles_for_customer', 'bundles_for_item', 'bundles_for_item explore', 'complete_cart',
	      'frequently_bought_together', 'recommend_items', 'report', 'similar_items'],
	'every serving function and the report were read before the drop');
SELECT is((SELECT coalesce(array_agg(DISTINCT c.fn || ': ' || c.sqlstate || ' ' || c.message), '{}')
           FROM rdr_fixture.calls c, rdr_fixture.drop_at d WHERE c.at < d.at AND c.sqlstate IS NOT NULL),
	'{}'::text[], 'no reader got an error during the three refreshes');
SELECT is((SELECT count(*) FROM rdr_fixture.calls c, rdr_fixture.drop_at d WHERE c.at < d.at AND c.rows = 0),
	0::bigint, 'no call during the refreshes returned nothing');
SELECT is((SELECT coalesce(array_agg(DISTINCT c.fn || ': ' || c.sqlstate || ' ' || c.message), '{}')
           FROM rdr_fixture.calls c, rdr_fixture.drop_at d
           WHERE c.at >= d.at AND c.sqlstate IS NOT NULL
             AND NOT (c.fn <> 'report' AND c.sqlstate = '42704' AND c.message = 'model "rdr" does not exist')
             AND NOT ((c.fn = 'report' OR c.reader = 'r2') AND c.sqlstate = '42P01'
                      AND c.message = 'relation "rdr_fixture.report" does not exist')),
	'{}'::text[], 'after the drop, serving says only that the model does not exist');
SELECT is((SELECT kinds FROM rdr_fixture.after_refreshes), ARRAY['full', 'full', 'incremental', 'full'],
	'the three refreshes committed');
SELECT ok((SELECT report_rows > 0 AND report_rows = pairs_rows FROM rdr_fixture.after_refreshes),
	'the user''s report view over pairs and items still works after the refreshes');
SELECT ok((SELECT granted FROM rdr_fixture.after_refreshes),
	'the grant on pairs survived the refreshes');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'bundlerec_rdr')
          AND NOT EXISTS (SELECT 1 FROM bundlerec.models WHERE name = 'rdr'),
	'drop_model removed the model and its results');
SELECT * FROM finish();

DROP SCHEMA rdr_fixture CASCADE;
DROP ROLE rdr_analyst;
