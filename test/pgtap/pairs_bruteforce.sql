-- pairs_bruteforce.sql: every pair bundlerec returns for the shipped sample
-- of UCI Online Retail, checked against plain SQL written independently of
-- the C code: a self-join of distinct (basket, item) lines for the counts,
-- closed-form float expressions for the measures and a log-factorial table
-- for Fisher's exact test.  Nothing expected here is computed by bundlerec.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(35);

CREATE SCHEMA tap_bruteforce;
SET LOCAL search_path = tap_bruteforce, public;
-- Planner settings for speed only: million-row hash joins in memory.
SET LOCAL jit = off;
SET LOCAL work_mem = '128MB';
SET LOCAL enable_mergejoin = off;

------------------------------------------------------------------------------
-- The sample and its cleaned sales view (as in test/demo.sql)
------------------------------------------------------------------------------
\ir ../data/online_retail.sql

-- A float is "close" when it equals the expected value (this covers
-- Infinity) or is finite and within rel of it relative to scale.  NULL on
-- either side is never close.
CREATE FUNCTION close_to(have float8, want float8, rel float8, scale float8)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN have IS NULL OR want IS NULL THEN false
		WHEN have = want THEN true
		WHEN have IN ('Infinity', '-Infinity', 'NaN')
		  OR want IN ('Infinity', '-Infinity', 'NaN') THEN false
		ELSE abs(have - want) <= rel * scale
	END
$$;

------------------------------------------------------------------------------
-- Brute force: distinct lines, self-join, GROUP BY
------------------------------------------------------------------------------
-- Items are numbered in the order of the column's collation (ORDER BY item),
-- so "ia < ib" below is exactly "item_a < item_b" under that collation;
-- joining on small integers keeps the million-pair self-join fast.
CREATE TABLE lines AS SELECT DISTINCT invoice_no AS basket, stock_code AS item FROM sales;
SELECT count(DISTINCT basket) AS n FROM lines \gset
CREATE TABLE item_id AS
	SELECT item, cnt, (row_number() OVER (ORDER BY item))::int AS id
	FROM (SELECT item, count(*) AS cnt FROM lines GROUP BY item) s;
CREATE TABLE lines_id AS
	SELECT dense_rank() OVER (ORDER BY l.basket) AS b, i.id AS i
	FROM lines l JOIN item_id i USING (item);
ANALYZE lines_id;

-- bf: one row per co-occurring pair (ia < ib) with its counts.
CREATE TABLE bf AS
	SELECT p.ia, p.ib, p.count_ab, x.cnt AS count_a, y.cnt AS count_b, :n::bigint AS n
	FROM (SELECT a.i AS ia, b.i AS ib, count(*) AS count_ab
		  FROM lines_id a JOIN lines_id b ON a.b = b.b AND a.i < b.i
		  GROUP BY a.i, b.i) p
	JOIN item_id x ON x.id = p.ia JOIN item_id y ON y.id = p.ib;

------------------------------------------------------------------------------
-- Fisher's one-sided p: P(X >= ab), X hypergeometric (a draws from n, b
-- marked), summed term by term from a table of ln(i!) built in numeric.
------------------------------------------------------------------------------
CREATE TABLE fisher_case (n bigint, a bigint, b bigint, ab bigint, known float8);
-- Textbook values that validate the oracle itself.
INSERT INTO fisher_case VALUES
	(4, 2, 2, 2, 1.0 / 6),        -- C(2,2)C(2,0)/C(4,2)
	(8, 4, 4, 3, 17.0 / 70),      -- lady tasting tea: (16 + 1) / 70
	(8, 4, 4, 2, 53.0 / 70),      -- 1 - (1 + 16) / 70
	(8, 4, 4, 4, 1.0 / 70),
	(10, 5, 5, 0, 1.0),
	(10, 7, 6, 3, 1.0),           -- ab = a + b - n: the whole support
	(10, 7, 6, 4, 1.0 - 1.0 / 6); -- 1 - C(6,3)C(4,4)/C(10,7) = 1 - 20/120
