
------------------------------------------------------------------------------
-- Serving: storefront queries answered from a model's result tables
------------------------------------------------------------------------------
-- Every function runs with the caller's privileges (the caller
-- needs USAGE on the model's schema and SELECT on its tables) and ranks the
-- model's own answers first, then fills up to k with fallbacks, marked in
-- the source column: 'popular in category' (the item's category, or the
-- category argument for an item the model does not know), then 'popular'.

-- Schema of a model's results; raises for an unknown model.  Takes the
-- model's lock shared first, so a publish or drop in progress finishes
-- before the catalogue is read (see _lock_results).  VOLATILE, as are the
-- serving functions: their queries must take their snapshot after this
-- lock, or a call that waited for a publish would not see its tables.
CREATE FUNCTION bundlerec._results(model text)
RETURNS name
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch name;
BEGIN
	PERFORM pg_catalog.pg_advisory_xact_lock_shared(bundlerec._lock_key(coalesce(model, '')));
	SELECT m.results_schema INTO sch FROM bundlerec.models m
	WHERE m.name = model AND m.last_refresh IS NOT NULL;
	IF sch IS NULL THEN
		IF EXISTS (SELECT 1 FROM bundlerec.models m WHERE m.name = model) THEN
			RAISE EXCEPTION 'model "%" has not been refreshed yet', model
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = format('Run SELECT bundlerec.refresh(%L) first.', model);
		END IF;
		RAISE EXCEPTION 'model "%" does not exist', coalesce(model, 'NULL')
			USING ERRCODE = 'undefined_object',
			      HINT = 'SELECT name FROM bundlerec.models lists the models.';
	END IF;
	RETURN sch;
END
$body$;

CREATE FUNCTION bundlerec._check_k(k integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $body$
BEGIN
	IF k IS NULL OR k < 1 OR k > 1000 THEN
		RAISE EXCEPTION 'k must be between 1 and 1000, not %', coalesce(k::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'k is the number of results to return.';
	END IF;
END
$body$;

-- The fallback rows of an item query: items of the category, then popular
-- items, as (item, score, tier, ord, source, explanation).  $1 is the
-- query's items (left out later), $2 k, $3 the categories (NULL: those of
-- the query's items).
CREATE FUNCTION bundlerec._fallback_sql(sch name)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $body$
SELECT pg_catalog.format($q$
	SELECT i.item, i.support AS score, 2 AS tier, i.category_rank AS ord, 'popular in category'::text AS source,
	       pg_catalog.format('popular in %%s: in %%s orders', i.category, i.orders) AS explanation
	FROM %1$I.items i
	WHERE i.category = ANY (coalesce($3, ARRAY(SELECT c.category FROM %1$I.items c WHERE c.item = ANY ($1))))
	  AND i.category_rank <= 2 * $2 + pg_catalog.cardinality($1)
	UNION ALL
	SELECT i.item, i.support, 3, i.popularity_rank, 'popular',
	       pg_catalog.format('one of the best sellers: in %%s orders', i.orders)
	FROM %1$I.items i
	WHERE i.popularity_rank <= 2 * $2 + pg_catalog.cardinality($1)
	$q$, sch)
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
	explanation text)
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch name := bundlerec._results(model);
BEGIN
	PERFORM bundlerec._check_k(k);
	IF frequently_bought_together.item IS NULL THEN
		RAISE EXCEPTION 'item must not be NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the item of the product page; for a product without orders pass its category too.';
	END IF;
	RETURN QUERY EXECUTE format($q$
		WITH cand AS (
			SELECT p.partner AS item, p.score, 1 AS tier, p.rank AS ord, p.count, p.confidence, p.lift,
			       'pairs'::text AS source,
			       pg_catalog.format('bought together in %%s orders: %%s%%%% of the orders with %%s hold it, lift %%s',
			              p.count, round((100 * p.confidence)::numeric, 1), p.item, round(p.lift::numeric, 2)) AS explanation
			FROM %1$I.pairs p WHERE p.item = $1[1] AND p.rank <= $2
			UNION ALL
			SELECT f.item, f.score, f.tier, f.ord, NULL, NULL, NULL, f.source, f.explanation
			FROM (%2$s) f),
		best AS (
			SELECT DISTINCT ON (c.item) c.* FROM cand c
			WHERE c.item <> ALL ($1)
			ORDER BY c.item, c.tier, c.ord)
		SELECT (row_number() OVER (ORDER BY b.tier, b.ord, b.item))::integer, b.item, b.score, b.count,
		       b.confidence, b.lift, b.source, b.explanation
		FROM best b
		ORDER BY b.tier, b.ord, b.item
		LIMIT $2
		$q$, sch, bundlerec._fallback_sql(sch))
	USING ARRAY[frequently_bought_together.item], k,
	      CASE WHEN category IS NOT NULL THEN ARRAY[category] END;
END
$body$;

COMMENT ON FUNCTION bundlerec.frequently_bought_together(text, text, integer, text) IS
	'the k items most often bought with an item (model pairs, by shrunk npmi), then fallbacks: popular in its category (or the category given), popular';

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
	explanation text)
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch name := bundlerec._results(model);
	own text;
