-- pairs_semantics.sql: what counts as a basket and an item.  Duplicate
-- lines and quantities count once per basket, NULL baskets or items are
-- skipped, empty sources give no rows, single-item baskets count in
-- n_baskets, and key types and source kinds all give the brute-force
-- result of plain SQL (DISTINCT lines, self-join, GROUP BY).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(35);

CREATE SCHEMA tap_semantics;
SET LOCAL search_path = tap_semantics, public;
SET LOCAL jit = off;

-- Brute force over any source: distinct non-NULL (basket, item) lines under
-- SQL equality, self-join on the basket with a.item < b.item in the item
-- type's order, counts per item, n = distinct baskets.
CREATE FUNCTION bf_pairs(src text, bcol text, icol text)
RETURNS TABLE (item_a text, item_b text, count_ab bigint, count_a bigint, count_b bigint, n_baskets bigint)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
		WITH l AS (SELECT DISTINCT %1$I AS b, %2$I AS i FROM %3$s
		           WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL),
		     ic AS (SELECT i, count(*) AS c FROM l GROUP BY i),
		     n AS (SELECT count(DISTINCT b) AS n FROM l)
		SELECT a.i::text, b.i::text, count(*), min(x.c), min(y.c), min(n.n)
		FROM l a JOIN l b ON a.b = b.b AND a.i < b.i
		JOIN ic x ON x.i = a.i JOIN ic y ON y.i = b.i CROSS JOIN n
		GROUP BY a.i, b.i$q$, bcol, icol, src);
END
$$;

CREATE FUNCTION got_pairs(src text, bcol text, icol text)
RETURNS TABLE (item_a text, item_b text, count_ab bigint, count_a bigint, count_b bigint, n_baskets bigint)
LANGUAGE sql AS $$
	SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets
	FROM bundlerec.item_pairs(src::regclass, bcol, icol)
$$;

------------------------------------------------------------------------------
-- The sample; most checks use its invoices of at most 20 products (700 of
-- the 1009, about 25000 pairs) to stay quick
------------------------------------------------------------------------------
\ir ../data/online_retail.sql

CREATE TABLE part AS
	SELECT * FROM sales WHERE invoice_no IN (
		SELECT invoice_no FROM sales GROUP BY invoice_no HAVING count(DISTINCT stock_code) <= 20);

------------------------------------------------------------------------------
-- Duplicate lines and quantities count once per basket
------------------------------------------------------------------------------
CREATE TABLE dup (basket text, item text, quantity int);
INSERT INTO dup VALUES
	('o1', 'A', 1), ('o1', 'A', 1), ('o1', 'B', 5), ('o1', 'A', 3),
	('o2', 'A', 2), ('o2', 'C', 1), ('o2', 'C', 1), ('o2', 'C', 12),
	('o3', 'B', 10), ('o3', 'C', 1),
	('o4', 'B', 7);
-- By hand: baskets {A,B}, {A,C}, {B,C}, {B}: n = 4, A in 2, B in 3, C in 2.
SELECT results_eq(
	$$SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets,
	         round(support::numeric, 12), round(confidence_ab::numeric, 12), round(lift::numeric, 12)
	  FROM bundlerec.item_pairs('tap_semantics.dup', 'basket', 'item')$$,
	$$VALUES ('A', 'B', 1::bigint, 2::bigint, 3::bigint, 4::bigint, 0.25, 0.5, 0.666666666667),
	         ('A', 'C', 1, 2, 2, 4, 0.25, 0.5, 1.0),
	         ('B', 'C', 1, 3, 2, 4, 0.25, 0.333333333333, 0.666666666667)$$,
	'repeated lines and quantities > 1 count once: hand-computed counts, support, confidence, lift');

-- The sample part with every line repeated 1 to 3 times (and its quantity
-- changed) gives the brute force of the distinct lines.
CREATE TABLE part_dup AS
	SELECT invoice_no, stock_code, quantity * r AS quantity
	FROM part, generate_series(1, 1 + abs(hashtext(invoice_no || stock_code)) % 3) r;
SELECT cmp_ok((SELECT count(*) FROM part_dup), '>', (SELECT count(*) * 3 / 2 FROM part),
	'fixture: the repeated copy has over 1.5 times the lines');
SELECT bag_eq(
	$$SELECT * FROM tap_semantics.got_pairs('tap_semantics.part_dup', 'invoice_no', 'stock_code')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.part', 'invoice_no', 'stock_code')$$,
	'sample lines repeated 1-3 times: same pairs and counts as the brute force of the distinct lines');
SELECT bag_eq(
	$$SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM bundlerec.pairs((
		SELECT bundlerec.pair_counts(items) FROM (
			SELECT invoice_no, array_agg(stock_code) AS items FROM tap_semantics.part_dup GROUP BY invoice_no) b))$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.part', 'invoice_no', 'stock_code')$$,
	'pair_counts over arrays with repeated items: same as the brute force of the distinct lines');

