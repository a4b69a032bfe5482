-- Bad input: each error with its SQLSTATE-backed message, detail and hint.
\set VERBOSITY default
CREATE TABLE lines (basket int, item text, price numeric, tags jsonb);
INSERT INTO lines VALUES (1, 'a', 1, '{}'), (1, 'b', 2, '{}'), (2, 'a', 1, '{}');

-- a table that does not exist
SELECT * FROM bundlerec.item_pairs('no_such_table', 'basket', 'item');
-- NULL source or column names
SELECT * FROM bundlerec.item_pairs(NULL, 'basket', 'item');
SELECT * FROM bundlerec.item_pairs('lines', NULL, 'item');
-- missing columns (names are used as given, without case folding)
SELECT * FROM bundlerec.item_pairs('lines', 'order_id', 'item');
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'Item');
-- a column of a type that cannot be an item key
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'price');
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'tags');
-- not a table
CREATE SEQUENCE lines_seq;
SELECT * FROM bundlerec.item_pairs('lines_seq', 'basket', 'item');
-- absurd thresholds
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'item', min_count => 0);
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'item', min_count => -5);
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'item', min_support => -0.1);
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'item', min_support => 1.5);
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'item', min_support => 'NaN');
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'item', top_k => 0);
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'item', rank_by => 'popularity');
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'item', min_count => NULL);

-- a hostile identifier is only ever a name: no column of that name here ...
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'x"; DROP TABLE lines; --');
-- ... and where a table and column have such names, they are read as data
CREATE TABLE "x""; DROP TABLE lines; --" ("b""; DROP TABLE lines; --" int, "i; DROP TABLE lines" text);
INSERT INTO "x""; DROP TABLE lines; --" VALUES (1, 'p'), (1, 'q');
SELECT item_a, item_b, count_ab
FROM bundlerec.item_pairs('"x""; DROP TABLE lines; --"', 'b"; DROP TABLE lines; --', 'i; DROP TABLE lines');
SELECT count(*) AS lines_still_there FROM lines;

-- the caller's privileges apply
CREATE ROLE bundlerec_reader;
GRANT USAGE ON SCHEMA bundlerec TO bundlerec_reader;
SET ROLE bundlerec_reader;
SELECT * FROM bundlerec.item_pairs('lines', 'basket', 'item');
RESET ROLE;
REVOKE USAGE ON SCHEMA bundlerec FROM bundlerec_reader;
DROP ROLE bundlerec_reader;

-- the aggregate: NULL baskets are skipped, NULL items are an error
SELECT item_a, item_b, count_ab
FROM bundlerec.pairs((SELECT bundlerec.pair_counts(b) FROM (VALUES (ARRAY['a','b']), (NULL::text[])) v(b)));
SELECT bundlerec.pair_counts(b) FROM (VALUES (ARRAY['a', NULL])) v(b);
-- multidimensional arrays
SELECT bundlerec.pair_counts(b) FROM (VALUES (ARRAY[['a','b'],['c','d']])) v(b);
-- element types that cannot be item keys
SELECT bundlerec.pair_counts(b) FROM (VALUES (ARRAY[1.5, 2.5])) v(b);
-- min_count of the two-argument aggregate
SELECT bundlerec.pair_counts(b, 0) FROM (VALUES (ARRAY['a','b'])) v(b);
SELECT bundlerec.pair_counts(b, NULL) FROM (VALUES (ARRAY['a','b'])) v(b);
-- pairs() thresholds are checked too, and a NULL value gives no rows
SELECT * FROM bundlerec.pairs(NULL, min_count => 0);
SELECT count(*) FROM bundlerec.pairs(NULL);
-- damaged paircounts values are refused
SELECT '\x00'::bundlerec.paircounts;
SELECT '\x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'::bundlerec.paircounts;

-- the memory budget: exceeding it is an error that names the setting
CREATE TABLE many_lines AS
	SELECT b AS basket, ((b * 7919 + k * 104729) % 20000)::int AS item
	FROM generate_series(1, 20000) b, generate_series(1, 8) k;
SET bundlerec.memory_limit = '1MB';
-- (the detail holds sizes that depend on the build, so show the rest)
DO $$
DECLARE
	msg text;
	hint text;
BEGIN
	PERFORM count(*) FROM bundlerec.item_pairs('many_lines', 'basket', 'item');
EXCEPTION WHEN program_limit_exceeded THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	RAISE NOTICE 'SQLSTATE 54000: %', msg;
	RAISE NOTICE 'hint: %', hint;
END
$$;
RESET bundlerec.memory_limit;
SELECT count(*) > 0 AS fits FROM bundlerec.item_pairs('many_lines', 'basket', 'item');
-- settings have documented ranges
SET bundlerec.memory_limit = '100kB';
SET bundlerec.blas_threads = 0;
SHOW bundlerec.memory_limit;
SHOW bundlerec.blas_threads;
