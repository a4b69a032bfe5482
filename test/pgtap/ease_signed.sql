-- ease_signed.sql: bundlerec._ease_weights(), the signed EASE weights the
-- model stages read, against values computed without bundlerec: the
-- hand-inverted 6-customer x 4-item fixture of ease.sql (exact fractions,
-- negative weights included), and on a generated 50 x 9 fixture the
-- identity that defines EASE off the diagonal, (X'X + lambda I) B = X'X
-- (B = I - P diag(1/diag P), P = (X'X + lambda I)^-1), with X'X counted in
-- SQL.  Also: top_k keeps the largest |B_ij| (SQL row_number() over the
-- hand values), the positive weights equal ease()'s, and the memory limit
-- error (54000).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(9);

CREATE SCHEMA tap_ease_signed;
SET LOCAL search_path = tap_ease_signed, public;
SET LOCAL jit = off;

-- Hand fixture (see ease.sql for the adjugate): customers c1..c6 with
--   c1: A B    c2: A C    c3: B C D    c4: A B C    c5: D    c6: A B D
-- lambda 1 gives B_ij = -adj_ij / adj_jj below, two of them negative.
CREATE TABLE small (cust text, item text);
INSERT INTO small VALUES
	('c1', 'A'), ('c1', 'A'), ('c1', 'B'),
	('c2', 'A'), ('c2', 'C'),
	('c3', 'B'), ('c3', 'C'), ('c3', 'D'),
	('c4', 'A'), ('c4', 'B'), ('c4', 'C'),
	('c5', 'D'),
	('c6', 'A'), ('c6', 'B'), ('c6', 'D');
CREATE TABLE small_expected (item text, neighbor text, score numeric, common bigint);
INSERT INTO small_expected VALUES
	('A', 'B', 27 / 59.0, 3), ('A', 'C', 13 / 51.0, 2), ('A', 'D', -1 / 12.0, 1),
	('B', 'A', 9 / 17.0, 3), ('B', 'C', 11 / 51.0, 2), ('B', 'D', 5 / 12.0, 2),
	('C', 'A', 13 / 51.0, 2), ('C', 'B', 11 / 59.0, 2), ('C', 'D', 1 / 12.0, 1),
	('D', 'A', -4 / 51.0, 1), ('D', 'B', 20 / 59.0, 2), ('D', 'C', 4 / 51.0, 1);

SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 12), common
	  FROM bundlerec._ease_weights('small', 'cust', 'item', regularization => 1, top_k => 10)$$,
	$$SELECT item, neighbor, round(score, 12), common FROM small_expected$$,
	'lambda 1, top_k 10: all 12 hand weights with their signs (A -> D = -1/12, D -> A = -4/51) and common customers');

SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 12)
	  FROM bundlerec._ease_weights('small', 'cust', 'item', regularization => 1, top_k => 1)$$,
	$$SELECT item, neighbor, round(score, 12) FROM (
	    SELECT *, row_number() OVER (PARTITION BY item ORDER BY abs(score) DESC) AS r
	    FROM small_expected) e WHERE r = 1$$,
	'top_k 1: the largest |B_ij| of each item (SQL row_number over the hand values)');

SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 12)
	  FROM bundlerec._ease_weights('small', 'cust', 'item', regularization => 1, top_k => 10) WHERE score > 0$$,
	$$SELECT item, neighbor, round(score::numeric, 12)
	  FROM bundlerec.ease('small', 'cust', 'item', regularization => 1, top_k => 10)$$,
	'the positive signed weights are exactly ease()''s weights');

-- Generated fixture: 50 customers x 9 items; most buy the hub i1 and one of
-- eight alternatives i2..i9, which rarely meet, so some weights are negative.
CREATE TABLE gen AS
	SELECT 'u' || u AS cust, 'i' || i AS item
	FROM generate_series(1, 50) u, generate_series(1, 9) i
	WHERE (i = 1 AND u % 4 <> 0) OR i = 2 + u % 8 OR (u * i) % 13 = 0;
CREATE TABLE gram AS
	SELECT a.item AS i, b.item AS k, count(*)::float8 AS g
	FROM (SELECT DISTINCT cust, item FROM gen) a
	JOIN (SELECT DISTINCT cust, item FROM gen) b USING (cust)
	GROUP BY 1, 2;
CREATE TABLE bw AS
	SELECT item AS k, neighbor AS j, score AS b
	FROM bundlerec._ease_weights('gen', 'cust', 'item', regularization => 4, top_k => 100);

SELECT is((SELECT count(*) FROM bw), 72::bigint,
	'generated fixture, top_k 100: every off-diagonal weight of the 9 items is returned (72)');
-- sum_k (G + lambda I)_ik B_kj = G_ij for every i <> j (B_jj = 0)
SELECT is((SELECT max(abs(lhs - g)) < 1e-9 FROM (
	SELECT gi.i, gj.j, coalesce(gi.g, 0) AS g,
	       (SELECT coalesce(sum((coalesce(gr.g, 0) + CASE WHEN gr.i = gr.k THEN 4 ELSE 0 END) * b.b), 0)
	        FROM bw b LEFT JOIN gram gr ON gr.i = gi.i AND gr.k = b.k
	        WHERE b.j = gj.j) AS lhs
	FROM (SELECT DISTINCT item AS i FROM gen) i0
	CROSS JOIN (SELECT DISTINCT item AS j FROM gen) gj
	LEFT JOIN gram gi ON gi.i = i0.i AND gi.k = gj.j
	WHERE i0.i <> gj.j) r), true,
	'(X''X + 4 I) B = X''X off the diagonal, X''X counted in SQL, within 1e-9');

SELECT ok((SELECT count(*) FROM bw WHERE b < 0) >= 3,
	'generated fixture: negative weights are returned (at least 3)');
SELECT ok((SELECT count(*) FROM bundlerec._ease_weights('gen', 'cust', 'item', regularization => 4, top_k => 3)
	WHERE score < 0) >= 1, 'generated fixture, top_k 3: a negative weight is among the kept');
-- top_k 3 keeps, per item, weights no smaller in |B| than any it leaves out
SELECT is((SELECT count(*) FROM (
	SELECT k FROM bw
	LEFT JOIN bundlerec._ease_weights('gen', 'cust', 'item', regularization => 4, top_k => 3) t
	  ON t.item = bw.k AND t.neighbor = bw.j
	GROUP BY k
	HAVING count(t.item) = 3
	   AND min(abs(bw.b)) FILTER (WHERE t.item IS NOT NULL)
	       >= coalesce(max(abs(bw.b)) FILTER (WHERE t.item IS NULL), 0) - 1e-12
	   AND bool_and(t.item IS NULL OR abs(t.score - bw.b) < 1e-12)) ok), 9::bigint,
	'top_k 3: each of the 9 items keeps 3 weights, signed as in the full set, the largest |B_ij|');

-- 400 items one customer buys together: dense needs 1.28 MB, and the sparse
-- path it falls back to holds their 79,800 pairs at 12 bytes each
SET LOCAL bundlerec.memory_limit = '1MB';
CREATE TABLE wide AS SELECT 'u1' AS cust, 'w' || n AS item FROM generate_series(1, 400) n;
SELECT throws_ok($$SELECT count(*) FROM bundlerec._ease_weights('wide', 'cust', 'item')$$,
	'54000', NULL, 'a 400-item catalogue of 79,800 co-bought pairs under memory_limit 1MB is SQLSTATE 54000, dense and sparse alike');
RESET bundlerec.memory_limit;

SELECT * FROM finish();
ROLLBACK;
