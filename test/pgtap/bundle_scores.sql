-- bundle_scores.sql: bundlerec.bundle_score() against its formulas.
--   1. A 10-basket, 5-item fixture with prices, timestamps and a price
--      window, every column worked out by hand (the arithmetic is written
--      next to each expected value, and the fixture's counts are first
--      re-derived in SQL as an oracle check).
--   2. A generated 300-basket fixture: 150 random bundles of 2 to 4 items
--      with random anchors, prices on or off, price window on or off,
--      discounts, shrinkages, histories, weights and revenue scales, every
--      column compared with a plain-SQL brute force of the formulas
--      (counts by array containment over the baskets, prices by avg(),
--      the revenue scale by percentile_cont(0.5), products of (1 - cos) by
--      a product aggregate).
--   3. History and embedding affinities, content alikeness, explanation
--      strings, errors.
-- Nothing expected here is computed by bundlerec.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(94);

CREATE SCHEMA tap_bundle_scores;
SET LOCAL search_path = tap_bundle_scores, public;
SET LOCAL jit = off;

-- have is close to want: both NULL, or equal, or finite and within rel
-- relative to max(|want|, 1e-6) (so values that are 0 by hand accept a
-- rounding residue of rel * 1e-6).  NaN is never close.
CREATE FUNCTION near(have float8, want float8, rel float8 DEFAULT 1e-12)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN have IS NULL AND want IS NULL THEN true
		WHEN have IS NULL OR want IS NULL THEN false
		WHEN have = 'NaN' OR want = 'NaN' THEN false
		WHEN have = want THEN true
		ELSE abs(have - want) <= rel * greatest(abs(want), 1e-6)
	END
$$;

-- product of float8 values (1 over no rows)
CREATE AGGREGATE mul(float8) (SFUNC = float8mul, STYPE = float8, INITCOND = '1');

