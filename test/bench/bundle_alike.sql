-- bundle_alike_bench: should a bundle's score reward alike items or unlike
-- (complementary) ones?  Run from the repository root; psql variables:
-- have_full (the full Online Retail data, else the shipped sample), cut
-- (its split time), have_groceries (../shared/data/groceries present).
-- Protocol (written here, printed by the script):
--
-- Data: Online Retail sales and products as in test/bench/retail_sales.sql,
-- trained on the orders before :cut, judged on the orders from :cut on;
-- products source: the product names.  Groceries (arules; 9,835 baskets of
-- 169 item groups), when present: even transaction ids train, odd ones
-- judge; products source: the item labels, with their level2 and level1
-- groups as attributes.  Alike = content similarity of two products
-- (TF-IDF over the products source, the model's content_neighbors).
--
-- 1. Why: every anchor's 20 best bundles by cohesion alone
--    (generate_bundles, alike_weight 0), bundles of anchors in at least 5
--    test orders; within each quartile of cohesion, by how alike their
--    items are: the mean test acceptance (test orders holding the bundle /
--    test orders holding the anchor).
-- 2. What it changes: one model per bundle_alike_weight (-0.25, 0, 0.1,
--    0.25, 0.5, 1; default options otherwise, no customer column, no rules),
--    its item_bundles (5 per anchor) judged on the anchors in at least 5
--    test orders: hit@5 (a bundle of the anchor bought whole in a test
--    order), acceptance@5 (mean test acceptance of its bundles), whole
--    (share of bundles bought whole at least once), and the mean alike of
--    the bundles served.
\set ON_ERROR_STOP on
\encoding UTF8
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bundle_alike CASCADE;
CREATE SCHEMA bundle_alike;
SET search_path = bundle_alike, public;

\ir retail_sales.sql
CREATE VIEW retail_train AS SELECT invoice_no AS basket, stock_code AS item, unit_price AS price
	FROM sales WHERE invoice_date < :'cut';
CREATE TABLE test_baskets AS
	SELECT 'Online Retail'::text AS data, invoice_no AS basket, array_agg(DISTINCT stock_code) AS items
	FROM sales WHERE invoice_date >= :'cut' GROUP BY invoice_no;
CREATE TABLE retail_products AS SELECT stock_code AS item, name FROM products;

CREATE TABLE groceries (transaction_id integer, item_id integer, item text);
CREATE TABLE groceries_items (item_id integer, label text, level2 text, level1 text);
\if :have_groceries
\copy groceries FROM PROGRAM 'zcat ../shared/data/groceries/groceries_long.csv.gz' WITH (FORMAT csv, HEADER true)
\copy groceries_items FROM PROGRAM 'zcat ../shared/data/groceries/groceries_items.csv.gz' WITH (FORMAT csv, HEADER true)
\endif
CREATE VIEW groceries_train AS SELECT transaction_id AS basket, item FROM groceries WHERE transaction_id % 2 = 0;
INSERT INTO test_baskets
	SELECT 'Groceries', transaction_id::text, array_agg(DISTINCT item)
	FROM groceries WHERE transaction_id % 2 = 1 GROUP BY transaction_id;
CREATE TABLE groceries_products AS SELECT label AS item, label AS name, level2, level1 FROM groceries_items;
CREATE INDEX ON test_baskets USING gin (items);
ANALYZE test_baskets;

-- one model per weight and data set
CREATE TABLE runs AS
SELECT d.data, w.weight, format('ba_%s_%s', d.tag, replace(replace(w.weight::text, '-', 'm'), '.', '')) AS model,
       d.train, d.products, d.pcols, d.price
FROM (VALUES ('Online Retail', 'retail', 'bundle_alike.retail_train', 'bundle_alike.retail_products',
              '{"key": "item", "name": "name"}', 'price'),
             ('Groceries', 'groc', 'bundle_alike.groceries_train', 'bundle_alike.groceries_products',
              '{"key": "item", "name": "name", "attributes": ["level2", "level1"]}', NULL)) d(data, tag, train, products, pcols, price)
CROSS JOIN (VALUES (-0.25), (0), (0.1), (0.25), (0.5), (1)) w(weight)
WHERE d.data = 'Online Retail' OR :have_groceries = 1;
\o /dev/null
SELECT bundlerec.drop_model(m.name) FROM bundlerec.models m WHERE m.name LIKE 'ba\_%';
SELECT bundlerec.create_model(r.model, r.train::regclass, 'basket', 'item', price => r.price,
	products => r.products::regclass, product_columns => r.pcols::jsonb,
	options => jsonb_build_object('bundle_alike_weight', r.weight, 'rules', false))
FROM runs r;
SELECT bundlerec.refresh(r.model) FROM runs r;
\o

-- 1. why: cohesion alone, binned
CREATE TABLE candidates AS
SELECT r.data, (b.anchor)[1] AS anchor, b.items, b.cohesion, b.alike
FROM runs r
CROSS JOIN LATERAL bundlerec.generate_bundles(r.train::regclass, 'basket', 'item', max_size => 3, k => 20,
	content => format('bundlerec_%s.content_neighbors', r.model)::regclass, alike_weight => 0) b
WHERE r.weight = 0;
CREATE TABLE anchor_tests AS
SELECT t.data, a.item AS anchor, count(*) AS n
FROM test_baskets t, unnest(t.items) a(item) GROUP BY 1, 2 HAVING count(*) >= 5;
SELECT c.data, c.quartile AS cohesion_quartile,
       CASE WHEN c.alike = 0 THEN 'a: 0 (not neighbours)' WHEN c.alike < 0.2 THEN 'b: (0, 0.2)'
            WHEN c.alike < 0.4 THEN 'c: [0.2, 0.4)' ELSE 'd: >= 0.4' END AS alike,
       count(*) AS bundles,
       round(avg((SELECT count(*) FROM test_baskets t WHERE t.data = c.data AND t.items @> c.items)::float8 / a.n)::numeric, 4)
         AS test_acceptance
FROM (SELECT x.*, ntile(4) OVER (PARTITION BY x.data ORDER BY x.cohesion) AS quartile
      FROM candidates x JOIN anchor_tests a ON a.data = x.data AND a.anchor = x.anchor) c
JOIN anchor_tests a ON a.data = c.data AND a.anchor = c.anchor
GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2, 3;

-- 2. what each weight serves
CREATE TABLE served (data text, weight numeric, anchor text, rank integer, items text[], alike float8);
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM bundle_alike.runs LOOP
		EXECUTE format('INSERT INTO bundle_alike.served SELECT %L, %s, b.anchor, b.rank, b.items, b.alike FROM %I.item_bundles b',
		               r.data, r.weight, 'bundlerec_' || r.model);
	END LOOP;
END
$$;
SELECT x.data, x.weight AS bundle_alike_weight, count(*) AS anchors,
       round(avg(x.hit)::numeric, 4) AS hit_at_5, round(avg(x.acceptance)::numeric, 4) AS acceptance_at_5,
       round(avg(x.whole)::numeric, 4) AS whole, round(avg(x.alike)::numeric, 3) AS mean_alike
FROM (SELECT s.data, s.weight, s.anchor, max((w.n > 0)::int) AS hit, avg(w.n::float8 / a.n) AS acceptance,
             avg((w.n > 0)::int) AS whole, avg(s.alike) AS alike
      FROM served s
      JOIN anchor_tests a ON a.data = s.data AND a.anchor = s.anchor
      CROSS JOIN LATERAL (SELECT count(*) AS n FROM test_baskets t WHERE t.data = s.data AND t.items @> s.items) w
      GROUP BY 1, 2, 3) x
GROUP BY 1, 2 ORDER BY 1 DESC, 2;
