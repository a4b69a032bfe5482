-- Item and basket key types, key order, and the paircounts value.

-- integer keys come out in numeric order (9 before 10), as text
CREATE TABLE int_lines (basket bigint, item int);
INSERT INTO int_lines VALUES (1, 10), (1, 9), (1, 100), (2, 9), (2, 10), (3, -1), (3, 9);
SELECT item_a, item_b, count_ab, count_a, count_b FROM bundlerec.item_pairs('int_lines', 'basket', 'item');

-- smallint, bigint, varchar and a domain over text are item keys too
CREATE DOMAIN sku AS text CHECK (VALUE ~ '^[A-Z0-9]+$');
CREATE TABLE typed_lines (basket int, i2 smallint, i8 bigint, vc varchar(10), d sku);
INSERT INTO typed_lines VALUES
	(1, 1, 5000000000, 'x', 'A1'), (1, 2, 5000000001, 'y', 'B2'),
	(2, 1, 5000000000, 'x', 'A1'), (2, 2, 5000000001, 'y', 'B2'), (2, 3, 5000000002, 'z', 'C3');
SELECT 'i2' AS col, item_a, item_b, count_ab FROM bundlerec.item_pairs('typed_lines', 'basket', 'i2')
UNION ALL SELECT 'i8', item_a, item_b, count_ab FROM bundlerec.item_pairs('typed_lines', 'basket', 'i8')
UNION ALL SELECT 'vc', item_a, item_b, count_ab FROM bundlerec.item_pairs('typed_lines', 'basket', 'vc')
UNION ALL SELECT 'd', item_a, item_b, count_ab FROM bundlerec.item_pairs('typed_lines', 'basket', 'd')
ORDER BY 1, 2, 3;

-- text keys follow the column's collation: under "C", 'B' sorts before 'a'
CREATE TABLE c_lines (basket int, item text COLLATE "C");
INSERT INTO c_lines VALUES (1, 'a'), (1, 'B'), (1, 'c');
SELECT item_a, item_b FROM bundlerec.item_pairs('c_lines', 'basket', 'item');
SELECT item_a, item_b FROM bundlerec.pairs((SELECT bundlerec.pair_counts(ARRAY['a', 'B', 'c'] COLLATE "C")));

-- baskets of any type: date, uuid, numeric
CREATE TABLE odd_baskets (d date, u uuid, n numeric, item text);
INSERT INTO odd_baskets VALUES
	('2024-01-01', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1.5, 'p'),
	('2024-01-01', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1.5, 'q'),
	('2024-01-02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 2.5, 'p'),
	('2024-01-02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 2.5, 'q'),
	('2024-01-03', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', 3.5, 'q');
SELECT 'date' AS basket, item_a, item_b, count_ab, n_baskets FROM bundlerec.item_pairs('odd_baskets', 'd', 'item')
UNION ALL SELECT 'uuid', item_a, item_b, count_ab, n_baskets FROM bundlerec.item_pairs('odd_baskets', 'u', 'item')
UNION ALL SELECT 'numeric', item_a, item_b, count_ab, n_baskets FROM bundlerec.item_pairs('odd_baskets', 'n', 'item');

-- views, materialized views and partitioned tables are sources
CREATE VIEW int_view AS SELECT basket, item FROM int_lines WHERE item > 0;
CREATE MATERIALIZED VIEW int_matview AS SELECT * FROM int_lines;
CREATE TABLE part_lines (basket int, item int) PARTITION BY RANGE (basket);
CREATE TABLE part_lines_1 PARTITION OF part_lines FOR VALUES FROM (0) TO (2);
CREATE TABLE part_lines_2 PARTITION OF part_lines FOR VALUES FROM (2) TO (10);
INSERT INTO part_lines SELECT * FROM int_lines;
SELECT 'view' AS src, count(*), sum(count_ab) FROM bundlerec.item_pairs('int_view', 'basket', 'item')
UNION ALL SELECT 'matview', count(*), sum(count_ab) FROM bundlerec.item_pairs('int_matview', 'basket', 'item')
UNION ALL SELECT 'partitioned', count(*), sum(count_ab) FROM bundlerec.item_pairs('part_lines', 'basket', 'item');

-- the aggregate per group, and its two-argument form
CREATE TABLE grouped (shop text, items text[]);
INSERT INTO grouped VALUES
	('north', '{a,b}'), ('north', '{a,b,c}'), ('north', '{c}'),
	('south', '{a,c}'), ('south', '{a,c}'), ('south', '{b}');
SELECT shop, p.item_a, p.item_b, p.count_ab, p.n_baskets
FROM (SELECT shop, bundlerec.pair_counts(items) AS pc FROM grouped GROUP BY shop) g,
     bundlerec.pairs(g.pc) p
ORDER BY 1, 2, 3;
SELECT item_a, item_b, count_ab FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items, 2) FROM grouped));

-- a paircounts value survives its text and binary forms and a table
CREATE TABLE stored (pc bundlerec.paircounts);
INSERT INTO stored SELECT bundlerec.pair_counts(items) FROM grouped;
SELECT count(*) AS differences FROM (
	(SELECT * FROM bundlerec.pairs((SELECT pc::text::bundlerec.paircounts FROM stored))
	 EXCEPT SELECT * FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items) FROM grouped)))
	UNION ALL
	(SELECT * FROM bundlerec.pairs((SELECT bundlerec.pair_counts(items) FROM grouped))
	 EXCEPT SELECT * FROM bundlerec.pairs((SELECT pc FROM stored)))) d;
\copy stored TO 'results/stored.bin' WITH (FORMAT binary)
CREATE TABLE restored (pc bundlerec.paircounts);
\copy restored FROM 'results/stored.bin' WITH (FORMAT binary)
SELECT (SELECT pc::text FROM restored) = (SELECT pc::text FROM stored) AS binary_round_trip;