------------------------------------------------------------------------------
-- The hand fixture
------------------------------------------------------------------------------
-- basket: items (unit_price at ts)
--   b01: A (10.00 at 06-01) A again (14.00 at 06-02)  B (4.00 at 06-01)  C (2.50 at 06-01)
--   b02: A (12.00 at 05-15)  B (5.50 at 05-15)
--   b03: A (11.00 at 01-10)  B (4.50 at 01-10)  C (3.00 at 01-10)  D (20.00 at 01-10)
--   b04: A (0 at 06-10)      C (2.00 at 06-10)
--   b05: A (15.00 at 2023-12-01)  B (6.00 at 06-20)  C (NULL at 06-20)
--   b06: A (9.00 at 06-30)   B (-1 at 06-30)  E (NULL at 06-30)
--   b07: D (22.00 at 03-01)  E (0 at 03-01)
--   b08: A (13.00 at 03-31 23:59:59)  D (21.00 at 03-31)
--   b09: E (NULL at 05-01)
--   b10: C (3.50 at 04-01 00:00:00)  D (0 at 04-01)
--   b11: a line with a NULL item only;  and a line of A with a NULL basket
-- (dates are 2024 unless written out)
--
-- N = 10 baskets (b11 holds no item).  Baskets holding:
--   A 7 {01 02 03 04 05 06 08}   B 5 {01 02 03 05 06}   C 5 {01 03 04 05 10}
--   D 4 {03 07 08 10}            E 3 {06 07 09}
--   AB 5 {01 02 03 05 06}  AC 4 {01 03 04 05}  BC 3 {01 03 05}  AD 2 {03 08}
--   BD 1 {03}  CD 2 {03 10}  AE 1 {06}  BE 1 {06}  CE 0  DE 1 {07}
--   ABC 3 {01 03 05}   ABD 1 {03}
--
-- Prices.  max(ts) = 2024-06-30 00:00, so the default 90-day window holds
-- lines at or after 2024-04-01 00:00 (June 30 - 30 - 31 - 29 days).
--   A: window, price > 0: 10, 14, 12, 9  -> 45/4 = 11.25
--      (b04's 0 is not > 0; b03, b05 and b08 (03-31 23:59:59) are older)
--      all lines > 0: 10 + 14 + 12 + 11 + 15 + 9 + 13 = 84 / 7 = 12
--   B: window 4, 5.5, 6 -> 15.5/3 = 31/6 (b06's -1 is not > 0); all 4 + 5.5 + 4.5 + 6 = 20/4 = 5
--   C: window 2.5, 2, 3.5 (b10 is exactly at the window start) -> 8/3; all (2.5 + 3 + 2 + 3.5)/4 = 2.75
--   D: window has only b10's 0 -> no line -> fallback to all lines > 0: (20 + 22 + 21)/3 = 21; all 21
--   E: no line > 0 -> NULL
--   median of the item prices (revenue_scale default):
--      with the window    8/3, 31/6, 45/4, 21 -> (31/6 + 45/4)/2 = (62 + 135)/24 = 197/24
--      without a window   2.75, 5, 12, 21     -> (5 + 12)/2 = 8.5
CREATE TABLE hand (basket text, item text, unit_price numeric, ts timestamp);
INSERT INTO hand VALUES
	('b01', 'A', 10.00, '2024-06-01'), ('b01', 'A', 14.00, '2024-06-02'), ('b01', 'B', 4.00, '2024-06-01'),
	('b01', 'C', 2.50, '2024-06-01'),
	('b02', 'A', 12.00, '2024-05-15'), ('b02', 'B', 5.50, '2024-05-15'),
	('b03', 'A', 11.00, '2024-01-10'), ('b03', 'B', 4.50, '2024-01-10'), ('b03', 'C', 3.00, '2024-01-10'),
	('b03', 'D', 20.00, '2024-01-10'),
	('b04', 'A', 0, '2024-06-10'), ('b04', 'C', 2.00, '2024-06-10'),
	('b05', 'A', 15.00, '2023-12-01'), ('b05', 'B', 6.00, '2024-06-20'), ('b05', 'C', NULL, '2024-06-20'),
	('b06', 'A', 9.00, '2024-06-30'), ('b06', 'B', -1, '2024-06-30'), ('b06', 'E', NULL, '2024-06-30'),
	('b07', 'D', 22.00, '2024-03-01'), ('b07', 'E', 0, '2024-03-01'),
	('b08', 'A', 13.00, '2024-03-31 23:59:59'), ('b08', 'D', 21.00, '2024-03-31'),
	('b09', 'E', NULL, '2024-05-01'),
	('b10', 'C', 3.50, '2024-04-01 00:00:00'), ('b10', 'D', 0, '2024-04-01'),
	('b11', NULL, NULL, '2024-05-01'),
	(NULL, 'A', NULL, '2024-05-01');

-- Oracle check: the counts of the comment, from SQL.
SELECT is(
	(SELECT array_agg(c ORDER BY k COLLATE "C") FROM (
		SELECT 'N' AS k, count(DISTINCT basket) AS c FROM hand WHERE basket IS NOT NULL AND item IS NOT NULL
		UNION ALL
		SELECT s, (SELECT count(*) FROM (SELECT basket FROM hand WHERE basket IS NOT NULL
		                                 GROUP BY basket HAVING array_agg(item) @> string_to_array(s, NULL)) x)
		FROM unnest(ARRAY['A', 'B', 'C', 'D', 'E', 'AB', 'AC', 'BC', 'AD', 'BD', 'CD', 'AE', 'BE', 'CE', 'DE', 'ABC', 'ABD']) s) t),
	-- A AB ABC ABD AC AD AE B BC BD BE C CD CE D DE E N
	ARRAY[7, 5, 3, 1, 4, 2, 1, 5, 3, 1, 1, 5, 2, 0, 4, 1, 3, 10]::bigint[],
	'oracle check: the hand fixture''s counts are those of the comment');

------------------------------------------------------------------------------
-- {A, B, C}, anchor A (default), price with the 90-day window, discount 0.2
------------------------------------------------------------------------------
--   AB: lift = 5*10/(7*5) = 10/7, npmi = ln(10/7)/-ln(5/10), shrunk = npmi * 5/15
--   AC: lift = 4*10/(7*5) = 8/7,  npmi = ln(8/7)/-ln(4/10),  shrunk = npmi * 4/14
--   BC: lift = 3*10/(5*5) = 6/5,  npmi = ln(6/5)/-ln(3/10),  shrunk = npmi * 3/13
--   shrunk: AB 0.171524, AC 0.041637, BC 0.034946 -> min BC; cohesion = mean
--   mean_lift = (10/7 + 8/7 + 6/5)/3 = 44/35, min_lift = 8/7
--   count 3, support 0.3, accept = c_ABC / c_A = 3/7
--   list = 45/4 + 31/6 + 8/3 = (135 + 62 + 32)/12 = 229/12; bundle_price = 229/12 * 0.8
--   expected_revenue = 3/7 * (31/6 + 8/3) * 0.8 = 3/7 * 47/6 * 0.8 = 94/35
--   revenue_term = (94/35) / (94/35 + 197/24); score = cohesion + 0 + revenue_term
CREATE TABLE abc AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B', 'C'],
	price => 'unit_price', ordered_at => 'ts', discount => 0.2);
CREATE TABLE abc_want AS SELECT
	(ln(10 / 7.0) / -ln(0.5) * 5 / 15 + ln(8 / 7.0) / -ln(0.4) * 4 / 14 + ln(6 / 5.0) / -ln(0.3) * 3 / 13) / 3 AS cohesion,
	ln(6 / 5.0) / -ln(0.3) * 3 / 13 AS min_npmi,
	(94 / 35.0) / (94 / 35.0 + 197 / 24.0) AS rterm;
SELECT is((SELECT (anchor, rank, items, size, count)::text FROM abc), (ARRAY['A'], NULL::int, ARRAY['A', 'B', 'C'], 3, 3::bigint)::text,
	'{A,B,C}: anchor defaults to {A}, rank NULL, size 3, count 3 (c_ABC)');
SELECT ok(near((SELECT support FROM abc), 0.3), '{A,B,C}: support = 3/10');
SELECT ok(near((SELECT cohesion FROM abc), (SELECT cohesion FROM abc_want)),
	'{A,B,C}: cohesion = mean of ln(10/7)/ln2 * 5/15, ln(8/7)/-ln .4 * 4/14, ln(6/5)/-ln .3 * 3/13');
SELECT ok(near((SELECT min_npmi FROM abc), (SELECT min_npmi FROM abc_want)),
	'{A,B,C}: min_npmi = the shrunk npmi of BC, ln(6/5)/-ln(.3) * 3/13');
SELECT ok(near((SELECT mean_lift FROM abc), 44 / 35.0) AND near((SELECT min_lift FROM abc), 8 / 7.0),
	'{A,B,C}: mean_lift = 44/35, min_lift = 8/7');
SELECT ok((SELECT affinity IS NULL FROM abc), '{A,B,C}: affinity NULL without history or vector');
SELECT ok(near((SELECT list_price FROM abc), 229 / 12.0) AND near((SELECT bundle_price FROM abc), 229 / 12.0 * 0.8),
	'{A,B,C}: 90-day window prices 45/4 + 31/6 + 8/3: list 229/12, bundle price 229/12 * 0.8');
SELECT ok(near((SELECT accept_probability FROM abc), 3 / 7.0), '{A,B,C}: accept_probability = c_ABC / c_A = 3/7');
SELECT ok(near((SELECT expected_revenue FROM abc), 94 / 35.0), '{A,B,C}: expected_revenue = 3/7 * (31/6 + 8/3) * 0.8 = 94/35');
SELECT ok(near((SELECT score FROM abc), (SELECT cohesion + rterm FROM abc_want)),
	'{A,B,C}: score = cohesion + (94/35)/(94/35 + 197/24), revenue_scale = median window price 197/24');
SELECT is((SELECT explanation FROM abc),
	'bought together in 3 orders; lift 1.26 (weakest pair 1.14); 43% of anchor buyers took the rest; 15.27 instead of 19.08',
	'{A,B,C}: explanation (44/35 = 1.257, 8/7 = 1.143, 3/7 = 42.9%, 229/12 * 0.8 = 15.267, 229/12 = 19.083)');

------------------------------------------------------------------------------
-- {B, A}, anchor B, no price, shrinkage 0
------------------------------------------------------------------------------
--   npmi_AB = ln(10/7)/-ln(1/2) unshrunk; lift 10/7; accept = c_AB / c_B = 5/5 = 1;
--   score = cohesion (no affinity, no revenue)
CREATE TABLE ba AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['B', 'A'], shrinkage => 0);
SELECT is((SELECT (anchor, items, size, count)::text FROM ba), (ARRAY['B'], ARRAY['B', 'A'], 2, 5::bigint)::text,
	'{B,A}: anchor {B}, count 5');
SELECT ok(near((SELECT cohesion FROM ba), ln(10 / 7.0) / ln(2)) AND near((SELECT min_npmi FROM ba), ln(10 / 7.0) / ln(2)),
	'{B,A} shrinkage 0: cohesion = min_npmi = ln(10/7)/ln 2, unshrunk');
SELECT ok(near((SELECT mean_lift FROM ba), 10 / 7.0) AND near((SELECT min_lift FROM ba), 10 / 7.0)
	AND near((SELECT accept_probability FROM ba), 1) AND near((SELECT support FROM ba), 0.5),
	'{B,A}: lifts 10/7, support 0.5, accept_probability 5/5 = 1 (every B basket holds A)');
