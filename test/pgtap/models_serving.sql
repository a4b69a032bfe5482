-- models_serving.sql: the serving functions and evaluate() of bundlerec models.
--   1. frequently_bought_together on a 16-order hand fixture: partners,
--      counts, confidence, lift and their order by the shrunk npmi score
--      (worked by hand below and re-derived by a brute-force self-join),
--      k truncation, min_count, and the 'popular in category' / 'popular'
--      fallbacks of a known item, of an unknown item with a category and of
--      an unknown item without one.
--   2. complete_cart: the blend recomputed from the model's own pairs, rules
--      and similar_items tables; a second model with the rules and embedding
--      weights at 0 checked by hand; NULL items.  Both models leave EASE
--      out (option ease false): models_item_weights.sql and serving_core.sql
--      check the blend with item_weights.
--   3. bundles_for_item: item_bundles in rank order, 2-item fallbacks,
--      explore => true (Thompson re-rank) before and after feedback,
--      record_feedback, bundle_key, thompson_draw and beta_sample.
--   4. bundles_for_customer and recommend_items against per-customer shares
--      of orders counted in SQL from the fixture.
--   5. similar_items against cosines recomputed from item_embeddings.
--   6. k, unknown and never refreshed models.
--   7. privileges (SET LOCAL ROLE; the result read back through \gset): a
--      role granted what serving.sql documents (USAGE and SELECT on the
--      results schema) is served.
--   8. evaluate() on a 11-order fixture whose baseline metrics are worked
--      out by hand, the model rows against a scratch-free recomputation, and
--      what evaluate leaves behind.
-- Nothing expected here is computed by bundlerec (the blend and repeat checks
-- read the model's result tables only to check what serving does with them).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(153);

CREATE SCHEMA tap_models_serving;
SET LOCAL search_path = tap_models_serving, public;
SET LOCAL jit = off;

-- |have - want| <= tol (NULLs are never near)
CREATE FUNCTION near(have float8, want float8, tol float8 DEFAULT 1e-12)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(abs(have - want) <= tol, false)
$$;

-- the SQLSTATE a statement raises, or 'ok: ' and the first column of its first row
CREATE FUNCTION try_sql(q text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE q INTO r;
	RETURN 'ok: ' || coalesce(r, 'NULL');
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

------------------------------------------------------------------------------
-- The hand fixture (all orders in January 2024, one line per item)
------------------------------------------------------------------------------
--   b01 c1: A B C      b05 c3: A B C F    b09 c5: F G     b13 c1: Q G
--   b02 c1: A B        b06 c3: A D        b10 c5: F H     b14 c2: F G H
--   b03 c2: A B D      b07 c4: B C G      b11 c6: A E     b15 c3: B C
--   b04 c2: A C        b08 c4: F G H      b12 c6: P       b16 c5: Q
-- categories: x = A B C D E, y = F G H, z = P Q.   N = 16 orders.
-- orders per item: A 7, B 6, C 5, F 5, G 5, H 3, D 2, Q 2, E 1, P 1
--   popularity_rank (orders desc, item): A1 B2 C3 F4 G5 H6 D7 Q8 E9 P10
--   category_rank: x: A1 B2 C3 D4 E5; y: F1 G2 H3; z: Q1 P2
-- pairs of A: B 4 (b01 b02 b03 b05), C 3 (b01 b04 b05), D 2 (b03 b06),
--   E 1 (b11), F 1 (b05): E and F are below min_count 2.
-- score = npmi * count / (count + 10), npmi = ln(c N / (ci cj)) / -ln(c / N):
--   A-B: ln(64/42) / ln(16/4) = 0.42121 / 1.38629 = 0.30384, * 4/14 = 0.08681
--   A-D: ln(32/14) / ln(16/2) = 0.82668 / 2.07944 = 0.39755, * 2/12 = 0.06626
--   A-C: ln(48/35) / ln(16/3) = 0.31585 / 1.67398 = 0.18868, * 3/13 = 0.04354
--   so A's partners are B, D, C (not the count order B, C, D).
-- D's only pair is A (2; D-B is 1).  P, E and Q are in no pair of count >= 2.
CREATE TABLE order_lines (basket text, item text, customer text, ordered_at timestamptz,
                          quantity int, price numeric, category text);
INSERT INTO order_lines (basket, item, customer, ordered_at, quantity, price, category)
SELECT v.basket, i.item, v.customer, v.ts::timestamptz, 1,
       CASE i.item WHEN 'A' THEN 10 WHEN 'B' THEN 4 WHEN 'C' THEN 3 WHEN 'D' THEN 20 WHEN 'E' THEN 7
                   WHEN 'F' THEN 5 WHEN 'G' THEN 6 WHEN 'H' THEN 8 WHEN 'P' THEN 9 ELSE 2 END,
       CASE WHEN i.item IN ('A', 'B', 'C', 'D', 'E') THEN 'x' WHEN i.item IN ('F', 'G', 'H') THEN 'y' ELSE 'z' END
FROM (VALUES
	('b01', 'c1', '2024-01-01 10:00+00', 'A B C'),
	('b02', 'c1', '2024-01-02 10:00+00', 'A B'),
	('b03', 'c2', '2024-01-03 10:00+00', 'A B D'),
	('b04', 'c2', '2024-01-04 10:00+00', 'A C'),
	('b05', 'c3', '2024-01-05 10:00+00', 'A B C F'),
	('b06', 'c3', '2024-01-06 10:00+00', 'A D'),
	('b07', 'c4', '2024-01-07 10:00+00', 'B C G'),
	('b08', 'c4', '2024-01-08 10:00+00', 'F G H'),
	('b09', 'c5', '2024-01-09 10:00+00', 'F G'),
	('b10', 'c5', '2024-01-10 10:00+00', 'F H'),
	('b11', 'c6', '2024-01-11 10:00+00', 'A E'),
	('b12', 'c6', '2024-01-12 10:00+00', 'P'),
	('b13', 'c1', '2024-01-13 10:00+00', 'Q G'),
	('b14', 'c2', '2024-01-14 10:00+00', 'F G H'),
	('b15', 'c3', '2024-01-15 10:00+00', 'B C'),
	('b16', 'c5', '2024-01-16 10:00+00', 'Q')
) v(basket, customer, ts, items)
CROSS JOIN LATERAL unnest(string_to_array(v.items, ' ')) i(item);

-- brute force: every ordered pair of distinct items sharing a basket, with
-- the measures of the spec, ranked within min_count 2 by score, partner
CREATE VIEW bf_pairs AS
WITH l AS (SELECT DISTINCT basket, item FROM order_lines),
n AS (SELECT count(DISTINCT basket)::float8 AS n FROM order_lines),
io AS (SELECT item, count(*) AS orders FROM l GROUP BY item),
pc AS (SELECT a.item, b.item AS partner, count(*) AS cnt
       FROM l a JOIN l b ON b.basket = a.basket AND b.item <> a.item GROUP BY a.item, b.item),
m AS (
	SELECT pc.item, pc.partner, pc.cnt, ia.orders AS item_orders, ib.orders AS partner_orders,
	       pc.cnt / ia.orders::float8 AS confidence,
	       pc.cnt * n.n / (ia.orders * ib.orders) AS lift,
	       CASE WHEN pc.cnt = n.n THEN 1
	            ELSE ln(pc.cnt * n.n / (ia.orders * ib.orders)) / -ln(pc.cnt / n.n) END AS npmi
	FROM pc CROSS JOIN n JOIN io ia ON ia.item = pc.item JOIN io ib ON ib.item = pc.partner)
SELECT m.*, m.npmi * m.cnt / (m.cnt + 10.0) AS score,
       CASE WHEN m.cnt >= 2 THEN row_number() OVER (PARTITION BY m.item, m.cnt >= 2
                                  ORDER BY m.npmi * m.cnt / (m.cnt + 10.0) DESC, m.partner COLLATE "C")::integer END AS rank
FROM m;

-- orders per customer and per (customer, item), counted from the fixture
CREATE VIEW bf_cust AS SELECT customer, count(DISTINCT basket) AS orders FROM order_lines GROUP BY customer;
CREATE VIEW bf_ci AS SELECT customer, item, count(DISTINCT basket) AS orders FROM order_lines GROUP BY customer, item;

SELECT bundlerec.create_model('tms_shop', 'order_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price', category => 'category',
	options => '{"factors": 4, "iterations": 3, "ease": false}') IS NOT NULL AS created \gset
SELECT count(*) AS n_stages FROM bundlerec.refresh('tms_shop') \gset
SELECT bundlerec.create_model('tms_w', 'order_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price', category => 'category',
	options => '{"factors": 4, "iterations": 3, "cart_rules_weight": 0, "cart_embedding_weight": 0, "ease": false, "model_weight": 0, "recommendations_per_customer": 5}') IS NOT NULL AS created \gset
SELECT count(*) AS n_stages FROM bundlerec.refresh('tms_w') \gset
SELECT bundlerec.create_model('tms_new', 'order_lines', 'basket', 'item', customer => 'customer',
	options => '{"factors": 4, "iterations": 3}') IS NOT NULL AS created \gset

------------------------------------------------------------------------------
-- 1. frequently_bought_together
------------------------------------------------------------------------------
SELECT results_eq(
	$$SELECT i.item, f.rank, f.partner, f.count
	  FROM (SELECT DISTINCT item FROM order_lines) i
	  CROSS JOIN LATERAL bundlerec.frequently_bought_together('tms_shop', i.item, 20) f
	  WHERE f.source = 'pairs' ORDER BY 1, 2$$,
	$$SELECT item, rank, partner, cnt FROM bf_pairs WHERE cnt >= 2 ORDER BY 1, 2$$,
	'fbt: the pairs rows of every item are the brute-force pairs with count >= 2, in shrunk-npmi order');
SELECT is(
	(SELECT count(*) FROM (SELECT DISTINCT item FROM order_lines) i
	 CROSS JOIN LATERAL bundlerec.frequently_bought_together('tms_shop', i.item, 20) f
	 JOIN bf_pairs b ON b.item = i.item AND b.partner = f.partner
	 WHERE f.source = 'pairs'
	   AND near(f.confidence, b.confidence) AND near(f.lift, b.lift) AND near(f.score, b.score)),
	(SELECT count(*) FROM bf_pairs WHERE cnt >= 2),
	'fbt: confidence, lift and score of every pairs row equal the brute force (1e-12)');
SELECT results_eq(
	$$SELECT rank, partner, count, source FROM bundlerec.frequently_bought_together('tms_shop', 'A', 10)$$,
	$$VALUES (1, 'B', 4::bigint, 'pairs'), (2, 'D', 2, 'pairs'), (3, 'C', 3, 'pairs'),
	         (4, 'E', NULL, 'popular in category'),
	         (5, 'F', NULL, 'popular'), (6, 'G', NULL, 'popular'), (7, 'H', NULL, 'popular'),
	         (8, 'Q', NULL, 'popular'), (9, 'P', NULL, 'popular')$$,
	'fbt A k 10: B D C by score (hand), then E of its category, then the best sellers F G H Q P');
SELECT ok(
	(SELECT near(confidence, 4.0 / 7) AND near(lift, 4.0 * 16 / (7 * 6))
	        AND near(score, ln(64.0 / 42) / ln(4.0) * 4 / 14)
	 FROM bundlerec.frequently_bought_together('tms_shop', 'A', 10) WHERE partner = 'B'),
	'fbt A-B: confidence 4/7, lift 64/42, score ln(64/42)/ln(4) * 4/14 (hand)');
SELECT ok(
	(SELECT near(confidence, 2.0 / 7) AND near(lift, 2.0 * 16 / (7 * 2))
	        AND near(score, ln(32.0 / 14) / ln(8.0) * 2 / 12)
	 FROM bundlerec.frequently_bought_together('tms_shop', 'A', 10) WHERE partner = 'D'),
	'fbt A-D: confidence 2/7, lift 32/14, score ln(32/14)/ln(8) * 2/12 (hand)');
SELECT ok(
	(SELECT near(confidence, 3.0 / 7) AND near(lift, 3.0 * 16 / (7 * 5))
	        AND near(score, ln(48.0 / 35) / ln(16.0 / 3) * 3 / 13)
	 FROM bundlerec.frequently_bought_together('tms_shop', 'A', 10) WHERE partner = 'C'),
	'fbt A-C: confidence 3/7, lift 48/35, score ln(48/35)/ln(16/3) * 3/13 (hand)');
SELECT results_eq(
	$$SELECT rank, partner, source FROM bundlerec.frequently_bought_together('tms_shop', 'A', 2)$$,
	$$VALUES (1, 'B', 'pairs'), (2, 'D', 'pairs')$$,
	'fbt A k 2: truncated to the two best partners');
SELECT is(
	(SELECT count(*) FROM bundlerec.frequently_bought_together('tms_shop', 'A', 10)
	 WHERE partner IN ('E', 'F') AND source = 'pairs'),
	0::bigint,
	'fbt A: E and F (one order each with A, below min_count) are not pairs rows');
SELECT results_eq(
	$$SELECT rank, partner, source FROM bundlerec.frequently_bought_together('tms_shop', 'D', 6)$$,
	$$VALUES (1, 'A', 'pairs'), (2, 'B', 'popular in category'), (3, 'C', 'popular in category'),
	         (4, 'E', 'popular in category'), (5, 'F', 'popular'), (6, 'G', 'popular')$$,
	'fbt D k 6: its one pair A, then x by category rank (B C E), then best sellers F G');
SELECT results_eq(
	$$SELECT rank, partner, source FROM bundlerec.frequently_bought_together('tms_shop', 'ZZZ', 5, category => 'y')$$,
	$$VALUES (1, 'F', 'popular in category'), (2, 'G', 'popular in category'), (3, 'H', 'popular in category'),
	         (4, 'A', 'popular'), (5, 'B', 'popular')$$,
	'fbt unknown item, category y: F G H, then best sellers A B');
SELECT results_eq(
	$$SELECT rank, partner, source FROM bundlerec.frequently_bought_together('tms_shop', 'ZZZ', 4)$$,
	$$VALUES (1, 'A', 'popular'), (2, 'B', 'popular'), (3, 'C', 'popular'), (4, 'F', 'popular')$$,
	'fbt unknown item, no category: the best sellers');
SELECT results_eq(
	$$SELECT rank, partner, source FROM bundlerec.frequently_bought_together('tms_shop', 'D', 5, category => 'y')$$,
	$$VALUES (1, 'A', 'pairs'), (2, 'F', 'popular in category'), (3, 'G', 'popular in category'),
	         (4, 'H', 'popular in category'), (5, 'B', 'popular')$$,
	'fbt D k 5, category y given: its pair A, then y (not its own x) F G H, then best seller B');
SELECT results_eq(
	$$SELECT rank, partner, source FROM bundlerec.frequently_bought_together('tms_shop', 'P', 3)$$,
	$$VALUES (1, 'Q', 'popular in category'), (2, 'A', 'popular'), (3, 'B', 'popular')$$,
	'fbt P (no pairs) k 3: Q of its category z, then A B');
SELECT is(
	(SELECT count(*) FROM (SELECT DISTINCT item FROM order_lines) i
	 CROSS JOIN LATERAL (SELECT count(*) AS n, count(DISTINCT f.partner) AS nd,
	                            count(*) FILTER (WHERE f.partner = i.item) AS self,
	                            bool_and(f.rank = f.rn) AS ranks
	                     FROM (SELECT f.*, row_number() OVER (ORDER BY f.rank) AS rn
	                           FROM bundlerec.frequently_bought_together('tms_shop', i.item, 12) f) f) s
	 WHERE s.n = 9 AND s.nd = 9 AND s.self = 0 AND s.ranks),
	10::bigint,
	'fbt k 12 for each of the 10 items: the 9 other items once each, never the item, ranks 1..9');
SELECT is(
	(SELECT count(*) FROM bundlerec.frequently_bought_together('tms_shop', 'A', 1000)), 9::bigint,
	'fbt k 1000 (the largest k) works');

------------------------------------------------------------------------------
-- 2. complete_cart
------------------------------------------------------------------------------
-- the blend over the model's own tables, weights 1, 1, 0.5
CREATE VIEW cart_blend AS
WITH carts(cart) AS (VALUES (ARRAY['A', 'G']), (ARRAY['A', 'B']), (ARRAY['H']), (ARRAY['C', 'F', 'Q'])),
p AS (SELECT c.cart, x.partner AS item, max(x.confidence) AS conf
      FROM carts c JOIN bundlerec_tms_shop.pairs x ON x.item = ANY (c.cart) GROUP BY c.cart, x.partner),
r AS (SELECT c.cart, x.consequent AS item, max(x.confidence) AS conf
      FROM carts c JOIN bundlerec_tms_shop.rules x ON x.antecedent <@ c.cart GROUP BY c.cart, x.consequent),
e AS (SELECT c.cart, x.neighbor AS item, max(x.similarity) AS sim
      FROM carts c JOIN bundlerec_tms_shop.similar_items x ON x.item = ANY (c.cart) GROUP BY c.cart, x.neighbor),
cand AS (SELECT cart, item FROM p UNION SELECT cart, item FROM r UNION SELECT cart, item FROM e)
SELECT cand.cart, cand.item,
       1 * coalesce(p.conf, 0) + 1 * coalesce(r.conf, 0) + 0.5 * greatest(0, coalesce(e.sim, 0)) AS score
FROM cand LEFT JOIN p USING (cart, item) LEFT JOIN r USING (cart, item) LEFT JOIN e USING (cart, item)
WHERE cand.item <> ALL (cand.cart);

SELECT is(
	(SELECT count(*) FROM (
		SELECT b.cart, b.item, b.score, c.score AS got
		FROM cart_blend b
		FULL JOIN (SELECT x.cart, f.item, f.score
		           FROM (SELECT DISTINCT cart FROM cart_blend) x
		           CROSS JOIN LATERAL bundlerec.complete_cart('tms_shop', x.cart, 20) f
		           WHERE f.source = 'model') c USING (cart, item)) d
	 WHERE NOT near(d.got, d.score)),
	0::bigint,
	'complete_cart: the model rows of 4 carts are exactly the candidates with score = pairs + rules + 0.5 * max(0, cosine) (1e-12)');
SELECT is(
	(SELECT count(*) FROM cart_blend WHERE cart = ARRAY['A', 'B'] AND item = 'C' AND near(score,
	        2.0 / 3 + 2.0 / 3 + 0.5 * greatest(0, (SELECT max(similarity) FROM bundlerec_tms_shop.similar_items
	                                                 WHERE item IN ('A', 'B') AND neighbor = 'C')))),
	1::bigint,
	'complete_cart blend oracle, cart A B -> C: best pair B->C 4/6, best rule B => C 4/6 (not A,B => C 2/4)');
SELECT results_eq(
	$$SELECT x.cart, f.item FROM (SELECT DISTINCT cart FROM cart_blend) x
	  CROSS JOIN LATERAL bundlerec.complete_cart('tms_shop', x.cart, 20) f
	  WHERE f.source = 'model' ORDER BY x.cart, f.rank$$,
	$$SELECT cart, item FROM cart_blend ORDER BY cart, score DESC, item$$,
	'complete_cart: model rows ranked by the recomputed score');
SELECT is(
	(SELECT count(*) FROM (VALUES (ARRAY['A', 'G']), (ARRAY['A', 'B']), (ARRAY['H']), (ARRAY['C', 'F', 'Q']),
	                              (ARRAY['E']), (ARRAY['ZZZ', 'P'])) x(cart)
	 CROSS JOIN LATERAL bundlerec.complete_cart('tms_shop', x.cart, 20) f
	 WHERE f.item = ANY (x.cart)),
	0::bigint,
	'complete_cart never returns an item of the cart');
SELECT is(
	(SELECT count(*) FROM (VALUES (ARRAY['A', 'G']), (ARRAY['H']), (ARRAY['C', 'F', 'Q'])) x(cart)
	 CROSS JOIN LATERAL (SELECT count(*) AS n, count(DISTINCT f.item) AS nd
	                     FROM bundlerec.complete_cart('tms_shop', x.cart, 20) f) s
	 WHERE s.n = 10 - cardinality(x.cart) AND s.nd = s.n),
	3::bigint,
	'complete_cart k 20: every other item once (model rows then fallbacks)');
-- tms_w: cart_rules_weight 0, cart_embedding_weight 0: score = best pair confidence.
-- cart A G: A -> B 4/7, C 3/7, D 2/7; G -> F 3/5, H 2/5 (G-B, G-C, G-Q are single orders)
--   F .600 > B .571 > C .429 > H .400 > D .286; the other items (E P Q) come from
--   the embeddings with weight 0: score 0, by item.
SELECT results_eq(
	$$SELECT rank, item, round(score::numeric, 12), round(from_pairs::numeric, 12), source
	  FROM bundlerec.complete_cart('tms_w', ARRAY['A', 'G'], 5)$$,
	$$VALUES (1, 'F', round(3 / 5.0, 12), round(3 / 5.0, 12), 'model'),
	         (2, 'B', round(4 / 7.0, 12), round(4 / 7.0, 12), 'model'),
	         (3, 'C', round(3 / 7.0, 12), round(3 / 7.0, 12), 'model'),
	         (4, 'H', round(2 / 5.0, 12), round(2 / 5.0, 12), 'model'),
	         (5, 'D', round(2 / 7.0, 12), round(2 / 7.0, 12), 'model')$$,
	'complete_cart with only the pairs weight, cart A G: F B C H D by pair confidence (hand)');
SELECT is(
	(SELECT count(*) FROM bundlerec.complete_cart('tms_w', ARRAY['A', 'G'], 8)
	 WHERE rank > 5 AND (source = 'model' OR score IS NOT NULL OR item IN ('A', 'G', 'F', 'B', 'C', 'H', 'D'))),
	0::bigint,
	'complete_cart with only the pairs weight: a zero-weight part adds no candidates; the list is filled by fallbacks');
SELECT results_eq(
	$$SELECT rank, item, round(score::numeric, 12) FROM bundlerec.complete_cart('tms_w', ARRAY['A', 'B'], 2)$$,
	$$VALUES (1, 'C', round(4 / 6.0, 12)), (2, 'D', round(2 / 7.0, 12))$$,
	'complete_cart with only the pairs weight, cart A B: C max(3/7, 4/6), D 2/7');
SELECT results_eq(
	$$SELECT rank, item, source FROM bundlerec.complete_cart('tms_shop', ARRAY['ZZZ'], 4, category => 'y')$$,
	$$VALUES (1, 'F', 'popular in category'), (2, 'G', 'popular in category'), (3, 'H', 'popular in category'),
	         (4, 'A', 'popular')$$,
	'complete_cart of an unknown item, category y: F G H, then best seller A');
SELECT throws_ok($$SELECT * FROM bundlerec.complete_cart('tms_shop', NULL::text[])$$,
	'22004', NULL, 'complete_cart NULL items: 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.complete_cart('tms_shop', ARRAY['A', NULL])$$,
	'22004', NULL, 'complete_cart items with a NULL: 22004');

------------------------------------------------------------------------------
-- 3. bundles_for_item, feedback and Thompson sampling
------------------------------------------------------------------------------
SELECT results_eq(
	$$SELECT rank, items, score, count, accept_probability, source FROM bundlerec.bundles_for_item('tms_shop', 'A', 4)$$,
	$$SELECT rank, items, score, count, accept_probability, 'bundles'::text FROM bundlerec_tms_shop.item_bundles
	  WHERE anchor = 'A' AND rank <= 4 ORDER BY rank$$,
	'bundles_for_item A: the item_bundles rows of anchor A in rank order');
SELECT is((SELECT count(*) FROM bundlerec_tms_shop.item_bundles WHERE anchor = 'A'), 4::bigint,
	'fixture: A anchors 4 bundles');
SELECT results_eq(
	$$SELECT items FROM bundlerec.bundles_for_item('tms_shop', 'H', 2)$$,
	$$SELECT items FROM bundlerec_tms_shop.item_bundles WHERE anchor = 'H' AND rank <= 2 ORDER BY rank$$,
	'bundles_for_item H k 2: its first 2 bundles');
-- A k 6: the 4 bundles, then {A,x} fallbacks new as bundles: A B, A C and A D
-- exist, so E (category x, rank 5), then the best seller F
SELECT results_eq(
	$$SELECT rank, items, source FROM bundlerec.bundles_for_item('tms_shop', 'A', 6) WHERE rank > 4$$,
	$$VALUES (5, ARRAY['A', 'E'], 'popular in category'), (6, ARRAY['A', 'F'], 'popular')$$,
	'bundles_for_item A k 6: after its 4 bundles, the fallback pairs not already bundles (A E, A F)');
SELECT results_eq(
	$$SELECT rank, items, source FROM bundlerec.bundles_for_item('tms_shop', 'P', 3)$$,
	$$VALUES (1, ARRAY['P', 'Q'], 'popular in category'), (2, ARRAY['P', 'A'], 'popular'), (3, ARRAY['P', 'B'], 'popular')$$,
	'bundles_for_item P (no bundle): 2-item fallbacks, its category z first');
SELECT results_eq(
	$$SELECT rank, items, source FROM bundlerec.bundles_for_item('tms_shop', 'E', 2)$$,
	$$VALUES (1, ARRAY['E', 'A'], 'popular in category'), (2, ARRAY['E', 'B'], 'popular in category')$$,
	'bundles_for_item E (no bundle): E with A, B of category x');
SELECT throws_ok($$SELECT * FROM bundlerec.bundles_for_item('tms_shop', NULL)$$,
	'22004', NULL, 'bundles_for_item NULL item: 22004');
-- explore before any feedback
SELECT results_eq(
	$$SELECT bundlerec.bundle_key(items) FROM bundlerec.bundles_for_item('tms_shop', 'A', 4, explore => true) ORDER BY 1$$,
	$$SELECT bundlerec.bundle_key(items) FROM bundlerec.bundles_for_item('tms_shop', 'A', 4) ORDER BY 1$$,
	'explore A k 4: a permutation of the 4 bundles of k 4');
SELECT results_eq(
	$$SELECT rank FROM bundlerec.bundles_for_item('tms_shop', 'A', 4, explore => true)$$,
	$$VALUES (1), (2), (3), (4)$$,
	'explore A k 4: ranks 1..4');
SELECT is(
	(SELECT count(*) FROM generate_series(1, 20) g
	 CROSS JOIN LATERAL bundlerec.bundles_for_item('tms_shop', 'A', 1 + 0 * g, explore => true) b
	 WHERE b.rank = 1 AND bundlerec.bundle_key(b.items) IN (
		SELECT bundlerec.bundle_key(t.items) FROM bundlerec.bundles_for_item('tms_shop', 'A', 3) t)),
	20::bigint,
	'explore A k 1, 20 calls: one row each, always one of the 3 best');
SELECT is(
	(SELECT count(*) FROM generate_series(1, 20) g
	 CROSS JOIN LATERAL bundlerec.bundles_for_item('tms_shop', 'A', 2 + 0 * g, explore => true) b
	 WHERE bundlerec.bundle_key(b.items) IN (
		SELECT bundlerec.bundle_key(t.items) FROM bundlerec.bundles_for_item('tms_shop', 'A', 6) t)),
	40::bigint,
	'explore A k 2, 20 calls: two rows each, all from the 6 best');
SELECT ok(
	(SELECT count(DISTINCT b.explanation) > 1 FROM generate_series(1, 20) g
	 CROSS JOIN LATERAL bundlerec.bundles_for_item('tms_shop', 'A', 1 + 0 * g, explore => true) b),
	'explore: the 20 calls are separate draws (their sampled rates differ)');
-- feedback: {A,B,C} (rank 3) always bought, {A,D} (rank 1) never
SELECT is(
	(SELECT row(f.items, f.impressions, f.conversions)::text
	 FROM bundlerec.record_feedback('tms_shop', ARRAY['C', 'B', 'A', 'B'], 600, 600) f),
	row(ARRAY['A', 'B', 'C'], 600::bigint, 600::bigint)::text,
	'record_feedback sorts and dedups the items');
SELECT is(
	(SELECT row(f.items, f.impressions, f.conversions)::text
	 FROM bundlerec.record_feedback('tms_shop', ARRAY['B', 'A', 'C'], 400, 400) f),
	row(ARRAY['A', 'B', 'C'], 1000::bigint, 1000::bigint)::text,
	'record_feedback accumulates: 600 + 400 impressions, 600 + 400 conversions');
SELECT is(
	(SELECT row(f.items, f.impressions, f.conversions)::text
	 FROM bundlerec.record_feedback('tms_shop', ARRAY['D', 'A'], 1000, 0) f),
	row(ARRAY['A', 'D'], 1000::bigint, 0::bigint)::text,
	'record_feedback D A: 1000 impressions, no conversion');
SELECT results_eq(
	$$SELECT items, impressions, conversions FROM bundlerec.feedback WHERE model = 'tms_shop' ORDER BY items$$,
	$$VALUES (ARRAY['A', 'B', 'C'], 1000::bigint, 1000::bigint), (ARRAY['A', 'D'], 1000, 0)$$,
	'bundlerec.feedback holds one row per bundle key');
SELECT is(
	(SELECT count(*) FROM generate_series(1, 30) g
	 CROSS JOIN LATERAL bundlerec.bundles_for_item('tms_shop', 'A', 2 + 0 * g, explore => true) b
	 WHERE b.rank = 1 AND bundlerec.bundle_key(b.items) = ARRAY['A', 'B', 'C']),
	30::bigint,
	'explore after feedback, 30 calls: the always-bought bundle A B C is ranked first every time');
SELECT is(
	(SELECT count(*) FROM generate_series(1, 30) g
	 CROSS JOIN LATERAL bundlerec.bundles_for_item('tms_shop', 'A', 2 + 0 * g, explore => true) b
	 WHERE b.rank = 1 AND bundlerec.bundle_key(b.items) = ARRAY['A', 'D']),
	0::bigint,
	'explore after feedback, 30 calls: the never-bought bundle A D (rank 1 without explore) is never first');
SELECT is(
	(SELECT bundlerec.bundle_key(items) FROM bundlerec.bundles_for_item('tms_shop', 'A', 1)),
	ARRAY['A', 'D'],
	'without explore the feedback changes nothing: A D stays first');
SELECT throws_ok($$SELECT bundlerec.record_feedback('tms_shop', ARRAY['A', 'E'], 1, 2)$$,
	'23514', NULL, 'record_feedback conversions > impressions: 23514');
SELECT throws_ok($$SELECT bundlerec.record_feedback('tms_shop', ARRAY['A', 'D'], 0, 1001)$$,
	'23514', NULL, 'record_feedback: accumulated conversions 1001 > impressions 1000: 23514');
SELECT throws_ok($$SELECT bundlerec.record_feedback('tms_shop', ARRAY['A', 'E'], -1, 0)$$,
	'22023', NULL, 'record_feedback negative impressions: 22023');
SELECT throws_ok($$SELECT bundlerec.record_feedback('tms_shop', ARRAY['A', 'E'], 5, -1)$$,
	'22023', NULL, 'record_feedback negative conversions: 22023');
SELECT results_eq(
	$$SELECT items, impressions, conversions FROM bundlerec.feedback WHERE model = 'tms_shop' ORDER BY items$$,
	$$VALUES (ARRAY['A', 'B', 'C'], 1000::bigint, 1000::bigint), (ARRAY['A', 'D'], 1000, 0)$$,
	'the rejected feedback left bundlerec.feedback unchanged');
SELECT is(bundlerec.bundle_key(ARRAY['b', 'C', 'a', 'C', NULL]), ARRAY['C', 'a', 'b'],
	'bundle_key sorts (COLLATE "C"), dedups and drops NULLs');
SELECT ok(
	(SELECT abs(avg(bundlerec.beta_sample(2, 8)) - 0.2) < 0.02 FROM generate_series(1, 2000)),
	'beta_sample(2, 8): the mean of 2000 draws is within 0.02 of 0.2');
SELECT ok(
	(SELECT abs(avg(bundlerec.thompson_draw(0.2, 0, 0, 10)) - 0.2) < 0.02 FROM generate_series(1, 2000)),
	'thompson_draw(0.2, 0 impressions, prior 10) = Beta(2, 8): mean of 2000 draws within 0.02 of 0.2');
SELECT ok(
	(SELECT abs(avg(bundlerec.thompson_draw(0.5, 30, 0, 10)) - 5.0 / 40) < 0.02 FROM generate_series(1, 2000)),
	'thompson_draw(0.5, 30 impressions, 0 conversions, prior 10) = Beta(5, 35): mean within 0.02 of 0.125');
SELECT ok(
	(SELECT bool_and(x > 0 AND x < 1) FROM (SELECT bundlerec.beta_sample(2, 8) AS x FROM generate_series(1, 200)) s),
	'beta_sample draws lie in (0, 1)');
SELECT throws_ok($$SELECT bundlerec.beta_sample(0, 1)$$, '22023', NULL, 'beta_sample(0, 1): 22023');

------------------------------------------------------------------------------
-- 4. bundles_for_customer and recommend_items
------------------------------------------------------------------------------
-- what each customer bought (hand): c1 A B C G Q (3 orders: A 2, B 2, C 1, G 1, Q 1)
SELECT is(
	(SELECT count(*) FROM bf_cust c
	 CROSS JOIN LATERAL bundlerec.bundles_for_customer('tms_shop', c.customer, 5) b
	 WHERE EXISTS (SELECT 1 FROM unnest(CASE WHEN b.source = 'customer' THEN b.items[2:] ELSE b.items END) u(item)
	               JOIN bf_ci ci ON ci.customer = c.customer AND ci.item = u.item)),
	0::bigint,
	'bundles_for_customer exclude_bought: no added item (no item of a popular bundle) was ever bought by the customer');
SELECT is(
	(SELECT count(*) FROM bf_cust c
	 CROSS JOIN LATERAL (SELECT count(*) AS n, count(DISTINCT bundlerec.bundle_key(b.items)) AS nd,
	                            count(*) FILTER (WHERE b.source = 'customer') AS nc
	                     FROM bundlerec.bundles_for_customer('tms_shop', c.customer, 5) b) s
	 WHERE s.n BETWEEN 1 AND 5 AND s.nd = s.n),
	5::bigint,
	'bundles_for_customer exclude_bought: 1 to 5 distinct bundles for each customer but c2');
SELECT is(
	(SELECT count(*) FROM bundlerec.bundles_for_customer('tms_shop', 'c2', 5)),
	0::bigint,
	'bundles_for_customer exclude_bought, c2: nothing (c2 bought A B C D F G H; E P Q are in no bundle)');
SELECT is(
	(SELECT count(*) FROM bf_cust c
	 CROSS JOIN LATERAL bundlerec.bundles_for_customer('tms_shop', c.customer, 5) b
	 WHERE b.source = 'customer' AND b.new_items <> cardinality(b.items) - 1),
	0::bigint,
	'bundles_for_customer exclude_bought: new_items = all added items');
SELECT ok(
	(SELECT count(*) > 0 FROM bundlerec.bundles_for_customer('tms_shop', 'c1', 5, exclude_bought => false) b
	 WHERE b.source = 'customer'
	   AND EXISTS (SELECT 1 FROM unnest(b.items[2:]) u(item) JOIN bf_ci ci ON ci.customer = 'c1' AND ci.item = u.item)),
	'bundles_for_customer c1 exclude_bought false: returns bundles with items c1 bought');
SELECT is(
	(SELECT items FROM bundlerec.bundles_for_customer('tms_shop', 'c1', 1, exclude_bought => false)),
	ARRAY['A', 'B'],
	'bundles_for_customer c1 exclude_bought false: A B (both bought twice by c1) first');
SELECT is(
	(SELECT count(*) FROM bf_cust c
	 CROSS JOIN (VALUES (true), (false)) x(excl)
	 CROSS JOIN LATERAL bundlerec.bundles_for_customer('tms_shop', c.customer, 10, exclude_bought => x.excl) b
	 WHERE b.source = 'customer'
	   AND near(b.repeat_part,
	            (SELECT avg(coalesce(ci.orders, 0)::float8 / c.orders)
	             FROM unnest(b.items) u(item) LEFT JOIN bf_ci ci ON ci.customer = c.customer AND ci.item = u.item))),
	(SELECT count(*) FROM bf_cust c
	 CROSS JOIN (VALUES (true), (false)) x(excl)
	 CROSS JOIN LATERAL bundlerec.bundles_for_customer('tms_shop', c.customer, 10, exclude_bought => x.excl) b
	 WHERE b.source = 'customer'),
	'bundles_for_customer: every repeat_part = mean over the items of orders_ui / orders_u (fixture)');
SELECT ok(
	(SELECT near(repeat_part, (2.0 / 3 + 2.0 / 3) / 2)
	 FROM bundlerec.bundles_for_customer('tms_shop', 'c1', 10, exclude_bought => false) WHERE items = ARRAY['A', 'B']),
	'bundles_for_customer c1 A B: repeat_part (2/3 + 2/3) / 2 (hand)');
SELECT results_eq(
	$$SELECT rank, items[1], source FROM bundlerec.bundles_for_customer('tms_shop', 'nobody', 5)$$,
	$$VALUES (1, 'A', 'popular'), (2, 'B', 'popular'), (3, 'C', 'popular'), (4, 'F', 'popular'), (5, 'G', 'popular')$$,
	'bundles_for_customer unknown customer: popular rows, the best bundles of A B C F G');
SELECT results_eq(
	$$SELECT b.items FROM bundlerec.bundles_for_customer('tms_shop', 'nobody', 5) b ORDER BY b.rank$$,
	$$SELECT ib.items FROM unnest(ARRAY['A', 'B', 'C', 'F', 'G']) WITH ORDINALITY u(item, o)
	  JOIN bundlerec_tms_shop.item_bundles ib ON ib.anchor = u.item AND ib.rank = 1 ORDER BY u.o$$,
	'bundles_for_customer unknown customer: each row is a best seller''s rank-1 bundle');
-- recommend_items: repeat_part = orders_ui / orders_u, score = 1 * repeat + 1 * model
SELECT is(
	(SELECT count(*) FROM bf_cust c
	 CROSS JOIN LATERAL bundlerec.recommend_items('tms_shop', c.customer, 10) r
	 LEFT JOIN bf_ci ci ON ci.customer = c.customer AND ci.item = r.item
	 WHERE r.source = 'customer'
	   AND NOT (near(r.repeat_part, coalesce(ci.orders, 0)::float8 / c.orders)
	            AND near(r.score, 1 * r.repeat_part + 1 * coalesce(r.model_part, 0))
	            AND r.model_part BETWEEN 0 AND 1 AND r.score > 0)),
	0::bigint,
	'recommend_items: every customer row has repeat_part = orders_ui / orders_u, score = repeat + model > 0, model in [0, 1]');
SELECT results_eq(
	$$SELECT r.item FROM bundlerec.recommend_items('tms_shop', 'c1', 10) r WHERE r.repeat_part > 0 ORDER BY r.rank$$,
	$$SELECT r.item FROM bundlerec.recommend_items('tms_shop', 'c1', 10) r WHERE r.repeat_part > 0
	  ORDER BY r.score DESC, r.item$$,
	'recommend_items c1: ranked by score');
-- tms_w: model_weight 0, recommendations_per_customer 5 (with the default 20
-- every ALS candidate would stay in recommendations with score 0, ahead of the
-- best sellers); c4 bought b07 B C G,
-- b08 F G H: G 2/2, B C F H 1/2 each; then best sellers A D Q (B C F G H taken)
SELECT results_eq(
	$$SELECT rank, item, score, repeat_part, source FROM bundlerec.recommend_items('tms_w', 'c4', 8)$$,
	$$VALUES (1, 'G', 1.0::float8, 1.0::float8, 'customer'), (2, 'B', 0.5, 0.5, 'customer'),
	         (3, 'C', 0.5, 0.5, 'customer'), (4, 'F', 0.5, 0.5, 'customer'), (5, 'H', 0.5, 0.5, 'customer'),
	         (6, 'A', 0.4375, NULL, 'popular'), (7, 'D', 0.125, NULL, 'popular'), (8, 'Q', 0.125, NULL, 'popular')$$,
	'recommend_items model_weight 0, c4: own items by share of orders (G 1, B C F H 1/2), then best sellers A D Q');
SELECT results_eq(
	$$SELECT item, source FROM bundlerec.recommend_items('tms_w', 'c4', 4, exclude_bought => true)$$,
	$$VALUES ('A', 'popular'), ('D', 'popular'), ('Q', 'popular'), ('E', 'popular')$$,
	'recommend_items exclude_bought, c4: best sellers c4 never bought');
SELECT is(
	(SELECT count(*) FROM bf_cust c
	 CROSS JOIN LATERAL bundlerec.recommend_items('tms_shop', c.customer, 10, exclude_bought => true) r
	 JOIN bf_ci ci ON ci.customer = c.customer AND ci.item = r.item),
	0::bigint,
	'recommend_items exclude_bought: never an item the customer bought (fixture)');
SELECT is(
	(SELECT count(*) FROM bf_cust c
	 CROSS JOIN LATERAL bundlerec.recommend_items('tms_shop', c.customer, 10, exclude_bought => true) r),
	(SELECT sum(n) FROM (SELECT 10 - count(*) AS n FROM bf_ci GROUP BY customer) x)::bigint,
	'recommend_items exclude_bought k 10: every item the customer never bought');
SELECT results_eq(
	$$SELECT item, source FROM bundlerec.recommend_items('tms_shop', 'nobody', 3)$$,
	$$VALUES ('A', 'popular'), ('B', 'popular'), ('C', 'popular')$$,
	'recommend_items unknown customer: best sellers');

------------------------------------------------------------------------------
-- 5. similar_items
------------------------------------------------------------------------------
CREATE VIEW bf_cosine AS
WITH f AS (SELECT e.item, u.o, u.x::float8 AS x
           FROM bundlerec_tms_shop.item_embeddings e CROSS JOIN LATERAL unnest(e.factors) WITH ORDINALITY u(x, o)),
nrm AS (SELECT item, sqrt(sum(x * x)) AS n FROM f GROUP BY item)
SELECT a.item, b.item AS neighbor, sum(a.x * b.x) / (na.n * nb.n) AS cosine
FROM f a JOIN f b ON b.o = a.o AND b.item <> a.item
JOIN nrm na ON na.item = a.item JOIN nrm nb ON nb.item = b.item
GROUP BY a.item, b.item, na.n, nb.n;

SELECT results_eq(
	$$SELECT rank, neighbor, source FROM bundlerec.similar_items('tms_shop', 'A', 4)$$,
	$$SELECT row_number() OVER (ORDER BY cosine DESC)::integer, neighbor, 'embeddings'::text
	  FROM bf_cosine WHERE item = 'A' ORDER BY cosine DESC LIMIT 4$$,
	'similar_items A k 4: the 4 items of largest cosine of the ALS vectors (recomputed in SQL)');
SELECT is(
	(SELECT count(*) FROM bundlerec.similar_items('tms_shop', 'A', 9) s
	 JOIN bf_cosine c ON c.item = 'A' AND c.neighbor = s.neighbor
	 WHERE near(s.similarity, c.cosine, 1e-5)),
	9::bigint,
	'similar_items A k 9: every similarity is the SQL cosine (1e-5)');
SELECT is(
	(SELECT count(*) FROM (SELECT DISTINCT item FROM order_lines) i
	 CROSS JOIN LATERAL (SELECT array_agg(s.similarity ORDER BY s.rank) AS sims
	                     FROM bundlerec.similar_items('tms_shop', i.item, 9) s) s
	 WHERE (SELECT bool_and(s.sims[j] >= s.sims[j + 1] - 1e-6) FROM generate_series(1, 8) j)),
	10::bigint,
	'similar_items: similarities never increase down the ranks, for every item');
SELECT results_eq(
	$$SELECT neighbor, source FROM bundlerec.similar_items('tms_shop', 'ZZZ', 3, category => 'z')$$,
	$$VALUES ('Q', 'popular in category'), ('P', 'popular in category'), ('A', 'popular')$$,
	'similar_items unknown item, category z: Q P, then A');

------------------------------------------------------------------------------
-- 6. errors
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM bundlerec.frequently_bought_together('tms_shop', 'A', 0)$$,
	'22023', NULL, 'fbt k 0: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.frequently_bought_together('tms_shop', 'A', NULL)$$,
	'22023', NULL, 'fbt k NULL: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.frequently_bought_together('tms_shop', 'A', 1001)$$,
	'22023', NULL, 'fbt k 1001: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.similar_items('tms_shop', 'A', 0)$$,
	'22023', NULL, 'similar_items k 0: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.complete_cart('tms_shop', ARRAY['A'], 1001)$$,
	'22023', NULL, 'complete_cart k 1001: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.complete_cart('tms_shop', ARRAY['A'], NULL)$$,
	'22023', NULL, 'complete_cart k NULL: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.bundles_for_item('tms_shop', 'A', 0)$$,
	'22023', NULL, 'bundles_for_item k 0: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.bundles_for_item('tms_shop', 'A', 1001, explore => true)$$,
	'22023', NULL, 'bundles_for_item k 1001: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.bundles_for_customer('tms_shop', 'c1', NULL)$$,
	'22023', NULL, 'bundles_for_customer k NULL: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_items('tms_shop', 'c1', 1001)$$,
	'22023', NULL, 'recommend_items k 1001: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_items('tms_shop', 'c1', 0)$$,
	'22023', NULL, 'recommend_items k 0: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.frequently_bought_together('no_such_model', 'A')$$,
	'42704', NULL, 'fbt unknown model: 42704');
SELECT throws_ok($$SELECT * FROM bundlerec.similar_items('no_such_model', 'A')$$,
	'42704', NULL, 'similar_items unknown model: 42704');
SELECT throws_ok($$SELECT * FROM bundlerec.complete_cart('no_such_model', ARRAY['A'])$$,
	'42704', NULL, 'complete_cart unknown model: 42704');
SELECT throws_ok($$SELECT * FROM bundlerec.bundles_for_item('no_such_model', 'A')$$,
	'42704', NULL, 'bundles_for_item unknown model: 42704');
SELECT throws_ok($$SELECT * FROM bundlerec.bundles_for_customer('no_such_model', 'c1')$$,
	'42704', NULL, 'bundles_for_customer unknown model: 42704');
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_items('no_such_model', 'c1')$$,
	'42704', NULL, 'recommend_items unknown model: 42704');
