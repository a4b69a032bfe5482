-- Text and binary input of paircounts and basketset: damaged bytes are
-- refused with SQLSTATE 22P03 (invalid_binary_representation), never an
-- internal error; valid values round-trip.
\set VERBOSITY default
SET extra_float_digits = 0;

-- the SQLSTATE, message and detail of a statement's error, or 'ok'
CREATE FUNCTION bin_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	det text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL;
	RETURN st || ': ' || msg || ' / ' || det;
END
$$;

-- little-endian bytes of an integer
CREATE FUNCTION le(v bigint, n int) RETURNS bytea LANGUAGE sql AS $$
	SELECT string_agg(set_byte('\x00'::bytea, 0, ((v >> (8 * i)) & 255)::int), ''::bytea ORDER BY i)
	FROM generate_series(0, n - 1) i
$$;

-- bytes of v with the n bytes at offset off (from 0) replaced by b
CREATE FUNCTION patch(v bytea, off int, b bytea) RETURNS bytea LANGUAGE sql AS $$
	SELECT overlay(v PLACING b FROM off + 1 FOR length(b))
$$;

-- three baskets: {a,b}, {a,b,c}, {b,c}
CREATE TABLE pc AS
SELECT bundlerec.pair_counts(b)::text::bytea AS v
FROM (VALUES (ARRAY['a','b']), (ARRAY['a','b','c']), (ARRAY['b','c'])) t(b);
CREATE TABLE bs AS
SELECT bundlerec.basket_set(b)::text::bytea AS v
FROM (VALUES (ARRAY['a','b']), (ARRAY['a','b','c']), (ARRAY['b','c'])) t(b);

-- paircounts layout: format word, n_baskets, n_pairs, min_count, n_items,
-- pad (36 bytes); item counts (3 x 8), pair counts (3 x 8), first items
-- (3 x 4), second items (3 x 4); dictionary: format word, type, collation,
-- number of keys, then length-prefixed keys
SELECT length(v) AS paircounts_bytes,
	substr(v, 1, 4) = le(x'42525031'::int, 4) AS format_word,
	substr(v, 5, 8) = le(3, 8) AS n_baskets,
	substr(v, 13, 8) = le(3, 8) AS n_pairs
FROM pc;

-- a valid value round-trips through text and gives the same pairs
SELECT item_a, item_b, count_ab FROM bundlerec.pairs((SELECT v::text::bundlerec.paircounts FROM pc)) ORDER BY 1, 2;

-- damaged values: each is refused with 22P03
SELECT what, bin_try(format('SELECT %L::bundlerec.paircounts', x::text)) AS result
FROM pc, LATERAL (VALUES
	('empty', '\x'::bytea),
	('truncated header', substr(v, 1, 20)),
	('truncated by one byte', substr(v, 1, length(v) - 1)),
	('one byte too many', v || '\x00'::bytea),
	('wrong format word', patch(v, 0, '\x42525032')),
	('negative n_pairs', patch(v, 12, le(-1, 8))),
	('huge n_pairs', patch(v, 12, le(x'4000000000000000'::bigint, 8))),
	('huge n_items', patch(v, 28, le(x'7fffffff'::int, 4))),
	('min_count 0', patch(v, 20, le(0, 8))),
	('negative item count', patch(v, 36, le(-2, 8))),
	('item count above baskets', patch(v, 36, le(4, 8))),
	('pair count above item count', patch(v, 60, le(9, 8))),
	('item index out of range', patch(v, 96, le(7, 4))),
	('negative item index', patch(v, 84, le(-1, 4))),
	('pairs out of order', patch(patch(v, 96, le(2, 4)), 100, le(1, 4))),
	('dictionary format word', patch(v, 108, '\x00000000')),
	('key type 0', patch(v, 112, le(0, 4))),
	('key type numeric', patch(v, 112, le(1700, 4))),
	('collation 999999', patch(v, 116, le(999999, 4))),
	('huge key count', patch(v, 120, le(x'7fffffff'::int, 4))),
	('key longer than the value', patch(v, 124, le(1000, 4))),
	('duplicate key', patch(v, 133, '\x61')),
	('key with a zero byte', patch(v, 128, '\x00'))
) AS t(what, x)
ORDER BY what;

-- binary input (COPY ... FORMAT binary) checks the same way
SELECT '/tmp/bundlerec_binary_input_' || pg_backend_pid() AS binfile \gset
CREATE TABLE pc_in (v bundlerec.paircounts);
COPY (SELECT v FROM pc) TO :'binfile' (FORMAT binary);
COPY pc_in FROM :'binfile' (FORMAT binary);
SELECT item_a, item_b, count_ab FROM pc_in, bundlerec.pairs(pc_in.v) ORDER BY 1, 2;
COPY (SELECT patch(v, 112, le(0, 4)) FROM pc) TO :'binfile' (FORMAT binary);
SELECT bin_try(format('COPY pc_in FROM %L (FORMAT binary)', :'binfile'));
COPY (SELECT patch(v, 116, le(999999, 4)) FROM pc) TO :'binfile' (FORMAT binary);
SELECT bin_try(format('COPY pc_in FROM %L (FORMAT binary)', :'binfile'));

-- basketset layout: format word, pad, n_baskets, n_entries, len (32
-- bytes); dictionary (16 bytes, then 3 keys of 5 bytes); baskets as
-- [n, id...] int32s
SELECT length(v) AS basketset_bytes,
	substr(v, 17, 8) = le(7, 8) AS n_entries,
	substr(v, 25, 8) = le(10, 8) AS len
FROM bs;
SELECT count(*) AS itemsets FROM bundlerec.itemsets((SELECT v::text::bundlerec.basketset FROM bs), 0.5);

SELECT what, bin_try(format('SELECT %L::bundlerec.basketset', x::text)) AS result
FROM bs, LATERAL (VALUES
	('empty', '\x'::bytea),
	('truncated', substr(v, 1, length(v) - 2)),
	('wrong format word', patch(v, 0, '\x00000000')),
	('huge len', patch(v, 24, le(x'4000000000000000'::bigint, 8))),
	('negative len', patch(v, 24, le(-1, 8))),
	('n_baskets mismatch', patch(v, 8, le(4, 8))),
	('key type 0', patch(v, 36, le(0, 4))),
	('collation 999999', patch(v, 40, le(999999, 4))),
	('basket longer than the value', patch(v, 63, le(100, 4))),
	('item index out of range', patch(v, 67, le(3, 4))),
	('negative item index', patch(v, 67, le(-1, 4))),
	('items not sorted', patch(v, 67, le(1, 4)))
) AS t(what, x)
ORDER BY what;

CREATE TABLE bs_in (v bundlerec.basketset);
COPY (SELECT v FROM bs) TO :'binfile' (FORMAT binary);
COPY bs_in FROM :'binfile' (FORMAT binary);
SELECT count(*) AS itemsets FROM bs_in, bundlerec.itemsets(bs_in.v, 0.5);
COPY (SELECT patch(v, 40, le(999999, 4)) FROM bs) TO :'binfile' (FORMAT binary);
SELECT bin_try(format('COPY bs_in FROM %L (FORMAT binary)', :'binfile'));
\setenv BR_BINFILE :binfile
\! rm -f "$BR_BINFILE"
