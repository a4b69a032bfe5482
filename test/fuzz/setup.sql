-- The fuzz fixture and the call generator, shared by the short run in the
-- test suite (test/pgtap/hardening_fuzz.sql) and the long run
-- (test/fuzz/fuzz.sh).  Idempotent: drops and rebuilds schema fz.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS fz CASCADE;
SELECT bundlerec.drop_model(m.name) FROM bundlerec.models m WHERE m.name LIKE 'fz%';
CREATE SCHEMA fz;

-- 60 orders of 20 items, 12 customers, prices (one NaN), categories
CREATE TABLE fz.lines (basket text, item text, customer text, ordered_at timestamptz, quantity integer,
                       price numeric, category text);
INSERT INTO fz.lines
SELECT 'o' || b, 'i' || (1 + (b * 7 + j * 3) % 20), 'c' || (b % 12), timestamptz '2024-01-01' + b * interval '1 day',
       1 + j % 3, CASE WHEN b = 7 AND j = 1 THEN 'NaN'::numeric ELSE 1 + (b + j) % 9 END, 'k' || ((b * 7 + j * 3) % 20 % 4)
FROM generate_series(1, 60) b, generate_series(1, 4) j;
CREATE TABLE fz.products AS
SELECT DISTINCT item, 'product ' || item AS name, 1.5 AS price, 'k' || (substr(item, 2)::int % 4) AS category FROM fz.lines;
CREATE TABLE fz.empty (LIKE fz.lines);
SELECT count(*) > 0 AS trained FROM bundlerec.als_train('fz.lines', 'customer', 'item', 'fz.cf', 'fz.if', factors => 4, iterations => 2);
CREATE TABLE fz.nb AS SELECT * FROM bundlerec.ease('fz.lines', 'customer', 'item');
CREATE TABLE fz.rules AS SELECT * FROM bundlerec.association_rules('fz.lines', 'basket', 'item', 0.02, 0.1);
CREATE TABLE fz.bundles AS SELECT 'b' || (substr(item, 2)::int % 5) AS bundle, item FROM fz.products;
CREATE TABLE fz.customer_bundles AS SELECT DISTINCT customer, 'b' || (substr(item, 2)::int % 5) AS bundle FROM fz.lines;

-- the model the serving calls read; the fuzzer drops it now and then, so
-- every 25 calls it is made again when missing
CREATE FUNCTION fz.ensure_model() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM bundlerec.models WHERE name = 'fz' AND last_refresh IS NOT NULL) THEN
		PERFORM bundlerec.drop_model('fz', if_exists => true);
		PERFORM bundlerec.create_model('fz', 'fz.lines', 'basket', 'item', customer => 'customer', ordered_at => 'ordered_at',
			quantity => 'quantity', price => 'price', category => 'category',
			options => '{"factors": 4, "iterations": 2, "rules_min_support": 0.02}');
		PERFORM bundlerec.refresh('fz');
		PERFORM bundlerec.record_feedback('fz', ARRAY['i1', 'i2'], 10, 2);
	END IF;
	RETURN true;
END $$;
SELECT fz.ensure_model();

-- One SQL literal for parameter pname of type typ: boundary and random
-- values, and for text parameters the names they expect beside junk.
CREATE FUNCTION fz.value(typ regtype, pname text)
RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	pool text[];
	v text;