SELECT throws_ok($$SELECT * FROM bundlerec.frequently_bought_together(NULL, 'A')$$,
	'42704', NULL, 'fbt NULL model: 42704');
SELECT throws_ok($$SELECT bundlerec.record_feedback('no_such_model', ARRAY['A'])$$,
	'42704', NULL, 'record_feedback unknown model: 42704');
SELECT throws_ok($$SELECT * FROM bundlerec.frequently_bought_together('tms_new', 'A')$$,
	'55000', NULL, 'fbt never refreshed model: 55000');
SELECT throws_ok($$SELECT * FROM bundlerec.similar_items('tms_new', 'A')$$,
	'55000', NULL, 'similar_items never refreshed model: 55000');
SELECT throws_ok($$SELECT * FROM bundlerec.complete_cart('tms_new', ARRAY['A'])$$,
	'55000', NULL, 'complete_cart never refreshed model: 55000');
SELECT throws_ok($$SELECT * FROM bundlerec.bundles_for_item('tms_new', 'A')$$,
	'55000', NULL, 'bundles_for_item never refreshed model: 55000');
SELECT throws_ok($$SELECT * FROM bundlerec.bundles_for_customer('tms_new', 'c1')$$,
	'55000', NULL, 'bundles_for_customer never refreshed model: 55000');
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_items('tms_new', 'c1')$$,
	'55000', NULL, 'recommend_items never refreshed model: 55000');

