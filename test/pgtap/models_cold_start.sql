-- models_cold_start.sql: a model's products source and what it gives
-- products with few or no orders.
--   1. create_model's products and product_columns: every bad mapping
--      raises with its SQLSTATE.
--   2. embedding_neighbors against cosines computed in SQL, on embeddings
--      the test makes itself: random projections (a hash of word and
--      dimension) of TF-IDF vectors of product names computed in SQL;
--      real[] and double precision[] columns; NULL, NaN, ragged and 2-D
--      embeddings and duplicate keys raise.
--   3. A model over a hand fixture with 2-D embeddings whose cold-start
--      scores are worked out by hand below; its content_neighbors against
--      embedding_neighbors; its cold_start against an oracle written in
--      SQL from the definition (the model's pairs, content neighbours and
--      orders); the TF-IDF path against content_neighbors().
--   3c. Bundles of alike products: item_bundles.alike against the content
--      neighbours in SQL; scores of two models whose bundle_alike_weight
--      differs.
--   4. Serving: frequently_bought_together, similar_items and
--      complete_cart of a new product, names and categories of products
--      without orders, the fallback of one without neighbours.
--   5. An incremental refresh publishes what a full one does.
--   6. pgvector's vector as the embedding column, when pgvector is
--      installed (skipped otherwise).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(66);

CREATE SCHEMA tap_cold;
SET LOCAL search_path = tap_cold, public;
SET LOCAL jit = off;

-- the SQLSTATE a statement raises, or 'ok'
CREATE FUNCTION state_of(q text)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	RETURN SQLSTATE;
END
$$;

------------------------------------------------------------------------------
-- 1. The products source of create_model
------------------------------------------------------------------------------
CREATE TABLE lines (basket text, item text, customer text, at timestamptz);
CREATE TABLE goods (sku text, title text, cat text, brand text, price numeric, emb real[], emb8 float8[], flag boolean, shelf int[]);

SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', product_columns => '{"name": "title"}')$$),
	'22023', 'product_columns without products');
SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"key": "sku", "colour": "x"}')$$),
	'22023', 'an unknown product column role');
SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"key": "sku", "attributes": "brand"}')$$),
	'22023', 'attributes that are not a list');
SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"key": "sku", "price": "price"}')$$),
	'22023', 'nothing to compare products by');
SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"name": "title"}')$$),
	'42703', 'the key defaults to the item column''s name, which goods lacks');
SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"key": "sku", "attributes": ["brand", "size"]}')$$),
	'42703', 'a missing attribute column');
SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"key": "sku", "name": "price"}')$$),
	'42804', 'a name column that is not text');
SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"key": "emb", "name": "title"}')$$),
	'42804', 'a key column that is an array');
SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"key": "sku", "embedding": "flag"}')$$),
	'42804', 'an embedding column with no cast to real[]');
INSERT INTO goods (sku, title) VALUES ('x1', 'A'), ('x1', 'B');
SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"key": "sku", "name": "title"}')$$),
	'23505', 'a product key twice');
DELETE FROM goods;
SELECT is(state_of($$SELECT bundlerec.create_model('cs_ok', 'lines', 'basket', 'item', products => 'goods', product_columns => '{"key": "sku", "name": "title", "embedding": "emb8"}')$$),
	'ok', 'a double precision[] embedding column is accepted');
SELECT is((SELECT product_columns FROM bundlerec.models WHERE name = 'cs_ok'),
	'{"key": "sku", "name": "title", "embedding": "emb8"}'::jsonb, 'the mapping is stored as given');
SELECT bundlerec.drop_model('cs_ok');

------------------------------------------------------------------------------
-- 2. embedding_neighbors against SQL
------------------------------------------------------------------------------
CREATE TABLE names (sku text PRIMARY KEY, title text);
INSERT INTO names VALUES
 ('p01', 'WHITE METAL LANTERN'), ('p02', 'BLACK METAL LANTERN'), ('p03', 'RED METAL LANTERN'),
 ('p04', 'WHITE HANGING HEART T-LIGHT HOLDER'), ('p05', 'RED HANGING HEART T-LIGHT HOLDER'),
 ('p06', 'HEART OF WICKER SMALL'), ('p07', 'HEART OF WICKER LARGE'), ('p08', 'JUMBO BAG RED RETROSPOT'),
 ('p09', 'JUMBO BAG PINK POLKADOT'), ('p10', 'LUNCH BAG RED RETROSPOT'), ('p11', 'LUNCH BAG BLACK SKULL'),
 ('p12', 'RED RETROSPOT CAKE STAND'), ('p13', 'PINK POLKADOT CUP'), ('p14', 'BLUE POLKADOT CUP'),
 ('p15', 'SET OF 3 CAKE TINS PANTRY DESIGN'), ('p16', 'SET OF 6 SPICE TINS PANTRY DESIGN');