------------------------------------------------------------------------------
-- NULL baskets and items are skipped
------------------------------------------------------------------------------
-- Adds NULL-basket copies of lines, NULL items inside real invoices and
-- invoices whose every line has a NULL item (which must not be baskets).
CREATE TABLE part_null AS
	SELECT invoice_no, stock_code FROM part
	UNION ALL SELECT NULL, stock_code FROM part WHERE abs(hashtext(stock_code)) % 4 = 0
	UNION ALL SELECT invoice_no, NULL FROM part WHERE abs(hashtext(invoice_no)) % 5 = 0
	UNION ALL SELECT 'only-null-' || g, NULL FROM generate_series(1, 25) g
	UNION ALL SELECT NULL, NULL FROM generate_series(1, 5);
SELECT cmp_ok((SELECT count(*) FROM part_null WHERE invoice_no IS NULL OR stock_code IS NULL), '>', 100::bigint,
	'fixture: over 100 lines with a NULL basket or item');
SELECT bag_eq(
	$$SELECT * FROM tap_semantics.got_pairs('tap_semantics.part_null', 'invoice_no', 'stock_code')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.part_null', 'invoice_no', 'stock_code')$$,
	'NULL baskets and items are skipped: brute force over the non-NULL lines');
SELECT is(
	(SELECT DISTINCT n_baskets FROM bundlerec.item_pairs('part_null', 'invoice_no', 'stock_code', min_count => 5)),
	(SELECT count(DISTINCT invoice_no) FROM part),
	'invoices whose only lines have a NULL item are not baskets (n_baskets)');
SELECT is(
	(SELECT count(*) FROM bundlerec.item_pairs('part_null', 'invoice_no', 'stock_code')
	 WHERE item_a IS NULL OR item_b IS NULL),
	0::bigint,
	'no pair has a NULL item');

-- Arrays: NULL arrays are skipped, NULL elements are an error.
SELECT bag_eq(
	$$SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM bundlerec.pairs((
		SELECT bundlerec.pair_counts(items) FROM (
			SELECT array_agg(stock_code) AS items FROM tap_semantics.part GROUP BY invoice_no
			UNION ALL SELECT NULL::text[] FROM generate_series(1, 10)) b))$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.part', 'invoice_no', 'stock_code')$$,
	'pair_counts skips NULL arrays (they are not baskets)');
SELECT throws_ok(
	$$SELECT bundlerec.pair_counts(a) FROM (VALUES (ARRAY['a', 'b']), (ARRAY['a', NULL])) v(a)$$,
	'22004', NULL,
	'pair_counts rejects an array with a NULL item');

------------------------------------------------------------------------------
-- Empty sources and sources without pairs
------------------------------------------------------------------------------
CREATE TABLE empty_lines (basket int, item text);
SELECT is_empty($$SELECT * FROM bundlerec.item_pairs('tap_semantics.empty_lines', 'basket', 'item')$$,
	'an empty table gives no rows');
SELECT is_empty(
	$$SELECT * FROM bundlerec.item_pairs('tap_semantics.empty_lines', 'basket', 'item', min_support => 0.5, top_k => 3, rank_by => 'fisher')$$,
	'an empty table with min_support and top_k gives no rows');
CREATE VIEW no_sales AS SELECT * FROM sales WHERE false;
SELECT is_empty($$SELECT * FROM bundlerec.item_pairs('tap_semantics.no_sales', 'invoice_no', 'stock_code')$$,
	'a view selecting nothing gives no rows');
CREATE TABLE null_lines (basket int, item text);
INSERT INTO null_lines VALUES (1, NULL), (NULL, 'a'), (NULL, NULL);
SELECT is_empty($$SELECT * FROM bundlerec.item_pairs('tap_semantics.null_lines', 'basket', 'item')$$,
	'a source of only NULL lines gives no rows');
CREATE TABLE single_lines AS SELECT g AS basket, 'i' || (g % 7) AS item FROM generate_series(1, 50) g;
SELECT is_empty($$SELECT * FROM bundlerec.item_pairs('tap_semantics.single_lines', 'basket', 'item')$$,
	'baskets of one item each give no pairs');
SELECT is((SELECT bundlerec.pair_counts(a) FROM (SELECT ARRAY['x'] WHERE false) v(a)) IS NULL, true,
	'pair_counts over no rows is NULL');
SELECT is_empty($$SELECT * FROM bundlerec.pairs(NULL::bundlerec.paircounts)$$,
	'pairs(NULL) gives no rows');