------------------------------------------------------------------------------
-- 7. privileges: serving runs with the caller's privileges
------------------------------------------------------------------------------
CREATE ROLE tap_models_serving_reader NOLOGIN;
-- the bundlerec schema itself (PUBLIC has no USAGE on it) and this test's helpers
GRANT USAGE ON SCHEMA bundlerec, tap_models_serving TO tap_models_serving_reader;
SET LOCAL ROLE tap_models_serving_reader;
SELECT try_sql($$SELECT string_agg(partner, ',' ORDER BY rank) FROM bundlerec.frequently_bought_together('tms_shop', 'A', 3)$$) AS priv_before \gset
RESET ROLE;
SELECT is(:'priv_before'::text, '42501: permission denied for schema bundlerec_tms_shop',
	'a role without USAGE on the results schema: 42501 permission denied for schema bundlerec_tms_shop');
GRANT USAGE ON SCHEMA bundlerec_tms_shop TO tap_models_serving_reader;
SET LOCAL ROLE tap_models_serving_reader;
SELECT try_sql($$SELECT string_agg(partner, ',' ORDER BY rank) FROM bundlerec.frequently_bought_together('tms_shop', 'A', 3)$$) AS priv_usage \gset
RESET ROLE;
SELECT matches(:'priv_usage'::text, '^42501: permission denied for (table|view) ',
	'with USAGE but no SELECT on the result tables: 42501 on a table');
