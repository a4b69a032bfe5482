-- serving_core.sql: the C serving core.
--   1. complete_cart on carts of 2 to 120 items, with and without fallbacks,
--      equals the plpgsql query it replaced (kept below as the oracle), and
--      so does evaluate's _complete_cart on the same schema.
--   2. Never short: every call returns k rows whenever the model and its
--      catalogue have k candidates, counted by brute force in SQL; a
--      customer who bought the best sellers still gets k recommendations
--      and k bundles (the old popularity cut at rank 3k left them short).
--   3. Cached plans and metadata follow the catalogue: after a refresh,
--      after drop_model, and after create_model of the same name (with
--      other options, and with the very same ones), a session that served
--      the model before (this one, and another one through dblink) answers
--      from the new results, and two models served alternately never mix.
-- Runs outside a transaction (the other session must see the changes);
-- what it creates is dropped at the start and at the end.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
CREATE EXTENSION IF NOT EXISTS dblink;

SELECT bundlerec.drop_model('svc', if_exists => true);
SELECT bundlerec.drop_model('svc2', if_exists => true);
DROP SCHEMA IF EXISTS svc_fixture CASCADE;
CREATE SCHEMA svc_fixture;

-- 600 orders of 6 lines over 150 items (skewed), 40 customers, 5 categories;
-- customer cbig bought the 45 best sellers
CREATE TABLE svc_fixture.lines (basket text, item text, customer text, ordered_at timestamptz, category text);
SELECT setseed(0.31);
INSERT INTO svc_fixture.lines
SELECT 'o' || b, 'i' || x.n, 'c' || (b % 40), timestamptz '2024-01-01' + b * interval '1 hour', 'k' || (x.n % 5)
FROM generate_series(1, 600) b, generate_series(1, 6) j,
     LATERAL (SELECT (1 + floor(150 * random() ^ 2))::int + 0 * b + 0 * j AS n) x;
INSERT INTO svc_fixture.lines
SELECT 'big' || (n % 9), 'i' || n, 'cbig', timestamptz '2024-02-01' + (n % 9) * interval '1 hour', 'k' || (n % 5)
FROM (SELECT i.item, row_number() OVER (ORDER BY count(DISTINCT basket) DESC, i.item) AS r
      FROM svc_fixture.lines i GROUP BY i.item) p,
     LATERAL (SELECT substr(p.item, 2)::int AS n) x
WHERE p.r <= 45;

-- a second shop, items j1..j30, for re-creating a model under the same name
CREATE TABLE svc_fixture.lines_b (basket text, item text, customer text, ordered_at timestamptz, category text);
INSERT INTO svc_fixture.lines_b
SELECT 'p' || b, 'j' || (1 + (b * 7 + j * j) % 30), 'd' || (b % 10), timestamptz '2024-01-01' + b * interval '1 hour', 'q'
FROM generate_series(1, 200) b, generate_series(1, 4) j;

CREATE FUNCTION svc_fixture.ref_fallback_sql(sch name)
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

