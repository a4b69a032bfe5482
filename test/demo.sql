-- bundlerec demo: frequently bought together on real shop data.
-- Data: UCI Online Retail, 2010-12-01 .. 2010-12-12 (see test/data/README.md).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bundlerec;
DROP SCHEMA IF EXISTS bundlerec_demo CASCADE;
CREATE SCHEMA bundlerec_demo;
SET search_path = bundlerec_demo, public;

-- order_lines, the sales view (no cancellations, returns, postage or fees)
-- and products
\ir data/online_retail.sql

\echo
\echo '== The sample'
SELECT count(*) AS order_lines, count(DISTINCT invoice_no) AS orders,
       count(DISTINCT stock_code) AS products
FROM sales;

-- One call computes every pair with every measure.  top_k keeps a pair when
-- it is among the 5 best partners (by confidence) of either of its products.
CREATE TABLE fbt AS
	SELECT * FROM bundlerec.item_pairs('sales', 'invoice_no', 'stock_code',
	                                   min_count => 5, top_k => 5,
	                                   rank_by => 'confidence');

\echo
\echo '== Pairs kept (min_count 5, top 5 partners per product)'
SELECT count(*) AS pairs FROM fbt;

\echo
\echo '== Frequently bought together, for three best-selling products'
WITH anchors AS (
	SELECT stock_code FROM sales GROUP BY stock_code
	ORDER BY count(DISTINCT invoice_no) DESC, stock_code LIMIT 3
), directed AS (
	SELECT item_a AS item, item_b AS partner, count_ab, confidence_ab AS confidence,
	       lift, jaccard, fisher_p FROM fbt
	UNION ALL
	SELECT item_b, item_a, count_ab, confidence_ba, lift, jaccard, fisher_p FROM fbt
), ranked AS (
	SELECT *, row_number() OVER (PARTITION BY item ORDER BY confidence DESC, partner) AS rank
	FROM directed
)
SELECT left(pa.description, 30) AS product,
       left(pb.description, 30) AS bought_with,
       d.count_ab AS orders,
       round(d.confidence::numeric, 3) AS confidence,
       round(d.lift::numeric, 2) AS lift,
       round(d.jaccard::numeric, 3) AS jaccard,
       to_char(d.fisher_p, '9.9EEEE') AS fisher_p
FROM ranked d
JOIN anchors a ON a.stock_code = d.item
JOIN products pa ON pa.stock_code = d.item
JOIN products pb ON pb.stock_code = d.partner
WHERE d.rank <= 5
ORDER BY pa.description, d.rank;

\echo
\echo '== Strongest pairs overall by lift, among pairs seen in at least 10 orders'
SELECT left(pa.description, 30) AS product_a, left(pb.description, 30) AS product_b,
       count_ab AS orders, round(lift::numeric, 1) AS lift,
       round(confidence_ab::numeric, 3) AS "P(b|a)", round(confidence_ba::numeric, 3) AS "P(a|b)"
FROM bundlerec.item_pairs('sales', 'invoice_no', 'stock_code', min_count => 10)
JOIN products pa ON pa.stock_code = item_a
JOIN products pb ON pb.stock_code = item_b
ORDER BY lift DESC, item_a, item_b
LIMIT 8;

\echo
\echo '== Association rules (support >= 1.5% of orders, confidence >= 0.3): strongest 3-item rules by lift'
CREATE TABLE rules AS
	SELECT * FROM bundlerec.association_rules('sales', 'invoice_no', 'stock_code',
	                                          min_support => 0.015, min_confidence => 0.3);
CREATE INDEX ON rules USING gin (antecedent);
SELECT count(*) AS rules FROM rules;
SELECT (SELECT string_agg(left(p.description, 24), ' + ' ORDER BY a)
        FROM unnest(r.antecedent) a JOIN products p ON p.stock_code = a) AS "if the order holds",
       left(c.description, 24) AS "it also holds",
       r.count AS orders, round(r.confidence::numeric, 2) AS confidence, round(r.lift::numeric, 1) AS lift
FROM rules r JOIN products c ON c.stock_code = r.consequent
WHERE r.size = 3
ORDER BY r.lift DESC, r.antecedent, r.consequent LIMIT 5;