-- tf-idf of the name's words, projected on 8 dimensions by a hash
CREATE TABLE proj AS
WITH w AS (SELECT n.sku, x.word FROM names n, regexp_split_to_table(n.title, ' ') x(word)),
     df AS (SELECT word, count(DISTINCT sku) AS df FROM w GROUP BY word),
     tfidf AS (SELECT w.sku, w.word, count(*) * ln(16.0 / df.df) AS v FROM w JOIN df USING (word) GROUP BY w.sku, w.word, df.df)
SELECT t.sku, d.d, sum(t.v * ((abs(hashtext(t.word || '/' || d.d)) % 2001) - 1000) / 1000.0)::float8 AS v
FROM tfidf t CROSS JOIN generate_series(1, 8) d(d)
GROUP BY t.sku, d.d;
CREATE TABLE emb AS
SELECT p.sku, array_agg(p.v::real ORDER BY p.d) AS e, array_agg(p.v ORDER BY p.d) AS e8 FROM proj p GROUP BY p.sku;
-- cosines of the real[] values, in double precision
CREATE TABLE cos_ref AS
SELECT a.sku AS item, b.sku AS neighbor,
       (SELECT sum(x * y) FROM unnest(a.e, b.e) u(x, y))
       / sqrt((SELECT sum(x * x) FROM unnest(a.e) x)) / sqrt((SELECT sum(y * y) FROM unnest(b.e) y)) AS sim
FROM emb a JOIN emb b ON a.sku <> b.sku;
CREATE TABLE top_ref AS
SELECT * FROM (SELECT c.*, row_number() OVER (PARTITION BY c.item ORDER BY c.sim DESC, c.neighbor COLLATE "C")::int AS rank FROM cos_ref c) x
WHERE x.rank <= 4;

SELECT is((SELECT count(*) FROM (
	SELECT item, rank, neighbor FROM bundlerec.embedding_neighbors('emb', 'sku', 'e', 4)
	EXCEPT SELECT item, rank, neighbor FROM top_ref) d), 0::bigint,
	'embedding_neighbors lists the 4 products of largest cosine, in order');
SELECT is((SELECT count(*) FROM bundlerec.embedding_neighbors('emb', 'sku', 'e', 4)), 64::bigint,
	'4 neighbours for each of the 16 products');
SELECT ok((SELECT max(abs(e.similarity - r.sim)) FROM bundlerec.embedding_neighbors('emb', 'sku', 'e', 4) e
           JOIN top_ref r USING (item, neighbor)) < 1e-5,
	'their similarities are the cosines (to real precision)');
SELECT is((SELECT count(*) FROM (
	SELECT item, rank, neighbor FROM bundlerec.embedding_neighbors('emb', 'sku', 'e8', 4)
	EXCEPT SELECT item, rank, neighbor FROM top_ref) d), 0::bigint,
	'a double precision[] column gives the same lists');
SELECT is((SELECT count(*) FROM bundlerec.embedding_neighbors('emb', 'sku', 'e', 20)), 240::bigint,
	'k beyond the catalogue: every other product, never the product itself');

-- more products than one cursor fetch, stored out of key order: on a
-- circle, a product's nearest is the one at the smaller angle either side
CREATE TABLE circle AS
SELECT 'c' || md5(i::text) AS sku, 2 * pi() * ((i * 0.6180339887) - floor(i * 0.6180339887)) AS t
FROM generate_series(1, 1500) i ORDER BY random();
ALTER TABLE circle ADD COLUMN e real[];
UPDATE circle SET e = ARRAY[cos(t), sin(t)]::real[];
CREATE TABLE circle_ref AS
WITH o AS (SELECT sku, t, lag(t) OVER w AS tp, lead(t) OVER w AS tn, lag(sku) OVER w AS sp, lead(sku) OVER w AS sn
           FROM circle WINDOW w AS (ORDER BY t))
SELECT sku, CASE WHEN t - tp < tn - t THEN sp ELSE sn END AS nearest
FROM o WHERE tp IS NOT NULL AND tn IS NOT NULL
  AND greatest(t - tp, tn - t) > 1.5 * least(t - tp, tn - t);
SELECT is((SELECT count(*) FROM circle_ref r
           LEFT JOIN bundlerec.embedding_neighbors('circle', 'sku', 'e', 1) e ON e.item = r.sku
           WHERE e.neighbor IS DISTINCT FROM r.nearest), 0::bigint,
	'1,500 products read in several fetches: each one''s nearest is its nearest on the circle');
SET bundlerec.memory_limit = '1MB';
SELECT is(state_of($$SELECT * FROM bundlerec.embedding_neighbors('circle', 'sku', 'e', 1)$$), '54000',
	'its scores need more than memory_limit 1MB: SQLSTATE 54000');