CREATE FUNCTION svc_fixture.ref_complete_cart(
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
	explanation text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	rules_sql text := 'SELECT NULL::text AS item, NULL::float8 AS conf, NULL::text AS via WHERE false';
	emb_sql text := 'SELECT NULL::text AS item, NULL::float8 AS sim, NULL::text AS via WHERE false';
	ease_sql text := 'SELECT NULL::text AS item, NULL::float8 AS ease, NULL::float8 AS best, NULL::text AS via WHERE false';
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
	-- the sum in the order of the cart's distinct items, as serving adds
	IF to_regclass(format('%I.item_weights', sch)) IS NOT NULL AND (opts ->> 'cart_ease_weight')::float8 > 0 THEN
		ease_sql := format($q$
			SELECT w.neighbor AS item, sum(w.weight ORDER BY c.pos, w.rank) AS ease, max(w.weight) AS best,
			       (array_agg(w.item ORDER BY w.weight DESC, w.item))[1] AS via
			FROM (SELECT u.i, min(u.n) AS pos FROM pg_catalog.unnest($1) WITH ORDINALITY u(i, n) GROUP BY u.i) c
			JOIN %1$I.item_weights w ON w.item = c.i
			GROUP BY w.neighbor
			$q$, sch);
	END IF;
	RETURN QUERY EXECUTE format($q$
		WITH p AS (
			SELECT p.partner AS item, max(p.confidence) AS conf,
			       (array_agg(p.item ORDER BY p.confidence DESC, p.item))[1] AS via,
			       (array_agg(p.count ORDER BY p.confidence DESC, p.item))[1] AS cnt
			FROM %1$I.pairs p WHERE p.item = ANY ($1) AND %4$s > 0
			GROUP BY p.partner),
		r AS (%2$s),
		e AS (%3$s),
		w AS (%8$s),
		cand AS (SELECT p.item FROM p UNION SELECT r.item FROM r UNION SELECT e.item FROM e UNION SELECT w.item FROM w),
		scored AS (
			SELECT c.item,
			       %4$s * coalesce(p.conf, 0) + %5$s * coalesce(r.conf, 0) + %6$s * greatest(coalesce(e.sim, 0), 0)
			       + %9$s * coalesce(w.ease, 0) AS score,
			       p.conf AS from_pairs, r.conf AS from_rules, e.sim AS from_embeddings, w.ease AS from_ease,
			       concat_ws('; ',
			           CASE WHEN p.conf IS NOT NULL THEN pg_catalog.format('bought with %%s in %%s orders (confidence %%s)', p.via, p.cnt, round(p.conf::numeric, 3)) END,
			           CASE WHEN r.conf IS NOT NULL THEN pg_catalog.format('rule %%s => it (confidence %%s)', r.via, round(r.conf::numeric, 3)) END,
			           CASE WHEN e.sim IS NOT NULL THEN pg_catalog.format('bought by the same customers as %%s (cosine %%s)', e.via, round(e.sim::numeric, 3)) END,
			           CASE WHEN w.best > 0 THEN pg_catalog.format('in orders like this cart, most of all with %%s (EASE weight %%s, sum %%s)', w.via, round(w.best::numeric, 3), round(w.ease::numeric, 3))
			                WHEN w.ease IS NOT NULL THEN pg_catalog.format('EASE sum %%s', round(w.ease::numeric, 3)) END) AS explanation
			FROM cand c
			LEFT JOIN p ON p.item = c.item LEFT JOIN r ON r.item = c.item LEFT JOIN e ON e.item = c.item
			LEFT JOIN w ON w.item = c.item
			WHERE c.item <> ALL ($1)),
		allc AS (
			SELECT s.item, s.score, 1 AS tier, 0::bigint AS ord, s.from_pairs, s.from_rules, s.from_embeddings,
			       s.from_ease, 'model'::text AS source, s.explanation
			FROM scored s
			UNION ALL
			SELECT f.item, NULL, f.tier, f.ord, NULL, NULL, NULL, NULL, f.source, f.explanation
			FROM (%7$s) f),
		best AS (
			SELECT DISTINCT ON (a.item) a.* FROM allc a
			WHERE a.item <> ALL ($1)
			ORDER BY a.item, a.tier, a.score DESC NULLS LAST, a.ord)
		SELECT (row_number() OVER (ORDER BY b.tier, b.score DESC NULLS LAST, b.ord, b.item))::integer,
		       b.item, b.score, b.from_pairs, b.from_rules, b.from_embeddings, b.from_ease, b.source, b.explanation
		FROM best b
		ORDER BY b.tier, b.score DESC NULLS LAST, b.ord, b.item
		LIMIT $2
		$q$, sch, rules_sql, emb_sql,
		(opts ->> 'cart_pairs_weight')::float8, (opts ->> 'cart_rules_weight')::float8,
		(opts ->> 'cart_embedding_weight')::float8, svc_fixture.ref_fallback_sql(sch), ease_sql,
		(opts ->> 'cart_ease_weight')::float8)
	USING items, k,
	      CASE WHEN category IS NOT NULL THEN ARRAY[category] END;
END
$body$;


SELECT bundlerec.create_model('svc', 'svc_fixture.lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', category => 'category',
	options => '{"factors": 4, "iterations": 2, "recommendations_per_customer": 3, "bundles_per_customer": 2,
	             "rules_min_support": 0.003, "rules_min_confidence": 0.05}') IS NOT NULL AS created \gset
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('svc') \gset
SELECT bundlerec.create_model('svc2', 'svc_fixture.lines', 'basket', 'item', customer => 'customer',
	category => 'category', options => '{"factors": 4, "iterations": 2}') IS NOT NULL AS created \gset
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('svc2') \gset

SELECT plan(48);

------------------------------------------------------------------------------
-- 1. complete_cart against the plpgsql oracle
------------------------------------------------------------------------------
CREATE TABLE svc_fixture.carts (id int, items text[], k int, category text);
INSERT INTO svc_fixture.carts VALUES
	(1, ARRAY['i1', 'i2'], 10, NULL),
	(2, ARRAY(SELECT 'i' || n FROM generate_series(3, 32) n), 10, NULL),
	(3, ARRAY(SELECT 'i' || n FROM generate_series(1, 120) n), 10, NULL),
	(4, ARRAY(SELECT 'i' || n FROM generate_series(1, 120) n), 40, NULL),
	(5, ARRAY(SELECT 'i' || n FROM generate_series(1, 140) n) || ARRAY['i7', 'nope'], 25, NULL),
	(6, ARRAY['i150', 'nope'], 30, 'k2'),
	(7, ARRAY(SELECT 'i' || n FROM generate_series(2, 150, 2) n), 100, 'k1');

SELECT is((SELECT count(*) FROM svc_fixture.carts c
           WHERE c.items IS NOT NULL
             AND EXISTS (SELECT 1 FROM (
                 (SELECT rank, item, score, from_pairs, from_rules, from_embeddings, from_ease, source, explanation FROM bundlerec.complete_cart('svc', c.items, c.k, c.category)
                  EXCEPT ALL
                  SELECT * FROM svc_fixture.ref_complete_cart('bundlerec_svc',
                      (SELECT options FROM bundlerec.models WHERE name = 'svc'), c.items, c.k, c.category))
                 UNION ALL
                 (SELECT * FROM svc_fixture.ref_complete_cart('bundlerec_svc',
                      (SELECT options FROM bundlerec.models WHERE name = 'svc'), c.items, c.k, c.category)
                  EXCEPT ALL
                  SELECT rank, item, score, from_pairs, from_rules, from_embeddings, from_ease, source, explanation FROM bundlerec.complete_cart('svc', c.items, c.k, c.category))) d)),
	0::bigint, 'complete_cart equals the plpgsql oracle row for row (rank, item, score, parts, source, explanation) on carts of 2 to 142 items');
SELECT is((SELECT count(*) FROM svc_fixture.carts), 7::bigint, 'seven carts compared');
SELECT is((SELECT count(*) FROM bundlerec.complete_cart('svc', (SELECT items FROM svc_fixture.carts WHERE id = 3), 10) WHERE source = 'model'),
	10::bigint, 'the 120-item cart is answered by the model (all three parts read)');
SELECT ok((SELECT count(*) FROM bundlerec.complete_cart('svc', (SELECT items FROM svc_fixture.carts WHERE id = 3), 10) WHERE from_rules IS NOT NULL) > 0,
	'the 120-item cart uses rules');
SELECT is((SELECT count(*) FROM bundlerec.complete_cart('svc', (SELECT items FROM svc_fixture.carts WHERE id = 7), 100)),
	(SELECT count(DISTINCT l.item) FROM svc_fixture.lines l WHERE l.item <> ALL ((SELECT items FROM svc_fixture.carts WHERE id = 7)::text[])),
	'a 75-item cart with k 100 gets every item not in the cart, model rows and fallbacks');
SELECT is((SELECT count(*) FROM svc_fixture.carts c,
           LATERAL (SELECT rank, item, score, from_pairs, from_rules, from_embeddings, from_ease, source, explanation FROM bundlerec._complete_cart('bundlerec_svc', (SELECT options FROM bundlerec.models WHERE name = 'svc'), c.items, c.k, c.category)
                    EXCEPT ALL
                    SELECT * FROM svc_fixture.ref_complete_cart('bundlerec_svc', (SELECT options FROM bundlerec.models WHERE name = 'svc'), c.items, c.k, c.category)) d),
	0::bigint, '_complete_cart (evaluate''s path, by schema) equals the oracle');
SELECT is((SELECT array_agg(item ORDER BY rank) FROM bundlerec._complete_cart('bundlerec_svc',
              (SELECT options FROM bundlerec.models WHERE name = 'svc') || '{"cart_rules_weight": 0, "cart_embedding_weight": 0, "cart_ease_weight": 0}', ARRAY['i1', 'i5'], 10)),
          (SELECT array_agg(item ORDER BY rank) FROM svc_fixture.ref_complete_cart('bundlerec_svc',
              (SELECT options FROM bundlerec.models WHERE name = 'svc') || '{"cart_rules_weight": 0, "cart_embedding_weight": 0, "cart_ease_weight": 0}', ARRAY['i1', 'i5'], 10)),
	'_complete_cart follows the options it is given (pairs only)');

------------------------------------------------------------------------------
-- 2. never short
------------------------------------------------------------------------------
-- items a customer never bought: every one is a candidate for recommend_items
CREATE VIEW svc_fixture.not_bought AS
	SELECT c.customer, count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM svc_fixture.lines l
	                                                     WHERE l.customer = c.customer AND l.item = i.item)) AS n
	FROM (SELECT DISTINCT customer FROM svc_fixture.lines) c CROSS JOIN (SELECT DISTINCT item FROM svc_fixture.lines) i
	GROUP BY c.customer;