GRANT SELECT ON ALL TABLES IN SCHEMA bundlerec_tms_shop TO tap_models_serving_reader;
SET LOCAL ROLE tap_models_serving_reader;
SELECT try_sql($$SELECT string_agg(partner, ',' ORDER BY rank) FROM bundlerec.frequently_bought_together('tms_shop', 'A', 3)$$) AS priv_after \gset
RESET ROLE;
SELECT is(:'priv_after'::text, 'ok: B,D,C', 'after GRANT USAGE and SELECT: frequently_bought_together works (B, D, C)');
-- serving.sql: "the caller needs USAGE on the model's schema and SELECT on its
-- tables"; models.sql grants SELECT on bundlerec.models to PUBLIC for the
-- serving functions.  A role given exactly that (and nothing on schema
-- bundlerec) should be served.
CREATE ROLE tap_models_serving_shopper NOLOGIN;
GRANT USAGE ON SCHEMA tap_models_serving, bundlerec_tms_shop TO tap_models_serving_shopper;
GRANT SELECT ON ALL TABLES IN SCHEMA bundlerec_tms_shop TO tap_models_serving_shopper;
SET LOCAL ROLE tap_models_serving_shopper;
SELECT try_sql($$SELECT string_agg(partner, ',' ORDER BY rank) FROM bundlerec.frequently_bought_together('tms_shop', 'A', 3)$$) AS priv_shopper \gset
RESET ROLE;
SELECT is(:'priv_shopper'::text, 'ok: B,D,C',
	'a role with USAGE + SELECT on the results schema only (nothing granted on schema bundlerec) is served');
