-- itemsets_bruteforce.sql: frequent itemsets and association rules of the
-- shipped Online Retail sample against a brute-force SQL enumeration of every
-- subset of every basket (over the items that pass the count threshold), and
-- rule measures recomputed from those counts.  Nothing expected here is
-- computed by bundlerec.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(14);

CREATE SCHEMA tap_itemsets;
SET LOCAL search_path = tap_itemsets, public;
SET LOCAL jit = off;
SET LOCAL work_mem = '128MB';

\ir ../data/online_retail.sql

-- Every itemset of up to max_size items held by at least min_count baskets,
-- level by level as in Apriori: candidates of size k join two frequent
-- itemsets of size k - 1 sharing their first k - 2 items, and each candidate
-- is counted by array containment over all baskets.
CREATE TABLE basket_arrays AS
	SELECT invoice_no AS b, array_agg(DISTINCT stock_code) AS its FROM sales GROUP BY invoice_no;
CREATE INDEX ON basket_arrays USING gin (its);
ANALYZE basket_arrays;

CREATE FUNCTION brute_itemsets(min_count bigint, max_size int)
RETURNS TABLE (items text[], size int, count bigint) LANGUAGE plpgsql AS $$
DECLARE
	k int := 1;
BEGIN
	CREATE TEMP TABLE lvl ON COMMIT DROP AS
		SELECT ARRAY[i] AS items, count(*) AS count
		FROM basket_arrays, unnest(its) i GROUP BY i HAVING count(*) >= min_count;
	CREATE TEMP TABLE found ON COMMIT DROP AS SELECT * FROM lvl;
	WHILE k < max_size AND EXISTS (SELECT 1 FROM lvl) LOOP
		k := k + 1;
		CREATE TEMP TABLE nxt ON COMMIT DROP AS
			SELECT c.items, (SELECT count(*) FROM basket_arrays WHERE its @> c.items) AS count
			FROM (SELECT DISTINCT x.items || y.items[k - 1] AS items
			      FROM lvl x JOIN lvl y
			        ON x.items[1:k - 2] = y.items[1:k - 2] AND x.items[k - 1] < y.items[k - 1]) c;
		DELETE FROM nxt WHERE nxt.count < min_count;
		INSERT INTO found SELECT * FROM nxt;
		DROP TABLE lvl;
		ALTER TABLE nxt RENAME TO lvl;
	END LOOP;
	RETURN QUERY SELECT f.items, cardinality(f.items), f.count FROM found f;
	DROP TABLE found;
	DROP TABLE lvl;
END $$;

CREATE TABLE n AS SELECT count(DISTINCT invoice_no)::float8 AS n FROM sales;

-- support 0.015 up to 5 items, and 0.02 up to 3 items
CREATE TABLE want_02 AS SELECT * FROM brute_itemsets((SELECT ceil(0.015 * n)::bigint FROM n), 5);
CREATE TABLE have_02 AS SELECT * FROM bundlerec.frequent_itemsets('sales', 'invoice_no', 'stock_code', 0.015, max_size => 5);
CREATE TABLE want_03 AS SELECT * FROM brute_itemsets((SELECT ceil(0.02 * n)::bigint FROM n), 3);
CREATE TABLE have_03 AS SELECT * FROM bundlerec.frequent_itemsets('sales', 'invoice_no', 'stock_code', 0.02, max_size => 3);

SELECT cmp_ok((SELECT count(*) FROM want_02 WHERE size = 3), '>', 20::bigint,
	'the sample has more than 20 frequent 3-itemsets at support 0.015');
SELECT cmp_ok((SELECT count(*) FROM want_02 WHERE size >= 4), '>', 0::bigint,
	'and frequent itemsets of 4 or more items');
SELECT set_eq('SELECT items, size, count FROM have_02', 'SELECT * FROM want_02',
	'support 0.015, up to 5 items: same itemsets and counts as Apriori in SQL');
SELECT set_eq('SELECT items, size, count FROM have_03', 'SELECT * FROM want_03',
	'support 0.02, up to 3 items: same itemsets and counts as Apriori in SQL');
SELECT is((SELECT count(*) FROM have_02 h, n WHERE h.support <> h.count / n.n), 0::bigint,
	'support is count / number of baskets');