RESET bundlerec.memory_limit;

CREATE TABLE bad_emb (sku text, e real[]);
INSERT INTO bad_emb VALUES ('a', '{1,0}'), ('b', NULL);
SELECT is(state_of($$SELECT * FROM bundlerec.embedding_neighbors('bad_emb', 'sku', 'e')$$), '22004', 'a NULL embedding');
UPDATE bad_emb SET e = '{1,0,0}' WHERE sku = 'b';
SELECT is(state_of($$SELECT * FROM bundlerec.embedding_neighbors('bad_emb', 'sku', 'e')$$), '2202E', 'embeddings of two lengths');
UPDATE bad_emb SET e = '{1,NaN}' WHERE sku = 'b';
SELECT is(state_of($$SELECT * FROM bundlerec.embedding_neighbors('bad_emb', 'sku', 'e')$$), '22023', 'a NaN element');
UPDATE bad_emb SET e = '{1,NULL}' WHERE sku = 'b';
SELECT is(state_of($$SELECT * FROM bundlerec.embedding_neighbors('bad_emb', 'sku', 'e')$$), '22004', 'a NULL element');
UPDATE bad_emb SET e = '{{1,0},{0,1}}' WHERE sku = 'b';
SELECT is(state_of($$SELECT * FROM bundlerec.embedding_neighbors('bad_emb', 'sku', 'e')$$), '2202E', 'a 2-D embedding');
UPDATE bad_emb SET e = '{0,1}', sku = 'a' WHERE sku = 'b';
SELECT is(state_of($$SELECT * FROM bundlerec.embedding_neighbors('bad_emb', 'sku', 'e')$$), '23505', 'a product twice');
SELECT is(state_of($$SELECT * FROM bundlerec.embedding_neighbors('bad_emb', 'sku', 'nope')$$), '42703', 'a missing column');

------------------------------------------------------------------------------
-- 3. A model with a products source: the hand fixture
------------------------------------------------------------------------------
-- Embeddings (2-D): N (1,0) never sold; A (1,0), C (0.6,0.8), B (0,1),
-- X and Y (-1,0), Z (0,-1).  Cosines with N: A 1, C 0.6, B 0, X and Y -1,
-- so N's content neighbours with orders and a positive similarity are A
-- and C.
-- Orders: o1 A X, o2 A X Y, o3 C Y, o4 C B, o5 X Y (min_count 1).
-- A and C are in 2 orders each: the pooled orders weigh 1 * 2 + 0.6 * 2
-- = 3.2.  Pair counts: A X 2, A Y 1, C Y 1, C B 1.
-- N's together list (content_weight 1: never sold):
--   X: 1 * 2 / 3.2 = 0.625, via A (similarity 1, confidence 2/2)
--   Y: (1 * 1 + 0.6 * 1) / 3.2 = 0.5, via A (1 * 1/2 > 0.6 * 1/2)
--   B: 0.6 * 1 / 3.2 = 0.1875, via C (confidence 1/2)
CREATE TABLE shop (basket text, item text, customer text, at timestamptz);
INSERT INTO shop VALUES
 ('o1', 'A', 'c1', '2024-01-01'), ('o1', 'X', 'c1', '2024-01-01'),
 ('o2', 'A', 'c2', '2024-01-02'), ('o2', 'X', 'c2', '2024-01-02'), ('o2', 'Y', 'c2', '2024-01-02'),
 ('o3', 'C', 'c1', '2024-01-03'), ('o3', 'Y', 'c1', '2024-01-03'),
 ('o4', 'C', 'c3', '2024-01-04'), ('o4', 'B', 'c3', '2024-01-04'),
 ('o5', 'X', 'c3', '2024-01-05'), ('o5', 'Y', 'c3', '2024-01-05');
CREATE TABLE catalogue (item text, name text, cat text, vec real[]);
INSERT INTO catalogue VALUES
 ('N', 'NEW LAMP', 'lamps', '{1,0}'), ('A', 'WHITE LAMP', 'lamps', '{1,0}'), ('C', 'GREEN LAMP', 'lamps', '{0.6,0.8}'),
 ('B', 'BULB', 'bulbs', '{0,1}'), ('X', 'SHADE', 'shades', '{-1,0}'), ('Y', 'CABLE', 'cables', '{-1,0}'),
 ('Z', 'ODD THING', 'odd', '{0,-1}');
SET LOCAL client_min_messages = error;
SELECT bundlerec.create_model('cs_hand', 'shop', 'basket', 'item', customer => 'customer', ordered_at => 'at',
	options => '{"min_count": 1, "rules": false, "bundles": false, "factors": 2}',
	products => 'catalogue', product_columns => '{"name": "name", "category": "cat", "embedding": "vec"}');
SELECT bundlerec.refresh('cs_hand');
RESET client_min_messages;

