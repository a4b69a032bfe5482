-- retail_sales: the UCI Online Retail sales and their products, into the
-- schema first on the search_path, for the benchmarks that \ir it.  psql
-- variable have_full: the full data set at
-- ../shared/data/online_retail/online_retail.csv.gz, else the shipped
-- sample test/data/online_retail_sample.csv (paths from the repository
-- root).
--
-- sales: no 'C' invoices, quantity > 0, no postage or fee codes; category =
-- the last word of the item's first description.  products: every stock
-- code sold, named by its most frequent description (the catalogue a shop
-- holds before a product sells).
CREATE TABLE raw (invoice_no text, stock_code text, description text, quantity integer,
	invoice_date timestamp, unit_price numeric, customer_id integer, country text);
\if :have_full
\copy raw FROM PROGRAM 'zcat ../shared/data/online_retail/online_retail.csv.gz' WITH (FORMAT csv, HEADER true)
\else
\copy raw FROM 'test/data/online_retail_sample.csv' WITH (FORMAT csv, HEADER true)
\endif
CREATE TABLE sales AS
	SELECT r.invoice_no, r.stock_code, r.description, r.quantity, r.invoice_date, r.unit_price,
	       r.customer_id, c.category
	FROM raw r
	LEFT JOIN (SELECT DISTINCT ON (stock_code) stock_code, (regexp_match(description, '(\w+)\s*$'))[1] AS category
	           FROM raw WHERE description <> '' ORDER BY stock_code, invoice_date) c USING (stock_code)
	WHERE r.invoice_no NOT LIKE 'C%' AND r.quantity > 0
	  AND r.stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE');
DROP TABLE raw;
CREATE TABLE products AS
	SELECT DISTINCT ON (stock_code) stock_code, description AS name
	FROM (SELECT stock_code, description, count(*) AS n FROM sales WHERE description <> '' GROUP BY 1, 2) d
	ORDER BY stock_code, n DESC, description;
INSERT INTO products SELECT DISTINCT s.stock_code, NULL FROM sales s
	WHERE NOT EXISTS (SELECT FROM products p WHERE p.stock_code = s.stock_code);
