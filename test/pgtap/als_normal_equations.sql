-- als_normal_equations.sql: bundlerec.als_train, als_fold_in and
-- als_recommend checked against linear algebra done in plain SQL.  After
-- training every customer vector x_u must solve its normal equations
--   (Y'Y + lambda I + sum_{i in u} alpha r_ui y_i y_i') x_u = sum_{i in u} (1 + alpha r_ui) y_i
-- so Y'Y, A x_u and b_u are rebuilt here from the factor tables (unnest WITH
-- ORDINALITY, GROUP BY) and the relative residual ||A x - b|| / ||b|| is
-- checked for every customer.  The loss is recomputed from its definition:
-- densely over every (customer, item) cell on a small generated fixture, and
-- through the identity sum_{u,i} (x_u.y_i)^2 = sum_{p,q} (X'X)_pq (Y'Y)_pq
-- (itself checked against the dense sum) on the shipped sample.  Fold-in is
-- checked against the trained vectors (same system), top-k against a SQL
-- ranking of dot products.  The interaction weights used by the checks are
-- aggregated here in SQL from the lines, never taken from bundlerec (on the
-- sample, bundlerec.interactions() is trained on and first compared with
-- that SQL).  Seeds are fixed.  Every training here uses solver => 'exact'
-- (the exact row solves; the default CG solver is checked in als_cg.sql).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(51);

CREATE SCHEMA tap_als;
SET LOCAL search_path = tap_als, public;
SET LOCAL jit = off;
SET LOCAL work_mem = '64MB';

\ir lib/als_oracle.psql

-- Iterations whose loss is above the previous one's (1e-12 relative slack
-- for the last bits of a converged sum).
CREATE FUNCTION loss_increases(run regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	EXECUTE format($q$
	SELECT count(*) FROM (SELECT loss, lag(loss) OVER (ORDER BY iteration) AS prev FROM %s) s
	WHERE NOT (loss <= prev * (1 + 1e-12)) OR loss IS NULL$q$, run) INTO bad;
	RETURN bad;
END
$$;

-- Rows of a factor table whose array is not one-dimensional of length k
-- without NULL elements.
CREATE FUNCTION bad_shape(t regclass, k int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	EXECUTE format($q$
	SELECT count(*) FROM %s
	WHERE factors IS NULL OR array_ndims(factors) <> 1 OR array_length(factors, 1) <> $1
	   OR array_position(factors, NULL) IS NOT NULL
	   OR EXISTS (SELECT 1 FROM unnest(factors) v WHERE v IN ('NaN', 'Infinity', '-Infinity'))$q$, t)
	USING k INTO bad;
	RETURN bad;
END
$$;

-- Brute-force top k of every customer of cf: dot products with every item of
-- itf in float8, best first, ties by item text, leaving out the customer's own
-- items (from ia) when own is true.
CREATE FUNCTION bf_top(cf regclass, itf regclass, ia regclass, k int, own boolean)
RETURNS TABLE (customer text, items text[], scores float8[]) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
	WITH d AS (SELECT x.customer::text AS customer, y.item::text AS item,
	                  (SELECT sum(a::float8 * b::float8) FROM unnest(x.factors, y.factors) t(a, b)) AS s
	           FROM %1$s x CROSS JOIN %2$s y
	           WHERE NOT ($2 AND EXISTS (SELECT 1 FROM %3$s o
	                                     WHERE o.customer::text = x.customer::text AND o.item::text = y.item::text))),
	r AS (SELECT d.*, row_number() OVER (PARTITION BY d.customer ORDER BY d.s DESC, d.item COLLATE "C") AS rn FROM d)
	SELECT r.customer, array_agg(r.item ORDER BY rn), array_agg(r.s ORDER BY rn)
	FROM r WHERE rn <= $1 GROUP BY r.customer$q$, cf, itf, ia)
	USING k, own;
END
$$;

-- What als_recommend returns for every customer of cf.
CREATE FUNCTION got_top(cf regclass, itf regclass, ia regclass, k int, own boolean)
RETURNS TABLE (customer text, items text[], scores float8[], affinities float8[]) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
	SELECT x.customer::text, array_agg(r.item ORDER BY r.ord), array_agg(r.score::float8 ORDER BY r.ord),
	       array_agg(r.affinity::float8 ORDER BY r.ord)
	FROM %1$s x
	CROSS JOIN LATERAL bundlerec.als_recommend(x.factors, %2$L, $1,
		CASE WHEN $2 THEN (SELECT array_agg(o.item::text) FROM %3$s o WHERE o.customer::text = x.customer::text) END)
		WITH ORDINALITY AS r(item, score, affinity, ord)
	GROUP BY x.customer$q$, cf, itf::text, ia)
	USING k, own;
