-- quality_bench: result tables, the hyper-parameter grid, the model runners
-- and the metrics, in schema quality_bench.  Run once per benchmark run,
-- before the data sets are loaded (test/bench/quality_load.sql).
--
-- Every data set is loaded as two phases, each three tables:
--   <ds>_<phase>_train (customer text, item text, w float8)   one row per pair
--   <ds>_<phase>_users (customer text PRIMARY KEY, history text[])
--        the customers evaluated and their training items (always excluded)
--   <ds>_<phase>_rel   (customer text, item text)   relevant held-out items
-- phase 'val' = the validation slice carved from the end of the training
-- period (the grid runs there), phase 'test' = the full training period and
-- the test period (only the chosen configuration of each model runs there).
--
-- Metrics, for customer u with relevant set R (|R| >= 1, never a training
-- item) and the model's list L of at most 10 items (training items excluded):
--   hits         = |L n R|
--   recall@10    = hits / min(10, |R|)
--   precision@10 = hits / 10
--   hit rate@10  = 1 if hits > 0 else 0
--   NDCG@10      = DCG / IDCG, DCG = sum over ranks r <= 10 holding an item of R
--                  of 1 / log2(r + 1) (binary gains), IDCG = sum_{r=1}^{min(10,|R|)} 1 / log2(r + 1)
-- each averaged over all evaluated customers (a customer with an empty or
-- short list counts with what it got);
--   coverage     = distinct items recommended to anyone / distinct items in
--                  the phase's training data.
-- Computed here in plain SQL from the recommendation lists, independently
-- of bundlerec.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS quality_bench CASCADE;
CREATE SCHEMA quality_bench;
SET search_path = quality_bench, public;

-- One row per (data set, phase, model, configuration) evaluated.
CREATE TABLE results (
	seq        serial PRIMARY KEY,
	ds         text NOT NULL,
	phase      text NOT NULL,
	model      text NOT NULL,
	params     jsonb NOT NULL,
	customers  bigint,
	recall     float8,
	ndcg       float8,
	precision  float8,
	hit_rate   float8,
	coverage   float8,
	mean_len   float8,		-- mean list length (10 unless a model runs short)
	leaked     bigint,		-- recommended training items (must be 0)
	dup_or_long bigint,		-- customers with a repeated item or more than 10 items (must be 0)
	train_s    float8,
	score_s    float8,
	loss_first float8,		-- ALS: first and last loss, the largest relative rise
	loss_last  float8,		-- from one iteration to the next (NULL: never rose),
	loss_max_rise float8,	-- and whether it rose by more than 1e-9 of the loss
	loss_rose  boolean,		-- (float rounding once converged stays below that)
	check_note text			-- test runs: the model's output checked against plain SQL
);

-- Recommendation lists of the run being evaluated (emptied by each run).
CREATE TABLE recs (customer text, rank int, item text, score float8);

-- The hyper-parameter grid, the same for every data set (ord: grid order;
-- the first of equal validation NDCG@10 wins).
CREATE TABLE grid (model text, ord int, params jsonb);
INSERT INTO grid
SELECT 'als', row_number() OVER (), jsonb_build_object('factors', f, 'regularization', r, 'alpha', a)
FROM unnest(ARRAY[32, 64, 128]) f, unnest(ARRAY[0.1, 1, 10, 100]) r, unnest(ARRAY[1, 5, 20]) a;
INSERT INTO grid
SELECT 'ease', row_number() OVER (), jsonb_build_object('regularization', r)
FROM unnest(ARRAY[10, 50, 100, 250, 500, 1000, 2000]) r;
INSERT INTO grid
SELECT 'item_knn', row_number() OVER (), jsonb_build_object('top_k', k, 'shrinkage', s)
FROM unnest(ARRAY[10, 20, 50, 100]) k, unnest(ARRAY[0, 10, 50]) s;
INSERT INTO grid VALUES ('popularity', 1, '{}');

-- Fixed settings (not tuned): ALS iterations and seed, EASE's top_k
-- (weights kept per item; bundlerec.ease keeps positive weights only).
CREATE TABLE fixed (name text PRIMARY KEY, value text);
INSERT INTO fixed VALUES ('als_iterations', '15'), ('als_seed', '42'), ('ease_top_k', '200');

-- Metrics of the lists now in recs, against <ds>_<phase>_rel; one results row.
CREATE FUNCTION evaluate(p_ds text, p_phase text, p_model text, p_params jsonb,
                         p_train_s float8, p_score_s float8) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE
	users text := format('quality_bench.%I', p_ds || '_' || p_phase || '_users');
	rel   text := format('quality_bench.%I', p_ds || '_' || p_phase || '_rel');
	train text := format('quality_bench.%I', p_ds || '_' || p_phase || '_train');
	id bigint;
