-- interactions.sql: bundlerec.interactions() on a hand-written fixture of 17
-- order lines (NULL customers and items, a repeated line, several orders per
-- customer, returns with negative quantities, a NULL quantity, a NULL date).
-- Every expected row below is written out literally; the comment before the
-- fixture derives each weight by hand (orders, quantities, lines, and the
-- half-life decay 0.5^(age / half_life)).  Nothing expected here is computed
-- by bundlerec.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(17);

CREATE SCHEMA tap_interactions;
SET LOCAL search_path = tap_interactions, public;
SET LOCAL timezone = 'UTC';

------------------------------------------------------------------------------
-- The fixture
------------------------------------------------------------------------------
--  #  invoice customer item qty   ordered_at   age at 01-31 (half_life 10 days)
--  1  o1      alice    A     2    2024-01-01   30 d -> 0.125
--  2  o1      alice    A     1    2024-01-01   30 d -> 0.125   (repeated line)
--  3  o1      alice    B     1    2024-01-01   30 d -> 0.125
--  4  o2      alice    A     3    2024-01-11   20 d -> 0.25
--  5  o3      bob      A     1    2024-01-21   10 d -> 0.5
--  6  o3      bob      C     5    2024-01-21   10 d -> 0.5
--  7  r4      bob      C    -5    2024-01-31    0 d -> 1       (return)
--  8  o5      NULL     A     4    2024-01-31                   (no customer)
--  9  o5      NULL     B     1    2024-01-31                   (no customer)
-- 10  o6      carol    B     2    2024-01-21   10 d -> 0.5
-- 11  o6      carol    B     2    2024-01-26    5 d -> 2^-0.5 = 0.707106781187
-- 12  o7      carol    D     1    2024-01-31    0 d -> 1
-- 13  o8      carol    D  NULL    2024-01-29    2 d -> 2^-0.2 = 0.870550563296
-- 14  r9      erin     C    -2    2024-01-16   15 d -> 2^-1.5 = 0.353553390593
-- 15  o10     dave     A     1    NULL                         (no date)
-- 16  o11     dave     NULL  3    2024-01-11                   (no item)
-- 17  o12     dave     A     2    2024-01-21   10 d -> 0.5
-- as_of defaults to the latest ordered_at, 2024-01-31 00:00.
CREATE TABLE lines (n int, invoice text, customer text, item text, qty int, ordered_at timestamp);
INSERT INTO lines VALUES
	(1, 'o1', 'alice', 'A', 2, '2024-01-01'),
	(2, 'o1', 'alice', 'A', 1, '2024-01-01'),
	(3, 'o1', 'alice', 'B', 1, '2024-01-01'),
	(4, 'o2', 'alice', 'A', 3, '2024-01-11'),
	(5, 'o3', 'bob', 'A', 1, '2024-01-21'),
	(6, 'o3', 'bob', 'C', 5, '2024-01-21'),
	(7, 'r4', 'bob', 'C', -5, '2024-01-31'),
	(8, 'o5', NULL, 'A', 4, '2024-01-31'),
	(9, 'o5', NULL, 'B', 1, '2024-01-31'),
	(10, 'o6', 'carol', 'B', 2, '2024-01-21'),
	(11, 'o6', 'carol', 'B', 2, '2024-01-26'),
	(12, 'o7', 'carol', 'D', 1, '2024-01-31'),
	(13, 'o8', 'carol', 'D', NULL, '2024-01-29'),
	(14, 'r9', 'erin', 'C', -2, '2024-01-16'),
	(15, 'o10', 'dave', 'A', 1, NULL),
	(16, 'o11', 'dave', NULL, 3, '2024-01-11'),
	(17, 'o12', 'dave', 'A', 2, '2024-01-21');

-- Rows of a call, weights rounded to 12 decimals, for set comparison.
CREATE FUNCTION got(q text) RETURNS TABLE (customer text, item text, weight numeric) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format('SELECT customer, item, round(weight::numeric, 12) FROM %s', q);
END
$$;

------------------------------------------------------------------------------
-- Basket mode: distinct orders.  Lines 8, 9 (no customer) and 16 (no item)
-- are skipped; quantities and signs do not matter, a return is an order.
--   alice A: o1, o2 = 2    alice B: o1 = 1    bob A: o3 = 1    bob C: o3, r4 = 2
--   carol B: o6 = 1 (two lines, one order)    carol D: o7, o8 = 2
--   erin C: r9 = 1         dave A: o10, o12 = 2
------------------------------------------------------------------------------
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines'', ''customer'', ''item'', basket => ''invoice'')')$$,
	$$VALUES ('alice', 'A', 2.0), ('alice', 'B', 1), ('bob', 'A', 1), ('bob', 'C', 2),
	         ('carol', 'B', 1), ('carol', 'D', 2), ('erin', 'C', 1), ('dave', 'A', 2)$$,
	'basket mode: weight = distinct orders per customer and item, NULL customers and items skipped');

