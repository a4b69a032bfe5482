
------------------------------------------------------------------------------
-- Evaluation: train on the past, score the model on the orders after it
------------------------------------------------------------------------------

-- Complete-the-cart cases into _br_eval_carts and _br_eval_truth. Items
-- unknown to training are dropped from each test order first (the model can
-- only miss them); orders left with 2 or more items are cases, at most
-- max_cases of them, the first by md5 of the order; the hidden item is the
-- first of the order's known items by md5 of order/item. Returns the counts
-- of the protocol.
CREATE FUNCTION bundlerec._eval_carts(everything regclass, sch text, test_from timestamptz, max_cases bigint)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	p jsonb;
BEGIN
	CREATE TEMP TABLE _br_eval_orders (basket text, known text[], unknown bigint) ON COMMIT DROP;
	EXECUTE format($q$
		INSERT INTO _br_eval_orders
		SELECT l.basket, coalesce(array_agg(DISTINCT l.item) FILTER (WHERE i.item IS NOT NULL), '{}'),
		       count(DISTINCT l.item) FILTER (WHERE i.item IS NULL)
		FROM %1$s l LEFT JOIN %2$I.items i ON i.item = l.item
		WHERE l.ordered_at >= %3$L
		GROUP BY l.basket
		$q$, everything, sch, test_from);
	CREATE TEMP TABLE _br_eval_carts (case_id text, hidden text, cart text[], unknown bigint) ON COMMIT DROP;
	INSERT INTO _br_eval_carts
	SELECT o.basket, h.item, array_remove(o.known, h.item), o.unknown
	FROM (SELECT * FROM _br_eval_orders o WHERE cardinality(o.known) >= 2
	      ORDER BY md5(o.basket), o.basket LIMIT max_cases) o
	CROSS JOIN LATERAL (SELECT u.item FROM unnest(o.known) u(item)
	                    ORDER BY md5(o.basket || '/' || u.item), u.item LIMIT 1) h;
	INSERT INTO _br_eval_truth SELECT 'complete the cart', c.case_id, c.hidden FROM _br_eval_carts c;

	SELECT jsonb_build_object(
		'test_orders', count(*),
		'orders_with_2_known', count(*) FILTER (WHERE cardinality(o.known) >= 2),
		'skipped', count(*) FILTER (WHERE cardinality(o.known) < 2),
		'skipped_for_unknown', count(*) FILTER (WHERE cardinality(o.known) < 2 AND cardinality(o.known) + o.unknown >= 2),
		'cases', (SELECT count(*) FROM _br_eval_carts),
		'unknown_dropped', (SELECT coalesce(sum(c.unknown), 0) FROM _br_eval_carts c),
		'sample', count(*) FILTER (WHERE cardinality(o.known) >= 2) > max_cases,
		'max_cases', max_cases,
		'order', 'md5(order)',
		'hidden', 'first known item by md5(order || ''/'' || item)')
	INTO p FROM _br_eval_orders o;
	DROP TABLE _br_eval_orders;
	RETURN p;
END
$body$;

-- Next-period cases into _br_eval_truth: each customer of the training
-- period with the items they buy from test_from on that training knows;
-- a customer left with none is not a case. Returns the counts.
CREATE FUNCTION bundlerec._eval_next(everything regclass, sch text, test_from timestamptz)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	p jsonb;
BEGIN
	CREATE TEMP TABLE _br_eval_buys (customer text, item text, known boolean) ON COMMIT DROP;
	EXECUTE format($q$
		INSERT INTO _br_eval_buys
		SELECT DISTINCT l.customer, l.item, i.item IS NOT NULL
		FROM %1$s l JOIN %2$I.customers c ON c.customer = l.customer
		LEFT JOIN %2$I.items i ON i.item = l.item
		WHERE l.ordered_at >= %3$L
		$q$, everything, sch, test_from);
	INSERT INTO _br_eval_truth SELECT 'next period', b.customer, b.item FROM _br_eval_buys b WHERE b.known;
	SELECT jsonb_build_object(
		'customers', count(DISTINCT b.customer),
		'cases', count(DISTINCT b.customer) FILTER (WHERE b.known),
		'skipped', count(DISTINCT b.customer) - count(DISTINCT b.customer) FILTER (WHERE b.known),
		'unknown_dropped', count(*) FILTER (WHERE NOT b.known),
		'repeat', 'the customer''s training items by orders, back-filled by popularity to k')
	INTO p FROM _br_eval_buys b;
	DROP TABLE _br_eval_buys;
	RETURN p;
