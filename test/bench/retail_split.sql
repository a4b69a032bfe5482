-- retail_split_bench: what a model serves, judged on later orders.  Run from
-- the repository root; psql variables: have_full (the full data set at
-- ../shared/data/online_retail/online_retail.csv.gz, else the shipped
-- sample test/data/online_retail_sample.csv), cut (the split time).  Protocol (written here, printed by the script):
--
-- Data: sales as in test/bench/retail_sales.sql (no 'C' invoices, quantity
-- > 0, no postage or fee codes); category = the last word of the item's
-- first description.  Training: the sales before :cut, one bundlerec model with
-- the default options (customer, ordered_at, quantity, price, category,
-- item_name).  Test: the sales from :cut on.
--
-- 1. Next period, per customer: the customers known to training who bought
--    items known to training after the cut.  Relevant: those items (all of
--    them; "new only": those the customer never bought in training).  Lists
--    of 10; NDCG@10 with binary gains, averaged over customers.
--      recommend_items(model, customer, 10)                       (all)
--      recommend_items(model, customer, 10, exclude_bought => true) (new only)
--      repeat: the customer's own training items by orders, then last
--        bought, then item in "C" order, back-filled by popularity (all)
--      popularity: items by training orders (popularity_rank); for "new
--        only", the customer's training items left out
-- 2. Complete the cart: every test order with at least 2 distinct items
--    known to training; one item hidden (the one of smallest md5(basket ||
--    item)), the rest is the cart.  HitRate@10: the hidden item among
--    complete_cart(model, cart, 10); popularity: the 10 best sellers not in
--    the cart.  complete_cart is also served (evaluate's path,
--    _complete_cart over the same published tables) with the blend before
--    item_weights (cart_ease_weight 0) and with item_weights alone (the
--    other cart weights 0).  EASE engines: signed weights of _ease_weights
--    over the training orders (baskets x items, lambda 100, the 200 largest
--    |B_ij| per item); a candidate not in the cart scores the sum of its
--    weights from the cart items, all signs, or positive weights only.
-- 3. Validation grid (how the defaults were chosen; the test period is not
--    read): a second model with the default options on the training sales
--    before :cut minus one month, and carts made as in 2 from the training
--    orders of that last month.  HitRate@10 of complete_cart for
--    cart_ease_weight in 0 .. 8 and for item_weights alone, and of the EASE
--    sum alone (as item_weights holds it: the validation model's orders,
--    min_count 2) for ease_regularization 25 .. 200 x ease_per_item 100,
--    200.
\set ON_ERROR_STOP on
\encoding UTF8
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS retail_split CASCADE;
CREATE SCHEMA retail_split;
SET search_path = retail_split, public;
SELECT (:'cut'::timestamp - interval '1 month')::date AS val_cut \gset

\ir retail_sales.sql
CREATE TABLE train AS SELECT * FROM sales WHERE invoice_date < :'cut';
CREATE TABLE test AS SELECT * FROM sales WHERE invoice_date >= :'cut';
ANALYZE train;
ANALYZE test;
SELECT (SELECT count(*) FROM train) AS train_lines, (SELECT count(DISTINCT invoice_no) FROM train) AS train_orders,
       (SELECT count(*) FROM test) AS test_lines, (SELECT count(DISTINCT invoice_no) FROM test) AS test_orders;

\o /dev/null
SELECT bundlerec.drop_model('retail_split') FROM bundlerec.models WHERE name = 'retail_split';
SELECT bundlerec.create_model('retail_split', 'retail_split.train', 'invoice_no', 'stock_code',
	customer => 'customer_id', ordered_at => 'invoice_date', quantity => 'quantity',
	price => 'unit_price', category => 'category', item_name => 'description');
\o
SELECT count(*) AS refresh_stages, round(sum(seconds)::numeric, 1) AS refresh_seconds FROM bundlerec.refresh('retail_split');

CREATE FUNCTION ndcg10(recs text[], rel text[]) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(sum(CASE WHEN r.item = ANY (rel) THEN 1 / log(2, r.n + 1) END), 0)
	       / (SELECT sum(1 / log(2, g + 1)) FROM generate_series(1, least(10, cardinality(rel))) g)
	FROM unnest(recs[1:10]) WITH ORDINALITY r(item, n) $$;

-- 1. next period
CREATE TABLE truth AS
SELECT t.customer_id::text AS customer, t.stock_code AS item,
       NOT EXISTS (SELECT FROM bundlerec_retail_split.customer_items ci
                   WHERE ci.customer = t.customer_id::text AND ci.item = t.stock_code) AS new
FROM (SELECT DISTINCT customer_id, stock_code FROM test WHERE customer_id IS NOT NULL) t
WHERE EXISTS (SELECT FROM bundlerec_retail_split.customers c WHERE c.customer = t.customer_id::text)
  AND EXISTS (SELECT FROM bundlerec_retail_split.items i WHERE i.item = t.stock_code);
