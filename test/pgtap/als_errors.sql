-- als_errors.sql: bad input to bundlerec.als_train, als_recommend and
-- als_fold_in, each with its SQLSTATE (22023 bad parameter value, 22004 NULL
-- argument, 42703 missing column, 42P07 existing output table, 42809 not a
-- table, 2202E mismatched array lengths), and what a failed als_train leaves
-- behind: no output table, and an existing table of the same name untouched
-- (its rows compared with a copy taken before the call).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(46);

CREATE SCHEMA tap_als_errors;
SET LOCAL search_path = tap_als_errors, public;

CREATE TABLE lines (cust text, item text, w float8, amount numeric);
INSERT INTO lines VALUES ('a', 'x', 1, 1), ('a', 'y', 2, 2), ('b', 'x', 1, 1), ('b', 'z', 1, 3), ('c', 'y', 4, 1);
CREATE TABLE empty_lines (cust text, item text, w float8);
-- every (customer, item) sums to 0 or less
CREATE TABLE nonpositive (cust text, item text, w float8);
INSERT INTO nonpositive VALUES ('a', 'x', 1), ('a', 'x', -1), ('b', 'y', 0), ('c', 'z', -3);
-- every line lacks a customer or an item
CREATE TABLE null_lines (cust text, item text);
INSERT INTO null_lines VALUES (NULL, 'x'), ('a', NULL), (NULL, NULL);
CREATE TABLE numeric_keys (cust numeric, item text);
INSERT INTO numeric_keys VALUES (1.5, 'x');
CREATE SEQUENCE lines_seq;
-- an existing table where an output table should go
CREATE TABLE taken (customer text, note text);
INSERT INTO taken VALUES ('keep me', 'row written before any call');

-- Relations of this schema before any failing call.
CREATE TABLE rels_before AS
	SELECT relname FROM pg_class WHERE relnamespace = 'tap_als_errors'::regnamespace;

------------------------------------------------------------------------------
-- als_train: parameter ranges (22023)
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', factors => 0)$$,
	'22023', NULL, 'factors 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', factors => 1025)$$,
	'22023', NULL, 'factors 1025 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', regularization => -1)$$,
	'22023', NULL, 'regularization -1 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', regularization => 'NaN')$$,
	'22023', NULL, 'regularization NaN is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', alpha => -1)$$,
	'22023', NULL, 'alpha -1 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', alpha => 'NaN')$$,
	'22023', NULL, 'alpha NaN is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', iterations => 0)$$,
	'22023', NULL, 'iterations 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', iterations => 10001)$$,
	'22023', NULL, 'iterations 10001 is SQLSTATE 22023');

------------------------------------------------------------------------------
-- als_train: NULL arguments (22004)
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.als_train(NULL, 'cust', 'item', 'als_err_out_c', 'als_err_out_i')$$,
	'22004', NULL, 'a NULL source is SQLSTATE 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', NULL, 'item', 'als_err_out_c', 'als_err_out_i')$$,
	'22004', NULL, 'a NULL customer column is SQLSTATE 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', NULL, 'als_err_out_c', 'als_err_out_i')$$,
	'22004', NULL, 'a NULL item column is SQLSTATE 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', NULL, 'als_err_out_i')$$,
	'22004', NULL, 'a NULL customer_table name is SQLSTATE 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', NULL)$$,
	'22004', NULL, 'a NULL item_table name is SQLSTATE 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', factors => NULL)$$,
	'22004', NULL, 'NULL factors is SQLSTATE 22004 (not an empty result)');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', seed => NULL)$$,
	'22004', NULL, 'a NULL seed is SQLSTATE 22004');

------------------------------------------------------------------------------
-- als_train: sources without interactions (22023)
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('empty_lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i')$$,
	'22023', NULL, 'an empty source is SQLSTATE 22023');
SELECT throws_like($$SELECT * FROM bundlerec.als_train('empty_lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', 'w')$$,
	'%no interactions to learn from%', 'an empty source says there are no interactions to learn from');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('nonpositive', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', 'w')$$,
	'22023', NULL, 'a source whose weights all sum to 0 or less is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('null_lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i')$$,
	'22023', NULL, 'a source whose lines all lack a customer or item is SQLSTATE 22023');

------------------------------------------------------------------------------
-- als_train: columns and relations
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'customer', 'item', 'als_err_out_c', 'als_err_out_i')$$,
	'42703', NULL, 'a missing customer column is SQLSTATE 42703');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'product', 'als_err_out_c', 'als_err_out_i')$$,
	'42703', NULL, 'a missing item column is SQLSTATE 42703');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'als_err_out_i', 'weight')$$,
	'42703', NULL, 'a missing weight column is SQLSTATE 42703');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'Cust', 'item', 'als_err_out_c', 'als_err_out_i')$$,
	'42703', NULL, 'column names are not case-folded: "Cust" is missing, SQLSTATE 42703');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines_seq', 'cust', 'item', 'als_err_out_c', 'als_err_out_i')$$,
	'42809', NULL, 'a sequence as source is SQLSTATE 42809');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('numeric_keys', 'cust', 'item', 'als_err_out_c', 'als_err_out_i')$$,
	'42804', NULL, 'a numeric customer column is SQLSTATE 42804');

