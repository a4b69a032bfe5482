/* bundlerec--0.1.0.sql, part 1 (src/sql/engines.sql): the engines over order lines */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION bundlerec" to load this file. \quit

COMMENT ON SCHEMA bundlerec IS 'bundlerec: product-bundle recommendations computed from order lines';

------------------------------------------------------------------------------
-- the one check of array arguments, for the SQL-language entry points
------------------------------------------------------------------------------

CREATE FUNCTION bundlerec.check_array(value anyarray, param text) RETURNS void
	AS 'MODULE_PATHNAME', 'bundlerec_check_array'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION bundlerec.check_array(anyarray, text) IS
	'error unless value is one-dimensional without NULL elements (22004, 2202E) and, for real and double precision elements, without NaN or infinite values (22023); param names the argument in the message';

CREATE FUNCTION bundlerec.npmi(count bigint, count_a bigint, count_b bigint, n bigint, shrinkage float8 DEFAULT 0)
RETURNS float8
	AS 'MODULE_PATHNAME', 'bundlerec_npmi'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION bundlerec.npmi(bigint, bigint, bigint, bigint, float8) IS
	'normalised pointwise mutual information ln(count n / (count_a count_b)) / -ln(count / n), times count / (count + shrinkage); -1 for a pair never bought together, 1 for one in every basket';

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

COMMENT ON FUNCTION bundlerec.paircounts_in(cstring) IS 'text input of paircounts (bytea hex form, checked)';
COMMENT ON FUNCTION bundlerec.paircounts_out(bundlerec.paircounts) IS 'text output of paircounts (bytea hex form)';
COMMENT ON FUNCTION bundlerec.paircounts_recv(internal) IS 'binary input of paircounts (checked)';
COMMENT ON FUNCTION bundlerec.paircounts_send(bundlerec.paircounts) IS 'binary output of paircounts';

COMMENT ON TYPE bundlerec.paircounts IS
	'exact co-occurrence counts of item pairs over a set of baskets, built by bundlerec.pair_counts(); expand with bundlerec.pairs()';

------------------------------------------------------------------------------
-- basketstate: the state of the aggregates over basket arrays
------------------------------------------------------------------------------

-- A concrete type, not internal, so that Citus pushes partial aggregation
-- down to its workers; in memory it is an expanded object grown in place,
-- flattened only when a state is shipped.
CREATE TYPE bundlerec.basketstate;

CREATE FUNCTION bundlerec.basketstate_in(cstring) RETURNS bundlerec.basketstate
	AS 'MODULE_PATHNAME', 'bundlerec_basketstate_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.basketstate_out(bundlerec.basketstate) RETURNS cstring
	AS 'MODULE_PATHNAME', 'bundlerec_basketstate_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.basketstate_recv(internal) RETURNS bundlerec.basketstate
	AS 'MODULE_PATHNAME', 'bundlerec_basketstate_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.basketstate_send(bundlerec.basketstate) RETURNS bytea
	AS 'MODULE_PATHNAME', 'bundlerec_basketstate_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE bundlerec.basketstate (
	INPUT = bundlerec.basketstate_in,
	OUTPUT = bundlerec.basketstate_out,
	RECEIVE = bundlerec.basketstate_recv,
	SEND = bundlerec.basketstate_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);

COMMENT ON FUNCTION bundlerec.basketstate_in(cstring) IS 'text input of basketstate ("1:", then base64 of min_count, item dictionary and baskets as varints; checked)';
COMMENT ON FUNCTION bundlerec.basketstate_out(bundlerec.basketstate) IS 'text output of basketstate ("1:", then base64 of min_count, item dictionary and baskets as varints)';
COMMENT ON FUNCTION bundlerec.basketstate_recv(internal) IS 'binary input of basketstate (checked)';
COMMENT ON FUNCTION bundlerec.basketstate_send(bundlerec.basketstate) IS 'binary output of basketstate';
COMMENT ON TYPE bundlerec.basketstate IS
	'partial state of the basket aggregates (pair_counts, basket_set): baskets as sorted item ids with their item dictionary; shipped between parallel workers and Citus nodes';

------------------------------------------------------------------------------
-- aggregates over basket arrays: shared transition machinery
------------------------------------------------------------------------------

CREATE FUNCTION bundlerec.basket_agg_trans(bundlerec.basketstate, anyarray) RETURNS bundlerec.basketstate
	AS 'MODULE_PATHNAME', 'bundlerec_basket_agg_trans'
	LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION bundlerec.basket_agg_trans(bundlerec.basketstate, anyarray, bigint) RETURNS bundlerec.basketstate
	AS 'MODULE_PATHNAME', 'bundlerec_basket_agg_trans'
	LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION bundlerec.basket_agg_combine(bundlerec.basketstate, bundlerec.basketstate) RETURNS bundlerec.basketstate
	AS 'MODULE_PATHNAME', 'bundlerec_basket_agg_combine'
	LANGUAGE C PARALLEL SAFE;

COMMENT ON FUNCTION bundlerec.basket_agg_trans(bundlerec.basketstate, anyarray) IS 'transition function of the basket aggregates';
COMMENT ON FUNCTION bundlerec.basket_agg_trans(bundlerec.basketstate, anyarray, bigint) IS 'transition function of pair_counts(items, min_count)';
COMMENT ON FUNCTION bundlerec.basket_agg_combine(bundlerec.basketstate, bundlerec.basketstate) IS 'combine function of the basket aggregates';

------------------------------------------------------------------------------
-- pair_counts(items anyarray [, min_count bigint]): pair counts over baskets
------------------------------------------------------------------------------

CREATE FUNCTION bundlerec.pair_counts_final(bundlerec.basketstate) RETURNS bundlerec.paircounts
	AS 'MODULE_PATHNAME', 'bundlerec_pair_counts_final'
	LANGUAGE C PARALLEL SAFE;

COMMENT ON FUNCTION bundlerec.pair_counts_final(bundlerec.basketstate) IS 'final function of pair_counts: counts pairs';

