-- bundlerec.npmi(): the one implementation of (shrunk) npmi, which the
-- models' pair scores and bundle cohesion both use, against hand values.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
BEGIN;
SELECT plan(8);
SELECT ok(abs(bundlerec.npmi(4, 5, 5, 8) - ln(1.28) / ln(2)) < 1e-12,
	'4 of 8 baskets hold both, 5 each: ln(4·8/25) / -ln(4/8) = ln 1.28 / ln 2');
SELECT ok(abs(bundlerec.npmi(4, 5, 5, 8, 10) - ln(1.28) / ln(2) * 4 / 14) < 1e-12,
	'shrinkage 10 multiplies by 4 / (4 + 10)');
SELECT ok(abs(bundlerec.npmi(2, 4, 4, 8)) < 1e-12, 'independent items (2·8 = 4·4): 0');
SELECT ok(abs(bundlerec.npmi(1, 4, 4, 8) - ln(0.5) / ln(8)) < 1e-12, 'fewer together than chance: ln 0.5 / ln 8 < 0');
SELECT is(bundlerec.npmi(0, 3, 4, 8), -1::float8, 'never bought together: -1');
SELECT is(bundlerec.npmi(8, 8, 8, 8), 1::float8, 'in every basket: 1');
SELECT throws_ok($$SELECT bundlerec.npmi(5, 4, 6, 8)$$, '22023', NULL, 'count above count_a: 22023');
SELECT throws_ok($$SELECT bundlerec.npmi(2, 4, 4, 8, -1)$$, '22023', NULL, 'negative shrinkage: 22023');
SELECT * FROM finish();
ROLLBACK;
