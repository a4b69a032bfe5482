-- bundle_generation.sql: bundlerec.generate_bundles().
--   1. Planted-bundle recovery: 3000 seeded synthetic orders over 300 items
--      with 20 disjoint 3-item bundles planted in noisy baskets; every
--      planted item as the anchor must bring back its own bundle.
--   2. Constraints: 40 random constraint sets (exclude, available,
--      max_price, category, min_count, min_support, sizes, one-item, cart
--      and batch anchors) on a generated shop with prices and categories;
--      no returned row may violate any of them, checked in plain SQL.
--   3. Every column of the returned rows against a brute-force SQL of the
--      formulas; the search against an exhaustive enumeration when the beam
--      is wide enough to hold every candidate, with and without content
--      alikeness.
--   4. Batch mode = single-anchor calls; carts; unknown anchors; errors.
--   Sections 2 and 3 check the score order, so they call with whole_share
--   NULL; the reordering of a bundle bought whole is bundle_whole.sql's.
-- Nothing expected here is computed by bundlerec.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(50);

CREATE SCHEMA tap_bundle_generation;
SET LOCAL search_path = tap_bundle_generation, public;
SET LOCAL jit = off;

-- have is close to want: both NULL, or equal, or finite and within rel
-- relative to max(|want|, 1e-6).  NaN is never close.
CREATE FUNCTION near(have float8, want float8, rel float8 DEFAULT 1e-9)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN have IS NULL AND want IS NULL THEN true
		WHEN have IS NULL OR want IS NULL THEN false
		WHEN have = 'NaN' OR want = 'NaN' THEN false
		WHEN have = want THEN true
		ELSE abs(have - want) <= rel * greatest(abs(want), 1e-6)
	END
$$;

-- product of float8 values (1 over no rows)
CREATE AGGREGATE mul(float8) (SFUNC = float8mul, STYPE = float8, INITCOND = '1');

------------------------------------------------------------------------------
-- 1. Planted bundles
------------------------------------------------------------------------------
-- 300 items p001..p300 ranked by popularity; 3000 baskets.  20 disjoint
-- triples are planted, drawn at random among the items of rank 21..300 (the
-- 20 most popular items are left to the noise).  A basket holds a planted
-- triple with probability 0.3 (the triple picked uniformly, each of its
-- items kept with probability 0.9) plus 1 to 5 noise items; otherwise it is
-- 1 to 6 noise items.  Noise items are drawn with P(rank k) = ln((k+1)/k) /
-- ln 301, about 1/(5.7 k): p001 is in about a third of all baskets, planted
-- items also come as noise (an item of rank 21 about 80 times, of rank 300
-- about 6 times, against about 40 planted occurrences), and a planted basket
-- carries about 3 noise items, so planted items co-occur with the popular
-- noise items in many baskets.  The statistics are reported by diag() below.
SELECT setseed(0.23);
CREATE TABLE planted AS
	SELECT (row_number() OVER (ORDER BY r) - 1) / 3 + 1 AS bundle, 'p' || lpad(k::text, 3, '0') AS item
	FROM (SELECT k, random() AS r FROM generate_series(21, 300) k ORDER BY k) s ORDER BY r LIMIT 60;
CREATE TABLE pbask AS
	SELECT b, random() < 0.3 AS has_bundle, 1 + floor(random() * 20)::int AS bundle, random() AS rn
	FROM generate_series(1, 3000) b ORDER BY b;
CREATE TABLE orders AS
	SELECT pb.b AS order_id, p.item AS sku FROM pbask pb JOIN planted p USING (bundle)
	WHERE pb.has_bundle AND random() < 0.9
	UNION ALL
	SELECT pb.b, 'p' || lpad(least(300, floor(exp(random() * ln(301))))::int::text, 3, '0')
	FROM pbask pb JOIN generate_series(1, 6) s
	  ON s <= CASE WHEN pb.has_bundle THEN 1 + floor(pb.rn * 5) ELSE 1 + floor(pb.rn * 6) END;
CREATE TABLE planted_sets AS
	SELECT bundle, array_agg(item ORDER BY item) AS items FROM planted GROUP BY bundle;
CREATE TABLE obask AS SELECT order_id, array_agg(DISTINCT sku) AS its FROM orders GROUP BY order_id;

SELECT ok((SELECT count(DISTINCT item) = 60 AND count(DISTINCT bundle) = 20 FROM planted)
	AND (SELECT min(c) >= 20 FROM (SELECT (SELECT count(*) FROM obask WHERE its @> p.items) AS c FROM planted_sets p) s),
	'fixture: 20 disjoint planted triples, each held whole by at least 20 baskets');
-- noise statistics
SELECT diag(format('planted fixture: %s baskets, %s lines; planted items occur in %s baskets, %s%% of them outside a planted basket of their triple; '
	'baskets holding a planted item also hold %s noise items on average and the top-20 noise items in %s%% of them',
	(SELECT count(*) FROM obask), (SELECT count(*) FROM orders),
	(SELECT count(*) FROM obask o JOIN planted p ON p.item = ANY (o.its)),
	(SELECT round(100.0 * count(*) FILTER (WHERE NOT (pb.has_bundle AND pb.bundle = p.bundle)) / count(*), 1)
	 FROM obask o JOIN planted p ON p.item = ANY (o.its) JOIN pbask pb ON pb.b = o.order_id),
	(SELECT round(avg((SELECT count(*) FROM unnest(o.its) x WHERE x NOT IN (SELECT item FROM planted))), 2)
	 FROM obask o WHERE o.its && (SELECT array_agg(item) FROM planted)),
	(SELECT round(100.0 * avg(CASE WHEN EXISTS (SELECT 1 FROM unnest(o.its) x WHERE substr(x, 2)::int <= 20) THEN 1 ELSE 0 END), 1)
	 FROM obask o WHERE o.its && (SELECT array_agg(item) FROM planted))));

