-- ease_sparse: dense ease() against sparse_ease() on held-out carts.
-- Protocol: baskets (invoice) x items of the sales before :cut train; every
-- order from :cut on with >= 2 items known in training hides one item (the
-- one of smallest md5(invoice || item)); a cart's score of item j is
-- sum over its other items i of B_ij, cart items excluded; HitRate@10 = share
-- of carts whose hidden item is in the 10 best.  lambda 100 (the default)
-- for every engine; top_k 100 per item.  Timings are one run each, each
-- engine's seconds and HitRate@10 beside those of dense signed EASE (the
-- same model with every item as regressor) in the same run.
\set ON_ERROR_STOP 1
\ir retail_sales.sql
CREATE TABLE train AS SELECT DISTINCT invoice_no, stock_code FROM sales WHERE invoice_date < :'cut';
CREATE TABLE known AS SELECT DISTINCT stock_code FROM train;
CREATE TABLE test_lines AS
	SELECT DISTINCT s.invoice_no, s.stock_code FROM sales s JOIN known USING (stock_code)
	WHERE s.invoice_date >= :'cut';
CREATE TABLE carts AS
	SELECT invoice_no, (array_agg(stock_code ORDER BY md5(invoice_no || stock_code)))[1] AS hidden,
	       (array_agg(stock_code ORDER BY md5(invoice_no || stock_code)))[2:] AS cart
	FROM test_lines GROUP BY invoice_no HAVING count(*) >= 2;
SELECT count(*) AS train_lines, (SELECT count(*) FROM known) AS items, (SELECT count(*) FROM carts) AS carts FROM train;

CREATE FUNCTION hit_rate(w regclass) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE r numeric;
BEGIN
	EXECUTE format($q$
		SELECT round(avg((c.hidden IN (SELECT t.neighbor FROM (
			SELECT n.neighbor, sum(n.score) AS s FROM unnest(c.cart) ci JOIN %s n ON n.item = ci
			WHERE n.neighbor <> ALL (c.cart) GROUP BY n.neighbor ORDER BY s DESC, n.neighbor LIMIT 10) t))::int), 4)
		FROM carts c$q$, w) INTO r;
	RETURN r;
END $$;

CREATE TABLE results (engine text, seconds numeric, rows bigint, hit_rate numeric);
\timing off
SELECT clock_timestamp() AS t0 \gset
CREATE TABLE w_dense AS SELECT * FROM bundlerec.ease('train', 'invoice_no', 'stock_code');
CREATE INDEX ON w_dense (item);
INSERT INTO results SELECT 'ease() dense, positive', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 1),
	(SELECT count(*) FROM w_dense), hit_rate('w_dense');
SELECT clock_timestamp() AS t0 \gset
CREATE TABLE w_signed AS SELECT * FROM bundlerec._ease_dense('train', 'invoice_no', 'stock_code', NULL, 100, 100, 1, NULL, true);
CREATE INDEX ON w_signed (item);
INSERT INTO results SELECT 'ease dense, signed', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 1),
	(SELECT count(*) FROM w_signed), hit_rate('w_signed');
\set hood 50
\ir ease_sparse_run.sql
\set hood 100
\ir ease_sparse_run.sql
\set hood 200
\ir ease_sparse_run.sql
\set hood 500
\ir ease_sparse_run.sql
SELECT r.*, round(r.hit_rate - d.hit_rate, 4) AS vs_dense, round(r.seconds / nullif(d.seconds, 0), 2) AS time_ratio
FROM results r, results d WHERE d.engine = 'ease dense, signed' ORDER BY r.engine;
