-- ease_sparse.sql: bundlerec.sparse_ease() against dense EASE computed
-- without it: on the 6-customer x 4-item hand fixture of ease.sql (the
-- adjugate of X'X + I written out below) every signed weight, negative ones
-- included, when the neighbourhood covers the catalogue; on a generated
-- 81 x 15 fixture (binary and weighted) the weights of the dense inverse;
-- a neighbourhood of 1 gives the one-regressor ridge G_kj / (G_kk + lambda)
-- by hand, a neighbourhood of 3 solves the normal equations on the
-- neighbourhood with X'X counted in SQL; top_k keeps the largest
-- magnitudes (SQL row_number()); _ease_weights is dense under the default
-- memory_limit and sparse when the dense matrix does not fit; the errors.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(21);

CREATE SCHEMA tap_sparse_ease;
SET LOCAL search_path = tap_sparse_ease, public;
SET LOCAL jit = off;

-- customers and their items (c1 has a repeated A line; binary X counts it once):
--   c1: A B    c2: A C    c3: B C D    c4: A B C    c5: D    c6: A B D
-- With lambda = 1, G = X'X + I = | 5 3 2 1 |, adj G = |  51 -27 -13   4 |
--                                | 3 5 2 2 |          | -27  59 -11 -20 |
--                                | 2 2 4 1 |          | -13 -11  51  -4 |
--                                | 1 2 1 4 |          |   4 -20  -4  48 |
-- B_ij = -adj_ij / adj_jj (det G = 152 cancels).
CREATE TABLE small (cust text, item text, w float8);
INSERT INTO small VALUES
	('c1', 'A', 1), ('c1', 'A', 1), ('c1', 'B', 1),
	('c2', 'A', 1), ('c2', 'C', 1),
	('c3', 'B', 1), ('c3', 'C', 1), ('c3', 'D', 1),
	('c4', 'A', 1), ('c4', 'B', 1), ('c4', 'C', 1),
	('c5', 'D', 1),
	('c6', 'A', 1), ('c6', 'B', 1), ('c6', 'D', 1);

CREATE TABLE small_expected (item text, neighbor text, score numeric, common bigint);
INSERT INTO small_expected VALUES
	('A', 'B', 27 / 59.0, 3), ('A', 'C', 13 / 51.0, 2), ('A', 'D', -1 / 12.0, 1),
	('B', 'A', 9 / 17.0, 3), ('B', 'C', 11 / 51.0, 2), ('B', 'D', 5 / 12.0, 2),
	('C', 'A', 13 / 51.0, 2), ('C', 'B', 11 / 59.0, 2), ('C', 'D', 1 / 12.0, 1),
	('D', 'A', -4 / 51.0, 1), ('D', 'B', 20 / 59.0, 2), ('D', 'C', 4 / 51.0, 1);

SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 6), common
	  FROM bundlerec.sparse_ease('small', 'cust', 'item', regularization => 1, top_k => 10)$$,
	$$SELECT item, neighbor, round(score, 6), common FROM small_expected$$,
	'neighbourhood covering the catalogue: all twelve signed hand weights of dense EASE, negatives A->D -1/12 and D->A -4/51 included');

-- top_k 1 keeps the largest magnitude per item, by SQL over the hand values
SELECT set_eq(
	$$SELECT item, neighbor FROM bundlerec.sparse_ease('small', 'cust', 'item', regularization => 1, top_k => 1)$$,
	$$SELECT item, neighbor FROM (SELECT item, neighbor,
	      row_number() OVER (PARTITION BY item ORDER BY abs(score) DESC) AS r FROM small_expected) x WHERE r = 1$$,
	'top_k 1 keeps each item''s weight of largest magnitude');