SELECT is(current_user, session_user, 'RESET ROLE: back to the session user');

------------------------------------------------------------------------------
-- 8. evaluate
------------------------------------------------------------------------------
-- train (before 2024-02-01):            test (from 2024-02-01):
--   t1 u1 01-01: a b                      s1 u1 02-02: c d
--   t2 u1 01-05: a c                      s2 u2 02-03: a e
--   t3 u2 01-03: a b                      s3 u3 02-04: b
--   t4 u2 01-10: b d                      s4 u5 02-05: a b
--   t5 u3 01-07: a e                      s8 u5 02-06: b e
--   t6 u4 01-08: c
-- train: N = 6 orders; a 4, b 3, c 2, d 1, e 1: popularity a b c d e; 5 items.
-- k = 2.
--
-- complete the cart (test baskets of >= 2 items: s1 s2 s4 s8; the hidden item
-- has the smallest md5(basket || '/' || item), checked below):
--   s1 hide c, cart d -> popular [a b]: miss
--   s2 hide a, cart e -> [a b]: hit at 1
--   s4 hide a, cart b -> [a c]: hit at 1
--   s8 hide b, cart e -> [a b]: hit at 2
--   popularity: cases 4, hit_rate = recall = 3/4, precision = (0 + 3 * 1/2) / 4 = 3/8,
--   ndcg = (0 + 1 + 1 + 1/log2 3) / 4, coverage = |{a b c}| / 5 = 3/5,
--   novelty = (4 * -log2(4/6) + 3 * -log2(3/6) + 1 * -log2(2/6)) / 8 = (4 log2 1.5 + 3 + log2 3) / 8
--
-- next period: cases = train customers with test lines: u1 {c d}, u2 {a e}, u3 {b}
--   (u4 bought nothing later, u5 is new).
--   popularity [a b] for all: u1 0 hits; u2 a at 1; u3 b at 2
--     hit_rate 2/3, precision (0 + 1/2 + 1/2) / 3 = 1/3, recall (0 + 1/2 + 1) / 3 = 1/2,
--     ndcg = (0 + 1 / (1 + 1/log2 3) + (1/log2 3) / 1) / 3, coverage 2/5,
--     novelty = (log2 1.5 + 1) / 2
--   repeat (train items by orders desc, last_ordered desc, item):
--     u1: a (2), c (1, 01-05), b (1, 01-01) -> [a c]: c at 2: precision 1/2, recall 1/2,
--         ndcg (1/log2 3) / (1 + 1/log2 3)
--     u2: b (2), d (1, 01-10), a (1, 01-03) -> [b d]: 0 hits (wants a e)
--     u3: a (1, 01-07), e (1, 01-07) -> [a e]: 0 hits (wants b)
--     hit_rate 1/3, precision 1/6, recall 1/6, ndcg = ((1/log2 3) / (1 + 1/log2 3)) / 3,
--     coverage |{a b c d e}| / 5 = 1,
--     novelty = (2 log2 1.5 + log2 3 + 1 + 2 log2 6) / 6  (a a c b d e)
CREATE TABLE ev_lines (basket text, item text, customer text, ordered_at timestamptz,
                       quantity int, price numeric, category text);