CREATE TABLE rel AS
SELECT customer, array_agg(item) AS rel_all, array_agg(item) FILTER (WHERE new) AS rel_new FROM truth GROUP BY customer;
CREATE TABLE lists AS
SELECT r.customer, 'all' AS task, 'recommend_items' AS method,
       ARRAY(SELECT x.item FROM bundlerec.recommend_items('retail_split', r.customer, 10) x ORDER BY x.rank) AS recs
FROM rel r
UNION ALL
SELECT r.customer, 'new only', 'recommend_items(exclude_bought)',
       ARRAY(SELECT x.item FROM bundlerec.recommend_items('retail_split', r.customer, 10, exclude_bought => true) x ORDER BY x.rank)
FROM rel r WHERE r.rel_new IS NOT NULL
UNION ALL
SELECT r.customer, 'all', 'repeat',
       (ARRAY(SELECT ci.item FROM bundlerec_retail_split.customer_items ci WHERE ci.customer = r.customer
              ORDER BY ci.orders DESC, ci.last_ordered DESC, ci.item COLLATE "C")
        || ARRAY(SELECT i.item FROM bundlerec_retail_split.items i ORDER BY i.popularity_rank LIMIT 10))[1:10]
FROM rel r
UNION ALL
SELECT r.customer, 'all', 'popularity',
       ARRAY(SELECT i.item FROM bundlerec_retail_split.items i ORDER BY i.popularity_rank LIMIT 10)
FROM rel r
UNION ALL
SELECT r.customer, 'new only', 'popularity (not bought)',
       ARRAY(SELECT i.item FROM bundlerec_retail_split.items i
             WHERE NOT EXISTS (SELECT FROM bundlerec_retail_split.customer_items ci WHERE ci.customer = r.customer AND ci.item = i.item)
             ORDER BY i.popularity_rank LIMIT 10)
FROM rel r WHERE r.rel_new IS NOT NULL;
SELECT l.task, l.method, count(*) AS customers,
       round(avg(ndcg10(l.recs, CASE WHEN l.task = 'all' THEN r.rel_all ELSE r.rel_new END))::numeric, 4) AS ndcg_at_10
FROM lists l JOIN rel r USING (customer)
GROUP BY l.task, l.method ORDER BY l.task, ndcg_at_10 DESC;

-- 2. complete the cart
CREATE TABLE carts AS
SELECT b.basket, (array_agg(b.item ORDER BY md5(b.basket || b.item)))[1] AS hidden,
       (array_agg(b.item ORDER BY md5(b.basket || b.item)))[2:] AS cart
FROM (SELECT DISTINCT t.invoice_no AS basket, t.stock_code AS item FROM test t
      WHERE EXISTS (SELECT FROM bundlerec_retail_split.items i WHERE i.item = t.stock_code)) b
GROUP BY b.basket HAVING count(*) >= 2;
SELECT 'complete_cart' AS method, count(*) AS carts,
       round(avg((c.hidden = ANY (ARRAY(SELECT x.item FROM bundlerec.complete_cart('retail_split', c.cart, 10) x)))::int)::numeric, 4) AS hit_rate_at_10
FROM carts c
UNION ALL
SELECT 'popularity (not in the cart)', count(*),
       round(avg((c.hidden = ANY (ARRAY(SELECT i.item FROM bundlerec_retail_split.items i WHERE NOT i.item = ANY (c.cart)
                                        ORDER BY i.popularity_rank LIMIT 10)))::int)::numeric, 4)
FROM carts c;

CREATE TABLE ease_w AS
SELECT item, neighbor, score FROM bundlerec._ease_weights('retail_split.train', 'invoice_no', 'stock_code',
	regularization => 100, top_k => 200);
CREATE INDEX ON ease_w (item);
ANALYZE ease_w;
-- one options value at a time (LATERAL): the serving cache of a schema
-- holds one
SELECT v.method, x.carts, x.hit_rate_at_10
FROM (VALUES ('complete_cart, previous blend (cart_ease_weight 0)', '{"cart_ease_weight": 0}'::jsonb, 1),
             ('complete_cart, item_weights alone',
              '{"cart_pairs_weight": 0, "cart_rules_weight": 0, "cart_embedding_weight": 0}', 2)) v(method, o, n)
CROSS JOIN LATERAL (
	SELECT count(*) AS carts,
	       round(avg((c.hidden = ANY (ARRAY(SELECT f.item FROM bundlerec._complete_cart('bundlerec_retail_split',
	              (SELECT m.options FROM bundlerec.models m WHERE m.name = 'retail_split') || v.o, c.cart, 10) f)))::int)::numeric, 4)
	         AS hit_rate_at_10
	FROM carts c) x
ORDER BY v.n;