SELECT is((SELECT count(*) FROM have_02 WHERE size <> cardinality(items)), 0::bigint,
	'size is the number of items');

-- the same from the basketset aggregate, under a parallel plan
CREATE TABLE baskets AS SELECT invoice_no, array_agg(stock_code) AS items FROM sales GROUP BY invoice_no;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SELECT set_eq(
	'SELECT * FROM bundlerec.itemsets((SELECT bundlerec.basket_set(items) FROM baskets), 0.015, 5)',
	'SELECT * FROM have_02',
	'basket_set + itemsets gives the same itemsets');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- rules X => y from the enumerated itemsets, measures by formula
CREATE FUNCTION brute_rules(want regclass, min_conf float8)
RETURNS TABLE (antecedent text[], consequent text, size int, count bigint,
	support float8, confidence float8, coverage float8, lift float8,
	leverage float8, conviction float8) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
	WITH r AS (
		SELECT array(SELECT x FROM unnest(w.items) x WHERE x <> y ORDER BY x) AS ante, y, w.count, w.size
		FROM %s w, unnest(w.items) y),
	m AS (
		SELECT r.ante, r.y, r.size, r.count,
		       coalesce(x.count::float8, n.n) AS cx, yy.count::float8 AS cy, n.n
		FROM r CROSS JOIN n
		LEFT JOIN %s x ON x.items = r.ante
		JOIN %s yy ON yy.items = ARRAY[r.y])
	SELECT ante, y, size, count, count / n, count / cx, cx / n, (count / cx) / (cy / n),
	       count / n - (cx / n) * (cy / n),
	       CASE WHEN count = cx THEN 'Infinity'::float8 ELSE (1 - cy / n) / (1 - count / cx) END
	FROM m WHERE count / cx >= $1$q$, want, want, want) USING min_conf;
END $$;

CREATE TABLE want_rules AS SELECT * FROM brute_rules('want_02', 0.5);
CREATE TABLE have_rules AS
	SELECT * FROM bundlerec.association_rules('sales', 'invoice_no', 'stock_code', 0.015, 0.5, max_size => 5);

SELECT cmp_ok((SELECT count(*) FROM want_rules), '>', 20::bigint, 'more than 20 rules at confidence 0.5');
SELECT set_eq('SELECT antecedent, consequent, size, count FROM have_rules',
	'SELECT antecedent, consequent, size, count FROM want_rules',
	'support 0.015, confidence 0.5: same rules and counts');

CREATE TABLE joined AS SELECT h.*, w.support AS w_support, w.confidence AS w_confidence,
	w.coverage AS w_coverage, w.lift AS w_lift, w.leverage AS w_leverage, w.conviction AS w_conviction
	FROM have_rules h JOIN want_rules w USING (antecedent, consequent);
SELECT is((SELECT count(*) FROM joined WHERE abs(support - w_support) > 1e-12 * w_support
	OR abs(confidence - w_confidence) > 1e-12 * w_confidence
	OR abs(coverage - w_coverage) > 1e-12 * w_coverage), 0::bigint,
	'support, confidence and coverage within 1e-12');
SELECT is((SELECT count(*) FROM joined WHERE abs(lift - w_lift) > 1e-12 * w_lift), 0::bigint,
	'lift within 1e-12');
SELECT is((SELECT count(*) FROM joined WHERE abs(leverage - w_leverage) > 1e-12 * greatest(abs(w_leverage), 1e-3)), 0::bigint,
	'leverage within 1e-12');
SELECT is((SELECT count(*) FROM joined WHERE NOT (conviction = w_conviction
	OR abs(conviction - w_conviction) <= 1e-12 * w_conviction)), 0::bigint,
	'conviction within 1e-12, Infinity when confidence is 1');

-- the empty antecedent is included exactly when an item's support passes the confidence
SELECT set_eq(
	$$SELECT consequent FROM bundlerec.association_rules('sales', 'invoice_no', 'stock_code', 0.015, 0.05, max_size => 5) WHERE antecedent = '{}'$$,
	$$SELECT items[1] FROM want_02 WHERE size = 1 AND count / (SELECT n FROM n) >= 0.05$$,
	'rules {} => y are the items with support >= min_confidence');

SELECT * FROM finish();
ROLLBACK;