SELECT ok((SELECT list_price IS NULL AND bundle_price IS NULL AND expected_revenue IS NULL FROM ba)
	AND near((SELECT score FROM ba), ln(10 / 7.0) / ln(2)),
	'{B,A} without price: prices and expected revenue NULL, score = cohesion');
SELECT is((SELECT explanation FROM ba), 'bought together in 5 orders; lift 1.43; 100% of anchor buyers took the rest',
	'{B,A}: explanation of a pair without prices');

------------------------------------------------------------------------------
-- {C, E}: never bought together; E has no price
------------------------------------------------------------------------------
--   c_CE = 0: npmi = -1, shrunk = -1 * 0/(0 + 10) = 0; lift 0; count 0; accept 0/5 = 0;
--   list NULL (p_E NULL); expected revenue = 0 * p_E -> NULL; score 0
--   shrinkage 0: shrunk = npmi = -1 (the spec: "= -1 when c_ij = 0", "shrinkage 0 gives npmi")
CREATE TABLE ce AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['C', 'E'], price => 'unit_price');
SELECT ok((SELECT count = 0 AND support = 0 AND cohesion = 0 AND min_npmi = 0 AND mean_lift = 0 AND min_lift = 0
	AND accept_probability = 0 AND score = 0 FROM ce),
	'{C,E}: c_CE = 0 gives count, support, cohesion (-1 * 0/10), lifts, accept and score 0');
SELECT ok((SELECT list_price IS NULL AND bundle_price IS NULL AND expected_revenue IS NULL FROM ce),
	'{C,E}: E has no line with a price > 0: list price, bundle price and expected revenue NULL');
SELECT is((SELECT explanation FROM ce), 'bought together in 0 orders; lift 0.00; 0% of anchor buyers took the rest',
	'{C,E}: explanation, no price part when the list price is NULL');
SELECT ok((SELECT near(min_npmi, -1) AND near(cohesion, -1) AND near(score, -1)
	FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['C', 'E'], shrinkage => 0)),
	'{C,E} shrinkage 0: npmi of a never co-bought pair is -1, so cohesion = min_npmi = score = -1');

------------------------------------------------------------------------------
-- Cart {A, B} + D, price without window, discount 0.2, weights 2 / 3 / 0.5, scale 4
------------------------------------------------------------------------------
--   AB: lift 10/7, shrunk ln(10/7)/ln2 * 5/15
--   AD: lift 2*10/(7*4) = 5/7, npmi = ln(5/7)/-ln(.2), shrunk * 2/12
--   BD: lift 1*10/(5*4) = 1/2, npmi = ln(1/2)/-ln(.1), shrunk * 1/11
--   mean_lift = (10/7 + 5/7 + 1/2)/3 = 37/42, min_lift 1/2, min_npmi = AD (-0.034843 < BD -0.027366)
--   count 1, accept = c_ABD / c_AB = 1/5; prices (all lines) 12, 5, 21: list 38, bundle 30.4
--   expected_revenue = 1/5 * 21 * 0.8 = 3.36; score = 2 cohesion + 3 * 0 + 0.5 * 3.36/(3.36 + 4)
CREATE TABLE abd AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B', 'D'], ARRAY['A', 'B'],
	price => 'unit_price', discount => 0.2, cohesion_weight => 2, affinity_weight => 3, revenue_weight => 0.5, revenue_scale => 4);
CREATE TABLE abd_want AS SELECT
	(ln(10 / 7.0) / ln(2) * 5 / 15 + ln(5 / 7.0) / -ln(0.2) * 2 / 12 + ln(0.5) / -ln(0.1) * 1 / 11) / 3 AS cohesion,
	ln(5 / 7.0) / -ln(0.2) * 2 / 12 AS min_npmi;
SELECT is((SELECT (anchor, items, size, count)::text FROM abd), (ARRAY['A', 'B'], ARRAY['A', 'B', 'D'], 3, 1::bigint)::text,
	'cart {A,B} + D: anchor {A,B}, count 1');
SELECT ok(near((SELECT cohesion FROM abd), (SELECT cohesion FROM abd_want)) AND near((SELECT min_npmi FROM abd), (SELECT min_npmi FROM abd_want)),
	'cart {A,B} + D: cohesion and min_npmi (AD) by hand, with a negative pair');
SELECT ok(near((SELECT mean_lift FROM abd), 37 / 42.0) AND near((SELECT min_lift FROM abd), 0.5),
	'cart {A,B} + D: mean_lift 37/42, min_lift 1/2');
SELECT ok(near((SELECT list_price FROM abd), 38) AND near((SELECT bundle_price FROM abd), 30.4),
	'cart {A,B} + D without a window: prices over all lines 12 + 5 + 21 = 38, bundle 30.4');
SELECT ok(near((SELECT accept_probability FROM abd), 0.2) AND near((SELECT expected_revenue FROM abd), 3.36),
	'cart {A,B} + D: accept = c_ABD / c_AB = 1/5, expected revenue = 1/5 * 21 * 0.8 = 3.36 (anchor prices left out)');
SELECT ok(near((SELECT score FROM abd), 2 * (SELECT cohesion FROM abd_want) + 0.5 * 3.36 / 7.36),
	'cart {A,B} + D: score = 2 cohesion + 3 * 0 + 0.5 * 3.36/(3.36 + 4)');
SELECT is((SELECT explanation FROM abd),
	'bought together in 1 order; lift 0.88 (weakest pair 0.50); 20% of anchor buyers took the rest; 30.40 instead of 38.00',
	'cart {A,B} + D: explanation, singular "order", 37/42 = 0.881');

------------------------------------------------------------------------------
-- The price window
------------------------------------------------------------------------------
-- {A, B} with a 30-day window: lines at or after 2024-05-31:
--   A 10, 14, 9 -> 11;  B 4, 6 -> 5;  C 2.5, 2 -> 2.25;  D none -> 21 (all lines)
--   median 2.25, 5, 11, 21 -> 8; list 16; accept 5/7; expected revenue 5/7 * 5 = 25/7
--   revenue term (25/7)/(25/7 + 8) = 25/81
CREATE TABLE ab30 AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'],
	price => 'unit_price', ordered_at => 'ts', price_window => '30 days');
SELECT ok(near((SELECT list_price FROM ab30), 16) AND near((SELECT expected_revenue FROM ab30), 25 / 7.0),
	'{A,B} with a 30-day window: prices 11 + 5 = 16, expected revenue 5/7 * 5');
SELECT ok(near((SELECT score FROM ab30), ln(10 / 7.0) / ln(2) * 5 / 15 + 25 / 81.0),
	'{A,B} with a 30-day window: revenue scale = median 8 of the windowed prices, term 25/81');
