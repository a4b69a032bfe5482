/*
 * itemset_rows.c
 *	  Frequent itemsets and association rules as SQL rows:
 *	  bundlerec.frequent_itemsets() and bundlerec.association_rules() over a
 *	  table of order lines, bundlerec.itemsets() and bundlerec.rules() over a
 *	  basketset value.
 *
 * Rules follow arules: X => {y} for every frequent itemset Z = X + {y} whose
 * size is within [min_size, max_size] (the right-hand side counts), with
 * confidence count(Z) / count(X) >= min_confidence; X may be empty, and then
 * count(X) is the number of baskets.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "basket_agg.h"
#include "itemsets.h"
#include "measures.h"
#include "output.h"
#include "source.h"

#define MAX_ITEMSET_SIZE 64
#define ITEMSET_COLUMNS 4
#define RULE_COLUMNS 11

PG_FUNCTION_INFO_V1(bundlerec_frequent_itemsets);
PG_FUNCTION_INFO_V1(bundlerec_basketset_itemsets);
PG_FUNCTION_INFO_V1(bundlerec_association_rules);
PG_FUNCTION_INFO_V1(bundlerec_basketset_rules);

typedef struct MineOptions
{
	bool		has_support;
	double		min_support;
	int64		min_count;		/* 0 when not given */
	int32		max_size;
	bool		rules;
	double		min_confidence;
	int32		min_size;
} MineOptions;

/*
 * Read and check the mining arguments starting at argument "first":
 * min_support, [min_confidence,] max_size, [min_size,] min_count.
 */
static void
GetMineOptions(FunctionCallInfo fcinfo, int first, bool rules, MineOptions *opt)
{
	int			arg = first;

	memset(opt, 0, sizeof(*opt));
	opt->rules = rules;
	opt->has_support = !PG_ARGISNULL(arg);
	if (opt->has_support)
		opt->min_support = PG_GETARG_FLOAT8(arg);
	arg++;
	if (rules)
	{
		if (PG_ARGISNULL(arg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("min_confidence must not be NULL"),
					 errhint("Pass 0 to keep rules of any confidence.")));
		opt->min_confidence = PG_GETARG_FLOAT8(arg);
		arg++;
	}
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("max_size must not be NULL"),
				 errhint("Leave it out to mine itemsets of up to 5 items.")));
	opt->max_size = PG_GETARG_INT32(arg);
	arg++;
	opt->min_size = 1;
	if (rules)
	{
		if (PG_ARGISNULL(arg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("min_size must not be NULL"),
					 errhint("Leave it out to include rules with an empty left-hand side.")));
		opt->min_size = PG_GETARG_INT32(arg);
		arg++;
	}
	opt->min_count = PG_ARGISNULL(arg) ? 0 : PG_GETARG_INT64(arg);

	if (!opt->has_support && PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("min_support and min_count must not both be NULL"),
				 errhint("Give min_support as a fraction of baskets, or min_count as a number of baskets.")));
	if (opt->has_support && !(opt->min_support > 0.0 && opt->min_support <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_support must be greater than 0 and at most 1, not %g",
						opt->min_support),
				 errhint("min_support is a fraction of baskets; use min_count for a number of baskets.")));
	if (!PG_ARGISNULL(arg) && opt->min_count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be at least 1, not " INT64_FORMAT, opt->min_count),
				 errhint("min_count is the smallest number of baskets an itemset must appear in.")));
	if (rules && !(opt->min_confidence >= 0.0 && opt->min_confidence <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_confidence must be between 0 and 1, not %g", opt->min_confidence),
				 errhint("min_confidence is the smallest P(consequent | antecedent) a rule must have.")));
	if (opt->max_size < 1 || opt->max_size > MAX_ITEMSET_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_size must be between 1 and %d, not %d", MAX_ITEMSET_SIZE, opt->max_size),
				 errhint("max_size is the largest number of items in an itemset, the consequent included.")));
	if (rules && (opt->min_size < 1 || opt->min_size > opt->max_size))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_size must be between 1 and max_size (%d), not %d",
						opt->max_size, opt->min_size),
				 errhint("min_size is the smallest number of items in a rule, the consequent included; 2 leaves out rules with an empty left-hand side.")));
}

/* Smallest basket count of a frequent itemset under opt. */
static int64
MinCount(const MineOptions *opt, int64 n_baskets)
{
	int64		c = Max(opt->min_count, 1);

	if (opt->has_support)
		c = Max(c, MinCountForSupport(opt->min_support, n_baskets));
	return c;
}