INSERT INTO ev_lines (basket, item, customer, ordered_at, quantity, price, category)
SELECT v.basket, i.item, v.customer, v.ts::timestamptz, 1, 1, 'k'
FROM (VALUES
	('t1', 'u1', '2024-01-01 12:00+00', 'a b'),
	('t2', 'u1', '2024-01-05 12:00+00', 'a c'),
	('t3', 'u2', '2024-01-03 12:00+00', 'a b'),
	('t4', 'u2', '2024-01-10 12:00+00', 'b d'),
	('t5', 'u3', '2024-01-07 12:00+00', 'a e'),
	('t6', 'u4', '2024-01-08 12:00+00', 'c'),
	('s1', 'u1', '2024-02-02 12:00+00', 'c d'),
	('s2', 'u2', '2024-02-03 12:00+00', 'a e'),
	('s3', 'u3', '2024-02-04 12:00+00', 'b'),
	('s4', 'u5', '2024-02-05 12:00+00', 'a b'),
	('s8', 'u5', '2024-02-06 12:00+00', 'b e')
) v(basket, customer, ts, items)
CROSS JOIN LATERAL unnest(string_to_array(v.items, ' ')) i(item);

-- the hidden item and cart of each test basket, by the md5 rule
CREATE VIEW ev_carts AS
WITH b AS (SELECT basket, array_agg(DISTINCT item ORDER BY item) AS items
           FROM ev_lines WHERE ordered_at >= '2024-02-01 00:00+00' GROUP BY basket HAVING count(DISTINCT item) >= 2)