-- {A, D} with the default window: D falls back to its all-lines price 21.
--   list 45/4 + 21 = 32.25; accept c_AD / c_A = 2/7; expected revenue 2/7 * 21 = 6;
--   term 6 / (6 + 197/24) = 144/341; lift 2*10/(7*4) = 5/7; npmi ln(5/7)/-ln(.2) * 2/12
CREATE TABLE ad AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'D'],
	price => 'unit_price', ordered_at => 'ts');
SELECT ok(near((SELECT list_price FROM ad), 32.25) AND near((SELECT bundle_price FROM ad), 32.25)
	AND near((SELECT expected_revenue FROM ad), 6),
	'{A,D}: D has no priced line in the window, falls back to its all-lines average 21: list 32.25, revenue 6');
SELECT ok(near((SELECT score FROM ad), ln(5 / 7.0) / -ln(0.2) * 2 / 12 + 144 / 341.0),
	'{A,D}: score = shrunk npmi + 6/(6 + 197/24)');
SELECT is((SELECT explanation FROM ad),
	'bought together in 2 orders; lift 0.71; 29% of anchor buyers took the rest; price 32.25',
	'{A,D}: explanation without discount: "price <list>"');
-- {A, B, C} without ordered_at: prices over all lines 12 + 5 + 2.75 = 19.75
SELECT ok(near((SELECT list_price FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B', 'C'], price => 'unit_price')), 19.75),
	'{A,B,C} without ordered_at: every line with a price > 0 counts: 12 + 5 + 2.75');
-- an anchor without a price: {E, A}, anchor E.  The spec's expected revenue
-- is the sum over B \ S = {A}: accept c_AE / c_E = 1/3, 1/3 * 12 = 4; list
-- price NULL (E).
SELECT ok((SELECT list_price IS NULL AND near(expected_revenue, 4)
	FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['E', 'A'], price => 'unit_price')),
	'{E,A}: list price NULL (E unpriced), expected revenue over the added item A only: 1/3 * 12');

------------------------------------------------------------------------------
-- npmi = 1 when c_ij = N
------------------------------------------------------------------------------
-- 3 baskets, each {X, Y}: N = c_X = c_Y = c_XY = 3: npmi 1, shrunk 3/13, lift 1
CREATE TABLE full_pair (b int, i text);
INSERT INTO full_pair VALUES (1, 'X'), (1, 'Y'), (2, 'Y'), (2, 'X'), (3, 'X'), (3, 'Y'), (3, 'Y');
SELECT ok((SELECT near(cohesion, 3 / 13.0) AND near(mean_lift, 1) AND near(accept_probability, 1) AND near(support, 1)
	FROM bundlerec.bundle_score('full_pair', 'b', 'i', ARRAY['X', 'Y'])),
	'pair in every basket: npmi 1, shrunk 1 * 3/13, lift 1, support 1, integer basket key');
SELECT ok((SELECT near(cohesion, 1) FROM bundlerec.bundle_score('full_pair', 'b', 'i', ARRAY['X', 'Y'], shrinkage => 0)),
	'pair in every basket, shrinkage 0: npmi exactly 1');

------------------------------------------------------------------------------
-- History affinity
------------------------------------------------------------------------------
-- {B, C} (anchor B), history {A, E, Z} (Z unknown, ignored):
--   a_B = 1 - (1 - c_AB/sqrt(c_A c_B)) (1 - c_EB/sqrt(c_E c_B)) = 1 - (1 - 5/sqrt 35)(1 - 1/sqrt 15)
--   a_C = 1 - (1 - 4/sqrt 35)(1 - 0) = 4/sqrt 35;   affinity = (a_B + a_C)/2
--   owned 0; similar: A (shares b01 with B) and E (shares b06 with B) -> 2; Z shares nothing
--   c_BC 3, lift 6/5, accept 3/5
CREATE TABLE h1 AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['B', 'C'], history => ARRAY['A', 'E', 'Z']);
SELECT ok(near((SELECT affinity FROM h1), ((1 - (1 - 5 / sqrt(35)) * (1 - 1 / sqrt(15))) + 4 / sqrt(35)) / 2),
	'history {A,E,Z} for {B,C}: mean of 1 - prod(1 - cos), unknown Z ignored');
SELECT ok(near((SELECT score FROM h1), ln(6 / 5.0) / -ln(0.3) * 3 / 13 + ((1 - (1 - 5 / sqrt(35)) * (1 - 1 / sqrt(15))) + 4 / sqrt(35)) / 2),
	'history {A,E,Z} for {B,C}: score = cohesion + affinity');
SELECT is((SELECT explanation FROM h1),
	'bought together in 3 orders; lift 1.20; 60% of anchor buyers took the rest; you bought 2 similar items',
	'history {A,E,Z} for {B,C}: two similar items, none owned');
-- {A, B, C}, history {A, D}, price with window, discount 0.2:
--   a_A = 1 (owned); a_B = 1 - (1 - 5/sqrt 35)(1 - 1/sqrt 20); a_C = 1 - (1 - 4/sqrt 35)(1 - 2/sqrt 20)
--   owned 1 (A); similar: D shares b03 with B and C -> 1
CREATE TABLE h2 AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B', 'C'],
	price => 'unit_price', ordered_at => 'ts', discount => 0.2, history => ARRAY['A', 'D']);
SELECT ok(near((SELECT affinity FROM h2), (1 + (1 - (1 - 5 / sqrt(35)) * (1 - 1 / sqrt(20))) + (1 - (1 - 4 / sqrt(35)) * (1 - 2 / sqrt(20)))) / 3),
	'history {A,D} for {A,B,C}: a_A = 1, a_B and a_C by noisy-or of cosines');
SELECT ok(near((SELECT score FROM h2), (SELECT cohesion + rterm FROM abc_want)
	+ (1 + (1 - (1 - 5 / sqrt(35)) * (1 - 1 / sqrt(20))) + (1 - (1 - 4 / sqrt(35)) * (1 - 2 / sqrt(20)))) / 3),
	'history {A,D} for {A,B,C}: score = cohesion + affinity + revenue term');
SELECT is((SELECT explanation FROM h2),
	'bought together in 3 orders; lift 1.26 (weakest pair 1.14); 43% of anchor buyers took the rest; you bought 1 of these; you bought 1 similar item; 15.27 instead of 19.08',
	'history {A,D} for {A,B,C}: one owned, one similar, then the prices');
-- {D, C}, history {D, E}: a_D = 1; a_C = 1 - (1 - 2/sqrt 20)(1 - 0/sqrt 15) = 2/sqrt 20;
--   owned 1 (D); E shares a basket only with D (b07), which is in the history, never with C -> not similar
--   c_CD 2, lift 2*10/(4*5) = 1, accept 2/4
CREATE TABLE h3 AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['D', 'C'], history => ARRAY['D', 'E']);
SELECT ok(near((SELECT affinity FROM h3), (1 + 2 / sqrt(20)) / 2), 'history {D,E} for {D,C}: (1 + 2/sqrt 20)/2');
SELECT is((SELECT explanation FROM h3),
	'bought together in 2 orders; lift 1.00; 50% of anchor buyers took the rest; you bought 1 of these',
	'history {D,E} for {D,C}: E shares baskets only with the owned D, so no similar item');

