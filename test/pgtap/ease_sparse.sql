-- ease_sparse.sql: bundlerec.sparse_ease() against dense EASE computed
-- without it: on the 6-customer x 4-item hand fixture of ease.sql (the
-- adjugate of X'X + I written out below) every signed weight, negative ones
-- included, when the neighbourhood covers the catalogue; on a generated
-- 81 x 15 fixture (binary and weighted) the positive weights equal those of
-- the dense inverse of bundlerec.ease(); a neighbourhood of 1 gives the
-- one-regressor ridge G_kj / (G_kk + lambda) by hand; top_k keeps the
-- largest magnitudes (SQL row_number()); the argument errors.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(12);

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

-- weights are kept as float4: compared to 6 decimals
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