-- Every planted item as the anchor, triples only, k 1, cohesion only.
CREATE TABLE rec3 AS
	SELECT p.bundle, p.item,
	       (SELECT array_agg(x ORDER BY x) FROM unnest(g.items) x) AS got, g.items AS raw
	FROM planted p LEFT JOIN LATERAL bundlerec.generate_bundles('orders', 'order_id', 'sku', ARRAY[p.item],
		max_size => 3, min_size => 3, k => 1, revenue_weight => 0) g ON true;
SELECT diag(format('planted recovery (min_size 3, max_size 3, k 1, revenue_weight 0): %s of 60 anchors, fraction %s',
	(SELECT count(*) FROM rec3 r JOIN planted_sets s USING (bundle) WHERE r.got = s.items),
	(SELECT round(avg(CASE WHEN r.got = s.items THEN 1 ELSE 0 END), 4) FROM rec3 r JOIN planted_sets s USING (bundle))));
SELECT cmp_ok((SELECT avg(CASE WHEN r.got = s.items THEN 1 ELSE 0 END)::float8 FROM rec3 r JOIN planted_sets s USING (bundle)),
	'>=', 0.9::float8, 'planted recovery: the top triple of at least 90% of the 60 planted anchors is the planted triple');
SELECT is((SELECT count(*) FROM rec3 WHERE raw[1] IS DISTINCT FROM item), 0::bigint,
	'planted recovery: every top triple starts with its anchor');

-- The same with the defaults (min_size 2, max_size 3, k 5): the first
-- bundle of size 3 in rank order.
CREATE TABLE recd AS
	SELECT p.bundle, p.item,
	       (SELECT (SELECT array_agg(x ORDER BY x) FROM unnest(g.items) x)
	        FROM bundlerec.generate_bundles('orders', 'order_id', 'sku', ARRAY[p.item]) g
	        WHERE g.size = 3 ORDER BY g.rank LIMIT 1) AS got
	FROM planted p;
SELECT diag(format('planted recovery (defaults, first bundle of size 3): %s of 60 anchors, fraction %s',
	(SELECT count(*) FROM recd r JOIN planted_sets s USING (bundle) WHERE r.got = s.items),
	(SELECT round(avg(CASE WHEN r.got = s.items THEN 1 ELSE 0 END), 4) FROM recd r JOIN planted_sets s USING (bundle))));
SELECT cmp_ok((SELECT avg(CASE WHEN r.got = s.items THEN 1 ELSE 0 END)::float8 FROM recd r JOIN planted_sets s USING (bundle)),
	'>=', 0.9::float8, 'planted recovery with defaults: the first triple is the planted one for at least 90% of the anchors');

------------------------------------------------------------------------------
-- 2. The shop fixture
------------------------------------------------------------------------------
-- 1000 orders (integer order_no) over 80 products (integer product keys,
-- so that key order 2 < 10 differs from text order).  8 groups of 4
-- products: an order holds a group with probability 0.4 (each product kept
-- with probability 0.7) plus 1 to 5 noise products, else 2 to 6 noise
-- products, drawn with P(k) = ln((k+1)/k)/ln 81.  Lines: price around a
-- per-product base, 5% of lines 0, products 75..80 never priced; category
-- 'c' || (k % 9), products 1..5 without one, and 15% of lines a random
-- category (so the mode is computed, not given); sold_at over 180 days.
SELECT setseed(0.61);
CREATE TABLE grp AS
	SELECT (row_number() OVER (ORDER BY r) - 1) / 4 + 1 AS g, k
	FROM (SELECT k, random() AS r FROM generate_series(1, 80) k ORDER BY k) s ORDER BY r LIMIT 32;
CREATE TABLE sb AS
	SELECT b, random() < 0.4 AS has_group, 1 + floor(random() * 8)::int AS g, random() AS rn
	FROM generate_series(1, 1000) b ORDER BY b;
CREATE TABLE sp AS
	SELECT sb.b, grp.k, random() AS r1, random() AS r2, random() AS r3, random() AS r4
	FROM sb JOIN grp USING (g) WHERE sb.has_group AND random() < 0.7
	UNION ALL
	SELECT sb.b, least(80, floor(exp(random() * ln(81))))::int, random(), random(), random(), random()
	FROM sb JOIN generate_series(1, 6) s ON s <= CASE WHEN sb.has_group THEN 1 + floor(sb.rn * 5) ELSE 2 + floor(sb.rn * 5) END;
CREATE TABLE shop AS
	SELECT b AS order_no, k AS product,
	       CASE WHEN k > 74 THEN NULL WHEN r1 < 0.05 THEN 0
	            ELSE round(((1 + (k * 53 % 37) * 0.9) * (0.9 + 0.2 * r2))::numeric, 2) END AS price,
	       CASE WHEN r3 < 0.15 THEN 'c' || floor(r4 * 9)::int WHEN k <= 5 THEN NULL ELSE 'c' || (k % 9) END AS cat,
	       timestamp '2024-01-01' + 180 * r4 * interval '1 day' AS sold_at
	FROM sp;