INSERT INTO fisher_case
	SELECT DISTINCT n, least(count_a, count_b), greatest(count_a, count_b), count_ab, NULL::float8
	FROM bf;

CREATE TABLE fisher_expected AS
WITH lf AS (
	SELECT array_agg(l ORDER BY i) AS lf
	FROM (SELECT i, (sum(ln(greatest(i, 1)::numeric(40, 30))) OVER (ORDER BY i))::float8 AS l
		  FROM generate_series(0, (SELECT max(n) FROM fisher_case)) i) s
), term AS MATERIALIZED (
	-- lf[i + 1] = ln(i!);  ln pmf(k) = ln C(b,k) + ln C(n-b,a-k) - ln C(n,a)
	SELECT f.n, f.a, f.b, f.ab,
		lf[f.b + 1] - lf[k + 1] - lf[f.b - k + 1]
		+ lf[f.n - f.b + 1] - lf[f.a - k + 1] - lf[f.n - f.b - f.a + k + 1]
		- lf[f.n + 1] + lf[f.a + 1] + lf[f.n - f.a + 1] AS lp
	FROM fisher_case f, lf,
		generate_series(greatest(f.ab, f.a + f.b - f.n, 0), least(f.a, f.b)) k
), m AS (
	SELECT *, max(lp) OVER (PARTITION BY n, a, b, ab) AS mx FROM term
)
SELECT n, a, b, ab, exp(mx + ln(sum(exp(greatest(lp - mx, -700))))) AS p
FROM m GROUP BY n, a, b, ab, mx;

SELECT is(
	(SELECT count(*) FROM fisher_case c JOIN fisher_expected e USING (n, a, b, ab)
	 WHERE c.known IS NOT NULL AND close_to(e.p, c.known, 1e-13, c.known)),
	7::bigint,
	'the brute-force Fisher oracle reproduces 7 textbook hypergeometric tails');

------------------------------------------------------------------------------
-- bundlerec.item_pairs on the same view, text keys
------------------------------------------------------------------------------
CREATE TABLE got AS
	SELECT * FROM bundlerec.item_pairs('sales', 'invoice_no', 'stock_code', min_count => 1)
	WITH ORDINALITY AS t(item_a, item_b, count_ab, count_a, count_b, n_baskets, support,
		confidence_ab, confidence_ba, lift, jaccard, cosine, leverage, conviction,
		conviction_ba, fisher_p, ord);