\echo
\echo '== Complete a cart holding the two best sellers'
SELECT left(p.description, 34) AS suggestion, c.explanation
FROM bundlerec.complete_cart_rules(
	(SELECT array_agg(stock_code) FROM (
		SELECT stock_code FROM sales GROUP BY stock_code
		ORDER BY count(DISTINCT invoice_no) DESC, stock_code LIMIT 2) t),
	'rules', k => 5) c
JOIN products p ON p.stock_code = c.item
ORDER BY c.confidence DESC, c.lift DESC, c.item;

\echo
\echo '== Customers: interactions (orders per customer and product)'
CREATE TABLE interactions AS
	SELECT * FROM bundlerec.interactions('order_lines', 'customer_id', 'stock_code',
	                                     basket => 'invoice_no');
SELECT count(*) AS pairs, count(DISTINCT customer) AS customers,
       count(DISTINCT item) AS products FROM interactions;

\echo
\echo '== Implicit ALS, 32 factors: loss per iteration (it never rises)'
SELECT iteration, round(loss::numeric, 1) AS loss
FROM bundlerec.als_train('interactions', 'customer', 'item',
                         'customer_factors', 'item_factors', weight => 'weight',
                         factors => 32, iterations => 8);

\echo
\echo '== ALS: new products for the customer with the most orders'
WITH c AS (
	SELECT customer_id::text AS customer FROM sales WHERE customer_id IS NOT NULL
	GROUP BY customer_id ORDER BY count(DISTINCT invoice_no) DESC, customer_id LIMIT 1
)
SELECT c.customer, left(p.description, 34) AS product, round(r.score::numeric, 3) AS score
FROM c, bundlerec.als_recommend(
	(SELECT factors FROM customer_factors f WHERE f.customer::text = c.customer), 'item_factors', 5,
	exclude => (SELECT array_agg(i.item) FROM interactions i WHERE i.customer = c.customer)) r
JOIN products p ON p.stock_code = r.item
ORDER BY r.score DESC;

\echo
\echo '== Complete a cart (WHITE HANGING HEART T-LIGHT HOLDER + WHITE METAL LANTERN): ALS fold-in vs EASE'
CREATE TABLE ease_weights AS
	SELECT * FROM bundlerec.ease('interactions', 'customer', 'item', regularization => 50);
CREATE INDEX ON ease_weights (item);
SELECT 'ALS fold-in' AS model, left(p.description, 34) AS product, round(r.score::numeric, 3) AS score
FROM bundlerec.als_recommend(bundlerec.als_fold_in(ARRAY['85123A', '71053'], 'item_factors'),
                             'item_factors', 5, exclude => ARRAY['85123A', '71053']) r
JOIN products p ON p.stock_code = r.item
UNION ALL
SELECT 'EASE', left(p.description, 34), round(r.score::numeric, 3)
FROM bundlerec.recommend_from_neighbors(ARRAY['85123A', '71053'], 'ease_weights', 5) r
JOIN products p ON p.stock_code = r.item
ORDER BY 1, 3 DESC;

\echo
\echo '== Cold start: products like a LUNCH BAG by name words and price band'
CREATE TABLE product_prices AS
	SELECT p.stock_code, p.description, x.price
	FROM products p
	JOIN (SELECT stock_code, percentile_disc(0.5) WITHIN GROUP (ORDER BY unit_price) AS price
	      FROM sales GROUP BY stock_code) x USING (stock_code);
SELECT left(pa.description, 30) AS product, left(pb.description, 30) AS similar,
       round(n.score::numeric, 3) AS score
FROM bundlerec.content_neighbors('product_prices', 'stock_code', name => 'description',
                                 price => 'price', top_k => 4) n
JOIN products pa ON pa.stock_code = n.item
JOIN products pb ON pb.stock_code = n.neighbor
WHERE n.item = '20725'
ORDER BY n.score DESC;

\echo
\echo '== Bundles for an item page: WHITE HANGING HEART T-LIGHT HOLDER, 10% off, at most 25.00, one item per kind'
-- the kind of a product: the last word of its description (HOLDER, LANTERN, ...)
CREATE VIEW bundle_lines AS
	SELECT s.invoice_no, s.stock_code, s.unit_price, s.customer_id, o.invoice_date,
	       (regexp_match(p.description, '(\w+)\s*$'))[1] AS kind
	FROM order_lines o
	JOIN sales s USING (invoice_no, stock_code, quantity, unit_price, customer_id)
	JOIN products p USING (stock_code);