BEGIN
	EXECUTE format($q$
		WITH r AS (SELECT customer, count(*) AS n_rel FROM %2$s GROUP BY customer),
		l AS (
			SELECT c.customer, r.n_rel,
			       count(x.item) AS len,
			       count(x.item) FILTER (WHERE rel.item IS NOT NULL) AS hits,
			       coalesce(sum(1 / log(2, x.rank + 1)) FILTER (WHERE rel.item IS NOT NULL), 0) AS dcg,
			       count(x.item) FILTER (WHERE x.item = ANY (c.history)) AS leaked,
			       count(x.item) > 10 OR count(x.item) <> count(DISTINCT x.item)
			           OR bool_or(x.rank NOT BETWEEN 1 AND 10) AS bad
			FROM %1$s c
			JOIN r USING (customer)
			LEFT JOIN quality_bench.recs x USING (customer)
			LEFT JOIN %2$s rel ON rel.customer = x.customer AND rel.item = x.item
			GROUP BY c.customer, r.n_rel
		),
		m AS (
			SELECT l.*, (SELECT sum(1 / log(2, k + 1)) FROM generate_series(1, least(10, l.n_rel)) k) AS idcg
			FROM l
		)
		INSERT INTO quality_bench.results (ds, phase, model, params, customers, recall, ndcg, precision,
		                                   hit_rate, coverage, mean_len, leaked, dup_or_long, train_s, score_s)
		SELECT %4$L, %5$L, %6$L, %7$L, count(*),
		       avg(hits::float8 / least(10, n_rel)),
		       avg(dcg / idcg),
		       avg(hits / 10.0),
		       avg((hits > 0)::int),
		       (SELECT count(DISTINCT item) FROM quality_bench.recs)::float8
		           / (SELECT count(DISTINCT item) FROM %3$s),
		       avg(len), sum(leaked), count(*) FILTER (WHERE bad),
		       %8$s, %9$s
		FROM m
		RETURNING seq$q$,
		users, rel, train, p_ds, p_phase, p_model, p_params,
		coalesce(p_train_s::text, 'NULL'), coalesce(p_score_s::text, 'NULL'))
	INTO id;
	RETURN id;
END
$f$;

-- Train one model configuration on <ds>_<phase>_train, recommend 10 items to
-- every customer of <ds>_<phase>_users (training items excluded), evaluate.
CREATE FUNCTION run(p_ds text, p_phase text, p_model text, p_params jsonb) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE
	train text := format('quality_bench.%I', p_ds || '_' || p_phase || '_train');
	users text := format('quality_bench.%I', p_ds || '_' || p_phase || '_users');
	t0 timestamptz;
	t1 timestamptz;
	t2 timestamptz;
	train_s float8;
	id bigint;
	lf float8;
	ll float8;
	rise float8;
	rose boolean;
	note text;
	note2 text;