------------------------------------------------------------------------------
-- Line mode (neither basket nor quantity): lines.
--   alice A: lines 1, 2, 4 = 3    carol B: 10, 11 = 2    carol D: 12, 13 = 2
--   bob C: 6, 7 = 2    dave A: 15, 17 = 2    the others 1
------------------------------------------------------------------------------
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines'', ''customer'', ''item'')')$$,
	$$VALUES ('alice', 'A', 3.0), ('alice', 'B', 1), ('bob', 'A', 1), ('bob', 'C', 2),
	         ('carol', 'B', 2), ('carol', 'D', 2), ('erin', 'C', 1), ('dave', 'A', 2)$$,
	'line mode: weight = number of lines, the repeated line counted twice');

------------------------------------------------------------------------------
-- Quantity mode: summed quantity; line 13 (NULL quantity) is skipped too.
--   alice A: 2 + 1 + 3 = 6    alice B: 1    bob A: 1    bob C: 5 - 5 = 0 (out)
--   carol B: 2 + 2 = 4    carol D: 1    erin C: -2 (out)    dave A: 1 + 2 = 3
------------------------------------------------------------------------------
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines'', ''customer'', ''item'', quantity => ''qty'')')$$,
	$$VALUES ('alice', 'A', 6.0), ('alice', 'B', 1), ('bob', 'A', 1),
	         ('carol', 'B', 4), ('carol', 'D', 1), ('dave', 'A', 3)$$,
	'quantity mode: summed quantities; a fully returned item (sum 0) and a return only (sum -2) are left out');
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines'', ''customer'', ''item'', basket => ''invoice'', quantity => ''qty'')')$$,
	$$VALUES ('alice', 'A', 6.0), ('alice', 'B', 1), ('bob', 'A', 1),
	         ('carol', 'B', 4), ('carol', 'D', 1), ('dave', 'A', 3)$$,
	'basket and quantity given: quantity wins, the same summed quantities');

------------------------------------------------------------------------------
-- Decay, half_life 10 days, as_of = latest date 2024-01-31.  Line 15 (no
-- date) is skipped as well.  Basket mode: each order at its latest line.
--   alice A: o1 0.125 + o2 0.25 = 0.375    alice B: 0.125    bob A: 0.5
--   bob C: o3 0.5 + r4 1 = 1.5    carol B: o6 latest line 01-26 = 0.707106781187
--   carol D: o7 1 + o8 0.870550563296 = 1.870550563296
--   erin C: 0.353553390593    dave A: o12 0.5 (o10 has no date)
------------------------------------------------------------------------------
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines'', ''customer'', ''item'', basket => ''invoice'',
	                      ordered_at => ''ordered_at'', half_life => ''10 days'')')$$,
	$$VALUES ('alice', 'A', 0.375), ('alice', 'B', 0.125), ('bob', 'A', 0.5), ('bob', 'C', 1.5),
	         ('carol', 'B', 0.707106781187), ('carol', 'D', 1.870550563296),
	         ('erin', 'C', 0.353553390593), ('dave', 'A', 0.5)$$,
	'basket mode, half-life 10 days: each order decayed by 0.5^(age/10 days) from its latest line');

-- Line mode with decay: every line decayed.
--   alice A: 0.125 + 0.125 + 0.25 = 0.5    carol B: 0.5 + 0.707106781187
--   the others as in basket mode (one line per order)
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines'', ''customer'', ''item'',
	                      ordered_at => ''ordered_at'', half_life => ''10 days'')')$$,
	$$VALUES ('alice', 'A', 0.5), ('alice', 'B', 0.125), ('bob', 'A', 0.5), ('bob', 'C', 1.5),
	         ('carol', 'B', 1.207106781187), ('carol', 'D', 1.870550563296),
	         ('erin', 'C', 0.353553390593), ('dave', 'A', 0.5)$$,
	'line mode, half-life 10 days: each line decayed');