-- Expected measures in closed form over exact integers (one rounding where
-- possible), deliberately not the expressions measures.c uses; one pass
-- counts the pairs that disagree on each column.
ANALYZE got;
ANALYZE bf;
ANALYZE fisher_expected;
ANALYZE item_id;
CREATE TABLE chk AS
WITH g AS (
	SELECT g.*, x.id AS ia, y.id AS ib
	FROM got g LEFT JOIN item_id x ON x.item = g.item_a LEFT JOIN item_id y ON y.item = g.item_b
), e0 AS (
	SELECT bf.*,
		count_ab::float8 / n AS support,
		count_ab::float8 / count_a AS confidence_ab,
		count_ab::float8 / count_b AS confidence_ba,
		(count_ab * n)::float8 / (count_a * count_b) AS lift,
		count_ab::float8 / (count_a + count_b - count_ab) AS jaccard,
		count_ab / sqrt((count_a * count_b)::float8) AS cosine,
		(count_ab * n - count_a * count_b)::float8 / (n * n) AS leverage,
		CASE WHEN count_ab = count_a THEN 'Infinity'::float8
			ELSE (count_a * (n - count_b))::float8 / (n * (count_a - count_ab)) END AS conviction,
		CASE WHEN count_ab = count_b THEN 'Infinity'::float8
			ELSE (count_b * (n - count_a))::float8 / (n * (count_b - count_ab)) END AS conviction_ba
	FROM bf
), e AS (
	SELECT e0.*, f.p AS fisher_p
	FROM e0 LEFT JOIN fisher_expected f
		ON f.n = e0.n AND f.a = least(e0.count_a, e0.count_b)
		AND f.b = greatest(e0.count_a, e0.count_b) AND f.ab = e0.count_ab
)
SELECT
	count(*) FILTER (WHERE g.ord IS NULL) AS missing,
	count(*) FILTER (WHERE e.ia IS NULL) AS extra,
	count(*) FILTER (WHERE NOT (g.item_a < g.item_b)) AS misordered,
	count(*) FILTER (WHERE g.count_ab IS DISTINCT FROM e.count_ab) AS bad_count_ab,
	count(*) FILTER (WHERE g.count_a IS DISTINCT FROM e.count_a) AS bad_count_a,
	count(*) FILTER (WHERE g.count_b IS DISTINCT FROM e.count_b) AS bad_count_b,
	count(*) FILTER (WHERE g.n_baskets IS DISTINCT FROM e.n) AS bad_n,
	count(*) FILTER (WHERE NOT close_to(g.support, e.support, 1e-12, abs(e.support))) AS bad_support,
	count(*) FILTER (WHERE NOT close_to(g.confidence_ab, e.confidence_ab, 1e-12, abs(e.confidence_ab))) AS bad_confidence_ab,
	count(*) FILTER (WHERE NOT close_to(g.confidence_ba, e.confidence_ba, 1e-12, abs(e.confidence_ba))) AS bad_confidence_ba,
	count(*) FILTER (WHERE NOT close_to(g.lift, e.lift, 1e-12, abs(e.lift))) AS bad_lift,
	count(*) FILTER (WHERE NOT close_to(g.jaccard, e.jaccard, 1e-12, abs(e.jaccard))) AS bad_jaccard,
	count(*) FILTER (WHERE NOT close_to(g.cosine, e.cosine, 1e-12, abs(e.cosine))) AS bad_cosine,
	-- leverage = ab/n - (a/n)(b/n) cancels: 1e-12 of its larger term
	count(*) FILTER (WHERE NOT close_to(g.leverage, e.leverage, 1e-12, greatest(abs(e.leverage), e.support))) AS bad_leverage,
	count(*) FILTER (WHERE NOT close_to(g.conviction, e.conviction, 1e-12, abs(e.conviction))) AS bad_conviction,
	count(*) FILTER (WHERE NOT close_to(g.conviction_ba, e.conviction_ba, 1e-12, abs(e.conviction_ba))) AS bad_conviction_ba,
	count(*) FILTER (WHERE (g.conviction = 'Infinity') IS DISTINCT FROM (e.count_ab = e.count_a)
					   OR (g.conviction_ba = 'Infinity') IS DISTINCT FROM (e.count_ab = e.count_b)) AS bad_infinity,
	count(*) FILTER (WHERE NOT close_to(g.fisher_p, e.fisher_p, 1e-9, e.fisher_p)) AS bad_fisher,
	count(*) FILTER (WHERE NOT (g.fisher_p > 0 AND g.fisher_p <= 1)) AS bad_fisher_range,
	count(g.ord) AS got_rows,
	count(e.ia) AS bf_rows,
	ARRAY[min(g.n_baskets), max(g.n_baskets)] AS n_range,
	count(*) FILTER (WHERE g.conviction = 'Infinity') AS infinite,
	min(g.fisher_p) AS min_fisher
FROM g FULL JOIN e ON e.ia = g.ia AND e.ib = g.ib;

SELECT cmp_ok(bf_rows, '>', 1000000::bigint,
	'the brute force finds over a million pairs in the sample (the fixture is not trivial)') FROM chk;
SELECT is(got_rows, bf_rows, 'item_pairs returns as many pairs as the brute-force self-join') FROM chk;
SELECT is(missing, 0::bigint, 'every brute-force pair is returned by item_pairs') FROM chk;
SELECT is(extra, 0::bigint,
	'item_pairs returns no pair the brute force lacks (same orientation item_a < item_b)') FROM chk;
SELECT is(misordered, 0::bigint, 'item_a < item_b under the column collation in every row') FROM chk;
SELECT is(bad_count_ab, 0::bigint, 'count_ab equals the brute-force co-occurrence count for every pair') FROM chk;
SELECT is(bad_count_a, 0::bigint, 'count_a equals the number of baskets holding item_a for every pair') FROM chk;
SELECT is(bad_count_b, 0::bigint, 'count_b equals the number of baskets holding item_b for every pair') FROM chk;
SELECT is(bad_n, 0::bigint, 'n_baskets equals count(DISTINCT invoice_no) of the view in every row') FROM chk;
SELECT is(n_range, ARRAY[1009, 1009]::bigint[],
	'n_baskets is 1009 in every row, including the invoices with a single product') FROM chk;
