/* bundlerec--0.1.0.sql: product-bundle recommendations from order lines */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION bundlerec" to load this file. \quit

COMMENT ON SCHEMA bundlerec IS 'bundlerec: product-bundle recommendations computed from order lines';

------------------------------------------------------------------------------
-- paircounts: exact pair co-occurrence counts built by pair_counts()
------------------------------------------------------------------------------

CREATE TYPE bundlerec.paircounts;

CREATE FUNCTION bundlerec.paircounts_in(cstring) RETURNS bundlerec.paircounts
	AS 'MODULE_PATHNAME', 'bundlerec_paircounts_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.paircounts_out(bundlerec.paircounts) RETURNS cstring
	AS 'MODULE_PATHNAME', 'bundlerec_paircounts_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.paircounts_recv(internal) RETURNS bundlerec.paircounts
	AS 'MODULE_PATHNAME', 'bundlerec_paircounts_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.paircounts_send(bundlerec.paircounts) RETURNS bytea
	AS 'MODULE_PATHNAME', 'bundlerec_paircounts_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE bundlerec.paircounts (
	INPUT = bundlerec.paircounts_in,
	OUTPUT = bundlerec.paircounts_out,
	RECEIVE = bundlerec.paircounts_recv,
	SEND = bundlerec.paircounts_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);

COMMENT ON TYPE bundlerec.paircounts IS
	'exact co-occurrence counts of item pairs over a set of baskets, built by bundlerec.pair_counts(); expand with bundlerec.pairs()';

------------------------------------------------------------------------------
-- pair_counts(items anyarray [, min_count bigint]): aggregate over baskets
------------------------------------------------------------------------------

