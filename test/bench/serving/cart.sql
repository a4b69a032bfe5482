\set r random(1, :n_carts)
SELECT count(*) FROM bundlerec.complete_cart('shop', (SELECT items FROM serving_bench.bench_carts WHERE id = :r), 10);