/* text[] of the keys of kept items items[0..n), skipping position skip. */
static Datum
KeyArray(const Datum *keys, const int32 *items, int32 n, int32 skip)
{
	Datum		elems[MAX_ITEMSET_SIZE];
	int32		i,
				m = 0;

	for (i = 0; i < n; i++)
		if (i != skip)
			elems[m++] = keys[items[i]];
	return PointerGetDatum(construct_array(elems, m, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Emit one row per frequent itemset. */
static void
EmitItemsets(Tuplestorestate *ts, TupleDesc tupdesc, const ItemsetTable *t,
			 const Datum *keys)
{
	int64		i;

	for (i = 0; i < t->n_sets; i++)
	{
		Datum		values[ITEMSET_COLUMNS];
		bool		nulls[ITEMSET_COLUMNS] = {false};
		int32		n = (int32) (t->start[i + 1] - t->start[i]);

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		values[0] = KeyArray(keys, t->items + t->start[i], n, -1);
		values[1] = Int32GetDatum(n);
		values[2] = Int64GetDatum(t->count[i]);
		values[3] = Float8GetDatum((double) t->count[i] / (double) t->n_baskets);
		tuplestore_putvalues(ts, tupdesc, values, nulls);
	}
}

/* Emit one row per association rule passing opt. */
static void
EmitRules(Tuplestorestate *ts, TupleDesc tupdesc, const ItemsetTable *t,
		  const Datum *keys, const MineOptions *opt)
{
	ItemsetIndex *index = ItemsetIndexBuild(t);
	double		dn = (double) t->n_baskets;
	int32		ante[MAX_ITEMSET_SIZE];
	int64		i;

	for (i = 0; i < t->n_sets; i++)
	{
		const int32 *items = t->items + t->start[i];
		int32		n = (int32) (t->start[i + 1] - t->start[i]);
		int64		count = t->count[i];
		int32		p;

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (n < opt->min_size)
			continue;
		for (p = 0; p < n; p++)
		{
			int32		y = items[p];
			int64		count_x,
						count_y = t->kept.item_count[y];
			int32		j,
						m = 0;
			double		conf,
						supp_y;
			Datum		values[RULE_COLUMNS];
			bool		nulls[RULE_COLUMNS] = {false};

			for (j = 0; j < n; j++)
				if (j != p)
					ante[m++] = items[j];
			if (m == 0)
				count_x = t->n_baskets;
			else
			{
				int64		row = ItemsetIndexFind(index, ante, m);

				if (row < 0)
					elog(ERROR, "subset of a frequent itemset is missing, please report a bug");
				count_x = t->count[row];
			}
			conf = (double) count / (double) count_x;
			if (conf < opt->min_confidence)
				continue;
			supp_y = (double) count_y / dn;
			values[0] = KeyArray(keys, items, n, p);
			values[1] = keys[y];
			values[2] = Int32GetDatum(n);
			values[3] = Int64GetDatum(count);
			values[4] = Float8GetDatum((double) count / dn);
			values[5] = Float8GetDatum(conf);
			values[6] = Float8GetDatum((double) count_x / dn);
			values[7] = Float8GetDatum(((double) count * dn) / ((double) count_x * (double) count_y));
			values[8] = Float8GetDatum((double) count / dn - ((double) count_x / dn) * supp_y);
			values[9] = Float8GetDatum(count == count_x ? INFINITY : (1.0 - supp_y) / (1.0 - conf));
			values[10] = Float8GetDatum(exp(FisherLogP(t->n_baskets, count_x, count_y, count)));
			tuplestore_putvalues(ts, tupdesc, values, nulls);
		}
	}
}

/* Mine store under opt and emit itemsets or rules. */
static void
MineAndEmit(FunctionCallInfo fcinfo, BasketStore *store, const MineOptions *opt)
{
	TupleDesc	tupdesc;
	Tuplestorestate *ts = StartRowsOutput(fcinfo, &tupdesc);
	ItemsetTable *t;
	Datum	   *keys;

	if (store->n_baskets == 0)
		return;
	t = MineItemsets(store, MinCount(opt, store->n_baskets), opt->max_size,
					 &store->budget);
	keys = ItemKeyTexts(store->dict, t->kept.item_src, t->kept.n);
	if (opt->rules)
		EmitRules(ts, tupdesc, t, keys, opt);
	else
		EmitItemsets(ts, tupdesc, t, keys);
	ereport(DEBUG1,
			(errmsg("bundlerec: " INT64_FORMAT " baskets, %d frequent items, "
					INT64_FORMAT " frequent itemsets, peak memory %zu kB",
					store->n_baskets, t->kept.n, t->n_sets, BudgetPeak() / 1024)));
}

/* Shared body of the order-lines forms. */
static Datum
SourceForm(FunctionCallInfo fcinfo, bool rules, const char *what)
{
	MineOptions opt;
	MemoryContext work,
				old;

	GetMineOptions(fcinfo, 3, rules, &opt);
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec mining",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BudgetResetPeak();
	MineAndEmit(fcinfo, ReadSourceArgs(fcinfo, what), &opt);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}

/* Shared body of the basketset forms. */
static Datum
BasketSetForm(FunctionCallInfo fcinfo, bool rules, const char *what)
{
	MineOptions opt;
	MemoryContext work,
				old;

	GetMineOptions(fcinfo, 1, rules, &opt);
	if (PG_ARGISNULL(0))
	{
		TupleDesc	tupdesc;

		StartRowsOutput(fcinfo, &tupdesc);
		return (Datum) 0;
	}
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec mining",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BudgetResetPeak();
	MineAndEmit(fcinfo, BasketSetOpen(PG_GETARG_DATUM(0), what), &opt);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}

/*
 * bundlerec.frequent_itemsets(source, basket, item, min_support, max_size,
 * min_count)
 */
Datum
bundlerec_frequent_itemsets(PG_FUNCTION_ARGS)
{
	return SourceForm(fcinfo, false, "bundlerec.frequent_itemsets");
}

/* bundlerec.itemsets(baskets, min_support, max_size, min_count) */
Datum
bundlerec_basketset_itemsets(PG_FUNCTION_ARGS)
{
	return BasketSetForm(fcinfo, false, "bundlerec.itemsets");
}

/*
 * bundlerec.association_rules(source, basket, item, min_support,
 * min_confidence, max_size, min_size, min_count)
 */
Datum
bundlerec_association_rules(PG_FUNCTION_ARGS)
{
	return SourceForm(fcinfo, true, "bundlerec.association_rules");
}

/*
 * bundlerec.rules(baskets, min_support, min_confidence, max_size, min_size,
 * min_count)
 */
Datum
bundlerec_basketset_rules(PG_FUNCTION_ARGS)
{
	return BasketSetForm(fcinfo, true, "bundlerec.rules");
}
