-- youshu_eval.sql: the Youshu split in schema youshu and the metrics,
-- computed from a table youshu.lists (customer text, rank int, bundle text).
-- psql variable data: the absolute path of ../shared/data/bundle_youshu.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bundlerec;
DROP SCHEMA IF EXISTS youshu CASCADE;
CREATE SCHEMA youshu;
CREATE TABLE youshu.ub_train (customer int, bundle int);
CREATE TABLE youshu.ub_tune (customer int, bundle int);
CREATE TABLE youshu.ub_test (customer int, bundle int);
CREATE TABLE youshu.ui (customer int, item int);
CREATE TABLE youshu.bi (bundle int, item int);
SELECT format('COPY youshu.%s FROM PROGRAM %L', t, 'zcat ' || :'data' || '/' || f) AS cmd
FROM (VALUES ('ub_train', 'user_bundle_train.txt.gz'), ('ub_tune', 'user_bundle_tune.txt.gz'),
             ('ub_test', 'user_bundle_test.txt.gz'), ('ui', 'user_item.txt.gz'),
             ('bi', 'bundle_item.txt.gz')) v(t, f) \gexec
ANALYZE youshu.ub_train; ANALYZE youshu.ub_tune; ANALYZE youshu.ub_test; ANALYZE youshu.ui; ANALYZE youshu.bi;
CREATE TABLE youshu.popularity AS SELECT bundle, count(*) AS n FROM youshu.ub_train GROUP BY bundle;
CREATE TABLE youshu.results (label text, phase text, recall float8, ndcg float8);
SELECT format('loaded: %s train, %s tune, %s test user-bundle pairs; %s user-item pairs; %s bundle-item pairs',
              (SELECT count(*) FROM youshu.ub_train), (SELECT count(*) FROM youshu.ub_tune),
              (SELECT count(*) FROM youshu.ub_test), (SELECT count(*) FROM youshu.ui),
              (SELECT count(*) FROM youshu.bi)) \gset
\echo :format

-- Recall@20 and NDCG@20 over the users of the phase's file.
CREATE FUNCTION youshu.evaluate(phase text, OUT recall float8, OUT ndcg float8)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$
		WITH gt AS (SELECT DISTINCT customer::text AS customer, bundle::text AS bundle FROM youshu.%I),
		per AS (
			SELECT g.customer, count(*) AS n_gt,
			       count(l.bundle) FILTER (WHERE l.rank <= 20) AS hits,
			       coalesce(sum(1 / log(2, l.rank + 1)) FILTER (WHERE l.rank <= 20), 0) AS dcg
			FROM gt g LEFT JOIN youshu.lists l ON l.customer = g.customer AND l.bundle = g.bundle
			GROUP BY g.customer)
		SELECT avg(hits::float8 / n_gt),
		       avg(dcg / (SELECT sum(1 / log(2, i + 1)) FROM generate_series(1, least(20, n_gt)) i))
		FROM per$q$, 'ub_' || phase) INTO recall, ndcg;
END
$$;