SELECT 'EASE signed (sum over the cart)' AS method, count(*) AS carts,
       round(avg((c.hidden = ANY (ARRAY(SELECT w.neighbor FROM ease_w w WHERE w.item = ANY (c.cart)
                                        AND NOT w.neighbor = ANY (c.cart)
                                        GROUP BY w.neighbor ORDER BY sum(w.score) DESC, w.neighbor LIMIT 10)))::int)::numeric, 4) AS hit_rate_at_10
FROM carts c
UNION ALL
SELECT 'EASE positive weights only', count(*),
       round(avg((c.hidden = ANY (ARRAY(SELECT w.neighbor FROM ease_w w WHERE w.item = ANY (c.cart) AND w.score > 0
                                        AND NOT w.neighbor = ANY (c.cart)
                                        GROUP BY w.neighbor ORDER BY sum(w.score) DESC, w.neighbor LIMIT 10)))::int)::numeric, 4)
FROM carts c;

-- 3. validation grid: train before :val_cut, judged on the carts of the
-- training orders from :val_cut on
CREATE TABLE val_train AS SELECT * FROM train WHERE invoice_date < :'val_cut';
\o /dev/null
SELECT bundlerec.drop_model('retail_val') FROM bundlerec.models WHERE name = 'retail_val';
SELECT bundlerec.create_model('retail_val', 'retail_split.val_train', 'invoice_no', 'stock_code',
	customer => 'customer_id', ordered_at => 'invoice_date', quantity => 'quantity',
	price => 'unit_price', category => 'category', item_name => 'description');
SELECT bundlerec.refresh('retail_val');
\o
CREATE TABLE val_carts AS
SELECT b.basket, (array_agg(b.item ORDER BY md5(b.basket || b.item)))[1] AS hidden,
       (array_agg(b.item ORDER BY md5(b.basket || b.item)))[2:] AS cart
FROM (SELECT DISTINCT t.invoice_no AS basket, t.stock_code AS item FROM train t
      WHERE t.invoice_date >= :'val_cut'
        AND EXISTS (SELECT FROM bundlerec_retail_val.items i WHERE i.item = t.stock_code)) b
GROUP BY b.basket HAVING count(*) >= 2;
SELECT :'val_cut' AS validation_from, count(*) AS validation_carts FROM val_carts;
SELECT v.blend, x.carts, x.val_hit_rate_at_10
FROM (VALUES ('cart_ease_weight 0', '{"cart_ease_weight": 0}'::jsonb, 1),
             ('cart_ease_weight 1', '{"cart_ease_weight": 1}', 3),
             ('cart_ease_weight 2', '{"cart_ease_weight": 2}', 4),
             ('cart_ease_weight 4', '{"cart_ease_weight": 4}', 5),
             ('cart_ease_weight 8', '{"cart_ease_weight": 8}', 6),
             ('item_weights alone', '{"cart_pairs_weight": 0, "cart_rules_weight": 0, "cart_embedding_weight": 0}', 7)) v(blend, o, n)
CROSS JOIN LATERAL (
	SELECT count(*) AS carts,
	       round(avg((c.hidden = ANY (ARRAY(SELECT f.item FROM bundlerec._complete_cart('bundlerec_retail_val',
	              (SELECT m.options FROM bundlerec.models m WHERE m.name = 'retail_val') || v.o, c.cart, 10) f)))::int)::numeric, 4)
	         AS val_hit_rate_at_10
	FROM val_carts c) x
ORDER BY v.n;
-- the EASE sum alone over the validation model's counted orders, per
-- lambda; ease_per_item by the rank of |weight| within the 200 kept
CREATE TABLE val_ease (lambda float8, item text, neighbor text, score float8, rank integer);
SELECT format('INSERT INTO val_ease SELECT %s, w.item, w.neighbor, w.score, '
              '(row_number() OVER (PARTITION BY w.item ORDER BY abs(w.score) DESC, w.neighbor COLLATE "C"))::integer '
              'FROM bundlerec._ease_weights(''retail_split.val_train'', ''invoice_no'', ''stock_code'', %s, 200, 2) w', l, l)
FROM unnest(ARRAY[25, 50, 100, 200]) l \gexec
CREATE INDEX ON val_ease (lambda, item);
ANALYZE val_ease;
SELECT l.lambda AS ease_regularization, p.per_item AS ease_per_item,
       round(avg((c.hidden = ANY (ARRAY(SELECT w.neighbor FROM val_ease w
                                        WHERE w.lambda = l.lambda AND w.item = ANY (c.cart) AND w.rank <= p.per_item
                                          AND NOT w.neighbor = ANY (c.cart)
                                        GROUP BY w.neighbor ORDER BY sum(w.score) DESC, w.neighbor LIMIT 10)))::int)::numeric, 4)
         AS val_hit_rate_at_10
FROM val_carts c, (SELECT DISTINCT lambda FROM val_ease) l, unnest(ARRAY[100, 200]) p(per_item)
GROUP BY l.lambda, p.per_item ORDER BY l.lambda, p.per_item;