-- Brute-force tables: baskets as arrays, item and pair counts, prices
-- (all lines / 90-day window with fallback), categories (mode), N, medians.
CREATE TABLE bsk AS SELECT order_no AS b, array_agg(DISTINCT product::text) AS its FROM shop GROUP BY order_no;
CREATE TABLE ic AS SELECT i AS item, count(*)::float8 AS c FROM bsk, unnest(its) i GROUP BY i;
CREATE TABLE pc2 AS
	SELECT x AS i, y AS j, count(*)::float8 AS c FROM bsk, unnest(its) x, unnest(its) y WHERE x <> y GROUP BY x, y;
CREATE UNIQUE INDEX ON pc2 (i, j);
CREATE TABLE ip AS
	WITH mx AS (SELECT max(sold_at) AS m FROM shop)
	SELECT product::text AS item, avg(price::float8) FILTER (WHERE price > 0) AS p_all,
	       coalesce(avg(price::float8) FILTER (WHERE price > 0 AND sold_at >= m - interval '90 days'),
	                avg(price::float8) FILTER (WHERE price > 0)) AS p_win,
	       mode() WITHIN GROUP (ORDER BY cat::text) AS cat
	FROM shop, mx GROUP BY product;
CREATE TABLE fxn AS SELECT
	(SELECT count(*)::float8 FROM bsk) AS n,
	(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p_all) FROM ip WHERE p_all IS NOT NULL) AS med_all,
	(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p_win) FROM ip WHERE p_win IS NOT NULL) AS med_win;
ANALYZE bsk; ANALYZE ic; ANALYZE pc2; ANALYZE ip;

CREATE FUNCTION cnt(s text[]) RETURNS float8 LANGUAGE sql STABLE AS $$
	SELECT CASE cardinality(s)
		WHEN 1 THEN coalesce((SELECT c FROM ic WHERE item = s[1]), 0)
		WHEN 2 THEN coalesce((SELECT c FROM pc2 WHERE i = s[1] AND j = s[2]), 0)
		ELSE (SELECT count(*)::float8 FROM bsk WHERE its @> s) END
$$;

-- The formulas of the spec for one bundle (as in bundle_scores.sql).
CREATE FUNCTION bf(p_items text[], p_anchor text[], p_price boolean, p_ts boolean, p_discount float8,
                   p_shrink float8, p_hist text[], p_cw float8, p_aw float8, p_rw float8, p_scale float8)
RETURNS TABLE (count float8, support float8, cohesion float8, min_npmi float8, mean_lift float8, min_lift float8,
               affinity float8, list_price float8, bundle_price float8, accept_probability float8,
               expected_revenue float8, score float8)
LANGUAGE sql STABLE AS $$
	WITH nn AS (SELECT n, CASE WHEN p_ts THEN med_win ELSE med_all END AS med FROM fxn),
	it AS (SELECT u.i, u.o, ic.c, u.i = ANY (p_anchor) AS in_s,
	              CASE WHEN p_price THEN CASE WHEN p_ts THEN ip.p_win ELSE ip.p_all END END AS p
	       FROM unnest(p_items) WITH ORDINALITY u(i, o) JOIN ic ON ic.item = u.i LEFT JOIN ip ON ip.item = u.i),
	pr AS (SELECT a.c AS ci, b.c AS cj, cnt(ARRAY[a.i, b.i]) AS cij FROM it a JOIN it b ON a.o < b.o),
	pm AS (SELECT cij * n / (ci * cj) AS lift, cij,
	              CASE WHEN cij = 0 THEN -1 WHEN cij = n THEN 1 ELSE ln(cij * n / (ci * cj)) / -ln(cij / n) END AS npmi
	       FROM pr, nn),
	co AS (SELECT avg(s) AS cohesion, min(s) AS min_npmi, avg(lift) AS mean_lift, min(lift) AS min_lift
	       FROM (SELECT lift, CASE WHEN p_shrink = 0 THEN npmi ELSE npmi * cij / (cij + p_shrink) END AS s FROM pm) x),
	cb AS (SELECT cnt(p_items) AS cb, cnt(p_anchor) AS cs),
	pc AS (SELECT CASE WHEN bool_and(p IS NOT NULL) THEN sum(p) END AS lp,
	              CASE WHEN bool_and(p IS NOT NULL) FILTER (WHERE NOT in_s) THEN sum(p) FILTER (WHERE NOT in_s) END AS rest
	       FROM it),
	af AS (SELECT CASE WHEN p_hist IS NOT NULL THEN avg(a) END AS affinity FROM (
	         SELECT CASE WHEN it.i = ANY (p_hist) THEN 1
	                     ELSE 1 - (SELECT mul(1 - cnt(ARRAY[h.item, it.i]) / sqrt(h.c * it.c)) FROM ic h WHERE h.item = ANY (p_hist))
	                END AS a FROM it) y),
	r AS (SELECT cb.cb, cb.cb / nn.n AS support, co.*, af.affinity, pc.lp, pc.lp * (1 - p_discount) AS bp,
	             cb.cb / nullif(cb.cs, 0) AS acc, cb.cb / nullif(cb.cs, 0) * pc.rest * (1 - p_discount) AS er, nn.med
	      FROM cb, nn, co, af, pc)
	SELECT cb, support, cohesion, min_npmi, mean_lift, min_lift, affinity, lp, bp, acc, er,
	       p_cw * cohesion + p_aw * coalesce(affinity, 0) + p_rw * coalesce(er / (er + coalesce(p_scale, med)), 0)
	FROM r
$$;

