-- models_evaluate.sql: evaluate()'s protocol on a hand-built shop where items
-- sold only in the test period (x, y, z) are unknown to training.
--   1. complete the cart: which test orders are cases, what is dropped, the
--      hidden item, the popularity baseline's metrics (by hand and by a
--      brute-force query) and the model row against complete_cart of a
--      model trained on the training lines only.
--   2. next period: relevant sets without unknown items, a customer left
--      with none skipped, the popularity and repeat baselines by hand (the
--      repeat lists back-filled by popularity to k).
--   3. the protocol: refresh_history's metrics -> 'protocol', the printed
--      lines, a seeded sample (eval_max_baskets 2) and a model without
--      customers.
--   4. every evaluation function within the 150-line rule.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(36);

CREATE SCHEMA tap_models_evaluate;
SET LOCAL search_path = tap_models_evaluate, public;
SET LOCAL jit = off;

-- |have - want| <= tol (NULLs are never near)
CREATE FUNCTION near(have float8, want float8, tol float8 DEFAULT 1e-9)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(abs(have - want) <= tol, false)
$$;

-- train (before 2024-03-01), 10 orders:       test (from 2024-03-01), 11 orders:
--   t01 u1 01-01: a b c                         s01 u1: a x      1 known: skipped (for x)
--   t02 u1 01-05: a b                           s02 u2: b c y    case, y dropped
--   t03 u2 01-03: a d                           s03 u3: x y      0 known: skipped (for x y)
--   t04 u2 01-10: b c                           s04 u4: d        1 item: skipped
--   t05 u3 01-07: a e                           s05 u6: a d e    case
--   t06 u3 01-12: a b                           s06 u5: c f z    case, z dropped
--   t07 u4 01-08: c f                           s07 u1: b d      case
--   t08 u5 01-09: d                             s08 u7: z        1 item: skipped
--   t09 u1 01-20: a c                           s09 u3: x        1 item: skipped
--   t10 u2 01-25: a b                           s10 u2: e f x y  case, x y dropped
--                                               s11 u5: a        1 item: skipped
-- orders: a 7, b 5, c 4, d 2, e 1, f 1 (support = orders / 10); popularity
-- a b c d e f (e before f: ties by item). k = 3.
--
-- complete the cart: cases s02 s05 s06 s07 s10 (5 of 11 orders; 6 skipped,
-- s01 and s03 because of unknown items); 1 + 0 + 1 + 0 + 2 = 4 unknown items
-- dropped. The hidden item, first by md5(order/item) among known items
-- (checked below; the old rule, over all items, hid y in s02: a sure miss):
--   s02 hide c, cart b   -> popular [a c d]: hit at 2
--   s05 hide d, cart a e -> [b c d]: hit at 3
--   s06 hide f, cart c   -> [a b d]: miss
--   s07 hide b, cart d   -> [a b c]: hit at 2
--   s10 hide f, cart e   -> [a b c]: miss
--   popularity: hit_rate = recall = 3/5, precision 3/15 = 1/5,
--   ndcg = (2 / log2 3 + 1/2) / 5, coverage |{a b c d}| / 6 = 2/3,
--   novelty = (4 -log2 .7 + 4 * 1 + 4 -log2 .4 + 3 -log2 .2) / 15
--
-- next period (customers of training u1..u5; u6 u7 are new):
--   u1 {a b d} (x dropped), u2 {b c e f} (x y dropped), u3 {} (x y dropped:
--   skipped), u4 {d}, u5 {a c f} (z dropped): 4 cases, 1 skipped, 6 dropped.
--   popularity [a b c]: u1 2 hits (1, 2), u2 2 (2, 3), u4 0, u5 2 (1, 3)
--     hit_rate 3/4, precision (2/3 + 2/3 + 0 + 2/3) / 4 = 1/2,
--     recall (2/3 + 2/4 + 0 + 2/3) / 4 = 11/24
--   repeat (training items by orders desc, last ordered desc, item; then
--   popularity up to k):
--     u1 a (3), c (2, 01-20), b (2, 01-05)      -> [a c b]: a 1, b 3
--     u2 a (2, 01-25), b (2, 01-25), c (1, 01-10) -> [a b c]: b 2, c 3
--     u4 c, f (1 each, 01-08) + a               -> [c f a]: no hit
--     u5 d + a b                                -> [d a b]: a 2 (the back-fill)
--     hit_rate 3/4, precision (2/3 + 2/3 + 0 + 1/3) / 4 = 5/12,
--     recall (2/3 + 2/4 + 0 + 1/3) / 4 = 3/8,
--     ndcg = ((1 + 1/2) + (1/log2 3 + 1/2) + 0 + 1/log2 3) / I / 4 with
--       I = 1 + 1/log2 3 + 1/2 (every relevant set has 3 or more items but u4's;
--       u4 scores 0 whatever its I),
--     coverage |{a b c d f}| / 6 = 5/6,
--     novelty = (4 -log2 .7 + 3 * 1 + 3 -log2 .4 + -log2 .2 + -log2 .1) / 12
--     (12 entries: 3 per list; without the back-fill 9)
CREATE TABLE ev_lines (basket text, item text, customer text, ordered_at timestamptz, quantity int, price numeric);
INSERT INTO ev_lines
SELECT v.basket, i.item, v.customer, v.ts::timestamptz, 1, 1
FROM (VALUES
	('t01', 'u1', '2024-01-01 12:00+00', 'a b c'),
	('t02', 'u1', '2024-01-05 12:00+00', 'a b'),
	('t03', 'u2', '2024-01-03 12:00+00', 'a d'),
	('t04', 'u2', '2024-01-10 12:00+00', 'b c'),
	('t05', 'u3', '2024-01-07 12:00+00', 'a e'),
	('t06', 'u3', '2024-01-12 12:00+00', 'a b'),
	('t07', 'u4', '2024-01-08 12:00+00', 'c f'),
	('t08', 'u5', '2024-01-09 12:00+00', 'd'),
	('t09', 'u1', '2024-01-20 12:00+00', 'a c'),
	('t10', 'u2', '2024-01-25 12:00+00', 'a b'),
	('s01', 'u1', '2024-03-02 12:00+00', 'a x'),
	('s02', 'u2', '2024-03-03 12:00+00', 'b c y'),
	('s03', 'u3', '2024-03-04 12:00+00', 'x y'),
	('s04', 'u4', '2024-03-05 12:00+00', 'd'),
	('s05', 'u6', '2024-03-06 12:00+00', 'a d e'),
	('s06', 'u5', '2024-03-07 12:00+00', 'c f z'),
	('s07', 'u1', '2024-03-08 12:00+00', 'b d'),
	('s08', 'u7', '2024-03-09 12:00+00', 'z'),
	('s09', 'u3', '2024-03-10 12:00+00', 'x'),
	('s10', 'u2', '2024-03-11 12:00+00', 'e f x y'),
	('s11', 'u5', '2024-03-12 12:00+00', 'a')
) v(basket, customer, ts, items)
CROSS JOIN LATERAL unnest(string_to_array(v.items, ' ')) i(item);

