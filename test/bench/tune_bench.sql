-- tune_bench: psql variables have_full and cut (see tune_bench.sh).
-- Protocol:
--   Data: the sales of test/bench/retail_sales.sql.  Two models with the
--   default options (customer, ordered_at, quantity, price, category,
--   item_name): one over the sales before :cut (what a shop would have
--   had at the cut), one over all sales (for evaluate).
--   1. tune() on the first: validation = its latest 10% of orders, default
--      grid (bundlerec.tune_defaults()); every value tried is printed with
--      its validation score.  Nothing after :cut is seen.
--   2. evaluate(model over all sales, :cut) with the default options, then
--      with the chosen ones: complete the cart (HitRate@10 on at most
--      eval_max_baskets held-out carts) and next period (NDCG@10), beside
--      the popularity and repeat baselines.
\set ON_ERROR_STOP on
\encoding UTF8
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS tune_bench CASCADE;
CREATE SCHEMA tune_bench;
SET search_path = tune_bench, public;

\ir retail_sales.sql
CREATE TABLE train AS SELECT * FROM sales WHERE invoice_date < :'cut';
ANALYZE train;
ANALYZE sales;

\o /dev/null
SELECT bundlerec.drop_model(name) FROM bundlerec.models WHERE name IN ('tune_train', 'tune_all');
SELECT bundlerec.create_model(m, s, 'invoice_no', 'stock_code',
	customer => 'customer_id', ordered_at => 'invoice_date', quantity => 'quantity',
	price => 'unit_price', category => 'category', item_name => 'description')
FROM (VALUES ('tune_train', 'tune_bench.train'::regclass), ('tune_all', 'tune_bench.sales'::regclass)) v(m, s);
\o

\echo 1. tune() on the orders before the cut (validation: the latest 10% of them)
CREATE TABLE tried AS SELECT *, clock_timestamp() AS at FROM bundlerec.tune('tune_train');
SELECT option, value, task, metric, round(score::numeric, 4) AS score, chosen FROM tried;
SELECT metrics ->> 'validation_from' AS validation_from, round(seconds::numeric) AS tune_seconds,
       metrics -> 'chosen' AS chosen
FROM bundlerec.refresh_history WHERE model = 'tune_train' AND kind = 'tune' ORDER BY id DESC LIMIT 1;

\echo 2. evaluate() on the orders from the cut: default options, then the chosen ones
CREATE TABLE judged AS SELECT 'default' AS options, e.* FROM bundlerec.evaluate('tune_all', :'cut') e;
UPDATE bundlerec.models SET options = options || (SELECT jsonb_object_agg(option, value) FROM tried WHERE chosen)
WHERE name = 'tune_all';
INSERT INTO judged SELECT 'tuned', e.* FROM bundlerec.evaluate('tune_all', :'cut') e;
SELECT task, method, options, cases, round(hit_rate::numeric, 4) AS hit_rate, round(ndcg::numeric, 4) AS ndcg
FROM judged WHERE method = 'model' OR options = 'default'
ORDER BY task, method = 'model' DESC, method, options;
SELECT task, round((max(hit_rate) FILTER (WHERE options = 'tuned') / max(hit_rate) FILTER (WHERE options = 'default'))::numeric, 3) AS hit_rate_ratio,
       round((max(ndcg) FILTER (WHERE options = 'tuned') / max(ndcg) FILTER (WHERE options = 'default'))::numeric, 3) AS ndcg_ratio
FROM judged WHERE method = 'model' GROUP BY task ORDER BY task;
