-- basketstate, the state of the basket aggregates: its text form ("1:" and
-- base64) and binary form round-trip, states kept per slice and merged give
-- the pairs of a plain self-join, and damaged input is refused with a
-- SQLSTATE.
\set VERBOSITY default

CREATE FUNCTION st_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
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

CREATE TABLE st_baskets AS
	SELECT b AS basket,
	       ARRAY(SELECT ((b * 31 + k * k * 17) % 40)::int
	             FROM generate_series(1, 1 + b % 6) k) AS items
	FROM generate_series(1, 3000) b;

-- the independent answer: distinct (basket, item) lines joined on basket
CREATE TABLE st_expected AS
	SELECT a.i AS item_a, b.i AS item_b, count(*) AS n
	FROM (SELECT DISTINCT basket, unnest(items) AS i FROM st_baskets) a
	JOIN (SELECT DISTINCT basket, unnest(items) AS i FROM st_baskets) b
	  ON a.basket = b.basket AND a.i < b.i
	GROUP BY 1, 2;

-- one state per slice, kept as text, as Citus ships them
CREATE TABLE st_slices AS
	SELECT basket % 3 AS slice, bundlerec.basket_state(items)::text AS t
	FROM st_baskets GROUP BY 1;
SELECT slice, left(t, 2) AS version, length(t) > 100 AS nonempty FROM st_slices ORDER BY 1;

-- text round trip is exact
SELECT bool_and(t::bundlerec.basketstate::text = t) AS text_round_trip FROM st_slices;

-- text keys (and bigint keys) round-trip too, and merge to the direct result
SELECT (SELECT bundlerec.pair_counts_merge(s::text::bundlerec.basketstate) FROM
	(SELECT bundlerec.basket_state(items::text[]) AS s FROM st_baskets GROUP BY basket % 4) x)::text
     = (SELECT bundlerec.pair_counts(items::text[]) FROM st_baskets)::text AS text_keys,
       (SELECT bundlerec.pair_counts_merge(s::text::bundlerec.basketstate) FROM
	(SELECT bundlerec.basket_state(items::bigint[]) AS s FROM st_baskets GROUP BY basket % 4) x)::text
     = (SELECT bundlerec.pair_counts(items::bigint[]) FROM st_baskets)::text AS bigint_keys;

-- merged states count the same pairs as the self-join and as pair_counts
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE p.count_ab IS DISTINCT FROM e.n) AS differing
FROM bundlerec.pairs((SELECT bundlerec.pair_counts_merge(t::bundlerec.basketstate) FROM st_slices)) p
FULL JOIN st_expected e ON e.item_a::text = p.item_a AND e.item_b::text = p.item_b;
SELECT (SELECT bundlerec.pair_counts_merge(t::bundlerec.basketstate) FROM st_slices)::text
     = (SELECT bundlerec.pair_counts(items) FROM st_baskets)::text AS merge_equals_direct;
SELECT n_baskets FROM bundlerec.pairs((SELECT bundlerec.pair_counts_merge(t::bundlerec.basketstate) FROM st_slices)) LIMIT 1;

-- binary round trip through COPY (FORMAT binary)
CREATE TABLE st_bin (slice int, s bundlerec.basketstate);
INSERT INTO st_bin SELECT slice, t::bundlerec.basketstate FROM st_slices;
SELECT '/tmp/bundlerec_basketstate_' || pg_backend_pid() || '.bin' AS binfile \gset
COPY st_bin TO :'binfile' (FORMAT binary);
CREATE TABLE st_bin2 (LIKE st_bin);
COPY st_bin2 FROM :'binfile' (FORMAT binary);
\setenv BR_BINFILE :binfile
\! rm -f "$BR_BINFILE"
SELECT count(*) AS rows, bool_and(a.s::text = b.s::text) AS binary_round_trip
FROM st_bin a JOIN st_bin2 b USING (slice);

-- min_count travels with the state; mixing thresholds is refused
SELECT count(*) AS pairs_min60
FROM bundlerec.pairs((SELECT bundlerec.pair_counts_merge(s) FROM
	(SELECT bundlerec.basket_state(items, 60)::text::bundlerec.basketstate AS s
	 FROM st_baskets GROUP BY basket % 2) x));
SELECT count(*) AS expected_min60 FROM st_expected WHERE n >= 60;
SELECT st_try($$SELECT bundlerec.pair_counts_merge(s) FROM (
	SELECT bundlerec.basket_state(items, 1 + basket % 2) AS s FROM st_baskets GROUP BY basket % 2) x$$) AS mixed_min_count;

-- NULL states and baskets are skipped; no baskets at all gives NULL
SELECT bundlerec.pair_counts_merge(s) IS NULL AS all_null
FROM (VALUES (NULL::bundlerec.basketstate)) v(s);
SELECT bundlerec.basket_state(items) IS NULL AS no_rows FROM st_baskets WHERE false;
SELECT n_baskets FROM bundlerec.pairs((SELECT bundlerec.pair_counts_merge(s) FROM
	(SELECT t::bundlerec.basketstate FROM st_slices UNION ALL SELECT NULL) x(s))) LIMIT 1;

-- damaged text: each refused with 22P02 (syntax) or 22P03 (bytes); the
-- bytes are min_count, then the item dictionary and the baskets (varints);
-- the text form has no line breaks, so encode()'s are taken out
CREATE TABLE st_one AS SELECT t, decode(substr(t, 3), 'base64') AS b FROM st_slices WHERE slice = 0;
CREATE FUNCTION st_text(b bytea) RETURNS text LANGUAGE sql AS $$
	SELECT '1:' || translate(encode(b, 'base64'), E'\n', '')
$$;
SELECT get_byte(b, 0) AS min_count_byte, st_text(b) = t AS encodes_back FROM st_one;
SELECT what, st_try(format('SELECT %L::bundlerec.basketstate', v)) AS result
FROM st_one, LATERAL (VALUES
	('empty', ''),
	('no version', substr(t, 3)),
	('unknown version', '2:' || substr(t, 3)),
	('not base64', '1:@@@@'),
	('nothing after the version', '1:'),
	('truncated', st_text(substr(b, 1, length(b) - 5))),
	('dictionary only', st_text(substr(b, 1, 20))),
	('one byte too many', st_text(b || '\x00'::bytea)),
	('min_count 0', st_text(set_byte(b, 0, 0)))
) d(what, v);

-- the support functions refuse to run outside an aggregate
SELECT st_try($$SELECT bundlerec.basket_agg_combine(NULL, NULL)$$) AS outside_aggregate;
SELECT st_try($$SELECT bundlerec.pair_counts_final(t::bundlerec.basketstate) FROM st_one$$) AS outside_aggregate;
