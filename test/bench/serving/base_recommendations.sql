\set r random(1, :n_customers)
SELECT * FROM bundlerec_shop.recommendations WHERE customer = (SELECT customer FROM serving_bench.bench_customers WHERE id = :r) ORDER BY rank LIMIT 10;