-- 40 random constraint sets.  anchor: batch (NULL) 1 in 4, one product
-- (drawn by popularity) 1 in 2, else a cart of 2 products bought together
-- at least 4 times.  max_size 2..4 (3..4 for carts), min_size 2 or
-- 2..max_size, k 1..6, min_count 1..5, min_support 0 / .003 / .008,
-- exclude 8 popular products (half), available 50 products (1 in 3),
-- prices (7 in 10) with max_price 10..50 (half of those), category (half),
-- the price window (half), discount, shrinkage, beam, history, weights.
CREATE TABLE draws (id int, anchor text[], max_size int, min_size int, k int, min_count bigint, min_support float8,
                    exclude text[], available text[], use_price boolean, max_price float8, use_cat boolean,
                    use_ts boolean, discount float8, shrink float8, beam int, hist text[],
                    cw float8, aw float8, rw float8, scale float8);
CREATE FUNCTION pick(n int) RETURNS text[] LANGUAGE sql VOLATILE AS $$
	SELECT (array_agg(item ORDER BY key))[1:n]
	FROM (SELECT item, -ln(1 - random()) / c AS key FROM ic ORDER BY item COLLATE "C") s
$$;
DO $$
DECLARE
	mode float8; anc text[]; mx int; mn int; up boolean;
BEGIN
	FOR d IN 1..40 LOOP
		mode := random();
		IF mode < 0.25 THEN
			anc := NULL;
		ELSIF mode < 0.75 THEN
			anc := pick(1);
		ELSE
			SELECT ARRAY[i, j] INTO anc FROM (SELECT i, j, random() AS r FROM pc2 WHERE c >= 4 ORDER BY i COLLATE "C", j COLLATE "C") s ORDER BY r LIMIT 1;
		END IF;
		mx := 2 + floor(random() * 3)::int;
		IF cardinality(anc) = 2 AND mx < 3 THEN mx := 3; END IF;
		mn := CASE WHEN random() < 0.6 THEN 2 ELSE 2 + floor(random() * (mx - 1))::int END;
		up := random() < 0.7;
		INSERT INTO draws VALUES (d, anc, mx, mn, 1 + floor(random() * 6)::int,
			(ARRAY[1, 2, 2, 3, 5])[1 + floor(random() * 5)::int],
			(ARRAY[0, 0, 0.003, 0.008])[1 + floor(random() * 4)::int],
			CASE WHEN random() < 0.5 THEN pick(8) END,
			CASE WHEN random() < 0.35 THEN pick(50) END,
			up, CASE WHEN up AND random() < 0.5 THEN 10 + 40 * random() END,
			random() < 0.5, random() < 0.5,
			(ARRAY[0, 0.1, 0.25])[1 + floor(random() * 3)::int],
			(ARRAY[2.5, 10])[1 + floor(random() * 2)::int],
			(ARRAY[3, 10, 20])[1 + floor(random() * 3)::int],
			CASE WHEN random() < 0.3 THEN pick(1 + floor(random() * 3)::int) END,
			CASE WHEN random() < 0.6 THEN 1 ELSE 2 * random() END,
			CASE WHEN random() < 0.6 THEN 1 ELSE 2 * random() END,
			CASE WHEN random() < 0.6 THEN 1 ELSE 2 * random() END,
			CASE WHEN random() < 0.3 THEN 1 + 19 * random() END);
	END LOOP;
END $$;

CREATE TABLE res AS
	SELECT d.id, r.*
	FROM draws d CROSS JOIN LATERAL bundlerec.generate_bundles('shop', 'order_no', 'product', d.anchor,
		max_size => d.max_size, k => d.k, min_count => d.min_count, exclude => d.exclude, available => d.available,
		max_price => d.max_price, price => CASE WHEN d.use_price THEN 'price' END,
		category => CASE WHEN d.use_cat THEN 'cat' END, ordered_at => CASE WHEN d.use_ts THEN 'sold_at' END,
		discount => d.discount, history => d.hist, min_size => d.min_size, beam => d.beam, shrinkage => d.shrink,
		cohesion_weight => d.cw, affinity_weight => d.aw, revenue_weight => d.rw, revenue_scale => d.scale,
		min_support => d.min_support, whole_share => NULL)
		WITH ORDINALITY r(anchor, rank, items, size, count, support, cohesion, min_npmi, mean_lift, min_lift, affinity,
		                  list_price, bundle_price, accept_probability, expected_revenue, score, explanation, alike, ord);
-- added items of a row
CREATE VIEW rx AS
	SELECT r.*, r.items[cardinality(r.anchor) + 1:] AS added FROM res r;

SELECT ok((SELECT count(*) >= 300 AND count(DISTINCT id) >= 30 FROM res)
	AND (SELECT count(DISTINCT id) FILTER (WHERE d.anchor IS NULL) >= 5 AND count(DISTINCT id) FILTER (WHERE cardinality(d.anchor) = 2) >= 4
	     AND count(DISTINCT id) FILTER (WHERE d.max_price IS NOT NULL) >= 5 AND count(DISTINCT id) FILTER (WHERE d.exclude IS NOT NULL) >= 5
	     AND count(DISTINCT id) FILTER (WHERE d.available IS NOT NULL) >= 5 AND count(DISTINCT id) FILTER (WHERE d.use_cat) >= 5
	     AND count(DISTINCT id) FILTER (WHERE d.min_support > 0) >= 5 AND count(DISTINCT id) FILTER (WHERE d.max_size = 4) >= 5
	     FROM res r JOIN draws d USING (id)),
	'fixture: over 300 rows from at least 30 of the 40 draws; batch, max_price, exclude, available, category, min_support, max_size 4 in at least 5 non-empty draws each, carts in 4');
