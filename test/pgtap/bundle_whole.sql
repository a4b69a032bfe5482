-- bundle_whole.sql: a bundle bought whole ranks above its own subsets
-- (generate_bundles' whole_share, a model's bundle_whole_share).
--   1. Bought whole: a, b, c together in 20 of 200 orders, a and b alone
--      in 4 more.  By score the pair {a, b} comes first for a (cohesion is
--      a mean over pairs); the triple holds 20/24 of the pair's orders and
--      its count beats what its subsets predict, so it ranks first.
--   2. Not supported: {a, b} in 23 orders, c with them in only 3: the pair
--      stays first, also with whole_share 0 (the test alone).
--   3. Popular third item: c in 161 of 200 orders, with {a, b} in 4 of their
--      5: the share passes but the count is below what chance predicts; the
--      pair stays first.
--   4. Two larger bundles: a and b in 40 orders, with c in 20 of them and
--      with d in the other 20; both triples qualify, only the better-scored
--      one goes above the pair, the other keeps its place.
--   5. The model option reaches bundles_for_item; errors.
-- Counts, expectations and likelihood ratios are computed here in SQL from
-- the fixture; the critical value at p = 0.001 / 11 items (one degree of
-- freedom) is 15.32 (by hand: z = 3.914 for a two-sided normal tail of
-- 9.1e-5, z^2 = 15.32), far from every G below.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(23);

CREATE SCHEMA tap_bundle_whole;
SET LOCAL search_path = tap_bundle_whole, public;

-- noise: orders 25..200 each hold n(o % 8); orders above 100 also
-- n((3 o) % 8), so the noise items meet each other, never a or b
CREATE FUNCTION noise() RETURNS TABLE (basket int, item text) LANGUAGE sql AS $$
	SELECT o, 'n' || (o % 8) FROM generate_series(25, 200) o
	UNION
	SELECT o, 'n' || ((3 * o) % 8) FROM generate_series(101, 200) o
$$;
CREATE TABLE whole AS
	SELECT * FROM noise()
	UNION ALL SELECT o, x FROM generate_series(1, 20) o, unnest(ARRAY['a', 'b', 'c']) x
	UNION ALL SELECT o, x FROM generate_series(21, 24) o, unnest(ARRAY['a', 'b']) x;
CREATE TABLE unsupported AS
	SELECT * FROM noise()
	UNION ALL SELECT o, x FROM generate_series(1, 3) o, unnest(ARRAY['a', 'b', 'c']) x
	UNION ALL SELECT o, x FROM generate_series(4, 23) o, unnest(ARRAY['a', 'b']) x
	UNION ALL SELECT o, 'c' FROM generate_series(101, 110) o;
CREATE TABLE popular AS
	SELECT * FROM noise()
	UNION ALL SELECT o, x FROM generate_series(1, 4) o, unnest(ARRAY['a', 'b']) x
	UNION ALL SELECT o, 'a' FROM generate_series(5, 5) o
	UNION ALL SELECT o, 'b' FROM generate_series(5, 5) o
	UNION ALL SELECT o, 'c' FROM generate_series(1, 162) o WHERE o <> 5;

CREATE TABLE two AS
	SELECT * FROM noise() WHERE basket > 40
	UNION ALL SELECT o, x FROM generate_series(1, 20) o, unnest(ARRAY['a', 'b', 'c']) x
	UNION ALL SELECT o, x FROM generate_series(21, 40) o, unnest(ARRAY['a', 'b', 'd']) x;