SELECT results_eq($$SELECT other, round(score::numeric, 6), via, round(via_similarity::numeric, 6), round(via_confidence::numeric, 6)
                    FROM bundlerec_cs_hand.cold_start WHERE item = 'N' AND list = 'together' ORDER BY rank$$,
	$$VALUES ('X', 0.625, 'A', 1.0, 1.0), ('Y', 0.5, 'A', 1.0, 0.5), ('B', 0.1875, 'C', 0.6, 0.5)$$,
	'N''s together list: the hand-worked scores and the neighbour behind each');
SELECT is((SELECT content_weight FROM bundlerec_cs_hand.cold_start WHERE item = 'N' LIMIT 1), 1::float8,
	'a product never sold is all content');
SELECT is((SELECT count(*) FROM (
	SELECT item, rank, neighbor, round(similarity::numeric, 6) FROM bundlerec_cs_hand.content_neighbors
	EXCEPT SELECT item, rank, neighbor, round(similarity::numeric, 6) FROM bundlerec.embedding_neighbors('catalogue', 'item', 'vec', 20)) d), 0::bigint,
	'content_neighbors are embedding_neighbors of the catalogue');
SELECT is((SELECT array_agg(DISTINCT basis) FROM bundlerec_cs_hand.content_neighbors), '{embedding}'::text[], 'basis: embedding');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c
                WHERE c.relnamespace = 'bundlerec_cs_hand'::regnamespace AND c.relkind = 'v' ORDER BY c.relname COLLATE "C"),
	ARRAY(SELECT r.name FROM bundlerec.result_tables r WHERE r.enabled_by IN ('always', 'customer', 'embeddings', 'ease', 'products')
	      ORDER BY r.name COLLATE "C"),
	'a model with a products source publishes products, content_neighbors and cold_start beside the rest');
SELECT results_eq($$SELECT item, name, category, orders FROM bundlerec_cs_hand.products ORDER BY item$$,
	$$VALUES ('A', 'WHITE LAMP', 'lamps', 2::bigint), ('B', 'BULB', 'bulbs', 1), ('C', 'GREEN LAMP', 'lamps', 2),
	         ('N', 'NEW LAMP', 'lamps', 0), ('X', 'SHADE', 'shades', 3), ('Y', 'CABLE', 'cables', 3), ('Z', 'ODD THING', 'odd', 0)$$,
	'products: every catalogue row with its orders');
SELECT is((SELECT name FROM bundlerec_cs_hand.items WHERE item = 'A'), 'WHITE LAMP', 'items are named from the products source');