SELECT b.rank, array_to_string(ARRAY(SELECT left(p.description, 22) FROM unnest(b.items) WITH ORDINALITY u(i, n)
                                      JOIN products p ON p.stock_code = u.i ORDER BY u.n), ' + ') AS bundle,
       round(b.bundle_price::numeric, 2) AS price, round(b.score::numeric, 3) AS score, b.explanation
FROM bundlerec.generate_bundles('bundle_lines', 'invoice_no', 'stock_code', anchor => ARRAY['85123A'],
                                price => 'unit_price', ordered_at => 'invoice_date', category => 'kind',
                                discount => 0.1, max_price => 25, k => 3) b
ORDER BY b.rank;

\echo
\echo '== Bundles for the biggest customer, from their history'
WITH c AS (
	SELECT customer_id FROM sales WHERE customer_id IS NOT NULL
	GROUP BY customer_id ORDER BY count(DISTINCT invoice_no) DESC, customer_id LIMIT 1
), h AS (
	SELECT array_agg(DISTINCT s.stock_code) AS items FROM sales s JOIN c USING (customer_id)
), top AS (
	-- the customer's most bought item anchors the bundle
	SELECT s.stock_code FROM sales s JOIN c USING (customer_id)
	GROUP BY s.stock_code ORDER BY count(*) DESC, s.stock_code LIMIT 1
)
SELECT b.rank, b.items, round(b.affinity::numeric, 3) AS affinity, round(b.score::numeric, 3) AS score, b.explanation
FROM top, h, bundlerec.generate_bundles('bundle_lines', 'invoice_no', 'stock_code', anchor => ARRAY[top.stock_code],
                                         history => h.items, exclude => h.items, price => 'unit_price', k => 3) b
ORDER BY b.rank;

\echo
\echo '== One bundle scored: heart holder + two hot water bottles'
SELECT size, count, round(cohesion::numeric, 3) AS cohesion, round(mean_lift::numeric, 2) AS mean_lift,
       round(list_price::numeric, 2) AS list_price, round(accept_probability::numeric, 3) AS p_accept,
       round(expected_revenue::numeric, 2) AS expected_revenue, explanation
FROM bundlerec.bundle_score('bundle_lines', 'invoice_no', 'stock_code', ARRAY['85123A', '84029G', '84029E'],
                            price => 'unit_price');

------------------------------------------------------------------------------
-- A model: register the order lines once, refresh, serve, evaluate
------------------------------------------------------------------------------

-- The shop's order lines up to 8 December; the rest arrive later.
CREATE TABLE shop_lines AS
	SELECT s.invoice_no, s.stock_code, s.quantity, s.unit_price, s.customer_id,
	       o.invoice_date, (regexp_match(p.description, '(\w+)\s*$'))[1] AS kind, o.description
	FROM order_lines o
	JOIN sales s USING (invoice_no, stock_code, quantity, unit_price, customer_id)
	JOIN products p USING (stock_code);
CREATE TABLE later_lines AS SELECT * FROM shop_lines WHERE invoice_date >= '2010-12-09';
DELETE FROM shop_lines WHERE invoice_date >= '2010-12-09';

SELECT bundlerec.drop_model('demo', if_exists => true);
SELECT name, results_schema FROM bundlerec.create_model('demo', 'shop_lines', 'invoice_no', 'stock_code',
	customer => 'customer_id', ordered_at => 'invoice_date', quantity => 'quantity',
	price => 'unit_price', category => 'kind', item_name => 'description',
	options => '{"schema": "bundlerec_demo_model"}') \gset

\echo
\echo '== A model over the order lines to 8 December: full refresh, one row per stage'
SELECT stage, rows FROM bundlerec.refresh('demo');

INSERT INTO shop_lines SELECT * FROM later_lines;
\echo
\echo '== The orders of 9 to 12 December arrive: incremental refresh (new orders only for the counts, ALS warm-started)'
SELECT stage, rows FROM bundlerec.refresh('demo', incremental => true);

\echo
\echo '== The catalogue and the refresh history'
SELECT name, source, last_refresh_kind, watermark, n_lines, n_baskets FROM bundlerec.models WHERE name = 'demo';
SELECT kind, rows_read, rows_written, round(seconds::numeric, 1) AS seconds FROM bundlerec.refresh_history
WHERE model = 'demo' ORDER BY id;

