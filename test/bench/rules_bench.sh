#!/usr/bin/env bash
# rules_bench: frequent itemsets and association rules inside the server.
#
#   groceries    arules' Groceries (9,835 baskets, 169 items), read from
#                ../shared/data/groceries/groceries_long.csv.gz when present:
#                itemsets at support 0.001 and rules at (0.001, 0.8) and
#                (0.001, 0.5), max_size 10 (arules' default maxlen), with the
#                mining time.  Published arules counts: 13,492 itemsets,
#                410 and 5,668 rules.
#   retail_full  UCI Online Retail, cleaned (no 'C' invoices, quantity > 0),
#                read from ../shared/data/online_retail/online_retail.csv.gz
#                when present: itemsets (max_size 5) at support 0.005 and
#                0.002 with time and peak memory, and the size-3 itemsets
#                beside the plain-SQL three-way self-join a DBA would write
#                (distinct lines, items below the count threshold dropped
#                first), as a ratio.  The self-join runs under
#                statement_timeout = BENCH_BASELINE_TIMEOUT (default 300s);
#                when it does not finish, the ratio is a lower bound.
#
# `make bench` runs it after pairs_bench.sh; `bash test/bench/rules_bench.sh
# --inside` uses the server named by PG* variables as is.  Neither data set
# is shipped: without ../shared the script says so and exits 0.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" != "--inside" ]; then
	br_install_deps
	br_build_install
	br_with_server bash "$0" --inside
	exit $?
fi

cd "$BR_ROOT"
DB=${BENCH_DB:-bench}
TIMEOUT=${BENCH_BASELINE_TIMEOUT:-300}
GROC=../shared/data/groceries/groceries_long.csv.gz
RETAIL=../shared/data/online_retail/online_retail.csv.gz
OUT=test/bench/out
mkdir -p "$OUT"
br_bench_db "$DB"
PSQL=(psql -X -v ON_ERROR_STOP=1 -q)
"${PSQL[@]}" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS bundlerec; DROP SCHEMA IF EXISTS rules_bench CASCADE; CREATE SCHEMA rules_bench;"

