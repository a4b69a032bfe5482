
------------------------------------------------------------------------------
-- Serving: storefront queries answered from a model's result tables
------------------------------------------------------------------------------
-- Every function runs with the caller's privileges (the caller
-- needs USAGE on the model's schema and SELECT on its tables) and ranks the
-- model's own answers first, then fills up to k with fallbacks, marked in
-- the source column: 'popular in category' (the item's category, or the
-- category argument for an item the model does not know), then 'popular'.
--
-- The functions are C (src/serve*.c): a call takes the model's advisory lock
-- shared, then reads the catalogue row and the results through plans kept
-- per backend and model, each run with a snapshot taken after that lock.
-- They are VOLATILE for that reason, although they only read: a STABLE
-- function would read with the snapshot of the calling statement, taken
-- before the lock, and a call that waited for a refresh to publish would
-- then find the old tables gone.  PARALLEL RESTRICTED: a parallel worker
-- cannot take the lock in the leader's name.  The plans name the results'
-- views, so PostgreSQL replans them when a refresh replaces a view or
-- drop_model drops it; the per-backend cache of a model (its schema,
-- weights and which results it published) is rebuilt when its catalogue
-- row changes.
--
-- Names: every item list ends with a name column (the item's name from its
-- items row, NULL when it has none or the model has no item_name column),
-- every bundle list with names, a text[] parallel to items.  Explanations
-- call the items they mention by their names, by their keys when they have
-- none.  The names are looked up for the rows returned only (and the items
-- their explanations mention), in one query through a kept plan.

CREATE FUNCTION bundlerec._check_k(k integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF k IS NULL OR k < 1 OR k > 1000 THEN
		RAISE EXCEPTION 'k must be between 1 and 1000, not %', coalesce(k::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'k is the number of results to return.';
	END IF;
END
$body$;


CREATE FUNCTION bundlerec.frequently_bought_together(
	model text,
	item text,
	k integer DEFAULT 10,
	category text DEFAULT NULL)
RETURNS TABLE (
	rank integer,
	partner text,
	score double precision,
	count bigint,
	confidence double precision,
	lift double precision,
	source text,
	explanation text,
	name text)
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_frequently_bought_together';

COMMENT ON FUNCTION bundlerec.frequently_bought_together(text, text, integer, text) IS
	'the k items most often bought with an item (model pairs, by shrunk npmi), then fallbacks: popular in its category (or the category given), popular';

-- The same for keys of the source's own type (smallint, integer, bigint,
-- uuid, numeric ...): the key is served as its text, as refresh stored it.
CREATE FUNCTION bundlerec.frequently_bought_together(
	model text,
	item anyelement,
	k integer DEFAULT 10,
	category text DEFAULT NULL)
RETURNS TABLE (
	rank integer,
	partner text,
	score double precision,
	count bigint,
	confidence double precision,
	lift double precision,
	source text,
	explanation text,
	name text)
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_frequently_bought_together';

COMMENT ON FUNCTION bundlerec.frequently_bought_together(text, anyelement, integer, text) IS
	'frequently_bought_together for an item key of any type: the key served as its text, as the results store it';

CREATE FUNCTION bundlerec.similar_items(
	model text,
	item text,
	k integer DEFAULT 10,
	category text DEFAULT NULL)
RETURNS TABLE (
	rank integer,
	neighbor text,
	similarity double precision,
	source text,
	explanation text,
	name text)
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_similar_items';

COMMENT ON FUNCTION bundlerec.similar_items(text, text, integer, text) IS
	'the k items nearest to an item by cosine of their ALS vectors (co-purchase pairs when the model has no embeddings), then fallbacks';

-- The same for keys of the source's own type (smallint, integer, bigint,
-- uuid, numeric ...): the key is served as its text, as refresh stored it.
CREATE FUNCTION bundlerec.similar_items(
	model text,
	item anyelement,
	k integer DEFAULT 10,
	category text DEFAULT NULL)
RETURNS TABLE (
	rank integer,
	neighbor text,
	similarity double precision,
	source text,
	explanation text,
	name text)
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_similar_items';

COMMENT ON FUNCTION bundlerec.similar_items(text, anyelement, integer, text) IS
	'similar_items for an item key of any type: the key served as its text, as the results store it';

-- complete_cart over the tables of schema sch (a model's, or evaluate's
-- scratch copy) with the options given; takes no lock and reads with the
-- calling statement's snapshot, hence STABLE.
CREATE FUNCTION bundlerec._complete_cart(
	sch name,
	opts jsonb,
	items text[],
	k integer DEFAULT 10,
	category text DEFAULT NULL)
RETURNS TABLE (
	rank integer,
	item text,
	score double precision,
	from_pairs double precision,
	from_rules double precision,
	from_embeddings double precision,
	from_ease double precision,
	source text,
	explanation text,
	name text)
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_complete_cart_schema';

CREATE FUNCTION bundlerec.complete_cart(
	model text,
	items text[],
	k integer DEFAULT 10,
	category text DEFAULT NULL)
RETURNS TABLE (
	rank integer,
	item text,
	score double precision,
	from_pairs double precision,
	from_rules double precision,
	from_embeddings double precision,
	from_ease double precision,
	source text,
	explanation text,
	name text)
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_complete_cart';

COMMENT ON FUNCTION bundlerec.complete_cart(text, text[], integer, text) IS
	'the k items to add to a cart: cart_pairs_weight * best pair confidence + cart_rules_weight * best rule confidence + cart_embedding_weight * best cosine + cart_ease_weight * sum of the cart items'' EASE weights to it, cart items left out; then fallbacks';