BEGIN
	DROP TABLE IF EXISTS quality_bench.m_cust, quality_bench.m_item, quality_bench.m_nb, quality_bench.m_pop;
	TRUNCATE quality_bench.recs;
	t0 := clock_timestamp();
	IF p_model = 'popularity' THEN
		-- items by the number of distinct training customers, ties by item
		EXECUTE format('CREATE TABLE quality_bench.m_pop AS
			SELECT item, count(*) AS n, row_number() OVER (ORDER BY count(*) DESC, item) AS pos
			FROM %s GROUP BY item', train);
		CREATE INDEX ON quality_bench.m_pop (pos);
		t1 := clock_timestamp();
		EXECUTE format('INSERT INTO quality_bench.recs
			SELECT c.customer, row_number() OVER (PARTITION BY c.customer ORDER BY p.pos), p.item, p.n
			FROM %s c CROSS JOIN LATERAL (
				SELECT item, n, pos FROM quality_bench.m_pop
				WHERE NOT (item = ANY (c.history)) ORDER BY pos LIMIT 10) p', users);
		t2 := clock_timestamp();
	ELSIF p_model = 'als' THEN
		CREATE TEMP TABLE IF NOT EXISTS als_loss (iteration int, loss float8, seconds float8, gflop float8);
		TRUNCATE als_loss;
		EXECUTE format('INSERT INTO als_loss SELECT * FROM bundlerec.als_train(%L, ''customer'', ''item'',
			''quality_bench.m_cust'', ''quality_bench.m_item'', weight => ''w'',
			factors => %s, regularization => %s, alpha => %s, iterations => %s, seed => %s)',
			train, p_params->>'factors', p_params->>'regularization', p_params->>'alpha',
			(SELECT value FROM quality_bench.fixed WHERE name = 'als_iterations'),
			(SELECT value FROM quality_bench.fixed WHERE name = 'als_seed'));
		SELECT (SELECT loss FROM als_loss ORDER BY iteration LIMIT 1),
		       (SELECT loss FROM als_loss ORDER BY iteration DESC LIMIT 1),
		       max((a.loss - b.loss) / b.loss) FILTER (WHERE a.loss > b.loss),
		       coalesce(bool_or(a.loss > b.loss * (1 + 1e-9) OR a.loss IS NULL OR NOT a.loss < 'Infinity'), false)
		INTO lf, ll, rise, rose
		FROM als_loss a JOIN als_loss b ON b.iteration = a.iteration - 1;
		t1 := clock_timestamp();
		-- the customer's trained vector; ranks by score, ties by item (as documented)
		EXECUTE format('INSERT INTO quality_bench.recs
			SELECT c.customer, row_number() OVER (PARTITION BY c.customer ORDER BY r.score DESC, r.item),
			       r.item, r.score
			FROM %s c JOIN quality_bench.m_cust f ON f.customer = c.customer
			CROSS JOIN LATERAL bundlerec.als_recommend(f.factors, ''quality_bench.m_item'', 10, c.history) r',
			users);
		t2 := clock_timestamp();
		-- On the test phase, check als_recommend against plain SQL: every
		-- returned score is the dot product of the two vectors, and for the
		-- first 20 customers the list is the SQL top 10 by dot product among
		-- items not in the history (compared as sets of items).
		IF p_phase = 'test' THEN
			EXECUTE format($q$
				WITH dot AS (
					SELECT c.customer, i.item, sum(x.a::float8 * x.b::float8) AS d
					FROM (SELECT customer, history FROM %1$s ORDER BY customer LIMIT 20) c
					JOIN quality_bench.m_cust f ON f.customer = c.customer
					CROSS JOIN quality_bench.m_item i
					CROSS JOIN LATERAL unnest(f.factors, i.factors) AS x(a, b)
					WHERE NOT (i.item = ANY (c.history))
					GROUP BY c.customer, i.item
				),
				sqltop AS (
					SELECT customer, item FROM (
						SELECT customer, item, row_number() OVER (PARTITION BY customer ORDER BY d DESC, item) AS r
						FROM dot) s WHERE r <= 10
				),
				scores AS (
					SELECT count(*) FILTER (WHERE abs(r.score - s.d) > 1e-4 * (1 + abs(s.d))) AS bad, count(*) AS n
					FROM quality_bench.recs r
					JOIN quality_bench.m_cust f ON f.customer = r.customer
					JOIN quality_bench.m_item i ON i.item = r.item
					CROSS JOIN LATERAL (SELECT sum(a::float8 * b::float8) AS d FROM unnest(f.factors, i.factors) u(a, b)) s
				)
				SELECT format('score <> SQL dot product: %%s of %%s; top-10 differs from SQL for %%s of %%s customers',
				              (SELECT bad FROM scores), (SELECT n FROM scores),
				              (SELECT count(DISTINCT customer) FROM (
				                   (SELECT customer, item FROM sqltop
				                    EXCEPT SELECT customer, item FROM quality_bench.recs)
				                   UNION ALL
				                   (SELECT customer, item FROM quality_bench.recs WHERE customer IN (SELECT customer FROM dot)
				                    EXCEPT SELECT customer, item FROM sqltop)) d),
				              (SELECT count(DISTINCT customer) FROM dot))$q$, users)
			INTO note;
		END IF;
	ELSIF p_model IN ('ease', 'item_knn') THEN
		IF p_model = 'ease' THEN
			EXECUTE format('CREATE TABLE quality_bench.m_nb AS SELECT * FROM bundlerec.ease(%L, ''customer'', ''item'',
				regularization => %s, top_k => %s)',
				train, p_params->>'regularization',
				(SELECT value FROM quality_bench.fixed WHERE name = 'ease_top_k'));
		ELSE
			EXECUTE format('CREATE TABLE quality_bench.m_nb AS SELECT * FROM bundlerec.item_neighbors(%L, ''customer'', ''item'',
				measure => ''cosine'', top_k => %s, shrinkage => %s)',
				train, p_params->>'top_k', p_params->>'shrinkage');
		END IF;
		-- recommend_from_neighbors reads the table by item
		CREATE INDEX ON quality_bench.m_nb (item);
		ANALYZE quality_bench.m_nb;
		t1 := clock_timestamp();
		EXECUTE format('INSERT INTO quality_bench.recs
			SELECT c.customer, row_number() OVER (PARTITION BY c.customer ORDER BY r.score DESC, r.item),
			       r.item, r.score
			FROM %s c CROSS JOIN LATERAL bundlerec.recommend_from_neighbors(c.history, ''quality_bench.m_nb'', 10) r',
			users);
		t2 := clock_timestamp();
		-- On the test phase, check against plain SQL, for the first 20
		-- customers: every returned score is the sum of the neighbour scores
		-- from the history (r_i = 1) and the k-th returned score is the k-th
		-- best such sum over items outside the history (tie-proof: scores
		-- are compared rank by rank, and list lengths must agree).
		IF p_phase = 'test' THEN
			EXECUTE format($q$
				WITH c AS (SELECT customer, history FROM %1$s ORDER BY customer LIMIT 20),
				cand AS (
					SELECT c.customer, n.neighbor AS item, sum(n.score) AS s,
					       row_number() OVER (PARTITION BY c.customer ORDER BY sum(n.score) DESC, n.neighbor) AS rank
					FROM c JOIN quality_bench.m_nb n ON n.item = ANY (c.history)
					WHERE NOT (n.neighbor = ANY (c.history))
					GROUP BY c.customer, n.neighbor
				),
				mine AS (SELECT r.* FROM quality_bench.recs r WHERE r.customer IN (SELECT customer FROM c))
				SELECT format('score <> SQL sum: %%s of %%s; rank-by-rank score differs: %%s ranks of %%s customers',
				              (SELECT count(*) FROM mine m LEFT JOIN cand x USING (customer, item)
				               WHERE x.s IS NULL OR abs(m.score - x.s) > 1e-9 * (1 + abs(x.s))),
				              (SELECT count(*) FROM mine),
				              (SELECT count(*) FROM mine m FULL JOIN (SELECT * FROM cand WHERE rank <= 10) x USING (customer, rank)
				               WHERE m.score IS NULL OR x.s IS NULL OR abs(m.score - x.s) > 1e-9 * (1 + abs(x.s))),
				              (SELECT count(*) FROM c))$q$, users)
			INTO note;
		END IF;
		-- item_knn on the test phase: cosine (binary) with shrinkage and the
		-- top_k rule recomputed in SQL for the first 20 items.
		IF p_phase = 'test' AND p_model = 'item_knn' THEN
			EXECUTE format($q$
				WITH t AS (SELECT DISTINCT customer, item FROM %1$s),
				n AS (SELECT item, count(*) AS n FROM t GROUP BY item),
				it AS (SELECT item FROM n ORDER BY item LIMIT 20),
				co AS (
					SELECT a.item, b.item AS neighbor, count(*) AS common
					FROM t a JOIN t b ON b.customer = a.customer AND b.item <> a.item
					WHERE a.item IN (SELECT item FROM it)
					GROUP BY a.item, b.item
				),
				sim AS (
					SELECT co.item, co.neighbor, co.common,
					       co.common / sqrt(na.n::float8 * nb.n) * co.common / (co.common + %2$s) AS s
					FROM co JOIN n na ON na.item = co.item JOIN n nb ON nb.item = co.neighbor
				),
				top AS (
					SELECT *, row_number() OVER (PARTITION BY item ORDER BY s DESC, neighbor) AS rank FROM sim
				),
				mine AS (
					SELECT item, neighbor, score, common,
					       row_number() OVER (PARTITION BY item ORDER BY score DESC, neighbor) AS rank
					FROM quality_bench.m_nb WHERE item IN (SELECT item FROM it)
				)
				SELECT format('; item_neighbors score or common <> SQL: %%s of %%s rows; rank-by-rank score differs: %%s ranks of %%s items',
				              (SELECT count(*) FROM mine m LEFT JOIN sim x USING (item, neighbor)
				               WHERE x.s IS NULL OR abs(m.score - x.s) > 1e-9 * (1 + abs(x.s)) OR m.common <> x.common),
				              (SELECT count(*) FROM mine),
				              (SELECT count(*) FROM mine m FULL JOIN (SELECT * FROM top WHERE rank <= %3$s) x USING (item, rank)
				               WHERE m.score IS NULL OR x.s IS NULL OR abs(m.score - x.s) > 1e-9 * (1 + abs(x.s))),
				              (SELECT count(*) FROM it))$q$,
				train, p_params->>'shrinkage', p_params->>'top_k')
			INTO note2;
			note := note || note2;
		END IF;
	ELSE
		RAISE EXCEPTION 'unknown model %', p_model;
	END IF;
	train_s := extract(epoch FROM t1 - t0);
	id := quality_bench.evaluate(p_ds, p_phase, p_model, p_params, train_s, extract(epoch FROM t2 - t1));
	UPDATE quality_bench.results SET loss_first = lf, loss_last = ll, loss_max_rise = rise, loss_rose = rose,
	                                 check_note = note
	WHERE seq = id;
	RETURN id;
END
$f$;