\echo
\echo '== The results, ready for BI tools (views that survive refreshes; bundlerec.result_tables declares them)'
SELECT r.name AS result, r.refresh, m.tables ->> r.name AS current_table,
       obj_description(format('%I.%I', m.results_schema, r.name)::regclass, 'pg_class') AS comment
FROM bundlerec.result_tables r, bundlerec.models m
WHERE m.name = 'demo' AND r.served AND m.tables ? r.name
ORDER BY r.position;

\echo
\echo '== frequently_bought_together: WHITE HANGING HEART T-LIGHT HOLDER'
SELECT f.rank, f.partner, left(f.name, 32) AS name, f.count, round(f.confidence::numeric, 3) AS confidence,
       round(f.lift::numeric, 2) AS lift, f.source
FROM bundlerec.frequently_bought_together('demo', '85123A', 5) f ORDER BY f.rank;
SELECT f.explanation FROM bundlerec.frequently_bought_together('demo', '85123A', 1) f;

\echo
\echo '== similar_items (ALS embeddings): WHITE HANGING HEART T-LIGHT HOLDER'
SELECT s.rank, s.neighbor, left(s.name, 32) AS name, round(s.similarity::numeric, 3) AS similarity
FROM bundlerec.similar_items('demo', '85123A', 5) s ORDER BY s.rank;

\echo
\echo '== complete_cart: heart holder + white metal lantern (pairs, rules and embeddings blended)'
SELECT c.rank, c.item, left(c.name, 32) AS name, round(c.score::numeric, 3) AS score, c.explanation
FROM bundlerec.complete_cart('demo', ARRAY['85123A', '71053'], 5) c ORDER BY c.rank;

\echo
\echo '== Fallbacks: a product the model has never seen, in the kind HOLDER'
SELECT f.rank, f.partner, left(f.name, 32) AS name, f.source, f.explanation
FROM bundlerec.frequently_bought_together('demo', 'NEW-PRODUCT', 3, category => 'HOLDER') f;

\echo
\echo '== bundles_for_item: heart holder'
SELECT b.rank, b.items, round(b.bundle_price::numeric, 2) AS price,
       round(b.accept_probability::numeric, 3) AS p_accept, round(b.score::numeric, 3) AS score
FROM bundlerec.bundles_for_item('demo', '85123A', 3) b;
SELECT b.rank, array_to_string(b.names, ' + ') AS names, b.explanation
FROM bundlerec.bundles_for_item('demo', '85123A', 3) b;

SELECT customer_id AS top_customer FROM shop_lines WHERE customer_id IS NOT NULL
GROUP BY customer_id ORDER BY count(DISTINCT invoice_no) DESC, customer_id LIMIT 1 \gset
\echo
\echo '== bundles_for_customer: the customer with the most orders (added items new to them)'
SELECT b.rank, b.items, round(b.repeat_part::numeric, 3) AS repeat, round(b.model_part::numeric, 3) AS model,
       round(b.score::numeric, 3) AS score, b.explanation
FROM bundlerec.bundles_for_customer('demo', :'top_customer', 3) b;

\echo
\echo '== recommend_items: the same customer (their repeat purchases blended with ALS)'
SELECT r.rank, r.item, left(r.name, 32) AS name, round(r.repeat_part::numeric, 3) AS repeat,
       round(r.model_part::numeric, 3) AS model, r.explanation
FROM bundlerec.recommend_items('demo', :'top_customer', 5) r ORDER BY r.rank;

\echo
\echo '== Feedback: the first bundle was shown 40 times and bought 12 times; explore re-ranks by Thompson sampling'
SELECT impressions, conversions FROM bundlerec.record_feedback('demo',
	(SELECT b.items FROM bundlerec.bundles_for_item('demo', '85123A', 1) b), 40, 12);
SELECT setseed(0.5);
SELECT b.rank, b.items, b.explanation FROM bundlerec.bundles_for_item('demo', '85123A', 3, explore => true) b;

\echo
\echo '== Evaluation: train on the orders before 9 December, test on the later ones (k = 10)'
SELECT task, method, cases, round(hit_rate::numeric, 3) AS hit_rate, round(precision::numeric, 3) AS precision,
       round(recall::numeric, 3) AS recall, round(ndcg::numeric, 3) AS ndcg,
       round(coverage::numeric, 3) AS coverage, round(novelty::numeric, 2) AS novelty
FROM bundlerec.evaluate('demo', '2010-12-09', 10);
