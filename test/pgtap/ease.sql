-- ease.sql: bundlerec.ease() against the closed form B = I - P diag(1/diag(P)),
-- P = (X'X + lambda I)^-1, computed without bundlerec: on a 6-customer x
-- 4-item binary fixture by hand in exact fractions (the adjugate is written
-- out in the comment below), and on a generated 60 x 12 fixture (binary and
-- weighted) by a Gauss-Jordan elimination with partial pivoting written in
-- plpgsql here, itself checked against the hand-computed inverse.  Also: no
-- row with item = neighbor, only positive weights kept even when top_k covers
-- the catalogue, top_k keeps the largest weights
-- (SQL row_number()), min_count, the common column, and the errors (memory
-- limit 54000, negative regularization 22023).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(29);

CREATE SCHEMA tap_ease;
SET LOCAL search_path = tap_ease, public;
SET LOCAL jit = off;

CREATE FUNCTION close_to(have float8, want float8, rel float8, scale float8)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN have IS NULL OR want IS NULL THEN false
		ELSE abs(have - want) <= rel * scale END
$$;

------------------------------------------------------------------------------
-- Hand-computed fixture
------------------------------------------------------------------------------
-- customers and their items (c1 has a repeated A line; binary X counts it once):
--   c1: A B    c2: A C    c3: B C D    c4: A B C    c5: D    c6: A B D
-- X'X: diag = customers per item A 4, B 4, C 3, D 3; off-diagonal = customers
-- with both: AB 3 (c1 c4 c6), AC 2 (c2 c4), AD 1 (c6), BC 2 (c3 c4),
-- BD 2 (c3 c6), CD 1 (c3).  With lambda = 1:
--   G = X'X + I = | 5 3 2 1 |     det G = 152,  adj G = |  51 -27 -13   4 |
--                 | 3 5 2 2 |                           | -27  59 -11 -20 |
--                 | 2 2 4 1 |                           | -13 -11  51  -4 |
--                 | 1 2 1 4 |                           |   4 -20  -4  48 |
-- P = adj G / 152, so B_ij = -P_ij / P_jj = -adj_ij / adj_jj:
--   A: B 27/59   C 13/51   D -4/48 = -1/12
--   B: A 27/51 = 9/17    C 11/51   D 20/48 = 5/12
--   C: A 13/51   B 11/59   D 4/48 = 1/12
--   D: A -4/51   B 20/59   C 4/51
-- (G adj G = 152 I can be checked row by row, e.g. row A, column A:
--  5*51 - 3*27 - 2*13 + 1*4 = 152; row A, column B: -5*27 + 3*59 - 2*11 - 20 = 0.)
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

-- The weights themselves: every returned row has its hand value and common
-- count, and every positive weight is returned.  Whether the two negative
-- weights are returned is the separate check after it.
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 12), common
	  FROM bundlerec.ease('small', 'cust', 'item', regularization => 1, top_k => 10)$$,
	$$SELECT item, neighbor, round(score, 12), common FROM small_expected e
	  WHERE score > 0 OR (item, neighbor) IN (SELECT item, neighbor FROM bundlerec.ease('small', 'cust', 'item',
	                                           regularization => 1, top_k => 10))$$,
	'binary, lambda 1, top_k 10: every B_ij = -adj_ij/adj_jj of the hand-inverted X''X + I, with common customers');
-- Only positive weights recommend anything, so the two negative weights
-- A -> D = -1/12 and D -> A = -4/51 are left out even with top_k >= items:
-- the rows are exactly the ten positive hand values.
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 12) FROM bundlerec.ease('small', 'cust', 'item', regularization => 1, top_k => 10)$$,
	$$SELECT item, neighbor, round(score, 12) FROM small_expected WHERE score > 0$$,
	'top_k 10 >= items: exactly the ten positive hand weights; A->D = -1/12 and D->A = -4/51 are left out');