SELECT ok((SELECT count(*) FROM bundlerec.recommend_items('svc', 'cbig', 10, exclude_bought => false)) = 10
          AND (SELECT count(*) FROM bundlerec_svc.items i
               WHERE i.popularity_rank <= 30
                 AND NOT EXISTS (SELECT 1 FROM svc_fixture.lines l WHERE l.customer = 'cbig' AND l.item = i.item)) = 0,
	'cbig bought every one of the 30 best sellers (the old cut at rank 3k)');
SELECT is((SELECT count(*) FROM bundlerec.recommend_items('svc', 'cbig', 10, exclude_bought => true)), 10::bigint,
	'recommend_items(exclude_bought) for cbig: 10 rows');
SELECT is((SELECT count(*) FROM bundlerec.recommend_items('svc', 'cbig', 10, exclude_bought => true) r
           WHERE EXISTS (SELECT 1 FROM svc_fixture.lines l WHERE l.customer = 'cbig' AND l.item = r.item)), 0::bigint,
	'none of them bought before');
SELECT is((SELECT count(*) FROM svc_fixture.not_bought nb
           WHERE (SELECT count(*) FROM bundlerec.recommend_items('svc', nb.customer, 10, exclude_bought => true)) <> least(10, nb.n)),
	0::bigint, 'recommend_items(exclude_bought, k 10) returns least(10, items never bought) rows for every customer');
