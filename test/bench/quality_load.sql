-- quality_bench: the data sets, each as a validation and a test phase (see
-- quality_eval.sql for the table layout).  Run from the repository root
-- after quality_eval.sql.  psql variables:
--   ds        'retail' or 'movielens'
--   retail:    test_cut, val_cut   timestamps; train < val_cut / validate on
--              [val_cut, test_cut); train < test_cut / test on >= test_cut
--   movielens: none; quality_bench.sh has loaded u1.base and u1.test into
--              quality_bench.ml_base and quality_bench.ml_test (user, item,
--              rating, timestamp) from ../shared at run time
\set ON_ERROR_STOP on
\encoding UTF8
SET client_min_messages = warning;
SET search_path = quality_bench, public;

\if :{?ds}
\else
\echo 'quality_load.sql: set the psql variable ds'
\quit
\endif

SELECT :'ds' = 'retail' AS is_retail \gset
\if :is_retail
-- The shipped Online Retail sample (order_lines, and the views sales and
-- products we do not use: sales has no invoice_date).  Same cleaning as the
-- sales view, plus a known customer: no cancelled invoices ('C...'),
-- quantity > 0, no postage / fee / manual codes.
\ir ../data/online_retail.sql
CREATE TABLE retail_lines AS
	SELECT customer_id::text AS customer, stock_code AS item, invoice_no, invoice_date
	FROM order_lines
	WHERE invoice_no NOT LIKE 'C%' AND quantity > 0
	  AND stock_code NOT IN ('POST', 'DOT', 'M', 'C2', 'BANK CHARGES', 'PADS', 'CRUK', 'D', 'S', 'AMAZONFEE')
	  AND customer_id IS NOT NULL;

-- Training lines of each phase, as views for bundlerec.interactions():
-- weight = number of distinct orders holding the (customer, item) pair.
CREATE VIEW retail_val_lines AS SELECT * FROM retail_lines WHERE invoice_date < :'val_cut'::timestamp;
CREATE VIEW retail_test_lines AS SELECT * FROM retail_lines WHERE invoice_date < :'test_cut'::timestamp;
CREATE TABLE retail_val_train AS
	SELECT customer, item, weight AS w
	FROM bundlerec.interactions('quality_bench.retail_val_lines', 'customer', 'item', basket => 'invoice_no');
CREATE TABLE retail_test_train AS
	SELECT customer, item, weight AS w
	FROM bundlerec.interactions('quality_bench.retail_test_lines', 'customer', 'item', basket => 'invoice_no');

-- Check bundlerec.interactions() against plain SQL (distinct orders per pair).
SELECT 'interactions() vs count(DISTINCT invoice_no): ' || count(*) || ' pairs differ' AS interactions_check
FROM ((SELECT customer, item, w FROM retail_test_train
       EXCEPT SELECT customer, item, count(DISTINCT invoice_no) FROM retail_test_lines GROUP BY 1, 2)
      UNION ALL
      (SELECT customer, item, count(DISTINCT invoice_no) FROM retail_test_lines GROUP BY 1, 2
       EXCEPT SELECT customer, item, w FROM retail_test_train)) d;

-- Held-out items: bought in the later period and never in training.
CREATE TABLE retail_val_rel AS
	SELECT DISTINCT l.customer, l.item FROM retail_lines l
	WHERE l.invoice_date >= :'val_cut'::timestamp AND l.invoice_date < :'test_cut'::timestamp
	  AND EXISTS (SELECT FROM retail_val_train t WHERE t.customer = l.customer)
	  AND NOT EXISTS (SELECT FROM retail_val_train t WHERE t.customer = l.customer AND t.item = l.item);
CREATE TABLE retail_test_rel AS
	SELECT DISTINCT l.customer, l.item FROM retail_lines l
	WHERE l.invoice_date >= :'test_cut'::timestamp
	  AND EXISTS (SELECT FROM retail_test_train t WHERE t.customer = l.customer)
	  AND NOT EXISTS (SELECT FROM retail_test_train t WHERE t.customer = l.customer AND t.item = l.item);