-- c_X in a fixture; e = max over i of c_{B-i} c_i / N; G the Poisson
-- likelihood ratio of c_B against e (0 when c_B <= e)
CREATE FUNCTION cnt(t regclass, s text[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM (SELECT basket FROM %s GROUP BY basket HAVING array_agg(item) @> $1) x', t)
		INTO n USING s;
	RETURN n;
END $$;
CREATE FUNCTION g(t regclass, b text[]) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	n float8 := cnt(t, '{}');
	cb float8 := cnt(t, b);
	e float8;
BEGIN
	SELECT max(cnt(t, array_remove(b, i)) * cnt(t, ARRAY[i]) / n) INTO e FROM unnest(b) i;
	RETURN CASE WHEN cb > e THEN 2 * (cb * ln(cb / e) - (cb - e)) ELSE 0 END;
END $$;
CREATE FUNCTION ranked(t regclass, a text, share float8) RETURNS text[] LANGUAGE sql AS $$
	SELECT array_agg(array_to_string(g.items, '') ORDER BY g.rank)
	FROM bundlerec.generate_bundles(t, 'basket', 'item', ARRAY[a], whole_share => share) g
$$;

------------------------------------------------------------------------------
-- 1. Bought whole
------------------------------------------------------------------------------
SELECT is(ARRAY[cnt('whole', '{}'), cnt('whole', '{a,b}'), cnt('whole', '{a,b,c}'), cnt('whole', '{a}'), cnt('whole', '{c}')],
	ARRAY[200, 24, 20, 24, 20]::bigint[], 'whole: N 200, c_ab 24, c_abc 20, c_a 24, c_c 20');
SELECT ok(g('whole', '{a,b,c}') > 40 AND cnt('whole', '{a,b,c}')::float8 / cnt('whole', '{a,b}') > 0.8,
	format('whole: G = %s against e = 24 * 20 / 200 = 2.4 (well above 15.32), and c_abc / c_ab = 20/24',
	       round(g('whole', '{a,b,c}')::numeric, 2)));
SELECT is(ranked('whole', 'a', NULL), ARRAY['ab', 'abc', 'ac'],
	'whole, by score alone (whole_share NULL): the pair {a, b} first (its npmi 1 beats the triple''s mean)');
SELECT is(ranked('whole', 'a', 0.5), ARRAY['abc', 'ab', 'ac'],
	'whole, whole_share 0.5: the triple first, then its subsets by score');
SELECT is((SELECT array_agg(array_to_string(g.items, '') ORDER BY g.rank)
	FROM bundlerec.generate_bundles('whole', 'basket', 'item', ARRAY['a']) g), ARRAY['abc', 'ab', 'ac'],
	'whole: the default whole_share 0.7 puts the triple (20/24 of the pair''s orders) first');
SELECT is(ranked('whole', 'a', 0.9), ARRAY['ab', 'abc', 'ac'],
	'whole, whole_share 0.9: 20/24 of the pair''s orders is not enough, the pair stays first');
SELECT is((SELECT array_agg(g.score::numeric(10, 9) ORDER BY g.score DESC)
	FROM bundlerec.generate_bundles('whole', 'basket', 'item', ARRAY['a']) g),
	(SELECT array_agg(g.score::numeric(10, 9) ORDER BY g.score DESC)
	FROM bundlerec.generate_bundles('whole', 'basket', 'item', ARRAY['a'], whole_share => NULL) g),
	'whole: only the order changes, not the scores');
SELECT is((SELECT array_agg(g.rank ORDER BY g.rank) FROM bundlerec.generate_bundles('whole', 'basket', 'item', ARRAY['a']) g),
	ARRAY[1, 2, 3], 'whole: ranks 1..3 in the new order');
SELECT is((SELECT array_agg(array_to_string(g.items, '') ORDER BY g.rank)
	FROM bundlerec.generate_bundles('whole', 'basket', 'item', ARRAY['b'], k => 1) g), ARRAY['bac'],
	'whole, k 1: the triple is found below the first k and brought up');

------------------------------------------------------------------------------
-- 2. Not supported
------------------------------------------------------------------------------
SELECT is(ARRAY[cnt('unsupported', '{a,b}'), cnt('unsupported', '{a,b,c}'), cnt('unsupported', '{c}')],
	ARRAY[23, 3, 13]::bigint[], 'unsupported: c_ab 23, c_abc 3, c_c 13');
SELECT ok(g('unsupported', '{a,b,c}') < 2,
	format('unsupported: G = %s against e = 23 * 13 / 200 = 1.495 (far below 15.32)',
	       round(g('unsupported', '{a,b,c}')::numeric, 2)));
SELECT is((ranked('unsupported', 'a', 0.5))[1], 'ab', 'unsupported, whole_share 0.5: the pair first (3/23 of its orders)');
SELECT is((ranked('unsupported', 'a', 0))[1], 'ab', 'unsupported, whole_share 0: the pair first (not significant)');

------------------------------------------------------------------------------
-- 3. Popular third item
------------------------------------------------------------------------------
SELECT is(ARRAY[cnt('popular', '{a,b}'), cnt('popular', '{a,b,c}'), cnt('popular', '{c}')],
	ARRAY[5, 4, 161]::bigint[], 'popular: c_ab 5, c_abc 4, c_c 161');
SELECT is(g('popular', '{a,b,c}'), 0::float8, 'popular: c_abc = 4 is below e = 5 * 161 / 200 = 4.025, so G = 0');
SELECT is((ranked('popular', 'a', 0.5))[1], 'ab', 'popular, whole_share 0.5: the pair first (4/5 of its orders, but chance)');

------------------------------------------------------------------------------
-- 4. Two larger bundles
------------------------------------------------------------------------------
SELECT ok(g('two', '{a,b,c}') > 30 AND g('two', '{a,b,d}') > 30 AND cnt('two', '{a,b,c}') = 20
	AND cnt('two', '{a,b,d}') = 20 AND cnt('two', '{a,b}') = 40 AND cnt('two', '{}') = 200,
	format('two: c_ab 40, c_abc = c_abd = 20 (share 0.5), G = %s each against e = 40 * 20 / 200 = 4',
	       round(g('two', '{a,b,c}')::numeric, 2)));
SELECT is(ranked('two', 'a', NULL), ARRAY['ab', 'abc', 'abd', 'ac', 'ad'], 'two, by score alone: the pair, the triples, the other pairs');
SELECT is(ranked('two', 'a', 0.5), ARRAY['abc', 'ab', 'abd', 'ac', 'ad'],
	'two, whole_share 0.5: the better triple (a tie, by key) above the pair, the other one below it');

------------------------------------------------------------------------------
-- 5. Models and errors
------------------------------------------------------------------------------
SELECT bundlerec.create_model('bw_on', 'tap_bundle_whole.whole', 'basket', 'item',
	options => '{"rules": false, "embeddings": false}') IS NOT NULL AS m1 \gset
SELECT bundlerec.create_model('bw_off', 'tap_bundle_whole.whole', 'basket', 'item',
	options => '{"rules": false, "embeddings": false, "bundle_whole_share": null}') IS NOT NULL AS m2 \gset
SELECT count(*) AS n_on FROM bundlerec.refresh('bw_on') \gset
SELECT count(*) AS n_off FROM bundlerec.refresh('bw_off') \gset
SELECT is(ARRAY[(SELECT array_to_string(f.items, '') FROM bundlerec.bundles_for_item('bw_on', 'a', k => 1) f),
                (SELECT array_to_string(f.items, '') FROM bundlerec.bundles_for_item('bw_off', 'a', k => 1) f)],
	ARRAY['abc', 'ab'], 'models: bundles_for_item gives the triple by default, the pair with bundle_whole_share null');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('tap_bundle_whole.whole', 'basket', 'item', ARRAY['a'], whole_share => 1.5)$$,
	'22023', 'whole_share must be between 0 and 1, not 1.5', 'whole_share above 1: 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.generate_bundles('tap_bundle_whole.whole', 'basket', 'item', ARRAY['a'], whole_share => 'NaN')$$,
	'22023', NULL, 'whole_share NaN: 22023');
SELECT throws_ok($$SELECT bundlerec.create_model('bw_bad', 'tap_bundle_whole.whole', 'basket', 'item', options => '{"bundle_whole_share": 2}')$$,
	'22023', NULL, 'model option bundle_whole_share above 1: 22023');

SELECT * FROM finish();
ROLLBACK;