-- Thompson sampling: a draw of the conversion rate of a bundle shown
-- impressions times and bought conversions times, with the model's accept
-- probability as the prior mean, worth prior impressions.
CREATE FUNCTION bundlerec.thompson_draw(
	accept_probability double precision,
	impressions bigint,
	conversions bigint,
	prior double precision DEFAULT 20)
RETURNS double precision
LANGUAGE sql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT bundlerec.beta_sample(
	prior * mu + coalesce(conversions, 0),
	prior * (1 - mu) + coalesce(impressions, 0) - coalesce(conversions, 0))
FROM (SELECT least(greatest(coalesce(accept_probability, 0.01), 0.001), 0.999) AS mu) p
$body$;

COMMENT ON FUNCTION bundlerec.thompson_draw(double precision, bigint, bigint, double precision) IS
	'a draw from Beta(prior * p + conversions, prior * (1 - p) + impressions - conversions), p = accept_probability clamped to [0.001, 0.999]';

CREATE FUNCTION bundlerec.bundles_for_item(
	model text,
	item text,
	k integer DEFAULT 5,
	explore boolean DEFAULT false,
	category text DEFAULT NULL)
RETURNS TABLE (
	rank integer,
	items text[],
	score double precision,
	count bigint,
	cohesion double precision,
	bundle_price double precision,
	accept_probability double precision,
	expected_revenue double precision,
	source text,
	explanation text,
	names text[])
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_bundles_for_item';

COMMENT ON FUNCTION bundlerec.bundles_for_item(text, text, integer, boolean, text) IS
	'the k best bundles around an item (model bundles by score; with explore => true, the 3k best re-ranked by a Thompson draw from their feedback), then fallbacks: the item with a popular item of its category, then a best seller';

-- The same for keys of the source's own type (smallint, integer, bigint,
-- uuid, numeric ...): the key is served as its text, as refresh stored it.
CREATE FUNCTION bundlerec.bundles_for_item(
	model text,
	item anyelement,
	k integer DEFAULT 5,
	explore boolean DEFAULT false,
	category text DEFAULT NULL)
RETURNS TABLE (
	rank integer,
	items text[],
	score double precision,
	count bigint,
	cohesion double precision,
	bundle_price double precision,
	accept_probability double precision,
	expected_revenue double precision,
	source text,
	explanation text,
	names text[])
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_bundles_for_item';

COMMENT ON FUNCTION bundlerec.bundles_for_item(text, anyelement, integer, boolean, text) IS
	'bundles_for_item for an item key of any type: the key served as its text, as the results store it';

CREATE FUNCTION bundlerec.bundles_for_customer(
	model text,
	customer text,
	k integer DEFAULT 5,
	exclude_bought boolean DEFAULT true,
	explore boolean DEFAULT false)
RETURNS TABLE (
	rank integer,
	items text[],
	score double precision,
	repeat_part double precision,
	model_part double precision,
	cohesion double precision,
	new_items integer,
	source text,
	explanation text,
	names text[])
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_bundles_for_customer';

COMMENT ON FUNCTION bundlerec.bundles_for_customer(text, text, integer, boolean, boolean) IS
	'the k best bundles for a customer (repeat purchases, ALS preference and cohesion; exclude_bought keeps bundles whose added items are all new to the customer), then the best bundles of best sellers';

-- The same for keys of the source's own type (smallint, integer, bigint,
-- uuid, numeric ...): the key is served as its text, as refresh stored it.
CREATE FUNCTION bundlerec.bundles_for_customer(
	model text,
	customer anyelement,
	k integer DEFAULT 5,
	exclude_bought boolean DEFAULT true,
	explore boolean DEFAULT false)
RETURNS TABLE (
	rank integer,
	items text[],
	score double precision,
	repeat_part double precision,
	model_part double precision,
	cohesion double precision,
	new_items integer,
	source text,
	explanation text,
	names text[])
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_bundles_for_customer';

COMMENT ON FUNCTION bundlerec.bundles_for_customer(text, anyelement, integer, boolean, boolean) IS
	'bundles_for_customer for a customer key of any type: the key served as its text, as the results store it';

CREATE FUNCTION bundlerec.recommend_items(
	model text,
	customer text,
	k integer DEFAULT 10,
	exclude_bought boolean DEFAULT false)
RETURNS TABLE (
	rank integer,
	item text,
	score double precision,
	repeat_part double precision,
	model_part double precision,
	source text,
	explanation text,
	name text)
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_recommend_items';

COMMENT ON FUNCTION bundlerec.recommend_items(text, text, integer, boolean) IS
	'the k items for a customer: repeat_weight * share of their orders holding the item + model_weight * ALS preference; then best sellers';

-- The same for keys of the source's own type (smallint, integer, bigint,
-- uuid, numeric ...): the key is served as its text, as refresh stored it.
CREATE FUNCTION bundlerec.recommend_items(
	model text,
	customer anyelement,
	k integer DEFAULT 10,
	exclude_bought boolean DEFAULT false)
RETURNS TABLE (
	rank integer,
	item text,
	score double precision,
	repeat_part double precision,
	model_part double precision,
	source text,
	explanation text,
	name text)
LANGUAGE C VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_recommend_items';

COMMENT ON FUNCTION bundlerec.recommend_items(text, anyelement, integer, boolean) IS
	'recommend_items for a customer key of any type: the key served as its text, as the results store it';
