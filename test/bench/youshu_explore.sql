-- youshu_explore.sql: scoring merchant-defined bundles on the Youshu bundle
-- benchmark (BGCN / CrossCBR split), using bundlerec functions and plain SQL.
--
-- Run (needs ../shared/data/bundle_youshu relative to the repository root, a
-- server that can read it, and bundlerec installed in the database):
--   psql -X -v ON_ERROR_STOP=1 -d youshu -f test/bench/youshu_explore.sql
--   psql ... -v grid=1 -f ...   also runs the hyper-parameter grids (about 25
--                               minutes more on 2 cores)
-- Set -v datadir=/abs/path to read the data elsewhere (default
-- /work/shared/data/bundle_youshu).
--
-- Protocol (as BGCN / CrossCBR): train on user_bundle_train (+ all of
-- user_item); evaluated users = users with a pair in the gt file; every bundle
-- is ranked, the user's TRAIN bundles are masked (train only, also on test);
-- Recall@20 = hits / |gt| (not min(20, |gt|)); NDCG@20 binary gains,
-- 1/log2(rank + 1), ideal DCG over min(20, |gt|); averaged over users.
-- Hyper-parameters and weights are chosen on ub_tune only; the test numbers
-- use the same model (trained on train only).  Since both phases mask only
-- train pairs, one score table per model serves both phases.
-- Ties (and bundles a model does not score) rank by train popularity, then id.

\set ON_ERROR_STOP 1
\timing on
\if :{?datadir}
\else
\set datadir /work/shared/data/bundle_youshu
\endif
SET client_min_messages = warning;
SET bundlerec.memory_limit = '4GB';
CREATE EXTENSION IF NOT EXISTS bundlerec;

---------------------------------------------------------------- loading
DROP SCHEMA IF EXISTS youshu CASCADE;
CREATE SCHEMA youshu;
SET search_path = youshu, public;
CREATE TABLE ub_train (u int, b int);
CREATE TABLE ub_tune  (u int, b int);
CREATE TABLE ub_test  (u int, b int);
CREATE TABLE ui (u int, i int);
CREATE TABLE bi (b int, i int);
\set f '''zcat ' :datadir '/user_bundle_train.txt.gz'''
COPY ub_train FROM PROGRAM :f;
\set f '''zcat ' :datadir '/user_bundle_tune.txt.gz'''
COPY ub_tune FROM PROGRAM :f;
\set f '''zcat ' :datadir '/user_bundle_test.txt.gz'''
COPY ub_test FROM PROGRAM :f;
\set f '''zcat ' :datadir '/user_item.txt.gz'''
COPY ui FROM PROGRAM :f;
\set f '''zcat ' :datadir '/bundle_item.txt.gz'''
COPY bi FROM PROGRAM :f;
CREATE INDEX ON ub_train (u, b);
CREATE INDEX ON ub_train (b);
CREATE INDEX ON ui (u);
CREATE INDEX ON ui (i);
CREATE INDEX ON bi (b);
CREATE INDEX ON bi (i);
CREATE TABLE eval_users AS SELECT DISTINCT u FROM ub_test UNION SELECT DISTINCT u FROM ub_tune;
CREATE TABLE bpop AS   -- train users per bundle (every bundle of bi, 0 allowed)
  SELECT b.b, coalesce(t.n, 0) AS n
  FROM (SELECT DISTINCT b FROM bi) b LEFT JOIN (SELECT b, count(*) n FROM ub_train GROUP BY b) t USING (b);
CREATE TABLE bsize AS SELECT b, count(*) AS n FROM bi GROUP BY b;
CREATE TABLE icount AS SELECT i, count(*) AS n FROM ui GROUP BY i;
ANALYZE;
SELECT (SELECT count(*) FROM ub_train) AS train, (SELECT count(*) FROM ub_tune) AS tune,
       (SELECT count(*) FROM ub_test) AS test, (SELECT count(*) FROM ui) AS ui,
       (SELECT count(*) FROM bi) AS bi, (SELECT count(*) FROM eval_users) AS eval_users;

