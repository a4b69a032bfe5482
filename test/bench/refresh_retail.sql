-- refresh_bench: the full UCI Online Retail data as a shop's order lines.
-- Run from the repository root (the \copy path is relative to it).
-- Sales only, as in test/demo.sql (no cancellations, returns, postage or
-- fees); category = the last word of the item's first description.
-- refresh_bench.retail_lines = all but the newest 1% of orders (by
-- invoice_date); refresh_bench.retail_new = that 1%.
\set ON_ERROR_STOP on
\encoding UTF8
SET client_min_messages = warning;
SET search_path = refresh_bench, public;

CREATE TABLE retail_raw (
	invoice_no   text,
	stock_code   text,
	description  text,
	quantity     integer,
	invoice_date timestamp,
	unit_price   numeric,
	customer_id  integer,
	country      text
);
\copy retail_raw FROM PROGRAM 'zcat ../shared/data/online_retail/online_retail.csv.gz' WITH (FORMAT csv, HEADER true)

CREATE TABLE retail_sales AS
	SELECT r.invoice_no, r.stock_code, r.description, r.quantity, r.invoice_date, r.unit_price,
	       r.customer_id, c.category
	FROM retail_raw r
	LEFT JOIN (SELECT DISTINCT ON (stock_code) stock_code,
	                  (regexp_match(description, '(\w+)\s*$'))[1] AS category
	           FROM retail_raw WHERE description <> ''
	           ORDER BY stock_code, invoice_date) c USING (stock_code)
	WHERE r.invoice_no NOT LIKE 'C%' AND r.quantity > 0
	  AND r.stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE');
CREATE TABLE retail_cut AS
	SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY invoice_date) AS at
	FROM (SELECT DISTINCT invoice_no, invoice_date FROM retail_sales) o;
CREATE TABLE retail_lines AS SELECT * FROM retail_sales WHERE invoice_date < (SELECT at FROM retail_cut);
CREATE TABLE retail_new AS SELECT * FROM retail_sales WHERE invoice_date >= (SELECT at FROM retail_cut);
CREATE INDEX ON retail_lines (invoice_date);
CREATE INDEX ON retail_lines (invoice_no);
DROP TABLE retail_raw;
VACUUM ANALYZE retail_lines;

SELECT (SELECT count(*) FROM retail_lines) AS lines,
       (SELECT count(DISTINCT invoice_no) FROM retail_lines) AS orders,
       (SELECT count(DISTINCT stock_code) FROM retail_lines) AS items,
       (SELECT count(DISTINCT customer_id) FROM retail_lines) AS customers,
       (SELECT count(*) FROM retail_new) AS new_lines,
       (SELECT count(DISTINCT invoice_no) FROM retail_new) AS new_orders;

SELECT bundlerec.create_model('retail', 'refresh_bench.retail_lines', 'invoice_no', 'stock_code',
	customer => 'customer_id', ordered_at => 'invoice_date', quantity => 'quantity',
	price => 'unit_price', category => 'category', item_name => 'description');
