-- whole_bundles: does ranking a bundle bought whole above its own subsets
-- (generate_bundles' whole_share) hurt real shops?  Run from the repository
-- root; psql variables: have_full (the full Online Retail data, else the
-- shipped sample), have_groceries (../shared/data/groceries present).
-- Protocol (written here, printed by the script):
--
-- Data: Online Retail sales as in test/bench/retail_sales.sql; validation:
-- trained on the orders before 2011-09-01 (sample: 2010-12-08), judged on
-- those of September 2011 (sample: 2010-12-08); test: trained before
-- 2011-10-01 (sample: 2010-12-09), judged on the orders from then on.
-- Groceries (arules, 9,835 baskets), when present: validation trains on
-- transaction ids = 0 mod 4 and judges those = 2 mod 4; test trains on the
-- even ids and judges the odd ones.
-- Bundles: generate_bundles(anchor => NULL, k => 5, price => the unit
-- price, otherwise the defaults of a model's item_bundles) with whole_share
-- NULL (off: by score alone), 0 (the significance test alone), 0.5, 0.6,
-- 0.65, 0.7, 0.75, 0.8, 0.9.  The default is the smallest share whose
-- validation acc@1 is within 1% (relative) of off on both shops.
-- Judged on the anchors in at least 5 judged orders: acc@1 = mean over the
-- anchors of (judged orders holding the first bundle / judged orders
-- holding the anchor); hit@1 = share of anchors whose first bundle was
-- bought whole in a judged order; acc@5, hit@5 the same over the 5 bundles
-- (acc@5 the mean over them, hit@5 any of them); items@1 = mean of acc@1
-- times the items the first bundle adds (what it is expected to sell with
-- the anchor); size3@1 = share of first bundles with 3 items; moved@1 =
-- share of anchors whose first bundle differs from whole_share NULL.  Then
-- the test slices again through models: item_bundles of a model with
-- default options and a products source (so bundle_alike_weight takes
-- part) against one with bundle_whole_share null.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS whole_bundles CASCADE;
CREATE SCHEMA whole_bundles;
SET search_path = whole_bundles, public;

\ir retail_sales.sql
CREATE TABLE slices (data text, slice text, train_sql text);
CREATE TABLE judged (data text, slice text, basket text, items text[]);
\if :have_full
\set val_cut '2011-09-01'
\set val_end '2011-10-01'
\set test_cut '2011-10-01'
\else
\set val_cut '2010-12-08'
\set val_end '2010-12-09'
\set test_cut '2010-12-09'
\endif
CREATE VIEW retail_val AS SELECT invoice_no AS basket, stock_code AS item, unit_price AS price
	FROM sales WHERE invoice_date < :'val_cut';
CREATE VIEW retail_test AS SELECT invoice_no AS basket, stock_code AS item, unit_price AS price
	FROM sales WHERE invoice_date < :'test_cut';
INSERT INTO slices VALUES ('Online Retail', 'validation', 'whole_bundles.retail_val'),
	('Online Retail', 'test', 'whole_bundles.retail_test');
INSERT INTO judged
	SELECT 'Online Retail', 'validation', invoice_no, array_agg(DISTINCT stock_code) FROM sales
	WHERE invoice_date >= :'val_cut' AND invoice_date < :'val_end' GROUP BY invoice_no;
INSERT INTO judged
	SELECT 'Online Retail', 'test', invoice_no, array_agg(DISTINCT stock_code) FROM sales
	WHERE invoice_date >= :'test_cut' GROUP BY invoice_no;

CREATE TABLE groceries (transaction_id integer, item_id integer, item text);
\if :have_groceries
\copy groceries FROM PROGRAM 'zcat ../shared/data/groceries/groceries_long.csv.gz' WITH (FORMAT csv, HEADER true)
CREATE VIEW groc_val AS SELECT transaction_id AS basket, item, NULL::float8 AS price FROM groceries WHERE transaction_id % 4 = 0;
CREATE VIEW groc_test AS SELECT transaction_id AS basket, item, NULL::float8 AS price FROM groceries WHERE transaction_id % 2 = 0;
INSERT INTO slices VALUES ('Groceries', 'validation', 'whole_bundles.groc_val'),
	('Groceries', 'test', 'whole_bundles.groc_test');
INSERT INTO judged
	SELECT 'Groceries', 'validation', transaction_id::text, array_agg(DISTINCT item) FROM groceries
	WHERE transaction_id % 4 = 2 GROUP BY transaction_id;
INSERT INTO judged
	SELECT 'Groceries', 'test', transaction_id::text, array_agg(DISTINCT item) FROM groceries
	WHERE transaction_id % 2 = 1 GROUP BY transaction_id;
\endif
CREATE INDEX ON judged USING gin (items);
ANALYZE judged;
CREATE TABLE anchors AS
	SELECT j.data, j.slice, a.item AS anchor, count(*) AS n
	FROM judged j, unnest(j.items) a(item) GROUP BY 1, 2, 3 HAVING count(*) >= 5;

CREATE TABLE shares (label text, share float8);
INSERT INTO shares VALUES ('off', NULL), ('0', 0), ('0.5', 0.5), ('0.6', 0.6), ('0.65', 0.65), ('0.7', 0.7),
	('0.75', 0.75), ('0.8', 0.8), ('0.9', 0.9);
CREATE TABLE served (data text, slice text, label text, anchor text, rank integer, items text[]);
INSERT INTO served
	SELECT s.data, s.slice, w.label, (b.anchor)[1], b.rank, b.items
	FROM slices s CROSS JOIN shares w
	CROSS JOIN LATERAL bundlerec.generate_bundles(s.train_sql::regclass, 'basket', 'item', anchor => NULL,
		k => 5, price => 'price', whole_share => w.share) b;
CREATE INDEX ON served (data, slice, label, anchor, rank);
ANALYZE served;
-- judged orders holding each distinct bundle, counted once
CREATE TABLE bought AS
	SELECT d.data, d.slice, d.items, (SELECT count(*) FROM judged j
	                                  WHERE j.data = d.data AND j.slice = d.slice AND j.items @> d.items) AS n
	FROM (SELECT DISTINCT s.data, s.slice, s.items FROM served s
	      JOIN anchors a ON a.data = s.data AND a.slice = s.slice AND a.anchor = s.anchor) d;

SELECT x.data, x.slice, x.label AS whole_share, count(*) AS anchors,
       round(avg(x.acc1)::numeric, 4) AS "acc@1", round(avg(x.hit1)::numeric, 4) AS "hit@1",
       round(avg(x.items1)::numeric, 4) AS "items@1", round(avg(x.acc5)::numeric, 4) AS "acc@5", round(avg(x.hit5)::numeric, 4) AS "hit@5",
       round(avg(x.size3)::numeric, 4) AS "size3@1", round(avg(x.moved)::numeric, 4) AS "moved@1"
FROM (SELECT s.data, s.slice, s.label, s.anchor,
             max(CASE WHEN s.rank = 1 THEN b.n::float8 / a.n END) AS acc1,
             max(CASE WHEN s.rank = 1 THEN (b.n > 0)::int END) AS hit1,
             max(CASE WHEN s.rank = 1 THEN b.n::float8 / a.n * (cardinality(s.items) - 1) END) AS items1,
             avg(b.n::float8 / a.n) AS acc5, max((b.n > 0)::int) AS hit5,
             max(CASE WHEN s.rank = 1 THEN (cardinality(s.items) = 3)::int END) AS size3,
             max(CASE WHEN s.rank = 1 THEN (NOT EXISTS (SELECT FROM served o WHERE o.data = s.data
                      AND o.slice = s.slice AND o.label = 'off' AND o.anchor = s.anchor AND o.rank = 1
                      AND o.items = s.items))::int END) AS moved
      FROM served s
      JOIN anchors a ON a.data = s.data AND a.slice = s.slice AND a.anchor = s.anchor
      JOIN bought b ON b.data = s.data AND b.slice = s.slice AND b.items = s.items
      GROUP BY 1, 2, 3, 4) x
GROUP BY 1, 2, 3
ORDER BY 1 DESC, 2 DESC, CASE x.label WHEN 'off' THEN -1 ELSE x.label::float8 END;

-- 2. The same judged through models (test slices): item_bundles of a model
-- with default options (Online Retail with the product names as its
-- products source, so bundle_alike_weight takes part) against one with
-- bundle_whole_share null; rules and embeddings off (not used here).
CREATE TABLE retail_products AS SELECT stock_code AS item, name FROM products;
CREATE VIEW groc_products AS SELECT DISTINCT item, item AS name FROM groceries;
\o /dev/null
SELECT bundlerec.drop_model(m.name) FROM bundlerec.models m WHERE m.name LIKE 'wb\_%';
SELECT bundlerec.create_model(format('wb_%s_%s', d.tag, w.tag), d.train::regclass, 'basket', 'item', price => d.price,
	products => d.products::regclass, product_columns => '{"key": "item", "name": "name"}',
	options => jsonb_build_object('rules', false, 'embeddings', false) || w.opt)
FROM (VALUES ('retail', 'whole_bundles.retail_test', 'whole_bundles.retail_products', 'price'),
             ('groc', 'whole_bundles.groc_test', 'whole_bundles.groc_products', NULL)) d(tag, train, products, price)
CROSS JOIN (VALUES ('default', '{}'::jsonb), ('null', '{"bundle_whole_share": null}')) w(tag, opt)
WHERE d.tag = 'retail' OR EXISTS (SELECT FROM groceries);
SELECT bundlerec.refresh(m.name) FROM bundlerec.models m WHERE m.name LIKE 'wb\_%';
\o
CREATE TABLE model_served AS
	SELECT 'Online Retail'::text AS data, 'default'::text AS label, b.anchor, b.rank, b.items FROM bundlerec_wb_retail_default.item_bundles b
	UNION ALL SELECT 'Online Retail', 'null', b.anchor, b.rank, b.items FROM bundlerec_wb_retail_null.item_bundles b;
DO $$
BEGIN
	IF EXISTS (SELECT FROM whole_bundles.groceries) THEN
		INSERT INTO whole_bundles.model_served
			SELECT 'Groceries', 'default', b.anchor, b.rank, b.items FROM bundlerec_wb_groc_default.item_bundles b
			UNION ALL SELECT 'Groceries', 'null', b.anchor, b.rank, b.items FROM bundlerec_wb_groc_null.item_bundles b;
	END IF;
END $$;
SELECT x.data, x.label AS bundle_whole_share, count(*) AS anchors,
       round(avg(x.acc1)::numeric, 4) AS "acc@1", round(avg(x.hit1)::numeric, 4) AS "hit@1",
       round(avg(x.items1)::numeric, 4) AS "items@1", round(avg(x.acc5)::numeric, 4) AS "acc@5",
       round(avg(x.hit5)::numeric, 4) AS "hit@5"
FROM (SELECT s.data, s.label, s.anchor,
             max(CASE WHEN s.rank = 1 THEN w.n::float8 / a.n END) AS acc1,
             max(CASE WHEN s.rank = 1 THEN (w.n > 0)::int END) AS hit1,
             max(CASE WHEN s.rank = 1 THEN w.n::float8 / a.n * (cardinality(s.items) - 1) END) AS items1,
             avg(w.n::float8 / a.n) AS acc5, max((w.n > 0)::int) AS hit5
      FROM model_served s
      JOIN anchors a ON a.data = s.data AND a.slice = 'test' AND a.anchor = s.anchor
      CROSS JOIN LATERAL (SELECT count(*) AS n FROM judged j
                          WHERE j.data = s.data AND j.slice = 'test' AND j.items @> s.items) w
      GROUP BY 1, 2, 3) x
GROUP BY 1, 2 ORDER BY 1 DESC, 2;