-- brute force: the known items of each test order (known = sold before the
-- split), the cases and their hidden item by the md5 rule
CREATE VIEW ev_known AS
SELECT DISTINCT l.basket, l.item FROM ev_lines l
WHERE l.ordered_at >= '2024-03-01 00:00+00'
  AND l.item IN (SELECT t.item FROM ev_lines t WHERE t.ordered_at < '2024-03-01 00:00+00');
CREATE VIEW ev_carts AS
WITH b AS (SELECT basket, array_agg(item ORDER BY item) AS items FROM ev_known GROUP BY basket HAVING count(*) >= 2)
SELECT b.basket, h.item AS hidden, array_remove(b.items, h.item) AS cart
FROM b CROSS JOIN LATERAL (SELECT u.item FROM unnest(b.items) u(item)
                           ORDER BY md5(b.basket || '/' || u.item), u.item LIMIT 1) h;
-- popularity among the training orders, and its top 3 outside each cart
CREATE VIEW ev_pop AS
SELECT item, row_number() OVER (ORDER BY count(DISTINCT basket) DESC, item COLLATE "C") AS pos
FROM ev_lines WHERE ordered_at < '2024-03-01 00:00+00' GROUP BY item;
CREATE VIEW ev_cart_pop AS
SELECT c.basket,
       (SELECT x.rank FROM (SELECT p.item, row_number() OVER (ORDER BY p.pos) AS rank
                            FROM ev_pop p WHERE p.item <> ALL (c.cart)) x
        WHERE x.item = c.hidden AND x.rank <= 3) AS hit_rank
FROM ev_carts c;

SELECT results_eq($$SELECT basket, hidden, cart FROM ev_carts ORDER BY basket$$,
	$$VALUES ('s02', 'c', ARRAY['b']), ('s05', 'd', ARRAY['a', 'e']), ('s06', 'f', ARRAY['c']),
	         ('s07', 'b', ARRAY['d']), ('s10', 'f', ARRAY['e'])$$,
	'fixture: 5 orders with 2 known items; the md5 rule hides c, d, f, b, f as worked out');