SELECT is_empty(
	$$SELECT * FROM bundlerec.pairs((SELECT bundlerec.pair_counts(ARRAY[item]) FROM tap_semantics.single_lines))$$,
	'pairs() of one-item baskets gives no rows');

------------------------------------------------------------------------------
-- Baskets with one item count in n_baskets
------------------------------------------------------------------------------
CREATE TABLE single (basket int, item text);
INSERT INTO single VALUES (1, 'a'), (1, 'b'), (2, 'a'), (3, 'c');
-- By hand: n = 3, a in 2, b in 1, ab = 1: support 1/3, confidence 1/2 and 1,
-- lift 3/2, Jaccard 1/2, cosine 1/sqrt(2), leverage 1/3 - 2/9 = 1/9,
-- conviction (1 - 1/3)/(1 - 1/2) = 4/3, conviction_ba Infinity,
-- Fisher P(X >= 1) = 1 - C(1,0)C(2,2)/C(3,2) = 2/3.
SELECT results_eq(
	$$SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets,
	         round(support::numeric, 12), round(confidence_ab::numeric, 12), round(confidence_ba::numeric, 12),
	         round(lift::numeric, 12), round(jaccard::numeric, 12), round(cosine::numeric, 12),
	         round(leverage::numeric, 12), round(conviction::numeric, 12), conviction_ba,
	         round(fisher_p::numeric, 12)
	  FROM bundlerec.item_pairs('tap_semantics.single', 'basket', 'item')$$,
	$$VALUES ('a', 'b', 1::bigint, 2::bigint, 1::bigint, 3::bigint, 0.333333333333, 0.5, 1.0, 1.5, 0.5,
	          0.707106781187, 0.111111111111, 1.333333333333, 'Infinity'::float8, 0.666666666667)$$,
	'single-item baskets count in n_baskets: every column of the one pair by hand');
SELECT results_eq(
	$$SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM bundlerec.pairs((
		SELECT bundlerec.pair_counts(a) FROM (VALUES (ARRAY['a', 'b']), (ARRAY['a']), (ARRAY['c'])) v(a)))$$,
	$$VALUES ('a', 'b', 1::bigint, 2::bigint, 1::bigint, 3::bigint)$$,
	'pair_counts: one-item arrays count in n_baskets');
SELECT is(
	(SELECT DISTINCT n_baskets FROM bundlerec.item_pairs('part', 'invoice_no', 'stock_code', min_count => 5)),
	(SELECT count(DISTINCT invoice_no) FROM part),
	'sample part: n_baskets counts every invoice ...');
SELECT cmp_ok(
	(SELECT count(DISTINCT invoice_no) FROM part),
	'>',
	(SELECT count(*) FROM (SELECT invoice_no FROM part GROUP BY 1 HAVING count(DISTINCT stock_code) > 1) s),
	'... and the part has invoices with a single product');

------------------------------------------------------------------------------
-- Key types, source kinds and input order
------------------------------------------------------------------------------
CREATE TABLE typed (b_int int, b_big bigint, b_text text, b_date date,
	i_small smallint, i_int int, i_var varchar(20));
INSERT INTO typed
	SELECT b, b + 10000000000, 'b' || b, date '2020-01-01' + b,
		(k * 37 % 23 - 11)::smallint, k * 37 % 23 - 11, 'v' || (k * 37 % 23)
	FROM generate_series(1, 60) b, generate_series(1, 1 + b % 6) j,
		LATERAL (SELECT (b * 7 + j * 13) % 29 AS k) kk;
CREATE DOMAIN pos_int AS int CHECK (VALUE > -100);
CREATE TABLE typed_dom AS SELECT b_int, i_int::pos_int AS i_dom FROM typed;
SELECT bag_eq($$SELECT * FROM tap_semantics.got_pairs('tap_semantics.typed', 'b_int', 'i_small')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.typed', 'b_int', 'i_small')$$,
	'smallint items (negative too), integer baskets: brute force');
SELECT bag_eq($$SELECT * FROM tap_semantics.got_pairs('tap_semantics.typed', 'b_big', 'i_int')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.typed', 'b_big', 'i_int')$$,
	'integer items, bigint baskets beyond int4: brute force');
SELECT bag_eq($$SELECT * FROM tap_semantics.got_pairs('tap_semantics.typed', 'b_date', 'i_var')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.typed', 'b_date', 'i_var')$$,
	'varchar items, date baskets: brute force');
SELECT bag_eq($$SELECT * FROM tap_semantics.got_pairs('tap_semantics.typed_dom', 'b_int', 'i_dom')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.typed_dom', 'b_int', 'i_dom')$$,
	'items of a domain over integer: brute force in integer order');