---------------------------------------------------------------- metrics
-- eval(scores, gt, k): scores is any table (u int, b int, s float8), sparse;
-- a bundle missing from it has s = 0 (so s must be >= 0 where it matters).
-- Rank per user by (s desc, train popularity desc, b), drop train pairs,
-- keep the top k, score against gt (u, b).  The 300 most popular bundles are
-- added with s = 0 so that every user has k candidates (a user has at most
-- 70 train bundles).
CREATE FUNCTION eval(scores regclass, gt regclass, k int DEFAULT 20)
RETURNS TABLE (recall float8, ndcg float8, users bigint)
LANGUAGE plpgsql AS $f$
BEGIN
  RETURN QUERY EXECUTE format($q$
    WITH g AS (SELECT u, b FROM %2$s WHERE u IN (SELECT u FROM youshu.eval_users)),
    gu AS (SELECT u, count(*) AS n FROM g GROUP BY u),
    popk AS (SELECT b, n FROM youshu.bpop ORDER BY n DESC, b LIMIT 300),
    cand AS (
      SELECT u, b, max(s) AS s FROM (
        SELECT s.u, s.b, s.s FROM %1$s s JOIN gu USING (u)
        UNION ALL
        SELECT gu.u, p.b, 0 FROM gu CROSS JOIN popk p) x
      GROUP BY u, b),
    ranked AS (
      SELECT c.u, c.b, row_number() OVER (PARTITION BY c.u ORDER BY c.s DESC, p.n DESC, c.b) AS r
      FROM cand c JOIN youshu.bpop p USING (b)
      WHERE NOT EXISTS (SELECT 1 FROM youshu.ub_train t WHERE t.u = c.u AND t.b = c.b)),
    top AS (SELECT * FROM ranked WHERE r <= %3$s),
    per AS (
      SELECT gu.u, gu.n, count(g.b) AS hits,
             coalesce(sum(1.0 / log(2, t.r + 1)) FILTER (WHERE g.b IS NOT NULL), 0) AS dcg
      FROM gu LEFT JOIN top t ON t.u = gu.u
              LEFT JOIN g ON g.u = t.u AND g.b = t.b
      GROUP BY gu.u, gu.n)
    SELECT avg(hits::float8 / n),
           avg(dcg / (SELECT sum(1.0 / log(2, r + 1)) FROM generate_series(1, least(n, %3$s)) r))::float8,
           count(*)
    FROM per $q$, scores, gt, k);
END $f$;

CREATE TABLE results (name text, phase text, recall float8, ndcg float8, users bigint,
                      at timestamptz DEFAULT clock_timestamp());
-- ev(name, scores): evaluate on tune and on test, record in results
CREATE FUNCTION ev(name text, scores regclass) RETURNS SETOF results LANGUAGE sql AS $$
  INSERT INTO youshu.results (name, phase, recall, ndcg, users)
  SELECT name, 'tune', * FROM youshu.eval(scores, 'youshu.ub_tune')
  UNION ALL
  SELECT name, 'test', * FROM youshu.eval(scores, 'youshu.ub_test')
  RETURNING *;
$$;

