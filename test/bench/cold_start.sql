-- cold_start_bench: products first sold after a cut, judged on the orders
-- after it.  Run from the repository root; psql variables: have_full (the
-- full data set at ../shared/data/online_retail/online_retail.csv.gz, else
-- the shipped sample test/data/online_retail_sample.csv), cut (the split
-- time).  Protocol (written here, printed by the script):
--
-- Data: sales and products as in test/bench/retail_sales.sql (no 'C'
-- invoices, quantity > 0, no postage or fee codes; category = the last
-- word of the item's first description; products: every stock code sold,
-- before or after the cut, named by its most frequent description).  Two
-- models trained on the sales before :cut with the default options:
-- "today" (customer, ordered_at, quantity, price, category, item_name) and
-- "products" (the same plus the products source, product names as the
-- only text).  New products: stock codes first sold from :cut on, in at
-- least one order with another product known to training.
--
-- 1. Item lists of a new product P: relevant ("any") are the products known
--    to training bought in an order with P after the cut; "associated" are
--    those bought with P in at least 2 test orders and with lift > 1 over
--    the test orders.  HitRate@10: a relevant product among the 10 listed;
--    Recall@10: the share of them listed (at most 10 counted), averaged
--    over new products.
--      frequently_bought_together(model, P, 10[, category of P]): "today"
--        with P's category (popular in category, then popular) and without
--        (popular); "products" without (its category is in products)
--      similar_items(model, P, 10): "today" with P's category
--    bundles_for_item(model, P, 5), and the 5 best of its bundles of 3 or
--    more items ("products": pairs of its together list, then its content
--    neighbours' bundles with P in their place; "today": the fallback, P
--    with best sellers): HitRate@5 (a bundle bought whole in a test
--    order), bought whole (share of the bundles), acceptance (test orders
--    holding the bundle / test orders holding P)
-- 2. Complete the cart: every test order holding a new product and at
--    least one product known to training; one known product hidden (the
--    one of smallest md5(basket || item)), the rest (new products included)
--    is the cart.  HitRate@10 of complete_cart(model, cart, 10), both
--    models, and of the 10 best sellers not in the cart.
\set ON_ERROR_STOP on
\encoding UTF8
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS cold_start CASCADE;
CREATE SCHEMA cold_start;
SET search_path = cold_start, public;

\ir retail_sales.sql
CREATE TABLE train AS SELECT * FROM sales WHERE invoice_date < :'cut';
CREATE TABLE test AS SELECT * FROM sales WHERE invoice_date >= :'cut';
ANALYZE train;
ANALYZE test;

\o /dev/null
SELECT bundlerec.drop_model(m.name) FROM bundlerec.models m WHERE m.name IN ('cs_today', 'cs_products');
SELECT bundlerec.create_model('cs_today', 'cold_start.train', 'invoice_no', 'stock_code',
	customer => 'customer_id', ordered_at => 'invoice_date', quantity => 'quantity',
	price => 'unit_price', category => 'category', item_name => 'description');
SELECT bundlerec.create_model('cs_products', 'cold_start.train', 'invoice_no', 'stock_code',
	customer => 'customer_id', ordered_at => 'invoice_date', quantity => 'quantity',
	price => 'unit_price', category => 'category', item_name => 'description',
	products => 'cold_start.products', product_columns => '{"key": "stock_code", "name": "name"}');
\o
SELECT 'today' AS model, count(*) AS refresh_stages, round(sum(seconds)::numeric, 1) AS refresh_seconds FROM bundlerec.refresh('cs_today')
UNION ALL
SELECT 'products', count(*), round(sum(seconds)::numeric, 1) FROM bundlerec.refresh('cs_products');
SELECT stage, rows, round(seconds::numeric, 2) AS seconds
FROM (SELECT h.stages FROM bundlerec.refresh_history h WHERE h.model = 'cs_products' ORDER BY h.id DESC LIMIT 1) h,
     jsonb_to_recordset(h.stages) AS s(stage text, rows bigint, seconds float8)
WHERE stage IN ('products', 'content', 'cold start');

-- new products and what was bought with them after the cut
CREATE TABLE known AS SELECT i.item FROM bundlerec_cs_today.items i;
CREATE TABLE new_products AS
SELECT s.stock_code AS item, min(s.category) AS category FROM test s
WHERE NOT EXISTS (SELECT FROM known k WHERE k.item = s.stock_code)
GROUP BY s.stock_code;
CREATE TABLE truth AS
SELECT n.item, array_agg(DISTINCT o.stock_code) AS rel
FROM new_products n
JOIN test t ON t.stock_code = n.item
JOIN test o ON o.invoice_no = t.invoice_no AND o.stock_code <> n.item
WHERE EXISTS (SELECT FROM known k WHERE k.item = o.stock_code)
GROUP BY n.item;
SELECT (SELECT count(*) FROM new_products) AS new_products,
       (SELECT count(*) FROM truth) AS judged,
       (SELECT count(*) FROM bundlerec_cs_products.cold_start WHERE item IN (SELECT item FROM truth) AND list = 'together') AS together_rows;

-- "associated": bought with P in at least 2 test orders and more often than
-- chance (lift > 1 over the test orders)
CREATE TABLE test_orders AS SELECT DISTINCT invoice_no, stock_code FROM test;
CREATE TABLE truth_assoc AS
SELECT x.item, array_agg(x.other) AS rel
FROM (SELECT a.stock_code AS item, b.stock_code AS other, count(*) AS c
      FROM test_orders a JOIN test_orders b ON b.invoice_no = a.invoice_no AND b.stock_code <> a.stock_code
      WHERE a.stock_code IN (SELECT item FROM truth) AND EXISTS (SELECT FROM known k WHERE k.item = b.stock_code)
      GROUP BY 1, 2) x
