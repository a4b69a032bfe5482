
------------------------------------------------------------------------------
-- Models: a shop's order lines registered once, refreshed on a schedule
------------------------------------------------------------------------------

CREATE TABLE bundlerec.models (
	name text PRIMARY KEY
		CONSTRAINT models_name_check CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
	source regclass NOT NULL,
	basket text NOT NULL,
	item text NOT NULL,
	customer text,
	ordered_at text,
	quantity text,
	price text,
	category text,
	item_name text,
	options jsonb NOT NULL,
	results_schema name NOT NULL UNIQUE,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by name NOT NULL DEFAULT CURRENT_USER,
	last_refresh timestamptz,
	last_refresh_kind text,
	watermark timestamptz,
	watermark_lines bigint,
	watermark_orders jsonb,
	n_lines bigint,
	n_baskets bigint,
	tables jsonb NOT NULL DEFAULT '{}',
	products regclass,
	product_columns jsonb
);

COMMENT ON TABLE bundlerec.models IS 'bundlerec models: which order lines each model reads, its options, and where and when its results were last refreshed';
COMMENT ON COLUMN bundlerec.models.name IS 'model name: lower-case letters, digits and _, starting with a letter';
COMMENT ON COLUMN bundlerec.models.source IS 'table or view of order lines';
COMMENT ON COLUMN bundlerec.models.basket IS 'column of source identifying an order';
COMMENT ON COLUMN bundlerec.models.item IS 'column of source identifying a product';
COMMENT ON COLUMN bundlerec.models.customer IS 'column of source identifying the customer (NULL: no per-customer results)';
COMMENT ON COLUMN bundlerec.models.ordered_at IS 'column of source with the order time (NULL: no incremental refresh, no evaluation)';
COMMENT ON COLUMN bundlerec.models.quantity IS 'column of source with the quantity of a line (NULL: 1)';
COMMENT ON COLUMN bundlerec.models.price IS 'column of source with the unit price (NULL: no prices or revenue)';
COMMENT ON COLUMN bundlerec.models.category IS 'column of source with the product category, used by the fallbacks';
COMMENT ON COLUMN bundlerec.models.item_name IS 'column of source with the product''s name, shown in explanations and served beside the key (NULL: items are named by their key)';
COMMENT ON COLUMN bundlerec.models.options IS 'every option of the model, defaults filled in (see bundlerec.model_defaults())';
COMMENT ON COLUMN bundlerec.models.results_schema IS 'schema holding the model''s result tables';
COMMENT ON COLUMN bundlerec.models.last_refresh IS 'when the last refresh committed';
COMMENT ON COLUMN bundlerec.models.last_refresh_kind IS 'full or incremental';
COMMENT ON COLUMN bundlerec.models.watermark IS 'latest order time the results include; an incremental refresh reads the orders after it';
COMMENT ON COLUMN bundlerec.models.watermark_lines IS 'lines at or before the watermark (or undated) at the last refresh; a change means old orders changed, and the next incremental refresh runs in full';
COMMENT ON COLUMN bundlerec.models.watermark_orders IS 'the orders with lines at the watermark''s very time, with their line counts: a later order at the same time is new, a changed one means old orders changed';
COMMENT ON COLUMN bundlerec.models.n_lines IS 'order lines read by the last refresh';
COMMENT ON COLUMN bundlerec.models.n_baskets IS 'orders in the results';
COMMENT ON COLUMN bundlerec.models.products IS 'table or view of products, one row each, sold or not (NULL: products are known from their orders only)';
COMMENT ON COLUMN bundlerec.models.product_columns IS 'the columns of products: key (default: the item column''s name), name, category, attributes (a list), price, embedding (real[] or any type with a cast to it)';
COMMENT ON COLUMN bundlerec.models.tables IS 'for each published result, the table of the current generation behind its view';

CREATE TABLE bundlerec.refresh_history (
	id bigserial PRIMARY KEY,
	model text NOT NULL REFERENCES bundlerec.models (name) ON DELETE CASCADE ON UPDATE CASCADE,
	kind text NOT NULL CHECK (kind IN ('full', 'incremental', 'evaluate', 'tune')),
	started_at timestamptz NOT NULL,
	finished_at timestamptz NOT NULL,
	seconds double precision NOT NULL,
	rows_read bigint,
	rows_written bigint,
	watermark timestamptz,
	stages jsonb,
	metrics jsonb
);

CREATE INDEX refresh_history_model_idx ON bundlerec.refresh_history (model, finished_at);

COMMENT ON TABLE bundlerec.refresh_history IS 'one row per committed refresh, evaluation or tuning of a model';
COMMENT ON COLUMN bundlerec.refresh_history.kind IS 'full, incremental, evaluate or tune';
COMMENT ON COLUMN bundlerec.refresh_history.seconds IS 'wall-clock duration';
COMMENT ON COLUMN bundlerec.refresh_history.rows_read IS 'order lines read (for an incremental refresh: the lines of the new orders)';
COMMENT ON COLUMN bundlerec.refresh_history.rows_written IS 'rows in the published result tables';
COMMENT ON COLUMN bundlerec.refresh_history.stages IS 'per stage: rows and seconds';
COMMENT ON COLUMN bundlerec.refresh_history.metrics IS 'evaluation rows (kind evaluate), the values tried and chosen (kind tune) or the model''s sizes';

-- What a shop records about served bundles; re-ranking reads it.
CREATE TABLE bundlerec.feedback (
	model text NOT NULL REFERENCES bundlerec.models (name) ON DELETE CASCADE ON UPDATE CASCADE,
	items text[] NOT NULL,
	impressions bigint NOT NULL DEFAULT 0 CHECK (impressions >= 0),
	conversions bigint NOT NULL DEFAULT 0 CHECK (conversions >= 0 AND conversions <= impressions),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (model, items)
);

COMMENT ON TABLE bundlerec.feedback IS 'impressions and conversions of served bundles, per model and bundle (items sorted); used by explore => true';
COMMENT ON COLUMN bundlerec.feedback.items IS 'the bundle''s items, sorted (bundlerec.bundle_key)';
COMMENT ON COLUMN bundlerec.feedback.impressions IS 'times the bundle was shown';
COMMENT ON COLUMN bundlerec.feedback.conversions IS 'times it was bought after being shown';

