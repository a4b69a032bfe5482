
------------------------------------------------------------------------------
-- Refresh: build a model's results aside, then swap them in
------------------------------------------------------------------------------

-- One finished stage: a NOTICE, and its row for the history.
CREATE FUNCTION bundlerec._stage(model text, stage text, nrows bigint, started timestamptz)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	secs double precision := extract(epoch FROM clock_timestamp() - started);
BEGIN
	RAISE NOTICE 'bundlerec %: % — % rows in % s', model, stage, nrows, round(secs::numeric, 3);
	RETURN jsonb_build_object('stage', stage, 'rows', nrows, 'seconds', round(secs::numeric, 3));
END
$body$;

-- The model's order lines under fixed names and types, as a temporary
-- view: basket, item, customer, ordered_at, quantity, price, category, name.
-- Lines without a basket or item are left out; an infinite order time is
-- no time (it must never become the watermark); a NaN or infinite price is
-- no price (published prices also need it positive); a name is trimmed, and
-- an empty one is no name.  before, when given, keeps the orders placed
-- before that time.  _at and _b are the source's order time and basket as
-- they are, so that a condition on them can use an index.
CREATE FUNCTION bundlerec._lines_view(m bundlerec.models, view_name text, before timestamptz DEFAULT NULL)
RETURNS regclass
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	IF to_regclass(format('pg_temp.%I', view_name)) IS NOT NULL THEN
		EXECUTE format('DROP VIEW pg_temp.%I', view_name);
	END IF;
	EXECUTE format(
		'CREATE TEMP VIEW %I AS SELECT %I::text AS basket, %I::text AS item, %s AS customer, '
		'%s AS ordered_at, %s AS quantity, %s AS price, %s AS category, %s AS name, %s AS _at, %I AS _b FROM %s '
		'WHERE %I IS NOT NULL AND %I IS NOT NULL%s',
		view_name, m.basket, m.item,
		CASE WHEN m.customer IS NULL THEN 'NULL::text' ELSE format('%I::text', m.customer) END,
		CASE WHEN m.ordered_at IS NULL THEN 'NULL::timestamptz'
		     ELSE format('CASE WHEN pg_catalog.isfinite(%1$I::timestamptz) THEN %1$I::timestamptz END', m.ordered_at) END,
		CASE WHEN m.quantity IS NULL THEN '1::numeric' ELSE format('%I::numeric', m.quantity) END,
		CASE WHEN m.price IS NULL THEN 'NULL::numeric'
		     ELSE format('CASE WHEN %1$I::numeric OPERATOR(pg_catalog.>) ''-Infinity''::numeric AND %1$I::numeric OPERATOR(pg_catalog.<) ''Infinity''::numeric THEN %1$I::numeric END',
		                 m.price) END,
		CASE WHEN m.category IS NULL THEN 'NULL::text' ELSE format('%I::text', m.category) END,
		CASE WHEN m.item_name IS NULL THEN 'NULL::text'
		     ELSE format('CASE WHEN pg_catalog.btrim(%1$I::text) OPERATOR(pg_catalog.<>) '''' THEN pg_catalog.btrim(%1$I::text) END',
		                 m.item_name) END,
		coalesce(quote_ident(m.ordered_at), 'NULL::timestamptz'), m.basket,
		m.source, m.basket, m.item,
		CASE WHEN before IS NULL THEN ''
		     ELSE format(' AND %I::timestamptz < %L::timestamptz', m.ordered_at, before) END);
	RETURN format('pg_temp.%I', view_name)::regclass;
END
$body$;

-- The table behind result t: with suffix sfx, the one being built ('':
-- plain names, for evaluate's scratch schema); with NULL, the current one.
CREATE FUNCTION bundlerec._phys(t text, sfx text, cur jsonb DEFAULT '{}')
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT CASE WHEN sfx IS NULL THEN coalesce(cur ->> t, t)
            WHEN sfx = '' THEN t
            ELSE '_' || t || sfx END
$body$;

-- The lines of the orders with at most cap distinct items, as a temporary view.
CREATE FUNCTION bundlerec._capped_lines(lines regclass, cap integer)
RETURNS regclass
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
BEGIN
	EXECUTE format(
		'CREATE OR REPLACE TEMP VIEW _br_pair_lines AS SELECT l.* FROM %1$s l '
		'WHERE l.basket IN (SELECT c.basket FROM %1$s c GROUP BY c.basket '
		'HAVING pg_catalog.count(DISTINCT c.item) OPERATOR(pg_catalog.<=) %2$s)', lines, cap);
	RETURN 'pg_temp._br_pair_lines'::regclass;
END
$body$;

-- Whether rel, or a table a view rel reads (at any depth), is a Citus
-- hash-distributed table.  Citus's catalogue is read only when the citus
-- extension exists.  STABLE: it reads catalogues.
CREATE FUNCTION bundlerec._distributed(rel regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	found boolean;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname = 'citus') THEN
		RETURN false;
	END IF;
	EXECUTE $q$
		WITH RECURSIVE r(oid) AS (
			SELECT $1::oid
			UNION
			SELECT d.refobjid FROM r
			JOIN pg_catalog.pg_rewrite w ON w.ev_class OPERATOR(pg_catalog.=) r.oid
			JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::regclass
			     AND d.objid OPERATOR(pg_catalog.=) w.oid
			     AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::regclass
			     AND d.refobjid OPERATOR(pg_catalog.<>) r.oid)
		SELECT EXISTS (SELECT 1 FROM r JOIN pg_catalog.pg_dist_partition p
		               ON p.logicalrelid OPERATOR(pg_catalog.=) r.oid
		               AND p.partmethod OPERATOR(pg_catalog.=) 'h')
		$q$ INTO found USING rel;
	RETURN found;
END
$body$;

-- The column of the lines (bundlerec._lines_view) that orders are counted
-- by: over a distributed source, _b, the source's basket column as it is,
-- so that Citus counts each shard's orders on its worker (an order's text
-- form hides the distribution column; a numeric basket is left as text,
-- where 1.0 and 1.00 are two orders); else basket.
CREATE FUNCTION bundlerec._order_key(m bundlerec.models)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT CASE WHEN bundlerec._distributed(m.source)
             AND (SELECT a.atttypid FROM pg_attribute a
                  WHERE a.attrelid = m.source AND a.attname = m.basket) <> 'numeric'::regtype
            THEN '_b' ELSE 'basket' END
$body$;

-- The condition, over lines l, that a line is new since a refresh with
-- watermark wm that saw the orders wm_orders at that very time: dated
-- after wm, or at wm in an order it did not see.
CREATE FUNCTION bundlerec._is_new_line(wm timestamptz, wm_orders jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT CASE WHEN wm_orders IS NULL
            THEN pg_catalog.format('coalesce(l.ordered_at OPERATOR(pg_catalog.>) %L::timestamptz, false)', wm)
            ELSE pg_catalog.format('coalesce(l.ordered_at OPERATOR(pg_catalog.>) %1$L::timestamptz OR l.ordered_at OPERATOR(pg_catalog.=) %1$L::timestamptz AND NOT %2$L::jsonb OPERATOR(pg_catalog.?) l.basket, false)',
                                   wm, wm_orders) END
$body$;

-- a + b where NULL means "nothing yet"
CREATE FUNCTION bundlerec._add(a numeric, b numeric)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $body$ SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE a OPERATOR(pg_catalog.+) b END $body$;

-- What the stages of one build share: the model, where its lines are and
-- where the results go, and the sizes the read step found.
CREATE TYPE bundlerec._build_context AS (
	m bundlerec.models,
	lines regclass,			-- the model's lines (bundlerec._lines_view)
	pair_lines regclass,	-- the lines pairs, rules and bundles count (max_basket_items)
	sch text,				-- schema of the results
	sfx text,				-- suffix of the tables being built ('' for plain names)
	incremental boolean,
	cur jsonb,				-- the model's current tables (bundlerec.models.tables)
	warm_start regclass,	-- customer factors to start ALS from
	n_baskets bigint,
	touched regclass		-- the customers to recompute in "per customer" results; NULL: all
);

-- The table a stage reads result t from: the one this build made, else the
-- current one (the count tables of an incremental refresh).
CREATE FUNCTION bundlerec._current(c bundlerec._build_context, t text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT CASE WHEN to_regclass(format('%I.%I', c.sch, bundlerec._phys(t, c.sfx))) IS NOT NULL
            THEN bundlerec._phys(t, c.sfx)
            ELSE bundlerec._phys(t, NULL, c.cur) END
$body$;

/*
 * The read step of a build: counts the lines (an incremental refresh reads
 * the orders that are new since watermark wm into pg_temp._br_delta, with
 * flags for what the last refresh already counted), finds the new
 * watermark and the orders at it, and makes the view of the lines under
 * max_basket_items.  Returns what it found.
 */
CREATE FUNCTION bundlerec._read_lines(m bundlerec.models, lines regclass, incremental boolean, wm timestamptz)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	n_read bigint;
	n_new_baskets bigint;
	n_baskets bigint;
	new_wm timestamptz;
	wm_lines bigint;
	wm_orders jsonb;
	cap integer := (m.options ->> 'max_basket_items')::integer;
	pair_lines regclass := lines;
	n_capped bigint;
	at_type text;
BEGIN
	IF incremental THEN
		-- new lines are dated at or after wm (a day's slack covers any
		-- time zone shift): said on the source's own column, an index on
		-- it finds them
		SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO at_type
		FROM pg_attribute a WHERE a.attrelid = m.source AND a.attname = m.ordered_at;
		-- one row per (basket, item, customer) of the orders with new lines;
		-- "old" flags say what the last refresh already counted, per item,
		-- per customer and per customer and item
		IF to_regclass('pg_temp._br_delta') IS NOT NULL THEN
			DROP TABLE pg_temp._br_delta;
		END IF;
		EXECUTE format($q$
			CREATE TEMP TABLE _br_delta ON COMMIT DROP AS
			WITH nb AS (SELECT DISTINCT l._b FROM %1$s l
			            WHERE l._at OPERATOR(pg_catalog.>=) (%2$L::timestamptz OPERATOR(pg_catalog.-) '1 day'::interval)::%4$s
			              AND %3$s),
			bic AS (
				SELECT l.basket, l.item, l.customer,
				       bool_or(NOT (%3$s)) AS old_bic,
				       count(*) FILTER (WHERE %3$s) AS new_lines,
				       sum(l.quantity) FILTER (WHERE %3$s) AS quantity,
				       sum(l.quantity * l.price) FILTER (WHERE %3$s) AS revenue,
				       min(l.ordered_at) FILTER (WHERE %3$s) AS first_new,
				       max(l.ordered_at) AS last_ordered
				FROM %1$s l JOIN nb ON nb._b OPERATOR(pg_catalog.=) l._b
				GROUP BY l.basket, l.item, l.customer)
			SELECT bic.*,
			       bool_or(bic.old_bic) OVER (PARTITION BY bic.basket, bic.item) AS old_bi,
			       bool_or(bic.old_bic) OVER (PARTITION BY bic.basket, bic.customer) AS old_bc,
			       bool_or(bic.old_bic) OVER (PARTITION BY bic.basket) AS basket_had_old
			FROM bic
			$q$, lines, wm, bundlerec._is_new_line(wm, m.watermark_orders), at_type);
		SELECT coalesce(sum(d.new_lines), 0), count(DISTINCT d.basket) FILTER (WHERE NOT d.basket_had_old),
		       max(d.last_ordered)
		INTO n_read, n_new_baskets, new_wm FROM _br_delta d;
		n_baskets := m.n_baskets + n_new_baskets;
		new_wm := greatest(wm, new_wm);
	ELSE
		EXECUTE format('SELECT count(*), count(DISTINCT %I), max(ordered_at) FROM %s', bundlerec._order_key(m), lines)
		INTO n_read, n_baskets, new_wm;
	END IF;
	IF n_baskets = 0 THEN
		RAISE EXCEPTION 'model "%": % has no order lines', m.name, m.source
			USING ERRCODE = 'no_data_found',
			      HINT = 'The source needs lines with a basket and an item; the previous results are kept.';
	END IF;
	-- every line is now at or before the new watermark, or undated: the
	-- lines counted before (refresh checked that they are unchanged) and
	-- the new ones
	wm_lines := CASE WHEN incremental THEN m.watermark_lines + n_read ELSE n_read END;
	-- the orders at the new watermark, so that later orders with the same
	-- time are told from them: on an incremental refresh, those at the old
	-- one still (when it did not move) and the new orders' lines at it
	IF incremental THEN
		EXECUTE format('SELECT pg_catalog.jsonb_object_agg(basket, n) FROM (SELECT l.basket, count(*) AS n FROM %1$s l '
		               'WHERE l._at OPERATOR(pg_catalog.>=) (%2$L::timestamptz OPERATOR(pg_catalog.-) ''1 day''::interval)::%3$s '
		               'AND l.ordered_at OPERATOR(pg_catalog.=) %2$L::timestamptz GROUP BY l.basket) x',
		               lines, new_wm, at_type)
		INTO wm_orders;
		IF new_wm = wm AND m.watermark_orders IS NOT NULL THEN
			wm_orders := m.watermark_orders || coalesce(wm_orders, '{}');
		END IF;
	ELSE
		EXECUTE format('SELECT pg_catalog.jsonb_object_agg(basket, n) FROM (SELECT basket, count(*) AS n FROM %s WHERE ordered_at = %L GROUP BY basket) x',
		               lines, new_wm)
		INTO wm_orders;
	END IF;

	-- wholesale baskets: left out of pairs, rules and bundles above the cap
	IF cap > 0 THEN
		EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s GROUP BY %I HAVING count(DISTINCT item) > %s) x',
		               lines, bundlerec._order_key(m), cap) INTO n_capped;
		IF n_capped > 0 THEN
			RAISE NOTICE 'bundlerec %: % orders with more than % distinct items are left out of pairs, rules and bundles',
				m.name, n_capped, cap
				USING HINT = 'The model option max_basket_items sets the cap; 0 counts every order.';
		END IF;
		pair_lines := bundlerec._capped_lines(lines, cap);
	END IF;

	RETURN jsonb_build_object('rows_read', n_read, 'n_baskets', n_baskets, 'watermark', new_wm,
	                          'watermark_lines', wm_lines, 'watermark_orders', wm_orders,
	                          'pair_lines', pair_lines::text);
END
$body$;

-- Stage "item counts": Orders, quantity and revenue per item: counted anew, or the new orders added in place.  Returns its rows.
CREATE FUNCTION bundlerec._stage_item_counts(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch text := c.sch;
	sfx text := c.sfx;
	lines regclass := c.lines;
	cur jsonb := c.cur;
	incremental boolean := c.incremental;
	n bigint;
BEGIN
	IF incremental THEN
		EXECUTE format($q$
			INSERT INTO %1$I.%2$I AS t (item, orders, quantity, revenue, first_ordered, last_ordered)
			SELECT d.item, count(DISTINCT d.basket) FILTER (WHERE NOT d.old_bi), sum(d.quantity), sum(d.revenue),
			       min(d.first_new), max(d.last_ordered)
			FROM _br_delta d GROUP BY d.item
			ON CONFLICT (item) DO UPDATE SET
				orders = t.orders + excluded.orders,
				quantity = bundlerec._add(t.quantity, excluded.quantity),
				revenue = bundlerec._add(t.revenue, excluded.revenue),
				first_ordered = least(t.first_ordered, excluded.first_ordered),
				last_ordered = greatest(t.last_ordered, excluded.last_ordered)
			$q$, sch, bundlerec._phys('_item_counts', NULL, cur));
		GET DIAGNOSTICS n = ROW_COUNT;
	ELSE
		EXECUTE format($q$
			CREATE TABLE %1$I.%2$I AS
			SELECT item, count(DISTINCT %4$I) AS orders, sum(quantity) AS quantity,
			       sum(quantity * price) AS revenue, min(ordered_at) AS first_ordered,
			       max(ordered_at) AS last_ordered
			FROM %3$s GROUP BY item
			$q$, sch, bundlerec._phys('_item_counts', sfx), lines, bundlerec._order_key(c.m));
		GET DIAGNOSTICS n = ROW_COUNT;
	END IF;
	RETURN n;
END
$body$;

-- Stage "customer items": Orders per customer and per customer and item, like item counts, and customers per item.  Returns its rows.
CREATE FUNCTION bundlerec._stage_customer_items(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch text := c.sch;
	sfx text := c.sfx;
	lines regclass := c.lines;
	cur jsonb := c.cur;
	incremental boolean := c.incremental;
	n bigint;
BEGIN
	IF incremental THEN
		-- customers per item: those who buy it for the first time, found
		-- before customer_items takes them in
		EXECUTE format($q$
			INSERT INTO %1$I.%2$I AS t (item, customers)
			SELECT d.item, count(DISTINCT d.customer) FROM _br_delta d
			WHERE d.customer IS NOT NULL
			  AND NOT EXISTS (SELECT FROM %1$I.%3$I ci WHERE ci.customer = d.customer AND ci.item = d.item)
			GROUP BY d.item
			ON CONFLICT (item) DO UPDATE SET customers = t.customers + excluded.customers
			$q$, sch, bundlerec._phys('_item_customers', NULL, cur), bundlerec._phys('customer_items', NULL, cur));
		EXECUTE format($q$
			INSERT INTO %1$I.%2$I AS t (customer, orders, first_ordered, last_ordered)
			SELECT d.customer, count(DISTINCT d.basket) FILTER (WHERE NOT d.old_bc),
			       min(d.first_new), max(d.last_ordered)
			FROM _br_delta d WHERE d.customer IS NOT NULL GROUP BY d.customer
			ON CONFLICT (customer) DO UPDATE SET
				orders = t.orders + excluded.orders,
				first_ordered = least(t.first_ordered, excluded.first_ordered),
				last_ordered = greatest(t.last_ordered, excluded.last_ordered)
			$q$, sch, bundlerec._phys('customers', NULL, cur));
		EXECUTE format($q$
			INSERT INTO %1$I.%2$I AS t (customer, item, orders, quantity, first_ordered, last_ordered)
			SELECT d.customer, d.item, count(*) FILTER (WHERE NOT d.old_bic), sum(d.quantity),
			       min(d.first_new), max(d.last_ordered)
			FROM _br_delta d WHERE d.customer IS NOT NULL GROUP BY d.customer, d.item
			ON CONFLICT (customer, item) DO UPDATE SET
				orders = t.orders + excluded.orders,
				quantity = bundlerec._add(t.quantity, excluded.quantity),
				first_ordered = least(t.first_ordered, excluded.first_ordered),
				last_ordered = greatest(t.last_ordered, excluded.last_ordered)
			$q$, sch, bundlerec._phys('customer_items', NULL, cur));
	ELSE
		EXECUTE format($q$
			CREATE TABLE %1$I.%2$I AS
			SELECT customer, count(DISTINCT %4$I) AS orders, min(ordered_at) AS first_ordered,
			       max(ordered_at) AS last_ordered
			FROM %3$s WHERE customer IS NOT NULL GROUP BY customer
			$q$, sch, bundlerec._phys('customers', sfx), lines, bundlerec._order_key(c.m));
		EXECUTE format($q$
			CREATE TABLE %1$I.%2$I AS
			SELECT customer, item, count(DISTINCT %4$I) AS orders, sum(quantity) AS quantity,
			       min(ordered_at) AS first_ordered, max(ordered_at) AS last_ordered
			FROM %3$s WHERE customer IS NOT NULL GROUP BY customer, item
			$q$, sch, bundlerec._phys('customer_items', sfx), lines, bundlerec._order_key(c.m));
		EXECUTE format('CREATE TABLE %1$I.%2$I AS SELECT x.item, count(*) AS customers FROM %1$I.%3$I x GROUP BY x.item',
		               sch, bundlerec._phys('_item_customers', sfx), bundlerec._phys('customer_items', sfx));
	END IF;
	EXECUTE format('SELECT count(*) FROM %I.%I', sch, bundlerec._current(c, 'customer_items')) INTO n;
	RETURN n;
END
$body$;

-- The baskets of a distributed source under max_basket_items, grouped by
-- its basket column (items), for the aggregates Citus pushes down:
-- each worker encodes its shards' baskets and ships one state per shard
-- instead of the lines.
CREATE FUNCTION bundlerec._baskets_query(c bundlerec._build_context)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT format('SELECT l.%1$I, pg_catalog.array_agg(l.item) AS items FROM %2$s l GROUP BY l.%1$I%3$s',
              bundlerec._order_key(c.m), c.lines,
              CASE WHEN cap > 0 THEN format(' HAVING pg_catalog.count(DISTINCT l.item) OPERATOR(pg_catalog.<=) %s', cap)
                   ELSE '' END)
FROM CAST(((c.m).options ->> 'max_basket_items') AS integer) cap
$body$;

-- Where the pair counts stage counts every pair of the lines under
-- max_basket_items: item_pairs over them; over a distributed source,
-- pair_counts pushed down over its baskets.
CREATE FUNCTION bundlerec._pair_source(c bundlerec._build_context)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT CASE WHEN bundlerec._order_key(c.m) = 'basket'
            THEN format('bundlerec.item_pairs(%L::regclass, ''basket'', ''item'')', c.pair_lines)
            ELSE format('bundlerec.pairs((SELECT bundlerec.pair_counts(b.items) FROM (%s) b))',
                        bundlerec._baskets_query(c)) END
$body$;

-- The pairs of pair-function call source (item_pairs or pairs), each once,
-- with their orders times sign, item_a before item_b in "C" order, as a
-- query: the one form _pair_counts and _pair_delta rows take.
CREATE FUNCTION bundlerec._pairs_of(source text, sign integer)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT format($q$
	SELECT CASE WHEN p.item_a < p.item_b COLLATE "C" THEN p.item_a ELSE p.item_b END AS item_a,
	       CASE WHEN p.item_a < p.item_b COLLATE "C" THEN p.item_b ELSE p.item_a END AS item_b,
	       p.count_ab * %2$s AS count
	FROM %1$s p
	$q$, source, sign)
$body$;

-- Drops the primary key of table t, if it has one.
CREATE FUNCTION bundlerec._drop_primary_key(t regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	k name;
BEGIN
	SELECT x.conname INTO k FROM pg_constraint x WHERE x.conrelid = t AND x.contype = 'p';
	IF k IS NOT NULL THEN
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', t, k);
	END IF;
END
$body$;

-- Stage "pair counts": Orders per item pair, every pair, so later orders
-- can be added exactly.  An incremental refresh appends the new orders'
-- pair changes to _pair_delta, in place, which the pairs stage reads with
-- _pair_counts (summing a pair's rows); once _pair_delta holds more than a
-- quarter as many rows as _pair_counts, it is folded in.  Returns the rows
-- written.
CREATE FUNCTION bundlerec._stage_pair_counts(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch text := c.sch;
	base text := bundlerec._current(c, '_pair_counts');
	old_delta text := CASE WHEN c.cur ? '_pair_delta' THEN bundlerec._phys('_pair_delta', NULL, c.cur) END;
	delta text := bundlerec._phys('_pair_delta', c.sfx);
	cap integer := ((c.m).options ->> 'max_basket_items')::integer;
	base_rows bigint;
	delta_rows bigint;
	changes text;
	n bigint;
BEGIN
	IF NOT c.incremental THEN
		EXECUTE format('CREATE TABLE %I.%I AS %s', sch, bundlerec._phys('_pair_counts', c.sfx),
		               bundlerec._pairs_of(bundlerec._pair_source(c), 1));
		GET DIAGNOSTICS n = ROW_COUNT;
		EXECUTE format('CREATE TABLE %I.%I (item_a text, item_b text, count bigint)', sch, delta);
		RETURN n;
	END IF;
	-- the new orders' pairs: a basket counts once its items are all in; one
	-- that grows past max_basket_items takes back the pairs it had added.
	-- So the pairs of the baskets under the cap now, less those of their
	-- items counted before where the basket was under it then, each side
	-- counted by item_pairs (a join and a grouping of the pairs in SQL took
	-- three times as long)
	EXECUTE format($q$
		CREATE TEMP TABLE _br_pair_sizes ON COMMIT DROP AS
		SELECT d.basket, count(DISTINCT d.item) AS now, count(DISTINCT d.item) FILTER (WHERE d.old_bi) AS was
		FROM pg_temp._br_delta d GROUP BY d.basket;
		CREATE TEMP VIEW _br_pair_plus AS SELECT d.basket, d.item FROM pg_temp._br_delta d
		JOIN pg_temp._br_pair_sizes s ON s.basket = d.basket WHERE s.now <= %1$s;
		CREATE TEMP VIEW _br_pair_minus AS SELECT d.basket, d.item FROM pg_temp._br_delta d
		JOIN pg_temp._br_pair_sizes s ON s.basket = d.basket WHERE d.old_bi AND s.was BETWEEN 2 AND %1$s
		$q$, coalesce(nullif(cap, 0), 2147483647));
	changes := CASE WHEN EXISTS (SELECT FROM pg_temp._br_pair_minus) THEN format($q$
			SELECT x.item_a, x.item_b, sum(x.count)::bigint AS count FROM (%1$s UNION ALL %2$s) x
			GROUP BY x.item_a, x.item_b HAVING sum(x.count) <> 0
			$q$, bundlerec._pairs_of('bundlerec.item_pairs(''pg_temp._br_pair_plus''::regclass, ''basket'', ''item'')', 1),
			bundlerec._pairs_of('bundlerec.item_pairs(''pg_temp._br_pair_minus''::regclass, ''basket'', ''item'')', -1))
		-- only new baskets: item_pairs gives each pair once
		ELSE bundlerec._pairs_of('bundlerec.item_pairs(''pg_temp._br_pair_plus''::regclass, ''basket'', ''item'')', 1) END;
	-- appended in place: _pair_delta has no key to keep (pairs and cold
	-- start sum a pair's rows), so the cost follows the changes.  One made
	-- by an earlier version has a primary key, which appending would break
	PERFORM bundlerec._drop_primary_key(format('%I.%I', sch, old_delta)::regclass);
	EXECUTE format('INSERT INTO %I.%I (item_a, item_b, count) %s', sch, old_delta, changes);
	GET DIAGNOSTICS n = ROW_COUNT;
	EXECUTE format('SELECT pg_catalog.count(*) FROM %I.%I', sch, old_delta) INTO delta_rows;
	DROP VIEW pg_temp._br_pair_plus;
	DROP VIEW pg_temp._br_pair_minus;
	DROP TABLE pg_temp._br_pair_sizes;
	SELECT pc.reltuples::bigint INTO base_rows FROM pg_class pc
	WHERE pc.oid = format('%I.%I', sch, base)::regclass;
	-- once the changes are more than a quarter of the counts: folded in
	IF delta_rows * 4 > base_rows THEN
		EXECUTE format($q$
			CREATE TABLE %1$I.%2$I AS
			SELECT coalesce(t.item_a, d.item_a) AS item_a, coalesce(t.item_b, d.item_b) AS item_b,
			       coalesce(t.count, 0) + coalesce(d.count, 0) AS count
			FROM %1$I.%3$I t
			FULL JOIN (SELECT x.item_a, x.item_b, sum(x.count)::bigint AS count FROM %1$I.%4$I x GROUP BY x.item_a, x.item_b) d
			     ON d.item_a = t.item_a AND d.item_b = t.item_b
			WHERE coalesce(t.count, 0) + coalesce(d.count, 0) > 0
			$q$, sch, bundlerec._phys('_pair_counts', c.sfx), base, old_delta);
		GET DIAGNOSTICS n = ROW_COUNT;
		EXECUTE format('TRUNCATE %I.%I', sch, old_delta);
	END IF;
	RETURN n;
END
$body$;

-- Price, category and name of every item of source (item_attributes.c),
-- the rule bundle scoring reads prices and categories by, and the items
-- stage derives them by from its refresh state (_item_state): the mean of
-- the positive, finite prices of the item's lines within price_window
-- before the latest order of the lines (else of all its lines), the most
-- frequent category (a tie to the smallest) and name (a tie to the
-- smallest in byte order).  Lines without a basket or item are left out;
-- a NULL column name means none.  STABLE: it only reads source; PARALLEL
-- RESTRICTED: source may be a temporary view.
CREATE FUNCTION bundlerec._item_attributes(source regclass, basket text, item text, price text,
	ordered_at text, category text, name text, price_window interval)
RETURNS TABLE (item text, price numeric, category text, name text)
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_item_attributes';

/*
 * The refresh state the items stage derives prices, categories and names
 * from, brought up to date: _item_prices (the sum and number of each
 * item's positive, finite prices, within the price window before the
 * watermark and overall), _item_categories and _item_names (lines per item
 * and value).  A full refresh counts them from all the lines in one
 * grouped pass.  An incremental one follows the change, exactly: the new
 * lines are added, and the window, which ends at the watermark, drops the
 * earlier lines that the watermark's move leaves behind (read by order
 * time, which an index on the source's column finds); when price_window
 * changed since the last refresh, _item_prices is counted anew.
 */
CREATE FUNCTION bundlerec._item_state(c bundlerec._build_context)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	m bundlerec.models := c.m;
	sch text := c.sch;
	pw interval := (m.options ->> 'price_window')::interval;
	p text := 'CASE WHEN l.price OPERATOR(pg_catalog.>) 0 THEN l.price END';
	new_since timestamptz;
	old_since timestamptz := m.watermark - pw;
	prices_anew boolean := NOT c.incremental;
	at_type text;
	t text;
BEGIN
	-- the window ends at the latest order of all the lines
	EXECUTE format('SELECT pg_catalog.max(x.last_ordered) OPERATOR(pg_catalog.-) %L::interval FROM %I.%I x',
	               pw, sch, bundlerec._current(c, '_item_counts')) INTO new_since;
	IF c.incremental THEN
		prices_anew := (SELECT h.metrics ->> 'price_window' FROM bundlerec.refresh_history h
		                WHERE h.model = m.name AND h.kind IN ('full', 'incremental') ORDER BY h.id DESC LIMIT 1)
		               IS DISTINCT FROM m.options ->> 'price_window';
	END IF;
	IF prices_anew THEN
		EXECUTE format($q$
			CREATE TABLE %1$I.%2$I AS
			SELECT l.item, sum(%4$s) FILTER (WHERE l.ordered_at OPERATOR(pg_catalog.>=) %5$L::timestamptz) AS window_sum,
			       count(%4$s) FILTER (WHERE l.ordered_at OPERATOR(pg_catalog.>=) %5$L::timestamptz) AS window_lines,
			       sum(%4$s) AS price_sum, count(%4$s) AS price_lines
			FROM %3$s l GROUP BY l.item
			$q$, sch, bundlerec._phys('_item_prices', c.sfx), c.lines, p, new_since);
	END IF;
	IF NOT c.incremental THEN
		FOREACH t IN ARRAY ARRAY['category', 'name'] LOOP
			EXECUTE format('CREATE TABLE %1$I.%2$I AS SELECT l.item, l.%3$I, count(*) AS lines FROM %4$s l '
			               'WHERE l.%3$I IS NOT NULL GROUP BY l.item, l.%3$I',
			               sch, bundlerec._phys(CASE t WHEN 'category' THEN '_item_categories' ELSE '_item_names' END, c.sfx), t, c.lines);
		END LOOP;
		RETURN;
	END IF;
	SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO at_type
	FROM pg_attribute a WHERE a.attrelid = m.source AND a.attname = m.ordered_at;
	-- the new lines (+), and the earlier lines the window leaves behind (-:
	-- in it before, dated before its new start), each condition also said
	-- on _at, the source's own column, so that an index on it finds them
	-- (a day's slack for any time zone)
	DROP TABLE IF EXISTS pg_temp._br_item_changes;
	EXECUTE format($q$
		CREATE TEMP TABLE _br_item_changes ON COMMIT DROP AS
		SELECT l.item, l.category, l.name, 1 AS lines,
		       CASE WHEN l.ordered_at OPERATOR(pg_catalog.>=) %5$L::timestamptz THEN %2$s END AS window_sum,
		       %2$s AS price_sum
		FROM %1$s l
		WHERE l._at OPERATOR(pg_catalog.>=) (%3$L::timestamptz OPERATOR(pg_catalog.-) '1 day'::interval)::%7$s AND %4$s
		UNION ALL
		SELECT l.item, NULL, NULL, 0, OPERATOR(pg_catalog.-) %2$s, NULL
		FROM %1$s l
		WHERE %5$L::timestamptz OPERATOR(pg_catalog.>) %6$L::timestamptz
		  AND l._at OPERATOR(pg_catalog.>=) (%6$L::timestamptz OPERATOR(pg_catalog.-) '1 day'::interval)::%7$s
		  AND l._at OPERATOR(pg_catalog.<=) (%5$L::timestamptz OPERATOR(pg_catalog.+) '1 day'::interval)::%7$s
		  AND l.ordered_at OPERATOR(pg_catalog.>=) %6$L::timestamptz AND l.ordered_at OPERATOR(pg_catalog.<) %5$L::timestamptz
		  AND NOT %4$s
		$q$, c.lines, p, m.watermark, bundlerec._is_new_line(m.watermark, m.watermark_orders), new_since, old_since, at_type);
	IF NOT prices_anew THEN
		EXECUTE format($q$
			INSERT INTO %1$I.%2$I AS t (item, window_sum, window_lines, price_sum, price_lines)
			SELECT x.item, sum(x.window_sum), coalesce(sum(pg_catalog.sign(x.window_sum)), 0)::bigint, sum(x.price_sum), count(x.price_sum)
			FROM pg_temp._br_item_changes x GROUP BY x.item
			ON CONFLICT (item) DO UPDATE SET
				-- no lines in the window: no sum, as a full refresh counts it
				window_sum = CASE WHEN t.window_lines + excluded.window_lines OPERATOR(pg_catalog.<>) 0
				                  THEN bundlerec._add(t.window_sum, excluded.window_sum) END,
				window_lines = t.window_lines + excluded.window_lines,
				price_sum = bundlerec._add(t.price_sum, excluded.price_sum),
				price_lines = t.price_lines + excluded.price_lines
			$q$, sch, bundlerec._phys('_item_prices', NULL, c.cur));
	END IF;
	FOREACH t IN ARRAY ARRAY['category', 'name'] LOOP
		EXECUTE format($q$
			INSERT INTO %1$I.%2$I AS t (item, %3$I, lines)
			SELECT x.item, x.%3$I, sum(x.lines)::bigint FROM pg_temp._br_item_changes x
			WHERE x.lines OPERATOR(pg_catalog.>) 0 AND x.%3$I IS NOT NULL GROUP BY x.item, x.%3$I
			ON CONFLICT (item, %3$I) DO UPDATE SET lines = t.lines + excluded.lines
			$q$, sch, bundlerec._phys(CASE t WHEN 'category' THEN '_item_categories' ELSE '_item_names' END, NULL, c.cur), t);
	END LOOP;
	DROP TABLE pg_temp._br_item_changes;
END
$body$;

-- The products source's (item, name, category) as a query, names trimmed
-- like the lines'; none when the model has no products source.
CREATE FUNCTION bundlerec._product_attributes(m bundlerec.models)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT CASE WHEN m.products IS NULL
            THEN 'SELECT NULL::text AS item, NULL::text AS name, NULL::text AS category WHERE false'
            ELSE format('SELECT %I::text AS item, %s AS name, %s AS category FROM %s WHERE %I IS NOT NULL',
                        m.product_columns ->> 'key',
                        CASE WHEN m.product_columns ? 'name'
                             THEN format('CASE WHEN pg_catalog.btrim(%1$I::text) OPERATOR(pg_catalog.<>) '''' THEN pg_catalog.btrim(%1$I::text) END',
                                         m.product_columns ->> 'name')
                             ELSE 'NULL::text' END,
                        CASE WHEN m.product_columns ? 'category' THEN format('%I::text', m.product_columns ->> 'category')
                             ELSE 'NULL::text' END,
                        m.products, m.product_columns ->> 'key') END