# Seconds taken by one SQL statement, its DEBUG1 peak-memory line kept.
run_timed() {
	local name=$1 sql=$2
	"${PSQL[@]}" -At >"$OUT/$name.log" 2>&1 <<-SQL
	SET search_path = rules_bench, public;
	SET client_min_messages = debug1;
	\\set t0 \`date +%s.%N\`
	$sql
	\\set t1 \`date +%s.%N\`
	SELECT 'seconds=' || round((:t1 - :t0)::numeric, 3);
	SQL
}

summary=()
if [ -f "$GROC" ]; then
	"${PSQL[@]}" <<-SQL
	SET search_path = rules_bench;
	CREATE TABLE groceries (basket int, item_id int, item text);
	\\copy groceries FROM PROGRAM 'zcat $GROC' WITH (FORMAT csv, HEADER true)
	ANALYZE groceries;
	SQL
	for spec in "itemsets 0.001 -" "rules 0.001 0.8" "rules 0.001 0.5"; do
		read -r kind supp conf <<<"$spec"
		if [ "$kind" = itemsets ]; then
			sql="SELECT 'count=' || count(*) FROM bundlerec.frequent_itemsets('groceries', 'basket', 'item', $supp, max_size => 10);"
		else
			sql="SELECT 'count=' || count(*) FROM bundlerec.association_rules('groceries', 'basket', 'item', $supp, $conf, max_size => 10);"
		fi
		run_timed "groceries_${kind}_${supp}_${conf}" "$sql"
		log="$OUT/groceries_${kind}_${supp}_${conf}.log"
		summary+=("$(printf '%-10s %-9s supp %-6s conf %-4s %10s %9ss  peak %s' groceries "$kind" "$supp" "$conf" \
			"$(sed -n 's/^count=//p' "$log")" "$(sed -n 's/^seconds=//p' "$log")" \
			"$(grep -o 'peak memory [0-9]* kB' "$log" | tail -1 | sed 's/peak memory //')")")
	done
else
	summary+=("groceries: $GROC not found, skipped")
fi

if [ -f "$RETAIL" ]; then
	"${PSQL[@]}" <<-SQL
	SET search_path = rules_bench;
	CREATE TABLE retail_raw (invoice_no text, stock_code text, description text, quantity integer,
		invoice_date timestamp, unit_price numeric, customer_id integer, country text);
	\\copy retail_raw FROM PROGRAM 'zcat $RETAIL' WITH (FORMAT csv, HEADER true)
	CREATE TABLE retail AS
		SELECT invoice_no, stock_code FROM retail_raw WHERE invoice_no NOT LIKE 'C%' AND quantity > 0;
	ANALYZE retail;
	SQL
	nb=$("${PSQL[@]}" -At -c "SELECT count(DISTINCT invoice_no) FROM rules_bench.retail")
	for supp in 0.005 0.002; do
		minc=$("${PSQL[@]}" -At -c "SELECT ceil($supp * $nb)::int")
		run_timed "retail_itemsets_$supp" \
			"SELECT 'count=' || count(*) FROM bundlerec.frequent_itemsets('retail', 'invoice_no', 'stock_code', $supp);"
		run_timed "retail_rules_$supp" \
			"SELECT 'count=' || count(*) FROM bundlerec.association_rules('retail', 'invoice_no', 'stock_code', $supp, 0.5);"
		run_timed "retail_size3_$supp" \
			"SELECT 'count=' || count(*) FROM bundlerec.frequent_itemsets('retail', 'invoice_no', 'stock_code', $supp, max_size => 3) WHERE size = 3;"
		run_timed "retail_sql3_$supp" "SET statement_timeout = '${TIMEOUT}s';
			SELECT 'count=' || count(*) FROM (
				WITH l AS (SELECT DISTINCT invoice_no AS b, stock_code AS i FROM retail),
				f AS (SELECT i FROM l GROUP BY i HAVING count(*) >= $minc),
				p AS MATERIALIZED (SELECT l.b, l.i FROM l JOIN f USING (i))
				SELECT x.i, y.i, z.i FROM p x
				JOIN p y ON y.b = x.b AND x.i < y.i
				JOIN p z ON z.b = x.b AND y.i < z.i
				GROUP BY 1, 2, 3 HAVING count(*) >= $minc) s;" || true
		m=$(sed -n 's/^count=//p' "$OUT/retail_itemsets_$supp.log")
		r=$(sed -n 's/^count=//p' "$OUT/retail_rules_$supp.log")
		ts=$(sed -n 's/^seconds=//p' "$OUT/retail_itemsets_$supp.log")
		peak=$(grep -o 'peak memory [0-9]* kB' "$OUT/retail_itemsets_$supp.log" | tail -1 | sed 's/peak memory //')
		c3=$(sed -n 's/^count=//p' "$OUT/retail_size3_$supp.log")
		t3=$(sed -n 's/^seconds=//p' "$OUT/retail_size3_$supp.log")
		b3=$(sed -n 's/^count=//p' "$OUT/retail_sql3_$supp.log")
		if [ -n "$b3" ]; then
			bt=$(sed -n 's/^seconds=//p' "$OUT/retail_sql3_$supp.log")
			ratio=$(awk -v a="$bt" -v b="$t3" 'BEGIN { printf "%.1f", a / b }')
			same=$([ "$b3" = "$c3" ] && echo identical || echo DIFFERENT)
		else
			bt=">$TIMEOUT"
			ratio=$(awk -v a="$TIMEOUT" -v b="$t3" 'BEGIN { printf ">%.0f", a / b }')
			same="baseline timed out"
		fi
		summary+=("$(printf 'retail     supp %-6s (count >= %s): %s itemsets in %ss, peak %s; %s rules at confidence 0.5' \
			"$supp" "$minc" "$m" "$ts" "$peak" "$r")")
		summary+=("$(printf '           size-3 itemsets: bundlerec %s in %ss, plain SQL %s in %ss: ratio %s (%s)' \
			"$c3" "$t3" "${b3:--}" "$bt" "$ratio" "$same")")
	done
else
	summary+=("retail: $RETAIL not found, skipped")
fi

echo
echo "== rules_bench summary ($(nproc) cores; times are wall seconds inside psql)"
printf '%s\n' "${summary[@]}" | tee "$OUT/rules_summary.txt"
