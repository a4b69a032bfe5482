-- The shipped Online Retail sample as order lines, in the current schema:
-- table order_lines (every line, as in the CSV), view sales (sales only: no
-- cancelled invoices 'C...', no returns, no postage or fee lines) and view
-- products (one description per stock code).  Include it with \ir from a
-- script run at the repository root (the \copy path is relative to it).
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
\copy order_lines FROM 'test/data/online_retail_sample.csv' WITH (FORMAT csv, HEADER true)

CREATE VIEW sales AS
	SELECT invoice_no, stock_code, quantity, unit_price, customer_id
	FROM order_lines
	WHERE invoice_no NOT LIKE 'C%' AND quantity > 0
	  AND stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE');

CREATE VIEW products AS
	SELECT DISTINCT ON (stock_code) stock_code, description
	FROM order_lines WHERE description <> ''
	ORDER BY stock_code, invoice_date;
