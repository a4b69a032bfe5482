-- models_item_weights.sql: the item_weights result (signed EASE weights) and
-- complete_cart's EASE part.
--   1. The stage's table equals bundlerec._ease_weights over the orders the
--      model counts (those under max_basket_items, recomputed in SQL),
--      ranked by |weight| in SQL; negative weights are kept.
--   2. complete_cart: the candidates and scores equal the blend recomputed
--      in SQL from the published pairs, rules, similar_items and
--      item_weights (score = cart_pairs_weight * best pair confidence +
--      cart_rules_weight * best rule confidence + cart_embedding_weight *
--      max(0, best cosine) + cart_ease_weight * sum of the cart items'
--      weights), from_ease is that sum; a negative weight lowers a
--      candidate by exactly cart_ease_weight * weight; the explanation
--      names the cart item of the largest positive weight.
--   3. Options: ease false publishes no item_weights and serves without
--      them; bad values are 22023.
--   4. A catalogue too large for dense EASE at bundlerec.memory_limit gets
--      sparse EASE's weights and the refresh succeeds (the stage would
--      publish item_weights empty on 54000 from sparse EASE too, which no
--      fixture reaches at the smallest limit: pair counting runs out first).
--   5. After new orders and a refresh, complete_cart serves the new
--      weights (the per-backend rows are read again); drop_model removes
--      the table.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(23);

CREATE SCHEMA tap_item_weights;
SET LOCAL search_path = tap_item_weights, public;
SET LOCAL jit = off;

CREATE FUNCTION near(have float8, want float8, tol float8 DEFAULT 1e-12)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(abs(have - want) <= tol, false)
$$;

-- 240 orders of 2 to 6 of 16 items, 30 customers; the orders of 6 lines
-- (some of 6 distinct items) are above max_basket_items 5.
CREATE TABLE lines (basket text, item text, customer text, ordered_at timestamptz);
INSERT INTO lines
SELECT DISTINCT 'o' || o, 'i' || ((o * 7 + j * j * 3 + (o / 5) * j) % 16), 'c' || (o % 30),
       timestamptz '2024-01-01 00:00+00' + o * interval '1 hour'
FROM generate_series(1, 240) o, generate_series(1, 2 + o % 5) j;

SELECT bundlerec.create_model('miw', 'lines', 'basket', 'item', customer => 'customer', ordered_at => 'ordered_at',
	options => '{"factors": 4, "iterations": 3, "ease_regularization": 5, "ease_per_item": 6,
	             "max_basket_items": 5, "rules_min_support": 0.02}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('miw') \gset

------------------------------------------------------------------------------
-- 1. the table equals _ease_weights over the counted orders
------------------------------------------------------------------------------
CREATE TABLE counted AS
SELECT DISTINCT basket, item FROM lines
WHERE basket IN (SELECT basket FROM lines GROUP BY basket HAVING count(DISTINCT item) <= 5);
CREATE TABLE oracle AS
SELECT w.item, row_number() OVER (PARTITION BY w.item ORDER BY abs(w.score) DESC, w.neighbor COLLATE "C")::integer AS rank,
       w.neighbor, w.score AS weight
FROM bundlerec._ease_weights('counted', 'basket', 'item', regularization => 5, top_k => 6, min_count => 2) w
WHERE w.score <> 0;

SELECT ok((SELECT count(*) FROM lines l GROUP BY basket HAVING count(DISTINCT item) > 5 LIMIT 1) > 0,
	'the fixture has orders above max_basket_items 5');
SELECT set_eq(
	$$SELECT item, rank, neighbor, round(weight::numeric, 12) FROM bundlerec_miw.item_weights$$,
	$$SELECT item, rank, neighbor, round(weight::numeric, 12) FROM oracle$$,
	'item_weights = _ease_weights(orders under max_basket_items, lambda 5, top 6 |weight|, min_count 2), ranked by |weight| then neighbor');
SELECT ok((SELECT count(*) FROM bundlerec_miw.item_weights WHERE weight < 0) > 0
          AND (SELECT max(rank) FROM bundlerec_miw.item_weights) = 6,
	'item_weights keeps negative weights and cuts each item to ease_per_item 6');
SELECT ok(EXISTS (
	SELECT item, neighbor, round(score::numeric, 12)
	FROM bundlerec._ease_weights('lines', 'basket', 'item', regularization => 5, top_k => 6, min_count => 2)
	WHERE score <> 0
	EXCEPT SELECT item, neighbor, round(weight::numeric, 12) FROM bundlerec_miw.item_weights),
	'the weights over every order differ (so the cap is what the table follows)');
SELECT is((SELECT r.refresh || ' ' || r.enabled_by || ' ' || r.served FROM bundlerec.result_tables r WHERE r.name = 'item_weights'),
	'model ease true', 'item_weights is declared a served "model" result enabled by the ease option');