------------------------------------------------------------------------------
-- Embedding affinity
------------------------------------------------------------------------------
-- factors: A (0.5, 1), B (2, 0), D (-1, 3); customer x = (1, -0.5)
--   x.A = 0, x.B = 2, x.D = -2.5; C and E have no row
--   {A,B,C}: (1/(1+e^0) + 1/(1+e^-2)) / 2 = 0.6904 -> 69%
--   {B,D}:   (1/(1+e^-2) + 1/(1+e^2.5)) / 2 = 0.4783 -> 48%
--   {C,E}:   no row -> NULL
CREATE TABLE fac (item text PRIMARY KEY, factors real[]);
INSERT INTO fac VALUES ('A', '{0.5,1}'), ('B', '{2,0}'), ('D', '{-1,3}');
CREATE TABLE e1 AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B', 'C'],
	price => 'unit_price', customer_vector => '{1,-0.5}', item_factors => 'fac');
SELECT ok(near((SELECT affinity FROM e1), (0.5 + 1 / (1 + exp(-2.0))) / 2),
	'vector for {A,B,C}: mean sigmoid over the items with a row (A, B), C left out');
-- no window: list 19.75, accept 3/7, expected revenue 3/7 * (5 + 2.75), scale 8.5
SELECT ok(near((SELECT score FROM e1), (SELECT cohesion FROM abc_want) + (0.5 + 1 / (1 + exp(-2.0))) / 2
	+ (3 / 7.0 * 7.75) / (3 / 7.0 * 7.75 + 8.5)),
	'vector for {A,B,C}: score = cohesion + affinity + (3/7 * 7.75)/(3/7 * 7.75 + 8.5)');
SELECT is((SELECT explanation FROM e1),
	'bought together in 3 orders; lift 1.26 (weakest pair 1.14); 43% of anchor buyers took the rest; taste match 69%; price 19.75',
	'vector for {A,B,C}: taste match then price');
CREATE TABLE e2 AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['B', 'D'],
	customer_vector => '{1,-0.5}', item_factors => 'fac', affinity_weight => 2);
SELECT ok(near((SELECT affinity FROM e2), (1 / (1 + exp(-2.0)) + 1 / (1 + exp(2.5))) / 2)
	AND near((SELECT score FROM e2), ln(0.5) / -ln(0.1) / 11 + 2 * (1 / (1 + exp(-2.0)) + 1 / (1 + exp(2.5))) / 2),
	'vector for {B,D}, affinity_weight 2: affinity (sig(2) + sig(-2.5))/2, score = cohesion + 2 affinity');
SELECT is((SELECT explanation FROM e2),
	'bought together in 1 order; lift 0.50; 20% of anchor buyers took the rest; taste match 48%',
	'vector for {B,D}: explanation');
SELECT ok((SELECT affinity IS NULL AND score = 0 FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['C', 'E'],
	customer_vector => '{1,-0.5}', item_factors => 'fac')),
	'vector for {C,E}: no item has a row, affinity NULL (counts 0 in the score)');

------------------------------------------------------------------------------
-- Content alikeness
------------------------------------------------------------------------------
-- sim lists A-B 0.8 and B-A 0.6 (a pair listed both ways keeps the larger),
-- A-C 0.2, B-D -0.5; C-Z names an item not in the source and D-D an item
-- with itself, both ignored; every other pair counts 0.
--   {A,B,C}: alike = (0.8 + 0.2 + 0 (B-C)) / 3 = 1/3
--   {B,D}:   alike = -0.5
--   {C,E}:   alike = 0
CREATE TABLE sim (item text, neighbor text, similarity float8);
INSERT INTO sim VALUES ('A', 'B', 0.8), ('B', 'A', 0.6), ('A', 'C', 0.2), ('B', 'D', -0.5), ('C', 'Z', 0.9), ('D', 'D', 1);
CREATE TABLE c1 AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B', 'C'],
	content => 'sim', alike_weight => 0.5);
CREATE TABLE c1_base AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B', 'C']);
SELECT ok(near((SELECT alike FROM c1), 1 / 3.0) AND near((SELECT score FROM c1), (SELECT score FROM c1_base) + 0.5 / 3),
	'content {A,B,C}, alike_weight 0.5: alike (0.8 + 0.2 + 0)/3, score = the score without content + 0.5 * 1/3');
SELECT ok((SELECT near(alike, 1 / 3.0) AND near(score, (SELECT score FROM c1_base))
	FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B', 'C'], content => 'sim')),
	'content {A,B,C}, alike_weight 0 (default): alike still reported, score unchanged');
SELECT is((SELECT explanation FROM c1),
	'bought together in 3 orders; lift 1.26 (weakest pair 1.14); 43% of anchor buyers took the rest; content similarity 0.33',
	'content {A,B,C}: explanation ends with the content similarity');
CREATE TABLE c2 AS SELECT * FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['B', 'D'],
	content => 'sim', alike_weight => -1);
SELECT ok(near((SELECT alike FROM c2), -0.5)
	AND near((SELECT score FROM c2), (SELECT score FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['B', 'D'])) + 0.5),
	'content {B,D}, alike_weight -1: alike -0.5, an unlike pair gains 0.5');
SELECT is((SELECT explanation FROM c2),
	'bought together in 1 order; lift 0.50; 20% of anchor buyers took the rest; content similarity -0.50',
	'content {B,D}: a negative similarity in the explanation');
SELECT ok((SELECT alike = 0 AND explanation NOT LIKE '%content%'
	FROM bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['C', 'E'], content => 'sim', alike_weight => 2)),
	'content {C,E}: a pair the table does not list counts 0, and the explanation leaves it out');
SELECT ok((SELECT alike IS NULL FROM ba), 'without content: alike NULL');

------------------------------------------------------------------------------
-- Brute force over a generated fixture
------------------------------------------------------------------------------
-- 300 baskets of 1 to 6 lines, items i01..i25 drawn with P(k) = ln((k+1)/k)/ln 26
-- (about 1/k), repeats allowed; prices around a per-item base, 6% of lines 0
-- and 6% NULL, i23 never priced, i22's lines all outside the window;
-- timestamps over 2024-01-01 + 0..180 days; three skipped lines (NULL basket
-- or item, NULL price, old).
SELECT setseed(0.5);
CREATE TABLE gsize AS SELECT b, 1 + floor(random() * 6)::int AS sz FROM generate_series(1, 300) b ORDER BY b;
CREATE TABLE gpick AS
	SELECT g.b, s, least(25, floor(exp(random() * ln(26))))::int AS k, random() AS r1, random() AS r2, random() AS r3
	FROM gsize g JOIN generate_series(1, 6) s ON s <= g.sz ORDER BY g.b, s;