BEGIN
	PERFORM bundlerec._check_k(k);
	IF similar_items.item IS NULL THEN
		RAISE EXCEPTION 'item must not be NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the item of the product page; for a product without orders pass its category too.';
	END IF;
	IF to_regclass(format('%I.similar_items', sch)) IS NOT NULL THEN
		own := format($q$
			SELECT s.neighbor AS item, s.similarity AS score, 1 AS tier, s.rank AS ord, 'embeddings'::text AS source,
			       pg_catalog.format('bought by the same customers as %%s: cosine %%s', s.item, round(s.similarity::numeric, 3)) AS explanation
			FROM %1$I.similar_items s WHERE s.item = $1[1] AND s.rank <= $2
			$q$, sch);
	ELSE
		own := format($q$
			SELECT p.partner, p.score, 1, p.rank, 'pairs'::text,
			       pg_catalog.format('bought together with %%s in %%s orders', p.item, p.count)
			FROM %1$I.pairs p WHERE p.item = $1[1] AND p.rank <= $2
			$q$, sch);
	END IF;
	RETURN QUERY EXECUTE format($q$
		WITH cand AS (%2$s
			UNION ALL
			SELECT f.item, f.score, f.tier, f.ord, f.source, f.explanation
			FROM (%3$s) f),
		best AS (
			SELECT DISTINCT ON (c.item) c.* FROM cand c
			WHERE c.item <> ALL ($1)
			ORDER BY c.item, c.tier, c.ord)
		SELECT (row_number() OVER (ORDER BY b.tier, b.ord, b.item))::integer, b.item, b.score, b.source, b.explanation
		FROM best b
		ORDER BY b.tier, b.ord, b.item
		LIMIT $2
		$q$, sch, own, bundlerec._fallback_sql(sch))
	USING ARRAY[similar_items.item], k,
	      CASE WHEN category IS NOT NULL THEN ARRAY[category] END;
END
$body$;

COMMENT ON FUNCTION bundlerec.similar_items(text, text, integer, text) IS
	'the k items nearest to an item by cosine of their ALS vectors (co-purchase pairs when the model has no embeddings), then fallbacks';

-- complete_cart over the tables of schema sch (a model's, or evaluate's).
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
	source text,
	explanation text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	rules_sql text := 'SELECT NULL::text AS item, NULL::float8 AS conf, NULL::text AS via WHERE false';
	emb_sql text := 'SELECT NULL::text AS item, NULL::float8 AS sim, NULL::text AS via WHERE false';
