-- quality_bench: tune and test the models on one data set.  psql variables:
--   ds      data set loaded by quality_load.sql
--   models  comma-separated models to run (popularity,als,ease,item_knn)
-- 1. every configuration of quality_bench.grid on the validation phase
--    (one statement each, so a failure names its configuration);
-- 2. per model, the configuration with the best validation NDCG@10 (the
--    first in grid order among equals);
-- 3. that configuration retrained on the full training period and scored
--    on the test period.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET search_path = quality_bench, public;

CREATE TABLE IF NOT EXISTS quality_bench.chosen (ds text, model text, params jsonb, val_ndcg float8, val_recall float8,
                                                 PRIMARY KEY (ds, model));

SELECT format('SELECT %L AS ds, %L AS model, %L AS params, quality_bench.run(%1$L, ''val'', %2$L, %3$L) AS result_seq',
              :'ds', model, params)
FROM quality_bench.grid
WHERE model = ANY (string_to_array(:'models', ','))
ORDER BY array_position(string_to_array(:'models', ','), model), ord \gexec

INSERT INTO quality_bench.chosen
SELECT DISTINCT ON (r.model) r.ds, r.model, r.params, r.ndcg, r.recall
FROM quality_bench.results r JOIN quality_bench.grid g ON g.model = r.model AND g.params = r.params
WHERE r.ds = :'ds' AND r.phase = 'val' AND r.model = ANY (string_to_array(:'models', ','))
ORDER BY r.model, r.ndcg DESC, g.ord;

SELECT format('SELECT %L AS ds, %L AS model, %L AS params, quality_bench.run(%1$L, ''test'', %2$L, %3$L) AS result_seq',
              ds, model, params)
FROM quality_bench.chosen
WHERE ds = :'ds'
ORDER BY array_position(string_to_array(:'models', ','), model) \gexec
