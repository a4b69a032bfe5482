\set r random(1, :n_carts50)
SELECT count(*) FROM bundlerec.complete_cart('shop', (SELECT items FROM serving_bench.bench_carts50 WHERE id = :r), 10);