SELECT is((SELECT count(*) FROM svc_fixture.not_bought nb
           WHERE (SELECT count(*) FROM bundlerec.recommend_items('svc', nb.customer, 200, exclude_bought => true)) <> least(200, nb.n)),
	0::bigint, 'and with k 200, more than the catalogue: every item never bought');
SELECT is((SELECT count(*) FROM (SELECT DISTINCT customer FROM svc_fixture.lines) c
           WHERE (SELECT count(*) FROM bundlerec.recommend_items('svc', c.customer, 200)) <> (SELECT count(DISTINCT item) FROM svc_fixture.lines)),
	0::bigint, 'recommend_items(k 200) returns the whole catalogue for every customer');
-- bundle candidates of a customer: their own new bundles and the best bundle
-- of every item that holds nothing they bought, one per bundle key
CREATE VIEW svc_fixture.bundle_cands AS
	SELECT c.customer, count(DISTINCT bundlerec.bundle_key(x.items)) AS n
	FROM (SELECT DISTINCT customer FROM svc_fixture.lines UNION SELECT 'unknown') c
	CROSS JOIN LATERAL (
		SELECT b.items FROM bundlerec_svc.customer_bundles b WHERE b.customer = c.customer AND b.rank_new IS NOT NULL
		UNION ALL
		SELECT b.items FROM bundlerec_svc.item_bundles b
		WHERE b.rank = 1 AND NOT EXISTS (SELECT 1 FROM svc_fixture.lines l WHERE l.customer = c.customer AND l.item = ANY (b.items))) x
	GROUP BY c.customer;