------------------------------------------------------------------------------
-- 2. complete_cart = the blend recomputed from the published tables
------------------------------------------------------------------------------
CREATE TABLE carts (cart text[]);
INSERT INTO carts VALUES (ARRAY['i1', 'i2']), (ARRAY['i3']), (ARRAY['i4', 'i9', 'i12']), (ARRAY['i0', 'i5', 'i7', 'i15']),
	(ARRAY['i6', 'i6', 'i11']), (ARRAY['i8', 'nope']);
CREATE FUNCTION opt(k text) RETURNS float8 LANGUAGE sql STABLE AS $$
	SELECT (options ->> k)::float8 FROM bundlerec.models WHERE name = 'miw' $$;
CREATE VIEW blend AS
WITH p AS (SELECT c.cart, x.partner AS item, max(x.confidence) AS conf
           FROM carts c JOIN bundlerec_miw.pairs x ON x.item = ANY (c.cart) GROUP BY c.cart, x.partner),
r AS (SELECT c.cart, x.consequent AS item, max(x.confidence) AS conf
      FROM carts c JOIN bundlerec_miw.rules x ON x.antecedent <@ c.cart GROUP BY c.cart, x.consequent),
e AS (SELECT c.cart, x.neighbor AS item, max(x.similarity) AS sim
      FROM carts c JOIN bundlerec_miw.similar_items x ON x.item = ANY (c.cart) GROUP BY c.cart, x.neighbor),
w AS (SELECT c.cart, x.neighbor AS item, sum(x.weight) AS ease
      FROM carts c JOIN bundlerec_miw.item_weights x ON x.item IN (SELECT DISTINCT unnest(c.cart))
      GROUP BY c.cart, x.neighbor),
cand AS (SELECT cart, item FROM p UNION SELECT cart, item FROM r UNION SELECT cart, item FROM e
         UNION SELECT cart, item FROM w)
SELECT cand.cart, cand.item, w.ease,
       opt('cart_pairs_weight') * coalesce(p.conf, 0) + opt('cart_rules_weight') * coalesce(r.conf, 0)
       + opt('cart_embedding_weight') * greatest(0, coalesce(e.sim, 0)) + opt('cart_ease_weight') * coalesce(w.ease, 0) AS score,
       p.conf AS pconf
FROM cand LEFT JOIN p USING (cart, item) LEFT JOIN r USING (cart, item) LEFT JOIN e USING (cart, item)
     LEFT JOIN w USING (cart, item)
WHERE cand.item <> ALL (cand.cart);
CREATE TABLE served AS
SELECT c.cart, f.* FROM carts c CROSS JOIN LATERAL bundlerec.complete_cart('miw', c.cart, 16) f;

SELECT ok(opt('cart_ease_weight') > 0 AND (SELECT count(*) FROM blend WHERE ease < 0) > 0
          AND (SELECT count(*) FROM served WHERE source = 'model') >= 30,
	'the carts have at least 30 model candidates, some with a negative EASE sum');
SELECT is(
	(SELECT count(*) FROM blend b FULL JOIN (SELECT * FROM served WHERE source = 'model') s USING (cart, item)
	 WHERE NOT near(s.score, b.score) OR s.from_ease IS DISTINCT FROM b.ease AND NOT near(s.from_ease, b.ease)),
	0::bigint,
	'complete_cart: the model rows are exactly the candidates of the SQL blend, score and from_ease within 1e-12');
SELECT results_eq(
	$$SELECT cart, item FROM served WHERE source = 'model' ORDER BY cart, rank$$,
	$$SELECT b.cart, b.item FROM blend b
	  ORDER BY b.cart, b.score DESC, b.item COLLATE "C"$$,
	'complete_cart: model rows in the order of the recomputed score');
