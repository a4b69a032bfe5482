-- bundlerec.npmi(): the one implementation of (shrunk) npmi, which the
-- models' pair scores and bundle cohesion both use, against hand values;
-- and bundlerec._rank_pairs (a model's pairs stage, in C) against the same
-- ranking written in SQL, on random counts full of ties.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
BEGIN;
SELECT plan(13);
SELECT ok(abs(bundlerec.npmi(4, 5, 5, 8) - ln(1.28) / ln(2)) < 1e-12,
	'4 of 8 baskets hold both, 5 each: ln(4·8/25) / -ln(4/8) = ln 1.28 / ln 2');
SELECT ok(abs(bundlerec.npmi(4, 5, 5, 8, 10) - ln(1.28) / ln(2) * 4 / 14) < 1e-12,
	'shrinkage 10 multiplies by 4 / (4 + 10)');
SELECT ok(abs(bundlerec.npmi(2, 4, 4, 8)) < 1e-12, 'independent items (2·8 = 4·4): 0');
SELECT ok(abs(bundlerec.npmi(1, 4, 4, 8) - ln(0.5) / ln(8)) < 1e-12, 'fewer together than chance: ln 0.5 / ln 8 < 0');
SELECT is(bundlerec.npmi(0, 3, 4, 8), -1::float8, 'never bought together: -1');
SELECT is(bundlerec.npmi(8, 8, 8, 8), 1::float8, 'in every basket: 1');
SELECT throws_ok($$SELECT bundlerec.npmi(5, 4, 6, 8)$$, '22023', NULL, 'count above count_a: 22023');
SELECT throws_ok($$SELECT bundlerec.npmi(2, 4, 4, 8, -1)$$, '22023', NULL, 'negative shrinkage: 22023');

-- 60 items, random pair counts from few values (many equal scores)
SELECT setseed(0.31);
CREATE TABLE rp_items AS
	SELECT 'it' || i AS item, (5 + floor(random() * 4) * 5)::bigint AS orders FROM generate_series(1, 60) i;
CREATE TABLE rp_pairs AS
	SELECT a.item AS item_a, b.item AS item_b, least(a.orders, b.orders, 1 + floor(random() * 4))::bigint AS count
	FROM rp_items a JOIN rp_items b ON a.item < b.item COLLATE "C" WHERE random() < 0.5;
CREATE FUNCTION rp_sql(k integer, mc bigint) RETURNS TABLE (item text, rank integer, partner text, count bigint,
	item_orders bigint, partner_orders bigint, support float8, confidence float8, lift float8, npmi float8, score float8)
LANGUAGE sql AS $$
	WITH d AS (SELECT item_a AS item, item_b AS partner, count FROM rp_pairs WHERE count >= mc
	           UNION ALL SELECT item_b, item_a, count FROM rp_pairs WHERE count >= mc),
	m AS (SELECT d.*, ia.orders AS io, ib.orders AS po, bundlerec.npmi(d.count, ia.orders, ib.orders, 100) AS npmi,
	             bundlerec.npmi(d.count, ia.orders, ib.orders, 100, 10) AS score
	      FROM d JOIN rp_items ia ON ia.item = d.item JOIN rp_items ib ON ib.item = d.partner),
	r AS (SELECT m.*, row_number() OVER (PARTITION BY m.item ORDER BY m.score DESC, m.partner COLLATE "C") AS rank FROM m)
	SELECT item, rank::integer, partner, count, io, po, count::float8 / 100, count::float8 / io,
	       count::float8 * 100 / (io::float8 * po), npmi, score
	FROM r WHERE rank <= k
$$;
SELECT ok((SELECT count(*) FROM rp_pairs) > 800, 'the random counts hold over 800 pairs');
SELECT bag_eq($$SELECT * FROM bundlerec._rank_pairs('rp_pairs', NULL, 'rp_items', 100, 10, 5, 2)$$,
	$$SELECT * FROM rp_sql(5, 2)$$, '_rank_pairs = the SQL ranking: top 5, min_count 2, ties to the partner first in "C" order');
SELECT bag_eq($$SELECT * FROM bundlerec._rank_pairs('rp_pairs', NULL, 'rp_items', 100, 10, 1000, 1)$$,
	$$SELECT * FROM rp_sql(1000, 1)$$, '_rank_pairs = the SQL ranking: every partner, min_count 1');

-- with changes not yet folded in: new pairs, pairs gone, pairs crossing min_count
CREATE TABLE rp_delta AS
	SELECT p.item_a, p.item_b,
	       (CASE WHEN random() < 0.3 THEN -p.count
	             ELSE least(floor(random() * 5 - 1), least(a.orders, b.orders) - p.count) END)::bigint AS count
	FROM rp_pairs p JOIN rp_items a ON a.item = p.item_a JOIN rp_items b ON b.item = p.item_b
	WHERE random() < 0.4
	UNION ALL
	SELECT a.item, b.item, (1 + floor(random() * 3))::bigint
	FROM rp_items a JOIN rp_items b ON a.item < b.item COLLATE "C"
	WHERE NOT EXISTS (SELECT FROM rp_pairs p WHERE p.item_a = a.item AND p.item_b = b.item) AND random() < 0.2;
DELETE FROM rp_delta WHERE count = 0;
SELECT ok((SELECT count(*) FILTER (WHERE count < 0) > 50 AND count(*) > 300 FROM rp_delta),
	'the changes hold over 300 pairs, over 50 of them decreases');
CREATE TABLE rp_pairs_base AS SELECT * FROM rp_pairs;
TRUNCATE rp_pairs;
INSERT INTO rp_pairs
	SELECT item_a, item_b, sum(count)::bigint FROM (SELECT * FROM rp_pairs_base UNION ALL SELECT * FROM rp_delta) x
	GROUP BY 1, 2 HAVING sum(count) > 0;
SELECT bag_eq($$SELECT * FROM bundlerec._rank_pairs('rp_pairs_base', 'rp_delta', 'rp_items', 100, 10, 5, 3)$$,
	$$SELECT * FROM rp_sql(5, 3)$$, '_rank_pairs over counts plus changes = the SQL ranking over the folded counts');
SELECT * FROM finish();
ROLLBACK;
