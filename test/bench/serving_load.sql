-- serving_bench: load UCI Online Retail order lines into schema serving_bench
-- (the full data set when the shell found it: psql variable have_full; the
-- shipped sample otherwise), and build the model's source table lines from
-- every sale before (last order time - :holdout_days days).  The held-out
-- last days are inserted later, for the incremental refresh.
-- Run from the repository root (the \copy paths are relative to it).
\set ON_ERROR_STOP on
\encoding UTF8
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bundlerec;
SELECT bundlerec.drop_model('shop', if_exists => true);
SELECT bundlerec.drop_model('shop_full', if_exists => true);
DROP SCHEMA IF EXISTS serving_bench CASCADE;
CREATE SCHEMA serving_bench;
SET search_path = serving_bench, public;

CREATE TABLE order_lines (
	invoice_no   text,
	stock_code   text,
	description  text,
	quantity     integer,
	invoice_date timestamp,
	unit_price   numeric,
	customer_id  integer,
	country      text
);
\if :have_full
\copy order_lines FROM PROGRAM 'zcat ../shared/data/online_retail/online_retail.csv.gz' WITH (FORMAT csv, HEADER true)
\else
\copy order_lines FROM 'test/data/online_retail_sample.csv' WITH (FORMAT csv, HEADER true)
\endif

-- One description per stock code (the first non-empty one by invoice date),
-- as in test/data/online_retail.sql, and its last word as the category.
CREATE VIEW products AS
	SELECT DISTINCT ON (stock_code) stock_code, description,
	       (regexp_match(description, '(\w+)\s*$'))[1] AS category
	FROM order_lines WHERE description <> ''
	ORDER BY stock_code, invoice_date;

-- Sales only, as in test/demo.sql: no cancellations (invoice 'C...'), no
-- returns, no postage or fees; plus the product's category.
CREATE VIEW sales AS
	SELECT o.invoice_no, o.stock_code, o.description, o.quantity, o.invoice_date, o.unit_price,
	       o.customer_id, o.country, p.category
	FROM order_lines o LEFT JOIN products p ON p.stock_code = o.stock_code
	WHERE o.invoice_no NOT LIKE 'C%' AND o.quantity > 0
	  AND o.stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE');

-- The cut: lines before it feed the first (full) refresh.
CREATE TABLE params AS
	SELECT max(invoice_date) AS last_order,
	       max(invoice_date) - make_interval(days => :holdout_days) AS cut
	FROM sales;

CREATE TABLE lines AS
	SELECT s.* FROM sales s WHERE s.invoice_date < (SELECT cut FROM params);
CREATE INDEX lines_invoice_date_idx ON lines (invoice_date);
CREATE INDEX lines_invoice_no_idx ON lines (invoice_no);

VACUUM ANALYZE order_lines;
VACUUM ANALYZE lines;

CREATE TABLE load_summary AS
SELECT (SELECT count(*) FROM order_lines) AS raw_lines,
       (SELECT count(*) FROM sales) AS sales_lines,
       (SELECT count(DISTINCT invoice_no) FROM sales) AS orders,
       (SELECT count(DISTINCT stock_code) FROM sales) AS items,
       (SELECT count(DISTINCT customer_id) FROM sales) AS customers,
       (SELECT count(DISTINCT category) FROM sales) AS categories,
       (SELECT min(invoice_date) FROM sales) AS first_order,
       (SELECT last_order FROM params) AS last_order,
       (SELECT cut FROM params) AS cut,
       (SELECT count(*) FROM lines) AS lines_before_cut,
       (SELECT count(DISTINCT invoice_no) FROM lines) AS orders_before_cut;

-- Arguments for the latency runs (pgbench draws an id at random):
-- the :bench_n best-selling items (by orders) plus :bench_unknown unknown
-- ones, :bench_n customers (by md5) plus unknown ones, and :bench_n real
-- baskets of at least 2 distinct items (by md5 of the invoice) less one
-- item (the one with the smallest md5(invoice || '/' || item)).
CREATE TABLE bench_items (id serial PRIMARY KEY, item text NOT NULL, known boolean NOT NULL);
INSERT INTO bench_items (item, known)
SELECT stock_code, true FROM sales GROUP BY stock_code
ORDER BY count(DISTINCT invoice_no) DESC, stock_code LIMIT :bench_n;
INSERT INTO bench_items (item, known)
SELECT 'NO-SUCH-ITEM-' || g, false FROM generate_series(1, :bench_unknown) g;

CREATE TABLE bench_customers (id serial PRIMARY KEY, customer text NOT NULL, known boolean NOT NULL);
INSERT INTO bench_customers (customer, known)
SELECT c::text, true FROM (SELECT DISTINCT customer_id AS c FROM sales WHERE customer_id IS NOT NULL) s
ORDER BY md5(c::text) LIMIT :bench_n;
INSERT INTO bench_customers (customer, known)
SELECT 'no-such-customer-' || g, false FROM generate_series(1, :bench_unknown) g;

CREATE TABLE bench_carts (id serial PRIMARY KEY, invoice_no text NOT NULL, items text[] NOT NULL);
INSERT INTO bench_carts (invoice_no, items)
SELECT b.invoice_no, (array_agg(b.stock_code ORDER BY b.h))[2:]
FROM (SELECT DISTINCT invoice_no, stock_code, md5(invoice_no || '/' || stock_code) AS h FROM sales) b
WHERE b.invoice_no IN (
	SELECT invoice_no FROM sales GROUP BY invoice_no HAVING count(DISTINCT stock_code) >= 2
	ORDER BY md5(invoice_no) LIMIT :bench_n)
GROUP BY b.invoice_no
ORDER BY md5(b.invoice_no);
-- the carts of at most 50 items, numbered from 1 (complete_cart's aim)
CREATE TABLE bench_carts50 AS
SELECT row_number() OVER (ORDER BY id)::int AS id, items FROM bench_carts WHERE cardinality(items) <= 50;
ALTER TABLE bench_carts50 ADD PRIMARY KEY (id);
ANALYZE bench_items;
ANALYZE bench_customers;
ANALYZE bench_carts;
ANALYZE bench_carts50;