END
$$;

-- Customers whose returned top k differs from the brute force: other items
-- or order, a score off by more than 1e-5 of the top score, an affinity
-- that is not the sigmoid of the brute-force score within 1e-6.
CREATE FUNCTION top_mismatch(cf regclass, itf regclass, ia regclass, k int, own boolean)
RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*)
	FROM bf_top(cf, itf, ia, k, own) b FULL JOIN got_top(cf, itf, ia, k, own) g USING (customer)
	WHERE g.items IS DISTINCT FROM b.items
	   OR EXISTS (SELECT 1 FROM unnest(g.scores, b.scores, g.affinities) t(gs, bs, ga)
	              WHERE NOT close_to(gs, bs, 1e-5, greatest(abs(b.scores[1]), 1))
	                 OR NOT close_to(ga, 1 / (1 + exp(-bs)), 1e-6, 1))
$$;

------------------------------------------------------------------------------
-- (a) A generated fixture: 40 customers x 25 items, weights 1 to 4 with
-- fractions, duplicate lines, and lines that cancel out
------------------------------------------------------------------------------
SELECT setseed(0.31);
CREATE TABLE fx_lines (cust text, item text, w float8);
-- about a quarter of the cells, weights 1..4 with an occasional half
INSERT INTO fx_lines
	SELECT 'c' || lpad(u::text, 2, '0'), 'i' || lpad(i::text, 2, '0'),
	       CASE WHEN r2 < 0.15 THEN 0.5 ELSE 1 + floor(r2 * 4) END
	FROM (SELECT u, i, random() AS r1, random() AS r2
	      FROM generate_series(1, 40) u CROSS JOIN generate_series(1, 25) i ORDER BY u, i) g
	WHERE r1 < 0.25;
-- every customer buys at least its "own" item (so has two cells or more)
INSERT INTO fx_lines
	SELECT 'c' || lpad(u::text, 2, '0'), 'i' || lpad((1 + u % 25)::text, 2, '0'), 1
	FROM generate_series(1, 40) u;
-- repeated lines of some cells (summed by als_train)
INSERT INTO fx_lines SELECT cust, item, 2 FROM fx_lines WHERE item IN ('i03', 'i07', 'i11');
-- lines that cancel: c41 only ever returns (sum -2); i26 is bought and
-- returned by c01 (sum 0) and nobody else has it
INSERT INTO fx_lines VALUES ('c41', 'i05', -2), ('c01', 'i26', 1), ('c01', 'i26', -1);

-- The interactions as als_train must see them, aggregated here.
CREATE TABLE ia_fx AS
	SELECT cust AS customer, item, sum(w) AS weight FROM fx_lines GROUP BY cust, item HAVING sum(w) > 0;
-- With weight NULL each line weighs 1: the count of lines.
CREATE TABLE ia_fx_lines AS
	SELECT cust AS customer, item, count(*)::float8 AS weight FROM fx_lines GROUP BY cust, item;

SELECT is(
	(SELECT ARRAY[count(DISTINCT customer), count(DISTINCT item),
	              count(*) FILTER (WHERE weight > 1) / 50, count(*) FILTER (WHERE weight <> floor(weight)) / 5]
	 FROM ia_fx) >= ARRAY[40, 25, 1, 1]::bigint[]
	AND (SELECT count(DISTINCT customer) FROM ia_fx) = 40 AND (SELECT count(DISTINCT item) FROM ia_fx) = 25,
	true,
	'fixture: 40 customers x 25 items after aggregation, over 50 weights above 1 and over 5 fractional ones');

CREATE TABLE run_a AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_a', 'itf_a', weight => 'w',
		factors => 5, regularization => 0.1, alpha => 10, iterations => 8, seed => 7, solver => 'exact');
CREATE TABLE run_b AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_b', 'itf_b', weight => 'w',
		factors => 5, regularization => 3, alpha => 0.5, iterations => 5, seed => 7, solver => 'exact');
CREATE TABLE run_c AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_c', 'itf_c',
		factors => 5, regularization => 0.5, alpha => 2, iterations => 5, seed => 11, solver => 'exact');

