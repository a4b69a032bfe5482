-- planted_bundles_bench: does a shop's planted bundle come first for each of
-- its items?  Run by planted_bundles_bench.sh once per variant.
-- psql variables: orders, bundles (planted bundles), bsize (items per
-- planted bundle), whole (share of orders holding one planted bundle whole),
-- partial (share of orders holding a planted bundle less one item, the
-- trap: a subset is then bought more often than the whole), skew (background
-- popularity exponent: item = 1 + floor(items * u^skew), u uniform; 1 is
-- uniform, larger is more skewed), items (catalogue), seed, variant (label).
--
-- Protocol:
--   Generator (seeded, one serial statement per table): every order draws
--   1 + floor(Exp(mean 3)) background items by the popularity above; with
--   probability whole it also holds planted bundle b (uniform over the
--   bundles) whole, else with probability partial bundle b less one item
--   (uniform).  Bundle b's items are spread over the popularity ranks:
--   item ((b-1)*bsize + j - 1) * stride + 1, stride = items / (bundles*bsize).
--   Measure, for every planted bundle and each of its items as the anchor:
--   planted-first = share of (bundle, item) whose rank-1 bundle is exactly
--   the planted item set, for
--     bundlerec  bundles_for_item(model, item, k => 1) of a model created
--                with default options and refreshed on the orders;
--     gen_min    generate_bundles(anchor => NULL, min_size => bsize,
--                max_size => bsize, k => 1): told the size in advance;
--     top_pairs  baseline: the anchor with its bsize-1 partners of highest
--                pair count (ties by item).
--     share_X    generate_bundles(anchor => NULL, k => 1, whole_share => X)
--                for X off (NULL: by score alone), 0, 0.5, 0.6, 0.65, 0.7,
--                0.75, 0.8:
--                a bundle one item larger than a better-scored bundle it
--                holds ranks above it when it holds at least X of its
--                orders and its count beats what its subsets predict (the
--                README, "Bundles"); the model's default is 0.7, so
--                bundlerec and share_0.7 agree.
--     max4       generate_bundles(anchor => NULL, max_size => 4, k => 1):
--                the default whole_share with room for 4-item bundles.
--   Nothing is tuned here; the same defaults serve every variant.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS planted;
SET search_path = planted, public;
DROP TABLE IF EXISTS lines, truth, res_gen, res_top;
SELECT bundlerec.drop_model('planted', if_exists => true);

SELECT setseed(:seed);
CREATE TABLE truth AS
	SELECT b, array_agg('i' || (((b - 1) * :bsize + j - 1) * (:items / (:bundles * :bsize)) + 1) ORDER BY j) AS items
	FROM generate_series(1, :bundles) b, generate_series(1, :bsize) j GROUP BY b;
CREATE TABLE lines AS
	WITH o AS MATERIALIZED (
		SELECT o, 1 + floor(-ln(1 - random()) * 3)::int AS n, random() AS r,
		       1 + floor(random() * :bundles)::int AS b, 1 + floor(random() * :bsize)::int AS drop
		FROM generate_series(1, :orders) o)
	SELECT o.o AS basket, 'i' || (1 + floor(:items * random() ^ :skew)::int) AS item
	FROM o CROSS JOIN LATERAL generate_series(1, o.n)
	UNION ALL
	SELECT o.o, t.items[j]
	FROM o JOIN truth t ON t.b = o.b CROSS JOIN LATERAL generate_series(1, :bsize) j
	WHERE o.r < :whole OR (o.r < :whole + :partial AND j <> o.drop);
ANALYZE lines;

SELECT bundlerec.create_model('planted', 'planted.lines', 'basket', 'item');
SELECT count(*) AS stages FROM bundlerec.refresh('planted');

CREATE TABLE res_gen AS
	SELECT (g.anchor)[1] AS anchor, g.items
	FROM bundlerec.generate_bundles('planted.lines', 'basket', 'item', anchor => NULL,
	       min_size => :bsize, max_size => :bsize, k => 1) g;