SELECT is(
	(SELECT count(*) FROM bundlerec.ease('small', 'cust', 'item', regularization => 1, top_k => 10) WHERE item = neighbor),
	0::bigint, 'no row has item = neighbor (diag(B) = 0 is not returned)');
-- top_k 2 and 1, by hand from the table above:
--   2: A -> B, C   B -> A, D   C -> A, B   D -> B, C     1: A -> B  B -> A  C -> A  D -> B
SELECT set_eq(
	$$SELECT item, neighbor FROM bundlerec.ease('small', 'cust', 'item', regularization => 1, top_k => 2)$$,
	$$VALUES ('A', 'B'), ('A', 'C'), ('B', 'A'), ('B', 'D'), ('C', 'A'), ('C', 'B'), ('D', 'B'), ('D', 'C')$$,
	'top_k 2 keeps the two largest weights of each item (A keeps C 13/51 over D -1/12)');
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 12)
	  FROM bundlerec.ease('small', 'cust', 'item', regularization => 1, top_k => 1)$$,
	$$VALUES ('A', 'B', round(27 / 59.0, 12)), ('B', 'A', round(9 / 17.0, 12)),
	         ('C', 'A', round(13 / 51.0, 12)), ('D', 'B', round(20 / 59.0, 12))$$,
	'top_k 1 keeps the single largest weight, unchanged by the pruning');
-- min_count 4 keeps A and B only (4 customers each): G = |5 3; 3 5|,
-- P = |5 -3; -3 5| / 16, B_AB = B_BA = 3/5; common = 3.
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 12), common
	  FROM bundlerec.ease('small', 'cust', 'item', regularization => 1, min_count => 4)$$,
	$$VALUES ('A', 'B', 0.6, 3::bigint), ('B', 'A', 0.6, 3)$$,
	'min_count 4 drops C and D before inverting: B_AB = B_BA = 3/5 from the 2 x 2 system');