-- a candidate that a pair brings and a negative weight lowers: with the
-- EASE part off (evaluate's path, the same tables) it scores more, by
-- exactly cart_ease_weight * its weight
CREATE TABLE lowered AS
SELECT b.cart, b.item, b.ease, s.score AS with_ease,
       (SELECT f.score FROM bundlerec._complete_cart('bundlerec_miw',
            (SELECT options FROM bundlerec.models WHERE name = 'miw') || '{"cart_ease_weight": 0}', b.cart, 16) f
        WHERE f.item = b.item) AS without_ease
FROM blend b JOIN served s USING (cart, item)
WHERE b.ease < 0 AND b.pconf IS NOT NULL;
SELECT ok((SELECT count(*) FROM lowered) > 0, 'some pair candidates have a negative EASE sum');
SELECT is((SELECT count(*) FROM lowered
           WHERE NOT (with_ease < without_ease AND near(with_ease - without_ease, opt('cart_ease_weight') * ease))),
	0::bigint, 'a negative EASE sum lowers the candidate by cart_ease_weight * sum, no more, no less');
SELECT is(
	(SELECT count(*) FROM served s JOIN carts c USING (cart)
	 CROSS JOIN LATERAL (SELECT x.item AS via FROM bundlerec_miw.item_weights x
	                     WHERE x.item = ANY (c.cart) AND x.neighbor = s.item AND x.weight > 0
	                     ORDER BY x.weight DESC, x.item COLLATE "C" LIMIT 1) v
	 WHERE s.source = 'model' AND s.explanation NOT LIKE '%most of all with ' || v.via || ' (EASE weight%'),
	0::bigint, 'the explanation names the cart item of the largest positive weight');
SELECT ok((SELECT count(*) FROM served WHERE explanation LIKE '%most of all with%') >= 10,
	'at least 10 explanations name an EASE cart item');

------------------------------------------------------------------------------
-- 3. options
------------------------------------------------------------------------------
SELECT bundlerec.create_model('miw_off', 'lines', 'basket', 'item', customer => 'customer',
	options => '{"factors": 4, "iterations": 3, "ease": false}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('miw_off') \gset
SELECT ok(NOT (SELECT tables ? 'item_weights' FROM bundlerec.models WHERE name = 'miw_off')
          AND to_regclass('bundlerec_miw_off.item_weights') IS NULL,
	'ease false: no item_weights');
SELECT is((SELECT count(*) FROM bundlerec.complete_cart('miw_off', ARRAY['i1', 'i2'], 10) WHERE from_ease IS NOT NULL
           OR source <> 'model'), 0::bigint,
	'ease false: complete_cart serves model rows without an EASE part');
SELECT throws_ok(format($$SELECT bundlerec.create_model('miw_bad', 'lines', 'basket', 'item', options => %L)$$, o),
	'22023', NULL, 'bad option ' || o || ': 22023')
FROM unnest(ARRAY['{"ease": 1}', '{"ease_regularization": 0}', '{"ease_per_item": 1001}', '{"ease_per_item": 2.5}',
                  '{"cart_ease_weight": -1}']) o;

------------------------------------------------------------------------------
-- 4. a catalogue too large for dense EASE: sparse EASE, refresh succeeds
------------------------------------------------------------------------------
-- 600 items in two orders each, under memory_limit 1MB: the dense matrix
-- (2.9 MB) does not fit, so _ease_weights routes to sparse_ease
CREATE TABLE wide AS SELECT 'b' || (n % 400) AS basket, 'w' || (n % 600) AS item FROM generate_series(1, 1200) n;
SELECT bundlerec.create_model('miw_wide', 'wide', 'basket', 'item',
	options => '{"rules": false, "bundles": false}') IS NOT NULL AS created \gset
SET LOCAL bundlerec.memory_limit = '1MB';
SELECT count(*) AS n FROM bundlerec.refresh('miw_wide') \gset
CREATE TEMP TABLE wide_sparse AS
SELECT * FROM bundlerec.sparse_ease('wide', 'basket', 'item', NULL, 50, 200, 2, 200) WHERE score <> 0;
RESET bundlerec.memory_limit;
SELECT ok((SELECT count(*) FROM bundlerec_miw_wide.item_weights) > 0
          AND (SELECT count(*) FROM bundlerec_miw_wide.pairs) > 0
          AND (SELECT count(*) FROM (SELECT item, neighbor, weight FROM bundlerec_miw_wide.item_weights
                                     EXCEPT SELECT item, neighbor, score FROM wide_sparse) d) = 0
          AND (SELECT count(*) FROM bundlerec_miw_wide.item_weights) = (SELECT count(*) FROM wide_sparse),
	'600 items at memory_limit 1MB: item_weights are sparse_ease''s weights (dense EASE does not fit), pairs built');

------------------------------------------------------------------------------
-- 5. a refresh is served at once; drop_model removes the table
------------------------------------------------------------------------------
CREATE TABLE before AS SELECT * FROM bundlerec.complete_cart('miw', ARRAY['i1', 'i2'], 16);
INSERT INTO lines
SELECT 'n' || o, 'i' || ((o * 5 + j) % 16), 'c' || (o % 30), timestamptz '2024-02-01 00:00+00' + o * interval '1 hour'
FROM generate_series(1, 60) o, generate_series(1, 3) j;
SELECT count(*) AS n FROM bundlerec.refresh('miw') \gset
SELECT is(
	(SELECT count(*) FROM bundlerec.complete_cart('miw', ARRAY['i1', 'i2'], 16) f
	 WHERE f.from_ease IS DISTINCT FROM (SELECT sum(x.weight) FROM bundlerec_miw.item_weights x
	                                     WHERE x.item IN ('i1', 'i2') AND x.neighbor = f.item)
	   AND NOT near(f.from_ease, (SELECT sum(x.weight) FROM bundlerec_miw.item_weights x
	                              WHERE x.item IN ('i1', 'i2') AND x.neighbor = f.item))),
	0::bigint, 'after new orders and a refresh, from_ease sums the new item_weights');
SELECT ok(EXISTS (SELECT item, from_ease FROM before EXCEPT
                  SELECT item, from_ease FROM bundlerec.complete_cart('miw', ARRAY['i1', 'i2'], 16)),
	'the new weights differ from those served before the refresh');
SELECT bundlerec.drop_model('miw') IS NOT NULL AS dropped \gset
SELECT ok(to_regnamespace('bundlerec_miw') IS NULL, 'drop_model removes the schema with item_weights');

SELECT * FROM finish();
ROLLBACK;