SELECT ok((SELECT n FROM svc_fixture.bundle_cands WHERE customer = 'cbig') >= 5, 'cbig has 5 bundle candidates');
SELECT is((SELECT count(*) FROM bundlerec.bundles_for_customer('svc', 'cbig', 5)), 5::bigint,
	'bundles_for_customer(exclude_bought) for cbig: 5 rows');
SELECT is((SELECT count(*) FROM svc_fixture.bundle_cands bc
           WHERE (SELECT count(*) FROM bundlerec.bundles_for_customer('svc', bc.customer, 5)) <> least(5, bc.n)),
	0::bigint, 'bundles_for_customer(k 5) returns least(5, candidates) rows for every customer');
SELECT is((SELECT count(*) FROM svc_fixture.bundle_cands bc
           WHERE (SELECT count(*) FROM bundlerec.bundles_for_customer('svc', bc.customer, 60)) <> least(60, bc.n)),
	0::bigint, 'and with k 60, every candidate');
SELECT is((SELECT count(*) FROM svc_fixture.bundle_cands bc
           WHERE (SELECT count(*) FROM bundlerec.bundles_for_customer('svc', bc.customer, 5, explore => true)) <> least(5, bc.n)),
	0::bigint, 'with explore too');
SELECT is((SELECT count(*) FROM (SELECT DISTINCT item FROM svc_fixture.lines UNION SELECT 'nope') i
           WHERE (SELECT count(*) FROM bundlerec.frequently_bought_together('svc', i.item, 12)) <> 12
              OR (SELECT count(*) FROM bundlerec.similar_items('svc', i.item, 12)) <> 12
              OR (SELECT count(*) FROM bundlerec.bundles_for_item('svc', i.item, 12)) <> 12
              OR (SELECT count(*) FROM bundlerec.complete_cart('svc', ARRAY[i.item], 12)) <> 12),
	0::bigint, 'item functions return 12 rows for every item and an unknown one');
SELECT is((SELECT count(*) FROM bundlerec.frequently_bought_together('svc', 'i3', 1000)),
	(SELECT count(DISTINCT item) - 1 FROM svc_fixture.lines),
	'frequently_bought_together(k 1000): every other item of the catalogue');

------------------------------------------------------------------------------
-- 3. cached plans across refresh, drop_model and re-creation
------------------------------------------------------------------------------
\getenv pghost PGHOST
\getenv pgport PGPORT
\set pgpass ''
\getenv pgpass PGPASSWORD
SELECT format('host=%s port=%s dbname=%s user=%s%s', :'pghost', coalesce(nullif(:'pgport', ''), current_setting('port')),
              current_database(), current_user,
              CASE WHEN :'pgpass' <> '' THEN ' password=' || :'pgpass' ELSE '' END) AS connstr \gset