SELECT b.basket, h.item AS hidden, array_remove(b.items, h.item) AS cart
FROM b CROSS JOIN LATERAL (SELECT u.item FROM unnest(b.items) u(item)
                           ORDER BY md5(b.basket || '/' || u.item), u.item LIMIT 1) h;

SELECT results_eq($$SELECT basket, hidden, cart FROM ev_carts ORDER BY basket$$,
	$$VALUES ('s1', 'c', ARRAY['d']), ('s2', 'a', ARRAY['e']), ('s4', 'a', ARRAY['b']), ('s8', 'b', ARRAY['e'])$$,
	'evaluate fixture: the md5 rule hides c, a, a, b as designed');

SELECT bundlerec.create_model('tms_ev', 'ev_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price', category => 'category',
	options => '{"factors": 4, "iterations": 3}') IS NOT NULL AS created \gset
SELECT count(*) AS n_stages FROM bundlerec.refresh('tms_ev') \gset
SELECT bundlerec.create_model('tms_ev_nodate', 'ev_lines', 'basket', 'item', customer => 'customer',
	options => '{"factors": 4, "iterations": 3}') IS NOT NULL AS created \gset

-- the live results before evaluate
CREATE FUNCTION live_digest(sch name) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	t text;
	d text := '';
	x text;
BEGIN
	FOR t IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = sch::regnamespace AND c.relkind = 'r'
	         ORDER BY c.relname LOOP
		EXECUTE format('SELECT md5(coalesce(string_agg(r::text, %L ORDER BY r::text), %L)) FROM %I.%I r', '|', '', sch, t)
		INTO x;
		d := d || t || ':' || x || ';';
	END LOOP;
	RETURN d;
END
$$;
CREATE TABLE ev_before AS
SELECT live_digest('bundlerec_tms_ev') AS digest, m.last_refresh, m.watermark, m.n_lines, m.n_baskets,
       (SELECT count(*) FROM bundlerec.refresh_history h WHERE h.model = 'tms_ev') AS history
FROM bundlerec.models m WHERE m.name = 'tms_ev';

CREATE TABLE ev_out AS
SELECT row_number() OVER () AS ord, e.* FROM bundlerec.evaluate('tms_ev', '2024-02-01 00:00+00', 2) e;

SELECT results_eq($$SELECT task, method FROM ev_out ORDER BY ord$$,
	$$VALUES ('complete the cart', 'model'), ('complete the cart', 'popularity'),
	         ('next period', 'model'), ('next period', 'repeat'), ('next period', 'popularity')$$,
	'evaluate returns the 5 rows: complete the cart model, popularity; next period model, repeat, popularity');

