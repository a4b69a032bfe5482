-- models_customer_bundles.sql: the customer bundles stage (C, one pass over
-- the customers) against the same definition written in SQL over the
-- model's published tables:
--   anchors: the customer's 20 most bought items (orders, then the latest
--   order, then the item in "C" order); candidates: every item bundle of
--   those anchors; repeat part: mean over the bundle's items of the share
--   of the customer's orders holding it; model part: mean over the added
--   items of the clipped ALS preference, where both vectors exist (an item
--   bought only without a customer has none); one bundle per item set (best
--   score, then the anchor first in "C" order); ranks by score, then the
--   items' text; rank_new among bundles whose added items are all new.
-- Floats compared to 10 decimals; explanations exactly.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;
BEGIN;
SELECT plan(7);

SELECT setseed(0.57);
CREATE TABLE cb_lines AS
SELECT 'o' || o AS basket,
       'i' || lpad((1 + floor(power(random(), 1.6) * 24))::int::text, 2, '0') AS item,
       CASE WHEN o % 9 = 0 THEN NULL ELSE 'c' || (o % 37) END AS customer,
       timestamptz '2024-03-01 00:00+00' + o * interval '37 minutes' AS ordered_at,
       'Name ' || o % 3 AS label
FROM generate_series(1, 700) o, generate_series(1, 2 + o % 4) j;
-- items that only customers without a key buy: in bundles, never in ALS
INSERT INTO cb_lines
SELECT 'o' || o, x, NULL, timestamptz '2024-03-01 00:00+00' + o * interval '37 minutes', 'Anonymous'
FROM generate_series(9, 700, 9) o, (VALUES ('anon1'), ('anon2')) v(x);
UPDATE cb_lines SET label = 'Lamp ' || item WHERE item < 'i05';

SELECT bundlerec.create_model('cb', 'cb_lines', 'basket', 'item', customer => 'customer',
	ordered_at => 'ordered_at', item_name => 'label', options => '{"iterations": 4, "factors": 8}') IS NOT NULL AS created \gset
SELECT count(*) AS n FROM bundlerec.refresh('cb') \gset

CREATE FUNCTION cb_reference(rw float8, mw float8, cw float8, k int)
RETURNS TABLE (customer text, rank integer, rank_new integer, anchor text, items text[], size integer,
	new_items integer, score numeric, repeat_part numeric, model_part numeric, cohesion numeric,
	accept_probability numeric, explanation text)
LANGUAGE sql AS $$
	WITH top_items AS (
		SELECT customer, item FROM (
			SELECT customer, item, row_number() OVER (PARTITION BY customer
			       ORDER BY orders DESC, last_ordered DESC NULLS LAST, item COLLATE "C") AS rn
			FROM bundlerec_cb.customer_items) x
		WHERE rn <= 20),
	cand AS (
		SELECT t.customer, b.anchor, b.items, b.size, b.cohesion, b.accept_probability
		FROM top_items t JOIN bundlerec_cb.item_bundles b ON b.anchor = t.item),
	parts AS (
		SELECT c.customer, c.anchor, c.items, c.size, c.cohesion, c.accept_probability,
		       cu.orders AS customer_orders,
		       avg(coalesce(ci.orders, 0)::float8 / cu.orders ORDER BY i.item COLLATE "C") AS repeat_part,
		       avg(CASE WHEN ce.factors IS NOT NULL AND ie.factors IS NOT NULL
		                THEN greatest(0, least(1, bundlerec.factors_dot(ce.factors, ie.factors))) END
		           ORDER BY i.item COLLATE "C") FILTER (WHERE i.ord > 1) AS model_part,
		       count(*) FILTER (WHERE i.ord > 1 AND ci.item IS NULL) AS new_items,
		       (array_agg(i.item ORDER BY ci.orders DESC NULLS LAST, i.ord))[1] AS top_item,
		       max(ci.orders) AS top_orders
		FROM cand c
		CROSS JOIN LATERAL unnest(c.items) WITH ORDINALITY i(item, ord)
		JOIN bundlerec_cb.customers cu ON cu.customer = c.customer
		LEFT JOIN bundlerec_cb.customer_items ci ON ci.customer = c.customer AND ci.item = i.item
		LEFT JOIN bundlerec_cb.customer_embeddings ce ON ce.customer = c.customer
		LEFT JOIN bundlerec_cb.item_embeddings ie ON ie.item = i.item
		GROUP BY c.customer, c.anchor, c.items, c.size, c.cohesion, c.accept_probability, cu.orders),
	scored AS (
		SELECT DISTINCT ON (p.customer, bundlerec.bundle_key(p.items)) p.*,
		       rw * p.repeat_part + mw * coalesce(p.model_part, 0) + cw * p.cohesion AS score
		FROM parts p
		ORDER BY p.customer, bundlerec.bundle_key(p.items),
		         rw * p.repeat_part + mw * coalesce(p.model_part, 0) + cw * p.cohesion DESC, p.anchor COLLATE "C"),
	ranked AS (
		SELECT s.*,
		       row_number() OVER (PARTITION BY s.customer ORDER BY s.score DESC, s.items::text COLLATE "C") AS rank,
		       CASE WHEN s.new_items = s.size - 1 THEN
		            row_number() OVER (PARTITION BY s.customer, s.new_items = s.size - 1
		                               ORDER BY s.score DESC, s.items::text COLLATE "C") END AS rank_new
		FROM scored s)
	SELECT r.customer, r.rank::integer, r.rank_new::integer, r.anchor, r.items, r.size, r.new_items::integer,
	       round(r.score::numeric, 10), round(r.repeat_part::numeric, 10), round(r.model_part::numeric, 10),
	       round(r.cohesion::numeric, 10), round(r.accept_probability::numeric, 10),
	       concat_ws('; ',
	           format('you bought %s in %s of your %s orders', coalesce(tn.name, r.top_item), r.top_orders, r.customer_orders),
	           CASE WHEN r.model_part IS NOT NULL
	                THEN format('customers who buy like you would pick the rest at %s', round(r.model_part::numeric, 2)) END,
	           CASE WHEN r.new_items > 0 THEN format('%s new to you', r.new_items) END,
	           format('cohesion %s', round(r.cohesion::numeric, 2)))
	FROM ranked r LEFT JOIN bundlerec_cb.items tn ON tn.item = r.top_item
	WHERE r.rank <= k OR r.rank_new <= k