CREATE TABLE res_top AS
	WITH p AS (SELECT a.item AS anchor, b.item AS partner, count(DISTINCT a.basket) AS c
	           FROM lines a JOIN lines b ON a.basket = b.basket AND a.item <> b.item
	           WHERE a.item IN (SELECT unnest(items) FROM truth) GROUP BY 1, 2),
	     r AS (SELECT *, row_number() OVER (PARTITION BY anchor ORDER BY c DESC, partner) AS rn FROM p)
	SELECT anchor, anchor || array_agg(partner ORDER BY rn) AS items FROM r WHERE rn < :bsize GROUP BY anchor;

CREATE TEMP TABLE res_max4 AS
	SELECT (g.anchor)[1] AS anchor, g.items
	FROM bundlerec.generate_bundles('planted.lines', 'basket', 'item', anchor => NULL, max_size => 4, k => 1) g;
CREATE TEMP TABLE res_share AS
	SELECT w.label, (g.anchor)[1] AS anchor, g.items
	FROM (VALUES ('off', NULL), ('0', 0), ('0.5', 0.5), ('0.6', 0.6), ('0.65', 0.65), ('0.7', 0.7), ('0.75', 0.75),
	             ('0.8', 0.8)) w(label, share)
	CROSS JOIN LATERAL bundlerec.generate_bundles('planted.lines', 'basket', 'item', anchor => NULL,
	       k => 1, whole_share => w.share::float8) g;

WITH a AS (SELECT t.b, t.items, x.item FROM truth t CROSS JOIN LATERAL unnest(t.items) x(item)),
     s AS (
	SELECT a.*,
	       (SELECT f.items FROM bundlerec.bundles_for_item('planted', a.item, k => 1) f) AS br,
	       (SELECT g.items FROM res_gen g WHERE g.anchor = a.item) AS gm,
	       (SELECT p.items FROM res_top p WHERE p.anchor = a.item) AS tp,
	       (SELECT m.items FROM res_max4 m WHERE m.anchor = a.item) AS m4
	FROM a),
     j AS (SELECT s.*,
	       coalesce(br @> items AND br <@ items, false) AS br_ok,
	       coalesce(gm @> items AND gm <@ items, false) AS gm_ok,
	       coalesce(tp @> items AND tp <@ items, false) AS tp_ok,
	       coalesce(m4 @> items AND m4 <@ items, false) AS m4_ok,
	       coalesce(br <@ items AND cardinality(br) < cardinality(items), false) AS br_sub
	       FROM s),
     w AS (SELECT string_agg(format('share_%s %s', x.label, x.ok), ' | ' ORDER BY x.o) AS shares
           FROM (SELECT r.label, min(v.o) AS o,
                        round(avg(coalesce(r.items @> a.items AND r.items <@ a.items, false)::int), 3) AS ok
                 FROM a JOIN res_share r ON r.anchor = a.item
                 JOIN (VALUES ('off', 0), ('0', 1), ('0.5', 2), ('0.6', 3), ('0.65', 4), ('0.7', 5), ('0.75', 6),
                              ('0.8', 7)) v(label, o)
                   ON v.label = r.label
                 GROUP BY r.label) x)
SELECT :'variant' AS variant, count(*) AS anchors,
       round(avg(br_ok::int), 3) AS bundlerec, round(avg(gm_ok::int), 3) AS gen_min,
       round(avg(tp_ok::int), 3) AS top_pairs, round(avg(m4_ok::int), 3) AS max4,
       round(avg(br_sub::int), 3) AS bundlerec_subset_first, (SELECT shares FROM w) AS shares
FROM j \gset
\echo :variant | anchors :anchors | bundlerec :bundlerec | bundlerec lost to a subset :bundlerec_subset_first | gen_min :gen_min | top_pairs :top_pairs | max4 :max4 | :shares