SELECT dblink_connect('svc_rd', :'connstr') = 'OK' AS connected \gset

-- the first k partners of an item, as serving gives them here and in the
-- other session, and as the model's pairs view holds them
CREATE FUNCTION svc_fixture.served(model text, item text) RETURNS text LANGUAGE sql VOLATILE AS $$
	SELECT string_agg(partner, ',' ORDER BY rank) FROM bundlerec.frequently_bought_together(model, item, 4)
$$;
CREATE FUNCTION svc_fixture.served_there(model text, item text) RETURNS text LANGUAGE sql VOLATILE AS $$
	SELECT v FROM dblink('svc_rd', format('SELECT svc_fixture.served(%L, %L)', model, item)) AS t(v text)
$$;
CREATE FUNCTION svc_fixture.stored(sch text, item text) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE r text;
BEGIN
	EXECUTE format('SELECT string_agg(partner, '','' ORDER BY rank) FROM (SELECT partner, rank FROM %I.pairs WHERE item = $1 ORDER BY rank LIMIT 4) p', sch)
	INTO r USING item;
	RETURN r;
END $$;

SELECT svc_fixture.stored('bundlerec_svc', 'i1') AS svc_before, svc_fixture.stored('bundlerec_svc2', 'i1') AS svc2_before \gset
SELECT is(svc_fixture.served('svc', 'i1'), :'svc_before', 'here: partners of i1 as stored');
SELECT is(svc_fixture.served_there('svc', 'i1'), :'svc_before', 'there: partners of i1 as stored');
SELECT is(svc_fixture.served_there('svc2', 'i1'), :'svc2_before', 'there: the other model''s own partners');
SELECT is((SELECT v FROM dblink('svc_rd', $q$SELECT string_agg(source, ',' ORDER BY rank) FROM bundlerec.similar_items('svc2', 'i1', 3)$q$) t(v text)),
	'embeddings,embeddings,embeddings', 'there: svc2 has embeddings');

-- complete_cart keeps the rows it has read, per session and model: warm
-- them here and there for the cart i1, i2, i3
CREATE FUNCTION svc_fixture.cart_served(model text, items text[]) RETURNS text LANGUAGE sql VOLATILE AS $$
	SELECT string_agg(item || ' ' || score, ',' ORDER BY rank) FROM bundlerec.complete_cart(model, items, 6)
$$;
CREATE FUNCTION svc_fixture.cart_there(model text, items text[]) RETURNS text LANGUAGE sql VOLATILE AS $$
	SELECT v FROM dblink('svc_rd', format('SELECT svc_fixture.cart_served(%L, %L)', model, items)) AS t(v text)
$$;
CREATE FUNCTION svc_fixture.cart_oracle(model text, items text[]) RETURNS text LANGUAGE sql VOLATILE AS $$
	SELECT string_agg(item || ' ' || score, ',' ORDER BY rank)
	FROM svc_fixture.ref_complete_cart('bundlerec_' || model, (SELECT options FROM bundlerec.models WHERE name = model), items, 6)
$$;
SELECT svc_fixture.cart_oracle('svc', ARRAY['i1', 'i2', 'i3']) AS cart_before \gset
SELECT is(svc_fixture.cart_served('svc', ARRAY['i1', 'i2', 'i3']), :'cart_before', 'here: complete_cart as the oracle, rows now kept');
SELECT is(svc_fixture.cart_there('svc', ARRAY['i1', 'i2', 'i3']), :'cart_before', 'there: the same');

