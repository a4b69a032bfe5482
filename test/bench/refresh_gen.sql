-- refresh_bench: a seeded synthetic shop, refresh_bench.shop_lines, one row
-- per order line.  psql variables: lines, customers, items, seed (setseed,
-- in [-1, 1]).
--
--   items     1..:items; category 'cat' || (1 + item % 40); list price
--             round(exp(1 + 3 * random()), 2) (log-uniform, about 2.7 to 55).
--   orders    :lines / 5 orders; customer 1 + floor(random() * :customers)
--             (uniform); ordered_at 2025-01-01 + random() * 365 days.
--   lines     every 10th order holds one planted bundle: bundle b = order % 500
--             (orders 10, 20, ...), items 201 + 3b, 202 + 3b, 203 + 3b; the
--             remaining lines each draw an order uniformly and an item
--             log-uniformly, least(:items, floor(exp(random() * ln(:items + 1))))
--             (P(item = k) ~ 1/k); quantity 1 + floor(-ln(1 - random()) * 0.7).
-- Serial statements in a fixed order, so the same seed gives the same table.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET search_path = refresh_bench, public;

DROP TABLE IF EXISTS shop_lines, gen_orders, gen_items;
SELECT setseed(:seed);
CREATE TABLE gen_items AS
	SELECT i AS item, 'cat' || (1 + i % 40) AS category, round(exp(1 + 3 * random())::numeric, 2) AS price
	FROM generate_series(1, :items) i;
CREATE TABLE gen_orders AS
	SELECT o AS order_id, (1 + floor(random() * :customers))::int AS customer,
	       timestamptz '2025-01-01 00:00+00' + random() * interval '365 days' AS ordered_at
	FROM generate_series(1, greatest(:lines / 5, 1)) o;
ALTER TABLE gen_orders ADD PRIMARY KEY (order_id);
CREATE TABLE shop_lines AS
	WITH planted AS (
		SELECT o.order_id, 201 + 3 * ((o.order_id / 10) % 500) + j AS item
		FROM gen_orders o, generate_series(0, 2) j WHERE o.order_id % 10 = 0),
	drawn AS (
		SELECT (1 + floor(random() * (SELECT count(*) FROM gen_orders)))::int AS order_id,
		       least(:items, floor(exp(random() * ln(:items + 1))))::int AS item
		FROM generate_series(1, :lines - (SELECT count(*) FROM planted)))
	SELECT l.order_id, l.item, o.customer, o.ordered_at,
	       (1 + floor(-ln(1 - random()) * 0.7))::int AS quantity, i.price, i.category
	FROM (SELECT * FROM planted UNION ALL SELECT * FROM drawn) l
	JOIN gen_orders o USING (order_id) JOIN gen_items i USING (item);
DROP TABLE gen_orders, gen_items;

SELECT count(*) AS lines, count(DISTINCT order_id) AS orders, count(DISTINCT customer) AS customers,
       count(DISTINCT item) AS items, count(DISTINCT category) AS categories,
       min(ordered_at)::date AS first_day, max(ordered_at)::date AS last_day
FROM shop_lines;