SELECT results_eq($$SELECT basket, hit_rank FROM ev_cart_pop ORDER BY basket$$,
	$$VALUES ('s02', 2::bigint), ('s05', 3), ('s06', NULL), ('s07', 2), ('s10', NULL)$$,
	'fixture: the popularity lists hit s02 at 2, s05 at 3, s07 at 2');

SELECT bundlerec.create_model('tme', 'ev_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price',
	options => '{"factors": 4, "iterations": 3}') IS NOT NULL AS created \gset
CREATE TABLE ev_out AS SELECT * FROM bundlerec.evaluate('tme', '2024-03-01 00:00+00', 3);
CREATE TABLE ev_protocol AS
SELECT h.metrics -> 'protocol' AS p FROM bundlerec.refresh_history h
WHERE h.model = 'tme' AND h.kind = 'evaluate' ORDER BY h.id DESC LIMIT 1;

------------------------------------------------------------------------------
-- 1. complete the cart
------------------------------------------------------------------------------
SELECT is((SELECT cases FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 5::bigint,
	'cart: 5 cases (orders with 2 or more known items; the old rule counted 7)');
SELECT is((SELECT cases FROM ev_out WHERE task = 'complete the cart' AND method = 'model'), 5::bigint,
	'cart model: 5 cases');
SELECT ok(near((SELECT hit_rate FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 3 / 5.0),
	'cart popularity: hit_rate 3/5');
SELECT ok(near((SELECT hit_rate FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'),
	(SELECT avg((hit_rank IS NOT NULL)::int)::float8 FROM ev_cart_pop)),
	'cart popularity: hit_rate = the brute-force lists''');
SELECT ok(near((SELECT recall FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 3 / 5.0),
	'cart popularity: recall 3/5');
SELECT ok(near((SELECT precision FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 1 / 5.0),
	'cart popularity: precision 1/5');
SELECT ok(near((SELECT ndcg FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'),
	(2 / log(2, 3)::float8 + 0.5) / 5),
	'cart popularity: ndcg (2 / log2 3 + 1/2) / 5');
SELECT ok(near((SELECT coverage FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 4 / 6.0),
	'cart popularity: coverage 4/6');
SELECT ok(near((SELECT novelty FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'),
	(4 * -log(2, 0.7) + 4 + 4 * -log(2, 0.4) + 3 * -log(2, 0.2))::float8 / 15),
	'cart popularity: novelty (4 -log2 .7 + 4 + 4 -log2 .4 + 3 -log2 .2) / 15');

-- the model row: complete_cart of a model trained on the training lines only,
-- on the known-item carts
CREATE VIEW ev_train_lines AS SELECT * FROM ev_lines WHERE ordered_at < '2024-03-01 00:00+00';
SELECT bundlerec.create_model('tme_train', 'ev_train_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price',
	options => '{"factors": 4, "iterations": 3}') IS NOT NULL AS created \gset
SELECT count(*) AS n_stages FROM bundlerec.refresh('tme_train') \gset
CREATE VIEW ev_cart_model AS
SELECT c.basket, (SELECT min(f.rank) FROM bundlerec.complete_cart('tme_train', c.cart, 3) f WHERE f.item = c.hidden) AS hit_rank
FROM ev_carts c;
SELECT ok(
	(SELECT near(e.hit_rate, (SELECT avg((m.hit_rank IS NOT NULL)::int::float8) FROM ev_cart_model m))
	    AND near(e.ndcg, (SELECT avg(coalesce(1 / log(2, m.hit_rank + 1)::float8, 0)) FROM ev_cart_model m))
	 FROM ev_out e WHERE e.task = 'complete the cart' AND e.method = 'model'),
	'cart model: hit_rate and ndcg = complete_cart of a model trained on the training lines, known-item carts');

------------------------------------------------------------------------------
-- 2. next period
------------------------------------------------------------------------------
SELECT results_eq(
	$$SELECT method, cases FROM ev_out WHERE task = 'next period' ORDER BY method$$,
	$$VALUES ('model', 4::bigint), ('popularity', 4), ('repeat', 4)$$,
	'next: 4 cases per method (u3 bought only unknown items; u6 u7 are new)');
SELECT ok(near((SELECT hit_rate FROM ev_out WHERE task = 'next period' AND method = 'popularity'), 3 / 4.0),
	'next popularity: hit_rate 3/4');
SELECT ok(near((SELECT precision FROM ev_out WHERE task = 'next period' AND method = 'popularity'), 1 / 2.0),
	'next popularity: precision 1/2');
SELECT ok(near((SELECT recall FROM ev_out WHERE task = 'next period' AND method = 'popularity'), 11 / 24.0),
	'next popularity: recall 11/24 (unknown items are not in the relevant sets)');
SELECT ok(near((SELECT hit_rate FROM ev_out WHERE task = 'next period' AND method = 'repeat'), 3 / 4.0),
	'next repeat: hit_rate 3/4 (u5''s hit comes from the back-fill)');
SELECT ok(near((SELECT precision FROM ev_out WHERE task = 'next period' AND method = 'repeat'), 5 / 12.0),
	'next repeat: precision 5/12');
SELECT ok(near((SELECT recall FROM ev_out WHERE task = 'next period' AND method = 'repeat'), 3 / 8.0),
	'next repeat: recall 3/8');
SELECT ok(near((SELECT ndcg FROM ev_out WHERE task = 'next period' AND method = 'repeat'),
	(2 + 2 / log(2, 3)::float8) / (1.5 + 1 / log(2, 3)::float8) / 4),
	'next repeat: ndcg (2 + 2 / log2 3) / (3/2 + 1 / log2 3) / 4');
SELECT ok(near((SELECT coverage FROM ev_out WHERE task = 'next period' AND method = 'repeat'), 5 / 6.0),
	'next repeat: coverage 5/6');
SELECT ok(near((SELECT novelty FROM ev_out WHERE task = 'next period' AND method = 'repeat'),
	(4 * -log(2, 0.7) + 3 + 3 * -log(2, 0.4) - log(2, 0.2) - log(2, 0.1))::float8 / 12),
	'next repeat: novelty over 12 entries (every list back-filled to k = 3)');

------------------------------------------------------------------------------
-- 3. the protocol
------------------------------------------------------------------------------
SELECT is((SELECT p -> 'complete_the_cart' FROM ev_protocol),
	'{"test_orders": 11, "orders_with_2_known": 5, "skipped": 6, "skipped_for_unknown": 2, "cases": 5,
	  "unknown_dropped": 4, "sample": false, "max_cases": 2000, "order": "md5(order)",
	  "hidden": "first known item by md5(order || ''/'' || item)"}'::jsonb,
	'protocol, complete the cart: 11 test orders, 5 cases, 6 skipped (2 for unknown items), 4 unknown items dropped, no sample');
SELECT is((SELECT p -> 'next_period' FROM ev_protocol),
	'{"customers": 5, "cases": 4, "skipped": 1, "unknown_dropped": 6,
	  "repeat": "the customer''s training items by orders, back-filled by popularity to k"}'::jsonb,
	'protocol, next period: 5 training customers buy later, 4 cases, 1 skipped, 6 unknown items dropped');
SELECT is(
	(SELECT bundlerec._eval_protocol_lines('tme', p) FROM ev_protocol),
	ARRAY['bundlerec tme: complete the cart: 5 cases (all 5 test orders with 2 or more items known to training; '
	      '6 with fewer skipped, 2 of them for unknown items); 4 unknown items dropped from the carts; '
	      'the hidden item is the first known one by md5 of order/item',
	      'bundlerec tme: next period: 4 cases (training customers who buy known items later; '
	      '1 who buy only unknown ones skipped); 6 unknown items dropped from the relevant sets; '
	      'the repeat baseline is back-filled by popularity to k'],
	'the printed protocol');
SELECT is(
	(SELECT count(*) FROM bundlerec.refresh_history h, ev_out e
	 WHERE h.model = 'tme' AND h.kind = 'evaluate'
	   AND h.metrics -> 'rows' @> jsonb_build_array(jsonb_build_object('task', e.task, 'method', e.method, 'cases', e.cases))),
	5::bigint,
	'the history row holds the 5 returned rows beside the protocol');

-- a seeded sample: eval_max_baskets 2 takes the first 2 cases by md5 of the
-- order (s10 2b33..., s05 3e4c...; s09 sorts first of all orders but has no
-- known item): popularity misses s10 and hits s05 at 3
SELECT bundlerec.create_model('tme_sample', 'ev_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', options => '{"factors": 4, "iterations": 3, "eval_max_baskets": 2}') IS NOT NULL AS created \gset
CREATE TABLE ev_sample AS SELECT * FROM bundlerec.evaluate('tme_sample', '2024-03-01 00:00+00', 3);
SELECT results_eq(
	$$SELECT basket FROM ev_carts ORDER BY md5(basket), basket LIMIT 2$$,
	$$VALUES ('s10'), ('s05')$$,
	'sample: the first 2 cases by md5 of the order are s10 and s05');
SELECT is((SELECT cases FROM ev_sample WHERE task = 'complete the cart' AND method = 'popularity'), 2::bigint,
	'sample: 2 cases');
SELECT ok(
	(SELECT near(e.ndcg, (SELECT avg(coalesce(1 / log(2, c.hit_rank + 1)::float8, 0)) FROM ev_cart_pop c
	                      WHERE c.basket IN ('s10', 's05')))
	        AND near(e.ndcg, 0.25) AND near(e.hit_rate, 0.5)
	 FROM ev_sample e WHERE e.task = 'complete the cart' AND e.method = 'popularity'),
	'sample: popularity hit_rate 1/2, ndcg 1/4 (s05 hit at 3), as on the brute-force lists of s10 and s05');
SELECT is(
	(SELECT (h.metrics #> '{protocol,complete_the_cart}') - 'order' - 'hidden'
	 FROM bundlerec.refresh_history h WHERE h.model = 'tme_sample' AND h.kind = 'evaluate'),
	'{"test_orders": 11, "orders_with_2_known": 5, "skipped": 6, "skipped_for_unknown": 2, "cases": 2,
	  "unknown_dropped": 2, "sample": true, "max_cases": 2}'::jsonb,
	'sample protocol: sample true, 2 of 5 cases, 2 unknown items dropped (x y of s10)');
SELECT is(
	(SELECT (bundlerec._eval_protocol_lines('tme_sample', h.metrics -> 'protocol'))[1]
	 FROM bundlerec.refresh_history h WHERE h.model = 'tme_sample' AND h.kind = 'evaluate'),
	'bundlerec tme_sample: complete the cart: 2 cases (a sample: the first 2 by md5 of the order, of the '
	'5 test orders with 2 or more items known to training; 6 with fewer skipped, 2 of them for unknown items); '
	'2 unknown items dropped from the carts; the hidden item is the first known one by md5 of order/item',
	'the printed protocol says a sample was taken, of what and how');

-- a model without customers: complete the cart only, no next_period protocol
SELECT bundlerec.create_model('tme_nocust', 'ev_lines', 'basket', 'item', ordered_at => 'ordered_at',
	options => '{"factors": 4, "iterations": 3}') IS NOT NULL AS created \gset
CREATE TABLE ev_nocust AS SELECT * FROM bundlerec.evaluate('tme_nocust', '2024-03-01 00:00+00', 3);
SELECT results_eq($$SELECT task, method, cases FROM ev_nocust ORDER BY method$$,
	$$VALUES ('complete the cart', 'model', 5::bigint), ('complete the cart', 'popularity', 5)$$,
	'no customer column: the complete-the-cart rows only, 5 cases each');
SELECT ok(
	(SELECT NOT (h.metrics -> 'protocol' ? 'next_period') AND (h.metrics #>> '{protocol,complete_the_cart,cases}')::int = 5
	 FROM bundlerec.refresh_history h WHERE h.model = 'tme_nocust' AND h.kind = 'evaluate'),
	'no customer column: the protocol has no next_period');
SELECT is(array_length(bundlerec._eval_protocol_lines('tme_nocust',
	(SELECT h.metrics -> 'protocol' FROM bundlerec.refresh_history h WHERE h.model = 'tme_nocust' AND h.kind = 'evaluate')), 1),
	1, 'no customer column: one printed line');

------------------------------------------------------------------------------
-- 4. the 150-line rule
------------------------------------------------------------------------------
SELECT is(
	(SELECT string_agg(p.proname || ' ' || array_length(string_to_array(p.prosrc, E'\n'), 1), ', ')
	 FROM pg_proc p
	 WHERE p.pronamespace = 'bundlerec'::regnamespace AND (p.proname = 'evaluate' OR p.proname LIKE '\_eval\_%')
	   AND array_length(string_to_array(p.prosrc, E'\n'), 1) > 150),
	NULL, 'evaluate and its steps are each 150 lines or fewer');
SELECT cmp_ok(
	(SELECT count(*) FROM pg_proc p
	 WHERE p.pronamespace = 'bundlerec'::regnamespace AND (p.proname = 'evaluate' OR p.proname LIKE '\_eval\_%')),
	'>=', 6::bigint, 'the evaluation steps are found (evaluate and 5 _eval_ functions)');

SELECT * FROM finish();
ROLLBACK;