---------------------------------------------------------------- components
-- score_from_bb(nb, out): s(u, b) = sum over the user's train bundles b' of
-- w(b' -> b), from a neighbour table (item, neighbor, score) of bundle ids.
CREATE FUNCTION score_from_bb(nb regclass, out_tbl text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE format('DROP TABLE IF EXISTS %I', out_tbl);
  EXECUTE format($q$CREATE TABLE %I AS
    SELECT t.u, n.neighbor::int AS b, sum(n.score) AS s
    FROM youshu.ub_train t JOIN %s n ON n.item = t.b::text
    WHERE t.u IN (SELECT u FROM youshu.eval_users)
    GROUP BY 1, 2$q$, out_tbl, nb);
END $f$;

-- aug_ease(alpha, minc, lam, out): EASE over the augmented matrix
-- users x (bundles U items): X[u, b] = 1 for train pairs, X[u, 100000 + i] =
-- alpha for user_item pairs (items with >= minc users; every user of ui is a
-- row).  s(u, b) = sum_{b' in train(u)} B[b', b] + alpha * sum_{i in H_u} B[i, b]
-- (= X_u . B[:, b]), keeping the 1500 largest positive weights per row and
-- then only bundle columns.
CREATE FUNCTION aug_ease(alpha float8, minc int, lam float8, out_tbl text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  DROP TABLE IF EXISTS aug_src;
  CREATE TABLE aug_src AS
    SELECT u, b AS col, 1.0::float8 AS w FROM youshu.ub_train
    UNION ALL
    SELECT ui.u, 100000 + ui.i, alpha FROM youshu.ui JOIN youshu.icount c USING (i) WHERE c.n >= minc;
  DROP TABLE IF EXISTS nb_aug;
  CREATE TABLE nb_aug AS SELECT item::int AS src, neighbor::int AS b, score
    FROM bundlerec.ease('aug_src', 'u', 'col', weight => 'w', regularization => lam, top_k => 1500)
    WHERE neighbor::int < 100000;
  EXECUTE format('DROP TABLE IF EXISTS %I', out_tbl);
  EXECUTE format($q$CREATE TABLE %I AS
    SELECT u, b, sum(s) AS s FROM (
      SELECT t.u, n.b, n.score AS s FROM youshu.ub_train t JOIN youshu.nb_aug n ON n.src = t.b
      UNION ALL
      SELECT h.u, n.b, %s * n.score FROM youshu.ui h JOIN youshu.nb_aug n ON n.src = 100000 + h.i
      WHERE h.u IN (SELECT u FROM youshu.eval_users)) x
    GROUP BY 1, 2$q$, out_tbl, alpha);
END $f$;

-- blend_exact(cf, wa, wp, name): final blend, exact over all bundles:
--   S(u, b) = cf(u, b) / max_b' cf(u, b') + wa * a(u, b) / max_b' a(u, b')
--             + wp * ln(1 + pop(b)) / max ln(1 + pop)
-- a(u, b) = |items(u) ∩ items(b)| (user_item only); maxima per user over the
-- bundles NOT in the user's train history; missing entries are 0.
CREATE FUNCTION blend_exact(cf regclass, wa float8, wp float8, name text) RETURNS SETOF results LANGUAGE plpgsql AS $f$
BEGIN
  DROP TABLE IF EXISTS sc_blend;
  EXECUTE format($q$
  CREATE TABLE sc_blend AS
  WITH c AS (SELECT u, b, s FROM %s x WHERE NOT EXISTS (SELECT 1 FROM youshu.ub_train t WHERE t.u = x.u AND t.b = x.b)),
  a AS (SELECT u, b, c AS s FROM youshu.ov_ui x WHERE NOT EXISTS (SELECT 1 FROM youshu.ub_train t WHERE t.u = x.u AND t.b = x.b)),
  cn AS (SELECT u, b, s / nullif(max(s) OVER (PARTITION BY u), 0) AS s FROM c),
  an AS (SELECT u, b, s / nullif(max(s) OVER (PARTITION BY u), 0) AS s FROM a),
  pn AS (SELECT e.u, p.b FROM youshu.eval_users e CROSS JOIN (SELECT * FROM youshu.bpop ORDER BY n DESC, b LIMIT 300) p),
  parts AS (SELECT u, b, coalesce(s, 0) AS s FROM cn UNION ALL SELECT u, b, %s * coalesce(s, 0) FROM an
            UNION ALL SELECT u, b, 0 FROM pn)
  SELECT x.u, x.b, sum(x.s) + %s * ln(1 + p.n) / (SELECT max(ln(1 + n)) FROM youshu.bpop) AS s
  FROM parts x JOIN youshu.bpop p USING (b) GROUP BY x.u, x.b, p.n$q$, cf, wa, wp);
  RETURN QUERY SELECT * FROM youshu.ev(name, 'sc_blend');
END $f$;

---------------------------------------------------------------- 1. popularity
CREATE TABLE sc_empty (u int, b int, s float8);
SELECT * FROM ev('popularity', 'sc_empty');

---------------------------------------------------------------- 2. EASE, user x bundle
CREATE TABLE nb_ease_b AS SELECT * FROM bundlerec.ease('youshu.ub_train', 'u', 'b', regularization => 1000, top_k => 300);
SELECT score_from_bb('nb_ease_b', 'c_e');
SELECT * FROM ev('ease_b lam=1000', 'c_e');
\if :{?grid}
DO $$
DECLARE lam float8;
BEGIN
  FOREACH lam IN ARRAY ARRAY[10, 50, 100, 200, 500, 2000, 5000] LOOP
    DROP TABLE IF EXISTS nb_tmp;
    CREATE TABLE nb_tmp AS SELECT * FROM bundlerec.ease('youshu.ub_train', 'u', 'b', regularization => lam, top_k => 300);
    PERFORM score_from_bb('nb_tmp', 'sc_tmp');
    PERFORM ev('ease_b lam=' || lam, 'sc_tmp');
  END LOOP;
END $$;
\endif

---------------------------------------------------------------- 3. item kNN (cosine), user x bundle
CREATE TABLE nb_knn_b AS SELECT * FROM bundlerec.item_neighbors('youshu.ub_train', 'u', 'b', top_k => 200, shrinkage => 10);
SELECT score_from_bb('nb_knn_b', 'c_k');
SELECT * FROM ev('knn_b k=200 sh=10', 'c_k');
\if :{?grid}
DO $$
DECLARE k int; sh float8;
BEGIN
  FOREACH k IN ARRAY ARRAY[20, 50, 200, 500] LOOP
   FOREACH sh IN ARRAY ARRAY[0, 10, 50, 200] LOOP
    CONTINUE WHEN k = 200 AND sh = 10;
    DROP TABLE IF EXISTS nb_tmp;
    CREATE TABLE nb_tmp AS SELECT * FROM bundlerec.item_neighbors('youshu.ub_train', 'u', 'b', top_k => k, shrinkage => sh);
    PERFORM score_from_bb('nb_tmp', 'sc_tmp');
    PERFORM ev(format('knn_b k=%s sh=%s', k, sh), 'sc_tmp');
   END LOOP;
  END LOOP;
END $$;
-- bundle-bundle content similarity (cosine over bundle x item membership)
DROP TABLE IF EXISTS nb_tmp;
CREATE TABLE nb_tmp AS SELECT * FROM bundlerec.item_neighbors('youshu.bi', 'i', 'b', top_k => 100);
SELECT score_from_bb('nb_tmp', 'sc_tmp');
SELECT * FROM ev('content_bb cos k=100', 'sc_tmp');
\endif

---------------------------------------------------------------- 4. item-level affinity
-- a(u, b) = |H_u ∩ items(b)|, H_u = the user's user_item items
CREATE TABLE ov_ui AS
  SELECT h.u, bi.b, count(*)::float8 AS c
  FROM ui h JOIN bi USING (i) WHERE h.u IN (SELECT u FROM eval_users) GROUP BY 1, 2;
CREATE TABLE sc_tmp AS SELECT u, b, c AS s FROM ov_ui;
SELECT * FROM ev('aff ui g=0', 'sc_tmp');
\if :{?grid}
DROP TABLE sc_tmp; CREATE TABLE sc_tmp AS SELECT u, b, c / sqrt(n) AS s FROM ov_ui JOIN bsize USING (b);
SELECT * FROM ev('aff ui g=0.5', 'sc_tmp');
DROP TABLE sc_tmp; CREATE TABLE sc_tmp AS SELECT u, b, c / n AS s FROM ov_ui JOIN bsize USING (b);
SELECT * FROM ev('aff ui g=1', 'sc_tmp');
-- H+_u = user_item items plus the items of the user's train bundles
CREATE TABLE ov_hp AS
  SELECT h.u, bi.b, count(*)::float8 AS c FROM (
    SELECT u, i FROM ui WHERE u IN (SELECT u FROM eval_users)
    UNION SELECT t.u, bi.i FROM ub_train t JOIN bi USING (b) WHERE t.u IN (SELECT u FROM eval_users)) h
  JOIN bi USING (i) GROUP BY 1, 2;
DROP TABLE sc_tmp; CREATE TABLE sc_tmp AS SELECT u, b, c AS s FROM ov_hp;
SELECT * FROM ev('aff hp g=0', 'sc_tmp');
DROP TABLE sc_tmp; CREATE TABLE sc_tmp AS SELECT u, b, c / sqrt(n) AS s FROM ov_hp JOIN bsize USING (b);
SELECT * FROM ev('aff hp g=0.5', 'sc_tmp');
-- item kNN over user x item: s(u, j) = [j in H_u] + sum_{i in H_u} cos(i, j), summed over items(b)
CREATE TABLE nb_ii AS SELECT item::int AS i, neighbor::int AS j, score
  FROM bundlerec.item_neighbors('youshu.ui', 'u', 'i', top_k => 20, shrinkage => 10);
CREATE TABLE ov_knn AS
  SELECT uj.u, bi.b, sum(uj.s) AS c FROM (
    SELECT u, j, sum(w) AS s FROM (
      SELECT u, i AS j, 1.0::float8 AS w FROM ui WHERE u IN (SELECT u FROM eval_users)
      UNION ALL
      SELECT h.u, n.j, n.score FROM ui h JOIN nb_ii n USING (i) WHERE h.u IN (SELECT u FROM eval_users)) x
    GROUP BY 1, 2) uj JOIN bi ON bi.i = uj.j GROUP BY 1, 2;
DROP TABLE sc_tmp; CREATE TABLE sc_tmp AS SELECT u, b, c AS s FROM ov_knn;
SELECT * FROM ev('aff iknn g=0', 'sc_tmp');
\endif

---------------------------------------------------------------- 5. EASE on the augmented matrix
SELECT aug_ease(0.5, 5, 500, 'sc_aug');
SELECT * FROM ev('aug_ease alpha=0.5 minc=5 lam=500', 'sc_aug');
\if :{?grid}
SELECT aug_ease(1, 5, 500, 'sc_tmp');    SELECT * FROM ev('aug_ease alpha=1 minc=5 lam=500', 'sc_tmp');
SELECT aug_ease(1, 5, 1000, 'sc_tmp');   SELECT * FROM ev('aug_ease alpha=1 minc=5 lam=1000', 'sc_tmp');
SELECT aug_ease(1, 5, 2000, 'sc_tmp');   SELECT * FROM ev('aug_ease alpha=1 minc=5 lam=2000', 'sc_tmp');
SELECT aug_ease(0.5, 5, 1000, 'sc_tmp'); SELECT * FROM ev('aug_ease alpha=0.5 minc=5 lam=1000', 'sc_tmp');
SELECT aug_ease(2, 5, 1000, 'sc_tmp');   SELECT * FROM ev('aug_ease alpha=2 minc=5 lam=1000', 'sc_tmp');
\endif

---------------------------------------------------------------- 6. blends
SELECT * FROM blend_exact('c_e', 0.2, 0, 'blend ease_b(1000) + 0.2 a');
-- the winner (wa = 0.3 chosen on tune among 0.1, 0.2, 0.3, 0.4)
SELECT * FROM blend_exact('sc_aug', 0.3, 0, 'blend aug(0.5,500) + 0.3 a');
\if :{?grid}
SELECT * FROM blend_exact('sc_aug', 0.1, 0, 'blend aug(0.5,500) + 0.1 a');
SELECT * FROM blend_exact('sc_aug', 0.2, 0, 'blend aug(0.5,500) + 0.2 a');
SELECT * FROM blend_exact('sc_aug', 0.4, 0, 'blend aug(0.5,500) + 0.4 a');
SELECT * FROM blend_exact('sc_aug', 0.3, 0.1, 'blend aug(0.5,500) + 0.3 a + 0.1 pop');
SELECT * FROM blend_exact('c_e', 0.2, 0.1, 'blend ease_b(1000) + 0.2 a + 0.1 pop');
SELECT * FROM blend_exact('c_k', 0.2, 0, 'blend knn_b + 0.2 a');
\endif

---------------------------------------------------------------- summary
SELECT name,
       round(max(recall) FILTER (WHERE phase = 'tune')::numeric, 4) AS tune_recall20,
       round(max(ndcg)   FILTER (WHERE phase = 'tune')::numeric, 4) AS tune_ndcg20,
       round(max(recall) FILTER (WHERE phase = 'test')::numeric, 4) AS test_recall20,
       round(max(ndcg)   FILTER (WHERE phase = 'test')::numeric, 4) AS test_ndcg20
FROM results GROUP BY name ORDER BY min(at);
