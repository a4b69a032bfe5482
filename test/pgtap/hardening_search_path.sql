-- hardening_search_path.sql: no SQL that bundlerec builds or runs can be
-- hijacked through search_path.  A schema "evil" holds look-alikes of the
-- operators, functions, aggregates and type names such queries use, each
-- recording its name when it runs; every engine entry point, helper and
-- type I/O function (text in/out, binary send/receive by COPY BINARY) is
-- called with evil first on search_path and again with evil last, and no
-- look-alike may have run.  Two sanity checks show that the look-alikes do capture
-- unqualified SQL in both positions.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(76);

CREATE SCHEMA tap_hardening;
CREATE SCHEMA evil;
SET LOCAL search_path = tap_hardening, public;
SET LOCAL jit = off;

-- record (once) that look-alike what ran; qualified names only, as it runs
-- under the hostile search_path
CREATE FUNCTION evil.hit(what text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	RAISE NOTICE 'hijacked %', what;
	IF pg_catalog.strpos(pg_catalog.current_setting('evil.hits', true), pg_catalog.concat('[', what, ']'))
		OPERATOR(pg_catalog.=) 0 THEN
		PERFORM pg_catalog.set_config('evil.hits',
			pg_catalog.concat(pg_catalog.current_setting('evil.hits', true), '[', what, ']'), true);
	END IF;
	RETURN true;
END
$$;

-- operators: comparisons on every type pair the engines' queries could
-- meet, arithmetic on numbers and on time
DO $$
DECLARE
	r record;
	fn text;
	i int := 0;
BEGIN
	FOR r IN
		SELECT o.op, t.l, t.r, CASE WHEN o.op IN ('+', '-', '*', '/') THEN t.l ELSE 'boolean' END AS ret
		FROM (VALUES ('>'), ('>='), ('<'), ('<='), ('='), ('<>'), ('+'), ('-'), ('*'), ('/')) o(op),
		     (VALUES ('numeric', 'integer'), ('numeric', 'numeric'), ('integer', 'integer'),
		             ('bigint', 'bigint'), ('bigint', 'integer'), ('double precision', 'double precision'),
		             ('double precision', 'integer'), ('real', 'real'), ('smallint', 'integer')) t(l, r)
		UNION ALL
		SELECT o.op, t.l, t.l, 'boolean'
		FROM (VALUES ('>'), ('>='), ('<'), ('<='), ('='), ('<>')) o(op),
		     (VALUES ('text'), ('timestamptz'), ('timestamp'), ('date')) t(l)
		UNION ALL
		SELECT o.op, t.l, 'interval', t.ret
		FROM (VALUES ('+'), ('-')) o(op),
		     (VALUES ('timestamptz', 'timestamptz'), ('timestamp', 'timestamp'), ('date', 'timestamp')) t(l, ret)
	LOOP
		i := i + 1;
		fn := 'evil.op' || i;
		EXECUTE format('CREATE FUNCTION %s(a %s, b %s) RETURNS %s LANGUAGE plpgsql AS $f$
			BEGIN PERFORM evil.hit(%L); RETURN a OPERATOR(pg_catalog.%s) b; END $f$',
			fn, r.l, r.r, r.ret, format('%s(%s,%s)', r.op, r.l, r.r), r.op);
		EXECUTE format('CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s)',
			r.op, r.l, r.r, fn);
	END LOOP;
END
$$;

-- functions, aggregates and type names
CREATE FUNCTION evil.ln(float8) RETURNS float8 LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('ln'); RETURN pg_catalog.ln($1); END $$;
CREATE FUNCTION evil.sqrt(float8) RETURNS float8 LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('sqrt'); RETURN pg_catalog.sqrt($1); END $$;
CREATE FUNCTION evil.exp(float8) RETURNS float8 LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('exp'); RETURN pg_catalog.exp($1); END $$;
CREATE FUNCTION evil.abs(float8) RETURNS float8 LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('abs'); RETURN pg_catalog.abs($1); END $$;
CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('lower'); RETURN pg_catalog.lower($1); END $$;
CREATE FUNCTION evil.length(text) RETURNS integer LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('length'); RETURN pg_catalog.length($1); END $$;
CREATE FUNCTION evil.cardinality(text[]) RETURNS integer LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('cardinality'); RETURN pg_catalog.cardinality($1); END $$;
CREATE FUNCTION evil.array_remove(text[], text) RETURNS text[] LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('array_remove'); RETURN pg_catalog.array_remove($1, $2); END $$;
CREATE FUNCTION evil.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('unnest'); RETURN QUERY SELECT pg_catalog.unnest($1); END $$;
CREATE FUNCTION evil.format(text, text) RETURNS text LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('format'); RETURN ''; END $$;
CREATE FUNCTION evil.f8_sf(float8, float8) RETURNS float8 LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('float8 aggregate'); RETURN coalesce($1, 0) OPERATOR(pg_catalog.+) $2; END $$;
CREATE FUNCTION evil.i8_sf(bigint, bigint) RETURNS bigint LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('bigint aggregate'); RETURN coalesce($1, 0) OPERATOR(pg_catalog.+) $2; END $$;
CREATE FUNCTION evil.n_sf(numeric, numeric) RETURNS numeric LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('numeric aggregate'); RETURN coalesce($1, 0) OPERATOR(pg_catalog.+) $2; END $$;
CREATE FUNCTION evil.count_sf(bigint) RETURNS bigint LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('count(*)'); RETURN $1 OPERATOR(pg_catalog.+) 1; END $$;
CREATE FUNCTION evil.ts_sf(timestamptz, timestamptz) RETURNS timestamptz LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('timestamptz aggregate'); RETURN coalesce($2, $1); END $$;
CREATE FUNCTION evil.t_sf(text, text) RETURNS text LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('text aggregate'); RETURN $2; END $$;
CREATE FUNCTION evil.t3_sf(text, text, text) RETURNS text LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('string_agg'); RETURN $2; END $$;
CREATE FUNCTION evil.ta_sf(text[], text) RETURNS text[] LANGUAGE plpgsql AS
	$$ BEGIN PERFORM evil.hit('array_agg'); RETURN pg_catalog.array_append($1, $2); END $$;
CREATE AGGREGATE evil.avg(float8) (SFUNC = evil.f8_sf, STYPE = float8);
CREATE AGGREGATE evil.sum(float8) (SFUNC = evil.f8_sf, STYPE = float8);
CREATE AGGREGATE evil.avg(numeric) (SFUNC = evil.n_sf, STYPE = numeric);
CREATE AGGREGATE evil.sum(numeric) (SFUNC = evil.n_sf, STYPE = numeric);
CREATE AGGREGATE evil.sum(bigint) (SFUNC = evil.i8_sf, STYPE = bigint);
CREATE AGGREGATE evil.max(bigint) (SFUNC = evil.i8_sf, STYPE = bigint);
CREATE AGGREGATE evil.max(float8) (SFUNC = evil.f8_sf, STYPE = float8);
CREATE AGGREGATE evil.count(*) (SFUNC = evil.count_sf, STYPE = bigint, INITCOND = '0');
CREATE AGGREGATE evil.max(timestamptz) (SFUNC = evil.ts_sf, STYPE = timestamptz);
CREATE AGGREGATE evil.min(timestamptz) (SFUNC = evil.ts_sf, STYPE = timestamptz);
CREATE AGGREGATE evil.mode(ORDER BY text) (SFUNC = evil.t_sf, STYPE = text);
CREATE AGGREGATE evil.array_agg(text) (SFUNC = evil.ta_sf, STYPE = text[]);
CREATE AGGREGATE evil.string_agg(text, text) (SFUNC = evil.t3_sf, STYPE = text);
CREATE DOMAIN evil.text AS pg_catalog.text CHECK (evil.hit('type text'));
CREATE DOMAIN evil.float8 AS pg_catalog.float8 CHECK (evil.hit('type float8'));
CREATE DOMAIN evil.float4 AS pg_catalog.float4 CHECK (evil.hit('type float4'));
CREATE DOMAIN evil.int8 AS pg_catalog.int8 CHECK (evil.hit('type int8'));
CREATE DOMAIN evil.jsonb AS pg_catalog.jsonb CHECK (evil.hit('type jsonb'));

-- Run stmt with evil first (or last) on search_path; the look-alikes that
-- ran, or '' when none did.  Only qualified names are used while evil is on
-- the path.
CREATE FUNCTION under_evil(stmt text, evil_first boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	old text := pg_catalog.current_setting('search_path');
	hits text;
BEGIN
	PERFORM pg_catalog.set_config('evil.hits', '', true);
	IF evil_first THEN
		PERFORM pg_catalog.set_config('search_path', 'evil, pg_catalog, tap_hardening, public', true);
	ELSE
		PERFORM pg_catalog.set_config('search_path', 'tap_hardening, public, evil', true);
	END IF;
	EXECUTE stmt;
	PERFORM pg_catalog.set_config('search_path', old, true);
	hits := pg_catalog.current_setting('evil.hits');
	RETURN hits;
END
$$;

-- sanity: unqualified SQL is captured with evil first and with evil last
SELECT isnt(under_evil($$SELECT 2.5 > 1$$, true), '', 'a look-alike operator captures unqualified SQL with evil first');
SELECT isnt(under_evil($$SELECT 2.5 > 1$$, false), '', 'a look-alike operator captures unqualified SQL with evil last');

------------------------------------------------------------------------------
-- fixture: 12 orders of 8 customers over 6 products with prices, dates and
-- categories; a product table; bundles taken by customers
------------------------------------------------------------------------------
CREATE TABLE lines (basket int, customer text, item text, price numeric,
	qty int, ordered_at timestamptz, category text, name text);
INSERT INTO lines
SELECT o, 'c' || (o % 8), 'p' || i, (10 + i)::numeric, 1 + (o + i) % 3,
	'2024-01-01'::timestamptz + o * interval '3 days', CASE WHEN i <= 3 THEN 'x' ELSE 'y' END,
	CASE WHEN i = 6 THEN NULL WHEN o % 4 = 0 THEN ' product ' || i ELSE 'product ' || i END
FROM generate_series(1, 12) o, generate_series(1, 6) i
WHERE (o + i) % 3 <> 0 OR i = 1;
CREATE TABLE products (item text, color text, name text, price numeric);
INSERT INTO products
SELECT 'p' || i, CASE WHEN i % 2 = 0 THEN 'red' ELSE 'blue' END, 'product ' || i, 10 + i
FROM generate_series(1, 6) i;
CREATE TABLE bundles (bundle text, item text);
INSERT INTO bundles VALUES ('b1', 'p1'), ('b1', 'p2'), ('b2', 'p3'), ('b2', 'p4'), ('b3', 'p5'), ('b3', 'p6');
CREATE TABLE customer_bundles (customer text, bundle text);
INSERT INTO customer_bundles
SELECT 'c' || c, 'b' || (1 + (c + k) % 3) FROM generate_series(0, 7) c, generate_series(0, 1) k;
CREATE TABLE als_log AS SELECT * FROM bundlerec.als_train('lines', 'customer', 'item', 'cf', 'itf', factors => 2, iterations => 2);
CREATE TABLE ease_nb AS SELECT * FROM bundlerec.ease('lines', 'customer', 'item');
CREATE TABLE cust_nb AS SELECT * FROM bundlerec.customer_neighbors('lines', 'customer', 'item');
CREATE TABLE rules AS SELECT * FROM bundlerec.association_rules('lines', 'basket', 'item', 0.1, 0.1);
CREATE TABLE pc AS SELECT bundlerec.pair_counts(b) AS v
	FROM (SELECT pg_catalog.array_agg(item) b FROM lines GROUP BY basket) s;
CREATE TABLE bs AS SELECT bundlerec.basket_set(b) AS v
	FROM (SELECT pg_catalog.array_agg(item) b FROM lines GROUP BY basket) s;
-- what the type I/O calls read back: text round trips, COPY BINARY copies
CREATE TABLE io_text (what text, same boolean);
CREATE TABLE pc_back (LIKE pc);
CREATE TABLE bs_back (LIKE bs);

------------------------------------------------------------------------------
-- every entry point, evil first and evil last: no look-alike runs
------------------------------------------------------------------------------
CREATE TABLE calls (id int, name text, stmt text);
INSERT INTO calls VALUES
	(1, 'item_pairs', $$SELECT pg_catalog.count(*) FROM bundlerec.item_pairs('lines', 'basket', 'item', top_k => 3, rank_by => 'lift')$$),
	(2, 'pair_counts and pairs', $$SELECT pg_catalog.count(*) FROM tap_hardening.pc, bundlerec.pairs(pc.v, min_support => 0.1)$$),
	(3, 'frequent_itemsets', $$SELECT pg_catalog.count(*) FROM bundlerec.frequent_itemsets('lines', 'basket', 'item', 0.1)$$),
	(4, 'association_rules', $$SELECT pg_catalog.count(*) FROM bundlerec.association_rules('lines', 'basket', 'item', 0.1, 0.1)$$),
	(5, 'itemsets and rules of a basketset', $$SELECT pg_catalog.count(*) FROM tap_hardening.bs, bundlerec.rules(bs.v, 0.1, 0.1)$$),
	(6, 'complete_cart_rules', $$SELECT pg_catalog.count(*) FROM bundlerec.complete_cart_rules(ARRAY['p1'], 'rules')$$),
	(7, 'interactions', $$SELECT pg_catalog.count(*) FROM bundlerec.interactions('lines', 'customer', 'item', basket => 'basket', ordered_at => 'ordered_at', half_life => '30 days')$$),
	(8, 'als_train', $$SELECT pg_catalog.count(*) FROM bundlerec.als_train('lines', 'customer', 'item', 'cf_%s', 'itf_%s', weight => 'qty', factors => 2, iterations => 2)$$),
	(9, 'als_recommend', $$SELECT pg_catalog.count(*) FROM bundlerec.als_recommend(ARRAY[0.5, 0.25]::pg_catalog.float4[], 'itf', exclude => ARRAY['p1'])$$),
	(10, 'als_fold_in', $$SELECT bundlerec.als_fold_in(ARRAY['p1', 'p2'], 'itf', weights => ARRAY[1, 2]::pg_catalog.float8[])$$),
	(11, 'als_recommend_all and als_similar_items', $$SELECT (SELECT pg_catalog.count(*) FROM bundlerec.als_recommend_all('cf', 'itf')), (SELECT pg_catalog.count(*) FROM bundlerec.als_similar_items('itf'))$$),
	(12, 'ease', $$SELECT pg_catalog.count(*) FROM bundlerec.ease('lines', 'customer', 'item', weight => 'qty', neighbors => ARRAY['p1'])$$),
	(13, 'item_neighbors', $$SELECT pg_catalog.count(*) FROM bundlerec.item_neighbors('lines', 'customer', 'item', rating => 'qty', measure => 'pearson')$$),
	(14, 'customer_neighbors', $$SELECT pg_catalog.count(*) FROM bundlerec.customer_neighbors('lines', 'customer', 'item', rating => 'qty')$$),
	(15, 'content_neighbors', $$SELECT pg_catalog.count(*) FROM bundlerec.content_neighbors('products', 'item', ARRAY['color'], name => 'name', price => 'price')$$),
	(16, 'recommend_from_neighbors', $$SELECT pg_catalog.count(*) FROM bundlerec.recommend_from_neighbors(ARRAY['p1', 'p2'], 'ease_nb', ratings => ARRAY[1, 2]::pg_catalog.float8[])$$),
	(17, 'recommend_from_customer_neighbors', $$SELECT pg_catalog.count(*) FROM bundlerec.recommend_from_customer_neighbors('c1', 'cust_nb', 'lines', 'customer', 'item', rating => 'qty')$$),
	(18, 'generate_bundles', $$SELECT pg_catalog.count(*) FROM bundlerec.generate_bundles('lines', 'basket', 'item', ARRAY['p1'], min_count => 1, price => 'price', category => 'category', ordered_at => 'ordered_at', history => ARRAY['p2'], customer_vector => ARRAY[0.5, 0.25]::pg_catalog.float4[], item_factors => 'itf', max_price => 100)$$),
	(19, 'bundle_score', $$SELECT bundlerec.bundle_score('lines', 'basket', 'item', ARRAY['p1', 'p2'], anchor => ARRAY['p1'], price => 'price', ordered_at => 'ordered_at', history => ARRAY['p3'], customer_vector => ARRAY[0.5, 0.25]::pg_catalog.float4[], item_factors => 'itf')$$),
	(20, 'bundle_score without ordered_at', $$SELECT bundlerec.bundle_score('lines', 'basket', 'item', ARRAY['p1', 'p2'], price => 'price')$$),
	(21, 'rank_bundles', $$SELECT pg_catalog.count(*) FROM bundlerec.rank_bundles('bundles', 'customer_bundles', 'lines', min_item_count => 1, cohesion_weight => 1)$$),
	(22, 'factors_dot and beta_sample', $$SELECT bundlerec.factors_dot(ARRAY[1, 2]::pg_catalog.float4[], ARRAY[3, 4]::pg_catalog.float4[]), bundlerec.beta_sample(2, 3)$$),
	-- the model layer: one model per run (sp_first, sp_last)
	(23, 'create_model', $$SELECT bundlerec.create_model('sp_%s', 'lines', 'basket', 'item', customer => 'customer', ordered_at => 'ordered_at', quantity => 'qty', price => 'price', category => 'category', options => '{"factors": 2, "iterations": 2, "rules_min_support": 0.1, "min_count": 1, "max_basket_items": 5}', item_name => 'name')$$),
	(24, 'refresh', $$SELECT pg_catalog.count(*) FROM bundlerec.refresh('sp_%s')$$),
	(25, 'refresh, incremental', $$SELECT pg_catalog.count(*) FROM bundlerec.refresh('sp_%s', incremental => true)$$),
	(26, 'serving by item', $$SELECT (SELECT pg_catalog.count(*) FROM bundlerec.frequently_bought_together('sp_%s', 'p1')), (SELECT pg_catalog.count(*) FROM bundlerec.similar_items('sp_%s', 'p2')), (SELECT pg_catalog.count(*) FROM bundlerec.complete_cart('sp_%s', ARRAY['p1', 'p2'])), (SELECT pg_catalog.count(*) FROM bundlerec.bundles_for_item('sp_%s', 'p1', explore => true))$$),
	(27, 'serving by customer', $$SELECT (SELECT pg_catalog.count(*) FROM bundlerec.bundles_for_customer('sp_%s', 'c1', explore => true)), (SELECT pg_catalog.count(*) FROM bundlerec.recommend_items('sp_%s', 'c2', exclude_bought => true))$$),
	(28, 'feedback and thompson_draw', $$SELECT bundlerec.record_feedback('sp_%s', ARRAY['p1', 'p2'], 3, 1), bundlerec.purge_feedback('sp_%s', '1 day'), bundlerec.thompson_draw(0.3, 10, 2)$$),
	(29, 'evaluate', $$SELECT pg_catalog.count(*) FROM bundlerec.evaluate('sp_%s', '2024-01-25')$$),
	(30, 'npmi', $$SELECT bundlerec.npmi(2, 4, 4, 8, 10)$$),
	(31, 'drop_model', $$SELECT bundlerec.drop_model('sp_%s')$$),
	(32, 'bundle_key', $$SELECT bundlerec.bundle_key(ARRAY['p2', 'p1', 'p2', NULL])$$),
	(33, 'check_array', $$SELECT bundlerec.check_array(ARRAY[1.5, 2]::pg_catalog.float8[], 'a'), bundlerec.check_array(ARRAY[1.5]::pg_catalog.float4[], 'b'), bundlerec.check_array(ARRAY['p1'], 'c')$$),
	(34, 'model_defaults', $$SELECT bundlerec.model_defaults()$$),
	(35, 'text input and output of paircounts and basketset', $$INSERT INTO tap_hardening.io_text
		SELECT 'paircounts', bundlerec.paircounts_send(pc.v::pg_catalog.text::bundlerec.paircounts) OPERATOR(pg_catalog.=) bundlerec.paircounts_send(pc.v)
		  AND bundlerec.paircounts_send(bundlerec.paircounts_in(bundlerec.paircounts_out(pc.v))) OPERATOR(pg_catalog.=) bundlerec.paircounts_send(pc.v)
		FROM tap_hardening.pc
		UNION ALL
		SELECT 'basketset', bundlerec.basketset_send(bs.v::pg_catalog.text::bundlerec.basketset) OPERATOR(pg_catalog.=) bundlerec.basketset_send(bs.v)
		  AND bundlerec.basketset_send(bundlerec.basketset_in(bundlerec.basketset_out(bs.v))) OPERATOR(pg_catalog.=) bundlerec.basketset_send(bs.v)
		FROM tap_hardening.bs$$);
-- COPY BINARY sends and receives through files in the data directory; the
-- reading program removes them
INSERT INTO calls
SELECT 36, 'binary send and receive (COPY BINARY) of paircounts and basketset',
	pg_catalog.format($f$DO $d$ BEGIN
		COPY tap_hardening.pc TO %1$L (FORMAT binary);
		COPY tap_hardening.pc_back FROM PROGRAM %2$L (FORMAT binary);
		COPY tap_hardening.bs TO %3$L (FORMAT binary);
		COPY tap_hardening.bs_back FROM PROGRAM %4$L (FORMAT binary);
	END $d$$f$, f.pc, pg_catalog.format('cat ''%1$s'' && rm -f ''%1$s''', f.pc),
	f.bs, pg_catalog.format('cat ''%1$s'' && rm -f ''%1$s''', f.bs))
FROM (SELECT d || '/bundlerec_io_pc_' || pg_backend_pid() || '.bin' AS pc,
             d || '/bundlerec_io_bs_' || pg_backend_pid() || '.bin' AS bs
      FROM pg_catalog.current_setting('data_directory') d) f;

SELECT is(under_evil(pg_catalog.replace(c.stmt, '%s', CASE WHEN f THEN 'first' ELSE 'last' END), f), '',
	c.name || ': no look-alike runs with evil ' || CASE WHEN f THEN 'first' ELSE 'last' END || ' on search_path')
FROM calls c, (VALUES (true), (false)) v(f)
ORDER BY c.id, NOT f;

-- the type I/O calls above did run, both times, and gave the values back
SELECT is((SELECT pg_catalog.string_agg(what || ' ' || same, ', ' ORDER BY what, same) FROM io_text),
	'basketset true, basketset true, paircounts true, paircounts true',
	'text output and input of paircounts and basketset give the values back (evil first and last)');
SELECT is((SELECT pg_catalog.count(*) FROM pc_back b, pc
           WHERE bundlerec.paircounts_send(b.v) = bundlerec.paircounts_send(pc.v))
          + (SELECT pg_catalog.count(*) FROM bs_back b, bs
           WHERE bundlerec.basketset_send(b.v) = bundlerec.basketset_send(bs.v)),
	4::bigint, 'COPY BINARY sends and receives paircounts and basketset unchanged (evil first and last)');

SELECT * FROM finish();
ROLLBACK;