CREATE FUNCTION bundlerec.pair_counts_trans(internal, anyarray) RETURNS internal
	AS 'MODULE_PATHNAME', 'bundlerec_pair_counts_trans'
	LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION bundlerec.pair_counts_trans(internal, anyarray, bigint) RETURNS internal
	AS 'MODULE_PATHNAME', 'bundlerec_pair_counts_trans'
	LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION bundlerec.pair_counts_combine(internal, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'bundlerec_pair_counts_combine'
	LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION bundlerec.pair_counts_serialize(internal) RETURNS bytea
	AS 'MODULE_PATHNAME', 'bundlerec_pair_counts_serialize'
	LANGUAGE C STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.pair_counts_deserialize(bytea, internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'bundlerec_pair_counts_deserialize'
	LANGUAGE C STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.pair_counts_final(internal) RETURNS bundlerec.paircounts
	AS 'MODULE_PATHNAME', 'bundlerec_pair_counts_final'
	LANGUAGE C PARALLEL SAFE;

CREATE AGGREGATE bundlerec.pair_counts(anyarray) (
	SFUNC = bundlerec.pair_counts_trans,
	STYPE = internal,
	COMBINEFUNC = bundlerec.pair_counts_combine,
	SERIALFUNC = bundlerec.pair_counts_serialize,
	DESERIALFUNC = bundlerec.pair_counts_deserialize,
	FINALFUNC = bundlerec.pair_counts_final,
	FINALFUNC_MODIFY = READ_ONLY,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE bundlerec.pair_counts(anyarray) IS
	'exact co-occurrence counts of every item pair over baskets given as arrays of item keys';

CREATE AGGREGATE bundlerec.pair_counts(anyarray, bigint) (
	SFUNC = bundlerec.pair_counts_trans,
	STYPE = internal,
	COMBINEFUNC = bundlerec.pair_counts_combine,
	SERIALFUNC = bundlerec.pair_counts_serialize,
	DESERIALFUNC = bundlerec.pair_counts_deserialize,
	FINALFUNC = bundlerec.pair_counts_final,
	FINALFUNC_MODIFY = READ_ONLY,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE bundlerec.pair_counts(anyarray, bigint) IS
	'exact co-occurrence counts of the item pairs shared by at least min_count baskets (the second argument)';

------------------------------------------------------------------------------
-- pair rows with every measure
------------------------------------------------------------------------------

CREATE TYPE bundlerec.pair AS (
	item_a text,
	item_b text,
	count_ab bigint,
	count_a bigint,
	count_b bigint,
	n_baskets bigint,
	support double precision,
	confidence_ab double precision,
	confidence_ba double precision,
	lift double precision,
	jaccard double precision,
	cosine double precision,
	leverage double precision,
	conviction double precision,
	conviction_ba double precision,
	fisher_p double precision
);

COMMENT ON TYPE bundlerec.pair IS
	'an item pair (item_a < item_b in the source''s key order) with its counts and association measures';
COMMENT ON COLUMN bundlerec.pair.item_a IS 'first item of the pair, as text';
COMMENT ON COLUMN bundlerec.pair.item_b IS 'second item of the pair, as text';
COMMENT ON COLUMN bundlerec.pair.count_ab IS 'baskets holding both items';
COMMENT ON COLUMN bundlerec.pair.count_a IS 'baskets holding item_a';
COMMENT ON COLUMN bundlerec.pair.count_b IS 'baskets holding item_b';
COMMENT ON COLUMN bundlerec.pair.n_baskets IS 'baskets in the source';
COMMENT ON COLUMN bundlerec.pair.support IS 'count_ab / n_baskets';
COMMENT ON COLUMN bundlerec.pair.confidence_ab IS 'P(item_b | item_a) = count_ab / count_a';
COMMENT ON COLUMN bundlerec.pair.confidence_ba IS 'P(item_a | item_b) = count_ab / count_b';
COMMENT ON COLUMN bundlerec.pair.lift IS 'count_ab * n_baskets / (count_a * count_b)';
COMMENT ON COLUMN bundlerec.pair.jaccard IS 'count_ab / (count_a + count_b - count_ab)';
COMMENT ON COLUMN bundlerec.pair.cosine IS 'count_ab / sqrt(count_a * count_b)';
COMMENT ON COLUMN bundlerec.pair.leverage IS 'support - (count_a / n_baskets) * (count_b / n_baskets)';
COMMENT ON COLUMN bundlerec.pair.conviction IS 'item_a => item_b: (1 - count_b / n_baskets) / (1 - confidence_ab); Infinity when confidence_ab = 1';
COMMENT ON COLUMN bundlerec.pair.conviction_ba IS 'item_b => item_a: (1 - count_a / n_baskets) / (1 - confidence_ba); Infinity when confidence_ba = 1';
COMMENT ON COLUMN bundlerec.pair.fisher_p IS 'one-sided Fisher exact test: P(X >= count_ab) under independence (hypergeometric)';

-- STABLE: integer keys are written as text through type I/O.
CREATE FUNCTION bundlerec.pairs(
	counts bundlerec.paircounts,
	min_count bigint DEFAULT 1,
	min_support double precision DEFAULT 0,
	top_k integer DEFAULT NULL,
	rank_by text DEFAULT 'confidence')
RETURNS SETOF bundlerec.pair
	AS 'MODULE_PATHNAME', 'bundlerec_pairs'
	LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION bundlerec.pairs(bundlerec.paircounts, bigint, double precision, integer, text) IS
	'one row per item pair (item_a < item_b) of a paircounts value, with count, support, confidence, lift, Jaccard, cosine, leverage, conviction and Fisher p-value';

-- STABLE: reads the source table with the caller's privileges.
-- PARALLEL RESTRICTED: it runs its own query through SPI.
CREATE FUNCTION bundlerec.item_pairs(
	source regclass,
	basket text,
	item text,
	min_count bigint DEFAULT 1,
	min_support double precision DEFAULT 0,
	top_k integer DEFAULT NULL,
	rank_by text DEFAULT 'confidence')
RETURNS SETOF bundlerec.pair
	AS 'MODULE_PATHNAME', 'bundlerec_item_pairs'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.item_pairs(regclass, text, text, bigint, double precision, integer, text) IS
	'frequently-bought-together pairs from a table or view of order lines (basket, item), with every association measure';