$body$;

-- Stage "items": Item statistics from the counts and the lines: category, current price, popularity, name.  Returns its rows.
-- Price, category and name come from the refresh state _item_state keeps
-- (the price rounded to 4 places): the mean of the positive, finite prices
-- within price_window before the latest order (else of all of them), the
-- most frequent category (a tie to the smallest) and name (a tie to the
-- smallest in byte order), as bundlerec._item_attributes reads them from
-- the lines.  A products source's name and category come first, the
-- lines' are the fallback.  name is last among the declared columns (a
-- view only grows at its end).
CREATE FUNCTION bundlerec._stage_items(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	m bundlerec.models := c.m;
	sch text := c.sch;
	n bigint;
BEGIN
	PERFORM bundlerec._item_state(c);
	EXECUTE format($q$
		CREATE TABLE %1$I.%2$I AS
		WITH a AS (
			SELECT pr.item,
			       round(coalesce(pr.window_sum / nullif(pr.window_lines, 0), pr.price_sum / nullif(pr.price_lines, 0)), 4) AS price,
			       k.category, nm.name
			FROM %1$I.%8$I pr
			LEFT JOIN (SELECT DISTINCT ON (k.item) k.item, k.category FROM %1$I.%9$I k
			           ORDER BY k.item, k.lines DESC, k.category) k ON k.item = pr.item
			LEFT JOIN (SELECT DISTINCT ON (nm.item) nm.item, nm.name FROM %1$I.%10$I nm
			           ORDER BY nm.item, nm.lines DESC, nm.name COLLATE "C") nm ON nm.item = pr.item)
		SELECT c.item, coalesce(p.category, a.category) AS category, c.orders, coalesce(ci.customers, 0) AS customers,
		       c.quantity, c.revenue, a.price,
		       c.orders::float8 / %4$s AS support,
		       row_number() OVER (ORDER BY c.orders DESC, c.item COLLATE "C")::integer AS popularity_rank,
		       row_number() OVER (PARTITION BY coalesce(p.category, a.category) ORDER BY c.orders DESC, c.item COLLATE "C")::integer AS category_rank,
		       c.first_ordered, c.last_ordered, coalesce(p.name, a.name) AS name
		FROM %1$I.%5$I c
		JOIN a ON a.item = c.item
		LEFT JOIN (%6$s) ci ON ci.item = c.item
		LEFT JOIN (%7$s) p ON p.item = c.item
		$q$, sch, bundlerec._phys('items', c.sfx), NULL, c.n_baskets,
		bundlerec._current(c, '_item_counts'),
		CASE WHEN m.customer IS NOT NULL THEN format('SELECT x.item, x.customers FROM %I.%I x', sch, bundlerec._current(c, '_item_customers'))
		     ELSE 'SELECT NULL::text AS item, 0::bigint AS customers WHERE false' END,
		bundlerec._product_attributes(m), bundlerec._current(c, '_item_prices'),
		bundlerec._current(c, '_item_categories'), bundlerec._current(c, '_item_names'));
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$body$;

-- The best partners of every item, from a model's pair counts, the changes
-- to them not yet folded in, and its item counts (rank_pairs.c).
CREATE FUNCTION bundlerec._rank_pairs(pair_counts regclass, pair_delta regclass, item_counts regclass, n bigint,
	shrinkage float8, per_item integer, min_count bigint)
RETURNS TABLE (item text, rank integer, partner text, count bigint, item_orders bigint,
	partner_orders bigint, support float8, confidence float8, lift float8, npmi float8, score float8)
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_rank_pairs';

-- For the products of neighbors (item, neighbor, similarity), their k
-- partners pooled over their content neighbours' pair counts (rank_pairs.c).
CREATE FUNCTION bundlerec._cold_partners(pair_counts regclass, pair_delta regclass, item_counts regclass,
	neighbors regclass, min_count bigint, k integer)
RETURNS TABLE (item text, partner text, score float8, via text, via_similarity float8, via_confidence float8)
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_cold_partners';

-- Stage "pairs": The pairs_per_item best partners of each item, pairs in at least min_count orders, by shrunk npmi.  Returns its rows.
CREATE FUNCTION bundlerec._stage_pairs(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	o jsonb := (c.m).options;
	n bigint;
BEGIN
	EXECUTE format($q$
		CREATE TABLE %1$I.%2$I AS
		SELECT * FROM bundlerec._rank_pairs(%3$L::regclass, %9$L::regclass, %4$L::regclass, %5$s, %6$s, %7$s, %8$s)
		$q$, c.sch, bundlerec._phys('pairs', c.sfx),
		format('%I.%I', c.sch, bundlerec._current(c, '_pair_counts')),
		format('%I.%I', c.sch, bundlerec._current(c, '_item_counts')),
		c.n_baskets, (o ->> 'shrinkage')::float8, (o ->> 'pairs_per_item')::int,
		(o ->> 'min_count')::bigint, format('%I.%I', c.sch, bundlerec._current(c, '_pair_delta')));
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$body$;

-- Stage "rules": Association rules with arules semantics, the rules_per_item best of each consequent.  Returns its rows.
CREATE FUNCTION bundlerec._stage_rules(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	o jsonb := (c.m).options;
	sch text := c.sch;
	sfx text := c.sfx;
	pair_lines regclass := c.pair_lines;
	mc bigint := ((c.m).options ->> 'min_count')::bigint;
	n bigint;
BEGIN
	EXECUTE format($q$
		CREATE TABLE %1$I.%2$I AS
		SELECT r.antecedent, r.consequent, r.rank::integer AS rank, r.size, r.count, r.support,
		       r.confidence, r.coverage, r.lift, r.leverage, r.conviction, r.fisher_p
		FROM (SELECT r.*, row_number() OVER (PARTITION BY r.consequent
		                                     ORDER BY r.confidence DESC, r.lift DESC, r.antecedent::text COLLATE "C") AS rank
		      FROM %3$s
		           min_support => %4$s, min_confidence => %5$s, max_size => %6$s, min_size => 2,
		           min_count => %7$s) r) r
		WHERE r.rank <= %8$s
		$q$, sch, bundlerec._phys('rules', sfx),
		CASE WHEN bundlerec._order_key(c.m) = 'basket'
		     THEN format('bundlerec.association_rules(%L::regclass, ''basket'', ''item'',', pair_lines)
		     ELSE format('bundlerec.rules((SELECT bundlerec.basket_set(b.items) FROM (%s) b),', bundlerec._baskets_query(c)) END,
		(o ->> 'rules_min_support')::float8,
		(o ->> 'rules_min_confidence')::float8, (o ->> 'rules_max_size')::int, mc,
		(o ->> 'rules_per_item')::int);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$body$;

-- Stage "embeddings": ALS factors of customers and items (warm-started from the current customers on an incremental refresh).  Returns its rows.
CREATE FUNCTION bundlerec._stage_embeddings(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	o jsonb := (c.m).options;
	sch text := c.sch;
	sfx text := c.sfx;
	warm_start regclass := c.warm_start;
	msg_level text;
	n bigint;
BEGIN
	-- ALS's per-iteration NOTICEs would drown the stage NOTICEs
	msg_level := current_setting('client_min_messages');
	IF msg_level IN ('notice', 'info') THEN
		PERFORM set_config('client_min_messages', 'warning', true);
	END IF;
	-- read in key order: ALS's start and sums follow the order rows come
	-- in, which must not be the table's (a copy of the lines gathered from
	-- Citus's shards holds them in another)
	EXECUTE format('CREATE TEMP VIEW _br_als_input AS SELECT x.customer, x.item, x.orders FROM %I.%I x '
	               'ORDER BY x.customer, x.item', sch, bundlerec._current(c, 'customer_items'));
	PERFORM bundlerec.als_train(
		'pg_temp._br_als_input'::regclass, 'customer', 'item',
		format('%I.%I', sch, bundlerec._phys('customer_embeddings', sfx)), format('%I.%I', sch, bundlerec._phys('item_embeddings', sfx)),
		weight => 'orders',
		factors => (o ->> 'factors')::int,
		regularization => (o ->> 'regularization')::float8,
		alpha => (o ->> 'alpha')::float8,
		iterations => CASE WHEN warm_start IS NOT NULL THEN (o ->> 'incremental_iterations')::int
		                   ELSE (o ->> 'iterations')::int END,
		warm_start => warm_start);
	PERFORM set_config('client_min_messages', msg_level, true);
	DROP VIEW _br_als_input;
	-- als_train gives both tables a primary key on their first column
	EXECUTE format('SELECT count(*) FROM %I.%I', sch, bundlerec._phys('item_embeddings', sfx)) INTO n;
	RETURN n;
END
$body$;

-- Stage "item weights": signed EASE weights over the orders pairs count
-- (those under max_basket_items), the ease_per_item largest |weight| of
-- each item, through bundlerec._ease_weights, the one EASE entry.  A
-- catalogue too large for it (SQLSTATE 54000) leaves the table empty with
-- a NOTICE rather than failing the refresh.  Returns its rows.
CREATE FUNCTION bundlerec._stage_item_weights(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	o jsonb := (c.m).options;
	t text := format('%I.%I', c.sch, bundlerec._phys('item_weights', c.sfx));
	n bigint := 0;
	msg text;
BEGIN
	EXECUTE format('CREATE TABLE %s (item text NOT NULL, rank integer NOT NULL, neighbor text NOT NULL, '
	               'weight double precision NOT NULL)', t);
	-- read in key order: EASE numbers items as they come, and the rounding
	-- of its inverse follows that numbering, which must not be the table's
	-- (a copy of the lines gathered from Citus's shards holds them in another)
	EXECUTE format('CREATE OR REPLACE TEMP VIEW _br_ease_input AS SELECT l.basket, l.item FROM %s l '
	               'ORDER BY l.item COLLATE "C", l.basket COLLATE "C"', c.pair_lines);
	BEGIN
		-- ranked by |weight|, ties by neighbour in "C" order, so that the
		-- rows kept do not depend on the engine's output order
		EXECUTE format($q$
			INSERT INTO %1$s
			SELECT w.item, (row_number() OVER (PARTITION BY w.item
			                                   ORDER BY abs(w.score) DESC, w.neighbor COLLATE "C"))::integer,
			       w.neighbor, w.score
			FROM bundlerec._ease_weights('pg_temp._br_ease_input'::regclass, 'basket', 'item', %2$s, %3$s, %4$s) w
			WHERE w.score OPERATOR(pg_catalog.<>) 0::float8
			$q$, t, (o ->> 'ease_regularization')::float8, (o ->> 'ease_per_item')::int,
			(o ->> 'min_count')::int);
		GET DIAGNOSTICS n = ROW_COUNT;
	EXCEPTION WHEN program_limit_exceeded THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
		RAISE NOTICE 'bundlerec %: item_weights left empty: %', (c.m).name, msg
			USING HINT = 'complete_cart then blends pairs, rules and neighbours only; raise bundlerec.memory_limit or min_count, or set the model option ease to false.';
		n := 0;
	END;
	DROP VIEW pg_temp._br_ease_input;
	RETURN n;
END
$body$;

-- Stage "similar items": Nearest items by cosine of their ALS vectors.  Returns its rows.
CREATE FUNCTION bundlerec._stage_similar_items(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	o jsonb := (c.m).options;
	sch text := c.sch;
	sfx text := c.sfx;
	n bigint;
BEGIN
	EXECUTE format($q$
		CREATE TABLE %1$I.%2$I AS
		SELECT s.item, s.rank, s.neighbor, s.similarity::float8 AS similarity
		FROM bundlerec.als_similar_items(%3$L::regclass, %4$s) s
		$q$, sch, bundlerec._phys('similar_items', sfx), format('%I.%I', sch, bundlerec._current(c, 'item_embeddings')),
		(o ->> 'similar_per_item')::int);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$body$;

-- Writes "per customer" result t from query q (the rows of the customers
-- recomputed): a new table when every customer is, else in place, the
-- recomputed customers' rows replaced in the current table and every other
-- customer's kept (readers see the old rows until the refresh commits, and
-- nothing is copied or indexed anew).  Returns the rows written.
CREATE FUNCTION bundlerec._write_customers(c bundlerec._build_context, t text, q text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	n bigint;
BEGIN
	IF c.touched IS NULL THEN
		EXECUTE format('CREATE TABLE %I.%I AS %s', c.sch, bundlerec._phys(t, c.sfx), q);
	ELSE
		EXECUTE format('DELETE FROM %I.%I o USING %s tc WHERE o.customer OPERATOR(pg_catalog.=) tc.customer',
		               c.sch, bundlerec._phys(t, NULL, c.cur), c.touched);
		EXECUTE format('INSERT INTO %I.%I %s', c.sch, bundlerec._phys(t, NULL, c.cur), q);
	END IF;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$body$;

-- The recommendations of a model from its tables (recommendations.c).
CREATE FUNCTION bundlerec._recommendations(customer_items regclass, customers regclass,
	customer_factors regclass, item_factors regclass, repeat_weight float8, model_weight float8,
	k integer, candidates integer, only_customers regclass)
RETURNS TABLE (customer text, rank integer, item text, score float8, repeat_part float8,
	model_part float8, bought bigint, customer_orders bigint, rank_new integer)
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_recommendations';

-- Stage "recommendations": Items per customer: the repeat share blended with the ALS preference.  Returns its rows.
-- Candidates are the items a customer bought and their twice
-- recommendations_per_customer best ALS items; the best of them are kept,
-- and the best of the items the customer never bought (rank_new).
CREATE FUNCTION bundlerec._stage_recommendations(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	o jsonb := (c.m).options;
	has_embeddings boolean := (c.m).customer IS NOT NULL AND ((c.m).options ->> 'embeddings')::boolean;
BEGIN
	RETURN bundlerec._write_customers(c, 'recommendations', format(
		'SELECT * FROM bundlerec._recommendations(%L, %L, %L, %L, %s, %s, %s, %s, %L)',
		format('%I.%I', c.sch, bundlerec._current(c, 'customer_items')),
		format('%I.%I', c.sch, bundlerec._current(c, 'customers')),
		CASE WHEN has_embeddings THEN format('%I.%I', c.sch, bundlerec._current(c, 'customer_embeddings')) END,
		CASE WHEN has_embeddings THEN format('%I.%I', c.sch, bundlerec._current(c, 'item_embeddings')) END,
		(o ->> 'repeat_weight')::float8, (o ->> 'model_weight')::float8,
		(o ->> 'recommendations_per_customer')::int, 2 * (o ->> 'recommendations_per_customer')::int,
		c.touched));
END
$body$;

-- Stage "item bundles": Bundles around every item, by generate_bundles.  Returns its rows.
-- Bundles are priced at items.price: each line carries its item's
-- published price, so a bundle's list price is the sum of its items'
-- prices, wholesale orders left out or not.  An anchor with a name is
-- called by it in the explanation ("40% of WHITE METAL LANTERN buyers took
-- the rest" for "40% of anchor buyers ...").  With a products source, a
-- bundle's score also counts how alike its items are (content_neighbors,
-- built before this stage), by bundle_alike_weight: on held-out orders,
-- bundles of alike products were bought together more often than their
-- cohesion alone says (README, "Bundles of alike products").
CREATE FUNCTION bundlerec._stage_item_bundles(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	m bundlerec.models := c.m;
	o jsonb := (c.m).options;
	sch text := c.sch;
	items text := bundlerec._current(c, 'items');
	src regclass := c.pair_lines;
	n bigint;
BEGIN
	IF m.price IS NOT NULL THEN
		-- grouped, so that the planner drops the join where only baskets are read
		EXECUTE format('CREATE OR REPLACE TEMP VIEW _br_priced_lines AS SELECT l.basket, l.item, i.price FROM %s l '
		               'LEFT JOIN (SELECT x.item, pg_catalog.max(x.price) AS price FROM %I.%I x GROUP BY x.item) i '
		               'ON i.item OPERATOR(pg_catalog.=) l.item', c.pair_lines, sch, items);
		src := 'pg_temp._br_priced_lines'::regclass;
	END IF;
	EXECUTE format($q$
		CREATE TABLE %1$I.%2$I AS
		SELECT (b.anchor)[1] AS anchor, b.rank, b.items, b.size, b.count, b.support, b.cohesion,
		       b.min_npmi, b.mean_lift, b.list_price, b.bundle_price, b.accept_probability,
		       b.expected_revenue, b.score,
		       coalesce(replace(b.explanation, ' of anchor buyers ', ' of ' || a.name || ' buyers '),
		                b.explanation) AS explanation, b.alike
		FROM bundlerec.generate_bundles(%3$L::regclass, 'basket', 'item', anchor => NULL,
		       max_size => %4$s, k => %5$s, min_count => %6$s, price => %7$L,
		       discount => %8$s, beam => %9$s, shrinkage => %10$s,
		       content => %12$L::regclass, alike_weight => %13$s, whole_share => %14$s) b
		LEFT JOIN %1$I.%11$I a ON a.item = (b.anchor)[1]
		$q$, sch, bundlerec._phys('item_bundles', c.sfx), src, (o ->> 'bundle_max_size')::int,
		(o ->> 'bundles_per_item')::int, (o ->> 'min_count')::bigint,
		CASE WHEN m.price IS NOT NULL THEN 'price' END,
		(o ->> 'discount')::float8, (o ->> 'beam')::int, (o ->> 'shrinkage')::float8, items,
		CASE WHEN m.products IS NOT NULL THEN format('%I.%I', sch, bundlerec._current(c, 'content_neighbors')) END,
		CASE WHEN m.products IS NOT NULL THEN (o ->> 'bundle_alike_weight')::float8 ELSE 0 END,
		coalesce((o ->> 'bundle_whole_share')::float8::text, 'NULL'));
	GET DIAGNOSTICS n = ROW_COUNT;
	IF m.price IS NOT NULL THEN
		DROP VIEW pg_temp._br_priced_lines;
	END IF;
	RETURN n;
END
$body$;

-- The customer bundles of a model from its tables (customer_bundles.c).
CREATE FUNCTION bundlerec._customer_bundles(customer_items regclass, customers regclass,
	item_bundles regclass, items regclass, customer_factors regclass, item_factors regclass,
	repeat_weight float8, model_weight float8, cohesion_weight float8, k integer, only_customers regclass)
RETURNS TABLE (customer text, rank integer, rank_new integer, anchor text, items text[], size integer,
	new_items integer, score float8, repeat_part float8, model_part float8, cohesion float8,
	accept_probability float8, explanation text)
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bundlerec_customer_bundles';

-- Stage "customer bundles": Bundles per customer, anchored on their 20 most bought items.  Returns its rows.
CREATE FUNCTION bundlerec._stage_customer_bundles(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	o jsonb := (c.m).options;
	has_embeddings boolean := (c.m).customer IS NOT NULL AND ((c.m).options ->> 'embeddings')::boolean;
BEGIN
	RETURN bundlerec._write_customers(c, 'customer_bundles', format(
		'SELECT * FROM bundlerec._customer_bundles(%L, %L, %L, %L, %L, %L, %s, %s, %s, %s, %L)',
		format('%I.%I', c.sch, bundlerec._current(c, 'customer_items')),
		format('%I.%I', c.sch, bundlerec._current(c, 'customers')),
		format('%I.%I', c.sch, bundlerec._current(c, 'item_bundles')),
		format('%I.%I', c.sch, bundlerec._current(c, 'items')),
		CASE WHEN has_embeddings THEN format('%I.%I', c.sch, bundlerec._current(c, 'customer_embeddings')) END,
		CASE WHEN has_embeddings THEN format('%I.%I', c.sch, bundlerec._current(c, 'item_embeddings')) END,
		(o ->> 'repeat_weight')::float8, (o ->> 'model_weight')::float8,
		(o ->> 'cohesion_weight')::float8, (o ->> 'bundles_per_customer')::int, c.touched));
END
$body$;

-- Whether every result of model m that a refresh brings up to date the way
-- named by kind (bundlerec.result_tables.refresh) has a current table, in
-- schema sch as cur maps it, with the declared columns: what an
-- incremental refresh keeps or writes in place must (a table made by an
-- earlier version may lack a column; then it is built anew).
-- Stage "products": every product of the products source, with its orders so far.  Returns its rows.
CREATE FUNCTION bundlerec._stage_products(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	m bundlerec.models := c.m;
	pc jsonb := m.product_columns;
	n bigint;
BEGIN
	EXECUTE format($q$
		CREATE TABLE %1$I.%2$I AS
		SELECT p.item, p.name, p.category, %3$s AS price, coalesce(i.orders, 0)::bigint AS orders
		FROM (%4$s) p
		JOIN %5$s s ON s.%6$I::text = p.item
		LEFT JOIN %1$I.%7$I i ON i.item = p.item
		$q$, c.sch, bundlerec._phys('products', c.sfx),
		CASE WHEN pc ? 'price'
		     THEN format('CASE WHEN s.%1$I::numeric OPERATOR(pg_catalog.>) 0 AND s.%1$I::numeric OPERATOR(pg_catalog.<) ''Infinity''::numeric THEN round(s.%1$I::numeric, 4) END', pc ->> 'price')
		     ELSE 'NULL::numeric' END,
		bundlerec._product_attributes(m), m.products, pc ->> 'key', bundlerec._current(c, '_item_counts'));
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$body$;

-- Stage "content": The content_neighbors most alike products of every product: cosine of their embeddings, else TF-IDF over name, category, attributes and price band.  Returns its rows.
CREATE FUNCTION bundlerec._stage_content(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	m bundlerec.models := c.m;
	pc jsonb := m.product_columns;
	k integer := (m.options ->> 'content_neighbors')::int;
	n bigint;
BEGIN
	IF pc ? 'embedding' THEN
		EXECUTE format($q$
			CREATE TABLE %1$I.%2$I AS
			SELECT e.item, e.rank, e.neighbor, e.similarity::float8 AS similarity, 'embedding'::text AS basis
			FROM bundlerec.embedding_neighbors(%3$L::regclass, %4$L, %5$L, %6$s) e
			$q$, c.sch, bundlerec._phys('content_neighbors', c.sfx), m.products, pc ->> 'key', pc ->> 'embedding', k);
	ELSE
		EXECUTE format($q$
			CREATE TABLE %1$I.%2$I AS
			SELECT n.item, row_number() OVER (PARTITION BY n.item ORDER BY n.score DESC, n.neighbor COLLATE "C")::integer AS rank,
			       n.neighbor, n.score AS similarity, 'text'::text AS basis
			FROM bundlerec.content_neighbors(%3$L::regclass, %4$L, %5$L::text[], %6$L, %7$L, 5, %8$s) n
			$q$, c.sch, bundlerec._phys('content_neighbors', c.sfx), m.products, pc ->> 'key',
			ARRAY(SELECT x FROM (SELECT pc ->> 'category' AS x, 0 AS o
			                     UNION ALL SELECT a, 1 FROM jsonb_array_elements_text(coalesce(pc -> 'attributes', '[]')) a) y
			      WHERE x IS NOT NULL ORDER BY o),
			pc ->> 'name', pc ->> 'price', k);
	END IF;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$body$;

/*
 * Stage "cold start": for the products with fewer than cold_start_orders
 * orders, lists served in place of their own.  together: the partners of
 * their content neighbours, the neighbours' orders pooled, each weighing by
 * its similarity: sum sim * count(n, j) / sum sim * orders(n) over the
 * neighbours with orders (bundlerec._cold_partners, exact pair counts of at
 * least min_count orders), so a partner of one weak or rarely bought
 * neighbour scores low; similar: their content neighbours.  Each is
 * blended with the product's own list (pairs' confidence; ALS cosine) by
 * content_weight = s / (s + orders), s = cold_start_shrinkage: a product
 * never sold is all content, and its own evidence takes over as its
 * orders grow.  Returns its rows.
 */
CREATE FUNCTION bundlerec._stage_cold_start(c bundlerec._build_context)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	o jsonb := (c.m).options;
	sim_t text := bundlerec._current(c, 'similar_items');
	n bigint;
BEGIN
	IF sim_t IS NULL OR to_regclass(format('%I.%I', c.sch, sim_t)) IS NULL THEN
		sim_t := NULL;
	END IF;
	DROP TABLE IF EXISTS pg_temp._br_cold_neighbors;
	EXECUTE format($q$
		CREATE TEMP TABLE _br_cold_neighbors ON COMMIT DROP AS
		SELECT n.item, n.neighbor, n.similarity
		FROM %1$I.%2$I p JOIN %1$I.%3$I n ON n.item = p.item
		WHERE p.orders < %4$s AND n.similarity > 0
		$q$, c.sch, bundlerec._current(c, 'products'), bundlerec._current(c, 'content_neighbors'),
		(o ->> 'cold_start_orders')::bigint);
	EXECUTE format($q$
		CREATE TABLE %1$I.%2$I AS
		WITH cold AS (
			SELECT p.item, p.orders,
			       coalesce(%7$s::float8 / nullif(%7$s::float8 + p.orders, 0), 1) AS w
			FROM %1$I.%3$I p WHERE p.orders < %6$s
		), content_part AS (
			SELECT x.item, x.partner AS other, x.score, x.via AS neighbor, x.via_similarity AS similarity,
			       x.via_confidence AS confidence
			FROM bundlerec._cold_partners(%12$L::regclass, %13$L::regclass, %14$L::regclass,
			                              'pg_temp._br_cold_neighbors'::regclass, %15$s, %8$s * 2) x
		), own AS (
			SELECT p.item, p.partner AS other, p.confidence
			FROM cold c JOIN %1$I.%5$I p ON p.item = c.item
		), als AS (
			%11$s
		), lists AS (
			SELECT 'together'::text AS list, c.item, coalesce(cp.other, w.other) AS other,
			       c.w * coalesce(cp.score, 0) + (1 - c.w) * coalesce(w.confidence, 0) AS score,
			       c.w AS content_weight, cp.neighbor AS via, cp.similarity AS via_similarity,
			       cp.confidence AS via_confidence, c.orders AS item_orders
			FROM (content_part cp FULL JOIN own w ON w.item = cp.item AND w.other = cp.other)
			JOIN cold c ON c.item = coalesce(cp.item, w.item)
			UNION ALL
			SELECT 'similar', c.item, coalesce(n.neighbor, a.other),
			       c.w * coalesce(n.similarity, 0) + (1 - c.w) * coalesce(a.similarity, 0),
			       c.w, NULL::text, n.similarity, NULL::float8, c.orders
			FROM ((SELECT n.item, n.neighbor, n.similarity FROM cold c JOIN %1$I.%4$I n ON n.item = c.item) n
			      FULL JOIN als a ON a.item = n.item AND a.other = n.neighbor)
			JOIN cold c ON c.item = coalesce(n.item, a.item)
		)
		SELECT x.item, x.list, x.rank, x.other, x.score, x.content_weight, x.via, x.via_similarity,
		       x.via_confidence, x.item_orders
		FROM (SELECT l.*, row_number() OVER (PARTITION BY l.item, l.list
		                                     ORDER BY l.score DESC, l.other COLLATE "C")::integer AS rank
		      FROM lists l WHERE l.score > 0) x
		WHERE x.rank <= CASE x.list WHEN 'together' THEN %8$s ELSE %9$s END
		$q$, c.sch, bundlerec._phys('cold_start', c.sfx), bundlerec._current(c, 'products'),
		bundlerec._current(c, 'content_neighbors'), bundlerec._current(c, 'pairs'),
		(o ->> 'cold_start_orders')::bigint, (o ->> 'cold_start_shrinkage')::float8,
		(o ->> 'pairs_per_item')::int, (o ->> 'similar_per_item')::int, bundlerec._current(c, 'items'),
		CASE WHEN sim_t IS NULL THEN 'SELECT NULL::text AS item, NULL::text AS other, NULL::float8 AS similarity WHERE false'
		     ELSE format('SELECT s.item, s.neighbor AS other, s.similarity FROM cold c JOIN %I.%I s ON s.item = c.item', c.sch, sim_t) END,
		format('%I.%I', c.sch, bundlerec._current(c, '_pair_counts')), format('%I.%I', c.sch, bundlerec._current(c, '_pair_delta')),
		format('%I.%I', c.sch, bundlerec._current(c, '_item_counts')), (o ->> 'min_count')::bigint);
	GET DIAGNOSTICS n = ROW_COUNT;
	DROP TABLE pg_temp._br_cold_neighbors;
	RETURN n;
END
$body$;

CREATE FUNCTION bundlerec._current_as_declared(m bundlerec.models, sch text, cur jsonb, kind text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
SELECT coalesce(bool_and(CASE WHEN cur ? d.name THEN
	ARRAY(SELECT a.attname::text FROM pg_attribute a
	      WHERE a.attrelid = to_regclass(format('%I.%I', sch, cur ->> d.name))
	        AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) = d.columns
	ELSE false END), true)
FROM bundlerec._result_tables(m) d WHERE d.refresh = kind
$body$;

/*
 * Builds every result of model m from the order lines in lines, in schema
 * sch, as tables named by bundlerec._phys(result, sfx): the read step, then
 * one function per declared stage, in the declared order.  With
 * incremental, the count tables are brought up to date in place from the
 * orders new since wm; otherwise they are built anew like the rest.
 * Returns the stages, the results built, and what the read step found.
 */
CREATE FUNCTION bundlerec._build(
	m bundlerec.models,
	lines regclass,
	sch text,
	sfx text,
	incremental boolean,
	wm timestamptz,
	warm_start regclass DEFAULT NULL,
	cur jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	t0 timestamptz := clock_timestamp();
	facts jsonb := bundlerec._read_lines(m, lines, incremental, wm);
	stages jsonb := jsonb_build_array(bundlerec._stage(m.name,
		CASE WHEN incremental THEN 'new order lines' ELSE 'order lines' END, (facts ->> 'rows_read')::bigint, t0));
	c bundlerec._build_context := ROW(m, lines, (facts ->> 'pair_lines')::regclass, sch, sfx, incremental,
	                                  coalesce(cur, '{}'), warm_start, (facts ->> 'n_baskets')::bigint,
	                                  NULL);
	stage text;
	n bigint;
	customers_at bigint;
	models_at bigint;
	keep_models boolean := false;
BEGIN
	-- "model" results (rules, embeddings, similar items, item bundles) are
	-- mined from all the orders; an incremental refresh keeps them until
	-- the orders have grown by more than model_refresh_growth since they
	-- were built
	IF incremental THEN
		SELECT coalesce((h.metrics ->> 'models_at')::bigint, (h.metrics ->> 'orders')::bigint) INTO models_at
		FROM bundlerec.refresh_history h
		WHERE h.model = m.name AND h.kind IN ('full', 'incremental')
		ORDER BY h.id DESC LIMIT 1;
		keep_models := coalesce(c.n_baskets <= models_at * (1 + (m.options ->> 'model_refresh_growth')::float8), false)
		               AND bundlerec._current_as_declared(m, sch, c.cur, 'model');
		IF keep_models THEN
			RAISE NOTICE 'bundlerec %: % orders, % when rules, embeddings and bundles were built: they are kept',
				m.name, c.n_baskets, models_at
				USING HINT = 'The model option model_refresh_growth sets how much the orders may grow before they are built again.';
		END IF;
	END IF;
	-- "per customer" results: on an incremental refresh only the customers
	-- with new orders are recomputed, until the orders have grown by more
	-- than customer_refresh_growth since every customer was
	IF incremental AND m.customer IS NOT NULL THEN
		SELECT (h.metrics ->> 'customers_at')::bigint INTO customers_at
		FROM bundlerec.refresh_history h
		WHERE h.model = m.name AND h.kind IN ('full', 'incremental')
		ORDER BY h.id DESC LIMIT 1;
		IF c.n_baskets <= customers_at * (1 + (m.options ->> 'customer_refresh_growth')::float8)
		   AND bundlerec._current_as_declared(m, sch, c.cur, 'per customer') THEN
			DROP TABLE IF EXISTS pg_temp._br_touched;
			CREATE TEMP TABLE _br_touched ON COMMIT DROP AS
				SELECT DISTINCT d.customer FROM pg_temp._br_delta d WHERE d.customer IS NOT NULL;
			ANALYZE pg_temp._br_touched;
			c.touched := 'pg_temp._br_touched'::regclass;
		ELSE
			RAISE NOTICE 'bundlerec %: % orders, % when every customer was last computed: all customers are recomputed',
				m.name, c.n_baskets, coalesce(customers_at::text, 'unknown')
				USING HINT = 'The model option customer_refresh_growth sets how much the orders may grow before they are.';
		END IF;
	END IF;
	FOR stage IN SELECT r.stage FROM bundlerec._result_tables(m) r
	             GROUP BY r.stage HAVING NOT (keep_models AND bool_and(r.refresh = 'model'))
	             ORDER BY min(r.position) LOOP
		t0 := clock_timestamp();
		EXECUTE format('SELECT bundlerec.%I($1)', '_stage_' || replace(stage, ' ', '_')) INTO n USING c;
		stages := stages || bundlerec._stage(m.name,
			stage || CASE WHEN stage = 'embeddings' AND warm_start IS NOT NULL THEN ' (warm start)' ELSE '' END, n, t0);
	END LOOP;
	IF incremental THEN
		DROP TABLE pg_temp._br_delta;
	END IF;
	IF c.touched IS NOT NULL THEN
		DROP TABLE pg_temp._br_touched;
	END IF;
	IF c.pair_lines <> lines THEN
		DROP VIEW pg_temp._br_pair_lines;
	END IF;
	RETURN facts - 'pair_lines' || jsonb_build_object(
		'customers_at', CASE WHEN c.touched IS NOT NULL THEN customers_at ELSE c.n_baskets END,
		'models_at', CASE WHEN keep_models THEN models_at ELSE c.n_baskets END,
		'stages', stages, 'built', to_jsonb(ARRAY(
		SELECT r.name FROM bundlerec._result_tables(m) r
		WHERE to_regclass(format('%I.%I', sch, bundlerec._phys(r.name, sfx))) IS NOT NULL
		ORDER BY r.position)));
END
$body$;

-- Makes the tables just built ready to publish, before any lock is taken:
-- their columns checked against the declaration, keys and indexes, ANALYZE
-- and a comment.  Returns the rows of each.
CREATE FUNCTION bundlerec._prepare(m bundlerec.models, sch text, sfx text, built text[])
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	r bundlerec.result_tables;
	t text;
	cols text[];
	idx text;
	n bigint;
	rows jsonb := '{}';
BEGIN
	FOR r IN SELECT * FROM bundlerec.result_tables d WHERE d.name = ANY (built) ORDER BY d.position LOOP
		t := bundlerec._phys(r.name, sfx);
		SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO cols FROM pg_attribute a
		WHERE a.attrelid = format('%I.%I', sch, t)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
		IF cols IS DISTINCT FROM r.columns THEN
			RAISE EXCEPTION 'bundlerec %: table % was built with columns %, not the declared %', m.name, r.name, cols, r.columns
				USING ERRCODE = 'internal_error', HINT = 'This is a bug in bundlerec; please report it.';
		END IF;
		IF r.primary_key <> '{}'
		   AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = format('%I.%I', sch, t)::regclass AND i.indisprimary) THEN
			EXECUTE format('ALTER TABLE %I.%I ADD PRIMARY KEY (%s)', sch, t,
			               (SELECT string_agg(quote_ident(c), ', ') FROM unnest(r.primary_key) c));
		END IF;
		FOREACH idx IN ARRAY r.indexes LOOP
			EXECUTE format('CREATE %s INDEX ON %I.%I %s', CASE WHEN idx LIKE 'UNIQUE %' THEN 'UNIQUE' ELSE '' END,
			               sch, t, CASE WHEN idx LIKE 'UNIQUE %' THEN substr(idx, 8) ELSE idx END);
		END LOOP;
		EXECUTE format('ANALYZE %I.%I', sch, t);
		IF sfx <> '' THEN
			EXECUTE format('COMMENT ON TABLE %I.%I IS %L', sch, t,
			               format('bundlerec model %s: the %s behind view %s (read the view)', m.name,
			                      CASE WHEN sfx LIKE '\_g%' THEN 'generation ' || substr(sfx, 3) ELSE 'rows' END, r.name));
		END IF;
		EXECUTE format('SELECT count(*) FROM %I.%I', sch, t) INTO n;
		rows := rows || jsonb_build_object(r.name, n);
	END LOOP;
	RETURN rows;
END
$body$;

/*
 * Takes the locks that publishing or dropping model m needs, in the one
 * order that serving shares: first the model's advisory lock (serving calls
 * hold it shared, so they finish first and later ones queue behind us),
 * then rels.  A statement may hold some of rels (a report joining result
 * tables) and then want the advisory lock (a serving call), so while we
 * hold the advisory lock we never wait: rels are taken NOWAIT, and when one
 * is busy everything is given back and tried again a little later.  After
 * 50 tries (about 1.5 s of busy readers) each table is waited for up to
 * 200 ms, and after 100 as long as lock_timeout says.  A deadlock found
 * while we wait is ours to give way to: it is retried like a busy table.
 */
CREATE FUNCTION bundlerec._lock_results(m bundlerec.models, rels regclass[])
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	saved text := current_setting('lock_timeout');
	tries integer := 0;
	list text := (SELECT string_agg(r::text, ', ' ORDER BY o) FROM unnest(rels) WITH ORDINALITY u(r, o) WHERE r IS NOT NULL);
BEGIN
	LOOP
		BEGIN
			PERFORM set_config('lock_timeout', CASE WHEN tries < 100 THEN '200ms' ELSE saved END, true);
			PERFORM pg_advisory_xact_lock(bundlerec._lock_key(m.name));
			IF list IS NOT NULL THEN
				EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE%s', list, CASE WHEN tries < 50 THEN ' NOWAIT' ELSE '' END);
			END IF;
			PERFORM set_config('lock_timeout', saved, true);
			RETURN;
		EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
			tries := tries + 1;
			IF tries % 25 = 0 THEN
				RAISE NOTICE 'bundlerec %: waiting for readers of the results (try %)', m.name, tries;
			END IF;
			PERFORM pg_sleep(0.02 * (1 + random()));
		END;
	END LOOP;
END
$body$;

/*
 * Publishes the tables just built: each result's view is pointed at its new
 * table and the old one dropped, all under _lock_results, so the step is
 * short and readers see either the old results or the new.  Views (and so
 * their grants, comments and the user's views on them) live as long as the
 * model.  Returns the model's new map of current tables.
 */
CREATE FUNCTION bundlerec._publish(m bundlerec.models, sfx text, built text[])
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
	sch name := m.results_schema;
	r bundlerec.result_tables;
	cur jsonb := m.tables;
	old text;
	c record;
BEGIN
	PERFORM bundlerec._lock_results(m, ARRAY(
		SELECT x.rel FROM (
			SELECT d.position, 1 AS o, to_regclass(format('%I.%I', sch, d.name)) AS rel
			FROM bundlerec.result_tables d WHERE d.name = ANY (built)
			UNION ALL
			SELECT d.position, 2, to_regclass(format('%I.%I', sch, cur ->> d.name))
			FROM bundlerec.result_tables d WHERE d.name = ANY (built) AND cur ? d.name) x
		WHERE x.rel IS NOT NULL ORDER BY x.o, x.position));
	FOR r IN SELECT * FROM bundlerec.result_tables d WHERE d.name = ANY (built) ORDER BY d.position LOOP
		old := cur ->> r.name;
		IF to_regclass(format('%I.%I', sch, r.name)) IS NULL THEN
			EXECUTE format('CREATE VIEW %I.%I AS SELECT %s FROM %I.%I', sch, r.name,
			               (SELECT string_agg(quote_ident(x), ', ') FROM unnest(r.columns) x), sch, bundlerec._phys(r.name, sfx));
			EXECUTE format('COMMENT ON VIEW %I.%I IS %L', sch, r.name, format('bundlerec model %s: %s', m.name, r.comment));
			FOR c IN SELECT * FROM jsonb_each_text(r.column_comments) LOOP
				EXECUTE format('COMMENT ON COLUMN %I.%I.%I IS %L', sch, r.name, c.key, c.value);
			END LOOP;
		ELSE
			EXECUTE format('CREATE OR REPLACE VIEW %I.%I AS SELECT %s FROM %I.%I', sch, r.name,
			               (SELECT string_agg(quote_ident(x), ', ') FROM unnest(r.columns) x), sch, bundlerec._phys(r.name, sfx));
		END IF;
		IF old IS NOT NULL AND old <> bundlerec._phys(r.name, sfx) THEN
			EXECUTE format('DROP TABLE %I.%I', sch, old);
		END IF;
		cur := cur || jsonb_build_object(r.name, bundlerec._phys(r.name, sfx));
	END LOOP;
	RETURN cur;
END
$body$;

-- VOLATILE: rebuilds the model's results.  citus.enable_ddl_propagation
-- off (a mere placeholder without Citus): the build's temporary views and
-- tables are this node's own, and Citus would warn of each temporary view
-- and refuse to drop one named pg_temp.x.
CREATE FUNCTION bundlerec.refresh(name text, incremental boolean DEFAULT false)
RETURNS TABLE (stage text, rows bigint, seconds double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET citus.enable_ddl_propagation = off
AS $body$
DECLARE
	m bundlerec.models;
	started timestamptz := clock_timestamp();
	t1 timestamptz;
	lines regclass;
	inc boolean := coalesce(incremental, false);
	res jsonb;
	built text[];
	sizes jsonb;
	new_tables jsonb;
	warm regclass;
	now_lines bigint;
	kind text;
	sfx text;
	written bigint;
BEGIN
	PERFORM bundlerec._model(refresh.name);
	BEGIN
		SELECT * INTO m FROM bundlerec.models mm WHERE mm.name = refresh.name FOR UPDATE NOWAIT;
	EXCEPTION WHEN lock_not_available THEN
		RAISE EXCEPTION 'model "%" is being refreshed by another session', refresh.name
			USING ERRCODE = 'lock_not_available',
			      HINT = 'Wait for that refresh to finish; its results replace the current ones when it commits.';
	END;
	PERFORM bundlerec._check_source(m);
	m.product_columns := bundlerec._check_products(m);
	-- defaults for options the stored ones lack (a model made by an earlier version)
	m.options := bundlerec._check_options(m.options);
	lines := bundlerec._lines_view(m, '_br_lines');

	IF inc THEN
		IF m.ordered_at IS NULL THEN
			RAISE NOTICE 'bundlerec %: no ordered_at column, so a full refresh', m.name;
			inc := false;
		ELSIF m.last_refresh IS NULL OR m.watermark IS NULL
		      OR NOT bundlerec._current_as_declared(m, m.results_schema, m.tables, 'counted') THEN
			RAISE NOTICE 'bundlerec %: no earlier refresh to build on, so a full refresh', m.name;
			inc := false;
		ELSE
			EXECUTE format('SELECT count(*) FROM %s l WHERE NOT (%s)', lines,
			               bundlerec._is_new_line(m.watermark, m.watermark_orders))
			INTO now_lines;
			IF now_lines <> m.watermark_lines THEN
				RAISE NOTICE 'bundlerec %: % lines at or before the watermark % now, % at the last refresh: old orders changed, so a full refresh',
					m.name, now_lines, m.watermark, m.watermark_lines;
				inc := false;
			END IF;
		END IF;
	END IF;
	IF inc AND m.customer IS NOT NULL AND (m.options ->> 'embeddings')::boolean THEN
		warm := CASE WHEN m.tables ? 'customer_embeddings'
		             THEN to_regclass(format('%I.%I', m.results_schema, m.tables ->> 'customer_embeddings')) END;
	END IF;

	-- the next generation of the model's tables
	SELECT '_g' || (1 + coalesce(max(substring(t.value FROM '_g([0-9]+)$')::bigint), 0))::text INTO sfx
	FROM jsonb_each_text(m.tables) t;
	res := bundlerec._build(m, lines, m.results_schema, sfx, inc, m.watermark, warm, m.tables);
	built := ARRAY(SELECT jsonb_array_elements_text(res -> 'built'));
	t1 := clock_timestamp();
	sizes := bundlerec._prepare(m, m.results_schema, sfx, built);
	res := jsonb_set(res, '{stages}', (res -> 'stages')
		|| bundlerec._stage(m.name, 'keys, indexes, statistics', cardinality(built), t1));
	t1 := clock_timestamp();
	new_tables := bundlerec._publish(m, sfx, built);
	res := jsonb_set(res, '{stages}', (res -> 'stages') || bundlerec._stage(m.name, 'publish', cardinality(built), t1));
	EXECUTE format('DROP VIEW %s', lines);

	SELECT coalesce(sum((sizes ->> d.name)::bigint), 0) INTO written
	FROM bundlerec._result_tables(m) d WHERE d.served AND d.refresh <> 'counted';
	kind := CASE WHEN inc THEN 'incremental' ELSE 'full' END;
	UPDATE bundlerec.models mm
	SET last_refresh = clock_timestamp(), last_refresh_kind = kind,
	    watermark = (res ->> 'watermark')::timestamptz,
	    watermark_lines = (res ->> 'watermark_lines')::bigint,
	    watermark_orders = res -> 'watermark_orders',
	    n_lines = CASE WHEN inc THEN mm.n_lines + (res ->> 'rows_read')::bigint ELSE (res ->> 'rows_read')::bigint END,
	    n_baskets = (res ->> 'n_baskets')::bigint,
	    tables = new_tables
	WHERE mm.name = m.name;
	INSERT INTO bundlerec.refresh_history (model, kind, started_at, finished_at, seconds, rows_read,
	                                       rows_written, watermark, stages, metrics)
	VALUES (m.name, kind, started, clock_timestamp(), extract(epoch FROM clock_timestamp() - started),
	        (res ->> 'rows_read')::bigint, written, (res ->> 'watermark')::timestamptz, res -> 'stages',
	        jsonb_build_object('orders', (res ->> 'n_baskets')::bigint,
	                           'customers_at', (res ->> 'customers_at')::bigint,
	                           'models_at', (res ->> 'models_at')::bigint,
	                           'price_window', m.options ->> 'price_window'));
	RAISE NOTICE 'bundlerec %: % refresh done — % rows written in % s', m.name, kind, written,
		round(extract(epoch FROM clock_timestamp() - started)::numeric, 3);
	RETURN QUERY
		SELECT s ->> 'stage', (s ->> 'rows')::bigint, (s ->> 'seconds')::float8
		FROM jsonb_array_elements(res -> 'stages') s;
END
$body$;

COMMENT ON FUNCTION bundlerec.refresh(text, boolean) IS
	'rebuilds a model''s results aside (new tables with keys, indexes and statistics) and publishes them in one short step behind stable views, in one transaction (a failed or cancelled refresh keeps the old results); incremental => true adds only the orders after the watermark to the counts and warm-starts the embeddings';