-- new orders pair i1 with i140..i143; a full refresh publishes new tables
INSERT INTO svc_fixture.lines
SELECT 'n' || b || '-' || r, x, 'c1', timestamptz '2024-03-01' + b * interval '1 hour', 'k0'
FROM generate_series(1, 40) b, generate_series(1, 2) r, unnest(ARRAY['i1', 'i140', 'i141', 'i142', 'i143']) x;
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('svc') \gset
SELECT svc_fixture.stored('bundlerec_svc', 'i1') AS svc_after \gset
SELECT isnt(:'svc_after'::text, :'svc_before'::text, 'the refresh changed the partners of i1');
SELECT is(svc_fixture.served('svc', 'i1'), :'svc_after', 'here: after the refresh, the new partners');
SELECT is(svc_fixture.served_there('svc', 'i1'), :'svc_after', 'there: after the refresh, the new partners');
SELECT is(svc_fixture.served_there('svc2', 'i1'), :'svc2_before', 'there: the other model is unchanged');
SELECT svc_fixture.cart_oracle('svc', ARRAY['i1', 'i2', 'i3']) AS cart_after \gset
SELECT isnt(:'cart_after'::text, :'cart_before'::text, 'the refresh changed the completion of i1, i2, i3');
SELECT is(svc_fixture.cart_served('svc', ARRAY['i1', 'i2', 'i3']), :'cart_after', 'here: complete_cart after the refresh, as the oracle');
SELECT is(svc_fixture.cart_there('svc', ARRAY['i1', 'i2', 'i3']), :'cart_after', 'there: the same');

-- drop_model: the other session is told the model does not exist
SELECT bundlerec.drop_model('svc2') IS NOT NULL AS dropped \gset
SELECT is((SELECT count(*) FROM dblink('svc_rd', $q$SELECT svc_fixture.served('svc2', 'i1')$q$, false) t(v text))
          || ' ' || (dblink_error_message('svc_rd') LIKE '%model "svc2" does not exist%')::text,
	'0 true', 'there: after drop_model, model "svc2" does not exist');

-- re-created under the same name on another shop, without embeddings or rules
SELECT bundlerec.create_model('svc2', 'svc_fixture.lines_b', 'basket', 'item', customer => 'customer',
	category => 'category', options => '{"factors": 4, "iterations": 2, "embeddings": false, "rules": false}') IS NOT NULL AS created \gset
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('svc2') \gset
SELECT svc_fixture.stored('bundlerec_svc2', 'j1') AS svc2_b \gset
SELECT is(svc_fixture.served_there('svc2', 'j1'), :'svc2_b', 'there: the re-created model''s partners');
SELECT is(svc_fixture.served('svc2', 'j1'), :'svc2_b', 'here: the re-created model''s partners');
SELECT is((SELECT v FROM dblink('svc_rd', $q$SELECT string_agg(DISTINCT source, ',') FROM bundlerec.similar_items('svc2', 'j1', 3)$q$) t(v text)),
	'pairs', 'there: similar_items of the re-created model falls back to its pairs (no embeddings)');
SELECT is((SELECT v FROM dblink('svc_rd', $q$SELECT string_agg(item || ' ' || score, ',' ORDER BY rank) FROM bundlerec.complete_cart('svc2', ARRAY['j1', 'j2'], 5)$q$) t(v text)),
	(SELECT string_agg(item || ' ' || score, ',' ORDER BY rank) FROM svc_fixture.ref_complete_cart('bundlerec_svc2',
		(SELECT options FROM bundlerec.models WHERE name = 'svc2'), ARRAY['j1', 'j2'], 5)),
	'there: complete_cart of the re-created model (no rules table) equals the oracle');

-- re-created again with the very same arguments on changed data: the same
-- catalogue entry, new tables behind the same view names
SELECT tables::text AS tables_before FROM bundlerec.models WHERE name = 'svc2' \gset
SELECT bundlerec.drop_model('svc2') IS NOT NULL AS dropped \gset
UPDATE svc_fixture.lines_b SET item = 'j' || (31 - substr(item, 2)::int);
SELECT bundlerec.create_model('svc2', 'svc_fixture.lines_b', 'basket', 'item', customer => 'customer',
	category => 'category', options => '{"factors": 4, "iterations": 2, "embeddings": false, "rules": false}') IS NOT NULL AS created \gset
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('svc2') \gset
SELECT svc_fixture.stored('bundlerec_svc2', 'j1') AS svc2_c \gset
SELECT ok(:'svc2_c' <> :'svc2_b' AND (SELECT tables::text FROM bundlerec.models WHERE name = 'svc2') = :'tables_before',
	'same tables map, other partners of j1');
