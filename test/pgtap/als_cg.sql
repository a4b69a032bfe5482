-- als_cg.sql: the conjugate-gradient solver of bundlerec.als_train (the
-- default, solver => 'cg').  With enough steps every row solve converges to
-- the exact solution, so CG with many steps must give what solver => 'exact'
-- gives and its customer vectors must solve their normal equations (checked
-- in plain SQL by lib/als_oracle.psql); with the default 3 steps the loss
-- must still fall every iteration and equal the objective of the stored
-- factors.  A fixture whose popular item has more customers than one block
-- of gathered vectors holds (factors 1024) covers the rows CG solves
-- exactly.
-- Bad solver arguments raise 22023 / 22004.  Seeds are fixed.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(21);

CREATE SCHEMA tap_als_cg;
SET LOCAL search_path = tap_als_cg, public;
SET LOCAL jit = off;
SET LOCAL work_mem = '64MB';

\ir lib/als_oracle.psql

-- Iterations whose loss is above the previous one's by more than slack.
CREATE FUNCTION loss_rises(run regclass, slack float8) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	EXECUTE format($q$
	SELECT count(*) FROM (SELECT loss, lag(loss) OVER (ORDER BY iteration) AS prev FROM %s) s
	WHERE NOT (loss <= prev * (1 + $1)) OR loss IS NULL$q$, run) USING slack INTO bad;
	RETURN bad;
END
$$;

-- Rows of two factor tables (key column named key) further apart than rel,
-- or present in one only.
CREATE FUNCTION factors_apart(a regclass, b regclass, key text, rel float8) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	EXECUTE format($q$
	SELECT count(*) FROM %1$s a FULL JOIN %2$s b USING (%3$I)
	WHERE a.factors IS NULL OR b.factors IS NULL OR rel_diff(a.factors, b.factors) > $1$q$, a, b, key)
	USING rel INTO bad;
	RETURN bad;
END
$$;

------------------------------------------------------------------------------
-- A generated fixture: 40 customers x 25 items, weights 1 to 4 with halves
------------------------------------------------------------------------------
SELECT setseed(0.57);
CREATE TABLE fx_lines (cust text, item text, w float8);
INSERT INTO fx_lines
	SELECT 'c' || lpad(u::text, 2, '0'), 'i' || lpad(i::text, 2, '0'),
	       CASE WHEN r2 < 0.15 THEN 0.5 ELSE 1 + floor(r2 * 4) END
	FROM (SELECT u, i, random() AS r1, random() AS r2
	      FROM generate_series(1, 40) u CROSS JOIN generate_series(1, 25) i ORDER BY u, i) g
	WHERE r1 < 0.25;
INSERT INTO fx_lines
	SELECT 'c' || lpad(u::text, 2, '0'), 'i' || lpad((1 + u % 25)::text, 2, '0'), 1
	FROM generate_series(1, 40) u;
CREATE TABLE ia_fx AS
	SELECT cust AS customer, item, sum(w) AS weight FROM fx_lines GROUP BY cust, item;

-- exact, CG with many steps, CG with the default steps, CG with one step
CREATE TABLE run_ex AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_ex', 'itf_ex', weight => 'w',
		factors => 5, regularization => 0.1, alpha => 10, iterations => 8, seed => 7, solver => 'exact');
CREATE TABLE run_many AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_many', 'itf_many', weight => 'w',
		factors => 5, regularization => 0.1, alpha => 10, iterations => 8, seed => 7, solver => 'cg', cg_steps => 25);
CREATE TABLE run_cg AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_cg', 'itf_cg', weight => 'w',
		factors => 5, regularization => 0.1, alpha => 10, iterations => 8, seed => 7);
CREATE TABLE run_one AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_one', 'itf_one', weight => 'w',
		factors => 5, regularization => 0.1, alpha => 10, iterations => 8, seed => 7, cg_steps => 1);

SELECT is((resid('cf_many', 'itf_many', 'ia_fx', 0.1, 10)).n, 40::bigint,
	'CG, 25 steps: normal equations checked for all 40 customers');
