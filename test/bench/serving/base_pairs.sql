\set r random(1, :n_items)
SELECT * FROM bundlerec_shop.pairs WHERE item = (SELECT item FROM serving_bench.bench_items WHERE id = :r) ORDER BY rank LIMIT 10;
