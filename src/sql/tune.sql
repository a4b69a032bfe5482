
------------------------------------------------------------------------------
-- Tuning: choose options on a validation slice carved from the end of the
-- orders the model is trained on
------------------------------------------------------------------------------

-- The options tune tries when given no grid, with the task and metric each
-- is judged by; rebuild: the option changes what a refresh computes (a
-- scratch build per value), else only what serving does with it.
CREATE FUNCTION bundlerec.tune_defaults()
RETURNS TABLE (option text, "values" jsonb, rebuild boolean, task text, metric text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $body$
VALUES
	('factors', '[16, 32, 64]'::jsonb, true, 'next period', 'ndcg'),
	('regularization', '[0.01, 0.1, 1]', true, 'next period', 'ndcg'),
	('alpha', '[1, 10, 40]', true, 'next period', 'ndcg'),
	('repeat_weight', '[0.5, 1, 2, 4]', true, 'next period', 'ndcg'),
	('ease_regularization', '[25, 50, 100, 200]', true, 'complete the cart', 'hit_rate'),
	('cart_ease_weight', '[0, 1, 2, 4, 8]', false, 'complete the cart', 'hit_rate'),
	('cart_pairs_weight', '[0.5, 1, 2]', false, 'complete the cart', 'hit_rate'),
	('cart_rules_weight', '[0, 0.5, 1, 2]', false, 'complete the cart', 'hit_rate'),
	('cart_embedding_weight', '[0, 0.25, 0.5, 1]', false, 'complete the cart', 'hit_rate')
$body$;

COMMENT ON FUNCTION bundlerec.tune_defaults() IS
	'the options bundlerec.tune tries when given no grid: their values, whether each needs a rebuild of the scratch model, and the task and metric that judge it';

-- The grid to search, in search order (options that need a rebuild first):
-- the defaults' rows for the options named, with the values given. A
-- model without customers has no next-period task: its options that only
-- that task judges are left out.
CREATE FUNCTION bundlerec._tune_grid(m bundlerec.models, grid jsonb)
RETURNS TABLE (option text, "values" jsonb, rebuild boolean, task text, metric text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	o text;
	v jsonb;
BEGIN
	IF grid IS NOT NULL AND jsonb_typeof(grid) <> 'object' THEN
		RAISE EXCEPTION 'grid must be a JSON object of option => array of values'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'For example ''{"factors": [16, 64], "cart_rules_weight": [0, 1]}''; bundlerec.tune_defaults() lists the options tune can try.';
	END IF;
	FOR o, v IN SELECT g.key, g.value FROM jsonb_each(coalesce(grid, '{}')) g LOOP
		IF NOT EXISTS (SELECT 1 FROM bundlerec.tune_defaults() d WHERE d.option = o) THEN
			RAISE EXCEPTION 'tune cannot try option "%"', o
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'bundlerec.tune_defaults() lists the options tune can try.';
		END IF;
		IF jsonb_typeof(v) <> 'array' OR jsonb_array_length(v) = 0 THEN
			RAISE EXCEPTION 'the values of option "%" must be a non-empty JSON array, not %', o, v
				USING ERRCODE = 'invalid_parameter_value',
				      HINT = 'For example ''{"factors": [16, 64]}''.';
		END IF;
		-- each value must be a valid setting of the option
		PERFORM bundlerec._check_options(m.options || jsonb_build_object(o, x.value))
		FROM jsonb_array_elements(v) x;
	END LOOP;
	RETURN QUERY
		SELECT d.option, coalesce(grid -> d.option, d."values"), d.rebuild, d.task, d.metric
		FROM bundlerec.tune_defaults() d
		WHERE (grid IS NULL OR grid ? d.option)
		  AND (m.customer IS NOT NULL OR d.task <> 'next period')
		  AND (m.customer IS NOT NULL AND (m.options ->> 'embeddings')::boolean
		       OR d.option NOT IN ('factors', 'regularization', 'alpha', 'cart_embedding_weight'))
		  AND ((m.options ->> 'ease')::boolean OR d.option NOT IN ('ease_regularization', 'cart_ease_weight'))
		ORDER BY NOT d.rebuild, d.option;
END
$body$;

-- The score of the scratch model in sch with options on the validation
-- cases (_br_eval_truth, _br_eval_carts): metric of the model on task.
CREATE FUNCTION bundlerec._tune_score(sch text, options jsonb, k integer, next_period boolean,
                                      n_baskets bigint, task text, metric text)
RETURNS double precision
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	s double precision;
BEGIN
	TRUNCATE _br_eval_recs;
	PERFORM bundlerec._eval_lists(sch, options, k, next_period);
	PERFORM bundlerec._eval_metrics(sch, k, n_baskets);
	SELECT (to_jsonb(e) ->> metric)::float8 INTO s FROM _br_eval_rows e
	WHERE e.task = _tune_score.task AND e.method = 'model';
	DROP TABLE _br_eval_rows;
	RETURN coalesce(s, 0);
END
$body$;

-- VOLATILE: builds scratch copies of the model and appends to the history.
CREATE FUNCTION bundlerec.tune(
	model text,
	validation_share double precision DEFAULT 0.1,
	grid jsonb DEFAULT NULL,
	apply boolean DEFAULT false,
	k integer DEFAULT 10)
RETURNS TABLE (option text, value jsonb, task text, metric text, score double precision, chosen boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET citus.enable_ddl_propagation = off
AS $body$
DECLARE
	m bundlerec.models := bundlerec._model(model);
	started timestamptz := clock_timestamp();
	sch text := format('bundlerec_tune_%s', pg_backend_pid());
	lines regclass;
	train regclass;
	valid_from timestamptz;
	valid_to timestamptz;
	best jsonb;
	res jsonb;
	g record;
	v jsonb;
	s double precision;
	best_s double precision;
	best_v jsonb;
	tried jsonb := '[]';
	steps jsonb;
	protocol jsonb;
	cust boolean := m.customer IS NOT NULL;
BEGIN
	PERFORM bundlerec._check_k(k);
	IF m.ordered_at IS NULL THEN
		RAISE EXCEPTION 'model "%" has no ordered_at column', m.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Tuning holds out the latest orders; create the model with ordered_at.';
	END IF;
	IF validation_share IS NULL OR NOT (validation_share > 0 AND validation_share < 1) THEN
		RAISE EXCEPTION 'validation_share must be between 0 and 1 (exclusive), not %', validation_share
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'It is the share of the latest orders held out to judge the options, for example 0.1.';
	END IF;
	m.options := bundlerec._check_options(m.options);
	steps := (SELECT jsonb_agg(to_jsonb(r)) FROM bundlerec._tune_grid(m, grid) r);
	IF steps IS NULL THEN
		RAISE EXCEPTION 'model "%" has none of the options of grid', m.name
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'The next-period options need a customer column, the ALS ones embeddings, the EASE ones the option ease.';
	END IF;

	-- the orders the model is trained on (up to its watermark once refreshed)
	lines := bundlerec._lines_view(m, '_br_tune_lines');
	valid_to := m.watermark;
	EXECUTE format($q$
		SELECT percentile_disc(1 - %2$s) WITHIN GROUP (ORDER BY b.at)
		FROM (SELECT min(l.ordered_at) AS at FROM %1$s l
		      WHERE l.ordered_at IS NOT NULL AND (%3$L::timestamptz IS NULL OR l.ordered_at <= %3$L)
		      GROUP BY l.basket) b
		$q$, lines, validation_share, valid_to) INTO valid_from;
	EXECUTE format('CREATE TEMP VIEW _br_tune_all AS SELECT * FROM %s l WHERE l.ordered_at IS NOT NULL%s',
	               lines, CASE WHEN valid_to IS NULL THEN '' ELSE format(' AND l.ordered_at <= %L', valid_to) END);
	EXECUTE format('CREATE TEMP VIEW _br_tune_train AS SELECT * FROM %s l WHERE l.ordered_at < %L', lines, valid_from);
	train := 'pg_temp._br_tune_train'::regclass;
	IF valid_from IS NULL OR NOT EXISTS (SELECT 1 FROM pg_temp._br_tune_train) THEN
		RAISE EXCEPTION 'model "%": too few dated orders to hold out the latest % of them', m.name, validation_share
			USING ERRCODE = 'no_data_found',
			      HINT = 'Tune once the model has orders on more than one day.';
	END IF;

	-- scratch builds: recommendations deep enough for k, no bundles (no task judges them)
	m.options := m.options || jsonb_build_object('bundles', false, 'recommendations_per_customer',
		greatest((m.options ->> 'recommendations_per_customer')::int, k));
	best := m.options;
	RAISE NOTICE 'bundlerec %: tuning, training on the orders before %, validating on those from % to %',
		m.name, valid_from, valid_from, coalesce(valid_to::text, 'the latest');
	res := bundlerec._scratch_build(m, train, sch);
	CREATE TEMP TABLE _br_eval_truth (task text, case_id text, item text) ON COMMIT DROP;
	CREATE TEMP TABLE _br_eval_recs (task text, method text, case_id text, rank integer, item text) ON COMMIT DROP;
	protocol := jsonb_build_object('complete_the_cart',
		bundlerec._eval_carts('pg_temp._br_tune_all'::regclass, sch, valid_from, (m.options ->> 'eval_max_baskets')::bigint));
	IF cust THEN
		protocol := protocol || jsonb_build_object('next_period',
			bundlerec._eval_next('pg_temp._br_tune_all'::regclass, sch, valid_from));
	END IF;

	-- one option at a time, the others at their best so far
	FOR g IN SELECT * FROM jsonb_to_recordset(steps)
	         AS x(option text, "values" jsonb, rebuild boolean, task text, metric text) LOOP
		best_s := NULL;
		FOR v IN SELECT x.value FROM jsonb_array_elements(g."values") x LOOP
			m.options := best || jsonb_build_object(g.option, v);
			IF g.rebuild THEN
				res := bundlerec._scratch_build(m, train, sch);
			END IF;
			s := bundlerec._tune_score(sch, m.options, k, cust, (res ->> 'n_baskets')::bigint, g.task, g.metric);
			tried := tried || jsonb_build_object('option', g.option, 'value', v, 'task', g.task,
			                                     'metric', g.metric, 'score', s);
			-- a tie keeps the value tried first
			IF best_s IS NULL OR s > best_s THEN
				best_s := s;
				best_v := v;
			END IF;
		END LOOP;
		best := best || jsonb_build_object(g.option, best_v);
		RAISE NOTICE 'bundlerec %: % = % (% % %)', m.name, g.option, best_v, g.task, g.metric, round(best_s::numeric, 4);
		IF g.rebuild AND best_v IS DISTINCT FROM (m.options -> g.option) THEN
			m.options := best;
			res := bundlerec._scratch_build(m, train, sch);
		END IF;
	END LOOP;

	best := (SELECT jsonb_object_agg(d ->> 'option', best -> (d ->> 'option')) FROM jsonb_array_elements(steps) d);
	INSERT INTO bundlerec.refresh_history (model, kind, started_at, finished_at, seconds, rows_read,
	                                       rows_written, watermark, stages, metrics)
	VALUES (m.name, 'tune', started, clock_timestamp(), extract(epoch FROM clock_timestamp() - started),
	        NULL, NULL, valid_from, NULL,
	        jsonb_build_object('validation_from', valid_from, 'validation_to', valid_to,
	                           'validation_share', validation_share, 'k', k, 'protocol', protocol,
	                           'grid', tried, 'chosen', best, 'applied', coalesce(apply, false)));
	IF apply THEN
		UPDATE bundlerec.models mm SET options = mm.options || best WHERE mm.name = m.name;
		RAISE NOTICE 'bundlerec %: options set to %; the next refresh publishes results built with them', m.name, best;
	END IF;

	PERFORM bundlerec._drop_schema(sch);
	DROP VIEW _br_tune_train, _br_tune_all;
	EXECUTE format('DROP VIEW %s', lines);
	DROP TABLE _br_eval_recs, _br_eval_truth, _br_eval_carts;
	RETURN QUERY
		SELECT t ->> 'option', t -> 'value', t ->> 'task', t ->> 'metric', (t ->> 'score')::float8,
		       (best -> (t ->> 'option')) = (t -> 'value')
		FROM jsonb_array_elements(tried) t;
END
$body$;

COMMENT ON FUNCTION bundlerec.tune(text, double precision, jsonb, boolean, integer) IS
	'chooses options on a validation slice: the latest validation_share of the orders the model is trained on (up to its watermark; never later orders) are held out, scratch copies are built from the earlier ones and judged on them as evaluate does (complete the cart hit rate, next-period NDCG at k), one option at a time over grid (default bundlerec.tune_defaults()); records every value tried and the choice in bundlerec.refresh_history (kind tune); apply => true sets the chosen options, which the next refresh publishes (the live results are untouched)';
