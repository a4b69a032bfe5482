-- one sparse_ease() run of ease_sparse.sql at neighbourhood :hood
SELECT clock_timestamp() AS t0 \gset
DROP TABLE IF EXISTS w_sparse;
CREATE TABLE w_sparse AS SELECT * FROM bundlerec.sparse_ease('train', 'invoice_no', 'stock_code', neighborhood => :hood);
CREATE INDEX ON w_sparse (item);
INSERT INTO results SELECT 'sparse_ease neighborhood ' || lpad(:'hood', 4), round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 1),
	(SELECT count(*) FROM w_sparse), hit_rate('w_sparse');