-- Quantity mode with decay: quantity x decay per line; lines 13 and 15 skipped.
--   alice A: 2(0.125) + 1(0.125) + 3(0.25) = 1.125    alice B: 0.125    bob A: 0.5
--   bob C: 5(0.5) - 5(1) = -2.5 (out)    carol B: 2(0.5) + 2(0.707106781187) = 2.414213562373
--   carol D: 1    erin C: negative (out)    dave A: 2(0.5) = 1
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines'', ''customer'', ''item'', quantity => ''qty'',
	                      ordered_at => ''ordered_at'', half_life => ''10 days'')')$$,
	$$VALUES ('alice', 'A', 1.125), ('alice', 'B', 0.125), ('bob', 'A', 0.5),
	         ('carol', 'B', 2.414213562373), ('carol', 'D', 1.0), ('dave', 'A', 1.0)$$,
	'quantity mode, half-life 10 days: decayed quantities, a decayed sum below 0 left out');

-- An explicit as_of 10 days after the latest line halves every basket-mode weight.
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines'', ''customer'', ''item'', basket => ''invoice'',
	                      ordered_at => ''ordered_at'', half_life => ''10 days'', as_of => ''2024-02-10 00:00+00'')')$$,
	$$VALUES ('alice', 'A', 0.1875), ('alice', 'B', 0.0625), ('bob', 'A', 0.25), ('bob', 'C', 0.75),
	         ('carol', 'B', 0.353553390593), ('carol', 'D', 0.935275281648),
	         ('erin', 'C', 0.176776695297), ('dave', 'A', 0.25)$$,
	'as_of 10 days after the last line: every decayed weight halves');

-- A half-life of 240 hours is the same 10 days.
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines'', ''customer'', ''item'', basket => ''invoice'',
	                      ordered_at => ''ordered_at'', half_life => ''240 hours'')')$$,
	$$VALUES ('alice', 'A', 0.375), ('alice', 'B', 0.125), ('bob', 'A', 0.5), ('bob', 'C', 1.5),
	         ('carol', 'B', 0.707106781187), ('carol', 'D', 1.870550563296),
	         ('erin', 'C', 0.353553390593), ('dave', 'A', 0.5)$$,
	'half_life ''240 hours'' gives the 10-day weights');

------------------------------------------------------------------------------
-- Other sources and key types
------------------------------------------------------------------------------
-- A view with integer customers: keys come back as text.
CREATE VIEW lines_int AS
	SELECT invoice, CASE customer WHEN 'alice' THEN 1 WHEN 'bob' THEN 2 WHEN 'carol' THEN 3
	                              WHEN 'dave' THEN 4 WHEN 'erin' THEN 5 END AS cust_id,
	       item, qty
	FROM lines;
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''lines_int'', ''cust_id'', ''item'', basket => ''invoice'')')$$,
	$$VALUES ('1', 'A', 2.0), ('1', 'B', 1), ('2', 'A', 1), ('2', 'C', 2),
	         ('3', 'B', 1), ('3', 'D', 2), ('5', 'C', 1), ('4', 'A', 2)$$,
	'a view with integer customer ids: the basket-mode rows with the ids as text');
-- Only NULL-customer lines: no rows.
CREATE TABLE lines_null AS SELECT * FROM lines WHERE customer IS NULL;
SELECT is((SELECT count(*) FROM bundlerec.interactions('lines_null', 'customer', 'item', 'invoice')), 0::bigint,
	'a source whose lines all lack a customer gives no rows');
-- Mixed-case column names are used as given.
CREATE TABLE "Lines Mixed" ("Customer" text, "Item" text, "Qty" int);
INSERT INTO "Lines Mixed" VALUES ('x', 'A', 2), ('x', 'A', 3), ('y', 'B', 1);
SELECT set_eq(
	$$SELECT * FROM got('bundlerec.interactions(''"Lines Mixed"'', ''Customer'', ''Item'', quantity => ''Qty'')')$$,
	$$VALUES ('x', 'A', 5.0), ('y', 'B', 1)$$,
	'quoted mixed-case table and column names: summed quantities 2 + 3 and 1');

------------------------------------------------------------------------------
-- Errors
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.interactions('lines', NULL, 'item')$$, '22004', NULL,
	'a NULL customer column name is SQLSTATE 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.interactions('lines', 'customer', 'item', quantity => 'quantity')$$,
	'42703', NULL, 'a missing quantity column is SQLSTATE 42703');
SELECT throws_ok($$SELECT * FROM bundlerec.interactions('lines', 'customer', 'item', half_life => '10 days')$$,
	'22023', NULL, 'half_life without ordered_at is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.interactions('lines', 'customer', 'item', ordered_at => 'ordered_at',
	half_life => '-1 day')$$, '22023', NULL, 'a negative half_life is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.interactions('lines', 'customer', 'item', ordered_at => 'ordered_at',
	half_life => '0 days')$$, '22023', NULL, 'a zero half_life is SQLSTATE 22023');

SELECT * FROM finish();
ROLLBACK;
