/*
 * pair_rows.c
 *	  Pair tables as SQL rows with every measure: bundlerec.item_pairs()
 *	  over a table of order lines, and bundlerec.pairs() over a paircounts
 *	  value built by the bundlerec.pair_counts aggregate.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "bundlerec.h"
#include "measures.h"
#include "output.h"
#include "pair_agg.h"
#include "pair_count.h"
#include "source.h"
#include "topk.h"

#define PAIR_COLUMNS 16

PG_FUNCTION_INFO_V1(bundlerec_item_pairs);
PG_FUNCTION_INFO_V1(bundlerec_pairs);

typedef struct PairRowOptions
{
	int64		min_count;
	double		min_support;
	int32		top_k;			/* 0: every pair */
	RankBy		rank_by;
} PairRowOptions;

/* Read and check min_count, min_support, top_k and rank_by arguments. */
static void
GetPairRowOptions(FunctionCallInfo fcinfo, int first, PairRowOptions *opt)
{
	if (PG_ARGISNULL(first) || PG_ARGISNULL(first + 1) || PG_ARGISNULL(first + 3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("min_count, min_support and rank_by must not be NULL"),
				 errhint("Leave them out to use their defaults.")));
	opt->min_count = PG_GETARG_INT64(first);
	opt->min_support = PG_GETARG_FLOAT8(first + 1);
	opt->top_k = PG_ARGISNULL(first + 2) ? 0 : PG_GETARG_INT32(first + 2);
	opt->rank_by = ParseRankBy(text_to_cstring(PG_GETARG_TEXT_PP(first + 3)));

	if (opt->min_count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be at least 1, not " INT64_FORMAT, opt->min_count),
				 errhint("min_count is the smallest number of baskets a pair must share.")));
	if (!(opt->min_support >= 0.0 && opt->min_support <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_support must be between 0 and 1, not %g", opt->min_support),
				 errhint("min_support is the smallest fraction of baskets a pair must appear in.")));
	if (!PG_ARGISNULL(first + 2) && opt->top_k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_k must be at least 1, not %d", opt->top_k),
				 errhint("Pass NULL to keep every pair.")));
}

/* Mark the pairs that rank within the top k partners of either item. */
static bool *
ChooseTopPairs(const PairTable *pt, int64 minc, const PairRowOptions *opt)
{
	/* an item has at most n_items - 1 partners */
	int32		k = Min(opt->top_k, Max(pt->n_items, 1));
	Size		heapbytes = mul_size(mul_size(sizeof(TopEntry), Max(pt->n_items, 1)), k);
	TopEntry   *heaps = BudgetAlloc(pt->budget, heapbytes);
	int32	   *sizes = palloc0(mul_size(sizeof(int32), Max(pt->n_items, 1)));
	bool	   *keep = BudgetAlloc0(pt->budget, sizeof(bool) * Max(pt->n_pairs, 1));
	int64		i;
	int32		item;

	for (i = 0; i < pt->n_pairs; i++)
	{
		int32		a = pt->pa[i],
					b = pt->pb[i];
		int64		ab = pt->cnt[i];
		TopEntry	e;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (ab < minc)
			continue;
		e.payload = i;
		e.partner = b;
		e.score = RankScore(opt->rank_by, pt->n_baskets, pt->item_count[a],
							pt->item_count[b], ab);
		TopOffer(heaps + (Size) a * k, &sizes[a], k, &e);
		e.partner = a;
		e.score = RankScore(opt->rank_by, pt->n_baskets, pt->item_count[b],
							pt->item_count[a], ab);
		TopOffer(heaps + (Size) b * k, &sizes[b], k, &e);
	}
	for (item = 0; item < pt->n_items; item++)
	{
		int32		j;

		for (j = 0; j < sizes[item]; j++)
			keep[heaps[(Size) item * k + j].payload] = true;
	}
	BudgetFree(pt->budget, heaps, heapbytes);
	pfree(sizes);
	return keep;
}