-- neighborhood 1: target j regresses on its most co-bought item k alone,
-- B_kj = G_kj / (G_kk + 1).  A: B (3 shared) -> row B->A 3/5; B: A -> A->B 3/5;
-- C: A and B tie at 2 -> the first item A, A->C 2/5; D: B (2) -> B->D 2/5.
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 6), common
	  FROM bundlerec.sparse_ease('small', 'cust', 'item', regularization => 1, neighborhood => 1)$$,
	$$VALUES ('B', 'A', 0.6, 3::bigint), ('A', 'B', 0.6, 3), ('A', 'C', 0.4, 2), ('B', 'D', 0.4, 2)$$,
	'neighborhood 1: the one-regressor ridge G_kj / (G_kk + lambda) on the most co-bought item');

-- min_count 4 keeps A and B: B_AB = B_BA = 3/5 as in ease.sql
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 6) FROM bundlerec.sparse_ease('small', 'cust', 'item', regularization => 1, min_count => 4)$$,
	$$VALUES ('A', 'B', 0.6), ('B', 'A', 0.6)$$,
	'min_count 4 drops C and D first');

------------------------------------------------------------------------------
-- Generated fixture against the dense inverse of ease()
------------------------------------------------------------------------------
-- a deterministic pattern, popular low-numbered items; customer c0 buys
-- everything so that every pair co-occurs and the neighbourhood (co-bought
-- items only) covers the catalogue
CREATE TABLE gen AS
	SELECT 'c' || c AS cust, 'i' || lpad(i::text, 2, '0') AS item, 1 + (c * i) % 3 AS w
	FROM generate_series(0, 80) c, generate_series(1, 15) i
	WHERE c = 0 OR ((c * 31 + i * 17) * (c + i)) % 23 < 2 + 12 / i;

SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 5) FROM bundlerec.sparse_ease('gen', 'cust', 'item', regularization => 3, top_k => 20) WHERE score > 0$$,
	$$SELECT item, neighbor, round(score::numeric, 5) FROM bundlerec.ease('gen', 'cust', 'item', regularization => 3, top_k => 20)$$,
	'binary 81 x 15: the positive weights equal dense ease()');
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 4) FROM bundlerec.sparse_ease('gen', 'cust', 'item', 'w', regularization => 3, top_k => 20) WHERE score > 0$$,
	$$SELECT item, neighbor, round(score::numeric, 4) FROM bundlerec.ease('gen', 'cust', 'item', 'w', regularization => 3, top_k => 20)$$,
	'weighted 81 x 15: the positive weights equal dense ease()');
SELECT ok(
	(SELECT count(*) FROM bundlerec.sparse_ease('gen', 'cust', 'item', regularization => 3, top_k => 20) WHERE score < 0) > 0,
	'the generated fixture has negative weights, and they are returned');

-- every signed weight against the dense solver behind _ease_dense
SELECT is((SELECT count(*) FROM bundlerec._ease_dense('gen', 'cust', 'item', NULL, 3, 20, 1, NULL, true) d
	FULL JOIN bundlerec.sparse_ease('gen', 'cust', 'item', regularization => 3, top_k => 20) s USING (item, neighbor)
	WHERE s.score IS NULL OR d.score IS NULL OR abs(s.score - d.score) > 1e-9 OR s.common <> d.common), 0::bigint,
	'binary 81 x 15: all 210 signed weights and common counts equal the dense inverse within 1e-9');

-- neighborhood 3: S_j = the 3 items sharing most customers with j (ties to
-- the smaller key), counted in SQL; the weights must solve the normal
-- equations sum_k in S_j (G_ik + 3 [i = k]) B_kj = G_ij for every i in S_j
CREATE TABLE gram AS
	SELECT a.item AS i, b.item AS k, count(*)::float8 AS g
	FROM (SELECT DISTINCT cust, item FROM gen) a
	JOIN (SELECT DISTINCT cust, item FROM gen) b USING (cust)
	GROUP BY 1, 2;
CREATE TABLE hood3 AS
	SELECT j, k FROM (SELECT k AS j, i AS k, row_number() OVER (PARTITION BY k ORDER BY g DESC, i) AS r
	                  FROM gram WHERE i <> k) x WHERE r <= 3;