$$;

CREATE VIEW cb_published AS
	SELECT customer, rank, rank_new, anchor, items, size, new_items, round(score::numeric, 10) AS score,
	       round(repeat_part::numeric, 10) AS repeat_part, round(model_part::numeric, 10) AS model_part,
	       round(cohesion::numeric, 10) AS cohesion, round(accept_probability::numeric, 10) AS accept_probability,
	       explanation
	FROM bundlerec_cb.customer_bundles;

SELECT ok((SELECT count(*) FROM bundlerec_cb.customer_bundles) > 300 AND
          (SELECT count(DISTINCT customer) FROM bundlerec_cb.customer_bundles) = 37,
	'every one of the 37 customers has bundles');
SELECT ok(EXISTS (SELECT FROM bundlerec_cb.customer_bundles b
                  WHERE b.customer IN (SELECT customer FROM bundlerec_cb.customer_items WHERE item LIKE 'anon%')
                     OR EXISTS (SELECT FROM unnest(b.items) x WHERE x NOT IN (SELECT item FROM bundlerec_cb.item_embeddings))),
	'some published bundle holds an item without ALS vector');
SELECT bag_eq('SELECT * FROM cb_published', 'SELECT * FROM cb_reference(1, 1, 1, 10)',
	'published customer bundles = the SQL definition (default weights, k 10)');
SELECT ok(EXISTS (SELECT FROM bundlerec_cb.customer_bundles WHERE explanation LIKE 'you bought Lamp i0_ in %'),
	'explanations name the customer''s item');
SELECT bag_eq(
	$$SELECT customer, rank, rank_new, anchor, items, size, new_items, round(score::numeric, 10) AS s, round(repeat_part::numeric, 10) AS r,
	         round(model_part::numeric, 10) AS m, round(cohesion::numeric, 10) AS c, round(accept_probability::numeric, 10) AS a, explanation
	  FROM bundlerec._customer_bundles('bundlerec_cb.customer_items', 'bundlerec_cb.customers', 'bundlerec_cb.item_bundles',
	       'bundlerec_cb.items', 'bundlerec_cb.customer_embeddings', 'bundlerec_cb.item_embeddings', 0.5, 2, 0.25, 3, NULL)$$,
	'SELECT * FROM cb_reference(0.5, 2, 0.25, 3)',
	'_customer_bundles = the SQL definition with other weights and k 3');
CREATE TEMP TABLE cb_only AS SELECT 'c' || i AS customer FROM generate_series(3, 9) i;
SELECT bag_eq(
	$$SELECT * FROM bundlerec._customer_bundles('bundlerec_cb.customer_items', 'bundlerec_cb.customers', 'bundlerec_cb.item_bundles',
	       'bundlerec_cb.items', 'bundlerec_cb.customer_embeddings', 'bundlerec_cb.item_embeddings', 1, 1, 1, 10, 'cb_only')$$,
	$$SELECT * FROM bundlerec_cb.customer_bundles WHERE customer IN (SELECT customer FROM cb_only)$$,
	'only_customers: exactly the rows of those customers');
SELECT bag_eq(
	$$SELECT customer, rank, items, round(repeat_part::numeric, 10) AS r, model_part FROM bundlerec._customer_bundles('bundlerec_cb.customer_items',
	       'bundlerec_cb.customers', 'bundlerec_cb.item_bundles', 'bundlerec_cb.items', NULL, NULL, 1, 1, 1, 10, NULL)$$,
	$$WITH r AS (SELECT * FROM cb_reference(1, 0, 1, 10)) SELECT customer, rank, items, repeat_part, NULL::float8 FROM r$$,
	'without factors: no model part, ranks as with model_weight 0');

SELECT * FROM finish();
ROLLBACK;