-- What the cut dates give (printed by quality_bench.sh).
SELECT phase, orders_train, orders_later, round(100.0 * orders_later / (orders_train + orders_later), 1) AS pct_later
FROM (SELECT 'val' AS phase,
             count(DISTINCT invoice_no) FILTER (WHERE invoice_date < :'val_cut'::timestamp) AS orders_train,
             count(DISTINCT invoice_no) FILTER (WHERE invoice_date >= :'val_cut'::timestamp
                                                  AND invoice_date < :'test_cut'::timestamp) AS orders_later
      FROM retail_lines
      UNION ALL
      SELECT 'test',
             count(DISTINCT invoice_no) FILTER (WHERE invoice_date < :'test_cut'::timestamp),
             count(DISTINCT invoice_no) FILTER (WHERE invoice_date >= :'test_cut'::timestamp)
      FROM retail_lines) s;
\else
-- MovieLens-100k, official u1 split; positives are ratings >= 4.
CREATE TABLE movielens_test_train AS
	SELECT DISTINCT u::text AS customer, i::text AS item, 1::float8 AS w FROM ml_base WHERE r >= 4;
CREATE TABLE movielens_test_rel AS
	SELECT DISTINCT u::text AS customer, i::text AS item FROM ml_test t
	WHERE r >= 4
	  AND EXISTS (SELECT FROM movielens_test_train x WHERE x.customer = t.u::text)
	  AND NOT EXISTS (SELECT FROM movielens_test_train x WHERE x.customer = t.u::text AND x.item = t.i::text);

-- Validation carved from u1.base: each user's positives by time (ties by
-- item); the last floor(20%) of them are held out, the rest train.
CREATE TEMP TABLE ml_pos AS
	SELECT u::text AS customer, i::text AS item,
	       row_number() OVER (PARTITION BY u ORDER BY ts, i) AS pos, count(*) OVER (PARTITION BY u) AS n
	FROM ml_base WHERE r >= 4;
CREATE TABLE movielens_val_train AS
	SELECT customer, item, 1::float8 AS w FROM ml_pos WHERE pos <= n - floor(0.2 * n);
CREATE TABLE movielens_val_rel AS
	SELECT customer, item FROM ml_pos p
	WHERE pos > n - floor(0.2 * n)
	  AND EXISTS (SELECT FROM movielens_val_train x WHERE x.customer = p.customer);
SELECT 'u1.base ratings: ' || (SELECT count(*) FROM ml_base) || ', of which >= 4: ' || (SELECT count(*) FROM ml_base WHERE r >= 4)
       || '; u1.test ratings: ' || (SELECT count(*) FROM ml_test) || ', of which >= 4: ' || (SELECT count(*) FROM ml_test WHERE r >= 4)
       AS movielens_counts;
\endif

-- The customers evaluated in each phase, with their training items.
SELECT format('CREATE TABLE %1$I AS
	SELECT t.customer, array_agg(t.item ORDER BY t.item) AS history
	FROM %2$I t WHERE t.customer IN (SELECT customer FROM %3$I) GROUP BY t.customer;
	ALTER TABLE %1$I ADD PRIMARY KEY (customer);
	CREATE INDEX ON %3$I (customer, item);
	ANALYZE %1$I; ANALYZE %2$I; ANALYZE %3$I;',
	:'ds' || '_' || phase || '_users', :'ds' || '_' || phase || '_train', :'ds' || '_' || phase || '_rel')
FROM unnest(ARRAY['val', 'test']) phase \gexec

-- Sizes (printed by quality_bench.sh).
SELECT format($q$SELECT %1$L AS phase,
	(SELECT count(*) FROM %2$I) AS train_pairs,
	(SELECT count(DISTINCT customer) FROM %2$I) AS train_customers,
	(SELECT count(DISTINCT item) FROM %2$I) AS train_items,
	(SELECT count(*) FROM %3$I) AS eval_customers,
	(SELECT count(*) FROM %4$I) AS relevant_pairs,
	(SELECT round(avg(c), 1) FROM (SELECT count(*) AS c FROM %4$I GROUP BY customer) s) AS mean_relevant$q$,
	phase, :'ds' || '_' || phase || '_train', :'ds' || '_' || phase || '_users', :'ds' || '_' || phase || '_rel')
FROM unnest(ARRAY['val', 'test']) phase \gexec