-- The oracle: the definition in SQL, per cold product and candidate, with
-- pair counts and orders counted from the order lines by a self-join:
--   together(P, j) = w * sum_n sim(P, n) * count(n, j) / sum_n sim(P, n) * orders(n)
--                    + (1 - w) * own confidence (P's pairs row, 0 when none)
-- over P's content neighbours n with orders and sim > 0, pairs of at least
-- min_count orders; w = s / (s + orders(P)).
CREATE FUNCTION cold_oracle(sch text, lines regclass, orders_below int, s float8, k int, min_count int)
RETURNS TABLE (item text, list text, other text, score float8) LANGUAGE plpgsql AS $f$
BEGIN
	RETURN QUERY EXECUTE format($q$
	WITH b AS (SELECT DISTINCT basket, item FROM %5$s),
	     pc AS (SELECT x.item AS a, y.item AS b, count(*) AS c FROM b x JOIN b y ON x.basket = y.basket AND x.item <> y.item
	            GROUP BY 1, 2 HAVING count(*) >= %6$s),
	     ord AS (SELECT b.item, count(*) AS o FROM b GROUP BY 1),
	     cold AS (SELECT p.item, p.orders, CASE WHEN %3$s + p.orders = 0 THEN 1 ELSE %3$s::float8 / (%3$s::float8 + p.orders) END AS w
	              FROM %1$I.products p WHERE p.orders < %2$s),
	     nbr AS (SELECT n.item, n.neighbor, n.similarity, ord.o FROM %1$I.content_neighbors n JOIN ord ON ord.item = n.neighbor
	             WHERE n.similarity > 0),
	     cand AS (SELECT c.item, pc.b AS other FROM cold c JOIN nbr ON nbr.item = c.item JOIN pc ON pc.a = nbr.neighbor
	              WHERE pc.b <> c.item
	              UNION SELECT c.item, p.partner FROM cold c JOIN %1$I.pairs p ON p.item = c.item),
	     scored AS (
	       SELECT d.item, d.other,
	              c.w * coalesce((SELECT sum(nbr.similarity * pc.c) FROM nbr JOIN pc ON pc.a = nbr.neighbor AND pc.b = d.other
	                              WHERE nbr.item = d.item) / (SELECT sum(nbr.similarity * nbr.o) FROM nbr WHERE nbr.item = d.item), 0)
	              + (1 - c.w) * coalesce((SELECT p.confidence FROM %1$I.pairs p WHERE p.item = d.item AND p.partner = d.other), 0) AS score
	       FROM cand d JOIN cold c ON c.item = d.item)
	SELECT x.item, 'together'::text, x.other, x.score FROM (
	  SELECT s.*, row_number() OVER (PARTITION BY s.item ORDER BY s.score DESC, s.other COLLATE "C") AS r FROM scored s WHERE s.score > 0) x
	WHERE x.r <= %4$s
	$q$, sch, orders_below, s, k, lines, min_count);
END
$f$;
SELECT is((SELECT count(*) FROM (
	(SELECT item, other, round(score::numeric, 9) FROM cold_oracle('bundlerec_cs_hand', 'shop', 20, 5, 20, 1)
	 EXCEPT SELECT item, other, round(score::numeric, 9) FROM bundlerec_cs_hand.cold_start WHERE list = 'together')
	UNION ALL
	(SELECT item, other, round(score::numeric, 9) FROM bundlerec_cs_hand.cold_start WHERE list = 'together'
	 EXCEPT SELECT item, other, round(score::numeric, 9) FROM cold_oracle('bundlerec_cs_hand', 'shop', 20, 5, 20, 1))) d), 0::bigint,
	'every together list (products with orders blended by 5 / (5 + orders)) equals the SQL oracle');
SELECT ok((SELECT count(DISTINCT item) FROM bundlerec_cs_hand.cold_start WHERE item_orders > 0 AND list = 'together') >= 4,
	'products with a few orders have blended lists too');
SELECT results_eq($$SELECT other, round(score::numeric, 6) FROM bundlerec_cs_hand.cold_start WHERE item = 'N' AND list = 'similar' ORDER BY rank$$,
	$$VALUES ('A', 1.0), ('C', 0.6)$$,
	'N''s similar list: its content neighbours of positive similarity');

------------------------------------------------------------------------------
-- 4. Serving
------------------------------------------------------------------------------
SELECT results_eq($$SELECT partner, source, name FROM bundlerec.frequently_bought_together('cs_hand', 'N', 3) ORDER BY rank$$,
	$$VALUES ('X', 'similar products', 'SHADE'), ('Y', 'similar products', 'CABLE'), ('B', 'similar products', 'BULB')$$,
	'frequently_bought_together of a new product: bought with products like it');
SELECT is((SELECT explanation FROM bundlerec.frequently_bought_together('cs_hand', 'N', 1)),
	'new product; like WHITE LAMP (similarity 1.00), which is bought with it in 100.0% of its orders',
	'the explanation names the product it is like');
SELECT results_eq($$SELECT neighbor, source FROM bundlerec.similar_items('cs_hand', 'N', 2) ORDER BY rank$$,
	$$VALUES ('A', 'content'), ('C', 'content')$$, 'similar_items of a new product: its content neighbours');
SELECT results_eq($$SELECT item, round(from_pairs::numeric, 6) FROM bundlerec.complete_cart('cs_hand', ARRAY['N'], 3) ORDER BY rank$$,
	$$VALUES ('X', 0.625), ('Y', 0.5), ('B', 0.1875)$$, 'complete_cart of a cart holding a new product');
SELECT results_eq($$SELECT items, source, names FROM bundlerec.bundles_for_item('cs_hand', 'N', 3) ORDER BY rank$$,
	$$VALUES ('{N,X}'::text[], 'similar products', '{NEW LAMP,SHADE}'::text[]), ('{N,Y}', 'similar products', '{NEW LAMP,CABLE}'),
	         ('{N,B}', 'similar products', '{NEW LAMP,BULB}')$$,
	'bundles_for_item of a new product: it (first, as in fallback bundles) and each partner of its together list');
SELECT is((SELECT explanation FROM bundlerec.bundles_for_item('cs_hand', 'N', 1)),
	'new product; like WHITE LAMP (similarity 1.00), which is bought with it in 100.0% of its orders',
	'the bundle says which product it is like');
SELECT is((SELECT name FROM bundlerec.similar_items('cs_hand', 'A', 5) WHERE neighbor = 'N'), 'NEW LAMP',
	'a product without orders is served with its name');
SELECT results_eq($$SELECT partner, source FROM bundlerec.frequently_bought_together('cs_hand', 'Z', 2) ORDER BY rank$$,
	$$VALUES ('X', 'popular'), ('Y', 'popular')$$,
	'a new product without usable neighbours falls back to popular');
SELECT results_eq($$SELECT partner, source FROM bundlerec.frequently_bought_together('cs_hand', 'C', 1) ORDER BY rank$$,
	$$SELECT other, 'similar products' FROM bundlerec_cs_hand.cold_start WHERE item = 'C' AND list = 'together' AND rank = 1$$,
	'a product with few orders is served its blended list');

------------------------------------------------------------------------------
-- 5. Incremental refresh = full
------------------------------------------------------------------------------
INSERT INTO shop VALUES ('o6', 'N', 'c4', '2024-02-01'), ('o6', 'X', 'c4', '2024-02-01');
SET LOCAL client_min_messages = error;
SELECT bundlerec.refresh('cs_hand', incremental => true);
SELECT bundlerec.create_model('cs_full', 'shop', 'basket', 'item', customer => 'customer', ordered_at => 'at',
	options => '{"min_count": 1, "rules": false, "bundles": false, "factors": 2}',
	products => 'catalogue', product_columns => '{"name": "name", "category": "cat", "embedding": "vec"}');
SELECT bundlerec.refresh('cs_full');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM (
	(SELECT item, name, category, price, orders FROM bundlerec_cs_hand.products EXCEPT SELECT item, name, category, price, orders FROM bundlerec_cs_full.products)
	UNION ALL (SELECT item, name, category, price, orders FROM bundlerec_cs_full.products EXCEPT SELECT item, name, category, price, orders FROM bundlerec_cs_hand.products)) d), 0::bigint,
	'incremental = full: products');