SELECT cmp_ok((resid('cf_many', 'itf_many', 'ia_fx', 0.1, 10)).max_rel, '<', 1e-5::float8,
	'CG, 25 steps: every customer vector solves its normal equations, relative residual < 1e-5');
SELECT is(factors_apart('cf_many', 'cf_ex', 'customer', 1e-4) + factors_apart('itf_many', 'itf_ex', 'item', 1e-4),
	0::bigint, 'CG with 25 steps gives the exact solver''s customer and item vectors within 1e-4 after 8 iterations');
SELECT ok(close_to((SELECT loss FROM run_many ORDER BY iteration DESC LIMIT 1),
	(SELECT loss FROM run_ex ORDER BY iteration DESC LIMIT 1), 1e-6, (SELECT loss FROM run_ex ORDER BY iteration DESC LIMIT 1)),
	'CG with 25 steps ends at the exact solver''s loss (1e-6)');
SELECT cmp_ok((resid('cf_one', 'itf_one', 'ia_fx', 0.1, 10)).max_rel, '>',
	10 * (resid('cf_many', 'itf_many', 'ia_fx', 0.1, 10)).max_rel,
	'oracle check: one CG step per row leaves a residual over 10 times that of 25 steps');
SELECT diag('max relative residuals (1, 3, 25 steps, exact): '
	|| (resid('cf_one', 'itf_one', 'ia_fx', 0.1, 10)).max_rel || ', '
	|| (resid('cf_cg', 'itf_cg', 'ia_fx', 0.1, 10)).max_rel || ', '
	|| (resid('cf_many', 'itf_many', 'ia_fx', 0.1, 10)).max_rel || ', '
	|| (resid('cf_ex', 'itf_ex', 'ia_fx', 0.1, 10)).max_rel);

-- Loss: falls every iteration and is the objective of the stored factors.
SELECT is(loss_rises('run_cg', 1e-9) + loss_rises('run_one', 1e-9) + loss_rises('run_many', 1e-9), 0::bigint,
	'CG (1, 3 and 25 steps): the loss never rises from one iteration to the next');
SELECT ok(close_to((SELECT loss FROM run_cg ORDER BY iteration DESC LIMIT 1),
	loss_dense('cf_cg', 'itf_cg', 'ia_fx', 0.1, 10), 1e-6, loss_dense('cf_cg', 'itf_cg', 'ia_fx', 0.1, 10)),
	'CG, 3 steps: the last loss is the objective of the stored factors, summed over every cell (1e-6)');
SELECT ok(close_to((SELECT loss FROM run_one ORDER BY iteration DESC LIMIT 1),
	loss_dense('cf_one', 'itf_one', 'ia_fx', 0.1, 10), 1e-6, loss_dense('cf_one', 'itf_one', 'ia_fx', 0.1, 10)),
	'CG, 1 step: the last loss is the dense objective (1e-6)');
SELECT ok((SELECT l1 > l3 AND l3 > l25 AND l25 >= lex * (1 - 1e-9)
           FROM (SELECT (SELECT loss FROM run_one ORDER BY iteration DESC LIMIT 1) l1,
                        (SELECT loss FROM run_cg ORDER BY iteration DESC LIMIT 1) l3,
                        (SELECT loss FROM run_many ORDER BY iteration DESC LIMIT 1) l25,
                        (SELECT loss FROM run_ex ORDER BY iteration DESC LIMIT 1) lex) t),
	'after 8 iterations, more CG steps end at a lower loss, down to the exact solver''s (1, 3, 25 steps)');
SELECT diag('last losses (1, 3, 25 steps, exact): '
	|| (SELECT string_agg(l::text, ', ') FROM (SELECT (SELECT loss FROM run_one ORDER BY iteration DESC LIMIT 1) l
	   UNION ALL SELECT (SELECT loss FROM run_cg ORDER BY iteration DESC LIMIT 1)
	   UNION ALL SELECT (SELECT loss FROM run_many ORDER BY iteration DESC LIMIT 1)
	   UNION ALL SELECT (SELECT loss FROM run_ex ORDER BY iteration DESC LIMIT 1)) t));

-- Determinism.
CREATE TABLE run_cg2 AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_cg2', 'itf_cg2', weight => 'w',
		factors => 5, regularization => 0.1, alpha => 10, iterations => 8, seed => 7, solver => 'cg', cg_steps => 3);
