\set r random(1, :n_items)
SELECT count(*) FROM bundlerec.frequently_bought_together('shop', (SELECT item FROM serving_bench.bench_items WHERE id = :r), 10);