SELECT is((SELECT count(*) FROM (
	(SELECT item, list, rank, other, round(score::numeric, 9) FROM bundlerec_cs_hand.cold_start WHERE list = 'together'
	 EXCEPT SELECT item, list, rank, other, round(score::numeric, 9) FROM bundlerec_cs_full.cold_start WHERE list = 'together')
	UNION ALL
	(SELECT item, list, rank, other, round(score::numeric, 9) FROM bundlerec_cs_full.cold_start WHERE list = 'together'
	 EXCEPT SELECT item, list, rank, other, round(score::numeric, 9) FROM bundlerec_cs_hand.cold_start WHERE list = 'together')) d), 0::bigint,
	'incremental = full: cold_start together lists');
SELECT is((SELECT item_orders FROM bundlerec_cs_hand.cold_start WHERE item = 'N' LIMIT 1), 1::bigint,
	'N, sold once, is now blended');

------------------------------------------------------------------------------
-- 3b. The TF-IDF path: names and attributes, no embeddings
------------------------------------------------------------------------------
CREATE TABLE cat2 AS SELECT item, name, cat FROM catalogue;
SET LOCAL client_min_messages = error;
SELECT bundlerec.create_model('cs_text', 'shop', 'basket', 'item',
	options => '{"min_count": 1, "rules": false, "bundles": false, "embeddings": false}',
	products => 'cat2', product_columns => '{"name": "name", "attributes": ["cat"]}');
SELECT bundlerec.refresh('cs_text');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM (
	(SELECT item, neighbor, round(similarity::numeric, 9) FROM bundlerec_cs_text.content_neighbors
	 EXCEPT SELECT item, neighbor, round(score::numeric, 9) FROM bundlerec.content_neighbors('cat2', 'item', '{cat}', 'name', NULL, 5, 20))
	UNION ALL
	(SELECT item, neighbor, round(score::numeric, 9) FROM bundlerec.content_neighbors('cat2', 'item', '{cat}', 'name', NULL, 5, 20)
	 EXCEPT SELECT item, neighbor, round(similarity::numeric, 9) FROM bundlerec_cs_text.content_neighbors)) d), 0::bigint,
	'without embeddings: content_neighbors() over name and attributes');
SELECT is((SELECT array_agg(DISTINCT basis) FROM bundlerec_cs_text.content_neighbors), '{text}'::text[], 'basis: text');
-- categories on the order lines only: a known item's fallback still finds its category
CREATE VIEW shop_c AS SELECT s.*, c.cat FROM shop s JOIN catalogue c USING (item);
SET LOCAL client_min_messages = error;
SELECT bundlerec.create_model('cs_linecat', 'shop_c', 'basket', 'item', category => 'cat',
	options => '{"min_count": 3, "rules": false, "bundles": false, "embeddings": false, "cold_start_orders": 0}',
	products => 'cat2', product_columns => '{"name": "name"}');
SELECT bundlerec.refresh('cs_linecat');
RESET client_min_messages;
SELECT results_eq($$SELECT partner, source FROM bundlerec.frequently_bought_together('cs_linecat', 'A', 1)$$,
	$$VALUES ('C', 'popular in category')$$,
	'a known item''s category comes from the lines when products has none');
