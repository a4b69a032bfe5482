-- serving_names.sql: product names (create_model's item_name column) in
-- items, in the results of every serving function and in explanations.
--   1. create_model checks the column (exists, a text-like type); refresh
--      checks it again: a name column dropped from the source is a clear
--      error and the results stay.
--   2. items.name by hand: the name on most of an item's lines, trimmed, an
--      empty one no name, a tie to the smallest in byte order; NULL for an
--      item named nowhere.
--   3. every serving function on the hand fixture: exact explanations
--      calling the items they mention by name (by key when the item has no
--      name), the name / names columns, fallback rows named too.
--   4. a twin model without item_name: the same rows, explanations naming
--      keys as before, name and names NULL.
--   5. an incremental refresh renames items as a full refresh does, and
--      serving follows at once (the cached plans and names are not stale).
-- The numbers in the explanations are worked out by hand below; bundle
-- explanations (generate_bundles' lift and acceptance) are read back from
-- the twin model without names, which must say "anchor" where this one
-- says the anchor's name.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(48);

CREATE SCHEMA tap_serving_names;
SET LOCAL search_path = tap_serving_names, public;
SET LOCAL jit = off;

------------------------------------------------------------------------------
-- The hand fixture: 11 orders, one line per item, category home
------------------------------------------------------------------------------
--   b01 c1: A B C    b04 c2: A C    b07 c4: E B    b10 c5: C D
--   b02 c1: A B      b05 c3: C D    b08 c4: E      b11 c1: A B C
--   b03 c2: A B D    b06 c3: E A    b09 c5: E
-- N = 11.  Orders: A 6, B 5, C 5, E 4, D 3.
-- Pairs (min_count 2): AB 4, AC 3, BC 2, CD 2 (AD, BD, AE, BE: 1).
-- Names on the lines:
--   A: 'WHITE METAL LANTERN' (b01), ' WHITE METAL LANTERN ' (b02, b06),
--      'white lantern' (b03, b04), '' (b11): trimmed, 3 to 2 -> WHITE METAL LANTERN
--   B: 'RED RETROSPOT MUG';  C: 'JAM JAR';  D: NULL everywhere, and '  ' once
--   E: 'apple box' (b06, b08), 'Zebra box' (b07, b09): a tie, and 'Z' < 'a'
--      in byte order -> Zebra box (en_US order would say apple box)
CREATE TABLE lines (basket text, item text, customer text, ordered_at timestamptz, category text, name text);
INSERT INTO lines VALUES
	('b01', 'A', 'c1', '2024-01-01', 'home', 'WHITE METAL LANTERN'),
	('b01', 'B', 'c1', '2024-01-01', 'home', 'RED RETROSPOT MUG'),
	('b01', 'C', 'c1', '2024-01-01', 'home', 'JAM JAR'),
	('b02', 'A', 'c1', '2024-01-02', 'home', ' WHITE METAL LANTERN '),
	('b02', 'B', 'c1', '2024-01-02', 'home', 'RED RETROSPOT MUG'),
	('b03', 'A', 'c2', '2024-01-03', 'home', 'white lantern'),
	('b03', 'B', 'c2', '2024-01-03', 'home', 'RED RETROSPOT MUG'),
	('b03', 'D', 'c2', '2024-01-03', 'home', NULL),
	('b04', 'A', 'c2', '2024-01-04', 'home', 'white lantern'),
	('b04', 'C', 'c2', '2024-01-04', 'home', 'JAM JAR'),
	('b05', 'C', 'c3', '2024-01-05', 'home', 'JAM JAR'),
	('b05', 'D', 'c3', '2024-01-05', 'home', '  '),
	('b06', 'E', 'c3', '2024-01-06', 'home', 'apple box'),
	('b06', 'A', 'c3', '2024-01-06', 'home', ' WHITE METAL LANTERN '),
	('b07', 'E', 'c4', '2024-01-07', 'home', 'Zebra box'),
	('b07', 'B', 'c4', '2024-01-07', 'home', 'RED RETROSPOT MUG'),
	('b08', 'E', 'c4', '2024-01-08', 'home', 'apple box'),
	('b09', 'E', 'c5', '2024-01-09', 'home', 'Zebra box'),
	('b10', 'C', 'c5', '2024-01-10', 'home', 'JAM JAR'),
	('b10', 'D', 'c5', '2024-01-10', 'home', NULL),
	('b11', 'A', 'c1', '2024-01-11', 'home', ''),
	('b11', 'B', 'c1', '2024-01-11', 'home', 'RED RETROSPOT MUG'),
	('b11', 'C', 'c1', '2024-01-11', 'home', 'JAM JAR');
ALTER TABLE lines ADD COLUMN code integer DEFAULT 1, ADD COLUMN short varchar(20), ADD COLUMN fixed char(8);

------------------------------------------------------------------------------
-- 1. the item_name column is checked
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT bundlerec.create_model('tsn_bad', 'lines', 'basket', 'item', item_name => 'title')$$,
	'42703', 'column "title" (item_name) does not exist in tap_serving_names.lines',
	'create_model: a missing name column is 42703, naming the column and its role');
SELECT throws_ok($$SELECT bundlerec.create_model('tsn_bad', 'lines', 'basket', 'item', item_name => 'code')$$,
	'42804', 'column "code" (item_name) of tap_serving_names.lines has type integer, which bundlerec cannot use as a product name',
	'create_model: an integer name column is 42804');
SELECT lives_ok($$SELECT bundlerec.create_model('tsn_vc', 'lines', 'basket', 'item', item_name => 'short');
                  SELECT bundlerec.create_model('tsn_ch', 'lines', 'basket', 'item', item_name => 'fixed');
                  SELECT bundlerec.drop_model('tsn_vc'); SELECT bundlerec.drop_model('tsn_ch')$$,
	'create_model: varchar and char name columns are accepted');

-- the model with names and its twin without (no embeddings: similar_items
-- serves co-purchase pairs, whose numbers are worked by hand)
SELECT is((SELECT item_name FROM bundlerec.create_model('tsn', 'lines', 'basket', 'item', customer => 'customer',
		ordered_at => 'ordered_at', category => 'category', item_name => 'name',
		options => '{"embeddings": false, "ease": false}')),
	'name', 'create_model(item_name => ...) stores the column in bundlerec.models');
SELECT is((SELECT item_name FROM bundlerec.create_model('tsn_plain', 'lines', 'basket', 'item', customer => 'customer',
		ordered_at => 'ordered_at', category => 'category', options => '{"embeddings": false, "ease": false}')),
	NULL, 'a model without item_name stores NULL');
SELECT count(*) AS n FROM bundlerec.refresh('tsn') \gset
SELECT count(*) AS n FROM bundlerec.refresh('tsn_plain') \gset

------------------------------------------------------------------------------
-- 2. items.name
------------------------------------------------------------------------------
SELECT results_eq($$SELECT item, name FROM bundlerec_tsn.items ORDER BY item$$,
	$$VALUES ('A', 'WHITE METAL LANTERN'), ('B', 'RED RETROSPOT MUG'), ('C', 'JAM JAR'), ('D', NULL), ('E', 'Zebra box')$$,
	'items.name: the most frequent trimmed name; none for D; the tie of E to the smallest in byte order');
SELECT is((SELECT count(name) FROM bundlerec_tsn_plain.items), 0::bigint, 'items.name is NULL without item_name');
SELECT is((SELECT columns[array_upper(columns, 1)] FROM bundlerec.result_tables WHERE name = 'items'), 'name',
	'name is the last declared column of items');

------------------------------------------------------------------------------
-- 3. serving with names
------------------------------------------------------------------------------
-- frequently_bought_together('A'): B (4 orders, confidence 4/6, lift 4*11/(6*5)
-- = 1.4667), then C (3, 3/6, 3*11/30 = 1.1) by shrunk npmi
-- (0.1082 > 0.0169); with k 4 the fallbacks (popular in home, by orders then
-- item) add E (4 orders) and D (3).
SELECT results_eq($$SELECT rank, partner, source, explanation, name FROM bundlerec.frequently_bought_together('tsn', 'A', 4)$$,
	$$VALUES (1, 'B', 'pairs', 'bought together in 4 orders: 66.7% of the orders with WHITE METAL LANTERN hold it, lift 1.47', 'RED RETROSPOT MUG'),
	         (2, 'C', 'pairs', 'bought together in 3 orders: 50.0% of the orders with WHITE METAL LANTERN hold it, lift 1.10', 'JAM JAR'),
	         (3, 'E', 'popular in category', 'popular in home: in 4 orders', 'Zebra box'),
	         (4, 'D', 'popular in category', 'popular in home: in 3 orders', NULL)$$,
	'frequently_bought_together: the item named in explanations, name per row, fallbacks named, NULL for D');
-- D has no name: its key stands in (C: 2 of D's 3 orders, lift 2*11/(3*5))
SELECT results_eq($$SELECT partner, explanation, name FROM bundlerec.frequently_bought_together('tsn', 'D', 1)$$,
	$$VALUES ('C', 'bought together in 2 orders: 66.7% of the orders with D hold it, lift 1.47', 'JAM JAR')$$,
	'frequently_bought_together: an item without a name is called by its key');
SELECT results_eq($$SELECT partner, explanation, name FROM bundlerec.frequently_bought_together('tsn', 7, 1, 'home')$$,
	$$VALUES ('A', 'popular in home: in 6 orders', 'WHITE METAL LANTERN')$$,
	'frequently_bought_together: an unknown item (an integer key) gets named fallbacks');

-- similar_items('C') through pairs: D (npmi 0.2247 * 2/12), A (0.0734 * 3/13),
-- B (negative npmi)
SELECT results_eq($$SELECT rank, neighbor, source, explanation, name FROM bundlerec.similar_items('tsn', 'C', 3)$$,
	$$VALUES (1, 'D', 'pairs', 'bought together with JAM JAR in 2 orders', NULL::text),
	         (2, 'A', 'pairs', 'bought together with JAM JAR in 3 orders', 'WHITE METAL LANTERN'),
	         (3, 'B', 'pairs', 'bought together with JAM JAR in 2 orders', 'RED RETROSPOT MUG')$$,
	'similar_items: the item named in explanations, name per row');
SELECT results_eq($$SELECT neighbor, explanation, name FROM bundlerec.similar_items('tsn', 'D', 1)$$,
	$$VALUES ('C', 'bought together with D in 2 orders', 'JAM JAR')$$,
	'similar_items: an item without a name is called by its key');

-- complete_cart(A, B): C by its pair with A (3/6 beats B's 2/5) and the rule
-- {A, B} => C (2/4, as confident as A => C and larger); then E, D by popularity
SELECT results_eq($$SELECT rank, item, source, explanation, name FROM bundlerec.complete_cart('tsn', ARRAY['A', 'B'], 3)$$,
	$$VALUES (1, 'C', 'model', 'bought with WHITE METAL LANTERN in 3 orders (confidence 0.500); rule WHITE METAL LANTERN + RED RETROSPOT MUG => it (confidence 0.500)', 'JAM JAR'),
	         (2, 'E', 'popular in category', 'popular in home: in 4 orders', 'Zebra box'),
	         (3, 'D', 'popular in category', 'popular in home: in 3 orders', NULL)$$,
	'complete_cart: pair and rule items named (a rule of two, joined by +), name per row');
SELECT results_eq($$SELECT item, explanation, name FROM bundlerec.complete_cart('tsn', ARRAY['D'], 1)$$,
	$$VALUES ('C', 'bought with D in 2 orders (confidence 0.667); rule D => it (confidence 0.667)', 'JAM JAR')$$,
	'complete_cart: a cart item without a name is called by its key');

-- recommend_items(c1): A and B in all 3 of c1's orders, C in 2; then the
-- best seller E
SELECT results_eq($$SELECT rank, item, source, explanation, name FROM bundlerec.recommend_items('tsn', 'c1', 4)$$,
	$$VALUES (1, 'A', 'customer', 'you bought it in 3 of your 3 orders', 'WHITE METAL LANTERN'),
	         (2, 'B', 'customer', 'you bought it in 3 of your 3 orders', 'RED RETROSPOT MUG'),
	         (3, 'C', 'customer', 'you bought it in 2 of your 3 orders', 'JAM JAR'),
	         (4, 'E', 'popular', 'one of the best sellers: in 4 orders', 'Zebra box')$$,
	'recommend_items: name per row, best sellers too');

-- bundles: names parallel to items; the pre-built explanation calls the
-- anchor by its name where the twin without names says "anchor"
SELECT results_eq($$SELECT items, names FROM bundlerec.bundles_for_item('tsn', 'A', 5)$$,
	$$SELECT b.items, ARRAY(SELECT i.name FROM unnest(b.items) WITH ORDINALITY u(item, o)
	                        LEFT JOIN bundlerec_tsn.items i ON i.item = u.item ORDER BY u.o)
	  FROM bundlerec.bundles_for_item('tsn_plain', 'A', 5) b$$,
	'bundles_for_item: names parallel to items, in the order of the plain model''s bundles');
SELECT is((SELECT names FROM bundlerec.bundles_for_item('tsn', 'A', 1)),
	ARRAY['WHITE METAL LANTERN', 'RED RETROSPOT MUG'], 'bundles_for_item: the best bundle of A, A and B, by name');
SELECT results_eq($$SELECT explanation FROM bundlerec.bundles_for_item('tsn', 'A', 5)$$,
	$$SELECT replace(explanation, ' of anchor buyers ', ' of WHITE METAL LANTERN buyers ')
	  FROM bundlerec.bundles_for_item('tsn_plain', 'A', 5)$$,
	'bundles_for_item: the explanation names the anchor');
SELECT is((SELECT explanation FROM bundlerec.bundles_for_item('tsn', 'A', 1)),
	'bought together in 4 orders; lift 1.47; 67% of WHITE METAL LANTERN buyers took the rest',
	'bundles_for_item: A with B explained by hand (4 orders, lift 44/30, 4 of A''s 6 orders)');
SELECT is((SELECT explanation FROM bundlerec.bundles_for_item('tsn', 'D', 1)),
	(SELECT explanation FROM bundlerec.bundles_for_item('tsn_plain', 'D', 1)),
	'bundles_for_item: an anchor without a name keeps "anchor"');
SELECT ok((SELECT bool_and(explanation LIKE '%; explore: sampled conversion rate %'
                           AND cardinality(names) = cardinality(items) AND names[1] = 'WHITE METAL LANTERN')
           FROM bundlerec.bundles_for_item('tsn', 'A', 2, explore => true)),
	'bundles_for_item with explore: names beside the re-ranked bundles');
SELECT results_eq($$SELECT items, names FROM bundlerec.bundles_for_item('tsn', 'E', 2)$$,
	$$VALUES (ARRAY['E', 'A'], ARRAY['Zebra box', 'WHITE METAL LANTERN']), (ARRAY['E', 'B'], ARRAY['Zebra box', 'RED RETROSPOT MUG'])$$,
	'bundles_for_item: fallback bundles named too');

-- bundles_for_customer: names parallel to items, explanations naming the
-- customer's most bought item of the bundle
SELECT results_eq($$SELECT items, names, explanation FROM bundlerec.bundles_for_customer('tsn', 'c1', 5, exclude_bought => false)$$,
	$$SELECT p.items,
	         ARRAY(SELECT i.name FROM unnest(p.items) WITH ORDINALITY u(item, o)
	               LEFT JOIN bundlerec_tsn.items i ON i.item = u.item ORDER BY u.o),
	         replace(replace(replace(p.explanation, 'you bought A ', 'you bought WHITE METAL LANTERN '),
	                 'you bought B ', 'you bought RED RETROSPOT MUG '), 'you bought C ', 'you bought JAM JAR ')
	  FROM bundlerec.bundles_for_customer('tsn_plain', 'c1', 5, exclude_bought => false) p$$,
	'bundles_for_customer: names parallel to items; the explanation names the item the customer bought');
SELECT is((SELECT explanation FROM bundlerec.bundles_for_customer('tsn', 'c1', 1, exclude_bought => false)),
	(SELECT explanation FROM bundlerec_tsn.customer_bundles WHERE customer = 'c1' AND rank = 1),
	'bundles_for_customer: serves the pre-built explanation');
SELECT ok((SELECT bool_and(explanation ~ '^you bought (WHITE METAL LANTERN|RED RETROSPOT MUG|JAM JAR|D|Zebra box) in ')
           FROM bundlerec_tsn.customer_bundles),
	'customer_bundles.explanation names the item the customer bought (D by its key)');
SELECT ok((SELECT bool_and(cardinality(names) = cardinality(items))
           FROM bundlerec.bundles_for_customer('tsn', 'nobody', 3)),
	'bundles_for_customer: an unknown customer''s best-seller bundles are named');

-- with embeddings: the neighbours' explanations name the item too
SELECT bundlerec.create_model('tsn_emb', 'lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', category => 'category', item_name => 'name',
	options => '{"factors": 2, "iterations": 2}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('tsn_emb') \gset
SELECT results_eq($$SELECT neighbor, explanation, name FROM bundlerec.similar_items('tsn_emb', 'C', 3) WHERE source = 'embeddings'$$,
	$$SELECT s.neighbor, 'bought by the same customers as JAM JAR: cosine ' || round(s.similarity::numeric, 3), i.name
	  FROM bundlerec_tsn_emb.similar_items s JOIN bundlerec_tsn_emb.items i ON i.item = s.neighbor
	  WHERE s.item = 'C' ORDER BY s.rank LIMIT 3$$,
	'similar_items with embeddings: the item named in explanations, name per row');
SELECT ok((SELECT bool_and(explanation ~ 'bought by the same customers as (WHITE METAL LANTERN|D)' AND name IS NOT DISTINCT FROM
                           (SELECT i.name FROM bundlerec_tsn_emb.items i WHERE i.item = c.item))
           FROM bundlerec.complete_cart('tsn_emb', ARRAY['A', 'D'], 3) c WHERE from_embeddings IS NOT NULL),
	'complete_cart with embeddings: the neighbour named (D by its key)');
SELECT ok((SELECT count(*) FILTER (WHERE explanation ~ 'most of all with (WHITE METAL LANTERN|D) \(EASE weight') > 0
              AND count(*) FILTER (WHERE explanation ~ 'most of all with' AND explanation !~ 'most of all with (WHITE METAL LANTERN|D) \(EASE weight') = 0
           FROM bundlerec.complete_cart('tsn_emb', ARRAY['A', 'D'], 5) c),
	'complete_cart with item_weights: the cart item of the largest EASE weight named (D by its key)');

------------------------------------------------------------------------------
-- 4. the twin without names: keys as before, name and names NULL
------------------------------------------------------------------------------
SELECT results_eq($$SELECT partner, explanation, name FROM bundlerec.frequently_bought_together('tsn_plain', 'A', 2)$$,
	$$VALUES ('B', 'bought together in 4 orders: 66.7% of the orders with A hold it, lift 1.47', NULL::text),
	         ('C', 'bought together in 3 orders: 50.0% of the orders with A hold it, lift 1.10', NULL)$$,
	'no item_name: frequently_bought_together names keys, name NULL');
SELECT results_eq($$SELECT explanation, name FROM bundlerec.complete_cart('tsn_plain', ARRAY['A', 'B'], 1)$$,
	$$VALUES ('bought with A in 3 orders (confidence 0.500); rule A + B => it (confidence 0.500)', NULL::text)$$,
	'no item_name: complete_cart names keys, name NULL');
SELECT results_eq($$SELECT rank, partner, score, count, confidence, lift, source FROM bundlerec.frequently_bought_together('tsn_plain', 'A', 4)$$,
	$$SELECT rank, partner, score, count, confidence, lift, source FROM bundlerec.frequently_bought_together('tsn', 'A', 4)$$,
	'no item_name: the same rows but for the names');
SELECT is((SELECT array_agg(name) FROM bundlerec.similar_items('tsn_plain', 'C', 3)), ARRAY[NULL, NULL, NULL]::text[],
	'no item_name: similar_items name NULL');
SELECT is((SELECT array_agg(name) FROM bundlerec.recommend_items('tsn_plain', 'c1', 4)), ARRAY[NULL, NULL, NULL, NULL]::text[],
	'no item_name: recommend_items name NULL');
SELECT is((SELECT names FROM bundlerec.bundles_for_item('tsn_plain', 'A', 1)), ARRAY[NULL, NULL]::text[],
	'no item_name: bundle names are NULLs parallel to items');
SELECT ok((SELECT bool_and(explanation LIKE '% of anchor buyers %') FROM bundlerec_tsn_plain.item_bundles),
	'no item_name: item_bundles explanations say "anchor" as before');
SELECT ok((SELECT bool_and(explanation ~ '^you bought [A-E] in ') FROM bundlerec_tsn_plain.customer_bundles),
	'no item_name: customer_bundles explanations name keys as before');

------------------------------------------------------------------------------
-- 5. names after an incremental refresh
------------------------------------------------------------------------------
-- D gets a name on three new lines (its only name), E one more 'apple box'
-- (3 to 2), and a new item F arrives named.  N = 15: C 7, D 7, F 2,
-- CD 4, DF 2; D's best partner is now F (npmi 0.378 * 2/12 = 0.063 beats
-- C's 0.153 * 4/14 = 0.044): 2 of D's 7 orders, lift 2 * 15 / (7 * 2).
INSERT INTO lines (basket, item, customer, ordered_at, category, name) VALUES
	('b12', 'C', 'c2', '2024-02-01', 'home', 'JAM JAR'),
	('b12', 'D', 'c2', '2024-02-01', 'home', 'PAPER DOILY'),
	('b13', 'C', 'c3', '2024-02-02', 'home', 'JAM JAR'),
	('b13', 'D', 'c3', '2024-02-02', 'home', 'PAPER DOILY'),
	('b14', 'D', 'c4', '2024-02-03', 'home', 'PAPER DOILY'),
	('b14', 'E', 'c4', '2024-02-03', 'home', 'apple box'),
	('b14', 'F', 'c4', '2024-02-03', 'home', 'TEA TOWEL'),
	('b15', 'F', 'c5', '2024-02-04', 'home', 'TEA TOWEL'),
	('b15', 'D', 'c5', '2024-02-04', 'home', NULL);
-- serving first, so that the names and plans of this backend are cached
SELECT is((SELECT name FROM bundlerec.frequently_bought_together('tsn', 'C', 1)), NULL,
	'before the incremental refresh C''s best partner D has no name');
SELECT count(*) AS n FROM bundlerec.refresh('tsn', incremental => true) \gset
SELECT is((SELECT last_refresh_kind FROM bundlerec.models WHERE name = 'tsn'), 'incremental', 'the refresh is incremental');
SELECT bundlerec.create_model('tsn_full', 'lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', category => 'category', item_name => 'name',
	options => '{"embeddings": false}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('tsn_full') \gset
SELECT results_eq($$SELECT item, name FROM bundlerec_tsn.items ORDER BY item$$,
	$$VALUES ('A', 'WHITE METAL LANTERN'), ('B', 'RED RETROSPOT MUG'), ('C', 'JAM JAR'), ('D', 'PAPER DOILY'),
	         ('E', 'apple box'), ('F', 'TEA TOWEL')$$,
	'incremental: D named by its new lines, E''s majority changed, the new item F named');
SELECT bag_eq($$SELECT * FROM bundlerec_tsn.items$$, $$SELECT * FROM bundlerec_tsn_full.items$$,
	'incremental: items (names included) equal those of a full refresh');
SELECT bag_eq($$SELECT anchor, items, explanation FROM bundlerec_tsn.item_bundles$$,
	$$SELECT anchor, items, explanation FROM bundlerec_tsn_full.item_bundles$$,
	'incremental: item_bundles explanations equal those of a full refresh');
SELECT results_eq($$SELECT partner, explanation, name FROM bundlerec.frequently_bought_together('tsn', 'D', 1)$$,
	$$VALUES ('F', 'bought together in 2 orders: 28.6% of the orders with PAPER DOILY hold it, lift 2.14', 'TEA TOWEL')$$,
	'after the incremental refresh serving names D and the new F at once');

-- the per-backend cache: tsn_plain, served above without names, dropped and
-- created again under the same name, schema, options and tables, now with
-- item_name: this session serves the names at once
SELECT bundlerec.drop_model('tsn_plain');
SELECT bundlerec.create_model('tsn_plain', 'lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', category => 'category', item_name => 'name',
	options => '{"embeddings": false}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('tsn_plain') \gset
SELECT results_eq($$SELECT partner, explanation, name FROM bundlerec.frequently_bought_together('tsn_plain', 'D', 1)$$,
	$$VALUES ('F', 'bought together in 2 orders: 28.6% of the orders with PAPER DOILY hold it, lift 2.14', 'TEA TOWEL')$$,
	'a model re-created under the same name with item_name is served with names in the same session');
SELECT is((SELECT names FROM bundlerec.bundles_for_item('tsn_plain', 'A', 1)), ARRAY['WHITE METAL LANTERN', 'RED RETROSPOT MUG'],
	'and its bundles with names');

------------------------------------------------------------------------------
-- 1 (continued). the name column dropped from the source
------------------------------------------------------------------------------
ALTER TABLE lines DROP COLUMN name;
SELECT throws_ok($$SELECT * FROM bundlerec.refresh('tsn')$$, '42703',
	'model "tsn": column "name" (item_name) does not exist in tap_serving_names.lines',
	'refresh: a dropped name column is 42703 naming the model, the column and its role');
SELECT is((SELECT name FROM bundlerec.frequently_bought_together('tsn', 'D', 1)), 'TEA TOWEL',
	'the published results stay, names included');

SELECT * FROM finish();
ROLLBACK;
