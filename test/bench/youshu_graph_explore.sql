-- youshu_graph_explore.sql: how rank_bundles' graph filters were chosen on
-- the Youshu tune file (plain SQL over the parts of one rank_bundles call
-- with graph_weight 0; test file never read for a choice).
--   psql -X -v ON_ERROR_STOP=1 -d DB -f test/bench/youshu_graph_explore.sql
-- needs bundlerec installed in DB and ../shared/data/bundle_youshu readable
-- by psql (\copy); about 30 minutes on 2 shared cores.  Prints the tune
-- Recall@20 / NDCG@20 of EASE + overlap (e, ov, as rank_bundles scales
-- them) blended with gb (bundle-bundle through shared items), gx (GF-CF over
-- customers x bundles+items), gib (gb propagated from the customer's items)
-- and gbb2 (plain cosine of the item sets).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET bundlerec.memory_limit = '4GB';
SET work_mem = '256MB';
CREATE EXTENSION IF NOT EXISTS bundlerec;
DROP SCHEMA IF EXISTS y CASCADE; CREATE SCHEMA y; SET search_path = y, public;
CREATE TABLE ub_train (customer int, bundle int);
CREATE TABLE ub_tune (customer int, bundle int);
CREATE TABLE ub_test (customer int, bundle int);
CREATE TABLE ui (customer int, item int);
CREATE TABLE bi (bundle int, item int);
\copy ub_train FROM PROGRAM 'zcat ../shared/data/bundle_youshu/user_bundle_train.txt.gz'
\copy ub_tune FROM PROGRAM 'zcat ../shared/data/bundle_youshu/user_bundle_tune.txt.gz'
\copy ub_test FROM PROGRAM 'zcat ../shared/data/bundle_youshu/user_bundle_test.txt.gz'
\copy ui FROM PROGRAM 'zcat ../shared/data/bundle_youshu/user_item.txt.gz'
\copy bi FROM PROGRAM 'zcat ../shared/data/bundle_youshu/bundle_item.txt.gz'
CREATE INDEX ON ub_train(customer); CREATE INDEX ON ub_train(bundle); CREATE INDEX ON ui(customer); CREATE INDEX ON ui(item); CREATE INDEX ON bi(bundle); CREATE INDEX ON bi(item);
CREATE TABLE eval_users AS SELECT DISTINCT customer FROM ub_tune UNION SELECT customer FROM ub_test;
ANALYZE;
SET search_path = y, public;
\timing on
BEGIN;
CREATE TABLE base AS SELECT * FROM bundlerec.rank_bundles('y.bi','y.ub_train','y.ui', customers => ARRAY(SELECT customer::text FROM y.eval_users), k => 20, graph_weight => 0);
CREATE TABLE w AS SELECT * FROM pg_temp.bundlerec_rank_weights;
CREATE TABLE lines AS SELECT * FROM pg_temp.bundlerec_rank_lines;
CREATE TABLE ov AS SELECT * FROM pg_temp.bundlerec_rank_overlap;
CREATE TABLE pop AS SELECT * FROM pg_temp.bundlerec_rank_pop;
COMMIT;
-- lists (customer text, rank int, bundle text) -> recall, ndcg over phase users
CREATE OR REPLACE FUNCTION y.evaluate(lists regclass, phase text, OUT recall float8, OUT ndcg float8)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$
		WITH gt AS (SELECT DISTINCT customer::text AS customer, bundle::text AS bundle FROM y.%I),
		per AS (
			SELECT g.customer, count(*) AS n_gt,
			       count(l.bundle) FILTER (WHERE l.rank <= 20) AS hits,
			       coalesce(sum(1 / log(2, l.rank + 1)) FILTER (WHERE l.rank <= 20), 0) AS dcg
			FROM gt g LEFT JOIN %s l ON l.customer = g.customer AND l.bundle = g.bundle
			GROUP BY g.customer)
		SELECT avg(hits::float8 / n_gt),
		       avg(dcg / (SELECT sum(1 / log(2, i + 1)) FROM generate_series(1, least(20, n_gt)) i))
		FROM per$q$, 'ub_' || phase, lists) INTO recall, ndcg;
END
$$;
-- bundle sizes and item degrees (in bundles)
DROP TABLE IF EXISTS bdeg, ideg, S, e, hn, comp;
CREATE TABLE bdeg AS SELECT bundle, count(*)::float8 AS d FROM (SELECT DISTINCT bundle, item FROM bi) x GROUP BY 1;
CREATE TABLE ideg AS SELECT item, count(*)::float8 AS d FROM (SELECT DISTINCT bundle, item FROM bi) x GROUP BY 1;
-- S = Atilde Atilde^T, Atilde = D_b^-1/2 A D_i^-1/2, top 200 per bundle, no diagonal
CREATE TABLE S AS
SELECT b1, b2, s FROM (
  SELECT b1, b2, s, row_number() OVER (PARTITION BY b1 ORDER BY s DESC, b2) rn FROM (
    SELECT x.bundle b1, y.bundle b2, sum(1 / (sqrt(d1.d * d2.d) * i.d)) s
    FROM bi x JOIN bi y ON x.item = y.item AND x.bundle <> y.bundle
    JOIN ideg i ON i.item = x.item JOIN bdeg d1 ON d1.bundle = x.bundle JOIN bdeg d2 ON d2.bundle = y.bundle
    GROUP BY 1, 2) a) r WHERE rn <= 200;