CREATE TABLE gen AS
	SELECT b AS basket, 'i' || lpad(k::text, 2, '0') AS item,
	       CASE WHEN k = 23 OR r1 < 0.06 THEN NULL WHEN r1 < 0.12 THEN 0
	            ELSE round(((2 + (k * 37 % 23) * 1.7 + k * 0.13) * (0.8 + 0.4 * r2))::numeric, 2) END AS unit_price,
	       timestamp '2024-01-01' + (CASE WHEN k = 22 THEN 60 * r3 ELSE 180 * r3 END) * interval '1 day' AS ts
	FROM gpick;
INSERT INTO gen VALUES (NULL, 'i01', NULL, '2024-01-02'), (301, NULL, NULL, '2024-01-02'), (NULL, NULL, NULL, '2024-01-02');

-- Brute-force tables, per fixture (fx): baskets as arrays, item counts,
-- item prices over all lines and in the 90-day window (with the fallback),
-- N and the median prices.
CREATE TABLE bsk (fx text, b text, its text[]);
CREATE TABLE ic (fx text, item text, c float8);
CREATE TABLE ip (fx text, item text, p_all float8, p_win float8);
CREATE TABLE fxn (fx text, n float8, med_all float8, med_win float8);
CREATE FUNCTION load_fx(p_fx text, src text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE format($q$INSERT INTO bsk SELECT %L, basket::text, array_agg(DISTINCT item::text) FROM %I
	                  WHERE basket IS NOT NULL AND item IS NOT NULL GROUP BY basket$q$, p_fx, src);
	INSERT INTO ic SELECT p_fx, i, count(*) FROM bsk, unnest(its) i WHERE bsk.fx = p_fx GROUP BY i;
	EXECUTE format($q$INSERT INTO ip
		WITH mx AS (SELECT max(ts) AS m FROM %2$I)
		SELECT %1$L, item::text, avg(unit_price::float8) FILTER (WHERE unit_price > 0),
		       coalesce(avg(unit_price::float8) FILTER (WHERE unit_price > 0 AND ts >= m - interval '90 days'),
		                avg(unit_price::float8) FILTER (WHERE unit_price > 0))
		FROM %2$I, mx WHERE item IS NOT NULL AND basket IS NOT NULL GROUP BY item$q$, p_fx, src);
	INSERT INTO fxn SELECT p_fx,
		(SELECT count(*) FROM bsk WHERE bsk.fx = p_fx),
		(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p_all) FROM ip WHERE ip.fx = p_fx AND p_all IS NOT NULL),
		(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p_win) FROM ip WHERE ip.fx = p_fx AND p_win IS NOT NULL);
END
$f$;
SELECT load_fx('hand', 'hand'), load_fx('gen', 'gen');

CREATE FUNCTION cnt(p_fx text, s text[]) RETURNS float8 LANGUAGE sql STABLE AS
	$$ SELECT count(*)::float8 FROM bsk WHERE bsk.fx = p_fx AND its @> s $$;

-- The formulas of the spec, one bundle at a time.
CREATE FUNCTION bf(p_fx text, p_items text[], p_anchor text[], p_price boolean, p_ts boolean, p_discount float8,
                   p_shrink float8, p_hist text[], p_cw float8, p_aw float8, p_rw float8, p_scale float8)
RETURNS TABLE (count float8, support float8, cohesion float8, min_npmi float8, mean_lift float8, min_lift float8,
               affinity float8, list_price float8, bundle_price float8, accept_probability float8,
               expected_revenue float8, score float8)
LANGUAGE sql STABLE AS $$
	WITH nn AS (SELECT n, CASE WHEN p_ts THEN med_win ELSE med_all END AS med FROM fxn WHERE fxn.fx = p_fx),
	it AS (SELECT u.i, u.o, ic.c, u.i = ANY (p_anchor) AS in_s,
	              CASE WHEN p_price THEN CASE WHEN p_ts THEN ip.p_win ELSE ip.p_all END END AS p
	       FROM unnest(p_items) WITH ORDINALITY u(i, o) JOIN ic ON ic.fx = p_fx AND ic.item = u.i
	       LEFT JOIN ip ON ip.fx = p_fx AND ip.item = u.i),
	pr AS (SELECT a.c AS ci, b.c AS cj, cnt(p_fx, ARRAY[a.i, b.i]) AS cij FROM it a JOIN it b ON a.o < b.o),
	pm AS (SELECT cij * n / (ci * cj) AS lift, cij,
	              CASE WHEN cij = 0 THEN -1 WHEN cij = n THEN 1 ELSE ln(cij * n / (ci * cj)) / -ln(cij / n) END AS npmi
	       FROM pr, nn),
	co AS (SELECT avg(s) AS cohesion, min(s) AS min_npmi, avg(lift) AS mean_lift, min(lift) AS min_lift
	       FROM (SELECT lift, CASE WHEN p_shrink = 0 THEN npmi ELSE npmi * cij / (cij + p_shrink) END AS s FROM pm) x),
	cb AS (SELECT cnt(p_fx, p_items) AS cb, cnt(p_fx, p_anchor) AS cs),
	pc AS (SELECT CASE WHEN bool_and(p IS NOT NULL) THEN sum(p) END AS lp,
	              CASE WHEN bool_and(p IS NOT NULL) FILTER (WHERE NOT in_s) THEN sum(p) FILTER (WHERE NOT in_s) END AS rest
	       FROM it),
	af AS (SELECT CASE WHEN p_hist IS NOT NULL THEN avg(a) END AS affinity FROM (
	         SELECT CASE WHEN it.i = ANY (p_hist) THEN 1
	                     ELSE 1 - (SELECT mul(1 - cnt(p_fx, ARRAY[h.item, it.i]) / sqrt(h.c * it.c))
	                               FROM ic h WHERE h.fx = p_fx AND h.item = ANY (p_hist))
	                END AS a FROM it) y),
	r AS (SELECT cb.cb, cb.cb / nn.n AS support, co.*, af.affinity, pc.lp, pc.lp * (1 - p_discount) AS bp,
	             cb.cb / nullif(cb.cs, 0) AS acc, cb.cb / nullif(cb.cs, 0) * pc.rest * (1 - p_discount) AS er, nn.med
	      FROM cb, nn, co, af, pc)
	SELECT cb, support, cohesion, min_npmi, mean_lift, min_lift, affinity, lp, bp, acc, er,
	       p_cw * cohesion + p_aw * coalesce(affinity, 0) + p_rw * coalesce(er / (er + coalesce(p_scale, med)), 0)
	FROM r