-- complete the cart, popularity
SELECT is((SELECT cases FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 4::bigint,
	'eval cart popularity: 4 cases');
SELECT ok(near((SELECT hit_rate FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 3 / 4.0, 1e-9),
	'eval cart popularity: hit_rate 3/4');
SELECT ok(near((SELECT precision FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 3 / 8.0, 1e-9),
	'eval cart popularity: precision 3/8');
SELECT ok(near((SELECT recall FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 3 / 4.0, 1e-9),
	'eval cart popularity: recall 3/4');
SELECT ok(near((SELECT ndcg FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'),
	(2 + 1 / log(2, 3)::float8) / 4, 1e-9),
	'eval cart popularity: ndcg (1 + 1 + 1/log2 3) / 4');
SELECT ok(near((SELECT coverage FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'), 3 / 5.0, 1e-9),
	'eval cart popularity: coverage 3/5');
SELECT ok(near((SELECT novelty FROM ev_out WHERE task = 'complete the cart' AND method = 'popularity'),
	((4 * log(2, 1.5) + 3 + log(2, 3)) / 8)::float8, 1e-9),
	'eval cart popularity: novelty (4 log2 1.5 + 3 + log2 3) / 8');

-- next period, popularity
SELECT is((SELECT cases FROM ev_out WHERE task = 'next period' AND method = 'popularity'), 3::bigint,
	'eval next popularity: 3 cases (u1 u2 u3)');
SELECT ok(near((SELECT hit_rate FROM ev_out WHERE task = 'next period' AND method = 'popularity'), 2 / 3.0, 1e-9),
	'eval next popularity: hit_rate 2/3');
SELECT ok(near((SELECT precision FROM ev_out WHERE task = 'next period' AND method = 'popularity'), 1 / 3.0, 1e-9),
	'eval next popularity: precision 1/3');
SELECT ok(near((SELECT recall FROM ev_out WHERE task = 'next period' AND method = 'popularity'), 1 / 2.0, 1e-9),
	'eval next popularity: recall 1/2');
SELECT ok(near((SELECT ndcg FROM ev_out WHERE task = 'next period' AND method = 'popularity'),
	(1 / (1 + 1 / log(2, 3)::float8) + 1 / log(2, 3)::float8) / 3, 1e-9),
	'eval next popularity: ndcg (1 / (1 + 1/log2 3) + 1/log2 3) / 3');
SELECT ok(near((SELECT coverage FROM ev_out WHERE task = 'next period' AND method = 'popularity'), 2 / 5.0, 1e-9),
	'eval next popularity: coverage 2/5');
SELECT ok(near((SELECT novelty FROM ev_out WHERE task = 'next period' AND method = 'popularity'),
	((log(2, 1.5) + 1) / 2)::float8, 1e-9),
	'eval next popularity: novelty (log2 1.5 + 1) / 2');

-- next period, repeat
SELECT is((SELECT cases FROM ev_out WHERE task = 'next period' AND method = 'repeat'), 3::bigint,
	'eval next repeat: 3 cases');
SELECT ok(near((SELECT hit_rate FROM ev_out WHERE task = 'next period' AND method = 'repeat'), 1 / 3.0, 1e-9),
	'eval next repeat: hit_rate 1/3');
SELECT ok(near((SELECT precision FROM ev_out WHERE task = 'next period' AND method = 'repeat'), 1 / 6.0, 1e-9),
	'eval next repeat: precision 1/6');
SELECT ok(near((SELECT recall FROM ev_out WHERE task = 'next period' AND method = 'repeat'), 1 / 6.0, 1e-9),
	'eval next repeat: recall 1/6');
SELECT ok(near((SELECT ndcg FROM ev_out WHERE task = 'next period' AND method = 'repeat'),
	((1 / log(2, 3)::float8) / (1 + 1 / log(2, 3)::float8)) / 3, 1e-9),
	'eval next repeat: ndcg ((1/log2 3) / (1 + 1/log2 3)) / 3');
SELECT ok(near((SELECT coverage FROM ev_out WHERE task = 'next period' AND method = 'repeat'), 1.0, 1e-9),
	'eval next repeat: coverage 5/5');
SELECT ok(near((SELECT novelty FROM ev_out WHERE task = 'next period' AND method = 'repeat'),
	((2 * log(2, 1.5) + log(2, 3) + 1 + 2 * log(2, 6)) / 6)::float8, 1e-9),
	'eval next repeat: novelty (2 log2 1.5 + log2 3 + 1 + 2 log2 6) / 6');

-- the model rows
SELECT is((SELECT cases FROM ev_out WHERE task = 'complete the cart' AND method = 'model'), 4::bigint,
	'eval cart model: as many cases as the popularity baseline (4)');
SELECT is((SELECT cases FROM ev_out WHERE task = 'next period' AND method = 'model'), 3::bigint,
	'eval next model: as many cases as the baselines (3)');
SELECT is(
	(SELECT count(*) FROM ev_out
	 WHERE hit_rate BETWEEN 0 AND 1 AND precision BETWEEN 0 AND 1 AND recall BETWEEN 0 AND 1
	   AND ndcg BETWEEN 0 AND 1 AND coverage BETWEEN 0 AND 1 AND novelty >= 0
	   AND precision <= hit_rate + 1e-12 AND ndcg <= hit_rate + 1e-12),
	5::bigint,
	'eval: every metric of every row in [0, 1] (novelty >= 0), precision and ndcg <= hit_rate');
SELECT ok(
	(SELECT near(hit_rate, recall, 1e-12) AND near(precision, hit_rate / 2, 1e-12)
	 FROM ev_out WHERE task = 'complete the cart' AND method = 'model'),
	'eval cart model: recall = hit_rate and precision = hit_rate / k (one hidden item)');

-- the scratch-free definition: the same model trained on the train lines only,
-- served through complete_cart and recommend_items
CREATE VIEW ev_train_lines AS SELECT * FROM ev_lines WHERE ordered_at < '2024-02-01 00:00+00';
SELECT bundlerec.create_model('tms_ev_train', 'ev_train_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', quantity => 'quantity', price => 'price', category => 'category',
	options => '{"factors": 4, "iterations": 3}') IS NOT NULL AS created \gset
SELECT count(*) AS n_stages FROM bundlerec.refresh('tms_ev_train') \gset

CREATE VIEW ev_cart_model AS
SELECT c.basket, (SELECT min(f.rank) FROM bundlerec.complete_cart('tms_ev_train', c.cart, 2) f WHERE f.item = c.hidden) AS hit_rank
FROM ev_carts c;
SELECT ok(
	(SELECT near(e.hit_rate, (SELECT avg((m.hit_rank IS NOT NULL)::int::float8) FROM ev_cart_model m), 1e-9)
	    AND near(e.ndcg, (SELECT avg(coalesce(1 / log(2, m.hit_rank + 1)::float8, 0)) FROM ev_cart_model m), 1e-9)
	    AND near(e.precision, (SELECT avg((m.hit_rank IS NOT NULL)::int::float8 / 2) FROM ev_cart_model m), 1e-9)
	 FROM ev_out e WHERE e.task = 'complete the cart' AND e.method = 'model'),
	'eval cart model: hit_rate, ndcg and precision = complete_cart of a model trained on the train lines only');

CREATE VIEW ev_next_model AS
WITH rel AS (SELECT DISTINCT customer, item FROM ev_lines
             WHERE ordered_at >= '2024-02-01 00:00+00' AND customer IN ('u1', 'u2', 'u3')),
per AS (
	SELECT c.customer,
	       (SELECT count(*) FROM rel r WHERE r.customer = c.customer) AS n_rel,
	       (SELECT count(*) FROM bundlerec.recommend_items('tms_ev_train', c.customer, 2) x
	        JOIN rel r ON r.customer = c.customer AND r.item = x.item) AS hits,
	       (SELECT coalesce(sum(1 / log(2, x.rank + 1)::float8), 0)
	        FROM bundlerec.recommend_items('tms_ev_train', c.customer, 2) x
	        JOIN rel r ON r.customer = c.customer AND r.item = x.item) AS dcg
	FROM (VALUES ('u1'), ('u2'), ('u3')) c(customer))
SELECT avg((hits > 0)::int::float8) AS hit_rate, avg(hits / 2.0)::float8 AS precision,
       avg(hits::float8 / n_rel) AS recall,
       avg(dcg / (SELECT sum(1 / log(2, g + 1)::float8) FROM generate_series(1, least(2, n_rel)) g)) AS ndcg
FROM per;
SELECT ok(
	(SELECT near(e.hit_rate, m.hit_rate, 1e-9) AND near(e.precision, m.precision, 1e-9)
	    AND near(e.recall, m.recall, 1e-9) AND near(e.ndcg, m.ndcg, 1e-9)
	 FROM ev_out e, ev_next_model m WHERE e.task = 'next period' AND e.method = 'model'),
	'eval next model: metrics = recommend_items of a model trained on the train lines only');

-- what evaluate leaves behind
SELECT is(
	(SELECT live_digest('bundlerec_tms_ev') FROM ev_before), live_digest('bundlerec_tms_ev'),
	'evaluate did not change the live result tables');
SELECT ok(
	(SELECT b.last_refresh = m.last_refresh AND b.watermark = m.watermark AND b.n_lines = m.n_lines
	        AND b.n_baskets = m.n_baskets
	 FROM ev_before b, bundlerec.models m WHERE m.name = 'tms_ev'),
	'evaluate did not change models.last_refresh, watermark, n_lines, n_baskets');
SELECT is(
	(SELECT count(*) FROM bundlerec.refresh_history h WHERE h.model = 'tms_ev') - (SELECT history FROM ev_before),
	1::bigint,
	'evaluate appended one refresh_history row');
SELECT results_eq(
	$$SELECT h.kind, jsonb_array_length(h.metrics -> 'rows'), (h.metrics ->> 'k')::int
	  FROM bundlerec.refresh_history h WHERE h.model = 'tms_ev' ORDER BY h.id DESC LIMIT 1$$,
	$$VALUES ('evaluate', 5, 2)$$,
	'the history row: kind evaluate, metrics->rows has the 5 returned rows, k 2');
SELECT is(
	(SELECT count(*) FROM bundlerec.refresh_history h
	 CROSS JOIN LATERAL jsonb_array_elements(h.metrics -> 'rows') r
	 JOIN ev_out e ON e.task = r ->> 'task' AND e.method = r ->> 'method' AND e.cases = (r ->> 'cases')::bigint
	              AND near(e.hit_rate, (r ->> 'hit_rate')::float8, 1e-12)
	 WHERE h.model = 'tms_ev' AND h.kind = 'evaluate'),
	5::bigint,
	'the history rows match the returned rows (task, method, cases, hit_rate)');
SELECT is((SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bundlerec\_eval\_%'), 0::bigint,
	'evaluate left no bundlerec_eval_* schema');
SELECT throws_ok($$SELECT * FROM bundlerec.evaluate('tms_ev', NULL)$$,
	'22004', NULL, 'evaluate NULL test_from: 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.evaluate('tms_ev', '2023-06-01 00:00+00')$$,
	'P0002', NULL, 'evaluate with no train lines before test_from: P0002');
SELECT throws_ok($$SELECT * FROM bundlerec.evaluate('tms_ev', '2024-03-01 00:00+00')$$,
	'P0002', NULL, 'evaluate with no test lines from test_from: P0002');
SELECT throws_ok($$SELECT * FROM bundlerec.evaluate('tms_ev_nodate', '2024-02-01 00:00+00')$$,
	'55000', NULL, 'evaluate of a model without ordered_at: 55000');
SELECT throws_ok($$SELECT * FROM bundlerec.evaluate('no_such_model', '2024-02-01 00:00+00')$$,
	'42704', NULL, 'evaluate unknown model: 42704');
SELECT throws_ok($$SELECT * FROM bundlerec.evaluate('tms_ev', '2024-02-01 00:00+00', 0)$$,
	'22023', NULL, 'evaluate k 0: 22023');
SELECT is((SELECT count(*) FROM bundlerec.refresh_history h WHERE h.model = 'tms_ev' AND h.kind = 'evaluate'), 1::bigint,
	'failed evaluations append no history');

-- NULL item or customer: 22004
SELECT throws_ok($$SELECT * FROM bundlerec.frequently_bought_together('tms_shop', NULL)$$, '22004', NULL,
	'frequently_bought_together with a NULL item raises 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.similar_items('tms_shop', NULL)$$, '22004', NULL,
	'similar_items with a NULL item raises 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.bundles_for_customer('tms_shop', NULL)$$, '22004', NULL,
	'bundles_for_customer with a NULL customer raises 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.recommend_items('tms_shop', NULL)$$, '22004', NULL,
	'recommend_items with a NULL customer raises 22004');

SELECT * FROM finish();
ROLLBACK;