SELECT is(
	(SELECT count(*) FROM cf_cg FULL JOIN cf_cg2 USING (customer) WHERE cf_cg.factors IS DISTINCT FROM cf_cg2.factors)
	+ (SELECT count(*) FROM itf_cg FULL JOIN itf_cg2 USING (item) WHERE itf_cg.factors IS DISTINCT FROM itf_cg2.factors),
	0::bigint, 'CG: the same seed gives bit-identical factor tables (and the default is cg with 3 steps)');
SELECT is((SELECT array_agg(loss ORDER BY iteration) FROM run_cg2), (SELECT array_agg(loss ORDER BY iteration) FROM run_cg),
	'CG: the same seed gives identical losses');

------------------------------------------------------------------------------
-- A popular item with more customers than a block of gathered vectors holds
-- (factors 1024: 512 vectors), which the CG solver solves exactly; a high
-- regularization keeps the other systems well conditioned so 12 steps
-- converge.
------------------------------------------------------------------------------
CREATE TABLE hot_lines AS
	SELECT 'c' || lpad(u::text, 3, '0') AS cust, 'hot' AS item, 1 + u % 3 AS w FROM generate_series(1, 530) u
	UNION ALL
	SELECT 'c' || lpad(u::text, 3, '0'), 'i' || (u % 9), 1 FROM generate_series(1, 530) u
	UNION ALL
	SELECT 'c' || lpad(u::text, 3, '0'), 'j' || (u % 7), 2 FROM generate_series(1, 530, 4) u;
SELECT is((SELECT count(*) FROM hot_lines WHERE item = 'hot'), 530::bigint,
	'fixture: 530 customers buy the popular item');
CREATE TABLE run_hot_ex AS
	SELECT * FROM bundlerec.als_train('hot_lines', 'cust', 'item', 'cf_hot_ex', 'itf_hot_ex', weight => 'w',
		factors => 1024, regularization => 2, alpha => 1, iterations => 1, seed => 3, solver => 'exact');
CREATE TABLE run_hot_cg AS
	SELECT * FROM bundlerec.als_train('hot_lines', 'cust', 'item', 'cf_hot_cg', 'itf_hot_cg', weight => 'w',
		factors => 1024, regularization => 2, alpha => 1, iterations => 1, seed => 3, cg_steps => 12);
SELECT is(factors_apart('itf_hot_cg', 'itf_hot_ex', 'item', 1e-4), 0::bigint,
	'factors 1024: every item vector (the popular one solved apart) equals the exact solve within 1e-4');
SELECT is(factors_apart('cf_hot_cg', 'cf_hot_ex', 'customer', 1e-4), 0::bigint,
	'factors 1024: every one of the 530 customer vectors (three blocks) equals the exact solve within 1e-4');
SELECT cmp_ok((SELECT min(sqrt(s)) FROM (SELECT sum(v::float8 ^ 2) s FROM itf_hot_ex, unnest(factors) v GROUP BY item) t),
	'>', 1e-3::float8, 'oracle check: the item vectors compared are not near zero');

------------------------------------------------------------------------------
-- Bad arguments
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'x_c', 'x_i', solver => 'fast')$$,
	'22023', 'solver must be ''cg'' or ''exact'', not "fast"', 'solver => ''fast'' raises 22023 naming the value');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'x_c', 'x_i', solver => '')$$,
	'22023', NULL, 'solver => '''' raises 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'x_c', 'x_i', cg_steps => 0)$$,
	'22023', 'cg_steps must be between 1 and 1000, not 0', 'cg_steps => 0 raises 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'x_c', 'x_i', solver => 'exact', cg_steps => 1001)$$,
	'22023', NULL, 'cg_steps => 1001 raises 22023, whatever the solver');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'x_c', 'x_i', solver => NULL)$$,
	'22004', 'solver and cg_steps must not be NULL', 'solver => NULL raises 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'x_c', 'x_i', cg_steps => NULL)$$,
	'22004', NULL, 'cg_steps => NULL raises 22004');

SELECT * FROM finish();
ROLLBACK;