SELECT is(bad_support, 0::bigint, 'support = count_ab/n within 1e-12 relative for every pair') FROM chk;
SELECT is(bad_confidence_ab, 0::bigint,
	'confidence_ab = count_ab/count_a within 1e-12 relative for every pair') FROM chk;
SELECT is(bad_confidence_ba, 0::bigint,
	'confidence_ba = count_ab/count_b within 1e-12 relative for every pair') FROM chk;
SELECT is(bad_lift, 0::bigint,
	'lift = count_ab*n/(count_a*count_b) within 1e-12 relative for every pair') FROM chk;
SELECT is(bad_jaccard, 0::bigint,
	'jaccard = count_ab/(count_a+count_b-count_ab) within 1e-12 relative for every pair') FROM chk;
SELECT is(bad_cosine, 0::bigint,
	'cosine = count_ab/sqrt(count_a*count_b) within 1e-12 relative for every pair') FROM chk;
SELECT is(bad_leverage, 0::bigint,
	'leverage = (count_ab*n - count_a*count_b)/n^2 within 1e-12 of its scale for every pair') FROM chk;
SELECT is(bad_conviction, 0::bigint,
	'conviction = count_a(n-count_b)/(n(count_a-count_ab)) within 1e-12 relative, Infinity exactly') FROM chk;
SELECT is(bad_conviction_ba, 0::bigint,
	'conviction_ba = count_b(n-count_a)/(n(count_b-count_ab)) within 1e-12 relative, Infinity exactly') FROM chk;
SELECT is(bad_infinity, 0::bigint,
	'conviction is Infinity exactly when confidence is 1, in both directions') FROM chk;
SELECT cmp_ok(infinite, '>', 0::bigint,
	'the sample has pairs with infinite conviction (the Infinity branch is exercised)') FROM chk;
SELECT is(bad_fisher, 0::bigint,
	'fisher_p = hypergeometric P(X >= count_ab) within 1e-9 relative for every pair') FROM chk;
SELECT cmp_ok(min_fisher, '<', 1e-40::float8,
	'the sample reaches Fisher p-values below 1e-40 (deep upper tail exercised)') FROM chk;
SELECT is(bad_fisher_range, 0::bigint, 'every fisher_p lies in (0, 1]') FROM chk;

------------------------------------------------------------------------------
-- Integer keys: item_a < item_b is numeric order (9 < 10), not text order
------------------------------------------------------------------------------
-- Codes renumbered in a scrambled order so that integer order, text order
-- of the numbers and order of the codes all disagree.  The invoices of at
-- most 25 products (761 of 1009) keep this part quick.
CREATE TABLE code_id AS
	SELECT item, (row_number() OVER (ORDER BY md5(item), item))::int AS code FROM item_id;
CREATE TABLE sales_int AS
	SELECT s.invoice_no::int AS invoice, c.code AS item
	FROM sales s JOIN code_id c ON c.item = s.stock_code
	WHERE s.invoice_no IN (SELECT basket FROM lines GROUP BY basket HAVING count(*) <= 25);
CREATE TABLE lines_int AS SELECT DISTINCT invoice, item FROM sales_int;
SELECT count(DISTINCT invoice) AS n_int FROM lines_int \gset
CREATE TABLE bf_int AS
	SELECT p.*, x.cnt AS count_a, y.cnt AS count_b
	FROM (SELECT a.item AS item_a, b.item AS item_b, count(*) AS count_ab
		  FROM lines_int a JOIN lines_int b ON a.invoice = b.invoice AND a.item < b.item
		  GROUP BY a.item, b.item) p
	JOIN (SELECT item, count(*) AS cnt FROM lines_int GROUP BY item) x ON x.item = p.item_a
	JOIN (SELECT item, count(*) AS cnt FROM lines_int GROUP BY item) y ON y.item = p.item_b;