SELECT is(svc_fixture.served_there('svc2', 'j1'), :'svc2_c', 'there: the partners of the data re-created under the same name');
SELECT is(svc_fixture.served('svc2', 'j1'), :'svc2_c', 'here: the same');
SELECT is(svc_fixture.cart_there('svc2', ARRAY['j1', 'j2']), svc_fixture.cart_oracle('svc2', ARRAY['j1', 'j2']),
	'there: complete_cart of the data re-created under the same name, as the oracle');

-- created, served, dropped and created again inside one transaction, on
-- changed data: the same tables map and the same xmin, another command
BEGIN;
SELECT bundlerec.drop_model('svc2') IS NOT NULL AS dropped \gset
SELECT bundlerec.create_model('svc2', 'svc_fixture.lines_b', 'basket', 'item', customer => 'customer',
	category => 'category', options => '{"factors": 4, "iterations": 2, "embeddings": false, "rules": false}') IS NOT NULL AS created \gset
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('svc2') \gset
SELECT svc_fixture.cart_served('svc2', ARRAY['j1', 'j2']) AS cart_j_before \gset
SELECT bundlerec.drop_model('svc2') IS NOT NULL AS dropped \gset
UPDATE svc_fixture.lines_b SET item = 'j' || (31 - substr(item, 2)::int);
SELECT bundlerec.create_model('svc2', 'svc_fixture.lines_b', 'basket', 'item', customer => 'customer',
	category => 'category', options => '{"factors": 4, "iterations": 2, "embeddings": false, "rules": false}') IS NOT NULL AS created \gset
SELECT count(*) > 0 AS refreshed FROM bundlerec.refresh('svc2') \gset
SELECT ok(svc_fixture.cart_oracle('svc2', ARRAY['j1', 'j2']) <> :'cart_j_before', 'in one transaction: the new data completes j1, j2 otherwise');
SELECT is(svc_fixture.cart_served('svc2', ARRAY['j1', 'j2']), svc_fixture.cart_oracle('svc2', ARRAY['j1', 'j2']),
	'in one transaction: complete_cart of the re-created model, as the oracle');
COMMIT;

-- bundlerec.serving_cache_limit: nothing kept (0), or dropped at every call
SET bundlerec.serving_cache_limit = 0;
SELECT is(svc_fixture.cart_served('svc', ARRAY['i1', 'i2', 'i3']), :'cart_after', 'serving_cache_limit 0: as the oracle');
SELECT is(svc_fixture.cart_served('svc', ARRAY(SELECT 'i' || n FROM generate_series(1, 140) n)),
	svc_fixture.cart_oracle('svc', ARRAY(SELECT 'i' || n FROM generate_series(1, 140) n)), 'serving_cache_limit 0: a 140-item cart as the oracle');
SET bundlerec.serving_cache_limit = '1kB';
SELECT is(svc_fixture.cart_served('svc', ARRAY(SELECT 'i' || n FROM generate_series(1, 140, 3) n)),
	svc_fixture.cart_oracle('svc', ARRAY(SELECT 'i' || n FROM generate_series(1, 140, 3) n)), 'serving_cache_limit 1kB: as the oracle');
RESET bundlerec.serving_cache_limit;
SELECT is(svc_fixture.served_there('svc', 'i1'), :'svc_after', 'there: model svc is still its own');

SELECT * FROM finish();

SELECT dblink_disconnect('svc_rd') = 'OK' AS disconnected \gset
SELECT bundlerec.drop_model('svc') IS NOT NULL AS dropped \gset
SELECT bundlerec.drop_model('svc2') IS NOT NULL AS dropped \gset
DROP SCHEMA svc_fixture CASCADE;
