-- rank_bundles.sql: bundlerec.rank_bundles() against its definition.
--   1. A 3-customer, 3-bundle fixture worked out by hand (the adjugate of
--      X'X + I is written out below): scores, the positive-weights-only
--      rule, exclude_bought, top_k pruning.
--   2. A 9-customer, 5-bundle, 8-item fixture with integer ids, compared
--      with a brute-force oracle written here: the customer x column matrix
--      X ('b:' bundles weight 1, 'i:' items weight item_weight, distinct
--      pairs, items bought by >= min_item_count customers) built in SQL,
--      P = (X'X + lambda I)^-1 by a plpgsql Gauss-Jordan elimination with
--      partial pivoting (checked against a hand inverse and the hand
--      fixture), B_ij = -P_ij / P_jj, the top_k largest positive B_ij toward
--      bundle columns kept (row_number(), ties in key order), scores as sums
--      x_ui * B_ib, ranks by score desc then bundle, k per customer; several
--      parameter settings (item_weight 0 / 0.5 / 1, regularization 1 / 10 /
--      500, top_k 1 / 2 / 3, k 2 / 3 / 4, exclude_bought on and off, no
--      customer_items, the defaults).
--   3. Cohesion: mean shrunk npmi over the bundle's item pairs, customers of
--      customer_items as baskets, worked out by hand for shrinkage 10 and 0
--      and recomputed in SQL by array containment.
--   4. The customers filter, explanations, consecutive ranks, errors.
-- Nothing expected here is computed by bundlerec (the oracle never calls
-- bundlerec.ease or rank_bundles).  Each comparison first checks that the
-- fixture has no near tie (1e-9) at a top_k cut or between ranked bundles,
-- so the tie-break by bundle text between equal scores is not exercised
-- (an exact tie would be decided by rounding in the Cholesky inverse).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS bundlerec;

BEGIN;
SELECT plan(65);

CREATE SCHEMA tap_rank_bundles;
SET LOCAL search_path = tap_rank_bundles, public;
SET LOCAL jit = off;

-- have is close to want: both NULL, or equal, or finite and within rel
-- relative to max(|want|, 1e-6).  NaN is never close.
CREATE FUNCTION near(have float8, want float8, rel float8 DEFAULT 1e-9)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN have IS NULL AND want IS NULL THEN true
		WHEN have IS NULL OR want IS NULL THEN false
		WHEN have = 'NaN' OR want = 'NaN' THEN false
		WHEN have = want THEN true
		ELSE abs(have - want) <= rel * greatest(abs(want), 1e-6)
	END
$$;

------------------------------------------------------------------------------
-- Gauss-Jordan inverse with partial pivoting (the oracle's EASE)
------------------------------------------------------------------------------
CREATE FUNCTION gj_inverse(a float8[]) RETURNS float8[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	n int := array_length(a, 1);
	m float8[];
	r float8[];
	p int;
	piv float8;
	f float8;
	tmp float8;
BEGIN
	m := array_fill(0::float8, ARRAY[n, 2 * n]);
	FOR i IN 1..n LOOP
		FOR j IN 1..n LOOP
			m[i][j] := a[i][j];
		END LOOP;
		m[i][n + i] := 1;
	END LOOP;
	FOR c IN 1..n LOOP
		p := c;
		FOR i IN c + 1..n LOOP
			IF abs(m[i][c]) > abs(m[p][c]) THEN
				p := i;
			END IF;
		END LOOP;
		IF p <> c THEN
			FOR j IN 1..2 * n LOOP
				tmp := m[c][j]; m[c][j] := m[p][j]; m[p][j] := tmp;
			END LOOP;
		END IF;
		piv := m[c][c];
		FOR j IN 1..2 * n LOOP
			m[c][j] := m[c][j] / piv;
		END LOOP;
		FOR i IN 1..n LOOP
			IF i <> c AND m[i][c] <> 0 THEN
				f := m[i][c];
				FOR j IN 1..2 * n LOOP
					m[i][j] := m[i][j] - f * m[c][j];
				END LOOP;
			END IF;
		END LOOP;
	END LOOP;
	r := array_fill(0::float8, ARRAY[n, n]);
	FOR i IN 1..n LOOP
		FOR j IN 1..n LOOP
			r[i][j] := m[i][n + j];
		END LOOP;
	END LOOP;
	RETURN r;
END
$$;

-- G = | 3 1 1 |  det 13, adj = |  6 -2 -3 |   (G adj = 13 I: row 1 x column 1
--     | 1 3 0 |                | -2  5  1 |    = 18 - 2 - 3 = 13, row 1 x
--     | 1 0 2 |                | -3  1  8 |    column 2 = -6 + 5 + 1 = 0, ...)
SELECT is(
	(SELECT array_agg(round((inv[i][j] * 13)::numeric, 9)::text ORDER BY i, j)
	 FROM (SELECT gj_inverse('{{1,0,2},{1,3,0},{3,1,1}}') AS inv) s,
	      generate_series(1, 3) i, generate_series(1, 3) j),
	ARRAY['-3.000000000', '-2.000000000', '6.000000000',
	      '1.000000000', '5.000000000', '-2.000000000',
	      '8.000000000', '1.000000000', '-3.000000000'],
	'oracle check: Gauss-Jordan inverts the row-permuted hand matrix (pivoting) to the permuted adj G / 13');
-- (rows of G in reverse order: P' = (Perm G)^-1 = G^-1 Perm^-1, i.e. the
-- columns of adj G / 13 in reverse order, read row by row)

------------------------------------------------------------------------------
-- The oracle
------------------------------------------------------------------------------
CREATE TABLE bf_lines (customer text, col text, w float8);
CREATE TABLE bf_cols (col text, id int);
CREATE TABLE bf_weight (col text, bundle text, score float8);   -- every B_ij, i <> j, j a bundle column
CREATE TABLE bf_kept (col text, bundle text, score float8);
CREATE TABLE bf_cohesion (bundle text, cohesion float8);
CREATE TABLE bf_ambiguous (what text);
CREATE TABLE bf_overlap (customer text, bundle text, ov float8);
CREATE TABLE bf_graph (customer text, bundle text, gx float8, gb float8);
CREATE TABLE want (customer text, rank int, bundle text, score float8, from_bundles float8,
                   from_items float8, cohesion float8, n_items bigint, via text[]);
CREATE TABLE got (customer text, rank int, bundle text, score float8, from_bundles float8,
                  from_items float8, cohesion float8, explanation text);

-- Fills want with the expected rows of rank_bundles(p_b, p_cb, p_ci, ...),
-- and bf_ambiguous with the places where the fixture would make the
-- expectation depend on rounding (a near tie at the top_k cut, or between
-- two ranked bundles of a customer up to rank k + 1).
CREATE FUNCTION fill_want(p_b regclass, p_cb regclass, p_ci regclass, p_customers text[], p_k int,
                          p_item_weight float8, p_min_item_count int, p_lambda float8, p_top_k int,
                          p_cohesion_weight float8, p_shrinkage float8, p_exclude_bought boolean,
                          p_overlap_weight float8 DEFAULT 0, p_graph_weight float8 DEFAULT 0)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	n int;
	g float8[];
	p float8[];
	gi int;
	gj int;
	gv float8;
BEGIN
	TRUNCATE bf_lines, bf_cols, bf_weight, bf_kept, bf_cohesion, bf_ambiguous, want;
	-- X: a bundle column per bundle of bundles that someone took, weight 1
	-- however many times it was taken
	EXECUTE format($q$INSERT INTO bf_lines
		SELECT cb.customer::text, 'b:' || cb.bundle::text, 1
		FROM %s cb WHERE cb.customer IS NOT NULL
		  AND EXISTS (SELECT 1 FROM %s b WHERE b.bundle::text = cb.bundle::text)
		GROUP BY cb.customer::text, cb.bundle::text$q$, p_cb, p_b);
	-- an item column per item bought by >= min_item_count customers
	IF p_ci IS NOT NULL AND p_item_weight > 0 THEN
		EXECUTE format($q$INSERT INTO bf_lines
			SELECT ci.customer::text, 'i:' || ci.item::text, $1
			FROM %1$s ci WHERE ci.customer IS NOT NULL
			  AND (SELECT count(DISTINCT c2.customer) FROM %1$s c2 WHERE c2.item = ci.item) >= $2
			GROUP BY ci.customer::text, ci.item::text$q$, p_ci)
			USING p_item_weight, p_min_item_count;
	END IF;
	INSERT INTO bf_cols
		SELECT c.col, row_number() OVER (ORDER BY c.col COLLATE "C")::int FROM (SELECT DISTINCT col FROM bf_lines) c;
	SELECT count(*) INTO n FROM bf_cols;
	g := array_fill(0::float8, ARRAY[n, n]);
	FOR gi, gj, gv IN
		SELECT a.id, b.id, sum(la.w * lb.w)
		FROM bf_lines la JOIN bf_cols a ON a.col = la.col
		JOIN bf_lines lb ON lb.customer = la.customer JOIN bf_cols b ON b.col = lb.col
		GROUP BY a.id, b.id
	LOOP
		g[gi][gj] := gv;
	END LOOP;
	FOR i IN 1..n LOOP
		g[i][i] := g[i][i] + p_lambda;
	END LOOP;
	p := gj_inverse(g);
	INSERT INTO bf_weight
		SELECT a.col, substr(b.col, 3), -p[a.id][b.id] / p[b.id][b.id]
		FROM bf_cols a JOIN bf_cols b ON a.id <> b.id AND b.col LIKE 'b:%';
	INSERT INTO bf_kept
		SELECT r.col, r.bundle, r.score FROM (
			SELECT w.*, row_number() OVER (PARTITION BY w.col ORDER BY w.score DESC, ('b:' || w.bundle) COLLATE "C") AS rn
			FROM bf_weight w WHERE w.score > 0) r
		WHERE r.rn <= p_top_k;
	INSERT INTO bf_ambiguous
		SELECT format('weights of %s toward %s and %s are %s and %s at the top_k cut', r.col, r.bundle, r.nb, r.score, r.ns)
		FROM (SELECT w.*, row_number() OVER o AS rn, lead(w.bundle) OVER o AS nb, lead(w.score) OVER o AS ns
		      FROM bf_weight w WHERE w.score > 0
		      WINDOW o AS (PARTITION BY w.col ORDER BY w.score DESC, ('b:' || w.bundle) COLLATE "C")) r
		WHERE r.rn = p_top_k AND r.ns IS NOT NULL AND near(r.ns, r.score);

	-- cohesion: for each pair of a bundle's items both bought by someone in
	-- customer_items, counted over the customers' item arrays
	IF p_cohesion_weight > 0 AND p_ci IS NOT NULL THEN
		EXECUTE format($q$INSERT INTO bf_cohesion
			WITH baskets AS (
				SELECT ci.customer::text AS cust, array_agg(DISTINCT ci.item::text) AS its
				FROM %1$s ci WHERE ci.customer IS NOT NULL AND ci.item IS NOT NULL GROUP BY ci.customer::text),
			nb AS (SELECT count(*)::float8 AS n FROM baskets),
			members AS (SELECT DISTINCT b.bundle::text AS bundle, b.item::text AS item FROM %2$s b
			            WHERE b.bundle IS NOT NULL AND b.item IS NOT NULL),
			pairs AS (SELECT x.bundle, x.item AS a, y.item AS b FROM members x JOIN members y
			          ON x.bundle = y.bundle AND x.item < y.item),
			counted AS (
				SELECT pr.bundle,
				       (SELECT count(*) FROM baskets WHERE its @> ARRAY[pr.a, pr.b])::float8 AS c,
				       (SELECT count(*) FROM baskets WHERE pr.a = ANY (its))::float8 AS ca,
				       (SELECT count(*) FROM baskets WHERE pr.b = ANY (its))::float8 AS cb
				FROM pairs pr)
			SELECT ct.bundle,
			       avg(CASE WHEN ct.c = 0 THEN -1 WHEN ct.c = nb.n THEN 1
			                ELSE ln(ct.c * nb.n / (ct.ca * ct.cb)) / -ln(ct.c / nb.n) END
			           * CASE WHEN $1 = 0 THEN 1 ELSE ct.c / (ct.c + $1) END)
			FROM counted ct CROSS JOIN nb
			WHERE ct.ca > 0 AND ct.cb > 0
			GROUP BY ct.bundle$q$, p_ci, p_b) USING p_shrinkage;
	END IF;

	-- overlap: the customer's distinct items (all of customer_items) that are
	-- in the bundle, by array intersection
	TRUNCATE bf_overlap;
	IF p_overlap_weight > 0 AND p_ci IS NOT NULL THEN
		EXECUTE format($q$INSERT INTO bf_overlap
			SELECT u.customer, m.bundle,
			       (SELECT count(*) FROM (SELECT unnest(u.its) INTERSECT SELECT unnest(m.its)) z)::float8
			FROM (SELECT ci.customer::text AS customer, array_agg(DISTINCT ci.item::text) AS its
			      FROM %1$s ci WHERE ci.customer IS NOT NULL AND ci.item IS NOT NULL GROUP BY 1) u,
			     (SELECT b.bundle::text AS bundle, array_agg(DISTINCT b.item::text) AS its
			      FROM %2$s b WHERE b.bundle IS NOT NULL AND b.item IS NOT NULL GROUP BY 1) m
			WHERE u.its && m.its AND u.customer IN (SELECT l.customer FROM bf_lines l)$q$, p_ci, p_b);
	END IF;
	-- graph filters, written as products of normalised matrices: Xn(u, c) =
	-- x_uc / sqrt(d_u d_c), P = Xn'Xn; An(b, i) = 1 / sqrt(|b| d_i), S = An An'
	TRUNCATE bf_graph;
	IF p_graph_weight > 0 THEN
		PERFORM fill_graph(p_b, p_top_k);
	END IF;
	INSERT INTO want
		WITH who AS (
			SELECT DISTINCT l.customer FROM bf_lines l WHERE p_customers IS NULL OR l.customer = ANY (p_customers)),
		contrib AS (
			SELECT l.customer, k.bundle, l.col, l.w * k.score AS s
			FROM bf_lines l JOIN bf_kept k ON k.col = l.col
			WHERE l.customer IN (SELECT customer FROM who)),
		per AS (
			SELECT c.customer, c.bundle,
			       coalesce(sum(c.s) FILTER (WHERE c.col LIKE 'b:%'), 0) AS fb,
			       coalesce(sum(c.s) FILTER (WHERE c.col LIKE 'i:%'), 0) AS fi,
			       count(*) FILTER (WHERE c.col LIKE 'i:%') AS ni,
			       (array_agg(substr(c.col, 3) ORDER BY c.s DESC, c.col) FILTER (WHERE c.col LIKE 'b:%'))[1:2] AS via
			FROM contrib c GROUP BY c.customer, c.bundle),
		pairs AS (
			SELECT customer, bundle FROM per
			UNION SELECT o.customer, o.bundle FROM bf_overlap o WHERE o.customer IN (SELECT customer FROM who)
			UNION SELECT g.customer, g.bundle FROM bf_graph g WHERE g.customer IN (SELECT customer FROM who)),
		cand AS (
			SELECT pr.customer, pr.bundle, coalesce(per.fb, 0) AS fb, coalesce(per.fi, 0) AS fi,
			       coalesce(per.ni, 0) AS ni, per.via, h.cohesion, coalesce(o.ov, 0) AS ov,
			       coalesce(gr.gx, 0) AS gx, coalesce(gr.gb, 0) AS gb,
			       coalesce(per.fb, 0) + coalesce(per.fi, 0) + p_cohesion_weight * coalesce(h.cohesion, 0) AS total
			FROM pairs pr
			LEFT JOIN per ON per.customer = pr.customer AND per.bundle = pr.bundle
			LEFT JOIN bf_overlap o ON o.customer = pr.customer AND o.bundle = pr.bundle
			LEFT JOIN (SELECT customer, bundle, sum(gx) AS gx, sum(gb) AS gb FROM bf_graph GROUP BY 1, 2) gr
			  ON gr.customer = pr.customer AND gr.bundle = pr.bundle
			LEFT JOIN bf_cohesion h ON h.bundle = pr.bundle
			WHERE NOT p_exclude_bought
			   OR NOT EXISTS (SELECT 1 FROM bf_lines l WHERE l.customer = pr.customer AND l.col = 'b:' || pr.bundle)),
		-- per customer: the largest |total|, overlap, gx, gb (1 where 0)
		mx AS (
			SELECT customer, CASE WHEN max(abs(total)) > 0 THEN max(abs(total)) ELSE 1 END AS mt,
			       CASE WHEN max(ov) > 0 THEN max(ov) ELSE 1 END AS mo,
			       CASE WHEN max(gx) > 0 THEN max(gx) ELSE 1 END AS mgx,
			       CASE WHEN max(gb) > 0 THEN max(gb) ELSE 1 END AS mgb
			FROM cand GROUP BY customer),
		sco AS (
			SELECT cand.*, cand.total + p_overlap_weight * mx.mt * cand.ov / mx.mo
			               + p_graph_weight * mx.mt * (cand.gx / mx.mgx + cand.gb / mx.mgb) AS sc
			FROM cand JOIN mx USING (customer)),
		num AS (
			SELECT sco.*, row_number() OVER (PARTITION BY sco.customer ORDER BY sco.sc DESC, sco.bundle) AS rn
			FROM sco)
		SELECT num.customer, num.rn, num.bundle, num.sc, num.fb, num.fi, num.cohesion, num.ni, num.via
		FROM num WHERE num.rn <= p_k + 1;
	-- popularity fill: bundles of p_b by distinct takers in X, then id
	EXECUTE format($q$INSERT INTO want
		SELECT w.customer, w.base + row_number() OVER (PARTITION BY w.customer ORDER BY w.n DESC, w.bundle),
		       w.bundle, NULL, NULL, NULL, NULL, 0, NULL
		FROM (SELECT who.customer, m.bundle,
		             (SELECT count(*) FROM bf_lines l WHERE l.col = 'b:' || m.bundle) AS n,
		             (SELECT count(*) FROM want x WHERE x.customer = who.customer AND x.rank <= $2) AS base
		      FROM (SELECT DISTINCT l.customer FROM bf_lines l WHERE $1 IS NULL OR l.customer = ANY ($1)) who,
		           (SELECT DISTINCT b.bundle::text AS bundle FROM %s b WHERE b.bundle IS NOT NULL) m
		      WHERE NOT EXISTS (SELECT 1 FROM want x WHERE x.customer = who.customer AND x.bundle = m.bundle AND x.rank <= $2)
		        AND NOT ($3 AND EXISTS (SELECT 1 FROM bf_lines l WHERE l.customer = who.customer AND l.col = 'b:' || m.bundle))) w
		$q$, p_b) USING p_customers, p_k, p_exclude_bought;
	INSERT INTO bf_ambiguous
		SELECT format('customer %s: bundles %s and %s score %s and %s', a.customer, a.bundle, b.bundle, a.score, b.score)
		FROM want a JOIN want b ON a.customer = b.customer AND b.rank = a.rank + 1
		WHERE a.score IS NOT NULL AND b.score IS NOT NULL AND near(b.score, a.score);
	DELETE FROM want WHERE want.rank > p_k;
END
$$;

-- bf_graph for the oracle: gx over all customers of bf_lines, gb from each
-- customer's bundle columns; top_k per source column or bundle, ties by key
-- in C order, with near ties at the cut reported in bf_ambiguous.
CREATE FUNCTION fill_graph(p_b regclass, p_top_k int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	DROP TABLE IF EXISTS xn, an, gm;
	CREATE TEMP TABLE xn AS
		SELECT l.customer, l.col, l.w / sqrt((SELECT sum(a.w) FROM bf_lines a WHERE a.customer = l.customer)
		                                     * (SELECT sum(a.w) FROM bf_lines a WHERE a.col = l.col)) AS v
		FROM bf_lines l;
	EXECUTE format($q$CREATE TEMP TABLE an AS
		SELECT m.bundle, m.item,
		       1 / sqrt((count(*) OVER (PARTITION BY m.bundle)) * (count(*) OVER (PARTITION BY m.item)))::float8 AS v
		FROM (SELECT DISTINCT b.bundle::text AS bundle, b.item::text AS item FROM %s b
		      WHERE b.bundle IS NOT NULL AND b.item IS NOT NULL) m$q$, p_b);
	-- gm: kind 'x' rows P(src column, dst bundle), kind 'b' rows S(src bundle, dst bundle)
	CREATE TEMP TABLE gm AS
		SELECT 'x' AS kind, x.col AS src, substr(y.col, 3) AS dst, sum(x.v * y.v) AS s
		FROM xn x JOIN xn y ON x.customer = y.customer AND x.col <> y.col AND y.col LIKE 'b:%'
		GROUP BY x.col, y.col
		UNION ALL
		SELECT 'b', x.bundle, y.bundle, sum(x.v * y.v)
		FROM an x JOIN an y ON x.item = y.item AND x.bundle <> y.bundle
		GROUP BY x.bundle, y.bundle;
	ALTER TABLE gm ADD COLUMN rn bigint;
	UPDATE gm SET rn = r.rn FROM (
		SELECT kind, src, dst, row_number() OVER (PARTITION BY kind, src ORDER BY s DESC, dst COLLATE "C") AS rn FROM gm) r
	WHERE r.kind = gm.kind AND r.src = gm.src AND r.dst = gm.dst;
	INSERT INTO bf_ambiguous
		SELECT format('graph %s of %s: %s and %s are %s and %s at the top_k cut', a.kind, a.src, a.dst, b.dst, a.s, b.s)
		FROM gm a JOIN gm b ON b.kind = a.kind AND b.src = a.src AND b.rn = a.rn + 1
		WHERE a.rn = p_top_k AND near(b.s, a.s);
	INSERT INTO bf_graph
		SELECT l.customer, g.dst, sum(l.w * g.s), 0
		FROM bf_lines l JOIN gm g ON g.kind = 'x' AND g.src = l.col AND g.rn <= p_top_k
		GROUP BY l.customer, g.dst
		UNION ALL
		SELECT l.customer, g.dst, 0, sum(g.s)
		FROM bf_lines l JOIN gm g ON g.kind = 'b' AND 'b:' || g.src = l.col AND g.rn <= p_top_k
		GROUP BY l.customer, g.dst;
END
$$;

-- got against want: NULL when every row matches (rank and bundle exactly,
-- numbers within 1e-9 relative), else the differing rows.
CREATE FUNCTION got_vs_want() RETURNS text LANGUAGE sql AS $$
	SELECT CASE
		WHEN EXISTS (SELECT 1 FROM bf_ambiguous) THEN 'fixture is ambiguous: ' || (SELECT string_agg(what, '; ') FROM bf_ambiguous)
		WHEN NOT EXISTS (SELECT 1 FROM want) THEN 'nothing expected: the setting tests nothing'
		ELSE (SELECT string_agg(format('customer %s bundle %s: got (rank %s, score %s, from_bundles %s, from_items %s, cohesion %s)'
		                               ' want (rank %s, score %s, from_bundles %s, from_items %s, cohesion %s)',
		                               coalesce(g.customer, w.customer), coalesce(g.bundle, w.bundle),
		                               g.rank, g.score, g.from_bundles, g.from_items, g.cohesion,
		                               w.rank, w.score, w.from_bundles, w.from_items, w.cohesion),
		                        E'\n' ORDER BY coalesce(g.customer, w.customer), coalesce(g.rank, w.rank))
		      FROM got g FULL JOIN want w ON g.customer = w.customer AND g.bundle = w.bundle
		      WHERE g.customer IS NULL OR w.customer IS NULL OR g.rank <> w.rank
		         OR NOT near(g.score, w.score) OR NOT near(g.from_bundles, w.from_bundles)
		         OR NOT near(g.from_items, w.from_items) OR NOT near(g.cohesion, w.cohesion))
	END
$$;

CREATE FUNCTION rank_check(p_ci regclass, p_customers text[], p_k int, p_item_weight float8, p_min_item_count int,
                           p_lambda float8, p_top_k int, p_cohesion_weight float8, p_shrinkage float8,
                           p_exclude_bought boolean, p_b text DEFAULT 'bundles', p_cb text DEFAULT 'cust_bundles',
                           p_overlap_weight float8 DEFAULT 0, p_graph_weight float8 DEFAULT 0)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE got;
	INSERT INTO got SELECT * FROM bundlerec.rank_bundles(p_b, p_cb, p_ci, p_customers, p_k, p_item_weight,
		p_min_item_count, p_lambda, p_top_k, p_cohesion_weight, p_shrinkage, p_exclude_bought, p_overlap_weight,
		p_graph_weight);
	PERFORM fill_want(p_b, p_cb, p_ci, p_customers, p_k, p_item_weight, p_min_item_count, p_lambda, p_top_k,
	                  p_cohesion_weight, p_shrinkage, p_exclude_bought, p_overlap_weight, p_graph_weight);
	RETURN got_vs_want();
END
$$;

------------------------------------------------------------------------------
-- Hand fixture: bundles P, Q, R; u1 took P Q, u2 P R, u3 Q
------------------------------------------------------------------------------
-- X'X: diag P 2, Q 2, R 1; PQ 1 (u1), PR 1 (u2), QR 0.  lambda = 1:
--   G = | 3 1 1 |  det 13, adj G = |  6 -2 -3 |
--       | 1 3 0 |                  | -2  5  1 |
--       | 1 0 2 |                  | -3  1  8 |
-- B_ij = -adj_ij / adj_jj:  P->Q 2/5  P->R 3/8  Q->P 1/3  Q->R -1/8
--                           R->P 1/2  R->Q -1/5
-- exclude_bought: u1 {P,Q} -> R: 3/8 from P (Q->R < 0 is not kept);
--   u2 {P,R} -> Q: 2/5 from P (R->Q < 0 not kept);  u3 {Q} -> P 1/3, and R
--   only has Q->R < 0, so no row.
-- exclude_bought false: u1: Q 2/5 (from P), R 3/8, P 1/3 (from Q);
--   u2: P 1/2 (from R), Q 2/5, R 3/8 (from P);  u3: P 1/3.
-- top_k 1 (each column keeps its largest positive weight: P->Q 2/5, Q->P,
--   R->P) with exclude_bought false: u1: Q 2/5, P 1/3;  u2: P 1/2, Q 2/5;
--   u3: P 1/3.
CREATE TABLE mini_bundles (bundle text, item text);
INSERT INTO mini_bundles VALUES ('P', 'x'), ('P', 'y'), ('Q', 'y'), ('Q', 'z'), ('R', 'x'), ('R', 'z');
CREATE TABLE mini_cb (customer text, bundle text);
INSERT INTO mini_cb VALUES ('u1', 'P'), ('u1', 'Q'), ('u2', 'P'), ('u2', 'R'), ('u3', 'Q');
CREATE TABLE mini_hand (setting text, customer text, rank int, bundle text, score numeric);
INSERT INTO mini_hand VALUES
	('excl', 'u1', 1, 'R', 3 / 8.0), ('excl', 'u2', 1, 'Q', 2 / 5.0), ('excl', 'u3', 1, 'P', 1 / 3.0),
	('all', 'u1', 1, 'Q', 2 / 5.0), ('all', 'u1', 2, 'R', 3 / 8.0), ('all', 'u1', 3, 'P', 1 / 3.0),
	('all', 'u2', 1, 'P', 1 / 2.0), ('all', 'u2', 2, 'Q', 2 / 5.0), ('all', 'u2', 3, 'R', 3 / 8.0),
	('all', 'u3', 1, 'P', 1 / 3.0),
	('top1', 'u1', 1, 'Q', 2 / 5.0), ('top1', 'u1', 2, 'P', 1 / 3.0),
	('top1', 'u2', 1, 'P', 1 / 2.0), ('top1', 'u2', 2, 'Q', 2 / 5.0),
	('top1', 'u3', 1, 'P', 1 / 3.0),
	-- popularity fill (takers P 2, Q 2, R 1; ties by id), score NULL
	('excl', 'u3', 2, 'R', NULL),
	('all', 'u3', 2, 'Q', NULL), ('all', 'u3', 3, 'R', NULL),
	('top1', 'u1', 3, 'R', NULL), ('top1', 'u2', 3, 'R', NULL),
	('top1', 'u3', 2, 'Q', NULL), ('top1', 'u3', 3, 'R', NULL);

SELECT set_eq(
	$$SELECT customer, rank, bundle, round(score::numeric, 12) AS s, round(from_bundles::numeric, 12) AS fb, from_items
	  FROM bundlerec.rank_bundles('mini_bundles', 'mini_cb', regularization => 1, graph_weight => 0)$$,
	$$SELECT customer, rank, bundle, round(score, 12) AS s, round(score, 12) AS fb,
	         CASE WHEN score IS NOT NULL THEN 0::float8 END FROM mini_hand WHERE setting = 'excl'$$,
	'hand fixture, lambda 1: u1 -> R 3/8, u2 -> Q 2/5, u3 -> P 1/3 (negative weights add nothing, u3 gets R only from popularity)');
SELECT set_eq(
	$$SELECT customer, rank, bundle, round(score::numeric, 12)
	  FROM bundlerec.rank_bundles('mini_bundles', 'mini_cb', regularization => 1, exclude_bought => false, graph_weight => 0)$$,
	$$SELECT customer, rank, bundle, round(score, 12) FROM mini_hand WHERE setting = 'all'$$,
	'hand fixture, exclude_bought false: taken bundles are ranked too, scored from the other taken bundles only');
SELECT set_eq(
	$$SELECT customer, rank, bundle, round(score::numeric, 12)
	  FROM bundlerec.rank_bundles('mini_bundles', 'mini_cb', regularization => 1, top_k => 1, exclude_bought => false,
	                              graph_weight => 0)$$,
	$$SELECT customer, rank, bundle, round(score, 12) FROM mini_hand WHERE setting = 'top1'$$,
	'hand fixture, top_k 1: only P->Q, Q->P, R->P are kept');
-- the oracle reproduces the hand values
SELECT fill_want('mini_bundles', 'mini_cb', NULL, NULL, 20, 1, 5, 1, 500, 0, 10, false);
SELECT set_eq(
	$$SELECT customer, rank, bundle, round(score::numeric, 12) FROM want$$,
	$$SELECT customer, rank, bundle, round(score, 12) FROM mini_hand WHERE setting = 'all'$$,
	'oracle check: the brute force gives the hand scores (exclude_bought false)');
SELECT fill_want('mini_bundles', 'mini_cb', NULL, NULL, 20, 1, 5, 1, 1, 0, 10, false);
SELECT set_eq(
	$$SELECT customer, rank, bundle, round(score::numeric, 12) FROM want$$,
	$$SELECT customer, rank, bundle, round(score, 12) FROM mini_hand WHERE setting = 'top1'$$,
	'oracle check: the brute force gives the hand scores (top_k 1)');
SELECT set_eq(
	$$SELECT col, bundle, round(score::numeric, 12) FROM bf_weight$$,
	$$VALUES ('b:P', 'Q', round(2 / 5.0, 12)), ('b:P', 'R', round(3 / 8.0, 12)), ('b:Q', 'P', round(1 / 3.0, 12)),
	         ('b:Q', 'R', round(-1 / 8.0, 12)), ('b:R', 'P', round(1 / 2.0, 12)), ('b:R', 'Q', round(-1 / 5.0, 12))$$,
	'oracle check: the brute-force weights are the six hand B_ij, negative ones included');

------------------------------------------------------------------------------
-- Main fixture (integer ids)
------------------------------------------------------------------------------
-- bundles: 1 {1,3,4}  2 {1,2,5}  3 {3,6,7}  4 {4,5,8}  5 {6,9}  6 {2,7} (no taker)
CREATE TABLE bundles (bundle int, item int);
INSERT INTO bundles VALUES (1, 1), (1, 3), (1, 4), (2, 1), (2, 2), (2, 5), (3, 3), (3, 6), (3, 7),
	(4, 4), (4, 5), (4, 8), (5, 6), (5, 9), (6, 2), (6, 7);
-- customers' bundles (bundle 9 is not in bundles; (8, 2) is repeated)
--   1: 1 2   2: 1 3 4   3: 2 3   4: 1 4 5   5: 3   6: 1 2 5   7: 1 3 5   8: 2 5 (9)
CREATE TABLE cust_bundles (customer int, bundle int);
INSERT INTO cust_bundles VALUES (1, 1), (1, 2), (2, 1), (2, 3), (2, 4), (3, 2), (3, 3),
	(4, 1), (4, 4), (4, 5), (5, 3), (6, 1), (6, 2), (6, 5), (7, 1), (7, 3), (7, 5),
	(8, 2), (8, 5), (8, 9), (8, 2);
-- customers' items (8 has none; 9 took no bundle; (9, 5) is repeated)
--   1: 1 2 3 4   2: 1 2 3 6   3: 1 2 5 7   4: 1 2 4 6 8   5: 1 2 6 7   6: 1 2 5
--   7: 1 2 3 4 7   9: 1 2 5 6
-- customers per item (N = 8 customers): 1: 8  2: 8  3: 3 {1,2,7}  4: 3 {1,4,7}
--   5: 3 {3,6,9}  6: 4 {2,4,5,9}  7: 3 {3,5,7}  8: 1 {4} (below min_item_count 2)
CREATE TABLE cust_items (customer int, item int);
INSERT INTO cust_items VALUES (1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (2, 3), (2, 6),
	(3, 1), (3, 2), (3, 5), (3, 7), (4, 1), (4, 2), (4, 4), (4, 6), (4, 8),
	(5, 1), (5, 2), (5, 6), (5, 7), (6, 1), (6, 2), (6, 5), (7, 1), (7, 2), (7, 3), (7, 4), (7, 7),
	(9, 1), (9, 2), (9, 5), (9, 6), (9, 5);

-- oracle check of the matrix: with item_weight 0.5 and min_item_count 2 the
-- columns are b:1..b:5 and i:1..i:7 (no b:6, b:9, i:8), one line per pair
SELECT fill_want('bundles', 'cust_bundles', 'cust_items', NULL, 20, 0.5, 2, 1, 500, 0, 10, true);
SELECT is(
	(SELECT string_agg(col || '=' || n || 'x' || w, ' ' ORDER BY col)
	 FROM (SELECT col, count(*) AS n, min(w) AS w FROM bf_lines GROUP BY col) s),
	'b:1=5x1 b:2=4x1 b:3=4x1 b:4=2x1 b:5=4x1 i:1=8x0.5 i:2=8x0.5 i:3=3x0.5 i:4=3x0.5 i:5=3x0.5 i:6=4x0.5 i:7=3x0.5',
	'oracle check: X has 5 bundle and 7 item columns with the hand-counted customers');

-- Settings: (customer_items, customers, k, item_weight, min_item_count,
-- regularization, top_k, cohesion_weight, shrinkage, exclude_bought)
SELECT is(rank_check('cust_items', NULL, 20, 1, 2, 1, 500, 0, 10, true), NULL,
	'item_weight 1, lambda 1, top_k 500, k 20: every row equals the brute force');
SELECT cmp_ok((SELECT count(*) FROM got WHERE customer = '9'), '>', 0::bigint,
	'customer 9, who took no bundle, is ranked from items alone');
SELECT is((SELECT count(*) FROM got WHERE cohesion IS NOT NULL), 0::bigint,
	'cohesion_weight 0: the cohesion column is NULL');
SELECT is((SELECT count(*) FROM got WHERE bundle = '9' OR (bundle = '6' AND score IS NOT NULL)), 0::bigint,
	'bundle 6 (nobody took it) comes only from the popularity fill and bundle 9 (not in bundles) never');
SELECT is((SELECT count(*) FROM got g JOIN cust_bundles cb ON cb.customer::text = g.customer AND cb.bundle::text = g.bundle),
	0::bigint, 'exclude_bought: no customer is offered a bundle they took');
SELECT is((SELECT count(*) FROM got WHERE NOT (from_bundles + from_items > 0)), 0::bigint,
	'every ranked bundle has a positive contribution');

SELECT is(rank_check('cust_items', NULL, 2, 0.5, 2, 10, 2, 0, 10, true), NULL,
	'item_weight 0.5, lambda 10, top_k 2, k 2: every row equals the brute force');
SELECT cmp_ok((SELECT count(*) FROM (SELECT col FROM bf_weight WHERE score > 0 GROUP BY col HAVING count(*) > 2) s),
	'>', 0::bigint, 'top_k 2 prunes: some column has more than 2 positive weights toward bundles');
SELECT is((SELECT max(rank) FROM got), 2, 'k 2: no customer gets more than 2 rows');
SELECT fill_want('bundles', 'cust_bundles', 'cust_items', NULL, 20, 0.5, 2, 10, 2, 0, 10, true);
SELECT cmp_ok((SELECT count(*) FROM want WHERE rank > 2), '>', 0::bigint,
	'k 2 truncates: with k 20 the brute force ranks more than 2 bundles for some customer');

SELECT is(rank_check('cust_items', NULL, 20, 0, 2, 1, 1, 0, 10, false), NULL,
	'item_weight 0, lambda 1, top_k 1, exclude_bought false: every row equals the brute force');
SELECT is((SELECT count(*) FROM got WHERE from_items <> 0 OR customer = '9'), 0::bigint,
	'item_weight 0: no item contributes and customer 9 (items only) is not ranked');
SELECT cmp_ok((SELECT count(*) FROM got g JOIN cust_bundles cb ON cb.customer::text = g.customer AND cb.bundle::text = g.bundle),
	'>', 0::bigint, 'exclude_bought false: some customers are offered bundles they took');

SELECT is(rank_check('cust_items', NULL, 3, 1, 4, 10, 500, 0, 10, false), NULL,
	'item_weight 1, min_item_count 4 (items 1, 2, 6 only), lambda 10, k 3, exclude_bought false: equals the brute force');
SELECT is(rank_check(NULL, NULL, 20, 1, 2, 1, 3, 0, 10, true), NULL,
	'no customer_items, top_k 3: equals the brute force over bundles alone');
SELECT is(rank_check('cust_items', NULL, 20, 0.5, 2, 1, 500, 0, 10, true), NULL,
	'item_weight 0.5, lambda 1: equals the brute force');

TRUNCATE got;
INSERT INTO got SELECT * FROM bundlerec.rank_bundles('bundles', 'cust_bundles', 'cust_items');
SELECT fill_want('bundles', 'cust_bundles', 'cust_items', NULL, 20, 0.5, 5, 500, 500, 0, 10, true, 0.3, 0.3);
SELECT is(got_vs_want(), NULL,
	'the defaults (k 20, item_weight 0.5, min_item_count 5, lambda 500, top_k 500, no cohesion, exclude_bought, overlap_weight 0.3, graph_weight 0.3, popularity fill): equals the brute force');

------------------------------------------------------------------------------
-- Cohesion
------------------------------------------------------------------------------
-- N = 8 customers in cust_items.  Pairs (c = customers with both):
--   1 {1,3,4}: (1,3) c 3 = ca cb / N (ca 8, cb 3) so npmi 0; (1,4) likewise 0;
--              (3,4) c 2 {1,7}, ca cb 3 3: npmi ln(2*8/9) / -ln(2/8) = ln(16/9) / ln 4
--   2 {1,2,5}: (1,2) c 8 = N: npmi 1; (1,5), (2,5): c 3 = 8*3/8: 0
--   3 {3,6,7}: (3,6) c 1 {2}: ln(8/12)/ln 8; (3,7) c 1 {7}: ln(8/9)/ln 8; (6,7) c 1 {5}: ln(8/12)/ln 8
--   4 {4,5,8}: (4,5) c 0: -1; (4,8) c 1 {4}, ca 3, cb 1: ln(8/3)/ln 8; (5,8) c 0: -1
--   5 {6,9}:   9 is in no basket, no pair: NULL
-- shrinkage 10: c / (c + 10), so the c = 0 pairs count as 0 (but still count in the mean)
--   1: (ln(16/9)/ln 4 * 2/12) / 3    2: (8/18) / 3 = 4/27    3: (2 ln(2/3) + ln(8/9)) / ln 8 / 11 / 3
--   4: (ln(8/3)/ln 8 / 11) / 3
-- shrinkage 0: no shrinking
--   1: ln(16/9)/ln 4 / 3    2: 1/3    3: (2 ln(2/3) + ln(8/9)) / ln 8 / 3    4: (ln(8/3)/ln 8 - 2) / 3
CREATE TABLE cohesion_hand (shrinkage float8, bundle text, cohesion float8);
INSERT INTO cohesion_hand VALUES
	(10, '1', ln(16 / 9::float8) / ln(4::float8) * 2 / 12 / 3),
	(10, '2', 4 / 27::float8),
	(10, '3', (2 * ln(2 / 3::float8) + ln(8 / 9::float8)) / ln(8::float8) / 11 / 3),
	(10, '4', ln(8 / 3::float8) / ln(8::float8) / 11 / 3),
	(10, '5', NULL),
	(10, '6', 0),
	(0, '1', ln(16 / 9::float8) / ln(4::float8) / 3),
	(0, '2', 1 / 3::float8),
	(0, '3', (2 * ln(2 / 3::float8) + ln(8 / 9::float8)) / ln(8::float8) / 3),
	(0, '4', (ln(8 / 3::float8) / ln(8::float8) - 2) / 3),
	(0, '5', NULL),
	(0, '6', 0);

SELECT fill_want('bundles', 'cust_bundles', 'cust_items', NULL, 20, 1, 2, 1, 500, 1, 10, false);
SELECT is((SELECT count(*) FROM (SELECT * FROM cohesion_hand WHERE shrinkage = 10 AND cohesion IS NOT NULL) h
           FULL JOIN bf_cohesion c USING (bundle) WHERE NOT near(c.cohesion, h.cohesion, 1e-12)), 0::bigint,
	'oracle check: the SQL cohesion gives the hand values for shrinkage 10 (bundle 6 {2,7}: c 3 = 8*3/8, 0)');

SELECT is(rank_check('cust_items', NULL, 20, 1, 2, 1, 500, 1, 10, false), NULL,
	'cohesion_weight 1, shrinkage 10, exclude_bought false: equals the brute force');
SELECT is((SELECT count(*) FROM cohesion_hand h LEFT JOIN (SELECT DISTINCT bundle, cohesion FROM got WHERE score IS NOT NULL) g USING (bundle)
           WHERE h.shrinkage = 10 AND h.bundle <> '6' AND NOT near(g.cohesion, h.cohesion, 1e-12)), 0::bigint,
	'shrinkage 10: the cohesion column of bundles 1 to 4 is the hand value, NULL for bundle 5 (no pair bought)');
SELECT is((SELECT count(DISTINCT bundle) FROM got WHERE score IS NOT NULL), 5::bigint, '(all five bundles are scored in that check)');

SELECT is(rank_check('cust_items', NULL, 4, 1, 3, 1, 2, 2, 0, false), NULL,
	'cohesion_weight 2, shrinkage 0, top_k 2, k 4, exclude_bought false: equals the brute force');
SELECT is((SELECT count(*) FROM cohesion_hand h JOIN (SELECT DISTINCT bundle, cohesion FROM got WHERE score IS NOT NULL) g USING (bundle)
           WHERE h.shrinkage = 0 AND NOT near(g.cohesion, h.cohesion, 1e-12)), 0::bigint,
	'shrinkage 0: pairs nobody bought together count -1, a pair everybody bought +1 (hand values)');
SELECT is(rank_check('cust_items', NULL, 20, 0.5, 2, 10, 500, 0.7, 10, true), NULL,
	'cohesion_weight 0.7, item_weight 0.5, lambda 10: equals the brute force');
SELECT is(rank_check('cust_items', NULL, 20, 0, 2, 10, 500, 1.5, 10, true), NULL,
	'cohesion_weight 1.5 with item_weight 0: cohesion still from customer_items; equals the brute force');

------------------------------------------------------------------------------
-- Overlap with the customer's items, popularity fill
------------------------------------------------------------------------------
SELECT is(rank_check('cust_items', NULL, 20, 0.5, 2, 10, 500, 0, 10, true, p_overlap_weight => 0.3), NULL,
	'overlap_weight 0.3, item_weight 0.5, lambda 10: equals the brute force (overlap by array intersection)');
SELECT cmp_ok((SELECT count(*) FROM got g JOIN want w USING (customer, bundle)
               WHERE w.score IS NOT NULL AND NOT near(g.score, g.from_bundles + g.from_items)), '>', 0::bigint,
	'overlap_weight 0.3: the overlap moves some scores off the EASE total');
SELECT is(rank_check('cust_items', NULL, 3, 1, 2, 1, 2, 0.7, 10, false, p_overlap_weight => 2), NULL,
	'overlap_weight 2 with cohesion 0.7, top_k 2, k 3, exclude_bought false: equals the brute force');
SELECT is(rank_check(NULL, NULL, 20, 1, 2, 1, 500, 0, 10, true, p_overlap_weight => 0.3), NULL,
	'overlap_weight without customer_items adds nothing: equals the brute force over bundles alone');
-- fill: each ranked customer gets min(k, bundles they did not take) rows
SELECT is(rank_check('cust_items', NULL, 5, 0.5, 2, 10, 1, 0, 10, true), NULL,
	'k 5, lambda 10, top_k 1, no overlap: equals the brute force, popularity rows included');
SELECT is((SELECT count(*) FROM (
	SELECT c.customer, (SELECT count(*) FROM got g WHERE g.customer = c.customer) AS n,
	       least(5, 6 - (SELECT count(DISTINCT cb.bundle) FROM cust_bundles cb
	                     WHERE cb.customer::text = c.customer AND cb.bundle IN (SELECT bundle FROM bundles))) AS want_n
	FROM (SELECT DISTINCT customer::text AS customer FROM cust_bundles
	      UNION SELECT customer::text FROM cust_items) c) s WHERE n <> want_n), 0::bigint,
	'k 5: every customer gets 5 bundles, or all 6 bundles but the ones they took');
SELECT cmp_ok((SELECT count(*) FROM got WHERE score IS NULL AND explanation ~ '^popular: [0-9]+ customers took it$'), '>', 0::bigint,
	'k 5, top_k 1: some rows come from the popularity fill and say so');

------------------------------------------------------------------------------
-- Graph filters
------------------------------------------------------------------------------
-- Hand values on the mini fixture (P {x,y}, Q {y,z}, R {x,z}; every bundle
-- has 2 items, every item is in 2 bundles): S_PQ = S_PR = S_QR = 1 / (2 * 2)
-- = 1/4 (one shared item).  u3 took Q only: gb(u3, P) = gb(u3, R) = 1/4.
-- Bundle columns only (no customer_items): d(u1) = d(u2) = 2, d(u3) = 1,
-- d(P) = d(Q) = 2, d(R) = 1; P(Q -> P) = 1 / (d(u1) sqrt(2 * 2)) = 1/4 (u1),
-- P(Q -> R) = 0: gx(u3, P) = 1/4, gx(u3, R) = 0.  EASE gives u3 P 1/3 and
-- R nothing, so with graph_weight 1: P = 1/3 + 1/3 (1 + 1) = 1,
-- R = 1/3 (0 + 1) = 1/3 (ranked now, not from the popularity fill).
SELECT fill_want('mini_bundles', 'mini_cb', NULL, NULL, 20, 1, 5, 1, 500, 0, 10, true, 0, 1);
SELECT set_eq($$SELECT customer, bundle, round(gx::numeric, 12) AS gx, round(gb::numeric, 12) AS gb FROM bf_graph WHERE customer = 'u3'$$,
	$$VALUES ('u3', 'P', 0.25, 0), ('u3', 'P', 0, 0.25), ('u3', 'R', 0, 0.25)$$,
	'oracle check: the graph filters of u3 are the hand values (gx Q->P 1/4; gb Q->P and Q->R 1/4)');
SELECT set_eq(
	$$SELECT customer, rank, bundle, round(score::numeric, 12)
	  FROM bundlerec.rank_bundles('mini_bundles', 'mini_cb', regularization => 1, graph_weight => 1) WHERE customer = 'u3'$$,
	$$VALUES ('u3', 1, 'P', 1.0), ('u3', 2, 'R', round(1 / 3.0, 12))$$,
	'hand fixture, graph_weight 1: u3 gets P 1/3 + 1/3 (1 + 1) = 1 and R 1/3 (0 + 1) = 1/3');
SELECT is(rank_check('cust_items', NULL, 20, 0.5, 2, 10, 500, 0, 10, true, p_overlap_weight => 0.3, p_graph_weight => 0.3), NULL,
	'graph_weight 0.3, overlap_weight 0.3, item_weight 0.5, lambda 10: equals the brute force (graph filters as matrix products)');
SELECT cmp_ok((SELECT count(*) FROM got WHERE bundle = '6' AND score IS NOT NULL), '>', 0::bigint,
	'graph_weight 0.3: bundle 6, which nobody took, is scored through the items it shares');
SELECT is(rank_check('cust_items', NULL, 4, 1, 2, 1, 3, 0.7, 10, false, p_overlap_weight => 0, p_graph_weight => 2), NULL,
	'graph_weight 2, top_k 3 (the graph filters pruned too), cohesion 0.7, k 4, exclude_bought false: equals the brute force');
SELECT cmp_ok((SELECT count(*) FROM (SELECT kind, src FROM gm GROUP BY 1, 2 HAVING count(*) > 3) s), '>', 0::bigint,
	'top_k 3 prunes the graph filters: some source has more than 3 neighbours');
SELECT is(rank_check(NULL, ARRAY['1', '5'], 20, 1, 2, 1, 500, 0, 10, true, p_graph_weight => 0.5), NULL,
	'graph_weight 0.5 without customer_items, customers {1, 5}: equals the brute force');

------------------------------------------------------------------------------
-- Customers filter, explanations, ranks
------------------------------------------------------------------------------
SELECT is(rank_check('cust_items', ARRAY['3', '9', 'nobody'], 20, 1, 2, 1, 500, 0.7, 10, true), NULL,
	'customers {3, 9, nobody}: the rows of 3 and 9 from the model of all customers');
SELECT set_eq($$SELECT DISTINCT customer FROM got$$, ARRAY['3', '9'], 'customers filter: only customers 3 and 9');

SELECT is(rank_check('cust_items', NULL, 20, 1, 2, 1, 500, 0.7, 10, false), NULL,
	'(setting for the explanation checks: equals the brute force)');
SELECT is((SELECT count(*) FROM got WHERE explanation IS NULL OR explanation = ''), 0::bigint,
	'every explanation is non-empty');
SELECT is((SELECT count(*) FROM got g JOIN want w USING (customer, bundle)
           WHERE CASE WHEN w.n_items = 0 THEN g.explanation LIKE '%of your items%'
                      ELSE g.explanation !~ ('(^|; )' || w.n_items || ' of your items point to it(;|$)') END), 0::bigint,
	'explanations count the customer''s items that point to the bundle');
SELECT is((SELECT count(*) FROM got g JOIN want w USING (customer, bundle)
           WHERE CASE WHEN w.via IS NULL THEN g.explanation LIKE '%taken by%'
                      ELSE g.explanation !~ ('^taken by customers who took ' || array_to_string(w.via, ' and ') || '(;|$)') END),
	0::bigint, 'explanations name the (up to two) taken bundles that contribute most');
SELECT is((SELECT count(*) FROM (SELECT customer FROM got GROUP BY customer
                                 HAVING min(rank) <> 1 OR max(rank) <> count(*) OR count(DISTINCT rank) <> count(*)) s),
	0::bigint, 'ranks are 1, 2, ... per customer with no gap or repeat');
SELECT is((SELECT count(*) FROM (SELECT customer, rank, score, lead(score) OVER (PARTITION BY customer ORDER BY rank) AS nxt
                                 FROM got) s WHERE nxt > score), 0::bigint, 'scores do not increase with rank');

------------------------------------------------------------------------------
-- Errors
------------------------------------------------------------------------------
CREATE TABLE bad_bundles (bundle int, product int);
INSERT INTO bad_bundles VALUES (1, 1);
CREATE TABLE cb_none (customer int, bundle int);
INSERT INTO cb_none VALUES (1, 99), (2, 98);
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles(NULL, 'cust_bundles')$$,
	'22004', NULL, 'NULL bundles is SQLSTATE 22004');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bundles', 'cust_bundles', k => 0)$$,
	'22023', NULL, 'k 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bundles', 'cust_bundles', 'cust_items', item_weight => -0.5)$$,
	'22023', NULL, 'negative item_weight is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bundles', 'cust_bundles', 'cust_items', min_item_count => 0)$$,
	'22023', NULL, 'min_item_count 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bundles', 'cust_bundles', regularization => 0)$$,
	'22023', NULL, 'regularization 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bundles', 'cust_bundles', top_k => 0)$$,
	'22023', NULL, 'top_k 0 is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bundles', 'cust_bundles', 'cust_items', overlap_weight => -1)$$,
	'22023', NULL, 'negative overlap_weight is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bundles', 'cust_bundles', graph_weight => 'NaN')$$,
	'22023', NULL, 'NaN graph_weight is SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bad_bundles', 'cust_bundles')$$,
	'42703', NULL, 'a bundles table without an item column is SQLSTATE 42703');
SELECT throws_ok($$SELECT * FROM bundlerec.rank_bundles('bundles', 'cb_none')$$,
	'P0002', NULL, 'customer_bundles with no bundle in bundles is SQLSTATE P0002');

SELECT * FROM finish();
ROLLBACK;