-- Mixed-case names, a materialized view, a partitioned table and shuffled
-- input all give the brute force of the same lines.
CREATE SCHEMA "Tap Semantics";
CREATE TABLE "Tap Semantics"."Order Lines" ("Invoice No" text, "Stock Code" text);
INSERT INTO "Tap Semantics"."Order Lines" SELECT invoice_no, stock_code FROM part ORDER BY random();
SELECT bag_eq(
	$$SELECT * FROM tap_semantics.got_pairs('"Tap Semantics"."Order Lines"', 'Invoice No', 'Stock Code')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.part', 'invoice_no', 'stock_code')$$,
	'quoted schema, table and column names; lines in random order: brute force');
CREATE MATERIALIZED VIEW part_mv AS SELECT invoice_no, stock_code FROM part;
SELECT bag_eq(
	$$SELECT * FROM tap_semantics.got_pairs('tap_semantics.part_mv', 'invoice_no', 'stock_code')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.part', 'invoice_no', 'stock_code')$$,
	'a materialized view as source: brute force');
CREATE TABLE part_parted (invoice_no text, stock_code text) PARTITION BY HASH (stock_code);
CREATE TABLE part_parted_0 PARTITION OF part_parted FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE part_parted_1 PARTITION OF part_parted FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO part_parted SELECT invoice_no, stock_code FROM part;
SELECT bag_eq(
	$$SELECT * FROM tap_semantics.got_pairs('tap_semantics.part_parted', 'invoice_no', 'stock_code')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.part', 'invoice_no', 'stock_code')$$,
	'a partitioned table (lines of a basket split over partitions): brute force');
-- Text items are ordered by the column's collation (ICU: a < A < b < B),
-- not by bytes (A < B < a < b); pair_counts by the collation of its input.
-- A server built without ICU (the Valgrind build of test/valgrind.sh) has
-- no ICU collations: then these two are skipped.
SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') AS have_icu \gset
\if :have_icu
CREATE TABLE icu_lines (basket int, item text COLLATE "und-x-icu");
INSERT INTO icu_lines VALUES (1, 'a'), (1, 'B'), (2, 'a'), (2, 'b'), (2, 'B'), (3, 'A'), (3, 'b'),
	(4, 'A'), (4, 'a'), (4, 'B'), (5, 'b'), (5, 'A');
SELECT results_eq(
	$$SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets
	  FROM bundlerec.item_pairs('tap_semantics.icu_lines', 'basket', 'item')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.icu_lines', 'basket', 'item')
	  ORDER BY item_a COLLATE "und-x-icu", item_b COLLATE "und-x-icu"$$,
	'ICU-collated items: pairs oriented and ordered by the column collation, brute-force counts');
SELECT results_eq(
	$$SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets FROM bundlerec.pairs((
		SELECT bundlerec.pair_counts(items) FROM (
			SELECT array_agg(item) AS items FROM tap_semantics.icu_lines GROUP BY basket) b))$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.icu_lines', 'basket', 'item')
	  ORDER BY item_a COLLATE "und-x-icu", item_b COLLATE "und-x-icu"$$,
	'pair_counts over ICU-collated arrays: same orientation and order as the brute force');
\else
SELECT skip('the server has no ICU collations (built without ICU): ICU-collated item order not checked', 2);
\endif
SELECT throws_ok($$SELECT * FROM bundlerec.item_pairs('tap_semantics.typed', 'b_int', 'no_such_column')$$,
	'42703', NULL, 'a missing item column is an error');
SELECT throws_ok($$SELECT * FROM bundlerec.item_pairs('tap_semantics.order_lines', 'invoice_no', 'unit_price')$$,
	'42804', NULL, 'a numeric item column is rejected (items are integers or text)');

------------------------------------------------------------------------------
-- Baskets of other types group as SQL's equality says: numeric 1.0 = 1.00,
-- float 0 = -0.
------------------------------------------------------------------------------
CREATE TABLE num_basket (basket numeric, item text);
INSERT INTO num_basket VALUES (1.0, 'a'), (1.00, 'b'), (2, 'a'), (2, 'b');
SELECT bag_eq(
	$$SELECT * FROM tap_semantics.got_pairs('tap_semantics.num_basket', 'basket', 'item')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.num_basket', 'basket', 'item')$$,
	'numeric baskets 1.0 and 1.00 are one basket: (a, b) in 2 of 2 baskets');
CREATE TABLE float_basket (basket float8, item text);
INSERT INTO float_basket VALUES ('0', 'a'), ('-0', 'b');
SELECT bag_eq(
	$$SELECT * FROM tap_semantics.got_pairs('tap_semantics.float_basket', 'basket', 'item')$$,
	$$SELECT * FROM tap_semantics.bf_pairs('tap_semantics.float_basket', 'basket', 'item')$$,
	'float baskets 0 and -0 are one basket: (a, b) in 1 of 1 basket');

SELECT * FROM finish();
ROLLBACK;