BEGIN
	IF random() < 0.05 THEN
		RETURN 'NULL::' || typ::text;
	END IF;
	pool := CASE
		WHEN typ = 'text'::regtype AND pname IN ('model', 'name') THEN
			ARRAY['fz', 'fz', 'fz', 'fz', 'fz_new', 'nope', 'Bad Name', '', repeat('m', 100)]
		WHEN typ = 'text'::regtype AND pname IN ('measure', 'rank_by') THEN
			ARRAY['cosine', 'pearson', 'adjusted_cosine', 'lift', 'fisher', 'CONFIDENCE', 'nope', '']
		WHEN typ = 'text'::regtype AND pname IN ('customer_table', 'item_table') THEN
			ARRAY['fz.t_' || (random() * 1e6)::int, 'fz.lines', 'no_schema.t', '', '"; DROP TABLE fz.lines; --']
		WHEN typ = 'text'::regtype AND pname IN ('item', 'customer') AND random() < 0.5 THEN
			ARRAY['i1', 'i7', 'c1', 'c3', 'zz', '']
		WHEN typ = 'text'::regtype THEN
			ARRAY['basket', 'item', 'customer', 'ordered_at', 'quantity', 'price', 'category', 'name', 'bundle',
			      'i1', 'c1', 'nope', '', 'BASKET', '"item"', repeat('x', 2000), 'ünïcødé', '%s%n', E'a\tb']
		WHEN typ = 'regclass'::regtype THEN
			ARRAY['fz.lines', 'fz.lines', 'fz.products', 'fz.empty', 'fz.cf', 'fz.if', 'fz.nb', 'fz.rules',
			      'fz.bundles', 'fz.customer_bundles', 'bundlerec_fz.pairs', 'pg_class']
		WHEN typ IN ('integer'::regtype, 'bigint'::regtype) THEN
			ARRAY['0', '1', '-1', '2', '3', '5', '10', '50', '1000', '2147483647', '-2147483648']
			|| CASE WHEN typ = 'bigint'::regtype THEN ARRAY['9223372036854775807', '-9223372036854775808'] ELSE '{}' END
		WHEN typ = 'double precision'::regtype THEN
			ARRAY['0', '1', '-1', '0.5', '0.01', '10', '100', '1e-300', '1e300', 'NaN', 'Infinity', '-Infinity',
			      (random() * 10)::text]
		WHEN typ = 'boolean'::regtype THEN ARRAY['true', 'false']
		WHEN typ = 'interval'::regtype THEN ARRAY['90 days', '1 day', '0', '-1 day', '1000 years', '-178000000 years']
		WHEN typ = 'timestamp with time zone'::regtype THEN
			ARRAY['2024-02-01', '2024-01-01', '2030-01-01', 'infinity', '-infinity', '2024-02-15 12:00']
		WHEN typ = 'jsonb'::regtype THEN
			ARRAY['{}', '{"factors": 4, "iterations": 2}', '[]', '{"factors": -1}', '{"nope": 1}',
			      '{"schema": "fz_s"}', '{"bundles": "yes"}', '{"price_window": "-1 day"}', 'null']
		WHEN typ = 'text[]'::regtype THEN
			ARRAY['{}', '{i1}', '{i1,i2}', '{i1,i2,i3,i4,i5}', '{i1,NULL}', '{{i1,i2},{i3,i4}}', '{zz}',
			      '{i1,i1}', '{c1}', '{basket,item}']
		WHEN typ IN ('real[]'::regtype, 'double precision[]'::regtype) THEN
			ARRAY['{}', '{1,2,3,4}', '{0.1,0.2,0.3,0.4}', '{1,2}', '{NaN,1,1,1}', '{Infinity,1,1,1}',
			      '{1,NULL,1,1}', '{{1,2},{3,4}}', '{1e38,1e38,1e38,1e38}', '{-1,-1,-1,-1}']
		WHEN typ = 'bundlerec.paircounts'::regtype THEN
			ARRAY['\x', '\x00', '\x0100000000000000', '\x' || md5(random()::text), '\xffffffffffffffffffffffff']
		WHEN typ = 'bundlerec.basketset'::regtype THEN
			ARRAY['\x', '\x00', '\x01000000', '\x' || md5(random()::text) || md5(random()::text)]
		WHEN typ = 'bundlerec.basketstate'::regtype THEN
			ARRAY['', '1:', '1:AQ==', '2:AQ==', '1:' || encode(decode(md5(random()::text), 'hex'), 'base64'),
			      (SELECT bundlerec.basket_state(b)::text FROM (VALUES (ARRAY[1, 2]), (ARRAY[2, 3, 5])) v(b)),
			      (SELECT bundlerec.basket_state(b, 2)::text FROM (VALUES (ARRAY['a', 'b']), (ARRAY['b'])) v(b))]
		WHEN typ = 'anyarray'::regtype THEN
			ARRAY['{1,2}'::text, '{NaN}', '{{1}}', '{1,NULL}', '{}']
		WHEN typ = 'anyelement'::regtype THEN
			ARRAY['1', '7', '-1', '0', '12345678901', 'NaN', '3.5']
		END;
	IF pool IS NULL THEN
		RETURN NULL;		-- a type the fuzzer has no values for
	END IF;
	v := pool[1 + floor(random() * cardinality(pool))::int];
	IF typ = 'anyarray'::regtype THEN
		RETURN pg_catalog.format('%L::%s', v, (ARRAY['integer[]', 'double precision[]', 'text[]'])[1 + floor(random() * 3)::int]);
	END IF;
	IF typ = 'anyelement'::regtype THEN
		RETURN pg_catalog.format('%L::%s', v, (ARRAY['integer', 'bigint', 'smallint', 'numeric', 'uuid', 'varchar'])[1 + floor(random() * 6)::int]);
	END IF;
	RETURN pg_catalog.format('%L::%s', v, typ::text);
END $$;

-- bundlerec's public functions: not the _internal ones, not those taking
-- internal or cstring (aggregate support and type input)
CREATE TABLE fz.fns AS
SELECT row_number() OVER (ORDER BY p.proname, p.oid)::integer AS id, p.proname::text AS name,
       ARRAY(SELECT t::regtype FROM unnest(p.proargtypes) WITH ORDINALITY u(t, o) ORDER BY o) AS types,
       p.proargnames AS names
FROM pg_proc p
WHERE p.pronamespace = 'bundlerec'::regnamespace AND p.prokind = 'f' AND p.proname !~ '^_'
  AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes) a WHERE a IN ('internal'::regtype, 'cstring'::regtype));

-- n calls of those functions with random arguments, seeded.
CREATE FUNCTION fz.calls(n integer, seed float8)
RETURNS TABLE (i integer, fn text, call text) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	n_fns integer := (SELECT count(*) FROM fz.fns);
	f fz.fns;
	pick integer;
	args text[];
	v text;
BEGIN
	PERFORM setseed(seed);
	FOR j IN 1..n LOOP
		IF j % 25 = 0 THEN
			i := j;
			fn := 'fz.ensure_model';
			call := 'SELECT count(*) FROM (SELECT fz.ensure_model()) x';
			RETURN NEXT;
		END IF;
		pick := 1 + floor(random() * n_fns)::int;
		SELECT * INTO f FROM fz.fns WHERE id = pick;
		args := '{}';
		FOR k IN 1..coalesce(cardinality(f.types), 0) LOOP
			v := fz.value(f.types[k], f.names[k]);
			EXIT WHEN v IS NULL;
			args := args || v;
		END LOOP;
		CONTINUE WHEN cardinality(args) < coalesce(cardinality(f.types), 0);
		i := j;
		fn := f.name;
		call := pg_catalog.format('SELECT count(*) FROM (SELECT bundlerec.%I(%s)) x', f.name, array_to_string(args, ', '));
		RETURN NEXT;
	END LOOP;
END $$;