CREATE TABLE b3 AS
	SELECT item AS k, neighbor AS j, score AS b
	FROM bundlerec.sparse_ease('gen', 'cust', 'item', regularization => 3, top_k => 20, neighborhood => 3);
SELECT set_eq('SELECT k, j FROM b3', 'SELECT k, j FROM hood3',
	'neighborhood 3: each column j has weights exactly on its 3 most co-bought items (SQL row_number)');
SELECT is((SELECT max(abs(lhs - gij)) < 1e-9 FROM (
	SELECT h.j, h.k AS i, (SELECT g FROM gram WHERE gram.i = h.k AND gram.k = h.j) AS gij,
	       (SELECT sum((gr.g + CASE WHEN gr.i = gr.k THEN 3 ELSE 0 END) * b3.b)
	        FROM b3 JOIN gram gr ON gr.k = b3.k AND gr.i = h.k WHERE b3.j = h.j) AS lhs
	FROM hood3 h) r), true,
	'neighborhood 3: (G_SS + 3 I) B_Sj = G_Sj for every column, G counted in SQL, within 1e-9');

------------------------------------------------------------------------------
-- _ease_weights routes to the sparse path when dense does not fit
------------------------------------------------------------------------------
-- 400 items, 1,200 customers of at most 3 items: the dense 400 x 400
-- matrix needs 1.28 MB beside the interactions, the sparse path far less
CREATE TABLE many AS
	SELECT DISTINCT 'u' || u AS cust, 'r' || lpad((1 + (u * m) % 400)::text, 3, '0') AS item
	FROM generate_series(1, 1200) u, (VALUES (1), (7), (31)) v(m);
CREATE TABLE many_dense AS
	SELECT * FROM bundlerec._ease_dense('many', 'cust', 'item', NULL, 10, 100, 1, NULL, true);
CREATE TABLE many_sparse AS
	SELECT * FROM bundlerec.sparse_ease('many', 'cust', 'item', regularization => 10, top_k => 100, neighborhood => 200);
SELECT ok((SELECT count(*) FROM many_dense d FULL JOIN many_sparse s USING (item, neighbor)
	WHERE s.score IS NULL OR d.score IS NULL OR abs(s.score - d.score) > 1e-6) > 0,
	'the routing fixture tells the engines apart: dense and sparse weights differ (not every pair is co-bought)');
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 9) FROM bundlerec._ease_weights('many', 'cust', 'item', regularization => 10)$$,
	$$SELECT item, neighbor, round(score::numeric, 9) FROM many_dense$$,
	'default memory_limit: _ease_weights returns the dense weights');
SET LOCAL bundlerec.memory_limit = '1500kB';
SELECT throws_ok($$SELECT * FROM bundlerec._ease_dense('many', 'cust', 'item', NULL, 10, 100, 1, NULL, true)$$,
	'54000', NULL, 'memory_limit 1500kB: dense EASE of 400 items is SQLSTATE 54000');
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 9), common FROM bundlerec._ease_weights('many', 'cust', 'item', regularization => 10)$$,
	$$SELECT item, neighbor, round(score::numeric, 9), common FROM many_sparse$$,
	'memory_limit 1500kB: _ease_weights falls back to sparse_ease(neighborhood 200)');
-- under this limit only the 156 most bought items share the dense block
-- of G; the others' pairs are read from the sparse rows, walked or (a
-- neighbourhood of 2 makes rows long beside it) searched
CREATE TABLE gram_many AS
	SELECT a.item AS i, b.item AS k, count(*)::float8 AS g
	FROM many a JOIN many b USING (cust) GROUP BY 1, 2;
CREATE TABLE hood2 AS
	SELECT j, k FROM (SELECT k AS j, i AS k, row_number() OVER (PARTITION BY k ORDER BY g DESC, i) AS r
	                  FROM gram_many WHERE i <> k) x WHERE r <= 2;
