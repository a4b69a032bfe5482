-- hardening_ease_blocks.sql: bundlerec.ease() inverts X'X + lambda I in
-- blocks of 256 items (so a cancel takes effect between blocks).  The
-- suites ease.sql and rank_bundles.sql check it on catalogues smaller than
-- one block; here a 600-item catalogue (blocks of 256, 256 and 88) is
-- checked against a closed form computed in SQL, and statement_timeout is
-- shown to cancel a large ease() call with SQLSTATE 57014.
--
-- The fixture: item i (0..599) is bought by 1 + i % 5 customers alone, by
-- 2 customers together with its partner p(i) = (i + 300) % 600 (in another
-- block), and by one customer who bought everything.  So
--   G = X'X + lambda I = D + 1 1',
-- D block-diagonal over the partner pairs: D_ii = 2 + s_i + lambda,
-- D_i,p(i) = 2.  Sherman-Morrison gives P = G^-1 = Dinv - v v' / (1 + 1'v)
-- with v = Dinv 1, and for the pair {i, p}, with a = D_ii, b = D_pp,
-- det = a b - 4: Dinv_ii = b / det, Dinv_ip = -2 / det, v_i = (b - 2) / det.
-- Every B_ij = -P_ij / P_jj (i <> j) is positive, so with top_k = 599 the
-- function returns all 600 x 599 weights.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(5);

CREATE SCHEMA tap_ease_blocks;
SET LOCAL search_path = tap_ease_blocks, public;
SET LOCAL jit = off;

CREATE TABLE lines (customer text, item text);
-- solo customers
INSERT INTO lines
SELECT 's' || i || '_' || k, 'i' || lpad(i::text, 3, '0')
FROM generate_series(0, 599) i, generate_series(0, 4) k WHERE k <= i % 5;
-- two customers per partner pair
INSERT INTO lines
SELECT 'p' || i || '_' || k, 'i' || lpad(x::text, 3, '0')
FROM generate_series(0, 299) i, generate_series(0, 1) k, unnest(ARRAY[i, i + 300]) x;
-- one customer of everything
INSERT INTO lines SELECT 'all', 'i' || lpad(i::text, 3, '0') FROM generate_series(0, 599) i;

CREATE TABLE d AS
SELECT i, (i + 300) % 600 AS p, 2 + 1 + i % 5 + 10.0::float8 AS a, 2 + 1 + ((i + 300) % 600) % 5 + 10.0::float8 AS b
FROM generate_series(0, 599) i;
CREATE TABLE dv AS
SELECT i, p, b / (a * b - 4) AS dii, -2 / (a * b - 4) AS dip, (b - 2) / (a * b - 4) AS v FROM d;
CREATE TABLE want AS
WITH s AS (SELECT 1 + sum(v) AS s FROM dv),
pm AS (
	SELECT x.i, y.i AS j,
	       CASE WHEN x.i = y.i THEN x.dii WHEN y.i = x.p THEN x.dip ELSE 0 END - x.v * y.v / s.s AS pij
	FROM dv x, dv y, s
)
SELECT 'i' || lpad(pm.i::text, 3, '0') AS item, 'i' || lpad(pm.j::text, 3, '0') AS neighbor,
       -pm.pij / pj.pij AS score
FROM pm JOIN pm pj ON pj.i = pm.j AND pj.j = pm.j
WHERE pm.i <> pm.j;

CREATE TABLE got AS SELECT * FROM bundlerec.ease('lines', 'customer', 'item', regularization => 10, top_k => 599);

SELECT is((SELECT count(*) FROM got), 359400::bigint, 'ease over 600 items in 3 blocks returns all 600 x 599 weights');
SELECT is((SELECT count(*) FROM got JOIN want USING (item, neighbor)), 359400::bigint,
	'every returned (item, neighbor) is one of the closed form''s');
SELECT ok((SELECT max(abs(g.score - w.score) / abs(w.score)) < 1e-9 FROM got g JOIN want w USING (item, neighbor)),
	'every weight equals the Sherman-Morrison closed form within 1e-9 relative');
SELECT ok((SELECT bool_and(w.score > 0) FROM want w), 'the closed form''s weights are all positive (the fixture is as described)');

-- statement_timeout cancels a 3000-item ease() (57014); QUERY_CANCELED is
-- caught by name, as WHEN OTHERS does not catch it
CREATE TABLE big AS
SELECT c AS customer, (c * 7 + k * 13) % 3000 AS item FROM generate_series(0, 5999) c, generate_series(0, 4) k;
CREATE FUNCTION ease_under_timeout() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM count(*) FROM bundlerec.ease('big', 'customer', 'item', top_k => 5);
	RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
	RETURN SQLSTATE;
END
$$;
SET LOCAL statement_timeout = '10ms';
SELECT ease_under_timeout() AS cancel_state \gset
SET LOCAL statement_timeout = 0;
SELECT is(:'cancel_state'::text, '57014'::text, 'statement_timeout cancels a 3000-item ease() with SQLSTATE 57014');

SELECT * FROM finish();
ROLLBACK;