-- pg_dump keeps the catalogue, the history and the feedback: they are user
-- state, while the result tables are ordinary tables dumped as such.
SELECT pg_catalog.pg_extension_config_dump('bundlerec.models', '');
SELECT pg_catalog.pg_extension_config_dump('bundlerec.refresh_history', '');
SELECT pg_catalog.pg_extension_config_dump('bundlerec.refresh_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('bundlerec.feedback', '');

-- Serving functions run with the caller's privileges and look the model up:
-- any role may call them and read the catalogue; what it may read of the
-- results is up to the grants on each model's schema.
GRANT USAGE ON SCHEMA bundlerec TO PUBLIC;
GRANT SELECT ON bundlerec.models TO PUBLIC;

------------------------------------------------------------------------------
-- The result tables of a model, declared once
------------------------------------------------------------------------------
-- Refresh builds them in this order, publishes them (a view per result over
-- the table of its current generation), locks them in this order, comments
-- them, counts them; serving, evaluate and drop_model follow the same list.

CREATE TABLE bundlerec.result_tables (
	name text PRIMARY KEY,
	position integer NOT NULL UNIQUE,
	stage text NOT NULL,
	enabled_by text NOT NULL
		CHECK (enabled_by IN ('always', 'customer', 'rules', 'embeddings', 'ease', 'bundles', 'customer bundles', 'products')),
	refresh text NOT NULL CHECK (refresh IN ('counted', 'rebuilt', 'model', 'per customer')),
	served boolean NOT NULL,
	columns text[] NOT NULL,
	primary_key text[] NOT NULL,
	indexes text[] NOT NULL DEFAULT '{}',
	comment text NOT NULL,
	column_comments jsonb NOT NULL DEFAULT '{}'
);

COMMENT ON TABLE bundlerec.result_tables IS 'the result tables every model publishes: stage, columns, keys, indexes, comments, what enables them and how a refresh brings them up to date';
COMMENT ON COLUMN bundlerec.result_tables.position IS 'build, lock and publish order';
COMMENT ON COLUMN bundlerec.result_tables.enabled_by IS 'always; customer (a customer column); rules, embeddings, ease, bundles (those options, embeddings also needing a customer column); customer bundles (both); products (a products source)';
COMMENT ON COLUMN bundlerec.result_tables.refresh IS 'counted: an incremental refresh adds the new orders (in place; pair counts through _pair_delta, folded into _pair_counts when it grows); rebuilt: recomputed from the counts and lines on every refresh; model: rebuilt once the orders counted have grown by model_refresh_growth since it was last built, kept until then; per customer: an incremental refresh recomputes the customers with new orders in place and keeps the others'' rows (model option customer_refresh_growth)';
COMMENT ON COLUMN bundlerec.result_tables.served IS 'read by serving functions and reports (false: refresh state only)';
GRANT SELECT ON bundlerec.result_tables TO PUBLIC;
COMMENT ON COLUMN bundlerec.result_tables.primary_key IS 'the primary key; empty for none (_pair_delta, appended to)';
COMMENT ON COLUMN bundlerec.result_tables.indexes IS 'index definitions beyond the primary key, as written after CREATE [UNIQUE] INDEX ON t';

INSERT INTO bundlerec.result_tables VALUES
('_item_counts', 1, 'item counts', 'always', 'counted', false,
 '{item,orders,quantity,revenue,first_ordered,last_ordered}', '{item}', '{}',
 'refresh state: orders, quantity and revenue per item', '{}'),
('customers', 2, 'customer items', 'customer', 'counted', true,
 '{customer,orders,first_ordered,last_ordered}', '{customer}', '{}',
 'orders per customer', '{}'),
('customer_items', 3, 'customer items', 'customer', 'counted', true,
 '{customer,item,orders,quantity,first_ordered,last_ordered}', '{customer,item}', '{}',
 'what each customer bought: orders, quantity, first and last time', '{}'),
('_pair_counts', 4, 'pair counts', 'always', 'counted', false,
 '{item_a,item_b,count}', '{item_a,item_b}', '{}',
 'refresh state: orders per item pair, every pair (kept for incremental refresh; not for serving)', '{}'),
('_pair_delta', 5, 'pair counts', 'always', 'counted', false,
 '{item_a,item_b,count}', '{}', '{}',
 'refresh state: changes to _pair_counts from incremental refreshes, appended (a pair may have several rows; its change is their sum), not yet folded into it', '{}'),
('items', 6, 'items', 'always', 'rebuilt', true,
 '{item,category,orders,customers,quantity,revenue,price,support,popularity_rank,category_rank,first_ordered,last_ordered,name}',
 '{item}', '{"UNIQUE (popularity_rank)","UNIQUE (category, category_rank)"}',
 'item statistics: orders, customers, quantity, revenue, current price, category, popularity and name',
 '{"orders": "orders holding the item", "customers": "customers who bought it",
   "name": "the name on most of the item''s lines (a tie goes to the smallest name in byte order, COLLATE \"C\"); NULL when the model has no item_name column or the item''s lines name it nowhere",
   "price": "mean unit price (positive, finite prices only) over the price window before the latest order (else over all lines), rounded to 4 places; bundles are priced by the same rule (bundlerec._item_attributes)",
   "category": "the category on most of the item''s lines (a tie goes to the smallest)",
   "support": "orders / all orders", "popularity_rank": "1 = the item in most orders",
   "category_rank": "popularity rank within its category"}'),
('pairs', 7, 'pairs', 'always', 'rebuilt', true,
 '{item,rank,partner,count,item_orders,partner_orders,support,confidence,lift,npmi,score}',
 '{item,rank}', '{"UNIQUE (item, partner)"}',
 'frequently bought together: the best partners of each item, pairs in at least min_count orders',
 '{"rank": "1 = best partner, by score", "count": "orders holding both items",
   "confidence": "count / item_orders: P(partner | item)",
   "lift": "count * orders / (item_orders * partner_orders)",
   "npmi": "normalised pointwise mutual information, in [-1, 1]",
   "score": "npmi * count / (count + shrinkage)"}'),
('rules', 8, 'rules', 'rules', 'model', true,
 '{antecedent,consequent,rank,size,count,support,confidence,coverage,lift,leverage,conviction,fisher_p}',
 '{consequent,antecedent}', '{"USING gin (antecedent)"}',
 'association rules antecedent => consequent (arules semantics) in at least min_count orders and rules_min_support of them: the rules_per_item best (by confidence, then lift) of each consequent',
 '{"rank": "1 = the consequent''s most confident rule"}'),
('item_weights', 22, 'item weights', 'ease', 'model', true,
 '{item,rank,neighbor,weight}', '{item,rank}', '{}',
 'signed EASE item-item weights over the orders counted (baskets x items, orders under max_basket_items): the ease_per_item largest |weight| of each item; complete_cart sums a candidate''s weights from the cart''s items',
 '{"rank": "1 = the largest |weight| of the item",
   "weight": "B[item, neighbor] of EASE, B = I - P diag(1/diag(P)), P = (X''X + ease_regularization I)^-1; negative: the neighbour is less likely in an order holding the item than its other items predict"}'),
('customer_embeddings', 9, 'embeddings', 'embeddings', 'model', true,
 '{customer,factors}', '{customer}', '{}', 'ALS customer factor vectors', '{}'),
('item_embeddings', 10, 'embeddings', 'embeddings', 'model', true,
 '{item,factors}', '{item}', '{}', 'ALS item factor vectors', '{}'),
('similar_items', 11, 'similar items', 'embeddings', 'model', true,
 '{item,rank,neighbor,similarity}', '{item,rank}', '{}',
 'nearest items by cosine of their ALS vectors', '{}'),
('recommendations', 12, 'recommendations', 'customer', 'per customer', true,
 '{customer,rank,item,score,repeat_part,model_part,bought,customer_orders,rank_new}', '{customer,rank}', '{}',
 'items per customer: repeat_weight * repeat_part + model_weight * model_part; the recommendations_per_customer best, and as many of the best items new to the customer',
 '{"repeat_part": "share of the customer''s orders holding the item",
   "model_part": "ALS predicted preference x . y, clipped to [0, 1]",
   "bought": "orders of the customer holding the item",
   "rank_new": "rank among the items the customer never bought (NULL for the others)"}'),
('item_bundles', 15, 'item bundles', 'bundles', 'model', true,
 '{anchor,rank,items,size,count,support,cohesion,min_npmi,mean_lift,list_price,bundle_price,accept_probability,expected_revenue,score,explanation,alike}',
 '{anchor,rank}', '{"UNIQUE (anchor, items)"}',
 'bundles around each item (anchor), by bundlerec.generate_bundles; count >= min_count',
 '{"rank": "1 = best bundle of the anchor",
   "score": "cohesion + revenue part (generate_bundles) + bundle_alike_weight * alike",
   "alike": "mean content similarity of the bundle''s item pairs (content_neighbors; 0 for a pair not listed there); NULL without a products source"}'),
('customer_bundles', 16, 'customer bundles', 'customer bundles', 'per customer', true,
 '{customer,rank,rank_new,anchor,items,size,new_items,score,repeat_part,model_part,cohesion,accept_probability,explanation}',
 '{customer,rank}', '{"UNIQUE (customer, rank_new)"}',
 'bundles per customer, anchored on their most bought items: repeat, model and cohesion parts',
 '{"rank": "rank among all of the customer''s bundles",
   "rank_new": "rank among bundles whose added items the customer never bought; NULL otherwise",
   "new_items": "added items the customer never bought",
   "repeat_part": "mean over the bundle''s items of the share of the customer''s orders holding it",
   "model_part": "mean ALS preference for the added items, clipped to [0, 1]"}'),
('_item_customers', 18, 'customer items', 'customer', 'counted', false,
 '{item,customers}', '{item}', '{}',
 'refresh state: customers per item', '{}'),
('_item_prices', 19, 'items', 'always', 'counted', false,
 '{item,window_sum,window_lines,price_sum,price_lines}', '{item}', '{}',
 'refresh state: sum and number of the positive, finite prices of each item''s lines, within the price window before the watermark and overall', '{}'),
('_item_categories', 20, 'items', 'always', 'counted', false,
 '{item,category,lines}', '{item,category}', '{}',
 'refresh state: lines per item and category', '{}'),
('_item_names', 21, 'items', 'always', 'counted', false,
 '{item,name,lines}', '{item,name}', '{}',
 'refresh state: lines per item and name', '{}'),
('products', 13, 'products', 'products', 'rebuilt', true,
 '{item,name,category,price,orders}', '{item}', '{}',
 'every product of the products source, sold or not, with its orders so far',
 '{"orders": "orders holding the product (0: never sold)"}'),
('content_neighbors', 14, 'content', 'products', 'rebuilt', true,
 '{item,rank,neighbor,similarity,basis}', '{item,rank}', '{}',
 'the content_neighbors most alike products of every product: cosine of their embeddings, else TF-IDF over name, category, attributes and price band',
 '{"basis": "embedding or text", "similarity": "cosine, in [-1, 1] (text: [0, 1])"}'),
('cold_start', 17, 'cold start', 'products', 'rebuilt', true,
 '{item,list,rank,other,score,content_weight,via,via_similarity,via_confidence,item_orders}', '{item,list,rank}', '{}',
 'lists for products with fewer than cold_start_orders orders, served in place of their own: together (bought with products like it) and similar (products like it), blended with the product''s own by content_weight',
 '{"list": "together (frequently_bought_together, complete_cart) or similar (similar_items)",
   "content_weight": "cold_start_shrinkage / (cold_start_shrinkage + item_orders): 1 for a product never sold",
   "score": "together: content_weight * (similarity-weighted mean over its content neighbours of their pairs'' confidence) + (1 - content_weight) * its own pair''s confidence; similar: content_weight * content similarity + (1 - content_weight) * ALS cosine",
   "via": "together: the content neighbour whose partner it most is", "via_similarity": "that neighbour''s (similar: this product''s) content similarity",
   "via_confidence": "share of that neighbour''s orders holding it"}');

-- The declared tables a model with these options and columns publishes.
CREATE FUNCTION bundlerec._result_tables(m bundlerec.models)
RETURNS SETOF bundlerec.result_tables
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT r.* FROM bundlerec.result_tables r
WHERE CASE r.enabled_by
      WHEN 'always' THEN true
      WHEN 'customer' THEN m.customer IS NOT NULL
      WHEN 'rules' THEN (m.options ->> 'rules')::boolean
      WHEN 'embeddings' THEN m.customer IS NOT NULL AND (m.options ->> 'embeddings')::boolean
      WHEN 'ease' THEN (m.options ->> 'ease')::boolean
      WHEN 'bundles' THEN (m.options ->> 'bundles')::boolean
      WHEN 'customer bundles' THEN m.customer IS NOT NULL AND (m.options ->> 'bundles')::boolean
      WHEN 'products' THEN m.products IS NOT NULL
      END
ORDER BY r.position
$body$;

-- The key of the advisory lock that orders serving, refresh and drop_model
-- on one model: readers share it, publishing and dropping take it alone.
-- Qualified throughout and without a SET clause, so that it is inlined:
-- serving computes it on every call.
CREATE FUNCTION bundlerec._lock_key(model text)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $body$
SELECT (x'62726563'::bigint OPERATOR(pg_catalog.<<) 32) OPERATOR(pg_catalog.|)
       (pg_catalog.hashtext(model)::bigint OPERATOR(pg_catalog.&) x'ffffffff'::bigint)
$body$;

-- No SET clause: its body is parsed under the caller's search_path, so
-- the type is qualified.
CREATE FUNCTION bundlerec.model_defaults()
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $body$
SELECT '{
	"min_count": 2,
	"max_basket_items": 0,
	"pairs_per_item": 20,
	"shrinkage": 10,
	"rules": true,
	"rules_min_support": 0.01,
	"rules_min_confidence": 0.2,
	"rules_max_size": 3,
	"rules_per_item": 20,
	"embeddings": true,
	"factors": 32,
	"regularization": 0.1,
	"alpha": 10,
	"iterations": 10,
	"incremental_iterations": 3,
	"customer_refresh_growth": 0.1,
	"model_refresh_growth": 0.1,
	"similar_per_item": 20,
	"recommendations_per_customer": 20,
	"bundles": true,
	"bundles_per_item": 5,
	"bundle_max_size": 3,
	"beam": 20,
	"discount": 0,
	"price_window": "90 days",
	"bundles_per_customer": 10,
	"repeat_weight": 1,
	"model_weight": 1,
	"cohesion_weight": 1,
	"cart_pairs_weight": 1,
	"cart_rules_weight": 1,
	"cart_embedding_weight": 0.5,
	"ease": true,
	"ease_regularization": 50,
	"ease_per_item": 200,
	"cart_ease_weight": 4,
	"feedback_prior": 20,
	"feedback_max_bundles": 100000,
	"eval_max_baskets": 2000,
	"content_neighbors": 20,
	"cold_start_orders": 20,
	"cold_start_shrinkage": 5,
	"bundle_alike_weight": 0.25,
	"bundle_whole_share": 0.7
}'::pg_catalog.jsonb
$body$;