SELECT is((SELECT array_agg(iteration ORDER BY iteration) FROM run_a), ARRAY[1, 2, 3, 4, 5, 6, 7, 8],
	'als_train returns one row per iteration, numbered 1 to 8');

-- Factor tables: one row per customer / item with a positive sum.
SELECT set_eq('SELECT customer FROM cf_a', 'SELECT DISTINCT customer FROM ia_fx',
	'cf_a has one row per customer with a positive interaction (c41, only returns, is left out)');
SELECT set_eq('SELECT item FROM itf_a', 'SELECT DISTINCT item FROM ia_fx',
	'itf_a has one row per item with a positive interaction (i26, bought and returned, is left out)');
SELECT set_eq('SELECT customer FROM cf_c', 'SELECT DISTINCT customer FROM ia_fx_lines',
	'weight NULL: every line weighs 1, so c41 and i26 have positive counts and are in the tables');
SELECT set_eq('SELECT item FROM itf_c', 'SELECT DISTINCT item FROM ia_fx_lines',
	'weight NULL: item table has every item of the lines');
SELECT is(bad_shape('cf_a', 5) + bad_shape('itf_a', 5) + bad_shape('cf_b', 5) + bad_shape('itf_b', 5)
	      + bad_shape('cf_c', 5) + bad_shape('itf_c', 5),
	0::bigint, 'every factors array is one-dimensional of length k = 5, no NULL, NaN or infinite element');
SELECT col_type_is('cf_a', 'customer', 'text', 'customer column keeps the source column type (text)');
SELECT col_is_pk('itf_a', 'item', 'item is the primary key of the item table');

-- Normal equations, three settings.
SELECT is((resid('cf_a', 'itf_a', 'ia_fx', 0.1, 10)).n, 40::bigint,
	'lambda 0.1, alpha 10: normal equations checked for all 40 customers');
SELECT cmp_ok((resid('cf_a', 'itf_a', 'ia_fx', 0.1, 10)).max_rel, '<', 1e-4::float8,
	'lambda 0.1, alpha 10: every customer vector solves (YtY + lambda I + sum alpha r y y'') x = sum (1 + alpha r) y, relative residual < 1e-4');
SELECT is((resid('cf_b', 'itf_b', 'ia_fx', 3, 0.5)).n, 40::bigint,
	'lambda 3, alpha 0.5: normal equations checked for all 40 customers');
SELECT cmp_ok((resid('cf_b', 'itf_b', 'ia_fx', 3, 0.5)).max_rel, '<', 1e-4::float8,
	'lambda 3, alpha 0.5: relative residual < 1e-4 for every customer');
SELECT is((resid('cf_c', 'itf_c', 'ia_fx_lines', 0.5, 2)).n, 41::bigint,
	'weight NULL (r = number of lines), lambda 0.5, alpha 2: all 41 customers checked');
SELECT cmp_ok((resid('cf_c', 'itf_c', 'ia_fx_lines', 0.5, 2)).max_rel, '<', 1e-4::float8,
	'weight NULL: relative residual < 1e-4 for every customer with r = line counts');
SELECT cmp_ok(least((resid('cf_b', 'itf_b', 'ia_fx', 3.03, 0.5)).max_rel, (resid('cf_b', 'itf_b', 'ia_fx', 3, 0.505)).max_rel,
	             (resid('cf_a', 'itf_a', 'ia_fx', 0.1, 9.9)).max_rel),
	'>', 5e-4::float8,
	'oracle check: the residual has teeth (lambda or alpha 1% off gives a residual > 5e-4)');
SELECT diag('max relative residuals: '
	|| (resid('cf_a', 'itf_a', 'ia_fx', 0.1, 10)).max_rel || ', '
	|| (resid('cf_b', 'itf_b', 'ia_fx', 3, 0.5)).max_rel || ', '
	|| (resid('cf_c', 'itf_c', 'ia_fx_lines', 0.5, 2)).max_rel);

-- Loss: never increases, and the last one is the objective of the factors.
SELECT is(loss_increases('run_a') + loss_increases('run_b') + loss_increases('run_c'), 0::bigint,
	'the loss never increases from one iteration to the next (three runs)');
SELECT ok(close_to(loss_gram('cf_a', 'itf_a', 'ia_fx', 0.1, 10), loss_dense('cf_a', 'itf_a', 'ia_fx', 0.1, 10),
	1e-10, loss_dense('cf_a', 'itf_a', 'ia_fx', 0.1, 10)),
	'oracle check: the Gram-matrix loss equals the dense sum over all 1000 cells within 1e-10');