SELECT diag(format('constraint draws: %s rows from %s of 40 draws', (SELECT count(*) FROM res), (SELECT count(DISTINCT id) FROM res)));

-- The constraints bind: the same calls without exclude, available,
-- max_price and category return rows that would violate them.
CREATE TABLE loose AS
	SELECT d.id, r.items, r.list_price
	FROM draws d CROSS JOIN LATERAL bundlerec.generate_bundles('shop', 'order_no', 'product', d.anchor,
		max_size => d.max_size, k => d.k, min_count => d.min_count, price => CASE WHEN d.use_price THEN 'price' END,
		ordered_at => CASE WHEN d.use_ts THEN 'sold_at' END, min_size => d.min_size, beam => d.beam,
		shrinkage => d.shrink, min_support => d.min_support) r
	WHERE d.exclude IS NOT NULL OR d.available IS NOT NULL OR d.max_price IS NOT NULL OR d.use_cat;
SELECT cmp_ok((SELECT count(DISTINCT l.id) FROM loose l JOIN draws d USING (id)
	WHERE l.items[coalesce(cardinality(d.anchor), 1) + 1:] && d.exclude
	   OR NOT (l.items[coalesce(cardinality(d.anchor), 1) + 1:] <@ d.available) OR l.list_price > d.max_price OR l.list_price IS NULL AND d.max_price IS NOT NULL
	   OR d.use_cat AND (SELECT count(ip.cat) <> count(DISTINCT ip.cat) FROM unnest(l.items) x JOIN ip ON ip.item = x)),
	'>=', 10::bigint, 'the constraints bind: for at least 10 draws the unconstrained call returns rows that break them');

-- An empty result must mean that no bundle of the anchor plus one product
-- meets the constraints, where the beam holds every possible partner
-- (products bought with the anchor in >= min_count baskets, not excluded,
-- available, priced when max_price is given): then every one-product
-- extension is scored.
CREATE TABLE empty_draws AS
	SELECT d.id,
	       (SELECT count(*) FROM ic c LEFT JOIN ip USING (item)
	        WHERE NOT c.item = ANY (d.anchor) AND cnt(d.anchor || c.item) >= d.min_count
	          AND (d.exclude IS NULL OR NOT c.item = ANY (d.exclude)) AND (d.available IS NULL OR c.item = ANY (d.available))
	          AND (d.max_price IS NULL OR ip.p_all IS NOT NULL)) AS partners,
	       (SELECT count(*) FROM ic c
	        WHERE NOT c.item = ANY (d.anchor) AND cnt(d.anchor || c.item) >= greatest(d.min_count, d.min_support * (SELECT n FROM fxn) * (1 - 1e-12))
	          AND (d.exclude IS NULL OR NOT c.item = ANY (d.exclude)) AND (d.available IS NULL OR c.item = ANY (d.available))
	          AND (d.max_price IS NULL OR (SELECT sum(CASE WHEN d.use_ts THEN q.p_win ELSE q.p_all END)
	                                       FROM unnest(d.anchor || c.item) x JOIN ip q ON q.item = x) <= d.max_price)
	          AND (NOT d.use_cat OR (SELECT count(q.cat) = count(DISTINCT q.cat) FROM unnest(d.anchor || c.item) x JOIN ip q ON q.item = x))
	       ) AS feasible
	FROM draws d
	WHERE d.anchor IS NOT NULL AND d.min_size <= cardinality(d.anchor) + 1 AND NOT EXISTS (SELECT 1 FROM res r WHERE r.id = d.id);
SELECT diag(format('constraint draws with no rows: %s, of which %s with every partner within the beam',
	(SELECT count(*) FROM empty_draws), (SELECT count(*) FROM empty_draws e JOIN draws d USING (id) WHERE e.partners <= d.beam)));
SELECT is((SELECT count(*) FROM empty_draws e JOIN draws d USING (id) WHERE e.partners <= d.beam AND e.feasible > 0),
	0::bigint, 'constraints: a draw returns nothing only when no anchor + 1 product bundle meets its constraints (SQL)');

SELECT is((SELECT count(*) FROM res WHERE cardinality(items) <> (SELECT count(DISTINCT x) FROM unnest(items) x)),
	0::bigint, 'constraints: no repeated item');
SELECT is((SELECT count(*) FROM res r JOIN draws d USING (id)
	WHERE r.size <> cardinality(r.items) OR r.size < d.min_size OR r.size > d.max_size OR r.size <= cardinality(r.anchor)),
	0::bigint, 'constraints: size = number of items, between min_size and max_size, with at least one added item');
SELECT is((SELECT count(*) FROM res r JOIN draws d USING (id)
	WHERE r.items[1:cardinality(r.anchor)] IS DISTINCT FROM r.anchor
	   OR (d.anchor IS NOT NULL AND r.anchor IS DISTINCT FROM d.anchor)
	   OR (d.anchor IS NULL AND (cardinality(r.anchor) <> 1 OR cnt(r.anchor) < d.min_count))),
	0::bigint, 'constraints: the anchor (as given, or one product with c >= min_count in batch mode) is items[1:|anchor|]');
SELECT is((SELECT count(*) FROM rx r JOIN draws d USING (id) WHERE r.added && d.exclude),
	0::bigint, 'constraints: no excluded product is added');