CREATE TABLE chk_int AS
SELECT
	count(*) FILTER (WHERE g.item_a IS NULL OR e.item_a IS NULL
		OR (g.count_ab, g.count_a, g.count_b, g.n_baskets) IS DISTINCT FROM
		   (e.count_ab, e.count_a, e.count_b, :n_int::bigint)
		OR NOT close_to(g.confidence_ab, e.count_ab::float8 / e.count_a, 1e-12,
						e.count_ab::float8 / e.count_a)) AS bad,
	count(*) FILTER (WHERE NOT (g.item_a::int < g.item_b::int)) AS misordered,
	count(*) FILTER (WHERE g.item_a > g.item_b) AS text_disorder,
	count(e.item_a) AS expected_pairs,
	array_agg(format('%s-%s:%s', g.item_a, g.item_b, g.count_ab) ORDER BY g.ord)
		FILTER (WHERE length(g.item_a) = 1 AND length(g.item_b) > 1) AS few
FROM bundlerec.item_pairs('sales_int', 'invoice', 'item') WITH ORDINALITY AS g(item_a, item_b,
	count_ab, count_a, count_b, n_baskets, support, confidence_ab, confidence_ba, lift, jaccard,
	cosine, leverage, conviction, conviction_ba, fisher_p, ord)
FULL JOIN bf_int e ON e.item_a = g.item_a::int AND e.item_b = g.item_b::int;

SELECT cmp_ok(expected_pairs, '>', 30000::bigint,
	'integer keys: the brute force finds over 30000 pairs in those invoices') FROM chk_int;
SELECT is(misordered, 0::bigint, 'integer keys: item_a < item_b numerically in every row') FROM chk_int;
SELECT cmp_ok(text_disorder, '>', 10000::bigint,
	'integer keys: many rows (like 9, 10) are out of text order, so the check above has teeth') FROM chk_int;
SELECT diag('integer keys: ' || expected_pairs || ' pairs, ' || text_disorder || ' out of text order') FROM chk_int;
SELECT is(bad, 0::bigint,
	'integer keys: same pairs, counts, n_baskets and confidence_ab (count_ab/count_a of the smaller key) as brute force') FROM chk_int;
SELECT is(
	few,
	(SELECT array_agg(format('%s-%s:%s', b.item_a, b.item_b, b.count_ab) ORDER BY b.item_a, b.item_b)
	 FROM bf_int b WHERE b.item_a < 10 AND b.item_b >= 10),
	'integer keys: pairs of a one-digit key with a longer one (9 < 10) come out in numeric order with brute-force counts')
FROM chk_int;

-- A small bigint fixture with negative and beyond-int4 keys.
CREATE TABLE big_lines (basket int, item bigint);
INSERT INTO big_lines VALUES
	(1, -10), (1, -9), (1, 9), (1, 10), (1, 5000000000),
	(2, -10), (2, -1), (2, 0), (2, 10), (2, 10),
	(3, -9), (3, 9), (3, 5000000000), (3, -10),
	(4, 100), (4, -100), (4, 0),
	(5, 2), (6, 2), (6, 10);
SELECT results_eq(
	$$SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets
	  FROM bundlerec.item_pairs('big_lines', 'basket', 'item')$$,
	$$WITH l AS (SELECT DISTINCT basket, item FROM big_lines),
	       ic AS (SELECT item, count(*) AS c FROM l GROUP BY item)
	  SELECT a.item::text, b.item::text, count(*), min(ia.c), min(ib.c),
	         (SELECT count(DISTINCT basket) FROM l)
	  FROM l a JOIN l b ON a.basket = b.basket AND a.item < b.item
	  JOIN ic ia ON ia.item = a.item JOIN ic ib ON ib.item = b.item
	  GROUP BY a.item, b.item ORDER BY a.item, b.item$$,
	'bigint keys with negatives and 5e9: rows in numeric (item_a, item_b) order with brute-force counts');

