-- pairs_bench: load UCI Online Retail order lines (the shipped sample, and
-- the full data set when the shell found it: psql variable have_full).
-- Run from the repository root (the \copy paths are relative to it).
\set ON_ERROR_STOP on
\encoding UTF8
SET client_min_messages = warning;
SET search_path = pairs_bench, public;

DROP TABLE IF EXISTS retail_sample_raw, retail_full_raw CASCADE;

CREATE TABLE retail_sample_raw (
	invoice_no   text,
	stock_code   text,
	description  text,
	quantity     integer,
	invoice_date timestamp,
	unit_price   numeric,
	customer_id  integer,
	country      text
);
CREATE TABLE retail_full_raw (LIKE retail_sample_raw);

\copy retail_sample_raw FROM 'test/data/online_retail_sample.csv' WITH (FORMAT csv, HEADER true)
\if :have_full
\copy retail_full_raw FROM PROGRAM 'zcat ../shared/data/online_retail/online_retail.csv.gz' WITH (FORMAT csv, HEADER true)
\endif

-- Sales only, as in test/demo.sql: no cancellations (invoice 'C...'), no
-- returns, no postage or fees.
CREATE VIEW retail_sample_sales AS
	SELECT invoice_no, stock_code, quantity, unit_price, customer_id
	FROM retail_sample_raw
	WHERE invoice_no NOT LIKE 'C%' AND quantity > 0
	  AND stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE');
CREATE VIEW retail_full_sales AS
	SELECT invoice_no, stock_code, quantity, unit_price, customer_id
	FROM retail_full_raw
	WHERE invoice_no NOT LIKE 'C%' AND quantity > 0
	  AND stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE');

VACUUM ANALYZE retail_sample_raw;
VACUUM ANALYZE retail_full_raw;

SELECT 'retail_sample_raw' AS "table", count(*) AS raw_rows FROM retail_sample_raw
UNION ALL
SELECT 'retail_full_raw', count(*) FROM retail_full_raw;