/* Emit one row per pair passing the options, in (item_a, item_b) order. */
static void
EmitPairRows(FunctionCallInfo fcinfo, const PairTable *pt, const ItemDict *dict,
			 const PairRowOptions *opt)
{
	TupleDesc	tupdesc;
	Tuplestorestate *ts = StartRowsOutput(fcinfo, &tupdesc);
	int64		minc = Max(opt->min_count, MinCountForSupport(opt->min_support, pt->n_baskets));
	bool	   *keep = NULL;
	Datum	   *keys;
	int64		i;

	if (pt->n_pairs == 0)
		return;
	if (opt->top_k > 0)
		keep = ChooseTopPairs(pt, minc, opt);

	keys = ItemKeyTexts(dict, pt->item_src, pt->n_items);

	for (i = 0; i < pt->n_pairs; i++)
	{
		int32		a = pt->pa[i],
					b = pt->pb[i];
		int64		ab = pt->cnt[i];
		Datum		values[PAIR_COLUMNS];
		bool		nulls[PAIR_COLUMNS];
		PairMeasures m;

		if ((i & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (ab < minc || (keep && !keep[i]))
			continue;
		ComputePairMeasures(pt->n_baskets, pt->item_count[a], pt->item_count[b], ab, &m);
		memset(nulls, 0, sizeof(nulls));
		values[0] = keys[a];
		values[1] = keys[b];
		values[2] = Int64GetDatum(ab);
		values[3] = Int64GetDatum(pt->item_count[a]);
		values[4] = Int64GetDatum(pt->item_count[b]);
		values[5] = Int64GetDatum(pt->n_baskets);
		values[6] = Float8GetDatum(m.support);
		values[7] = Float8GetDatum(m.confidence_ab);
		values[8] = Float8GetDatum(m.confidence_ba);
		values[9] = Float8GetDatum(m.lift);
		values[10] = Float8GetDatum(m.jaccard);
		values[11] = Float8GetDatum(m.cosine);
		values[12] = Float8GetDatum(m.leverage);
		values[13] = Float8GetDatum(m.conviction_ab);
		values[14] = Float8GetDatum(m.conviction_ba);
		values[15] = Float8GetDatum(m.fisher_p);
		tuplestore_putvalues(ts, tupdesc, values, nulls);
	}
}

/*
 * bundlerec.item_pairs(source, basket, item, min_count, min_support, top_k,
 * rank_by): pairs of items bought together in source.
 */
Datum
bundlerec_item_pairs(PG_FUNCTION_ARGS)
{
	PairRowOptions opt;
	MemoryContext work,
				old;
	BasketStore *store;
	PairTable  *pt;
	int64		minc;

	GetPairRowOptions(fcinfo, 3, &opt);

	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec item_pairs",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BudgetResetPeak();

	store = ReadSourceArgs(fcinfo, "bundlerec.item_pairs");
	minc = Max(opt.min_count, MinCountForSupport(opt.min_support, store->n_baskets));
	pt = CountPairs(store, minc, &store->budget);
	BudgetFree(&store->budget, store->data, sizeof(int32) * store->cap);
	store->data = NULL;

	EmitPairRows(fcinfo, pt, store->dict, &opt);
	ereport(DEBUG1,
			(errmsg("bundlerec.item_pairs: " INT64_FORMAT " baskets, %d items kept, "
					INT64_FORMAT " pairs counted, peak memory %zu kB",
					store->n_baskets, pt->n_items, pt->n_pairs,
					BudgetPeak() / 1024)));

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}

/*
 * bundlerec.pairs(counts, min_count, min_support, top_k, rank_by): rows of
 * a paircounts value.
 */
Datum
bundlerec_pairs(PG_FUNCTION_ARGS)
{
	PairRowOptions opt;
	MemoryContext work,
				old;
	PairTable  *pt;
	ItemDict   *dict;
	Budget		budget;

	GetPairRowOptions(fcinfo, 1, &opt);
	if (PG_ARGISNULL(0))
	{
		TupleDesc	tupdesc;

		StartRowsOutput(fcinfo, &tupdesc);
		return (Datum) 0;
	}
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec pairs",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BudgetInit(&budget, "bundlerec.pairs");
	pt = PairCountsOpen(PG_GETARG_DATUM(0), &dict, &budget);
	EmitPairRows(fcinfo, pt, dict, &opt);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