SELECT ok(close_to((SELECT loss FROM run_a ORDER BY iteration DESC LIMIT 1),
	loss_dense('cf_a', 'itf_a', 'ia_fx', 0.1, 10), 1e-6, loss_dense('cf_a', 'itf_a', 'ia_fx', 0.1, 10)),
	'lambda 0.1, alpha 10: last loss = objective of the stored factors, summed over every cell (1e-6)');
SELECT ok(close_to((SELECT loss FROM run_b ORDER BY iteration DESC LIMIT 1),
	loss_dense('cf_b', 'itf_b', 'ia_fx', 3, 0.5), 1e-6, loss_dense('cf_b', 'itf_b', 'ia_fx', 3, 0.5)),
	'lambda 3, alpha 0.5: last loss = dense objective (1e-6)');
SELECT ok(close_to((SELECT loss FROM run_c ORDER BY iteration DESC LIMIT 1),
	loss_dense('cf_c', 'itf_c', 'ia_fx_lines', 0.5, 2), 1e-6, loss_dense('cf_c', 'itf_c', 'ia_fx_lines', 0.5, 2)),
	'weight NULL: last loss = dense objective with r = line counts (1e-6)');
SELECT diag('losses (returned, dense): '
	|| (SELECT loss FROM run_a ORDER BY iteration DESC LIMIT 1) || ' ' || loss_dense('cf_a', 'itf_a', 'ia_fx', 0.1, 10) || '; '
	|| (SELECT loss FROM run_b ORDER BY iteration DESC LIMIT 1) || ' ' || loss_dense('cf_b', 'itf_b', 'ia_fx', 3, 0.5) || '; '
	|| (SELECT loss FROM run_c ORDER BY iteration DESC LIMIT 1) || ' ' || loss_dense('cf_c', 'itf_c', 'ia_fx_lines', 0.5, 2));

-- Seeds.
CREATE TABLE run_a2 AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_a2', 'itf_a2', weight => 'w',
		factors => 5, regularization => 0.1, alpha => 10, iterations => 8, seed => 7, solver => 'exact');
CREATE TABLE run_a3 AS
	SELECT * FROM bundlerec.als_train('fx_lines', 'cust', 'item', 'cf_a3', 'itf_a3', weight => 'w',
		factors => 5, regularization => 0.1, alpha => 10, iterations => 8, seed => 8, solver => 'exact');
SELECT is(
	(SELECT count(*) FROM cf_a FULL JOIN cf_a2 USING (customer) WHERE cf_a.factors IS DISTINCT FROM cf_a2.factors)
	+ (SELECT count(*) FROM itf_a FULL JOIN itf_a2 USING (item) WHERE itf_a.factors IS DISTINCT FROM itf_a2.factors),
	0::bigint, 'the same seed gives bit-identical customer and item factor tables');
SELECT is((SELECT array_agg(loss ORDER BY iteration) FROM run_a2), (SELECT array_agg(loss ORDER BY iteration) FROM run_a),
	'the same seed gives identical losses');
SELECT is((SELECT count(*) FROM cf_a JOIN cf_a3 USING (customer) WHERE rel_diff(cf_a3.factors, cf_a.factors) > 1e-3),
	40::bigint, 'another seed gives a different vector for every customer');
SELECT cmp_ok((resid('cf_a3', 'itf_a3', 'ia_fx', 0.1, 10)).max_rel, '<', 1e-4::float8,
	'another seed: still every customer vector solves its normal equations');

-- Integer customer keys keep their type.
CREATE TABLE fx_int AS SELECT substr(cust, 2)::int AS cust, item, w FROM fx_lines;
CREATE TABLE run_int AS
	SELECT * FROM bundlerec.als_train('fx_int', 'cust', 'item', 'cf_int', 'itf_int', weight => 'w',
		factors => 5, regularization => 0.1, alpha => 10, iterations => 2, seed => 7, solver => 'exact');
SELECT col_type_is('cf_int', 'customer', 'integer', 'integer customer column: the customer table key is integer');
SELECT is((SELECT count(*) FROM cf_int), 40::bigint, 'integer keys: 40 customers');

------------------------------------------------------------------------------
-- Fold-in: the customer step for a given history
------------------------------------------------------------------------------
CREATE TABLE hist_a AS
	SELECT customer, array_agg(item ORDER BY item) AS items, array_agg(weight ORDER BY item) AS weights
	FROM ia_fx GROUP BY customer;