SELECT is((SELECT count(*) FROM rx r JOIN draws d USING (id) WHERE NOT (r.added <@ d.available)),
	0::bigint, 'constraints: every added product is available');
SELECT is((SELECT count(*) FROM res r JOIN draws d USING (id)
	WHERE d.max_price IS NOT NULL AND (r.list_price IS NULL OR r.list_price > d.max_price * (1 + 1e-12))),
	0::bigint, 'constraints: list_price <= max_price (so every item priced)');
SELECT is((SELECT count(*) FROM res r JOIN draws d USING (id)
	WHERE d.use_cat AND (SELECT count(ip.cat) <> count(DISTINCT ip.cat) FROM unnest(r.items) x JOIN ip ON ip.item = x)),
	0::bigint, 'constraints: no two items with the same non-NULL category (the mode of the product''s lines), anchors included');
SELECT is((SELECT count(*) FROM res r JOIN draws d USING (id)
	WHERE r.count <> cnt(r.items) OR r.count < d.min_count OR r.count < d.min_support * (SELECT n FROM fxn) * (1 - 1e-12)),
	0::bigint, 'constraints: count = baskets holding every item (SQL), >= min_count and >= min_support * N');
SELECT is((SELECT count(*) FROM (
		SELECT r.*, row_number() OVER w AS rn, lag(score) OVER w AS prev_score, lag(size) OVER w AS prev_size,
		       lag(items) OVER w AS prev_items, d.k AS kk
		FROM res r JOIN draws d USING (id) WINDOW w AS (PARTITION BY r.id, r.anchor ORDER BY r.ord)) s
	WHERE rank <> rn OR rank > kk OR score > prev_score
	   OR (score = prev_score AND (size < prev_size OR size = prev_size
	       AND (SELECT array_agg(x::int ORDER BY o) FROM unnest(items) WITH ORDINALITY u(x, o))
	         < (SELECT array_agg(x::int ORDER BY o) FROM unnest(prev_items) WITH ORDINALITY u(x, o))))),
	0::bigint, 'constraints: per anchor, ranks 1..n (n <= k) in row order, scores non-increasing, ties by size then items in key order');
SELECT is((SELECT count(*) FROM (
		SELECT r.id, r.anchor[1]::int AS a, lag(r.anchor[1]::int) OVER (PARTITION BY r.id ORDER BY r.ord) AS prev
		FROM res r JOIN draws d USING (id) WHERE d.anchor IS NULL) s WHERE a < prev),
	0::bigint, 'batch mode: anchors in numeric key order (integer product column), rows of one anchor together');
SELECT is((SELECT count(*) FROM (SELECT id, anchor, min(ord) AS lo, max(ord) AS hi, count(*) AS n FROM res GROUP BY id, anchor) s
	WHERE hi - lo + 1 <> n), 0::bigint, 'batch mode: the rows of an anchor are consecutive');

------------------------------------------------------------------------------
-- 3. Every column against the brute force
------------------------------------------------------------------------------
CREATE TABLE exact AS
	SELECT r.id, r.ord, r.anchor, r.items, r.count AS g_count, r.support AS g_support, r.cohesion AS g_cohesion, r.min_npmi AS g_min_npmi,
	       r.mean_lift AS g_mean_lift, r.min_lift AS g_min_lift, r.affinity AS g_affinity, r.list_price AS g_list_price,
	       r.bundle_price AS g_bundle_price, r.accept_probability AS g_accept, r.expected_revenue AS g_er,
	       r.score AS g_score, r.explanation, w.*
	FROM res r JOIN draws d USING (id)
	CROSS JOIN LATERAL bf(r.items, r.anchor, d.use_price, d.use_ts, d.discount, d.shrink, d.hist, d.cw, d.aw, d.rw, d.scale) w
	WHERE r.ord <= 30 OR r.ord % 7 = 0;
SELECT ok((SELECT count(*) >= 200 AND count(*) FILTER (WHERE affinity IS NOT NULL) >= 30 AND count(*) FILTER (WHERE expected_revenue > 0) >= 100
	AND count(*) FILTER (WHERE d.use_ts AND list_price IS NOT NULL) >= 30 AND count(*) FILTER (WHERE d.discount > 0 AND list_price IS NOT NULL) >= 30
	AND count(*) FILTER (WHERE d.scale IS NOT NULL AND expected_revenue > 0) >= 10 AND count(*) FILTER (WHERE cardinality(items) = 4) >= 30
	FROM exact JOIN draws d USING (id)),
	'exactness: at least 200 rows compared (the first 30 of each draw and every 7th), with histories, revenue, windows, discounts, given scales, size 4');
SELECT is((SELECT count(*) FROM exact WHERE NOT near(g_support, support) OR NOT near(g_accept, accept_probability)),
	0::bigint, 'exactness: support = count / N, accept_probability = count / c_anchor');
SELECT is((SELECT count(*) FROM exact WHERE NOT near(g_cohesion, cohesion) OR NOT near(g_min_npmi, min_npmi)),
	0::bigint, 'exactness: cohesion and min_npmi (shrunk npmi)');
SELECT is((SELECT count(*) FROM exact WHERE NOT near(g_mean_lift, mean_lift) OR NOT near(g_min_lift, min_lift)),
	0::bigint, 'exactness: mean_lift and min_lift');
SELECT is((SELECT count(*) FROM exact WHERE NOT near(g_list_price, list_price) OR NOT near(g_bundle_price, bundle_price)
	OR NOT near(g_er, expected_revenue)),
	0::bigint, 'exactness: list price, bundle price and expected revenue');