COMMENT ON FUNCTION bundlerec.model_defaults() IS
	'the options a model gets unless create_model''s options say otherwise';

-- The options with defaults filled in, checked; raises on a bad one.
CREATE FUNCTION bundlerec._check_options(options jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	d jsonb := bundlerec.model_defaults();
	o jsonb;
	key text;
	v jsonb;
	n numeric;
	lo numeric;
	hi numeric;
	whole boolean;
	pw interval;
BEGIN
	IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'For example ''{"factors": 64, "bundles_per_item": 10}''; bundlerec.model_defaults() lists them.';
	END IF;
	FOR key IN SELECT jsonb_object_keys(options) LOOP
		IF NOT d ? key AND key <> 'schema' THEN
			RAISE EXCEPTION 'unknown model option "%"', key
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'The options are schema and ' || (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(d) k) || '.';
		END IF;
	END LOOP;
	o := d || options;
	FOR key, v IN SELECT * FROM jsonb_each(o) LOOP
		CONTINUE WHEN key = 'schema';
		-- null: bundles rank by score alone
		CONTINUE WHEN key = 'bundle_whole_share' AND jsonb_typeof(v) = 'null';
		IF jsonb_typeof(v) <> jsonb_typeof(d -> key) THEN
			RAISE EXCEPTION 'model option "%" must be a %, not %', key, jsonb_typeof(d -> key), v
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = format('The default is %s.', d -> key);
		END IF;
		IF jsonb_typeof(v) = 'number' THEN
			-- the ranges the engines accept, so that a model that is created
			-- also refreshes
			SELECT r.lo, r.hi, r.whole INTO lo, hi, whole FROM (VALUES
				('min_count', 1, 2147483647, true), ('max_basket_items', 0, 1000000, true),
				('pairs_per_item', 1, 1000, true), ('shrinkage', 0, 1e9, false),
				('rules_min_support', 0, 1, false), ('rules_min_confidence', 0, 0.999999, false),
				('rules_max_size', 2, 64, true), ('rules_per_item', 1, 1000, true),
				('factors', 1, 1024, true), ('regularization', 0, 1e9, false), ('alpha', 0, 1e9, false),
				('iterations', 1, 10000, true), ('incremental_iterations', 1, 10000, true),
				('customer_refresh_growth', 0, 1e9, false), ('model_refresh_growth', 0, 1e9, false),
				('similar_per_item', 1, 1000, true), ('recommendations_per_customer', 1, 1000, true),
				('bundles_per_item', 1, 1000, true), ('bundle_max_size', 2, 100, true), ('beam', 1, 1000, true),
				('discount', 0, 0.999999, false), ('bundles_per_customer', 1, 1000, true),
				('repeat_weight', 0, 1e9, false), ('model_weight', 0, 1e9, false), ('cohesion_weight', 0, 1e9, false),
				('cart_pairs_weight', 0, 1e9, false), ('cart_rules_weight', 0, 1e9, false),
				('cart_embedding_weight', 0, 1e9, false), ('feedback_prior', 1e-6, 1e9, false),
				('ease_regularization', 1e-6, 1e9, false), ('ease_per_item', 1, 1000, true),
				('cart_ease_weight', 0, 1e9, false),
				('feedback_max_bundles', 1, 100000000, true), ('eval_max_baskets', 1, 1000000, true),
				('content_neighbors', 1, 1000, true), ('cold_start_orders', 0, 2147483647, true),
				('cold_start_shrinkage', 0, 1e9, false), ('bundle_alike_weight', -1e3, 1e3, false),
				('bundle_whole_share', 0, 1, false)) r(k, lo, hi, whole)
			WHERE r.k = key;
			IF NOT FOUND THEN
				RAISE EXCEPTION 'model option "%" has no declared range', key
					USING ERRCODE = 'internal_error', HINT = 'This is a bug in bundlerec; please report it.';
			END IF;
			n := v::text::numeric;
			IF n < lo OR n > hi OR whole AND n <> trunc(n) THEN
				RAISE EXCEPTION 'model option "%" must be % from % to %, not %', key,
					CASE WHEN whole THEN 'a whole number' ELSE 'a number' END, lo, hi, v
					USING ERRCODE = 'invalid_parameter_value', HINT = format('The default is %s.', d -> key);
			END IF;
		END IF;
	END LOOP;
	IF (o ->> 'min_count')::int < 2 THEN
		RAISE WARNING 'min_count % publishes combinations seen in a single order', o ->> 'min_count'
			USING HINT = 'A pair or bundle from one order can single out that customer; the default is 2.';
	END IF;
	BEGIN
		pw := (o ->> 'price_window')::interval;
	EXCEPTION WHEN others THEN
		pw := NULL;
	END;
	IF pw IS NULL OR pw <= interval '0' THEN
		RAISE EXCEPTION 'model option "price_window" must be a positive interval, not %', o -> 'price_window'
			USING ERRCODE = 'invalid_parameter_value', HINT = 'For example "90 days".';
	END IF;
	IF o ? 'schema' AND (jsonb_typeof(o -> 'schema') <> 'string' OR o ->> 'schema' !~ '^[a-z_][a-z0-9_]{0,62}$'
	                     OR o ->> 'schema' ~ '^pg_') THEN
		RAISE EXCEPTION 'model option "schema" must name a new schema, not %', o -> 'schema'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Use up to 63 lower-case letters, digits and _, not starting with pg_; the default is bundlerec_<model>.';
	END IF;
	RETURN o;
END
$body$;

-- Checks that model m can read its source: the relation still exists, is a
-- table or view the caller may read, and every mapped column exists with a
-- usable type.  create_model and refresh share it.
CREATE FUNCTION bundlerec._check_source(m bundlerec.models)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	col text;
	role text;
	typ regtype;
	kind "char";
	key_types regtype[] := ARRAY['smallint', 'integer', 'bigint', 'text', 'character varying', 'character', 'uuid', 'numeric']::regtype[];
	num_types regtype[] := ARRAY['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision', 'money']::regtype[];
	time_types regtype[] := ARRAY['date', 'timestamp without time zone', 'timestamp with time zone']::regtype[];
	name_types regtype[] := ARRAY['text', 'character varying', 'character']::regtype[];
	what text := CASE WHEN m.name IS NULL THEN '' ELSE format('model "%s": ', m.name) END;
BEGIN
	SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = m.source;
	IF NOT FOUND THEN
		RAISE EXCEPTION '%the source relation of the model (oid %) no longer exists', what, m.source::oid
			USING ERRCODE = 'undefined_table',
			      HINT = 'A model follows its table or view by identity, so renaming it is fine but dropping it is not; recreate the model over the new relation (bundlerec.drop_model, then bundlerec.create_model).';
	END IF;
	IF kind NOT IN ('r', 'v', 'm', 'f', 'p') THEN
		RAISE EXCEPTION '%', what || format('%s is not a table or view', m.source)
			USING ERRCODE = 'wrong_object_type',
			      HINT = 'The source is a table, view or materialized view of order lines.';
	END IF;
	IF NOT has_table_privilege(m.source, 'SELECT') THEN
		RAISE EXCEPTION '%permission denied to read %', what, m.source
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'A model reads its source with the privileges of the role that creates or refreshes it.';
	END IF;
	FOR role, col IN SELECT * FROM (VALUES ('basket', m.basket), ('item', m.item), ('customer', m.customer),
	                                       ('ordered_at', m.ordered_at), ('quantity', m.quantity),
	                                       ('price', m.price), ('category', m.category),
	                                       ('item_name', m.item_name)) v(r, c)
	                 WHERE v.c IS NOT NULL LOOP
		SELECT a.atttypid::regtype INTO typ FROM pg_attribute a
		WHERE a.attrelid = m.source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION '%column "%" (%) does not exist in %', what, col, role, m.source
				USING ERRCODE = 'undefined_column',
				      HINT = 'Column names are matched exactly as given, without case folding or quotes.';
		END IF;
		typ := coalesce((SELECT t.typbasetype::regtype FROM pg_type t WHERE t.oid = typ AND t.typtype = 'd'), typ);
		IF role IN ('basket', 'item', 'customer', 'category') AND NOT typ = ANY (key_types) OR
		   role IN ('quantity', 'price') AND NOT typ = ANY (num_types) OR
		   role = 'ordered_at' AND NOT typ = ANY (time_types) OR
		   role = 'item_name' AND NOT typ = ANY (name_types) THEN
			RAISE EXCEPTION '%column "%" (%) of % has type %, which bundlerec cannot use as %', what, col, role, m.source, typ,
				CASE WHEN role IN ('basket', 'item', 'customer', 'category') THEN 'a key'
				     WHEN role = 'ordered_at' THEN 'an order time'
				     WHEN role = 'item_name' THEN 'a product name' ELSE 'a number' END
				USING ERRCODE = 'datatype_mismatch',
				      HINT = CASE WHEN role IN ('basket', 'item', 'customer', 'category') THEN 'Keys and categories are integers, text, varchar or uuid; cast in a view.'
				                  WHEN role = 'ordered_at' THEN 'Use a date, timestamp or timestamptz column.'
				                  WHEN role = 'item_name' THEN 'Product names are text, varchar or char; cast in a view.'
				                  ELSE 'Use a numeric column.' END;
		END IF;
	END LOOP;
END
$body$;

-- Checks model m's products source (when it has one) like its order
-- lines: the relation, that each mapped column exists with a usable type,
-- and that there is something to compare products by.  Returns the
-- columns with the key filled in (default: the item column's name).
CREATE FUNCTION bundlerec._check_products(m bundlerec.models)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	pc jsonb := m.product_columns;
	kind "char";
	k text;
	role text;
	col text;
	typ regtype;
	key_types regtype[] := ARRAY['smallint', 'integer', 'bigint', 'text', 'character varying', 'character', 'uuid', 'numeric']::regtype[];
	num_types regtype[] := ARRAY['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision', 'money']::regtype[];
	name_types regtype[] := ARRAY['text', 'character varying', 'character']::regtype[];
	what text := CASE WHEN m.name IS NULL THEN '' ELSE format('model "%s": ', m.name) END;
BEGIN
	IF m.products IS NULL THEN
		IF pc IS NOT NULL THEN
			RAISE EXCEPTION '%product_columns are given without products', what
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'Pass the table or view of products as products, or leave product_columns out.';
		END IF;
		RETURN NULL;
	END IF;
	pc := coalesce(pc, '{}');
	IF jsonb_typeof(pc) <> 'object' THEN
		RAISE EXCEPTION '%product_columns must be a JSON object, not %', what, pc
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'For example ''{"name": "description", "category": "category", "embedding": "embedding"}''.';
	END IF;
	FOR k IN SELECT jsonb_object_keys(pc) LOOP
		IF k NOT IN ('key', 'name', 'category', 'attributes', 'price', 'embedding') THEN
			RAISE EXCEPTION '%unknown product column role "%"', what, k
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'product_columns maps key, name, category, attributes (a list), price and embedding to columns of products.';
		END IF;
		IF k = 'attributes' AND (jsonb_typeof(pc -> k) <> 'array' OR EXISTS (
		       SELECT 1 FROM jsonb_array_elements(pc -> k) e WHERE jsonb_typeof(e) <> 'string'))
		   OR k <> 'attributes' AND jsonb_typeof(pc -> k) <> 'string' THEN
			RAISE EXCEPTION '%product column "%" must be %, not %', what, k,
				CASE WHEN k = 'attributes' THEN 'a list of column names' ELSE 'a column name' END, pc -> k
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'For example {"attributes": ["brand", "colour"]} or {"name": "description"}.';
		END IF;
	END LOOP;
	pc := jsonb_build_object('key', m.item) || pc;
	IF NOT pc ?| ARRAY['name', 'category', 'attributes', 'embedding'] THEN
		RAISE EXCEPTION '%products has nothing to compare products by', what
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Map at least one of name, category, attributes or embedding in product_columns.';
	END IF;
	SELECT c.relkind INTO kind FROM pg_class c WHERE c.oid = m.products;
	IF NOT FOUND THEN
		RAISE EXCEPTION '%the products relation of the model (oid %) no longer exists', what, m.products::oid
			USING ERRCODE = 'undefined_table',
			      HINT = 'Recreate the model over the new relation (bundlerec.drop_model, then bundlerec.create_model).';
	END IF;
	IF kind NOT IN ('r', 'v', 'm', 'f', 'p') THEN
		RAISE EXCEPTION '%', what || format('%s is not a table or view', m.products)
			USING ERRCODE = 'wrong_object_type', HINT = 'products is a table, view or materialized view with one row per product.';
	END IF;
	IF NOT has_table_privilege(m.products, 'SELECT') THEN
		RAISE EXCEPTION '%permission denied to read %', what, m.products
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'A model reads its sources with the privileges of the role that creates or refreshes it.';
	END IF;
	FOR role, col IN SELECT e.key, e.value #>> '{}' FROM jsonb_each(pc) e WHERE e.key <> 'attributes'
	                 UNION ALL SELECT 'attributes', a FROM jsonb_array_elements_text(coalesce(pc -> 'attributes', '[]')) a LOOP
		SELECT a.atttypid::regtype INTO typ FROM pg_attribute a
		WHERE a.attrelid = m.products AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION '%column "%" (product %) does not exist in %', what, col, role, m.products
				USING ERRCODE = 'undefined_column',
				      HINT = 'Column names are matched exactly as given, without case folding or quotes.';
		END IF;
		typ := coalesce((SELECT t.typbasetype::regtype FROM pg_type t WHERE t.oid = typ AND t.typtype = 'd'), typ);
		IF role IN ('key', 'category') AND NOT typ = ANY (key_types) OR
		   role = 'price' AND NOT typ = ANY (num_types) OR
		   role = 'name' AND NOT typ = ANY (name_types) THEN
			RAISE EXCEPTION '%column "%" (product %) of % has type %, which bundlerec cannot use as %', what, col, role, m.products, typ,
				CASE role WHEN 'price' THEN 'a price' WHEN 'name' THEN 'a product name' ELSE 'a key' END
				USING ERRCODE = 'datatype_mismatch',
				      HINT = CASE role WHEN 'price' THEN 'Use a numeric column.'
				                       WHEN 'name' THEN 'Product names are text, varchar or char; cast in a view.'
				                       ELSE 'Keys and categories are integers, text, varchar or uuid, as the order lines'' item column; cast in a view.' END;
		END IF;
		IF role = 'embedding' THEN
			BEGIN
				EXECUTE format('SELECT NULL::%s::pg_catalog.float4[]', typ);
			EXCEPTION WHEN cannot_coerce OR datatype_mismatch OR undefined_function THEN
				RAISE EXCEPTION '%column "%" (product embedding) of % has type %, which has no cast to real[]', what, col, m.products, typ
					USING ERRCODE = 'datatype_mismatch',
					      HINT = 'Use real[], double precision[], pgvector''s vector, or any type with a cast to real[]; or cast in a view.';
			END;
		END IF;
	END LOOP;
	EXECUTE format('SELECT k FROM (SELECT %I::text AS k FROM %s) x WHERE k IS NOT NULL GROUP BY k HAVING count(*) > 1 ORDER BY k LIMIT 1',
	               pc ->> 'key', m.products) INTO col;
	IF col IS NOT NULL THEN
		RAISE EXCEPTION '%product % appears more than once in %', what, col, m.products
			USING ERRCODE = 'unique_violation',
			      HINT = 'A products relation has one row per product; pick one row per key in a view.';
	END IF;
	RETURN pc;
END
$body$;

-- VOLATILE: registers the model and creates its results schema.
CREATE FUNCTION bundlerec.create_model(
	name text,
	source regclass,
	basket text,
	item text,
	customer text DEFAULT NULL,
	ordered_at text DEFAULT NULL,
	quantity text DEFAULT NULL,
	price text DEFAULT NULL,
	category text DEFAULT NULL,
	options jsonb DEFAULT '{}',
	item_name text DEFAULT NULL,
	products regclass DEFAULT NULL,
	product_columns jsonb DEFAULT NULL)
RETURNS bundlerec.models
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	opts jsonb;
	sch text;
	marker text;
	m bundlerec.models;
BEGIN
	IF create_model.name IS NULL OR source IS NULL OR basket IS NULL OR item IS NULL THEN
		RAISE EXCEPTION 'name, source, basket and item must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Name the model, the table or view of order lines, and its order and product columns.';
	END IF;
	IF create_model.name !~ '^[a-z][a-z0-9_]{0,39}$' THEN
		RAISE EXCEPTION 'invalid model name "%"', create_model.name
			USING ERRCODE = 'invalid_name',
			      HINT = 'Use up to 40 lower-case letters, digits and _, starting with a letter, for example ''shop''.';
	END IF;
	IF EXISTS (SELECT 1 FROM bundlerec.models mm WHERE mm.name = create_model.name) THEN
		RAISE EXCEPTION 'model "%" already exists', create_model.name
			USING ERRCODE = 'duplicate_object',
			      HINT = 'Drop it first with bundlerec.drop_model(), or choose another name.';
	END IF;
	m.source := source;
	m.basket := basket;
	m.item := item;
	m.customer := customer;
	m.ordered_at := ordered_at;
	m.quantity := quantity;
	m.price := price;
	m.category := category;
	m.item_name := item_name;
	m.products := products;
	m.product_columns := product_columns;
	PERFORM bundlerec._check_source(m);
	m.product_columns := bundlerec._check_products(m);
	opts := bundlerec._check_options(options);
	sch := coalesce(opts ->> 'schema', 'bundlerec_' || create_model.name);
	opts := opts - 'schema';
	marker := format('bundlerec model %s: ', create_model.name);
	IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = sch) THEN
		-- the results of a model of this name that no catalogue row claims any
		-- more (left by DROP EXTENSION) are replaced; anything else is kept
		IF left(coalesce(obj_description(to_regnamespace(quote_ident(sch)), 'pg_namespace'), ''), length(marker)) = marker
		   AND NOT EXISTS (SELECT 1 FROM bundlerec.models mm WHERE mm.results_schema = sch) THEN
			RAISE NOTICE 'replacing schema "%", the results of an earlier model "%" that no longer exists', sch, create_model.name;
			PERFORM bundlerec._drop_schema(sch);
		ELSE
			RAISE EXCEPTION 'schema "%" already exists', sch
				USING ERRCODE = 'duplicate_schema',
				      HINT = 'Each model keeps its results in a schema of its own; drop that schema or set options {"schema": "..."}.';
		END IF;
	END IF;
	EXECUTE format('CREATE SCHEMA %I', sch);
	EXECUTE format('COMMENT ON SCHEMA %I IS %L', sch,
	               marker || format('results computed from %s (bundlerec.refresh(%L) rebuilds them)',
	                                source, create_model.name));
	INSERT INTO bundlerec.models (name, source, basket, item, customer, ordered_at, quantity, price,
	                              category, item_name, options, results_schema, products, product_columns)
	VALUES (create_model.name, source, basket, item, customer, ordered_at, quantity, price,
	        category, item_name, opts, sch, m.products, m.product_columns)
	RETURNING * INTO m;
	RETURN m;
END
$body$;

COMMENT ON FUNCTION bundlerec.create_model(text, regclass, text, text, text, text, text, text, text, jsonb, text, regclass, jsonb) IS
	'registers a model over a table or view of order lines (checking its columns and options) and creates the schema of its results; bundlerec.refresh() fills it; item_name names a column of product names for explanations and results; products, a table or view of products with the columns product_columns maps, gives products without orders content neighbours and cold-start lists';

-- VOLATILE: drops the model's results, history and feedback.
CREATE FUNCTION bundlerec.drop_model(name text, if_exists boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	m bundlerec.models;
BEGIN
	SELECT * INTO m FROM bundlerec.models mm WHERE mm.name = drop_model.name FOR UPDATE;
	IF NOT FOUND THEN
		IF if_exists THEN
			RAISE NOTICE 'model "%" does not exist, skipping', drop_model.name;
			RETURN;
		END IF;
		RAISE EXCEPTION 'model "%" does not exist', drop_model.name
			USING ERRCODE = 'undefined_object',
			      HINT = 'SELECT name FROM bundlerec.models lists the models.';
	END IF;
	-- readers finish first; the ones that come later find no model.  All
	-- that DROP SCHEMA ... CASCADE will lock is taken first: the schema's
	-- views and tables, and views elsewhere built on them.
	PERFORM bundlerec._lock_results(m, ARRAY(
		WITH RECURSIVE dep(rel) AS (
			SELECT c.oid FROM pg_class c
			WHERE c.relnamespace = to_regnamespace(quote_ident(m.results_schema)) AND c.relkind IN ('r', 'v')
			UNION
			SELECT w.ev_class FROM dep
			JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = dep.rel
			                AND d.classid = 'pg_rewrite'::regclass
			JOIN pg_rewrite w ON w.oid = d.objid
			WHERE w.ev_class <> dep.rel)
		SELECT dep.rel::regclass FROM dep ORDER BY dep.rel));
	PERFORM bundlerec._drop_schema(m.results_schema);
	DELETE FROM bundlerec.models mm WHERE mm.name = m.name;
END
$body$;

COMMENT ON FUNCTION bundlerec.drop_model(text, boolean) IS
	'drops a model: its results schema, its catalogue row, its refresh history and its feedback';

-- Drops a schema and its tables without a NOTICE per table.
CREATE FUNCTION bundlerec._drop_schema(sch text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $body$
BEGIN
	IF to_regnamespace(quote_ident(sch)) IS NOT NULL THEN
		EXECUTE format('DROP SCHEMA %I CASCADE', sch);
	END IF;
END
$body$;

-- The model's catalogue row; raises when there is none.
CREATE FUNCTION bundlerec._model(name text)
RETURNS bundlerec.models
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	m bundlerec.models;
BEGIN
	SELECT * INTO m FROM bundlerec.models mm WHERE mm.name = _model.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', coalesce(_model.name, 'NULL')
			USING ERRCODE = 'undefined_object',
			      HINT = 'Create it with bundlerec.create_model(); SELECT name FROM bundlerec.models lists the models.';
	END IF;
	RETURN m;
END
$body$;

------------------------------------------------------------------------------
-- Feedback: impressions and conversions of served bundles
------------------------------------------------------------------------------

-- No SET clause: parsed under the caller's search_path, so even the
-- collation is qualified.
CREATE FUNCTION bundlerec.bundle_key(items text[])
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $body$
SELECT pg_catalog.array_agg(d.i ORDER BY d.i COLLATE pg_catalog."C")
FROM (SELECT DISTINCT u.i FROM pg_catalog.unnest(items) u(i) WHERE u.i IS NOT NULL) d
$body$;

COMMENT ON FUNCTION bundlerec.bundle_key(text[]) IS
	'a bundle''s items sorted and without duplicates: the key of bundlerec.feedback';

CREATE FUNCTION bundlerec.record_feedback(
	model text,
	items text[],
	impressions bigint DEFAULT 1,
	conversions bigint DEFAULT 0)
RETURNS bundlerec.feedback
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	m bundlerec.models := bundlerec._model(model);
	key text[];
	known bigint;
	cap bigint := (m.options ->> 'feedback_max_bundles')::bigint;
	f bundlerec.feedback;
	added boolean;
	n bigint;
BEGIN
	IF m.last_refresh IS NULL THEN
		RAISE EXCEPTION 'model "%" has not been refreshed yet', m.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Feedback is about bundles the model served; refresh it first.';
	END IF;
	IF items IS NULL THEN
		RAISE EXCEPTION 'items must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Pass the items of the served bundle, as returned by bundles_for_item() or bundles_for_customer().';
	END IF;
	PERFORM bundlerec.check_array(items, 'items');
	key := bundlerec.bundle_key(items);
	IF cardinality(key) IS NULL OR cardinality(key) > greatest((m.options ->> 'bundle_max_size')::int, 2) THEN
		RAISE EXCEPTION 'a bundle has 1 to % items, not %', greatest((m.options ->> 'bundle_max_size')::int, 2),
			coalesce(cardinality(key), 0)
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass the items of the served bundle, as returned by bundles_for_item() or bundles_for_customer().';
	END IF;
	EXECUTE format('SELECT count(*) FROM %I.items i WHERE i.item OPERATOR(pg_catalog.=) ANY ($1)', m.results_schema)
	INTO known USING key;
	IF known < cardinality(key) THEN
		RAISE EXCEPTION 'model "%" does not know % of the items %', m.name, cardinality(key) - known, key
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Feedback is recorded for bundles of the model''s own items.';
	END IF;
	IF impressions IS NULL OR conversions IS NULL OR impressions < 0 OR conversions < 0 THEN
		RAISE EXCEPTION 'impressions and conversions must be numbers >= 0'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Record a bundle shown with impressions => 1 and a bundle bought with conversions => 1.';
	END IF;
	INSERT INTO bundlerec.feedback AS fb (model, items, impressions, conversions)
	VALUES (m.name, key, record_feedback.impressions, record_feedback.conversions)
	ON CONFLICT ON CONSTRAINT feedback_pkey DO UPDATE
		SET impressions = fb.impressions + excluded.impressions,
		    conversions = fb.conversions + excluded.conversions,
		    updated_at = pg_catalog.now()
	RETURNING fb.*, fb.xmax = 0 INTO f.model, f.items, f.impressions, f.conversions, f.updated_at, added;
	-- a new bundle past the cap pushes out the ones shown least recently
	IF added THEN
		SELECT count(*) INTO n FROM bundlerec.feedback fb WHERE fb.model = m.name;
		IF n > cap THEN
			DELETE FROM bundlerec.feedback fb
			WHERE fb.model = m.name AND fb.items IN (
				SELECT o.items FROM bundlerec.feedback o WHERE o.model = m.name
				ORDER BY o.updated_at, o.items LIMIT n - cap);
		END IF;
	END IF;
	RETURN f;
EXCEPTION WHEN check_violation THEN
	RAISE EXCEPTION 'conversions would exceed impressions for this bundle'
		USING ERRCODE = 'check_violation',
		      HINT = 'Record the impression of a bundle before (or with) its conversion.';
END
$body$;

COMMENT ON FUNCTION bundlerec.record_feedback(text, text[], bigint, bigint) IS
	'adds impressions and conversions of a served bundle (items of the model, at most bundle_max_size) to bundlerec.feedback; past feedback_max_bundles bundles per model, the least recently updated are dropped';

-- VOLATILE: deletes feedback.
CREATE FUNCTION bundlerec.purge_feedback(model text, older_than interval)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	m bundlerec.models := bundlerec._model(model);
	n bigint;
BEGIN
	IF older_than IS NULL OR older_than < interval '0' THEN
		RAISE EXCEPTION 'older_than must be an interval >= 0, not %', coalesce(older_than::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'For example interval ''90 days'' keeps the feedback of the last 90 days.';
	END IF;
	DELETE FROM bundlerec.feedback fb
	WHERE fb.model = m.name AND fb.updated_at < pg_catalog.now() - older_than;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$body$;

COMMENT ON FUNCTION bundlerec.purge_feedback(text, interval) IS
	'deletes the model''s feedback on bundles not shown or bought for older_than; returns the rows deleted';