JOIN (SELECT stock_code, count(*) AS n FROM test_orders GROUP BY 1) na ON na.stock_code = x.item
JOIN (SELECT stock_code, count(*) AS n FROM test_orders GROUP BY 1) nb ON nb.stock_code = x.other
WHERE x.c >= 2 AND x.c::float8 * (SELECT count(DISTINCT invoice_no) FROM test_orders) / (na.n * nb.n) > 1
GROUP BY x.item;
SELECT 'any' AS relevant, count(*) AS products, round(avg(cardinality(rel)), 1) AS mean_relevant FROM truth
UNION ALL SELECT 'associated', count(*), round(avg(cardinality(rel)), 1) FROM truth_assoc;

CREATE TABLE lists AS
SELECT t.item, m.model, 'frequently_bought_together' AS list,
       ARRAY(SELECT x.partner FROM bundlerec.frequently_bought_together(m.name, t.item, 10, CASE WHEN m.cat THEN n.category END) x ORDER BY x.rank) AS recs
FROM truth t JOIN new_products n USING (item)
CROSS JOIN (VALUES ('today (popular in category)', 'cs_today', true), ('today (popular)', 'cs_today', false),
                   ('products', 'cs_products', false)) m(model, name, cat)
UNION ALL
SELECT t.item, m.model, 'similar_items',
       ARRAY(SELECT x.neighbor FROM bundlerec.similar_items(m.name, t.item, 10, CASE WHEN m.cat THEN n.category END) x ORDER BY x.rank)
FROM truth t JOIN new_products n USING (item)
CROSS JOIN (VALUES ('today (popular in category)', 'cs_today', true), ('products', 'cs_products', false)) m(model, name, cat);
SELECT r.relevant, l.list, l.model, count(*) AS products,
       round(avg((l.recs && r.rel)::int)::numeric, 4) AS hit_rate_at_10,
       round(avg((SELECT count(*) FROM unnest(l.recs) x WHERE x = ANY (r.rel))::float8
                 / least(10, cardinality(r.rel)))::numeric, 4) AS recall_at_10
FROM lists l
JOIN (SELECT 'any' AS relevant, * FROM truth UNION ALL SELECT 'associated', * FROM truth_assoc) r USING (item)
GROUP BY r.relevant, l.list, l.model ORDER BY r.relevant, l.list, l.model;

-- 1b. bundles of a new product: bought whole in a test order
CREATE TABLE test_baskets AS SELECT invoice_no, array_agg(DISTINCT stock_code) AS items FROM test GROUP BY invoice_no;
CREATE INDEX ON test_baskets USING gin (items);
CREATE TABLE bundle_lists AS
SELECT 'products' AS model, t.item, b.items FROM truth t CROSS JOIN LATERAL bundlerec.bundles_for_item('cs_products', t.item, 5) b
UNION ALL
SELECT 'products, its neighbours'' bundles of 3+ items', t.item, b.items FROM truth t
CROSS JOIN LATERAL (SELECT x.items FROM bundlerec.bundles_for_item('cs_products', t.item, 100) x
                    WHERE cardinality(x.items) > 2 ORDER BY x.rank LIMIT 5) b
UNION ALL
SELECT 'today (popular)', t.item, b.items FROM truth t CROSS JOIN LATERAL bundlerec.bundles_for_item('cs_today', t.item, 5) b;
SELECT l.model, count(DISTINCT l.item) AS products, round(avg(cardinality(l.items)), 2) AS mean_size,
       round(count(DISTINCT l.item) FILTER (WHERE w.n > 0) / count(DISTINCT l.item)::numeric, 4) AS hit_rate_at_5,
       round(avg((w.n > 0)::int), 4) AS bought_whole, round(avg(w.n::numeric / p.n), 4) AS acceptance
FROM bundle_lists l
CROSS JOIN LATERAL (SELECT count(*) AS n FROM test_baskets x WHERE x.items @> l.items) w
CROSS JOIN LATERAL (SELECT count(*) AS n FROM test_baskets x WHERE x.items @> ARRAY[l.item]) p
GROUP BY l.model ORDER BY l.model;

-- 2. complete the cart
CREATE TABLE carts AS
SELECT b.basket, (array_agg(b.item ORDER BY md5(b.basket || b.item)) FILTER (WHERE b.known))[1] AS hidden, array_agg(b.item) AS items
FROM (SELECT DISTINCT t.invoice_no AS basket, t.stock_code AS item,
             EXISTS (SELECT FROM known k WHERE k.item = t.stock_code) AS known
      FROM test t) b
GROUP BY b.basket
HAVING bool_or(b.known) AND bool_or(NOT b.known) AND count(*) >= 2;
UPDATE carts SET items = array_remove(items, hidden);
SELECT m.model AS method, count(*) AS carts,
       round(avg((c.hidden = ANY (ARRAY(SELECT x.item FROM bundlerec.complete_cart(m.name, c.items, 10) x)))::int)::numeric, 4) AS hit_rate_at_10
FROM carts c CROSS JOIN (VALUES ('complete_cart, today', 'cs_today'), ('complete_cart, products', 'cs_products')) m(model, name)
GROUP BY m.model
UNION ALL
SELECT 'popularity (not in the cart)', count(*),
       round(avg((c.hidden = ANY (ARRAY(SELECT i.item FROM bundlerec_cs_today.items i WHERE NOT i.item = ANY (c.items)
                                        ORDER BY i.popularity_rank LIMIT 10)))::int)::numeric, 4)
FROM carts c
ORDER BY 1;
