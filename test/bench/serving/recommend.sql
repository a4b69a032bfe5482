\set r random(1, :n_customers)
SELECT count(*) FROM bundlerec.recommend_items('shop', (SELECT customer FROM serving_bench.bench_customers WHERE id = :r), 10);