BEGIN
	PERFORM bundlerec._check_k(k);
	IF items IS NULL OR array_position(items, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'items must be an array of items without NULLs'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Pass the cart''s items, for example ARRAY[''85123A'', ''22423''].';
	END IF;
	IF to_regclass(format('%I.rules', sch)) IS NOT NULL AND (opts ->> 'cart_rules_weight')::float8 > 0 THEN
		rules_sql := format($q$
			SELECT r.consequent AS item, max(r.confidence) AS conf,
			       (array_agg(pg_catalog.array_to_string(r.antecedent, ' + ') ORDER BY r.confidence DESC, cardinality(r.antecedent) DESC, r.antecedent::text))[1] AS via
			FROM %1$I.rules r WHERE r.antecedent OPERATOR(pg_catalog.<@) $1
			GROUP BY r.consequent
			$q$, sch);
	END IF;
	IF to_regclass(format('%I.similar_items', sch)) IS NOT NULL AND (opts ->> 'cart_embedding_weight')::float8 > 0 THEN
		emb_sql := format($q$
			SELECT s.neighbor AS item, max(s.similarity) AS sim,
			       (array_agg(s.item ORDER BY s.similarity DESC, s.item))[1] AS via
			FROM %1$I.similar_items s WHERE s.item = ANY ($1)
			GROUP BY s.neighbor
			$q$, sch);
	END IF;
	RETURN QUERY EXECUTE format($q$
		WITH p AS (
			SELECT p.partner AS item, max(p.confidence) AS conf,
			       (array_agg(p.item ORDER BY p.confidence DESC, p.item))[1] AS via,
			       (array_agg(p.count ORDER BY p.confidence DESC, p.item))[1] AS cnt
			FROM %1$I.pairs p WHERE p.item = ANY ($1)
			GROUP BY p.partner),
		r AS (%2$s),
		e AS (%3$s),
		cand AS (SELECT p.item FROM p UNION SELECT r.item FROM r UNION SELECT e.item FROM e),
		scored AS (
			SELECT c.item,
			       %4$s * coalesce(p.conf, 0) + %5$s * coalesce(r.conf, 0) + %6$s * greatest(coalesce(e.sim, 0), 0) AS score,
			       p.conf AS from_pairs, r.conf AS from_rules, e.sim AS from_embeddings,
			       concat_ws('; ',
			           CASE WHEN p.conf IS NOT NULL THEN pg_catalog.format('bought with %%s in %%s orders (confidence %%s)', p.via, p.cnt, round(p.conf::numeric, 3)) END,
			           CASE WHEN r.conf IS NOT NULL THEN pg_catalog.format('rule %%s => it (confidence %%s)', r.via, round(r.conf::numeric, 3)) END,
			           CASE WHEN e.sim IS NOT NULL THEN pg_catalog.format('bought by the same customers as %%s (cosine %%s)', e.via, round(e.sim::numeric, 3)) END) AS explanation
			FROM cand c
			LEFT JOIN p ON p.item = c.item LEFT JOIN r ON r.item = c.item LEFT JOIN e ON e.item = c.item
			WHERE c.item <> ALL ($1)),
		allc AS (
			SELECT s.item, s.score, 1 AS tier, 0::bigint AS ord, s.from_pairs, s.from_rules, s.from_embeddings,
			       'model'::text AS source, s.explanation
			FROM scored s
			UNION ALL
			SELECT f.item, NULL, f.tier, f.ord, NULL, NULL, NULL, f.source, f.explanation
			FROM (%7$s) f),
		best AS (
			SELECT DISTINCT ON (a.item) a.* FROM allc a
			WHERE a.item <> ALL ($1)
			ORDER BY a.item, a.tier, a.score DESC NULLS LAST, a.ord)
		SELECT (row_number() OVER (ORDER BY b.tier, b.score DESC NULLS LAST, b.ord, b.item))::integer,
		       b.item, b.score, b.from_pairs, b.from_rules, b.from_embeddings, b.source, b.explanation
		FROM best b
		ORDER BY b.tier, b.score DESC NULLS LAST, b.ord, b.item
		LIMIT $2
		$q$, sch, rules_sql, emb_sql,
		(opts ->> 'cart_pairs_weight')::float8, (opts ->> 'cart_rules_weight')::float8,
		(opts ->> 'cart_embedding_weight')::float8, bundlerec._fallback_sql(sch))
	USING items, k,
	      CASE WHEN category IS NOT NULL THEN ARRAY[category] END;
END
$body$;

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
	source text,
	explanation text)
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch name := bundlerec._results(model);
BEGIN
	RETURN QUERY SELECT * FROM bundlerec._complete_cart(
		sch, (SELECT m.options FROM bundlerec.models m WHERE m.name = complete_cart.model),
		complete_cart.items, complete_cart.k, complete_cart.category);
END
$body$;

COMMENT ON FUNCTION bundlerec.complete_cart(text, text[], integer, text) IS
	'the k items to add to a cart: cart_pairs_weight * best pair confidence + cart_rules_weight * best rule confidence + cart_embedding_weight * best cosine, cart items left out; then fallbacks';

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
	explanation text)
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch name := bundlerec._results(model);
	prior double precision;
	own text := 'SELECT NULL::text[] AS items, NULL::float8 AS score, 1 AS tier, 0 AS ord, NULL::bigint AS count, NULL::float8 AS cohesion, NULL::float8 AS bundle_price, NULL::float8 AS accept_probability, NULL::float8 AS expected_revenue, NULL::text AS source, NULL::text AS explanation WHERE false';