CREATE TABLE b2 AS
	SELECT item AS k, neighbor AS j, score AS b
	FROM bundlerec.sparse_ease('many', 'cust', 'item', regularization => 10, neighborhood => 2);
SELECT is((SELECT count(*) FROM hood2 h FULL JOIN b2 USING (j, k) WHERE h.j IS NULL OR b2.j IS NULL
	OR abs((SELECT sum((gr.g + CASE WHEN gr.i = gr.k THEN 10 ELSE 0 END) * x.b)
	        FROM b2 x JOIN gram_many gr ON gr.k = x.k AND gr.i = h.k WHERE x.j = h.j)
	       - (SELECT g FROM gram_many WHERE i = h.k AND k = h.j)) > 1e-9), 0::bigint,
	'memory_limit 1500kB, neighborhood 2: weights on the 2 most co-bought items, solving (G_SS + 10 I) B_Sj = G_Sj with G counted in SQL');
-- a row long beside the neighbourhood is searched: z (20 customers) is
-- bought with 30 more popular items p01..p30 (26 customers each), and 160
-- items bought alone (28 customers each) take the dense block
CREATE TABLE star AS
	SELECT 'f' || f || '_' || c AS cust, 'f' || lpad(f::text, 3, '0') AS item
	FROM generate_series(1, 160) f, generate_series(1, 28) c
	UNION ALL SELECT 'p' || k || '_' || c, 'p' || lpad(k::text, 2, '0')
	FROM generate_series(1, 30) k, generate_series(1, 25) c
	UNION ALL SELECT DISTINCT 'z' || u, x FROM generate_series(1, 20) u,
		LATERAL (VALUES ('z'), ('p' || lpad((1 + u % 30)::text, 2, '0')), ('p' || lpad((1 + (u * 7 + 10) % 30)::text, 2, '0'))) v(x);
CREATE TABLE gram_star AS
	SELECT a.item AS i, b.item AS k, count(*)::float8 AS g
	FROM star a JOIN star b USING (cust) GROUP BY 1, 2;
CREATE TABLE hood_star AS
	SELECT j, k FROM (SELECT k AS j, i AS k, row_number() OVER (PARTITION BY k ORDER BY g DESC, i) AS r
	                  FROM gram_star WHERE i <> k) x WHERE r <= 2;
CREATE TABLE b_star AS
	SELECT item AS k, neighbor AS j, score AS b
	FROM bundlerec.sparse_ease('star', 'cust', 'item', regularization => 10, neighborhood => 2);
SELECT is((SELECT count(*) FROM hood_star h FULL JOIN b_star USING (j, k) WHERE h.j IS NULL OR b_star.j IS NULL
	OR abs((SELECT sum((gr.g + CASE WHEN gr.i = gr.k THEN 10 ELSE 0 END) * x.b)
	        FROM b_star x JOIN gram_star gr ON gr.k = x.k AND gr.i = h.k WHERE x.j = h.j)
	       - (SELECT g FROM gram_star WHERE i = h.k AND k = h.j)) > 1e-9), 0::bigint,
	'memory_limit 1500kB, a 30-partner row searched: the neighborhood-2 normal equations hold with G counted in SQL');
RESET bundlerec.memory_limit;

------------------------------------------------------------------------------
-- Errors
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.sparse_ease('small', 'cust', 'item', regularization => 0)$$,
	'22023', NULL, 'regularization 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.sparse_ease('small', 'cust', 'item', top_k => 0)$$,
	'22023', NULL, 'top_k 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.sparse_ease('small', 'cust', 'item', min_count => 0)$$,
	'22023', NULL, 'min_count 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.sparse_ease('small', 'cust', 'item', neighborhood => 0)$$,
	'22023', NULL, 'neighborhood 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.sparse_ease('small', 'cust', 'item', neighborhood => NULL)$$,
	'22004', NULL, 'a NULL neighborhood is SQLSTATE 22004');

SELECT * FROM finish();
ROLLBACK;