SELECT is((SELECT count(*) FROM exact WHERE NOT near(g_affinity, affinity)),
	0::bigint, 'exactness: history affinity (NULL without history)');
SELECT is((SELECT count(*) FROM exact WHERE NOT near(g_score, score)),
	0::bigint, 'exactness: score');
SELECT is((SELECT count(*) FROM exact
	WHERE g_count <> count OR explanation NOT LIKE 'bought together in ' || g_count || CASE WHEN g_count = 1 THEN ' order;' ELSE ' orders;' END || ' lift %'),
	0::bigint, 'exactness: count, and the explanation starts with it in words');

-- The search against an exhaustive enumeration.  With beam 1000 every
-- partner and every pair is kept, so the returned bundles are the top k of
-- all bundles anchor + 1 or 2 products with count >= min_count.  Eight
-- anchors, prices on (the revenue term takes part in the ranking), k 5,
-- min_count 3: the i-th returned score must be the i-th best score of the
-- enumeration, and every returned bundle must be in it with that score.
CREATE TABLE ex_anchors AS SELECT unnest(pick(8)) AS a;
CREATE TABLE ex_cands AS
	SELECT e.a, ARRAY[e.a, p.j] AS items FROM ex_anchors e JOIN pc2 p ON p.i = e.a AND p.c >= 3
	UNION ALL
	SELECT e.a, ARRAY[e.a, p.j, q.j] FROM ex_anchors e JOIN pc2 p ON p.i = e.a AND p.c >= 3
	JOIN pc2 q ON q.i = e.a AND q.c >= 3 AND p.j < q.j
	WHERE cnt(ARRAY[e.a, p.j, q.j]) >= 3;
CREATE TABLE ex_want AS
	SELECT a, items, s, row_number() OVER (PARTITION BY a ORDER BY s DESC) AS rn FROM (
		SELECT c.a, c.items, w.score AS s FROM ex_cands c
		CROSS JOIN LATERAL bf(c.items, ARRAY[c.a], true, false, 0, 10, NULL, 1, 1, 1, NULL) w) z;
CREATE TABLE ex_got AS
	SELECT e.a, g.rank, g.items, g.score FROM ex_anchors e
	CROSS JOIN LATERAL bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY[e.a], max_size => 3, k => 5,
		min_count => 3, price => 'price', beam => 1000, whole_share => NULL) g;
SELECT cmp_ok((SELECT count(*) FROM ex_cands), '>=', 300::bigint, 'exhaustive: over 300 candidate bundles for 8 anchors');
SELECT is((SELECT count(*) FROM ex_got g LEFT JOIN ex_want w ON w.a = g.a AND w.rn = g.rank
	WHERE w.a IS NULL OR NOT near(g.score, w.s, 1e-9)
	   OR NOT EXISTS (SELECT 1 FROM ex_want v WHERE v.a = g.a AND v.items[2:] @> g.items[2:] AND v.items[2:] <@ g.items[2:]
	                  AND near(g.score, v.s, 1e-9))),
	0::bigint, 'exhaustive: the i-th bundle has the i-th best score of all bundles, and is one of them');
SELECT is((SELECT count(*) FROM ex_got), (SELECT count(*) FROM ex_want WHERE rn <= 5),
	'exhaustive: min(5, candidates) bundles per anchor');

-- The same with content alikeness, alike_weight 0.7: a similarity in
-- [-1, 1] for 70% of the product pairs (listed one way round); the score
-- gains 0.7 * the mean over the bundle's pairs (0 for a pair not listed).
CREATE TABLE csim AS
	SELECT i AS item, j AS neighbor, 2 * random() - 1 AS similarity
	FROM (SELECT a.item AS i, b.item AS j FROM ic a JOIN ic b ON a.item < b.item ORDER BY 1, 2) p
	WHERE random() < 0.7;
CREATE FUNCTION alike(s text[]) RETURNS float8 LANGUAGE sql STABLE AS $$
	SELECT avg(coalesce((SELECT c.similarity FROM csim c WHERE c.item = least(x.i, y.i) AND c.neighbor = greatest(x.i, y.i)), 0))
	FROM unnest(s) WITH ORDINALITY x(i, o) JOIN unnest(s) WITH ORDINALITY y(i, o) ON x.o < y.o
$$;
CREATE TABLE ex_want_c AS
	SELECT a, items, s, row_number() OVER (PARTITION BY a ORDER BY s DESC) AS rn FROM (
		SELECT c.a, c.items, w.score + 0.7 * alike(c.items) AS s FROM ex_cands c
		CROSS JOIN LATERAL bf(c.items, ARRAY[c.a], true, false, 0, 10, NULL, 1, 1, 1, NULL) w) z;
CREATE TABLE ex_got_c AS
	SELECT e.a, g.rank, g.items, g.score, g.alike FROM ex_anchors e
	CROSS JOIN LATERAL bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY[e.a], max_size => 3, k => 5,
		min_count => 3, price => 'price', beam => 1000, content => 'csim', alike_weight => 0.7,
		whole_share => NULL) g;
SELECT is((SELECT count(*) FROM ex_got_c g LEFT JOIN ex_want_c w ON w.a = g.a AND w.rn = g.rank
	WHERE w.a IS NULL OR NOT near(g.score, w.s, 1e-9)
	   OR NOT EXISTS (SELECT 1 FROM ex_want_c v WHERE v.a = g.a AND v.items[2:] @> g.items[2:] AND v.items[2:] <@ g.items[2:]
	                  AND near(g.score, v.s, 1e-9))),
	0::bigint, 'exhaustive with content: the i-th bundle has the i-th best score + 0.7 * alike of all bundles, and is one of them');