BEGIN
	PERFORM bundlerec._check_k(k);
	IF item IS NULL THEN
		RAISE EXCEPTION 'item must not be NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the item of the product page.';
	END IF;
	SELECT (mm.options ->> 'feedback_prior')::float8 INTO prior FROM bundlerec.models mm WHERE mm.name = model;
	IF to_regclass(format('%I.item_bundles', sch)) IS NOT NULL THEN
		own := format($q$
			SELECT b.items, b.score, 1 AS tier, b.rank AS ord, b.count, b.cohesion, b.bundle_price,
			       b.accept_probability, b.expected_revenue, 'bundles'::text AS source, b.explanation
			FROM %1$I.item_bundles b WHERE b.anchor = $1[1] AND b.rank <= $2 * CASE WHEN $4 THEN 3 ELSE 1 END
			$q$, sch);
	END IF;
	RETURN QUERY EXECUTE format($q$
		WITH cand AS (
			%2$s
			UNION ALL
			SELECT ARRAY[$1[1], f.item], NULL, f.tier, f.ord, NULL, NULL, NULL, NULL, NULL, f.source,
			       f.explanation || ' (no bundle of the model holds the item)'
			FROM (%3$s) f
			WHERE f.item <> $1[1]),
		best AS (
			SELECT DISTINCT ON (bundlerec.bundle_key(c.items)) c.*,
			       CASE WHEN $4 THEN bundlerec.thompson_draw(c.accept_probability, fb.impressions, fb.conversions, $5) END AS draw,
			       fb.impressions, fb.conversions
			FROM cand c
			LEFT JOIN bundlerec.feedback fb ON fb.model = $6 AND fb.items = bundlerec.bundle_key(c.items)
			ORDER BY bundlerec.bundle_key(c.items), c.tier, c.ord)
		SELECT (row_number() OVER (ORDER BY b.tier, b.draw DESC, b.ord, b.items))::integer,
		       b.items, b.score, b.count, b.cohesion, b.bundle_price, b.accept_probability, b.expected_revenue,
		       b.source,
		       b.explanation || CASE WHEN $4 THEN pg_catalog.format('; explore: sampled conversion rate %%s after %%s impressions and %%s conversions',
		                                        round(b.draw::numeric, 3), coalesce(b.impressions, 0), coalesce(b.conversions, 0))
		                             ELSE '' END
		FROM (SELECT * FROM best b ORDER BY b.tier, b.ord LIMIT CASE WHEN $4 THEN 3 * $2 ELSE $2 END) b
		ORDER BY b.tier, b.draw DESC, b.ord, b.items
		LIMIT $2
		$q$, sch, own, bundlerec._fallback_sql(sch))
	USING ARRAY[item], k, CASE WHEN category IS NOT NULL THEN ARRAY[category] END, coalesce(explore, false),
	      prior, model;
END
$body$;

COMMENT ON FUNCTION bundlerec.bundles_for_item(text, text, integer, boolean, text) IS
	'the k best bundles around an item (model bundles by score; with explore => true, the 3k best re-ranked by a Thompson draw from their feedback), then fallbacks: the item with a popular item of its category, then a best seller';

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
	explanation text)
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch name := bundlerec._results(model);
	prior double precision;