END
$body$;

-- The protocol of an evaluation in words: the lines evaluate prints.
CREATE FUNCTION bundlerec._eval_protocol_lines(model text, protocol jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT array_remove(ARRAY[
	format('bundlerec %s: complete the cart: %s cases (%s %s test orders with 2 or more items known to training; '
	       '%s with fewer skipped, %s of them for unknown items); %s unknown items dropped from the carts; '
	       'the hidden item is the first known one by md5 of order/item',
	       model, c ->> 'cases',
	       CASE WHEN (c ->> 'sample')::boolean THEN format('a sample: the first %s by md5 of the order, of the', c ->> 'max_cases')
	            ELSE 'all' END,
	       c ->> 'orders_with_2_known', c ->> 'skipped', c ->> 'skipped_for_unknown', c ->> 'unknown_dropped'),
	CASE WHEN n IS NOT NULL THEN
		format('bundlerec %s: next period: %s cases (training customers who buy known items later; '
		       '%s who buy only unknown ones skipped); %s unknown items dropped from the relevant sets; '
		       'the repeat baseline is back-filled by popularity to k',
		       model, n ->> 'cases', n ->> 'skipped', n ->> 'unknown_dropped') END], NULL)
FROM (SELECT protocol -> 'complete_the_cart' AS c, protocol -> 'next_period' AS n) p
$body$;

-- Each method's ranked lists for the cases into _br_eval_recs: the model
-- through the serving path, popularity, and repeat back-filled by popularity.
CREATE FUNCTION bundlerec._eval_lists(sch text, options jsonb, k integer, next_period boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	INSERT INTO _br_eval_recs
	SELECT 'complete the cart', 'model', c.case_id, r.rank, r.item
	FROM _br_eval_carts c
	CROSS JOIN LATERAL bundlerec._complete_cart(sch, options, c.cart, k, NULL) r;
	EXECUTE format($q$
		INSERT INTO _br_eval_recs
		SELECT 'complete the cart', 'popularity', c.case_id, p.rank, p.item
		FROM _br_eval_carts c
		CROSS JOIN LATERAL (
			SELECT i.item, row_number() OVER (ORDER BY i.popularity_rank)::integer AS rank
			FROM (SELECT * FROM %1$I.items i WHERE i.item <> ALL (c.cart)
			      ORDER BY i.popularity_rank LIMIT %2$s) i) p
		$q$, sch, k);
	IF NOT next_period THEN
		RETURN;
	END IF;
	EXECUTE format($q$
		CREATE TEMP TABLE _br_eval_customers ON COMMIT DROP AS
		SELECT t.case_id, coalesce(
		         (SELECT (array_agg(ci.item ORDER BY ci.orders DESC, ci.last_ordered DESC NULLS LAST, ci.item COLLATE "C"))[1:%2$s]
		          FROM %1$I.customer_items ci WHERE ci.customer = t.case_id), '{}') AS own
		FROM (SELECT DISTINCT t.case_id FROM _br_eval_truth t WHERE t.task = 'next period') t
		$q$, sch, k);
	EXECUTE format($q$
		INSERT INTO _br_eval_recs
		SELECT 'next period', 'model', r.customer, r.rank, r.item
		FROM %1$I.recommendations r JOIN _br_eval_customers c ON c.case_id = r.customer
		WHERE r.rank <= %2$s
		$q$, sch, k);
	EXECUTE format($q$
		INSERT INTO _br_eval_recs
		SELECT 'next period', 'popularity', c.case_id, i.popularity_rank, i.item
		FROM _br_eval_customers c CROSS JOIN %1$I.items i
		WHERE i.popularity_rank <= %2$s
		$q$, sch, k);
	-- back-filled so that a customer with few past items still gets k
	EXECUTE format($q$
		INSERT INTO _br_eval_recs
		SELECT 'next period', 'repeat', c.case_id, x.rank, x.item
		FROM _br_eval_customers c
		CROSS JOIN LATERAL (
			SELECT u.item, u.rank::integer FROM unnest(c.own) WITH ORDINALITY u(item, rank)
			UNION ALL
			SELECT f.item, (cardinality(c.own) + row_number() OVER (ORDER BY f.popularity_rank))::integer
			FROM (SELECT i.item, i.popularity_rank FROM %1$I.items i WHERE i.item <> ALL (c.own)
			      ORDER BY i.popularity_rank LIMIT %2$s - cardinality(c.own)) f) x
		$q$, sch, k);
	DROP TABLE _br_eval_customers;
END
$body$;

-- The metrics of every (task, method) into _br_eval_rows, every case counted
-- (a method without a list for a case scores 0 on it).
CREATE FUNCTION bundlerec._eval_metrics(sch text, k integer, n_baskets bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	n_items bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM %I.items', sch) INTO n_items;
	EXECUTE format($q$
		CREATE TEMP TABLE _br_eval_rows ON COMMIT DROP AS
		WITH methods AS (
			SELECT DISTINCT r.task, r.method FROM _br_eval_recs r
			UNION SELECT 'complete the cart', 'model' UNION SELECT 'complete the cart', 'popularity'),
		cases AS (
			SELECT DISTINCT t.task, t.case_id, count(*) OVER (PARTITION BY t.task, t.case_id) AS n_rel
			FROM _br_eval_truth t),
		per_case AS (
			SELECT mt.task, mt.method, c.case_id, c.n_rel,
			       count(h.rank) AS hits,
			       coalesce(sum(1 / log(2, h.rank + 1)), 0) AS dcg,
			       (SELECT sum(1 / log(2, g + 1)) FROM generate_series(1, least(%2$s, c.n_rel)) g) AS idcg
			FROM methods mt
			JOIN cases c ON c.task = mt.task
			LEFT JOIN (SELECT r.task, r.method, r.case_id, r.rank FROM _br_eval_recs r
			           JOIN _br_eval_truth t ON t.task = r.task AND t.case_id = r.case_id AND t.item = r.item
			           WHERE r.rank <= %2$s) h
			       ON h.task = mt.task AND h.method = mt.method AND h.case_id = c.case_id
			GROUP BY mt.task, mt.method, c.case_id, c.n_rel),
		quality AS (
			SELECT p.task, p.method, count(*) AS cases,
			       avg((p.hits > 0)::int::float8) AS hit_rate,
			       avg(p.hits::float8 / %2$s) AS precision,
			       avg(p.hits::float8 / p.n_rel) AS recall,
			       avg((p.dcg / p.idcg)::float8) AS ndcg
			FROM per_case p GROUP BY p.task, p.method),
		lists AS (
			SELECT r.task, r.method,
			       count(DISTINCT r.item)::float8 / %3$s AS coverage,
			       avg(-log(2, coalesce(i.support, 1.0 / %4$s)::numeric))::float8 AS novelty
			FROM _br_eval_recs r LEFT JOIN %1$I.items i ON i.item = r.item
			WHERE r.rank <= %2$s
			GROUP BY r.task, r.method)
		SELECT q.task, q.method, q.cases, q.hit_rate, q.precision, q.recall, q.ndcg,
		       coalesce(l.coverage, 0) AS coverage, l.novelty
		FROM quality q LEFT JOIN lists l ON l.task = q.task AND l.method = q.method
		$q$, sch, k, greatest(n_items, 1), n_baskets);
END
$body$;

-- A scratch build of model m (options as given) from the lines of view
-- train into schema sch, made anew; returns _build's summary.
CREATE FUNCTION bundlerec._scratch_build(m bundlerec.models, train regclass, sch text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	res jsonb;
BEGIN
	PERFORM bundlerec._drop_schema(sch);
	EXECUTE format('CREATE SCHEMA %I', sch);
	res := bundlerec._build(m, train, sch, '', false, NULL);
	PERFORM bundlerec._prepare(m, sch, '', ARRAY(SELECT jsonb_array_elements_text(res -> 'built')));
	RETURN res;
END
$body$;

-- VOLATILE: builds a scratch copy of the model and appends to the history.
-- citus.enable_ddl_propagation off, as for refresh: the scratch schema and
-- temporary views are this node's own.
CREATE FUNCTION bundlerec.evaluate(
	model text,
	test_from timestamptz,
	k integer DEFAULT 10)
RETURNS TABLE (
	task text,
	method text,
	cases bigint,
	hit_rate double precision,
	"precision" double precision,
	recall double precision,
	ndcg double precision,
	coverage double precision,
	novelty double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET citus.enable_ddl_propagation = off
AS $body$
DECLARE
	m bundlerec.models := bundlerec._model(model);
	started timestamptz := clock_timestamp();
	sch text := format('bundlerec_eval_%s', pg_backend_pid());
	train regclass;
	everything regclass;
	res jsonb;
	n_train bigint;
	n_test bigint;
	protocol jsonb;
	line text;
	metrics jsonb;
BEGIN
	PERFORM bundlerec._check_k(k);
	IF test_from IS NULL THEN
		RAISE EXCEPTION 'test_from must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Orders before test_from train the model; the orders from it on test it.';
	END IF;
	IF m.ordered_at IS NULL THEN
		RAISE EXCEPTION 'model "%" has no ordered_at column', m.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Evaluation splits the orders by time; create the model with ordered_at.';
	END IF;
	-- enough recommendations per customer for k
	m.options := m.options || jsonb_build_object('recommendations_per_customer',
		greatest((m.options ->> 'recommendations_per_customer')::int, k));

	everything := bundlerec._lines_view(m, '_br_eval_all');
	train := bundlerec._lines_view(m, '_br_eval_train', test_from);
	EXECUTE format('SELECT count(*) FROM %s', train) INTO n_train;
	EXECUTE format('SELECT count(*) FROM %s WHERE ordered_at >= %L', everything, test_from) INTO n_test;
	IF n_train = 0 OR n_test = 0 THEN
		RAISE EXCEPTION 'model "%": % order lines before % and % from it', m.name, n_train, test_from, n_test
			USING ERRCODE = 'no_data_found',
			      HINT = 'Choose test_from so that both periods hold orders.';
	END IF;

	RAISE NOTICE 'bundlerec %: evaluation, training on the % order lines before %', m.name, n_train, test_from;
	res := bundlerec._scratch_build(m, train, sch);

	CREATE TEMP TABLE _br_eval_truth (task text, case_id text, item text) ON COMMIT DROP;
	CREATE TEMP TABLE _br_eval_recs (task text, method text, case_id text, rank integer, item text) ON COMMIT DROP;
	protocol := jsonb_build_object('complete_the_cart',
		bundlerec._eval_carts(everything, sch, test_from, (m.options ->> 'eval_max_baskets')::bigint));
	IF m.customer IS NOT NULL THEN
		protocol := protocol || jsonb_build_object('next_period', bundlerec._eval_next(everything, sch, test_from));
	END IF;
	FOREACH line IN ARRAY bundlerec._eval_protocol_lines(m.name, protocol) LOOP
		RAISE NOTICE '%', line;
	END LOOP;
	PERFORM bundlerec._eval_lists(sch, m.options, k, m.customer IS NOT NULL);
	PERFORM bundlerec._eval_metrics(sch, k, (res ->> 'n_baskets')::bigint);

	SELECT jsonb_build_object('test_from', test_from, 'k', k, 'train_lines', n_train, 'test_lines', n_test,
	                          'protocol', protocol, 'rows', jsonb_agg(to_jsonb(e) ORDER BY e.task, e.method))
	INTO metrics FROM _br_eval_rows e;
	INSERT INTO bundlerec.refresh_history (model, kind, started_at, finished_at, seconds, rows_read,
	                                       rows_written, watermark, stages, metrics)
	VALUES (m.name, 'evaluate', started, clock_timestamp(), extract(epoch FROM clock_timestamp() - started),
	        n_train + n_test, NULL, test_from, res -> 'stages', metrics);

	PERFORM bundlerec._drop_schema(sch);
	EXECUTE format('DROP VIEW %s, %s', train, everything);
	RETURN QUERY
		SELECT e.task, e.method, e.cases, e.hit_rate, e.precision, e.recall, e.ndcg, e.coverage, e.novelty
		FROM _br_eval_rows e
		ORDER BY e.task, CASE e.method WHEN 'model' THEN 0 WHEN 'repeat' THEN 1 ELSE 2 END;
	DROP TABLE _br_eval_recs, _br_eval_truth, _br_eval_carts, _br_eval_rows;
END
$body$;

COMMENT ON FUNCTION bundlerec.evaluate(text, timestamptz, integer) IS
	'trains a scratch copy of the model on the orders before test_from (the live results are untouched) and scores it on the later orders, items unknown to training dropped first: complete the cart (each test order with 2 or more known items, at most eval_max_baskets of them by md5 of the order; one item hidden) and next-period items per customer of the training period (customers left with no known item skipped), with hit rate, precision, recall, NDCG, coverage and novelty at k, beside popularity and repeat-purchase (back-filled by popularity) baselines; prints the protocol and appends it with the rows to bundlerec.refresh_history';