SELECT is((SELECT count(*) FROM (
	(SELECT item, other, round(score::numeric, 9) FROM cold_oracle('bundlerec_cs_text', 'shop', 20, 5, 20, 1)
	 EXCEPT SELECT item, other, round(score::numeric, 9) FROM bundlerec_cs_text.cold_start WHERE list = 'together')
	UNION ALL
	(SELECT item, other, round(score::numeric, 9) FROM bundlerec_cs_text.cold_start WHERE list = 'together'
	 EXCEPT SELECT item, other, round(score::numeric, 9) FROM cold_oracle('bundlerec_cs_text', 'shop', 20, 5, 20, 1))) d), 0::bigint,
	'its together lists equal the oracle');
SELECT is((SELECT count(*) FROM bundlerec_cs_text.cold_start WHERE list = 'similar' AND via_similarity IS NULL), 0::bigint,
	'without ALS, similar lists are content only');

------------------------------------------------------------------------------
-- 6. pgvector
------------------------------------------------------------------------------
------------------------------------------------------------------------------
-- 3c. Bundles of alike products: bundle_alike_weight
------------------------------------------------------------------------------
-- 400 seeded orders of 2 to 5 of 30 products named COLOUR OBJECT (3 colours,
-- 5 objects), so that TF-IDF finds alike names.  Models with the weight
-- 0.25 (the default) and 0, and one without a products source.
SELECT setseed(0.37);
CREATE TABLE ashop AS
	SELECT o AS basket, 'p' || lpad((1 + floor(random() * 30))::int::text, 2, '0') AS item
	FROM generate_series(1, 400) o, generate_series(1, 5) k
	WHERE k <= 2 + (o * 7 % 4);
CREATE TABLE acat AS
	SELECT 'p' || lpad(k::text, 2, '0') AS item,
	       (ARRAY['RED', 'BLUE', 'GREEN'])[1 + k % 3] || ' ' || (ARRAY['LAMP', 'MUG', 'BAG', 'CANDLE', 'BOWL'])[1 + k % 5] AS name
	FROM generate_series(1, 30) k;
INSERT INTO acat VALUES ('p31', 'RED LAMP');	-- never sold
SET LOCAL client_min_messages = error;
SELECT bundlerec.create_model('cs_alike', 'ashop', 'basket', 'item',
	options => '{"min_count": 2, "rules": false, "embeddings": false, "bundles_per_item": 10}',
	products => 'acat', product_columns => '{"name": "name"}');
SELECT bundlerec.create_model('cs_alike0', 'ashop', 'basket', 'item',
	options => '{"min_count": 2, "rules": false, "embeddings": false, "bundles_per_item": 10, "bundle_alike_weight": 0}',
	products => 'acat', product_columns => '{"name": "name"}');
SELECT bundlerec.create_model('cs_noprod', 'ashop', 'basket', 'item',
	options => '{"min_count": 2, "rules": false, "embeddings": false, "bundles_per_item": 10}');
SELECT bundlerec.refresh(m) FROM unnest(ARRAY['cs_alike', 'cs_alike0', 'cs_noprod']) m;
RESET client_min_messages;
CREATE FUNCTION sql_alike(s text[]) RETURNS float8 LANGUAGE sql STABLE AS $$
	SELECT avg(coalesce((SELECT max(n.similarity) FROM bundlerec_cs_alike.content_neighbors n
	                     WHERE n.item = x.i AND n.neighbor = y.i OR n.item = y.i AND n.neighbor = x.i), 0))
	FROM unnest(s) WITH ORDINALITY x(i, o) JOIN unnest(s) WITH ORDINALITY y(i, o) ON x.o < y.o
$$;
SELECT is((SELECT bundlerec.model_defaults() -> 'bundle_alike_weight'), '0.25'::jsonb, 'bundle_alike_weight defaults to 0.25');
SELECT cmp_ok((SELECT count(*) FROM bundlerec_cs_alike.item_bundles WHERE alike > 0), '>=', 20::bigint,
	'fixture: at least 20 bundles with alike items');
SELECT is((SELECT count(*) FROM bundlerec_cs_alike.item_bundles WHERE alike IS NULL OR abs(alike - sql_alike(items)) > 1e-6), 0::bigint,
	'item_bundles.alike = the mean content_neighbors similarity of the bundle''s pairs (0 for a pair not listed)');
SELECT is((SELECT count(*) FROM bundlerec_cs_alike.item_bundles a JOIN bundlerec_cs_alike0.item_bundles z USING (anchor, items)
	WHERE abs(a.score - 0.25 * a.alike - z.score) > 1e-9 OR abs(a.alike - z.alike) > 1e-12), 0::bigint,
	'a bundle in both models: score with weight 0.25 = score with weight 0 + 0.25 * alike');
SELECT cmp_ok((SELECT count(*) FROM bundlerec_cs_alike.item_bundles a JOIN bundlerec_cs_alike0.item_bundles z USING (anchor, rank)
	WHERE a.items <> z.items), '>', 0::bigint, 'the weight reorders bundles');