BEGIN
	PERFORM bundlerec._check_k(k);
	IF customer IS NULL THEN
		RAISE EXCEPTION 'customer must not be NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the customer key; an unknown customer gets the best sellers'' bundles.';
	END IF;
	IF to_regclass(format('%I.customer_bundles', sch)) IS NULL THEN
		RAISE EXCEPTION 'model "%" has no customer bundles', model
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Create the model with a customer column and options bundles true.';
	END IF;
	SELECT (mm.options ->> 'feedback_prior')::float8 INTO prior FROM bundlerec.models mm WHERE mm.name = model;
	RETURN QUERY EXECUTE format($q$
		WITH cand AS (
			SELECT b.items, b.score, 1 AS tier, CASE WHEN $3 THEN b.rank_new ELSE b.rank END AS ord,
			       b.repeat_part, b.model_part, b.cohesion, b.new_items, b.accept_probability,
			       'customer'::text AS source, b.explanation
			FROM %1$I.customer_bundles b
			WHERE b.customer = $1
			  AND (NOT $3 OR b.rank_new IS NOT NULL)
			  AND CASE WHEN $3 THEN b.rank_new ELSE b.rank END <= $2 * CASE WHEN $4 THEN 3 ELSE 1 END
			UNION ALL
			SELECT b.items, b.score, 2, i.popularity_rank, NULL, NULL, b.cohesion, NULL, b.accept_probability,
			       'popular'::text, 'a best seller''s best bundle: ' || b.explanation
			FROM %1$I.items i JOIN %1$I.item_bundles b ON b.anchor = i.item AND b.rank = 1
			WHERE i.popularity_rank <= 3 * $2
			  AND NOT ($3 AND EXISTS (SELECT 1 FROM %1$I.customer_items ci
			                          WHERE ci.customer = $1 AND ci.item = ANY (b.items)))),
		best AS (
			SELECT DISTINCT ON (bundlerec.bundle_key(c.items)) c.*,
			       CASE WHEN $4 THEN bundlerec.thompson_draw(c.accept_probability, fb.impressions, fb.conversions, $5) END AS draw,
			       fb.impressions, fb.conversions
			FROM cand c
			LEFT JOIN bundlerec.feedback fb ON fb.model = $6 AND fb.items = bundlerec.bundle_key(c.items)
			ORDER BY bundlerec.bundle_key(c.items), c.tier, c.ord)
		SELECT (row_number() OVER (ORDER BY b.tier, b.draw DESC, b.ord, b.items))::integer,
		       b.items, b.score, b.repeat_part, b.model_part, b.cohesion, b.new_items, b.source,
		       b.explanation || CASE WHEN $4 THEN pg_catalog.format('; explore: sampled conversion rate %%s after %%s impressions and %%s conversions',
		                                        round(b.draw::numeric, 3), coalesce(b.impressions, 0), coalesce(b.conversions, 0))
		                             ELSE '' END
		FROM (SELECT * FROM best b ORDER BY b.tier, b.ord LIMIT CASE WHEN $4 THEN 3 * $2 ELSE $2 END) b
		ORDER BY b.tier, b.draw DESC, b.ord, b.items
		LIMIT $2
		$q$, sch)
	USING customer, k, coalesce(exclude_bought, true), coalesce(explore, false), prior, model;
END
$body$;

COMMENT ON FUNCTION bundlerec.bundles_for_customer(text, text, integer, boolean, boolean) IS
	'the k best bundles for a customer (repeat purchases, ALS preference and cohesion; exclude_bought keeps bundles whose added items are all new to the customer), then the best bundles of best sellers';

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
	explanation text)
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch name := bundlerec._results(model);
BEGIN
	PERFORM bundlerec._check_k(k);
	IF customer IS NULL THEN
		RAISE EXCEPTION 'customer must not be NULL'
			USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the customer key; an unknown customer gets the best sellers.';
	END IF;
	IF to_regclass(format('%I.recommendations', sch)) IS NULL THEN
		RAISE EXCEPTION 'model "%" has no per-customer results', model
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Create the model with a customer column.';
	END IF;
	RETURN QUERY EXECUTE format($q$
		WITH cand AS (
			SELECT r.item, r.score, 1 AS tier, r.rank::bigint AS ord, r.repeat_part, r.model_part, 'customer'::text AS source,
			       concat_ws('; ',
			           CASE WHEN r.bought > 0 THEN pg_catalog.format('you bought it in %%s of your %%s orders', r.bought, r.customer_orders) END,
			           CASE WHEN r.model_part > 0 THEN pg_catalog.format('customers who buy like you: preference %%s', round(r.model_part::numeric, 2)) END) AS explanation
			FROM %1$I.recommendations r
			WHERE r.customer = $1 AND NOT ($3 AND r.bought > 0)
			UNION ALL
			SELECT i.item, i.support, 2, i.popularity_rank, NULL, NULL, 'popular',
			       pg_catalog.format('one of the best sellers: in %%s orders', i.orders)
			FROM %1$I.items i
			WHERE i.popularity_rank <= 3 * $2
			  AND NOT ($3 AND EXISTS (SELECT 1 FROM %1$I.customer_items ci WHERE ci.customer = $1 AND ci.item = i.item))),
		best AS (
			SELECT DISTINCT ON (c.item) c.* FROM cand c ORDER BY c.item, c.tier, c.ord)
		SELECT (row_number() OVER (ORDER BY b.tier, b.ord, b.item))::integer, b.item, b.score,
		       b.repeat_part, b.model_part, b.source, b.explanation
		FROM best b
		ORDER BY b.tier, b.ord, b.item
		LIMIT $2
		$q$, sch)
	USING customer, k, coalesce(exclude_bought, false);
END
$body$;

COMMENT ON FUNCTION bundlerec.recommend_items(text, text, integer, boolean) IS
	'the k items for a customer: repeat_weight * share of their orders holding the item + model_weight * ALS preference; then best sellers';