CREATE INDEX ON S(b1);
-- EASE part
CREATE TABLE e AS SELECT l.customer, wt.bundle, sum(l.w * wt.score) AS e
FROM lines l JOIN w wt ON wt.col = l.col WHERE l.customer::int IN (SELECT customer FROM eval_users) GROUP BY 1, 2;
-- normalised 1-hop item->bundle: hn(u,b) = sum_{i in H_u cap b} 1/sqrt(d_b d_i)
CREATE TABLE hn AS SELECT h.customer, x.bundle, sum(1 / sqrt(d1.d * i.d)) AS s
FROM (SELECT DISTINCT customer, item FROM ui WHERE customer IN (SELECT customer FROM eval_users)) h
JOIN bi x ON x.item = h.item JOIN ideg i ON i.item = h.item JOIN bdeg d1 ON d1.bundle = x.bundle GROUP BY 1, 2;
CREATE INDEX ON hn(customer);
-- gbb(u,b) = sum_{b' in R_u} S[b', b]; gib(u,b) = sum_b' hn(u,b') S[b',b]
CREATE TABLE gbb AS SELECT t.customer, S.b2 AS bundle, sum(S.s) AS s FROM ub_train t JOIN S ON S.b1 = t.bundle
WHERE t.customer IN (SELECT customer FROM eval_users) GROUP BY 1, 2;
CREATE TABLE gib AS SELECT h.customer, S.b2 AS bundle, sum(h.s * S.s) AS s FROM hn h JOIN S ON S.b1 = h.bundle GROUP BY 1, 2;
-- all components, train pairs left out, each scaled by its per-customer max
CREATE TABLE comp AS
WITH u AS (
  SELECT customer::text c, bundle::text b, e, NULL::float8 ov, NULL::float8 hn, NULL::float8 gbb, NULL::float8 gib FROM e
  UNION ALL SELECT customer, bundle, NULL, ov, NULL, NULL, NULL FROM ov WHERE customer::int IN (SELECT customer FROM eval_users)
  UNION ALL SELECT customer::text, bundle::text, NULL, NULL, s, NULL, NULL FROM hn
  UNION ALL SELECT customer::text, bundle::text, NULL, NULL, NULL, s, NULL FROM gbb
  UNION ALL SELECT customer::text, bundle::text, NULL, NULL, NULL, NULL, s FROM gib),
g AS (SELECT c, b, sum(e) e, sum(ov) ov, sum(hn) hn, sum(gbb) gbb, sum(gib) gib FROM u
      WHERE NOT EXISTS (SELECT 1 FROM ub_train t WHERE t.customer::text = u.c AND t.bundle::text = u.b)
      GROUP BY 1, 2)
SELECT c AS customer, b AS bundle,
  coalesce(e / nullif(max(abs(e)) OVER w, 0), 0) e, coalesce(ov / nullif(max(ov) OVER w, 0), 0) ov,
  coalesce(hn / nullif(max(hn) OVER w, 0), 0) hn, coalesce(gbb / nullif(max(gbb) OVER w, 0), 0) gbb,
  coalesce(gib / nullif(max(gib) OVER w, 0), 0) gib
FROM g WINDOW w AS (PARTITION BY c);
CREATE INDEX ON comp(customer);
ANALYZE comp;
SELECT count(*), count(DISTINCT customer) FROM comp;
CREATE TABLE comp_t AS SELECT * FROM comp WHERE customer IN (SELECT customer::text FROM ub_tune);
-- GF-CF linear filter on X = lines (customer x (b:, i:) columns, weights w)
DROP TABLE IF EXISTS udeg, cdeg, P, gcf, S2, gbb2;
CREATE TABLE udeg AS SELECT customer, sum(w) d FROM lines GROUP BY 1;
CREATE TABLE cdeg AS SELECT col, sum(w) d FROM lines GROUP BY 1;
CREATE TABLE P AS
SELECT c, b, s FROM (SELECT c, b, s, row_number() OVER (PARTITION BY c ORDER BY s DESC, b) rn FROM (
  SELECT x.col c, substr(y.col, 3) b, sum(x.w * y.w / (u.d * sqrt(cx.d * cy.d))) s
  FROM lines x JOIN lines y ON y.customer = x.customer AND y.col LIKE 'b:%' AND y.col <> x.col
  JOIN udeg u ON u.customer = x.customer JOIN cdeg cx ON cx.col = x.col JOIN cdeg cy ON cy.col = y.col
  GROUP BY 1, 2) a) r WHERE rn <= 500;
CREATE INDEX ON P(c);
CREATE TABLE gcf AS SELECT l.customer, P.b AS bundle, sum(l.w * P.s) s
FROM lines l JOIN P ON P.c = l.col WHERE l.customer::int IN (SELECT customer FROM eval_users) GROUP BY 1, 2;
-- S2: plain cosine of item sets (no item-degree weighting)
CREATE TABLE S2 AS
SELECT b1, b2, s FROM (
  SELECT b1, b2, s, row_number() OVER (PARTITION BY b1 ORDER BY s DESC, b2) rn FROM (
    SELECT x.bundle b1, y.bundle b2, count(*) / sqrt(d1.d * d2.d) s
    FROM bi x JOIN bi y ON x.item = y.item AND x.bundle <> y.bundle
    JOIN bdeg d1 ON d1.bundle = x.bundle JOIN bdeg d2 ON d2.bundle = y.bundle
    GROUP BY x.bundle, y.bundle, d1.d, d2.d) a) r WHERE rn <= 200;
CREATE INDEX ON S2(b1);
CREATE TABLE gbb2 AS SELECT t.customer, S2.b2 AS bundle, sum(S2.s) AS s FROM ub_train t JOIN S2 ON S2.b1 = t.bundle
WHERE t.customer IN (SELECT customer FROM eval_users) GROUP BY 1, 2;
ALTER TABLE comp_t ADD COLUMN gcf float8 DEFAULT 0, ADD COLUMN gbb2 float8 DEFAULT 0;
-- add to comp_t as columns scaled by per-customer max (train pairs left out)
WITH g AS (SELECT customer, bundle, s / max(s) OVER (PARTITION BY customer) s FROM gcf x
           WHERE NOT EXISTS (SELECT 1 FROM ub_train t WHERE t.customer::text = x.customer AND t.bundle::text = x.bundle))
UPDATE comp_t c SET gcf = g.s FROM g WHERE g.customer = c.customer AND g.bundle = c.bundle;
WITH g AS (SELECT customer::text customer, bundle::text bundle, s / max(s) OVER (PARTITION BY customer) s FROM gbb2 x
           WHERE NOT EXISTS (SELECT 1 FROM ub_train t WHERE t.customer = x.customer AND t.bundle = x.bundle))
UPDATE comp_t c SET gbb2 = g.s FROM g WHERE g.customer = c.customer AND g.bundle = c.bundle;

-- blend3: rank the tune customers by e + ow ov + wbb gb + wcf gx + wbb2 gbb2
-- (every one has at least 20 candidates, so no popularity fill is needed)
CREATE FUNCTION y.blend3(ow float8, wbb float8, wcf float8, wbb2 float8, OUT recall float8, OUT ndcg float8)
LANGUAGE plpgsql AS $$
BEGIN
  DROP TABLE IF EXISTS pg_temp.l;
  CREATE TEMP TABLE l AS
  WITH n AS (SELECT c.customer, c.bundle, row_number() OVER (PARTITION BY customer ORDER BY c.e + ow * c.ov + wbb * c.gbb + wcf * c.gcf + wbb2 * c.gbb2 DESC, bundle) rn FROM y.comp_t c)
  SELECT customer, rn::int AS rank, bundle FROM n WHERE rn <= 20;
  SELECT * FROM y.evaluate('pg_temp.l', 'tune') INTO recall, ndcg;
END $$;
CREATE FUNCTION y.blend_ib(ow float8, wib float8, OUT recall float8, OUT ndcg float8)
LANGUAGE plpgsql AS $$
BEGIN
  DROP TABLE IF EXISTS pg_temp.l;
  CREATE TEMP TABLE l AS
  WITH n AS (SELECT c.customer, c.bundle, row_number() OVER (PARTITION BY customer ORDER BY c.e + ow * c.ov + wib * c.gib DESC, bundle) rn FROM y.comp_t c)
  SELECT customer, rn::int AS rank, bundle FROM n WHERE rn <= 20;
  SELECT * FROM y.evaluate('pg_temp.l', 'tune') INTO recall, ndcg;
END $$;
SELECT w.*, b.* FROM (VALUES
  ('EASE + overlap', 0.3, 0, 0, 0), ('gb 0.1', 0.3, 0.1, 0, 0), ('gb 0.3', 0.3, 0.3, 0, 0), ('gb 0.5', 0.3, 0.5, 0, 0),
  ('gb 1', 0.3, 1, 0, 0), ('gx 0.3', 0.3, 0, 0.3, 0), ('gx 1', 0.3, 0, 1, 0), ('gbb2 0.3', 0.3, 0, 0, 0.3),
  ('both 0.2', 0.3, 0.2, 0.2, 0), ('both 0.3', 0.3, 0.3, 0.3, 0), ('both 0.4', 0.3, 0.4, 0.4, 0),
  ('both 0.3, overlap 0.2', 0.2, 0.3, 0.3, 0), ('gb 0.3, gx 0.5', 0.3, 0.3, 0.5, 0)) w(name, ow, wbb, wcf, wbb2)
  CROSS JOIN LATERAL y.blend3(w.ow, w.wbb, w.wcf, w.wbb2) b;
SELECT 'gib 0.1' AS name, * FROM y.blend_ib(0.3, 0.1) UNION ALL SELECT 'gib 0.3', * FROM y.blend_ib(0.3, 0.3);