SELECT is(
	(SELECT count(*) FROM hist_a h JOIN cf_a c USING (customer)
	 WHERE rel_diff(bundlerec.als_fold_in(h.items, 'itf_a', 0.1, 10, h.weights), c.factors) < 1e-4),
	40::bigint,
	'fold-in of each customer''s full history (weights, lambda 0.1, alpha 10) gives its trained vector within 1e-4');
SELECT is(
	(SELECT count(*) FROM hist_a h JOIN cf_b c USING (customer)
	 WHERE rel_diff(bundlerec.als_fold_in(h.items, 'itf_b', 3, 0.5, h.weights), c.factors) < 1e-4),
	40::bigint, 'fold-in with lambda 3, alpha 0.5 gives each trained vector of that run');
-- The same history split in two halves per item, in reverse order, plus an
-- item the table does not know: duplicates are summed, unknown items ignored.
SELECT is(
	(SELECT count(*) FROM hist_a h JOIN cf_a c USING (customer)
	 WHERE rel_diff(bundlerec.als_fold_in(
			array_cat(array_cat(h.items, ARRAY['no such item']), h.items),
			'itf_a', 0.1, 10,
			(SELECT array_agg(w / 2) FROM unnest(h.weights) w) || ARRAY[5::float8]
			|| (SELECT array_agg(w / 2) FROM unnest(h.weights) w)),
		c.factors) < 1e-4),
	40::bigint, 'fold-in sums duplicate items and ignores unknown ones: halves twice plus an unknown item give the trained vector');
-- weights NULL: every array element weighs 1, so the raw lines reproduce run c.
SELECT is(
	(SELECT count(*) FROM (SELECT cust AS customer, array_agg(item ORDER BY item DESC) AS items FROM fx_lines GROUP BY cust) h
	 JOIN cf_c c USING (customer)
	 WHERE rel_diff(bundlerec.als_fold_in(h.items, 'itf_c', 0.5, 2), c.factors) < 1e-4),
	41::bigint, 'fold-in with weights NULL of the raw line items (repeats included) gives the vectors trained with weight NULL');
SELECT is(bundlerec.als_fold_in(ARRAY['no such item', 'nor this'], 'itf_a'), NULL::real[],
	'fold-in of a history with no known item is NULL');
-- A new customer: its vector must solve the same normal equations.
CREATE TABLE new_ia (customer text, item text, weight float8);
INSERT INTO new_ia VALUES ('new', 'i02', 1), ('new', 'i09', 3), ('new', 'i17', 0.5), ('new', 'i24', 2);
CREATE TABLE new_cf AS
	SELECT 'new'::text AS customer,
	       bundlerec.als_fold_in(ARRAY['i02', 'i09', 'i17', 'i24'], 'itf_a', 0.7, 4, ARRAY[1, 3, 0.5, 2]) AS factors;
SELECT is((resid('new_cf', 'itf_a', 'new_ia', 0.7, 4)).n, 1::bigint, 'fold-in of a new 4-item history: one vector of length 5');
SELECT cmp_ok((resid('new_cf', 'itf_a', 'new_ia', 0.7, 4)).max_rel, '<', 1e-4::float8,
	'fold-in of a new history (lambda 0.7, alpha 4) solves its normal equations, relative residual < 1e-4');

------------------------------------------------------------------------------
-- Top k by dot product
------------------------------------------------------------------------------
SELECT is(top_mismatch('cf_a', 'itf_a', 'ia_fx', 10, false), 0::bigint,
	'als_recommend k = 10 for all 40 customers: same items, order, scores and sigmoid affinities as the SQL ranking');
SELECT is(top_mismatch('cf_a', 'itf_a', 'ia_fx', 5, true), 0::bigint,
	'als_recommend with exclude = own items: the SQL ranking of the items the customer has not bought');
SELECT is(top_mismatch('cf_b', 'itf_b', 'ia_fx', 100, false), 0::bigint,
	'k = 100 > 25 items: every item, ranked as in SQL');
SELECT is((SELECT count(*) FROM bundlerec.als_recommend(NULL::real[], 'itf_a')), 0::bigint,
	'a NULL vector gives no rows');

------------------------------------------------------------------------------
-- (b) The shipped sample: orders per customer and product
------------------------------------------------------------------------------
\ir ../data/online_retail.sql