------------------------------------------------------------------------------
-- Gauss-Jordan elimination in plpgsql (the oracle for larger fixtures)
------------------------------------------------------------------------------
CREATE FUNCTION gj_inverse(a float8[]) RETURNS float8[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	n int := array_length(a, 1);
	m float8[];
	r float8[];
	p int;
	piv float8;
	f float8;
	tmp float8;
BEGIN
	m := array_fill(0::float8, ARRAY[n, 2 * n]);
	FOR i IN 1..n LOOP
		FOR j IN 1..n LOOP
			m[i][j] := a[i][j];
		END LOOP;
		m[i][n + i] := 1;
	END LOOP;
	FOR c IN 1..n LOOP
		p := c;
		FOR i IN c + 1..n LOOP
			IF abs(m[i][c]) > abs(m[p][c]) THEN
				p := i;
			END IF;
		END LOOP;
		IF p <> c THEN
			FOR j IN 1..2 * n LOOP
				tmp := m[c][j]; m[c][j] := m[p][j]; m[p][j] := tmp;
			END LOOP;
		END IF;
		piv := m[c][c];
		FOR j IN 1..2 * n LOOP
			m[c][j] := m[c][j] / piv;
		END LOOP;
		FOR i IN 1..n LOOP
			IF i <> c AND m[i][c] <> 0 THEN
				f := m[i][c];
				FOR j IN 1..2 * n LOOP
					m[i][j] := m[i][j] - f * m[c][j];
				END LOOP;
			END IF;
		END LOOP;
	END LOOP;
	r := array_fill(0::float8, ARRAY[n, n]);
	FOR i IN 1..n LOOP
		FOR j IN 1..n LOOP
			r[i][j] := m[i][n + j];
		END LOOP;
	END LOOP;
	RETURN r;
END
$$;

SELECT is(
	(SELECT array_agg(round((inv[i][j] * 152)::numeric, 9)::text ORDER BY i, j)
	 FROM (SELECT gj_inverse('{{5,3,2,1},{3,5,2,2},{2,2,4,1},{1,2,1,4}}') AS inv) s,
	      generate_series(1, 4) i, generate_series(1, 4) j),
	ARRAY['51.000000000', '-27.000000000', '-13.000000000', '4.000000000',
	      '-27.000000000', '59.000000000', '-11.000000000', '-20.000000000',
	      '-13.000000000', '-11.000000000', '51.000000000', '-4.000000000',
	      '4.000000000', '-20.000000000', '-4.000000000', '48.000000000'],
	'oracle check: the plpgsql Gauss-Jordan inverse of the hand fixture is adj G / 152');

-- The EASE weights of a source by that elimination: items numbered in text
-- order, X from summed weights (or 1 per bought item when binary), G in
-- float8, B_ij = -P_ij / P_jj for i <> j; items with fewer than min_count
-- customers left out first.
CREATE FUNCTION bf_ease(src text, lambda float8, binary_x boolean, min_count int DEFAULT 1)
RETURNS TABLE (item text, neighbor text, score float8, common bigint) LANGUAGE plpgsql AS $$
DECLARE
	g float8[];
	p float8[];
	n int;
	gi int;
	gj int;
	gv float8;
BEGIN
	EXECUTE format($q$CREATE TEMP TABLE bf_x ON COMMIT DROP AS
		SELECT cust::text AS cust, item::text AS item,
		       CASE WHEN $1 THEN 1 ELSE sum(w) END AS x FROM %s GROUP BY cust, item$q$, src)
		USING binary_x;
	CREATE TEMP TABLE bf_items ON COMMIT DROP AS
		SELECT i.item, row_number() OVER (ORDER BY i.item COLLATE "C")::int AS id
		FROM (SELECT bf_x.item FROM bf_x GROUP BY bf_x.item HAVING count(*) >= min_count) i;
	SELECT count(*) INTO n FROM bf_items;
	g := array_fill(0::float8, ARRAY[n, n]);
	FOR gi, gj, gv IN
		SELECT a.id, b.id, sum(xa.x * xb.x)
		FROM bf_x xa JOIN bf_items a ON a.item = xa.item
		JOIN bf_x xb ON xb.cust = xa.cust JOIN bf_items b ON b.item = xb.item
		GROUP BY a.id, b.id
	LOOP
		g[gi][gj] := gv;
	END LOOP;
	FOR i IN 1..n LOOP
		g[i][i] := g[i][i] + lambda;
	END LOOP;
	p := gj_inverse(g);
	RETURN QUERY
		SELECT a.item, b.item, -p[a.id][b.id] / p[b.id][b.id],
		       CASE WHEN binary_x THEN (SELECT count(*) FROM bf_x xa JOIN bf_x xb USING (cust)
		                                WHERE xa.item = a.item AND xb.item = b.item) END
		FROM bf_items a JOIN bf_items b ON a.id <> b.id;
	DROP TABLE bf_x;
	DROP TABLE bf_items;
END
$$;

-- Rows of an ease() call that differ from the oracle: missing, extra, a
-- score off by more than 1e-9 of the largest |B|, or another common.  A
-- missing weight <= 0 counts only when negatives is true (ease() keeps only
-- positive weights, so the checks below pass false).
CREATE FUNCTION ease_diff(got_q text, src text, lambda float8, binary_x boolean, min_count int DEFAULT 1,
                          negatives boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	CREATE TEMP TABLE want ON COMMIT DROP AS SELECT * FROM bf_ease(src, lambda, binary_x, min_count);
	EXECUTE format($q$
		SELECT count(*) FROM (%s) g(item, neighbor, score, common) FULL JOIN want w USING (item, neighbor)
		WHERE (g.item IS NULL AND (w.score > 0 OR $1)) OR w.item IS NULL
		   OR (g.item IS NOT NULL AND NOT close_to(g.score, w.score, 1e-9, (SELECT max(abs(score)) FROM want)))
		   OR (g.item IS NOT NULL AND g.common IS DISTINCT FROM w.common)$q$, got_q) USING negatives INTO bad;
	DROP TABLE want;
	RETURN bad;
END
$$;

SELECT is(ease_diff($$SELECT item, neighbor, score, common FROM bundlerec.ease('small', 'cust', 'item', regularization => 1)$$,
	'small', 1, true), 0::bigint,
	'oracle check: the elimination reproduces the hand fixture through ease_diff (0 differing rows)');
SELECT is(ease_diff($$SELECT item, neighbor, round(score, 12)::float8, common FROM small_expected$$, 'small', 1, true, 1, true),
	0::bigint, 'oracle check: the elimination gives all 12 hand-computed weights, negative ones included');

------------------------------------------------------------------------------
-- Generated fixture: 60 customers x 12 items, weights 1 to 3
------------------------------------------------------------------------------
SELECT setseed(0.77);
CREATE TABLE gen AS
	SELECT 'u' || lpad(u::text, 2, '0') AS cust, 'item' || lpad(i::text, 2, '0') AS item,
	       (1 + floor(r2 * 3))::float8 AS w
	FROM (SELECT u, i, random() AS r1, random() AS r2
	      FROM generate_series(1, 60) u CROSS JOIN generate_series(1, 12) i ORDER BY u, i) s
	WHERE r1 < 0.2 + 0.05 * (i % 4);
-- one repeated line (binary: once; weighted: summed)
INSERT INTO gen SELECT cust, item, 2 FROM gen WHERE cust = 'u01';
SELECT is((SELECT count(DISTINCT item) FROM gen), 12::bigint, 'fixture: all 12 items are bought');

SELECT is(ease_diff($$SELECT item, neighbor, score, common FROM bundlerec.ease('gen', 'cust', 'item', regularization => 2.5, top_k => 20)$$,
	'gen', 2.5, true), 0::bigint,
	'binary, lambda 2.5: every returned B_ij and common count equals the Gauss-Jordan oracle (1e-9), every positive one returned');
SELECT is((SELECT count(*) FROM bundlerec.ease('gen', 'cust', 'item', regularization => 2.5, top_k => 20) WHERE score <= 0),
	0::bigint,
	'binary, lambda 2.5, top_k 20 >= items: no weight <= 0 is returned (only positive weights are kept)');
SELECT is(ease_diff($$SELECT item, neighbor, score, common FROM bundlerec.ease('gen', 'cust', 'item', regularization => 100)$$,
	'gen', 100, true), 0::bigint,
	'binary, default-sized lambda 100 and default top_k 100: every returned B_ij equals the oracle');
SELECT is(ease_diff($$SELECT item, neighbor, score, common FROM bundlerec.ease('gen', 'cust', 'item', 'w', regularization => 7, top_k => 11)$$,
	'gen', 7, false), 0::bigint,
	'weighted X (summed weights, repeated lines added), lambda 7: B_ij equal the oracle, common NULL');
SELECT is(ease_diff($$SELECT item, neighbor, score, common FROM bundlerec.ease('gen', 'cust', 'item', regularization => 0.5, min_count => 15)$$,
	'gen', 0.5, true, 15), 0::bigint,
	'min_count 15: the items bought by fewer than 15 customers are left out before inverting');
SELECT cmp_ok((SELECT count(DISTINCT item) FROM bundlerec.ease('gen', 'cust', 'item', regularization => 0.5, min_count => 15)),
	'<', 12::bigint, 'min_count 15 does leave out some items here');

-- top_k pruning against SQL ranking of the oracle's weights.
CREATE TABLE gen_want AS SELECT * FROM bf_ease('gen', 2.5, true);
SELECT set_eq(
	$$SELECT item, neighbor FROM bundlerec.ease('gen', 'cust', 'item', regularization => 2.5, top_k => 3)$$,
	$$SELECT item, neighbor FROM (SELECT item, neighbor,
	      row_number() OVER (PARTITION BY item ORDER BY score DESC, neighbor) AS rn FROM gen_want) s WHERE rn <= 3$$,
	'top_k 3: each item keeps the neighbours with its 3 largest B_ij');
SELECT is(
	(SELECT count(*) FROM (SELECT item, min(score) AS lo FROM gen_want w
	                       WHERE (item, neighbor) IN (SELECT item, neighbor FROM bundlerec.ease('gen', 'cust', 'item',
	                                                  regularization => 2.5, top_k => 3))
	                       GROUP BY item) k
	 JOIN gen_want w USING (item)
	 WHERE w.score > k.lo AND (w.item, w.neighbor) NOT IN (SELECT item, neighbor FROM bundlerec.ease('gen', 'cust', 'item',
	                                                  regularization => 2.5, top_k => 3))),
	0::bigint, 'top_k 3: no dropped neighbour has a larger weight than a kept one');
SELECT is((SELECT count(*) FROM bundlerec.ease('gen', 'cust', 'item', regularization => 2.5, top_k => 3)),
	36::bigint, 'top_k 3: exactly 3 rows for each of the 12 items');
SELECT cmp_ok((SELECT count(*) FROM gen_want WHERE score < 0), '>', 0::bigint,
	'the generated fixture has negative weights (pruning has something to drop)');

------------------------------------------------------------------------------
-- Integer keys and views
------------------------------------------------------------------------------
CREATE VIEW small_int AS SELECT ascii(item) - 64 AS item_no, cust FROM small;
SELECT set_eq(
	$$SELECT item, neighbor, round(score::numeric, 12) FROM bundlerec.ease('small_int', 'cust', 'item_no', regularization => 1)
	  WHERE score > 0$$,
	$$SELECT (ascii(item) - 64)::text AS item, (ascii(neighbor) - 64)::text AS neighbor, round(score, 12) FROM small_expected
	  WHERE score > 0$$,
	'a view with integer item numbers gives the hand-computed (positive) weights with the numbers as text');

------------------------------------------------------------------------------
-- Errors
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.ease('small', 'cust', 'item', regularization => -1)$$,
	'22023', NULL, 'regularization -1 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.ease('small', 'cust', 'item', top_k => 0)$$,
	'22023', NULL, 'top_k 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.ease('small', 'cust', 'item', min_count => 0)$$,
	'22023', NULL, 'min_count 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.ease('small', 'customer', 'item')$$,
	'42703', NULL, 'a missing column is SQLSTATE 42703');
SELECT throws_ok($$SELECT * FROM bundlerec.ease(NULL, 'cust', 'item')$$,
	'22004', NULL, 'a NULL source is SQLSTATE 22004');

-- A 600-item catalogue: the dense 600 x 600 float8 Gram matrix alone is 2.9 MB.
CREATE TABLE wide AS
	SELECT 'u' || u AS cust, 'p' || lpad(((u + d) % 600)::text, 3, '0') AS item
	FROM generate_series(0, 599) u, generate_series(0, 2) d;
SELECT is((SELECT count(DISTINCT item) FROM wide), 600::bigint, 'fixture: 600 items');
SET LOCAL bundlerec.memory_limit = '1MB';
SELECT throws_ok($$SELECT * FROM bundlerec.ease('wide', 'cust', 'item', regularization => 10)$$,
	'54000', NULL, 'a 600-item catalogue under memory_limit 1MB is SQLSTATE 54000');
RESET bundlerec.memory_limit;
SELECT is((SELECT count(*) FROM bundlerec.ease('wide', 'cust', 'item', regularization => 10, top_k => 5)),
	3000::bigint, 'the same catalogue under the default limit: 5 neighbours for each of 600 items');

SELECT * FROM finish();
ROLLBACK;