SELECT is((SELECT count(*) FROM ex_got_c WHERE NOT near(alike, alike(items), 1e-6)), 0::bigint,
	'exhaustive with content: alike = the mean similarity of the bundle''s pairs, 0 for pairs not listed');
SELECT is((SELECT count(*) FROM ex_got_c), (SELECT count(*) FROM ex_got), 'exhaustive with content: as many bundles as without');
SELECT cmp_ok((SELECT count(*) FROM ex_got_c c JOIN ex_got g USING (a, rank) WHERE c.items <> g.items), '>=', 5::bigint,
	'exhaustive with content: the similarities reorder at least 5 of the bundles');

------------------------------------------------------------------------------
-- 4. Batch mode, carts, unknown anchors, errors
------------------------------------------------------------------------------
-- Batch: every product with c >= min_count as its own anchor; its rows equal
-- those of a call with that single anchor.
CREATE TABLE batch AS
	SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', NULL, max_size => 3, k => 3, min_count => 4,
		exclude => ARRAY['1', '2', '3'], price => 'price', category => 'cat', discount => 0.1, history => ARRAY['7', '19']);
CREATE TABLE single AS
	SELECT g.* FROM ic CROSS JOIN LATERAL bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY[ic.item],
		max_size => 3, k => 3, min_count => 4, exclude => ARRAY['1', '2', '3'], price => 'price', category => 'cat',
		discount => 0.1, history => ARRAY['7', '19']) g
	WHERE ic.c >= 4;
SELECT cmp_ok((SELECT count(DISTINCT anchor) FROM batch), '>=', 50::bigint, 'batch: at least 50 anchors with rows');
SELECT is((SELECT count(*) FROM batch b FULL JOIN single s ON s.anchor = b.anchor AND s.rank = b.rank
	WHERE b.anchor IS NULL OR s.anchor IS NULL OR b.items <> s.items OR b.size <> s.size OR b.count <> s.count
	   OR NOT near(b.support, s.support, 1e-12) OR NOT near(b.cohesion, s.cohesion, 1e-12) OR NOT near(b.min_npmi, s.min_npmi, 1e-12)
	   OR NOT near(b.mean_lift, s.mean_lift, 1e-12) OR NOT near(b.min_lift, s.min_lift, 1e-12)
	   OR NOT near(b.affinity, s.affinity, 1e-12) OR NOT near(b.list_price, s.list_price, 1e-12)
	   OR NOT near(b.bundle_price, s.bundle_price, 1e-12) OR NOT near(b.accept_probability, s.accept_probability, 1e-12)
	   OR NOT near(b.expected_revenue, s.expected_revenue, 1e-12) OR NOT near(b.score, s.score, 1e-12)
	   OR b.explanation <> s.explanation),
	0::bigint, 'batch (anchor NULL) rows = the rows of the single-anchor calls, anchor by anchor');
SELECT is((SELECT count(*) FROM batch b JOIN ic ON ic.item = b.anchor[1] WHERE ic.c < 4), 0::bigint,
	'batch: no anchor held by fewer than min_count baskets');

-- Carts of 2 products bought together at least 5 times.
CREATE TABLE carts AS SELECT i, j FROM (SELECT i, j, random() AS r FROM pc2 WHERE c >= 5 AND i < j ORDER BY i COLLATE "C", j COLLATE "C") s ORDER BY r LIMIT 6;
CREATE TABLE cart_rows AS
	SELECT c.i, c.j, g.* FROM carts c CROSS JOIN LATERAL bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY[c.i, c.j],
		max_size => 4, k => 5, min_count => 1, price => 'price') g;
SELECT cmp_ok((SELECT count(*) FROM cart_rows), '>=', 15::bigint, 'carts: at least 15 bundles for 6 carts');
SELECT is((SELECT count(*) FROM cart_rows WHERE anchor <> ARRAY[i, j] OR items[1:2] <> ARRAY[i, j] OR size < 3),
	0::bigint, 'carts: every bundle holds both cart products first, plus at least one more');
SELECT is((SELECT count(*) FROM cart_rows WHERE count <> cnt(items) OR NOT near(accept_probability, count / cnt(ARRAY[i, j]))),
	0::bigint, 'carts: accept_probability = count / baskets holding both cart products');

SELECT is((SELECT count(*) FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['999'])), 0::bigint,
	'an unknown anchor product: no rows, no error');
SELECT is((SELECT count(*) FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7', '999'])), 0::bigint,
	'a cart with an unknown product: no rows');

SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7'], max_size => 1)$$,
	'22023', NULL, 'max_size 1: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7'], max_size => 3, min_size => 4)$$,
	'22023', NULL, 'min_size > max_size: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7', '8', '9'], max_size => 3)$$,
	'22023', NULL, 'an anchor of max_size items: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7', NULL])$$,
	'22004', NULL, 'a NULL in the anchor: 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7'], price => 'price', max_price => -1)$$,
	'22023', NULL, 'a negative max_price: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7'], max_price => 20)$$,
	'22023', NULL, 'max_price without a price column: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7'], min_count => 0)$$,
	'22023', NULL, 'min_count 0: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7'], beam => 0)$$,
	'22023', NULL, 'beam 0: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('shop', 'order_no', 'product', ARRAY['7'], k => 0)$$,
	'22023', NULL, 'k 0: 22023');

SELECT * FROM finish();
ROLLBACK;