------------------------------------------------------------------------------
-- als_train: output tables
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'taken', 'als_err_out_i')$$,
	'42P07', NULL, 'an existing customer_table name is SQLSTATE 42P07');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_c', 'taken')$$,
	'42P07', NULL, 'an existing item_table name is SQLSTATE 42P07');
SELECT throws_ok($$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'als_err_out_same', 'als_err_out_same')$$,
	'22023', NULL, 'the same name for both tables is SQLSTATE 22023');
SELECT results_eq('SELECT customer, note FROM taken',
	$$VALUES ('keep me'::text, 'row written before any call'::text)$$,
	'the existing table keeps its row after both failed calls');
SELECT columns_are('taken', ARRAY['customer', 'note'], 'the existing table keeps its columns');

-- Train once, then try again into the same tables: the first model stays.
CREATE TABLE first_run AS
	SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'model_c', 'model_i', 'w', factors => 3, iterations => 3);
CREATE TABLE model_c_copy AS SELECT * FROM model_c;
CREATE TABLE model_i_copy AS SELECT * FROM model_i;
SELECT throws_ok(
	$$SELECT * FROM bundlerec.als_train('lines', 'cust', 'item', 'model_c', 'model_i', 'w', factors => 4, seed => 1)$$,
	'42P07', NULL, 'training again into existing factor tables is SQLSTATE 42P07');
SELECT is(
	(SELECT count(*) FROM model_c FULL JOIN model_c_copy c USING (customer) WHERE model_c.factors IS DISTINCT FROM c.factors)
	+ (SELECT count(*) FROM model_i FULL JOIN model_i_copy c USING (item) WHERE model_i.factors IS DISTINCT FROM c.factors),
	0::bigint, 'the failed retraining leaves the first model''s factor tables exactly as they were');

-- Nothing was created by any failing call.
SELECT is(
	(SELECT count(*) FROM pg_class WHERE relname IN ('als_err_out_c', 'als_err_out_i', 'als_err_out_same')),
	0::bigint, 'no output table (als_err_out_c, als_err_out_i, als_err_out_same) exists in any schema after the failed calls');
SELECT set_eq(
	$$SELECT relname FROM pg_class WHERE relnamespace = 'tap_als_errors'::regnamespace
	  AND relname NOT IN ('rels_before', 'first_run', 'model_c', 'model_c_pkey', 'model_i', 'model_i_pkey',
	                      'model_c_copy', 'model_i_copy')
	  AND relname NOT LIKE 'pg_toast%'$$,
	$$SELECT relname FROM rels_before WHERE relname NOT LIKE 'pg_toast%'$$,
	'failed calls left no relation in the schema (only the successful training added its two tables)');

------------------------------------------------------------------------------
-- als_recommend
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend('{1, 2, 3, 4}'::real[], 'model_i')$$,
	'22023', NULL, 'a vector of 4 factors against a 3-factor item table is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend('{1, 2}'::real[], 'model_i')$$,
	'22023', NULL, 'a vector of 2 factors against a 3-factor item table is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend('{1, NULL, 3}'::real[], 'model_i')$$,
	'22004', NULL, 'a vector with a NULL element is SQLSTATE 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend('{1, 2, 3}'::real[], 'model_i', 0)$$,
	'22023', NULL, 'k 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend('{1, 2, 3}'::real[], NULL)$$,
	'22004', NULL, 'a NULL item table is SQLSTATE 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.als_recommend('{1, 2, 3}'::real[], 'lines')$$,
	'42703', NULL, 'a table without item and factors columns is SQLSTATE 42703');

------------------------------------------------------------------------------
-- als_fold_in
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT bundlerec.als_fold_in('{x, y}', 'model_i', 0.1, 10, '{1}')$$,
	'2202E', NULL, 'one weight for two items is SQLSTATE 2202E');
SELECT throws_ok($$SELECT bundlerec.als_fold_in('{x, y}', 'model_i', 0.1, 10, '{1, 2, 3}')$$,
	'2202E', NULL, 'three weights for two items is SQLSTATE 2202E');
SELECT throws_ok($$SELECT bundlerec.als_fold_in('{x, y}', 'model_i', 0.1, 10, '{1, -2}')$$,
	'22023', NULL, 'a negative weight is SQLSTATE 22023');
SELECT throws_ok($$SELECT bundlerec.als_fold_in('{x, y}', 'model_i', -1, 10)$$,
	'22023', NULL, 'fold-in with regularization -1 is SQLSTATE 22023');
SELECT throws_ok($$SELECT bundlerec.als_fold_in('{x, y}', 'model_i', 0.1, -1)$$,
	'22023', NULL, 'fold-in with alpha -1 is SQLSTATE 22023');
SELECT throws_ok($$SELECT bundlerec.als_fold_in('{x, y}', NULL)$$,
	'22004', NULL, 'fold-in with a NULL item table is SQLSTATE 22004');

SELECT * FROM finish();
ROLLBACK;