------------------------------------------------------------------------------
-- The aggregate path: pairs(pair_counts(basket arrays)) = item_pairs
------------------------------------------------------------------------------
-- Arrays keep duplicate lines of an invoice; they must count once.  Two
-- partitions give the parallel plan below two partial states to combine.
CREATE TABLE baskets (invoice_no text, items text[]) PARTITION BY HASH (invoice_no);
CREATE TABLE baskets_0 PARTITION OF baskets FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE baskets_1 PARTITION OF baskets FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO baskets
	SELECT invoice_no, array_agg(stock_code ORDER BY stock_code DESC) FROM sales GROUP BY invoice_no;

CREATE FUNCTION same_rows(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	EXECUTE format($q$
		SELECT count(*) FROM %s WITH ORDINALITY AS p(item_a, item_b, count_ab, count_a,
			count_b, n_baskets, support, confidence_ab, confidence_ba, lift, jaccard, cosine,
			leverage, conviction, conviction_ba, fisher_p, ord)
		FULL JOIN got g USING (ord)
		WHERE (p.item_a, p.item_b, p.count_ab, p.count_a, p.count_b, p.n_baskets, p.support,
			p.confidence_ab, p.confidence_ba, p.lift, p.jaccard, p.cosine, p.leverage,
			p.conviction, p.conviction_ba, p.fisher_p)
		IS DISTINCT FROM (g.item_a, g.item_b, g.count_ab, g.count_a, g.count_b, g.n_baskets,
			g.support, g.confidence_ab, g.confidence_ba, g.lift, g.jaccard, g.cosine,
			g.leverage, g.conviction, g.conviction_ba, g.fisher_p)$q$, q) INTO bad;
	RETURN bad;
END
$$;

CREATE TABLE pc AS SELECT bundlerec.pair_counts(items) AS pc FROM baskets;
SELECT is(
	same_rows($$bundlerec.pairs((SELECT pc FROM pc))$$),
	0::bigint,
	'pairs(pair_counts(arrays)) returns exactly the rows of item_pairs, in the same order');

-- The same through a parallel plan: a partial state per partition, built
-- in workers, serialized, deserialized and combined.  The paircounts value
-- must be the same bytes.
ANALYZE baskets;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_leader_participation = off;
SET LOCAL enable_partitionwise_aggregate = on;
CREATE FUNCTION plan_text(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	res text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		res := res || line || E'\n';
	END LOOP;
	RETURN res;
END
$$;
SELECT matches(
	plan_text($$CREATE TABLE pc_parallel AS SELECT bundlerec.pair_counts(items) AS pc FROM baskets$$),
	'Gather.*Partial Aggregate.*Partial Aggregate',
	'with parallel costs zeroed, pair_counts runs as two partial aggregates under Gather');
CREATE TABLE pc_parallel AS SELECT bundlerec.pair_counts(items) AS pc FROM baskets;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
RESET enable_partitionwise_aggregate;
SELECT ok(
	(SELECT bundlerec.paircounts_send(pc) FROM pc_parallel) = (SELECT bundlerec.paircounts_send(pc) FROM pc),
	'parallel pair_counts gives the same paircounts value, byte for byte, as the serial one');

-- Integer arrays through the aggregate: numeric order and brute-force counts.
SELECT results_eq(
	$$SELECT item_a, item_b, count_ab, count_a, count_b, n_baskets
	  FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items)
	                        FROM (SELECT basket, array_agg(item) AS items FROM big_lines GROUP BY basket) b))$$,
	$$WITH l AS (SELECT DISTINCT basket, item FROM big_lines),
	       ic AS (SELECT item, count(*) AS c FROM l GROUP BY item)
	  SELECT a.item::text, b.item::text, count(*), min(ia.c), min(ib.c),
	         (SELECT count(DISTINCT basket) FROM l)
	  FROM l a JOIN l b ON a.basket = b.basket AND a.item < b.item
	  JOIN ic ia ON ia.item = a.item JOIN ic ib ON ib.item = b.item
	  GROUP BY a.item, b.item ORDER BY a.item, b.item$$,
	'pairs(pair_counts(bigint[])): rows in numeric order with brute-force counts');

SELECT * FROM finish();
ROLLBACK;