$$;

-- Oracle checks: bf reproduces the hand values of {A,B,C} with history
-- {A,D} (h2 above) and of the cart {A,B} + D.
SELECT ok((SELECT count = 3 AND near(support, 0.3) AND near(cohesion, (SELECT cohesion FROM abc_want))
	AND near(min_npmi, (SELECT min_npmi FROM abc_want)) AND near(mean_lift, 44 / 35.0) AND near(min_lift, 8 / 7.0)
	AND near(list_price, 229 / 12.0) AND near(bundle_price, 229 / 12.0 * 0.8) AND near(accept_probability, 3 / 7.0)
	AND near(expected_revenue, 94 / 35.0)
	AND near(affinity, (1 + (1 - (1 - 5 / sqrt(35)) * (1 - 1 / sqrt(20))) + (1 - (1 - 4 / sqrt(35)) * (1 - 2 / sqrt(20)))) / 3)
	AND near(score, (SELECT cohesion + rterm FROM abc_want) + affinity)
	FROM bf('hand', ARRAY['A', 'B', 'C'], ARRAY['A'], true, true, 0.2, 10, ARRAY['A', 'D'], 1, 1, 1, NULL)),
	'oracle check: the brute force gives the hand values of {A,B,C}, window prices, discount .2, history {A,D}');
SELECT ok((SELECT count = 1 AND near(cohesion, (SELECT cohesion FROM abd_want)) AND near(min_npmi, (SELECT min_npmi FROM abd_want))
	AND near(mean_lift, 37 / 42.0) AND near(list_price, 38) AND near(accept_probability, 0.2) AND near(expected_revenue, 3.36)
	AND affinity IS NULL AND near(score, 2 * (SELECT cohesion FROM abd_want) + 0.5 * 3.36 / 7.36)
	FROM bf('hand', ARRAY['A', 'B', 'D'], ARRAY['A', 'B'], true, false, 0.2, 10, NULL, 2, 3, 0.5, 4)),
	'oracle check: the brute force gives the hand values of the cart {A,B} + D');
SELECT ok((SELECT near(med_all, 8.5) AND near(med_win, 197 / 24.0) FROM fxn WHERE fx = 'hand'),
	'oracle check: the brute-force medians of the hand fixture are 8.5 and 197/24');

-- 150 random bundles: size 2..4 drawn by weight 1/k without replacement
-- (exponential race), a random anchor of 1..size-1 of them (given for 3 in
-- 4 draws, else the default items[1]), random parameters.
CREATE TABLE draws (id int, items text[], anchor text[], anchor_arg text[], use_price boolean, use_ts boolean,
                    discount float8, shrink float8, hist text[], cw float8, aw float8, rw float8, scale float8);
DO $$
DECLARE
	m int; a int; its text[]; anc text[]; hist text[];
BEGIN
	FOR d IN 1..150 LOOP
		m := 2 + floor(random() * 3)::int;
		SELECT array_agg(item ORDER BY key) INTO its
		FROM (SELECT item, -ln(1 - random()) * substr(item, 2)::int AS key FROM ic WHERE fx = 'gen' ORDER BY item COLLATE "C") s;
		its := its[1:m];
		IF random() < 0.75 THEN
			a := 1 + floor(random() * (m - 1))::int;
			SELECT array_agg(x ORDER BY r) INTO anc FROM (SELECT x, random() AS r FROM unnest(its) x) s;
			anc := anc[1:a];
		ELSE
			anc := NULL;
		END IF;
		hist := NULL;
		IF random() < 0.35 THEN
			SELECT array_agg(item ORDER BY key) INTO hist
			FROM (SELECT item, -ln(1 - random()) * substr(item, 2)::int AS key FROM ic WHERE fx = 'gen' ORDER BY item COLLATE "C") s;
			hist := hist[1:1 + floor(random() * 3)::int];
			IF random() < 0.5 THEN hist := hist || 'zz'::text; END IF;
		END IF;
		INSERT INTO draws VALUES (d, its, coalesce(anc, its[1:1]), anc, random() < 0.8, random() < 0.5,
			(ARRAY[0, 0.15, 0.3])[1 + floor(random() * 3)::int],
			(ARRAY[0, 2.5, 10])[1 + floor(random() * 3)::int],
			hist,
			CASE WHEN random() < 0.5 THEN 1 ELSE 2 * random() END,
			CASE WHEN random() < 0.5 THEN 1 ELSE 2 * random() END,
			CASE WHEN random() < 0.5 THEN 1 ELSE 2 * random() END,
			CASE WHEN random() < 0.3 THEN 1 + 19 * random() END);
	END LOOP;
END $$;

CREATE TABLE got AS
	SELECT d.id, r.*
	FROM draws d CROSS JOIN LATERAL bundlerec.bundle_score('gen', 'basket', 'item', d.items, d.anchor_arg,
		price => CASE WHEN d.use_price THEN 'unit_price' END, ordered_at => CASE WHEN d.use_ts THEN 'ts' END,
		discount => d.discount, history => d.hist, shrinkage => d.shrink,
		cohesion_weight => d.cw, affinity_weight => d.aw, revenue_weight => d.rw, revenue_scale => d.scale) r;
CREATE TABLE want AS
	SELECT d.id, cnt('gen', d.anchor) AS cs,
	       EXISTS (SELECT 1 FROM unnest(d.items) WITH ORDINALITY a(i, o) JOIN unnest(d.items) WITH ORDINALITY b(j, p)
	               ON a.o < b.p WHERE cnt('gen', ARRAY[a.i, b.j]) = 0) AS zero_pair, w.*
	FROM draws d CROSS JOIN LATERAL bf('gen', d.items, d.anchor, d.use_price, d.use_ts, d.discount, d.shrink, d.hist,
	                                   d.cw, d.aw, d.rw, d.scale) w;
-- Rows compared: every draw whose anchor set is held by some basket
-- (accept_probability = c_B / c_S is undefined for c_S = 0).  Draws with
-- shrinkage 0 and a never co-bought pair are checked apart (npmi -1).
CREATE VIEW cmp AS
	SELECT d.*, g.anchor AS g_anchor, g.rank AS g_rank, g.items AS g_items, g.size AS g_size, g.count AS g_count,
	       g.support AS g_support, g.cohesion AS g_cohesion, g.min_npmi AS g_min_npmi, g.mean_lift AS g_mean_lift,
	       g.min_lift AS g_min_lift, g.affinity AS g_affinity, g.list_price AS g_list_price,
	       g.bundle_price AS g_bundle_price, g.accept_probability AS g_accept, g.expected_revenue AS g_er,
	       g.score AS g_score, w.cs, w.zero_pair, w.count, w.support, w.cohesion, w.min_npmi, w.mean_lift, w.min_lift,
	       w.affinity, w.list_price, w.bundle_price, w.accept_probability, w.expected_revenue, w.score,
	       w.zero_pair AND d.shrink = 0 AS npmi_minus_one
	FROM draws d JOIN got g USING (id) JOIN want w USING (id)
	WHERE w.cs > 0;