SELECT is((SELECT count(*) FILTER (WHERE alike IS NOT NULL) FROM bundlerec_cs_noprod.item_bundles), 0::bigint,
	'without a products source: alike NULL');
-- bundles_for_item of p31, never sold: 2-item bundles with the partners of
-- its together list, then its content neighbours' bundles of 3 items with
-- p31 in the neighbour's place, each scored by the similarity-weighted
-- mean of its score over the neighbours with bundles (content_weight 1).
CREATE TABLE p31_want AS
	WITH n AS (SELECT c.neighbor, c.similarity AS sim FROM bundlerec_cs_alike.content_neighbors c
	           WHERE c.item = 'p31' AND c.similarity > 0
	             AND c.neighbor IN (SELECT anchor FROM bundlerec_cs_alike.item_bundles)),
	x AS (SELECT n.sim, b.score, ARRAY(SELECT u FROM unnest(b.items) u WHERE u <> n.neighbor ORDER BY u) AS rest
	      FROM n JOIN bundlerec_cs_alike.item_bundles b ON b.anchor = n.neighbor
	      WHERE b.size = 3 AND NOT 'p31' = ANY (b.items))
	SELECT rest, sum(sim * score) / (SELECT sum(sim) FROM n) AS score FROM x GROUP BY rest;
CREATE TABLE p31_got AS
	SELECT g.*, ARRAY(SELECT u FROM unnest(g.items[2:]) u ORDER BY u) AS rest, g.explanation LIKE '%whose bundle%' AS of_neighbour
	FROM bundlerec.bundles_for_item('cs_alike', 'p31', 1000) g
	WHERE g.source = 'similar products';	-- the fallback's best sellers follow
SELECT cmp_ok((SELECT count(*) FROM p31_want), '>=', 20::bigint,
	'fixture: p31''s neighbours have at least 20 bundles of 3 items');
SELECT is((SELECT count(*) FROM (
	(SELECT rest, round(score::numeric, 9) FROM p31_got WHERE of_neighbour EXCEPT SELECT rest, round(score::numeric, 9) FROM p31_want)
	UNION ALL (SELECT rest, round(score::numeric, 9) FROM p31_want EXCEPT SELECT rest, round(score::numeric, 9) FROM p31_got WHERE of_neighbour)) d),
	0::bigint, 'a new product''s bundles: its neighbours'' bundles with it in their place, scores from SQL');
SELECT results_eq($$SELECT rest[1], rank FROM p31_got WHERE NOT of_neighbour ORDER BY rank$$,
	$$SELECT other, rank FROM bundlerec_cs_alike.cold_start WHERE item = 'p31' AND list = 'together' ORDER BY rank$$,
	'first a 2-item bundle with each partner of its together list, in its order');
SELECT ok((SELECT bool_and(g.of_neighbour >= p.of_neighbour AND (NOT p.of_neighbour OR g.score <= p.score))
	       FROM p31_got g JOIN p31_got p ON p.rank = g.rank - 1)
	AND (SELECT bool_and(items[1] = 'p31') FROM p31_got)
	AND (SELECT max(rank) FROM p31_got) = (SELECT count(*) FROM p31_got),
	'then the neighbours'' bundles, by score; p31 first in every bundle; all before the fallback');
SELECT alike((SELECT explanation FROM p31_got WHERE of_neighbour ORDER BY rank LIMIT 1),
	'new product; like % (similarity %), whose bundle this is: %% of its buyers took the rest',
	'a neighbour''s bundle says whose it is');

SELECT is(state_of($$SELECT bundlerec.create_model('cs_bad', 'ashop', 'basket', 'item', options => '{"bundle_alike_weight": 5000}')$$),
	'22023', 'bundle_alike_weight out of range: 22023');

SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN 'yes' ELSE 'no' END AS have_vector \gset
\if :have_vector
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE vcat AS SELECT item, name, vec::vector AS v FROM catalogue;
SET LOCAL client_min_messages = error;
SELECT bundlerec.create_model('cs_vec', 'shop', 'basket', 'item',
	options => '{"min_count": 1, "rules": false, "bundles": false, "embeddings": false}',
	products => 'vcat', product_columns => '{"name": "name", "embedding": "v"}');
SELECT bundlerec.refresh('cs_vec');
RESET client_min_messages;
SELECT is((SELECT count(*) FROM (
	SELECT item, rank, neighbor FROM bundlerec_cs_vec.content_neighbors
	EXCEPT SELECT item, rank, neighbor FROM bundlerec.embedding_neighbors('catalogue', 'item', 'vec', 20)) d), 0::bigint,
	'a pgvector vector column gives the neighbours of the same real[] values');
\else
SELECT skip('pgvector is not installed (it is not packaged for PostgreSQL 15 on Debian 12): its vector column is not tested', 1);
\endif

SELECT * FROM finish();
ROLLBACK;