-- Distinct invoices per (customer, product), lines without a customer left out.
CREATE TABLE ia_s AS
	SELECT customer_id::text AS customer, stock_code AS item, count(DISTINCT invoice_no)::float8 AS weight
	FROM order_lines WHERE customer_id IS NOT NULL AND stock_code IS NOT NULL
	GROUP BY customer_id, stock_code;
CREATE TABLE ia_bundlerec AS
	SELECT * FROM bundlerec.interactions('order_lines', 'customer_id', 'stock_code', basket => 'invoice_no');
SELECT set_eq('SELECT customer, item, weight FROM ia_bundlerec', 'SELECT customer, item, weight FROM ia_s',
	'sample: bundlerec.interactions (basket mode) gives the distinct invoices per customer and product of plain SQL');
SELECT is((SELECT ARRAY[count(DISTINCT customer), count(DISTINCT item), count(*)] FROM ia_s),
	ARRAY[691, 2129, 15930]::bigint[], 'sample: 691 customers, 2129 products, 15930 pairs');

CREATE TABLE run_s AS
	SELECT * FROM bundlerec.als_train('ia_bundlerec', 'customer', 'item', 'cf_s', 'itf_s', weight => 'weight',
		factors => 16, regularization => 0.1, alpha => 10, iterations => 4, seed => 42, solver => 'exact');
SELECT is((SELECT array_agg(iteration ORDER BY iteration) FROM run_s), ARRAY[1, 2, 3, 4],
	'sample: four iterations reported');
SELECT set_eq('SELECT customer FROM cf_s', 'SELECT DISTINCT customer FROM ia_s',
	'sample: one customer row per customer of the SQL interactions');
SELECT set_eq('SELECT item FROM itf_s', 'SELECT DISTINCT item FROM ia_s',
	'sample: one item row per product of the SQL interactions');
SELECT is(bad_shape('cf_s', 16) + bad_shape('itf_s', 16), 0::bigint,
	'sample: every factors array has length k = 16, finite elements');
SELECT is((resid('cf_s', 'itf_s', 'ia_s', 0.1, 10)).n, 691::bigint,
	'sample: normal equations checked for all 691 customers');
SELECT cmp_ok((resid('cf_s', 'itf_s', 'ia_s', 0.1, 10)).max_rel, '<', 1e-4::float8,
	'sample, k = 16: every customer vector solves its normal equations, relative residual < 1e-4');
SELECT diag('sample max relative residual: ' || (resid('cf_s', 'itf_s', 'ia_s', 0.1, 10)).max_rel);
SELECT is(loss_increases('run_s'), 0::bigint, 'sample: the loss never increases');
SELECT ok(close_to((SELECT loss FROM run_s ORDER BY iteration DESC LIMIT 1),
	loss_gram('cf_s', 'itf_s', 'ia_s', 0.1, 10), 1e-6, loss_gram('cf_s', 'itf_s', 'ia_s', 0.1, 10)),
	'sample: last loss = objective over all 691 x 2129 cells, through Gram matrices (1e-6)');
SELECT diag('sample loss (returned, SQL): ' || (SELECT loss FROM run_s ORDER BY iteration DESC LIMIT 1)
	|| ' ' || loss_gram('cf_s', 'itf_s', 'ia_s', 0.1, 10));
CREATE TABLE hist_s AS
	SELECT customer, array_agg(item) AS items, array_agg(weight) AS weights FROM ia_s GROUP BY customer;
SELECT is(
	(SELECT count(*) FROM hist_s h JOIN cf_s c USING (customer)
	 WHERE rel_diff(bundlerec.als_fold_in(h.items, 'itf_s', 0.1, 10, h.weights), c.factors) < 1e-4),
	691::bigint, 'sample: fold-in of every customer''s history gives its trained vector within 1e-4');
-- Top 10 of the 40 customers with the most products, own products left out.
CREATE TABLE cf_s40 AS
	SELECT * FROM cf_s WHERE customer IN (
		SELECT customer FROM ia_s GROUP BY customer ORDER BY count(*) DESC, customer LIMIT 40);
SELECT is(top_mismatch('cf_s40', 'itf_s', 'ia_s', 10, true), 0::bigint,
	'sample: als_recommend top 10 with own products excluded = SQL ranking over 2129 products, for 40 customers');
SELECT is(top_mismatch('cf_s40', 'itf_s', 'ia_s', 10, false), 0::bigint,
	'sample: als_recommend top 10 without exclusion = SQL ranking');

SELECT * FROM finish();
ROLLBACK;