SELECT ok((SELECT count(*) >= 130 AND count(*) FILTER (WHERE count = 0) >= 5 AND count(*) FILTER (WHERE count >= 3) >= 30
	AND count(*) FILTER (WHERE cardinality(items) = 4) >= 20 AND count(*) FILTER (WHERE cardinality(anchor) >= 2) >= 15
	AND count(*) FILTER (WHERE use_price AND list_price IS NULL) >= 3 AND count(*) FILTER (WHERE expected_revenue > 0) >= 40
	AND count(*) FILTER (WHERE hist IS NOT NULL) >= 25 AND count(*) FILTER (WHERE npmi_minus_one) >= 1
	AND count(*) FILTER (WHERE use_ts AND use_price AND items @> ARRAY['i22']) >= 1
	FROM cmp),
	'fixture: over 130 bundles compared, with zero and larger counts, size 4, carts, unpriced items, histories, the window fallback (i22)');
SELECT is((SELECT count(*) FROM draws), (SELECT count(*) FROM got), 'generated: one row per bundle_score call');
SELECT is((SELECT count(*) FROM cmp WHERE g_anchor IS DISTINCT FROM anchor OR g_rank IS NOT NULL
	OR g_size <> cardinality(items)
	OR g_items IS DISTINCT FROM anchor || ARRAY(SELECT x FROM unnest(items) WITH ORDINALITY u(x, o) WHERE NOT x = ANY (anchor) ORDER BY o)),
	0::bigint, 'generated: anchor as given (default items[1]), items = anchor then the rest in the given order, size, rank NULL');
SELECT is((SELECT count(*) FROM cmp WHERE g_count IS DISTINCT FROM count::bigint OR NOT near(g_support, support, 1e-9)),
	0::bigint, 'generated: count = baskets holding every item, support = count / N');
SELECT is((SELECT count(*) FROM cmp WHERE NOT npmi_minus_one AND (NOT near(g_cohesion, cohesion, 1e-9) OR NOT near(g_min_npmi, min_npmi, 1e-9))),
	0::bigint, 'generated: cohesion and min_npmi = mean and min of npmi * c_ij/(c_ij + shrinkage) over the pairs');
SELECT is((SELECT count(*) FROM cmp WHERE npmi_minus_one AND (NOT near(g_cohesion, cohesion, 1e-9) OR NOT near(g_min_npmi, min_npmi, 1e-9))),
	0::bigint, 'generated, shrinkage 0 with a never co-bought pair: that pair counts npmi -1');
SELECT is((SELECT count(*) FROM cmp WHERE NOT near(g_mean_lift, mean_lift, 1e-9) OR NOT near(g_min_lift, min_lift, 1e-9)),
	0::bigint, 'generated: mean_lift and min_lift');
SELECT is((SELECT count(*) FROM cmp WHERE NOT near(g_accept, accept_probability, 1e-9)),
	0::bigint, 'generated: accept_probability = c_B / c_S');
SELECT is((SELECT count(*) FROM cmp WHERE NOT near(g_list_price, list_price, 1e-9) OR NOT near(g_bundle_price, bundle_price, 1e-9)),
	0::bigint, 'generated: list and bundle prices (window or all lines, price > 0, fallback, NULL when unpriced)');
SELECT is((SELECT count(*) FROM cmp WHERE NOT near(g_er, expected_revenue, 1e-9)),
	0::bigint, 'generated: expected revenue = accept * added items'' prices * (1 - discount)');
SELECT is((SELECT count(*) FROM cmp WHERE NOT near(g_affinity, affinity, 1e-9)),
	0::bigint, 'generated: history affinity = mean of 1 - prod(1 - c_hi/sqrt(c_h c_i)), 1 for owned items, NULL without history');
SELECT is((SELECT count(*) FROM cmp WHERE NOT npmi_minus_one AND NOT near(g_score, score, 1e-9)),
	0::bigint, 'generated: score = weights . (cohesion, affinity, revenue term), scale = given or median price');

------------------------------------------------------------------------------
-- Errors
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', NULL)$$,
	'22004', NULL, 'items NULL: 22004');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', '{}')$$,
	'22023', NULL, 'items empty: 22023');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A'])$$,
	'22023', NULL, 'one item: 22023');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B', 'A'])$$,
	'22023', NULL, 'a duplicate item: 22023');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'Q9'])$$,
	'22023', NULL, 'an item not in the source: 22023');
SELECT throws_like($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'Q9'])$$,
	'%Q9%', 'an item not in the source: the message names it');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', NULL])$$,
	'22004', NULL, 'a NULL item: 22004');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], ARRAY['C'])$$,
	'22023', NULL, 'anchor not a subset of items: 22023');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], ARRAY['B', 'A'])$$,
	'22023', NULL, 'anchor = all items: 22023');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], discount => -0.1)$$,
	'22023', NULL, 'discount -0.1: 22023');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], discount => 1)$$,
	'22023', NULL, 'discount 1: 22023');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], shrinkage => -1)$$,
	'22023', NULL, 'shrinkage -1: 22023');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], price => 'no_such_price')$$,
	'42703', NULL, 'a missing price column: 42703');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'no_such_basket', 'item', ARRAY['A', 'B'])$$,
	'42703', NULL, 'a missing basket column: 42703');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], customer_vector => '{1,-0.5}')$$,
	'22004', NULL, 'customer_vector without item_factors: 22004');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], customer_vector => '{1,2,3}', item_factors => 'fac')$$,
	'22023', NULL, 'a vector of 3 against 2 factors: 22023');

SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], alike_weight => 1)$$,
	'22004', NULL, 'alike_weight without content: 22004');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], content => 'fac')$$,
	'42703', NULL, 'content without item, neighbor and similarity columns: 42703');
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], content => 'sim', alike_weight => 'NaN')$$,
	'22023', NULL, 'alike_weight NaN: 22023');
INSERT INTO sim VALUES ('C', 'D', NULL);
SELECT throws_like($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], content => 'sim')$$,
	'%C and D%NULL%', 'a NULL similarity: an error naming the pair');
UPDATE sim SET similarity = 1.5 WHERE item = 'C' AND neighbor = 'D';
SELECT throws_ok($$SELECT bundlerec.bundle_score('hand', 'basket', 'item', ARRAY['A', 'B'], content => 'sim')$$,
	'22023', NULL, 'a similarity of 1.5: 22023');

SELECT * FROM finish();
ROLLBACK;