CREATE AGGREGATE bundlerec.pair_counts(anyarray) (
	SFUNC = bundlerec.basket_agg_trans,
	STYPE = bundlerec.basketstate,
	SSPACE = 16384,
	COMBINEFUNC = bundlerec.basket_agg_combine,
	FINALFUNC = bundlerec.pair_counts_final,
	FINALFUNC_MODIFY = READ_ONLY,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE bundlerec.pair_counts(anyarray) IS
	'exact co-occurrence counts of every item pair over baskets given as arrays of item keys';

CREATE AGGREGATE bundlerec.pair_counts(anyarray, bigint) (
	SFUNC = bundlerec.basket_agg_trans,
	STYPE = bundlerec.basketstate,
	SSPACE = 16384,
	COMBINEFUNC = bundlerec.basket_agg_combine,
	FINALFUNC = bundlerec.pair_counts_final,
	FINALFUNC_MODIFY = READ_ONLY,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE bundlerec.pair_counts(anyarray, bigint) IS
	'exact co-occurrence counts of the item pairs shared by at least min_count baskets (the second argument)';

------------------------------------------------------------------------------
-- basket states kept and merged by hand (per shard, per day, ...)
------------------------------------------------------------------------------

CREATE AGGREGATE bundlerec.basket_state(anyarray) (
	SFUNC = bundlerec.basket_agg_trans,
	STYPE = bundlerec.basketstate,
	SSPACE = 16384,
	COMBINEFUNC = bundlerec.basket_agg_combine,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE bundlerec.basket_state(anyarray) IS
	'the partial state of pair_counts(items) and basket_set(items) over these baskets, to keep and merge later with pair_counts_merge()';

CREATE AGGREGATE bundlerec.basket_state(anyarray, bigint) (
	SFUNC = bundlerec.basket_agg_trans,
	STYPE = bundlerec.basketstate,
	SSPACE = 16384,
	COMBINEFUNC = bundlerec.basket_agg_combine,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE bundlerec.basket_state(anyarray, bigint) IS
	'the partial state of pair_counts(items, min_count) over these baskets, to keep and merge later with pair_counts_merge()';

CREATE AGGREGATE bundlerec.pair_counts_merge(bundlerec.basketstate) (
	SFUNC = bundlerec.basket_agg_combine,
	STYPE = bundlerec.basketstate,
	SSPACE = 16384,
	COMBINEFUNC = bundlerec.basket_agg_combine,
	FINALFUNC = bundlerec.pair_counts_final,
	FINALFUNC_MODIFY = READ_ONLY,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE bundlerec.pair_counts_merge(bundlerec.basketstate) IS
	'pair counts over the baskets of several basket_state() values, as pair_counts() over all of them at once';

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

CREATE FUNCTION bundlerec.pairs(
	counts bundlerec.paircounts,
	min_count bigint DEFAULT 1,
	min_support double precision DEFAULT 0,
	top_k integer DEFAULT NULL,
	rank_by text DEFAULT 'confidence')
RETURNS SETOF bundlerec.pair
	AS 'MODULE_PATHNAME', 'bundlerec_pairs'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

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

------------------------------------------------------------------------------
-- basketset: encoded baskets for the itemset miner
------------------------------------------------------------------------------

CREATE TYPE bundlerec.basketset;

CREATE FUNCTION bundlerec.basketset_in(cstring) RETURNS bundlerec.basketset
	AS 'MODULE_PATHNAME', 'bundlerec_basketset_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.basketset_out(bundlerec.basketset) RETURNS cstring
	AS 'MODULE_PATHNAME', 'bundlerec_basketset_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.basketset_recv(internal) RETURNS bundlerec.basketset
	AS 'MODULE_PATHNAME', 'bundlerec_basketset_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION bundlerec.basketset_send(bundlerec.basketset) RETURNS bytea
	AS 'MODULE_PATHNAME', 'bundlerec_basketset_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE bundlerec.basketset (
	INPUT = bundlerec.basketset_in,
	OUTPUT = bundlerec.basketset_out,
	RECEIVE = bundlerec.basketset_recv,
	SEND = bundlerec.basketset_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = extended
);

COMMENT ON FUNCTION bundlerec.basketset_in(cstring) IS 'text input of basketset (bytea hex form, checked)';
COMMENT ON FUNCTION bundlerec.basketset_out(bundlerec.basketset) IS 'text output of basketset (bytea hex form)';
COMMENT ON FUNCTION bundlerec.basketset_recv(internal) IS 'binary input of basketset (checked)';
COMMENT ON FUNCTION bundlerec.basketset_send(bundlerec.basketset) IS 'binary output of basketset';
COMMENT ON TYPE bundlerec.basketset IS
	'baskets encoded as sorted, distinct item lists with their item dictionary, built by bundlerec.basket_set(); mine with bundlerec.itemsets() and bundlerec.rules()';

CREATE FUNCTION bundlerec.basket_set_final(bundlerec.basketstate) RETURNS bundlerec.basketset
	AS 'MODULE_PATHNAME', 'bundlerec_basket_set_final'
	LANGUAGE C PARALLEL SAFE;

COMMENT ON FUNCTION bundlerec.basket_set_final(bundlerec.basketstate) IS 'final function of basket_set';

CREATE AGGREGATE bundlerec.basket_set(anyarray) (
	SFUNC = bundlerec.basket_agg_trans,
	STYPE = bundlerec.basketstate,
	SSPACE = 16384,
	COMBINEFUNC = bundlerec.basket_agg_combine,
	FINALFUNC = bundlerec.basket_set_final,
	FINALFUNC_MODIFY = READ_ONLY,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE bundlerec.basket_set(anyarray) IS
	'baskets given as arrays of item keys, encoded for bundlerec.itemsets() and bundlerec.rules()';

------------------------------------------------------------------------------
-- the basket aggregates once more for each item key type
------------------------------------------------------------------------------

-- Citus 13 pushes a custom aggregate down to its workers only when the
-- aggregate's declared argument types equal the argument's type, which a
-- polymorphic (anyarray) aggregate never does; these exact overloads are
-- chosen over anyarray for arrays of the item key types.
DO $do$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['smallint', 'integer', 'bigint', 'text', 'character varying'] LOOP
		EXECUTE format($q$
			CREATE AGGREGATE bundlerec.pair_counts(%1$s[]) (
				SFUNC = bundlerec.basket_agg_trans, STYPE = bundlerec.basketstate, SSPACE = 16384,
				COMBINEFUNC = bundlerec.basket_agg_combine,
				FINALFUNC = bundlerec.pair_counts_final, FINALFUNC_MODIFY = READ_ONLY, PARALLEL = SAFE);
			COMMENT ON AGGREGATE bundlerec.pair_counts(%1$s[]) IS
				'exact co-occurrence counts of every item pair over baskets of %1$s item keys (pushed down by Citus)';
			CREATE AGGREGATE bundlerec.pair_counts(%1$s[], bigint) (
				SFUNC = bundlerec.basket_agg_trans, STYPE = bundlerec.basketstate, SSPACE = 16384,
				COMBINEFUNC = bundlerec.basket_agg_combine,
				FINALFUNC = bundlerec.pair_counts_final, FINALFUNC_MODIFY = READ_ONLY, PARALLEL = SAFE);
			COMMENT ON AGGREGATE bundlerec.pair_counts(%1$s[], bigint) IS
				'exact co-occurrence counts of the pairs of %1$s item keys shared by at least min_count baskets (pushed down by Citus)';
			CREATE AGGREGATE bundlerec.basket_set(%1$s[]) (
				SFUNC = bundlerec.basket_agg_trans, STYPE = bundlerec.basketstate, SSPACE = 16384,
				COMBINEFUNC = bundlerec.basket_agg_combine,
				FINALFUNC = bundlerec.basket_set_final, FINALFUNC_MODIFY = READ_ONLY, PARALLEL = SAFE);
			COMMENT ON AGGREGATE bundlerec.basket_set(%1$s[]) IS
				'baskets of %1$s item keys, encoded for bundlerec.itemsets() and bundlerec.rules() (pushed down by Citus)';
			CREATE AGGREGATE bundlerec.basket_state(%1$s[]) (
				SFUNC = bundlerec.basket_agg_trans, STYPE = bundlerec.basketstate, SSPACE = 16384,
				COMBINEFUNC = bundlerec.basket_agg_combine, PARALLEL = SAFE);
			COMMENT ON AGGREGATE bundlerec.basket_state(%1$s[]) IS
				'the partial state of pair_counts(items) and basket_set(items) over baskets of %1$s item keys (pushed down by Citus)';
			CREATE AGGREGATE bundlerec.basket_state(%1$s[], bigint) (
				SFUNC = bundlerec.basket_agg_trans, STYPE = bundlerec.basketstate, SSPACE = 16384,
				COMBINEFUNC = bundlerec.basket_agg_combine, PARALLEL = SAFE);
			COMMENT ON AGGREGATE bundlerec.basket_state(%1$s[], bigint) IS
				'the partial state of pair_counts(items, min_count) over baskets of %1$s item keys (pushed down by Citus)';
			$q$, t);
	END LOOP;
END
$do$;

------------------------------------------------------------------------------
-- frequent itemsets and association rules
------------------------------------------------------------------------------

CREATE TYPE bundlerec.itemset AS (
	items text[],
	size integer,
	count bigint,
	support double precision
);

COMMENT ON TYPE bundlerec.itemset IS 'a frequent itemset with the number and fraction of baskets holding it';
COMMENT ON COLUMN bundlerec.itemset.items IS 'the items, sorted in the source''s key order';
COMMENT ON COLUMN bundlerec.itemset.size IS 'number of items';
COMMENT ON COLUMN bundlerec.itemset.count IS 'baskets holding every item';
COMMENT ON COLUMN bundlerec.itemset.support IS 'count / number of baskets';

CREATE TYPE bundlerec.rule AS (
	antecedent text[],
	consequent text,
	size integer,
	count bigint,
	support double precision,
	confidence double precision,
	coverage double precision,
	lift double precision,
	leverage double precision,
	conviction double precision,
	fisher_p double precision
);

COMMENT ON TYPE bundlerec.rule IS 'an association rule antecedent => consequent with arules'' measures';
COMMENT ON COLUMN bundlerec.rule.antecedent IS 'left-hand side X, sorted in the source''s key order; may be empty';
COMMENT ON COLUMN bundlerec.rule.consequent IS 'right-hand side y (one item)';
COMMENT ON COLUMN bundlerec.rule.size IS 'items in the rule, consequent included';
COMMENT ON COLUMN bundlerec.rule.count IS 'baskets holding X and y';
COMMENT ON COLUMN bundlerec.rule.support IS 'count / number of baskets';
COMMENT ON COLUMN bundlerec.rule.confidence IS 'count(X and y) / count(X)';
COMMENT ON COLUMN bundlerec.rule.coverage IS 'support of X';
COMMENT ON COLUMN bundlerec.rule.lift IS 'confidence / support of y';
COMMENT ON COLUMN bundlerec.rule.leverage IS 'support - coverage * support of y';
COMMENT ON COLUMN bundlerec.rule.conviction IS '(1 - support of y) / (1 - confidence); Infinity when confidence = 1';
COMMENT ON COLUMN bundlerec.rule.fisher_p IS 'one-sided Fisher exact test of X and y: P(count or more) under independence';

-- STABLE: reads the source table with the caller's privileges.
-- PARALLEL RESTRICTED: it runs its own query through SPI.
CREATE FUNCTION bundlerec.frequent_itemsets(
	source regclass,
	basket text,
	item text,
	min_support double precision,
	max_size integer DEFAULT 5,
	min_count bigint DEFAULT NULL)
RETURNS SETOF bundlerec.itemset
	AS 'MODULE_PATHNAME', 'bundlerec_frequent_itemsets'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.frequent_itemsets(regclass, text, text, double precision, integer, bigint) IS
	'itemsets of 1 to max_size items held by at least min_support of the baskets (or min_count baskets) of a table of order lines';

CREATE FUNCTION bundlerec.itemsets(
	baskets bundlerec.basketset,
	min_support double precision,
	max_size integer DEFAULT 5,
	min_count bigint DEFAULT NULL)
RETURNS SETOF bundlerec.itemset
	AS 'MODULE_PATHNAME', 'bundlerec_basketset_itemsets'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION bundlerec.itemsets(bundlerec.basketset, double precision, integer, bigint) IS
	'itemsets of 1 to max_size items held by at least min_support of the baskets (or min_count baskets) of a basketset';

-- STABLE: reads the source table with the caller's privileges.
-- PARALLEL RESTRICTED: it runs its own query through SPI.
CREATE FUNCTION bundlerec.association_rules(
	source regclass,
	basket text,
	item text,
	min_support double precision,
	min_confidence double precision,
	max_size integer DEFAULT 5,
	min_size integer DEFAULT 1,
	min_count bigint DEFAULT NULL)
RETURNS SETOF bundlerec.rule
	AS 'MODULE_PATHNAME', 'bundlerec_association_rules'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.association_rules(regclass, text, text, double precision, double precision, integer, integer, bigint) IS
	'association rules X => y (arules semantics) from the frequent itemsets of a table of order lines';

CREATE FUNCTION bundlerec.rules(
	baskets bundlerec.basketset,
	min_support double precision,
	min_confidence double precision,
	max_size integer DEFAULT 5,
	min_size integer DEFAULT 1,
	min_count bigint DEFAULT NULL)
RETURNS SETOF bundlerec.rule
	AS 'MODULE_PATHNAME', 'bundlerec_basketset_rules'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION bundlerec.rules(bundlerec.basketset, double precision, double precision, integer, integer, bigint) IS
	'association rules X => y (arules semantics) from the frequent itemsets of a basketset';

------------------------------------------------------------------------------
-- completing a cart with rules
------------------------------------------------------------------------------

-- STABLE: reads the rules table.  One row per item the rules suggest: the
-- best rule (by confidence, then lift) whose antecedent is in the cart and
-- whose consequent is not.
CREATE FUNCTION bundlerec.complete_cart_rules(
	cart text[],
	rules regclass,
	k integer DEFAULT 10)
RETURNS TABLE (
	item text,
	confidence double precision,
	lift double precision,
	support double precision,
	count bigint,
	antecedent text[],
	explanation text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF cart IS NULL OR rules IS NULL THEN
		RAISE EXCEPTION 'cart and rules must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Pass the items in the cart as a text array and a table of bundlerec.association_rules() rows.';
	END IF;
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1, not %', coalesce(k::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'k is the number of suggestions to return.';
	END IF;
	IF (SELECT count(*) FROM pg_catalog.pg_attribute a
	    WHERE a.attrelid = rules AND a.attnum > 0 AND NOT a.attisdropped
	      AND a.attname IN ('antecedent', 'consequent', 'confidence', 'lift', 'support', 'count')) < 6 THEN
		RAISE EXCEPTION 'relation % is not a table of association rules', rules
			USING ERRCODE = 'undefined_column',
			      DETAIL = 'It needs the columns antecedent, consequent, confidence, lift, support and count.',
			      HINT = 'Create it from bundlerec.association_rules(), for example CREATE TABLE shop_rules AS SELECT * FROM bundlerec.association_rules(...).';
	END IF;
	PERFORM bundlerec.check_array(cart, 'cart');
	RETURN QUERY EXECUTE format(
		$q$
		SELECT b.consequent, b.confidence, b.lift, b.support, b.count, b.antecedent,
		       CASE WHEN cardinality(b.antecedent) = 0
		            THEN pg_catalog.format('bought in %%s%%%% of all orders', round((100 * b.confidence)::numeric, 1))
		            ELSE pg_catalog.format('bought with %%s in %%s orders: confidence %%s, lift %%s',
		                                   pg_catalog.array_to_string(b.antecedent, ' + '), b.count,
		                                   round(b.confidence::numeric, 3), round(b.lift::numeric, 2))
		       END
		FROM (
			SELECT DISTINCT ON (r.consequent)
			       r.consequent, r.confidence, r.lift, r.support, r.count, r.antecedent
			FROM %s AS r
			WHERE r.antecedent OPERATOR(pg_catalog.<@) $1
			  AND NOT (r.consequent OPERATOR(pg_catalog.=) ANY ($1))
			ORDER BY r.consequent, r.confidence DESC, r.lift DESC,
			         pg_catalog.cardinality(r.antecedent) DESC, r.antecedent
		) b
		ORDER BY b.confidence DESC, b.lift DESC, b.consequent
		LIMIT $2
		$q$, rules)
	USING cart, k;
END
$body$;

COMMENT ON FUNCTION bundlerec.complete_cart_rules(text[], regclass, integer) IS
	'items to add to a cart, from a table of association rules: for each suggested item the best rule whose antecedent the cart holds, ranked by confidence then lift, with an explanation';

------------------------------------------------------------------------------
-- Interactions: (customer, item, weight) from order lines
------------------------------------------------------------------------------

CREATE TYPE bundlerec.interaction AS (
	customer text,
	item text,
	weight double precision);

COMMENT ON TYPE bundlerec.interaction IS
	'how much a customer bought of an item (orders, quantity or lines, possibly time-decayed)';

-- The weight is the number of distinct orders (basket given), the summed
-- quantity (quantity given) or the number of lines, each order or line
-- decayed by 0.5 ^ (age / half_life) when half_life is given.
CREATE FUNCTION bundlerec.interactions(
	source regclass,
	customer text,
	item text,
	basket text DEFAULT NULL,
	quantity text DEFAULT NULL,
	ordered_at text DEFAULT NULL,
	half_life interval DEFAULT NULL,
	as_of timestamptz DEFAULT NULL)
RETURNS SETOF bundlerec.interaction
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	col text;
	c text;
	i text;
	u text;
	decay text := '1';
	lines_where text;
	inner_q text;
	skipped bigint;
	hl double precision;
BEGIN
	IF source IS NULL OR interactions.customer IS NULL OR interactions.item IS NULL THEN
		RAISE EXCEPTION 'source, customer and item must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Name a table or view of order lines and its customer and item columns.';
	END IF;
	FOREACH col IN ARRAY ARRAY[interactions.customer, interactions.item, basket, quantity, ordered_at] LOOP
		IF col IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM pg_attribute a
			WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped) THEN
			RAISE EXCEPTION 'column "%" does not exist in relation %', col, source
				USING ERRCODE = 'undefined_column',
				      HINT = 'Column names are matched exactly as given, without case folding or quotes.';
		END IF;
	END LOOP;
	IF half_life IS NOT NULL THEN
		IF ordered_at IS NULL THEN
			RAISE EXCEPTION 'half_life needs ordered_at'
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'Name the column holding each line''s order time.';
		END IF;
		hl := extract(epoch FROM half_life);
		IF hl <= 0 THEN
			RAISE EXCEPTION 'half_life must be positive, not %', half_life
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'For example interval ''90 days''.';
		END IF;
		IF as_of IS NULL THEN
			EXECUTE format('SELECT max(%I)::timestamptz FROM %s', ordered_at, source) INTO as_of;
		END IF;
		decay := format('power(0.5, extract(epoch FROM (%L::timestamptz - %I::timestamptz))::float8 / %s)',
		                as_of, ordered_at, hl);
	END IF;

	c := quote_ident(interactions.customer);
	i := quote_ident(interactions.item);
	lines_where := format('%s IS NOT NULL AND %s IS NOT NULL', c, i);
	IF quantity IS NOT NULL THEN
		lines_where := lines_where || format(' AND %I IS NOT NULL', quantity);
	END IF;
	IF half_life IS NOT NULL THEN
		lines_where := lines_where || format(' AND %I IS NOT NULL', ordered_at);
	END IF;
	EXECUTE format('SELECT count(*) FROM %s WHERE NOT (%s)', source, lines_where) INTO skipped;
	IF skipped > 0 THEN
		RAISE NOTICE 'skipped % order lines without a customer, item%', skipped,
			CASE WHEN quantity IS NOT NULL OR half_life IS NOT NULL THEN ', quantity or date' ELSE '' END;
	END IF;

	IF basket IS NOT NULL AND quantity IS NULL THEN
		-- one unit per distinct order, dated by its latest line
		inner_q := format('SELECT %1$s AS c, %2$s AS i, max(%3$s) AS u FROM %4$s WHERE %5$s GROUP BY %1$s, %2$s, %6$I',
		                  c, i, decay, source, lines_where, basket);
	ELSE
		u := CASE WHEN quantity IS NULL THEN '1' ELSE format('%I::float8', quantity) END;
		inner_q := format('SELECT %1$s AS c, %2$s AS i, %3$s * %4$s AS u FROM %5$s WHERE %6$s',
		                  c, i, u, decay, source, lines_where);
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT s.c::text, s.i::text, sum(s.u)::float8 FROM (%s) s GROUP BY s.c, s.i HAVING sum(s.u) > 0',
		inner_q);
END
$body$;

COMMENT ON FUNCTION bundlerec.interactions(regclass, text, text, text, text, text, interval, timestamptz) IS
	'customer x item interaction weights from order lines: distinct orders, quantity or lines, optionally decayed with a half-life';

------------------------------------------------------------------------------
-- Implicit ALS embeddings
------------------------------------------------------------------------------

-- VOLATILE: creates and fills the two factor tables.
CREATE FUNCTION bundlerec.als_train(
	source regclass,
	customer text,
	item text,
	customer_table text,
	item_table text,
	weight text DEFAULT NULL,
	factors integer DEFAULT 64,
	regularization double precision DEFAULT 0.1,
	alpha double precision DEFAULT 10,
	iterations integer DEFAULT 15,
	seed bigint DEFAULT 42,
	warm_start regclass DEFAULT NULL,
	solver text DEFAULT 'cg',
	cg_steps integer DEFAULT 3)
RETURNS TABLE(iteration integer, loss double precision, seconds double precision,
              gflop double precision)
	AS 'MODULE_PATHNAME', 'als_train'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION bundlerec.als_train(regclass, text, text, text, text, text, integer, double precision, double precision, integer, bigint, regclass, text, integer) IS
	'implicit-feedback ALS (confidence 1 + alpha * weight): creates customer_table (customer, factors real[]) and item_table (item, factors real[]) and returns the loss per iteration; warm_start (a previous customer table) starts the customers it knows from their vectors; solver ''cg'' takes cg_steps conjugate-gradient steps per row from its current vector, ''exact'' solves each row''s normal equations exactly';

CREATE FUNCTION bundlerec.als_recommend_all(
	customer_factors regclass,
	item_factors regclass,
	k integer DEFAULT 50)
RETURNS TABLE(customer text, rank integer, item text, score real)
	AS 'MODULE_PATHNAME', 'als_recommend_all'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.als_recommend_all(regclass, regclass, integer) IS
	'the k items with the largest x . y for every customer of an als_train customer table (bought items included)';

CREATE FUNCTION bundlerec.als_similar_items(
	item_factors regclass,
	k integer DEFAULT 20)
RETURNS TABLE(item text, rank integer, neighbor text, similarity real)
	AS 'MODULE_PATHNAME', 'als_similar_items'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.als_similar_items(regclass, integer) IS
	'the k items whose factor vectors have the largest cosine with each item''s';

CREATE FUNCTION bundlerec.factors_dot(real[], real[])
RETURNS double precision
	AS 'MODULE_PATHNAME', 'factors_dot'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION bundlerec.factors_dot(real[], real[]) IS
	'dot product of two factor vectors of one model (a customer''s predicted preference for an item)';

-- VOLATILE: a random draw.
CREATE FUNCTION bundlerec.beta_sample(alpha double precision, beta double precision)
RETURNS double precision
	AS 'MODULE_PATHNAME', 'beta_sample'
	LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.beta_sample(double precision, double precision) IS
	'one draw from the Beta(alpha, beta) distribution (Thompson sampling of a conversion rate)';

CREATE FUNCTION bundlerec.als_recommend(
	customer_vector real[],
	item_factors regclass,
	k integer DEFAULT 10,
	exclude text[] DEFAULT NULL)
RETURNS TABLE(item text, score real, affinity real)
	AS 'MODULE_PATHNAME', 'als_recommend'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.als_recommend(real[], regclass, integer, text[]) IS
	'the k items whose factors have the largest dot product with a customer vector (affinity = sigmoid of it), leaving out the items in exclude';

CREATE FUNCTION bundlerec.als_fold_in(
	items text[],
	item_factors regclass,
	regularization double precision DEFAULT 0.1,
	alpha double precision DEFAULT 10,
	weights double precision[] DEFAULT NULL)
RETURNS real[]
	AS 'MODULE_PATHNAME', 'als_fold_in'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.als_fold_in(text[], regclass, double precision, double precision, double precision[]) IS
	'the customer vector the ALS customer step gives for a cart or a new customer''s history, against a trained item factor table';

------------------------------------------------------------------------------
-- Item-item models: EASE, neighbourhood CF, content similarity
------------------------------------------------------------------------------

CREATE TYPE bundlerec.neighbor AS (
	item text,
	neighbor text,
	score double precision,
	common bigint);

COMMENT ON TYPE bundlerec.neighbor IS
	'a weighted link from an item to a related item: an EASE weight, a similarity, with the customers (or tokens) they share';

CREATE FUNCTION bundlerec.ease(
	source regclass,
	customer text,
	item text,
	weight text DEFAULT NULL,
	regularization double precision DEFAULT 100,
	top_k integer DEFAULT 100,
	min_count integer DEFAULT 1,
	neighbors text[] DEFAULT NULL)
RETURNS SETOF bundlerec.neighbor
	AS 'MODULE_PATHNAME', 'ease_train'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.ease(regclass, text, text, text, double precision, integer, integer, text[]) IS
	'EASE item-item weights B = I - P diag(1/diag(P)), P = (X''X + regularization I)^-1: the top_k largest positive weights of each item (toward the neighbors items only, when given)';

-- Signed dense EASE weights (keep_negative), the baseline the sparse engine
-- is measured against.
CREATE FUNCTION bundlerec._ease_dense(
	source regclass,
	customer text,
	item text,
	weight text,
	regularization double precision,
	top_k integer,
	min_count integer,
	neighbors text[],
	keep_negative boolean)
RETURNS SETOF bundlerec.neighbor
	AS 'MODULE_PATHNAME', 'ease_train'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec._ease_dense(regclass, text, text, text, double precision, integer, integer, text[], boolean) IS
	'dense EASE weights: as ease(), and with keep_negative the top_k largest |B_ij| of each item with their signs';

CREATE FUNCTION bundlerec.sparse_ease(
	source regclass,
	customer text,
	item text,
	weight text DEFAULT NULL,
	regularization double precision DEFAULT 100,
	top_k integer DEFAULT 100,
	min_count integer DEFAULT 1,
	neighborhood integer DEFAULT 200)
RETURNS SETOF bundlerec.neighbor
	AS 'MODULE_PATHNAME', 'sparse_ease_train'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.sparse_ease(regclass, text, text, text, double precision, integer, integer, integer) IS
	'approximate EASE for large catalogues: each item''s column of B is the ridge regression of the item on its neighborhood most co-bought items (dense EASE when that covers the catalogue); the top_k weights of largest magnitude of each item, signed';

-- Dense EASE when its items x items matrix fits bundlerec.memory_limit
-- beside the interactions, sparse EASE otherwise: callers need not choose.
CREATE FUNCTION bundlerec._ease_auto(
	source regclass,
	customer text,
	item text,
	weight text,
	regularization double precision,
	top_k integer,
	min_count integer,
	neighborhood integer)
RETURNS SETOF bundlerec.neighbor
	AS 'MODULE_PATHNAME', 'ease_auto_train'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec._ease_auto(regclass, text, text, text, double precision, integer, integer, integer) IS
	'signed EASE weights (top_k largest |B_ij| per item): the dense inverse when it fits bundlerec.memory_limit, else sparse_ease() with the given neighborhood';

-- Signed EASE weights for the model stages.  _ease_weights is the one entry
-- the stages call; _ease_auto picks the engine, so they need not choose.
CREATE FUNCTION bundlerec._ease_weights(
	source regclass,
	basket text,
	item text,
	regularization double precision DEFAULT 100,
	top_k integer DEFAULT 100,
	min_count integer DEFAULT 1)
RETURNS SETOF bundlerec.neighbor
	LANGUAGE sql STABLE PARALLEL RESTRICTED
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT * FROM bundlerec._ease_auto(source, basket, item, NULL, regularization,
		top_k, min_count, 200)
$$;

COMMENT ON FUNCTION bundlerec._ease_weights(regclass, text, text, double precision, integer, integer) IS
	'signed EASE item-item weights over baskets (or customers) x items, the top_k largest |B_ij| per item: the single engine entry of the model stages (dense EASE when it fits bundlerec.memory_limit, else sparse_ease with neighborhood 200)';

CREATE FUNCTION bundlerec.item_neighbors(
	source regclass,
	customer text,
	item text,
	rating text DEFAULT NULL,
	measure text DEFAULT 'cosine',
	top_k integer DEFAULT 20,
	min_common integer DEFAULT 1,
	shrinkage double precision DEFAULT 0)
RETURNS SETOF bundlerec.neighbor
	AS 'MODULE_PATHNAME', 'item_neighbors'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.item_neighbors(regclass, text, text, text, text, integer, integer, double precision) IS
	'item-based collaborative filtering: the top_k most similar items of each item (cosine, pearson or adjusted_cosine over customers)';

CREATE FUNCTION bundlerec.customer_neighbors(
	source regclass,
	customer text,
	item text,
	rating text DEFAULT NULL,
	measure text DEFAULT 'cosine',
	top_k integer DEFAULT 20,
	min_common integer DEFAULT 1,
	shrinkage double precision DEFAULT 0)
RETURNS TABLE(customer text, neighbor text, score double precision, common bigint)
	AS 'MODULE_PATHNAME', 'customer_neighbors'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.customer_neighbors(regclass, text, text, text, text, integer, integer, double precision) IS
	'user-based collaborative filtering: the top_k most similar customers of each customer (cosine, pearson or adjusted_cosine over items)';

CREATE FUNCTION bundlerec.content_neighbors(
	products regclass,
	item text,
	attributes text[] DEFAULT '{}',
	name text DEFAULT NULL,
	price text DEFAULT NULL,
	price_bands integer DEFAULT 5,
	top_k integer DEFAULT 20)
RETURNS SETOF bundlerec.neighbor
	AS 'MODULE_PATHNAME', 'content_neighbors'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.content_neighbors(regclass, text, text[], text, text, integer, integer) IS
	'similar products from their attributes, price band and name words (TF-IDF cosine), for products without orders';

CREATE FUNCTION bundlerec.embedding_neighbors(
	products regclass,
	item text,
	embedding text,
	k integer DEFAULT 20)
RETURNS TABLE(item text, rank integer, neighbor text, similarity real)
	AS 'MODULE_PATHNAME', 'embedding_neighbors'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.embedding_neighbors(regclass, text, text, integer) IS
	'the k products whose embeddings (real[], or any type with a cast to it such as pgvector''s vector) have the largest cosine with each product''s';

-- score_j = sum over history items i of r_i * score(i -> j); predicted is
-- the weighted average sum r_i * score / sum |score| (the classic item-kNN
-- prediction when the scores are similarities and r are ratings).
CREATE FUNCTION bundlerec.recommend_from_neighbors(
	history text[],
	neighbors regclass,
	k integer DEFAULT 10,
	ratings double precision[] DEFAULT NULL)
RETURNS TABLE(item text, score double precision, predicted double precision, because text[])
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF neighbors IS NULL THEN
		RAISE EXCEPTION 'neighbors must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Pass a table of bundlerec.ease(), item_neighbors() or content_neighbors() rows.';
	END IF;
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1, not %', coalesce(k::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'k is the number of items to return.';
	END IF;
	PERFORM bundlerec.check_array(history, 'history');
	PERFORM bundlerec.check_array(ratings, 'ratings');
	IF ratings IS NOT NULL AND cardinality(ratings) <> cardinality(history) THEN
		RAISE EXCEPTION 'ratings has % elements but history has %', cardinality(ratings), cardinality(history)
			USING ERRCODE = 'array_subscript_error',
			      HINT = 'Give one rating per history item, or leave ratings out.';
	END IF;
	IF (SELECT count(*) FROM pg_catalog.pg_attribute a
	    WHERE a.attrelid = neighbors AND a.attnum > 0 AND NOT a.attisdropped
	      AND a.attname IN ('item', 'neighbor', 'score')) < 3 THEN
		RAISE EXCEPTION 'relation % is not a table of item neighbors', neighbors
			USING ERRCODE = 'undefined_column',
			      DETAIL = 'It needs the columns item, neighbor and score.',
			      HINT = 'Create it from bundlerec.ease(), item_neighbors() or content_neighbors().';
	END IF;
	IF history IS NULL OR cardinality(history) = 0 THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE format(
		$q$
		WITH h AS (
			SELECT h.item, sum(coalesce(h.r, 1)) AS r
			FROM unnest($1, $3) AS h(item, r)
			WHERE h.item IS NOT NULL
			GROUP BY h.item
		)
		SELECT n.neighbor::text,
		       sum(h.r * n.score)::float8,
		       (sum(h.r * n.score) / nullif(sum(abs(n.score)), 0))::float8,
		       (array_agg(n.item::text ORDER BY h.r * n.score DESC, n.item))[1:3]
		FROM h JOIN %s AS n ON n.item = h.item
		WHERE NOT (n.neighbor OPERATOR(pg_catalog.=) ANY (pg_catalog.array_remove($1, NULL)))
		GROUP BY n.neighbor
		ORDER BY 2 DESC, 1
		LIMIT $2
		$q$, neighbors)
	USING history, k, coalesce(ratings, array_fill(NULL::float8, ARRAY[cardinality(history)]));
END
$body$;

COMMENT ON FUNCTION bundlerec.recommend_from_neighbors(text[], regclass, integer, double precision[]) IS
	'items to recommend for a history (cart or past purchases) from a neighbours table: summed weights, the weighted-average prediction and the history items that contribute most';

-- p(u, j) = sum_v sim(u, v) r_vj over u's neighbours v; predicted divides
-- by the sum of |sim| of the neighbours that have j.
CREATE FUNCTION bundlerec.recommend_from_customer_neighbors(
	customer text,
	neighbors regclass,
	source regclass,
	customer_column text,
	item_column text,
	k integer DEFAULT 10,
	rating text DEFAULT NULL)
RETURNS TABLE(item text, score double precision, predicted double precision, because text[])
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	r text := CASE WHEN rating IS NULL THEN '1' ELSE format('sum(%I)', rating) END;
BEGIN
	IF neighbors IS NULL OR source IS NULL OR customer_column IS NULL OR item_column IS NULL THEN
		RAISE EXCEPTION 'neighbors, source, customer_column and item_column must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Pass the customer_neighbors() table and the source it was computed from.';
	END IF;
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1, not %', coalesce(k::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'k is the number of items to return.';
	END IF;
	RETURN QUERY EXECUTE format(
		$q$
		WITH nb AS (
			SELECT n.neighbor, n.score FROM %1$s AS n WHERE n.customer = $1
		), mine AS (
			SELECT DISTINCT s.%3$I::text AS item FROM %2$s AS s WHERE s.%4$I::text = $1
		), theirs AS (
			SELECT s.%4$I::text AS neighbor, s.%3$I::text AS item, %5$s::float8 AS r
			FROM %2$s AS s
			WHERE s.%4$I::text IN (SELECT nb.neighbor FROM nb) AND s.%3$I IS NOT NULL
			GROUP BY 1, 2
		)
		SELECT t.item, sum(nb.score * t.r)::float8,
		       (sum(nb.score * t.r) / nullif(sum(abs(nb.score)), 0))::float8,
		       (array_agg(t.neighbor ORDER BY nb.score * t.r DESC, t.neighbor))[1:3]
		FROM theirs t JOIN nb USING (neighbor)
		WHERE t.item NOT IN (SELECT mine.item FROM mine)
		GROUP BY t.item
		ORDER BY 2 DESC, 1
		LIMIT $2
		$q$, neighbors, source, item_column, customer_column, r)
	USING customer, k;
END
$body$;

COMMENT ON FUNCTION bundlerec.recommend_from_customer_neighbors(text, regclass, regclass, text, text, integer, text) IS
	'user-based collaborative filtering: items the customer''s nearest customers bought (or rated), weighted by similarity';

------------------------------------------------------------------------------
-- Bundles: scoring and generation
------------------------------------------------------------------------------

CREATE TYPE bundlerec.bundle AS (
	anchor text[],
	rank integer,
	items text[],
	size integer,
	count bigint,
	support double precision,
	cohesion double precision,
	min_npmi double precision,
	mean_lift double precision,
	min_lift double precision,
	affinity double precision,
	list_price double precision,
	bundle_price double precision,
	accept_probability double precision,
	expected_revenue double precision,
	score double precision,
	explanation text,
	alike double precision
);

COMMENT ON TYPE bundlerec.bundle IS 'a bundle of items with its cohesion, affinity for a customer, revenue, combined score and explanation';
COMMENT ON COLUMN bundlerec.bundle.anchor IS 'the items the customer already has (an item page''s item or a cart); the rest of the bundle is the offer';
COMMENT ON COLUMN bundlerec.bundle.rank IS 'position among the bundles of the same anchor, 1 = best; NULL from bundle_score';
COMMENT ON COLUMN bundlerec.bundle.items IS 'the anchor items first, then the added items in the order they were added';
COMMENT ON COLUMN bundlerec.bundle.size IS 'number of items';
COMMENT ON COLUMN bundlerec.bundle.count IS 'orders holding every item of the bundle';
COMMENT ON COLUMN bundlerec.bundle.support IS 'count / number of orders';
COMMENT ON COLUMN bundlerec.bundle.cohesion IS 'mean over item pairs of npmi * c_ij / (c_ij + shrinkage); npmi = ln(c_ij N / (c_i c_j)) / -ln(c_ij / N), in [-1, 1]';
COMMENT ON COLUMN bundlerec.bundle.min_npmi IS 'the weakest pair''s shrunk npmi';
COMMENT ON COLUMN bundlerec.bundle.mean_lift IS 'mean pairwise lift c_ij N / (c_i c_j)';
COMMENT ON COLUMN bundlerec.bundle.min_lift IS 'the weakest pair''s lift';
COMMENT ON COLUMN bundlerec.bundle.affinity IS 'mean over items of sigmoid(x . y_i) (embeddings) or of 1 - prod over the history of (1 - cosine) (history); NULL without either';
COMMENT ON COLUMN bundlerec.bundle.list_price IS 'sum of the item prices; NULL when an item has no price';
COMMENT ON COLUMN bundlerec.bundle.bundle_price IS 'list_price * (1 - discount)';
COMMENT ON COLUMN bundlerec.bundle.accept_probability IS 'orders holding the bundle / orders holding the anchor: the confidence of anchor => the rest';
COMMENT ON COLUMN bundlerec.bundle.expected_revenue IS 'accept_probability * price of the added items * (1 - discount)';
COMMENT ON COLUMN bundlerec.bundle.score IS 'cohesion_weight * cohesion + affinity_weight * affinity + revenue_weight * r / (r + revenue_scale) + alike_weight * alike, r = expected_revenue; missing parts count 0';
COMMENT ON COLUMN bundlerec.bundle.explanation IS 'the score in words';
COMMENT ON COLUMN bundlerec.bundle.alike IS 'mean over item pairs of their content similarity (the content table''s similarity; 0 for a pair it does not list); NULL without content';

-- STABLE: reads the source (and the factor table) with the caller's
-- privileges.  PARALLEL RESTRICTED: it runs its own queries through SPI.
CREATE FUNCTION bundlerec.bundle_score(
	source regclass,
	basket text,
	item text,
	items text[],
	anchor text[] DEFAULT NULL,
	price text DEFAULT NULL,
	ordered_at text DEFAULT NULL,
	price_window interval DEFAULT '90 days',
	discount double precision DEFAULT 0,
	history text[] DEFAULT NULL,
	customer_vector real[] DEFAULT NULL,
	item_factors regclass DEFAULT NULL,
	shrinkage double precision DEFAULT 10,
	cohesion_weight double precision DEFAULT 1,
	affinity_weight double precision DEFAULT 1,
	revenue_weight double precision DEFAULT 1,
	revenue_scale double precision DEFAULT NULL,
	content regclass DEFAULT NULL,
	alike_weight double precision DEFAULT 0)
RETURNS bundlerec.bundle
	AS 'MODULE_PATHNAME', 'bundle_score'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.bundle_score(regclass, text, text, text[], text[], text, text, interval, double precision, text[], real[], regclass, double precision, double precision, double precision, double precision, double precision, regclass, double precision) IS
	'cohesion, affinity for a customer, revenue and combined score of one bundle of items, from a table of order lines';

CREATE FUNCTION bundlerec.generate_bundles(
	source regclass,
	basket text,
	item text,
	anchor text[] DEFAULT NULL,
	max_size integer DEFAULT 3,
	k integer DEFAULT 5,
	min_count bigint DEFAULT 2,
	exclude text[] DEFAULT NULL,
	available text[] DEFAULT NULL,
	max_price double precision DEFAULT NULL,
	price text DEFAULT NULL,
	category text DEFAULT NULL,
	ordered_at text DEFAULT NULL,
	price_window interval DEFAULT '90 days',
	discount double precision DEFAULT 0,
	history text[] DEFAULT NULL,
	customer_vector real[] DEFAULT NULL,
	item_factors regclass DEFAULT NULL,
	min_size integer DEFAULT 2,
	beam integer DEFAULT 20,
	shrinkage double precision DEFAULT 10,
	cohesion_weight double precision DEFAULT 1,
	affinity_weight double precision DEFAULT 1,
	revenue_weight double precision DEFAULT 1,
	revenue_scale double precision DEFAULT NULL,
	min_support double precision DEFAULT 0,
	content regclass DEFAULT NULL,
	alike_weight double precision DEFAULT 0,
	whole_share double precision DEFAULT 0.7)
RETURNS SETOF bundlerec.bundle
	AS 'MODULE_PATHNAME', 'generate_bundles'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION bundlerec.generate_bundles(regclass, text, text, text[], integer, integer, bigint, text[], text[], double precision, text, text, text, interval, double precision, text[], real[], regclass, integer, integer, double precision, double precision, double precision, double precision, double precision, double precision, regclass, double precision, double precision) IS
	'the k best bundles of 2 to max_size items around an anchor item or cart (or around every item when anchor is NULL), grown by beam search from order lines under constraints; a bundle bought whole ranks above its own subsets (whole_share)';

------------------------------------------------------------------------------
-- Merchant-defined bundles ranked for customers
------------------------------------------------------------------------------

-- rank_bundles' argument checks (kept apart to keep rank_bundles short).
CREATE FUNCTION bundlerec._rank_bundles_check(
	bundles regclass, customer_bundles regclass, customer_items regclass, customers text[], k integer,
	item_weight double precision, min_item_count integer, regularization double precision, top_k integer,
	cohesion_weight double precision, shrinkage double precision, exclude_bought boolean,
	overlap_weight double precision, graph_weight double precision)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	need record;
BEGIN
	IF bundles IS NULL OR customer_bundles IS NULL THEN
		RAISE EXCEPTION 'bundles and customer_bundles must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Pass a table of (bundle, item) rows and a table of (customer, bundle) rows.';
	END IF;
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1, not %', coalesce(k::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'k is the number of bundles per customer.';
	END IF;
	IF item_weight IS NULL OR NOT (item_weight >= 0) OR item_weight = 'Infinity' THEN
		RAISE EXCEPTION 'item_weight must be a finite number >= 0, not %', coalesce(item_weight::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'item_weight is the weight of an item a customer bought against 1 for a bundle; 0 ignores items.';
	END IF;
	IF top_k IS NULL OR top_k < 1 THEN
		RAISE EXCEPTION 'top_k must be at least 1, not %', coalesce(top_k::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'top_k is the number of weights kept toward bundles per bundle or item, for example 500.';
	END IF;
	IF regularization IS NULL OR NOT (regularization > 0) OR regularization = 'Infinity' THEN
		RAISE EXCEPTION 'regularization must be a finite number > 0, not %', coalesce(regularization::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'EASE''s regularization; pick it on held-out customers, for example 500.';
	END IF;
	IF min_item_count IS NULL OR min_item_count < 1 THEN
		RAISE EXCEPTION 'min_item_count must be at least 1, not %', coalesce(min_item_count::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Items bought by fewer customers are left out of the model.';
	END IF;
	IF cohesion_weight IS NULL OR NOT (cohesion_weight >= 0) OR shrinkage IS NULL OR NOT (shrinkage >= 0) THEN
		RAISE EXCEPTION 'cohesion_weight and shrinkage must be numbers >= 0'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Leave them out to use the defaults.';
	END IF;
	PERFORM bundlerec.check_array(customers, 'customers');
	IF overlap_weight IS NULL OR NOT (overlap_weight >= 0) OR overlap_weight = 'Infinity' THEN
		RAISE EXCEPTION 'overlap_weight must be a finite number >= 0, not %', coalesce(overlap_weight::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'overlap_weight weighs the share of a bundle''s items the customer bought; 0 leaves it out.';
	END IF;
	IF graph_weight IS NULL OR NOT (graph_weight >= 0) OR graph_weight IN ('Infinity', 'NaN') THEN
		RAISE EXCEPTION 'graph_weight must be a finite number >= 0, not %', coalesce(graph_weight::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'graph_weight weighs the two graph filters; 0 leaves them out.';
	END IF;
	IF exclude_bought IS NULL THEN
		RAISE EXCEPTION 'exclude_bought must not be NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Leave it out to leave out bundles the customer already took.';
	END IF;
	FOR need IN
		SELECT * FROM (VALUES (bundles, 'bundle', 'a table of bundle contents'),
		                      (bundles, 'item', 'a table of bundle contents'),
		                      (customer_bundles, 'customer', 'a table of customers'' bundles'),
		                      (customer_bundles, 'bundle', 'a table of customers'' bundles'),
		                      (customer_items, 'customer', 'a table of customers'' items'),
		                      (customer_items, 'item', 'a table of customers'' items')) v(rel, col, what)
		WHERE v.rel IS NOT NULL
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = need.rel AND a.attname = need.col
		               AND a.attnum > 0 AND NOT a.attisdropped) THEN
			RAISE EXCEPTION 'relation % is not %: it has no column "%"', need.rel, need.what, need.col
				USING ERRCODE = 'undefined_column',
				      HINT = 'bundles needs columns (bundle, item), customer_bundles (customer, bundle), customer_items (customer, item); rename in a view.';
		END IF;
	END LOOP;
	IF customers IS NOT NULL AND array_position(customers, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'customers must not contain NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Remove them first, for example with array_remove(customers, NULL).';
	END IF;
END
$body$;

-- rank_bundles' graph filters into pg_temp.bundlerec_rank_graph (customer,
-- bundle, gx, gb), closed form, no training:
--   gx(u, b) = sum_c x_uc P_cb, P = Xn' Xn with Xn = Du^-1/2 X Dc^-1/2 the
--     degree-normalised training matrix (customers x bundle and item columns,
--     GF-CF's linear filter), top_k largest P_cb per column c kept;
--   gb(u, b) = sum over the customer's bundles b' of S_b'b, S = An An' with
--     An = Db^-1/2 A Di^-1/2 the normalised bundle x item membership (bundles
--     sharing items, rarer items weigh more), top_k per b' kept; it reaches
--     bundles nobody took.
-- Only the requested customers' columns and bundles are expanded; the table
-- is left empty when not wanted.
CREATE FUNCTION bundlerec._rank_bundles_graph(bundles regclass, customers text[], top_k integer, wanted boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF to_regclass('pg_temp.bundlerec_rank_graph') IS NOT NULL THEN
		DROP TABLE pg_temp.bundlerec_rank_graph;
	END IF;
	CREATE TEMP TABLE bundlerec_rank_graph (customer text, bundle text, gx float8, gb float8) ON COMMIT DROP;
	IF NOT wanted THEN
		RETURN;
	END IF;
	INSERT INTO pg_temp.bundlerec_rank_graph
	WITH who AS (
		SELECT DISTINCT l.customer FROM pg_temp.bundlerec_rank_lines l
		WHERE customers IS NULL OR l.customer = ANY (customers)
	), du AS (
		SELECT l.customer, sum(l.w) AS d FROM pg_temp.bundlerec_rank_lines l GROUP BY l.customer
	), dc AS (
		SELECT l.col, sum(l.w) AS d FROM pg_temp.bundlerec_rank_lines l GROUP BY l.col
	), cols AS (
		SELECT DISTINCT l.col FROM pg_temp.bundlerec_rank_lines l JOIN who USING (customer)
	), p AS (
		SELECT x.col, y.col AS bcol, sum(x.w * y.w / (du.d * sqrt(cx.d * cy.d))) AS s
		FROM pg_temp.bundlerec_rank_lines x
		JOIN cols USING (col)
		JOIN pg_temp.bundlerec_rank_lines y ON y.customer = x.customer AND y.col LIKE 'b:%' AND y.col <> x.col
		JOIN du ON du.customer = x.customer
		JOIN dc cx ON cx.col = x.col
		JOIN dc cy ON cy.col = y.col
		GROUP BY x.col, y.col
	), kept AS (
		SELECT r.col, r.bcol, r.s FROM (
			SELECT p.*, row_number() OVER (PARTITION BY p.col ORDER BY p.s DESC, p.bcol COLLATE "C") AS rn FROM p) r
		WHERE r.rn <= top_k
	)
	SELECT l.customer, substr(k.bcol, 3), sum(l.w * k.s), 0
	FROM pg_temp.bundlerec_rank_lines l JOIN who USING (customer) JOIN kept k ON k.col = l.col
	GROUP BY l.customer, k.bcol;

	EXECUTE format($q$
		INSERT INTO pg_temp.bundlerec_rank_graph
		WITH bi AS (
			SELECT DISTINCT b.bundle::text AS bundle, b.item::text AS item FROM %s b
			WHERE b.bundle IS NOT NULL AND b.item IS NOT NULL
		), db AS (
			SELECT bi.bundle, count(*)::float8 AS d FROM bi GROUP BY bi.bundle
		), di AS (
			SELECT bi.item, count(*)::float8 AS d FROM bi GROUP BY bi.item
		), mine AS (
			SELECT l.customer, substr(l.col, 3) AS bundle FROM pg_temp.bundlerec_rank_lines l
			WHERE l.col LIKE 'b:%%' AND ($1 IS NULL OR l.customer = ANY ($1))
		), s AS (
			SELECT x.bundle AS b1, y.bundle AS b2, sum(1 / (sqrt(d1.d * d2.d) * di.d)) AS s
			FROM bi x
			JOIN bi y ON y.item = x.item AND y.bundle <> x.bundle
			JOIN di ON di.item = x.item
			JOIN db d1 ON d1.bundle = x.bundle
			JOIN db d2 ON d2.bundle = y.bundle
			WHERE x.bundle IN (SELECT mine.bundle FROM mine)
			GROUP BY x.bundle, y.bundle
		), kept AS (
			SELECT r.b1, r.b2, r.s FROM (
				SELECT s.*, row_number() OVER (PARTITION BY s.b1 ORDER BY s.s DESC, s.b2 COLLATE "C") AS rn FROM s) r
			WHERE r.rn <= $2
		)
		SELECT m.customer, k.b2, 0, sum(k.s) FROM mine m JOIN kept k ON k.b1 = m.bundle
		GROUP BY m.customer, k.b2
		$q$, bundles) USING customers, top_k;
	ANALYZE pg_temp.bundlerec_rank_graph;
END
$body$;

-- rank_bundles' lists from its temporary tables: score = the EASE total
-- (+ cohesion) plus, scaled by the customer's largest |total| (1 if 0),
-- overlap_weight times the bundle's overlap with the customer's items over
-- their best overlap, and graph_weight times gx / max gx + gb / max gb
-- (the maxima over the customer's candidates), so that both weights 0 leave
-- the EASE ranking as it was; then popular bundles (score NULL) until the
-- customer has k.
CREATE FUNCTION bundlerec._rank_bundles_serve(customers text[], k integer, cohesion_weight double precision,
	exclude_bought boolean, overlap_weight double precision, graph_weight double precision)
RETURNS TABLE (customer text, rank integer, bundle text, score double precision, from_bundles double precision,
	from_items double precision, cohesion double precision, explanation text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	RETURN QUERY
	WITH who AS (
		SELECT DISTINCT l.customer FROM pg_temp.bundlerec_rank_lines l
		WHERE customers IS NULL OR l.customer = ANY (customers)
	), contrib AS (
		SELECT l.customer, w.bundle, l.col, l.w * w.score AS s
		FROM pg_temp.bundlerec_rank_lines l
		JOIN who USING (customer)
		JOIN pg_temp.bundlerec_rank_weights w ON w.col = l.col
	), parts AS (
		SELECT c.customer, c.bundle,
		       coalesce(sum(c.s) FILTER (WHERE c.col LIKE 'b:%'), 0) AS fb,
		       coalesce(sum(c.s) FILTER (WHERE c.col LIKE 'i:%'), 0) AS fi,
		       (array_agg(substr(c.col, 3) ORDER BY c.s DESC, c.col) FILTER (WHERE c.col LIKE 'b:%'))[1:2] AS via,
		       count(*) FILTER (WHERE c.col LIKE 'i:%') AS n_items, 0::float8 AS ov, 0::float8 AS gx, 0::float8 AS gb
		FROM contrib c
		GROUP BY c.customer, c.bundle
		UNION ALL
		SELECT o.customer, o.bundle, 0, 0, NULL, 0, o.ov, 0, 0 FROM pg_temp.bundlerec_rank_overlap o JOIN who USING (customer)
		UNION ALL
		SELECT g.customer, g.bundle, 0, 0, NULL, 0, 0, g.gx, g.gb FROM pg_temp.bundlerec_rank_graph g JOIN who USING (customer)
	), cand AS (
		SELECT p.customer, p.bundle, sum(p.fb) AS fb, sum(p.fi) AS fi, h.cohesion,
		       sum(p.fb) + sum(p.fi) + cohesion_weight * coalesce(h.cohesion, 0) AS total,
		       sum(p.ov) AS ov, sum(p.gx) AS gx, sum(p.gb) AS gb, max(p.via) AS via, sum(p.n_items) AS n_items
		FROM parts p
		LEFT JOIN pg_temp.bundlerec_rank_cohesion h ON h.bundle = p.bundle
		WHERE NOT (exclude_bought AND EXISTS (
			SELECT 1 FROM pg_temp.bundlerec_rank_lines l
			WHERE l.customer = p.customer AND l.col = 'b:' || p.bundle))
		GROUP BY p.customer, p.bundle, h.cohesion
	), ranked AS (
		SELECT c.*, c.total + coalesce(nullif(max(abs(c.total)) OVER w, 0), 1)
		       * (overlap_weight * c.ov / coalesce(nullif(max(c.ov) OVER w, 0), 1)
		          + graph_weight * (c.gx / coalesce(nullif(max(c.gx) OVER w, 0), 1)
		                            + c.gb / coalesce(nullif(max(c.gb) OVER w, 0), 1))) AS sc
		FROM cand c
		WINDOW w AS (PARTITION BY c.customer)
	), filled AS (
		SELECT r.customer, r.bundle, r.sc, r.fb, r.fi, r.cohesion, r.ov, r.gx + r.gb AS g, r.via, r.n_items,
		       0 AS part, 0::bigint AS pop
		FROM ranked r
		UNION ALL
		-- a customer short of k needs at most k popular bundles beyond the
		-- < k ranked and the ones they took: the 2k + most-taken first suffice
		SELECT who.customer, p.bundle, NULL, NULL, NULL, NULL, 0, 0, NULL, 0, 1, p.n
		FROM who CROSS JOIN pg_temp.bundlerec_rank_pop p
		WHERE p.pr <= 2 * k + (SELECT coalesce(max(t.n), 0) FROM (
		                           SELECT count(*) AS n FROM pg_temp.bundlerec_rank_lines l JOIN who w2 USING (customer)
		                           WHERE l.col LIKE 'b:%' GROUP BY l.customer) t)
		  AND NOT EXISTS (SELECT 1 FROM ranked r WHERE r.customer = who.customer AND r.bundle = p.bundle)
		  AND NOT (exclude_bought AND EXISTS (
			SELECT 1 FROM pg_temp.bundlerec_rank_lines l
			WHERE l.customer = who.customer AND l.col = 'b:' || p.bundle))
	), numbered AS (
		SELECT f.*, row_number() OVER (PARTITION BY f.customer ORDER BY f.part, f.sc DESC, f.pop DESC, f.bundle) AS rn
		FROM filled f
	)
	SELECT nb.customer, nb.rn::integer, nb.bundle, nb.sc, nb.fb, nb.fi, nb.cohesion,
	       CASE WHEN nb.part = 1 THEN format('popular: %s customers took it', nb.pop)
	       ELSE concat_ws('; ',
	           CASE WHEN nb.via IS NOT NULL
	                THEN format('taken by customers who took %s', array_to_string(nb.via, ' and ')) END,
	           CASE WHEN nb.n_items > 0
	                THEN format('%s of your items point to it', nb.n_items) END,
	           CASE WHEN nb.ov > 0
	                THEN format('you bought %s of its items', nb.ov) END,
	           CASE WHEN nb.g > 0 AND nb.via IS NULL AND nb.n_items = 0 AND nb.ov = 0
	                THEN 'close to your bundles and items in the customer-bundle-item graph' END,
	           CASE WHEN nb.cohesion IS NOT NULL
	                THEN format('cohesion %s', round(nb.cohesion::numeric, 2)) END) END
	FROM numbered nb
	WHERE nb.rn <= k
	ORDER BY nb.customer, nb.rn;
END
$body$;

-- VOLATILE: it builds its training matrix in a temporary table.
CREATE FUNCTION bundlerec.rank_bundles(
	bundles regclass,
	customer_bundles regclass,
	customer_items regclass DEFAULT NULL,
	customers text[] DEFAULT NULL,
	k integer DEFAULT 20,
	item_weight double precision DEFAULT 0.5,
	min_item_count integer DEFAULT 5,
	regularization double precision DEFAULT 500,
	top_k integer DEFAULT 500,
	cohesion_weight double precision DEFAULT 0,
	shrinkage double precision DEFAULT 10,
	exclude_bought boolean DEFAULT true,
	overlap_weight double precision DEFAULT 0.3,
	graph_weight double precision DEFAULT 0.3)
RETURNS TABLE (
	customer text,
	rank integer,
	bundle text,
	score double precision,
	from_bundles double precision,
	from_items double precision,
	cohesion double precision,
	explanation text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	n bigint;
BEGIN
	PERFORM bundlerec._rank_bundles_check(bundles, customer_bundles, customer_items, customers, k, item_weight,
		min_item_count, regularization, top_k, cohesion_weight, shrinkage, exclude_bought, overlap_weight,
		graph_weight);

	-- one training matrix: a customer's bundles (weight 1) beside the items
	-- they bought (weight item_weight), columns keyed b:... and i:...
	IF to_regclass('pg_temp.bundlerec_rank_lines') IS NOT NULL THEN
		DROP TABLE pg_temp.bundlerec_rank_lines;
	END IF;
	EXECUTE format($q$
		CREATE TEMP TABLE bundlerec_rank_lines ON COMMIT DROP AS
		SELECT DISTINCT cb.customer::text AS customer, 'b:' || cb.bundle::text AS col, 1::float8 AS w
		FROM %s cb WHERE cb.customer IS NOT NULL AND cb.bundle IS NOT NULL
		  AND cb.bundle::text IN (SELECT b.bundle::text FROM %s b)
		$q$, customer_bundles, bundles);
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n = 0 THEN
		RAISE EXCEPTION 'no customer took any of the bundles'
			USING ERRCODE = 'no_data_found',
			      HINT = 'customer_bundles must hold (customer, bundle) rows whose bundles are in bundles.';
	END IF;
	IF customer_items IS NOT NULL AND item_weight > 0 THEN
		EXECUTE format($q$
			INSERT INTO bundlerec_rank_lines
			SELECT DISTINCT ci.customer::text, 'i:' || ci.item::text, $1
			FROM %1$s ci
			WHERE ci.customer IS NOT NULL AND ci.item IS NOT NULL
			  AND ci.item IN (SELECT c.item FROM %1$s c WHERE c.item IS NOT NULL
			                  GROUP BY c.item HAVING count(DISTINCT c.customer) >= $2)
			$q$, customer_items) USING item_weight, min_item_count;
	END IF;

	-- EASE over bundles and items together; only weights into bundles matter
	IF to_regclass('pg_temp.bundlerec_rank_weights') IS NOT NULL THEN
		DROP TABLE pg_temp.bundlerec_rank_weights;
	END IF;
	CREATE TEMP TABLE bundlerec_rank_weights ON COMMIT DROP AS
		SELECT e.item AS col, substr(e.neighbor, 3) AS bundle, e.score
		FROM bundlerec.ease('pg_temp.bundlerec_rank_lines', 'customer', 'col', weight => 'w',
		                    regularization => regularization, top_k => top_k,
		                    neighbors => ARRAY(SELECT DISTINCT l.col FROM pg_temp.bundlerec_rank_lines l
		                                       WHERE l.col LIKE 'b:%')) e;
	CREATE INDEX ON pg_temp.bundlerec_rank_weights (col);
	ANALYZE pg_temp.bundlerec_rank_weights;
	ANALYZE pg_temp.bundlerec_rank_lines;

	IF to_regclass('pg_temp.bundlerec_rank_cohesion') IS NOT NULL THEN
		DROP TABLE pg_temp.bundlerec_rank_cohesion;
	END IF;
	CREATE TEMP TABLE bundlerec_rank_cohesion (bundle text PRIMARY KEY, cohesion float8) ON COMMIT DROP;
	IF cohesion_weight > 0 AND customer_items IS NOT NULL THEN
		-- mean shrunk npmi over each bundle's item pairs, customers as baskets
		EXECUTE format($q$
			INSERT INTO bundlerec_rank_cohesion
			WITH ci AS (SELECT DISTINCT c.customer::text AS customer, c.item::text AS item
			            FROM %1$s c WHERE c.customer IS NOT NULL AND c.item IS NOT NULL),
			     nb AS (SELECT count(DISTINCT customer)::float8 AS n FROM ci),
			     cnt AS (SELECT item, count(*)::float8 AS c FROM ci GROUP BY item),
			     bi AS (SELECT DISTINCT b.bundle::text AS bundle, b.item::text AS item FROM %2$s b
			            WHERE b.bundle IS NOT NULL AND b.item IS NOT NULL),
			     bp AS (SELECT DISTINCT x.item AS ia, y.item AS ib FROM bi x JOIN bi y
			            ON x.bundle = y.bundle AND x.item < y.item),
			     co AS (SELECT x.item AS ia, y.item AS ib, count(*)::float8 AS c
			            FROM ci x JOIN ci y ON x.customer = y.customer AND x.item < y.item
			            JOIN bp ON bp.ia = x.item AND bp.ib = y.item
			            GROUP BY 1, 2)
			SELECT x.bundle, avg(CASE WHEN coalesce(co.c, 0) = 0 THEN -1.0
			                          WHEN co.c >= nb.n THEN 1.0
			                          ELSE ln(co.c * nb.n / (ca.c * cb.c)) / -ln(co.c / nb.n) END
			                     * CASE WHEN $1 = 0 THEN 1.0 ELSE coalesce(co.c, 0) / (coalesce(co.c, 0) + $1) END)
			FROM bi x JOIN bi y ON x.bundle = y.bundle AND x.item < y.item
			CROSS JOIN nb
			LEFT JOIN co ON co.ia = x.item AND co.ib = y.item
			LEFT JOIN cnt ca ON ca.item = x.item
			LEFT JOIN cnt cb ON cb.item = y.item
			WHERE ca.c IS NOT NULL AND cb.c IS NOT NULL
			GROUP BY x.bundle
			$q$, customer_items, bundles) USING shrinkage;
	END IF;

	-- ov: how many of a bundle's items the requested customers bought (all their items)
	IF to_regclass('pg_temp.bundlerec_rank_overlap') IS NOT NULL THEN
		DROP TABLE pg_temp.bundlerec_rank_overlap;
	END IF;
	CREATE TEMP TABLE bundlerec_rank_overlap (customer text, bundle text, ov float8) ON COMMIT DROP;
	IF overlap_weight > 0 AND customer_items IS NOT NULL THEN
		EXECUTE format($q$
			INSERT INTO bundlerec_rank_overlap
			SELECT ci.customer, b.bundle, count(*)::float8
			FROM (SELECT DISTINCT c.customer::text AS customer, c.item::text AS item FROM %1$s c
			      WHERE c.customer IS NOT NULL AND c.item IS NOT NULL
			        AND c.customer::text IN (SELECT l.customer FROM pg_temp.bundlerec_rank_lines l)
			        AND ($1 IS NULL OR c.customer::text = ANY ($1))) ci
			JOIN (SELECT DISTINCT x.bundle::text AS bundle, x.item::text AS item FROM %2$s x
			      WHERE x.bundle IS NOT NULL) b ON b.item = ci.item
			GROUP BY ci.customer, b.bundle
			$q$, customer_items, bundles) USING customers;
	END IF;
	ANALYZE pg_temp.bundlerec_rank_overlap;
	PERFORM bundlerec._rank_bundles_graph(bundles, customers, top_k, graph_weight > 0);
	-- popularity fills every list to k: customers per bundle, 0 for untaken
	-- ones, pr their place in the fill order
	IF to_regclass('pg_temp.bundlerec_rank_pop') IS NOT NULL THEN
		DROP TABLE pg_temp.bundlerec_rank_pop;
	END IF;
	EXECUTE format($q$
		CREATE TEMP TABLE bundlerec_rank_pop ON COMMIT DROP AS
		SELECT b.bundle, coalesce(p.n, 0) AS n, row_number() OVER (ORDER BY coalesce(p.n, 0) DESC, b.bundle) AS pr
		FROM (SELECT DISTINCT x.bundle::text AS bundle FROM %s x WHERE x.bundle IS NOT NULL) b
		LEFT JOIN (SELECT l.col, count(*) AS n FROM pg_temp.bundlerec_rank_lines l GROUP BY l.col) p
		  ON p.col = 'b:' || b.bundle
		$q$, bundles);

	RETURN QUERY SELECT * FROM bundlerec._rank_bundles_serve(customers, k, cohesion_weight, exclude_bought, overlap_weight,
		graph_weight);
END
$body$;

COMMENT ON FUNCTION bundlerec.rank_bundles(regclass, regclass, regclass, text[], integer, double precision, integer, double precision, integer, double precision, double precision, boolean, double precision, double precision) IS
	'merchant-defined bundles ranked for each customer: EASE over the customers'' bundles and items together, plus the overlap of each bundle with the customer''s items and two closed-form graph filters over customers, bundles and items, optionally bundle cohesion, filled to k by popularity, with an explanation';
