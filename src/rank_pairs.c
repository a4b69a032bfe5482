/*
 * rank_pairs.c
 *	  A model's pairs stage: the best partners of every item by shrunk NPMI,
 *	  read from the model's pair and item count tables in one pass, each
 *	  item's partners kept in a bounded heap.  The pair counts are a base
 *	  table plus the changes of later incremental refreshes (a small table,
 *	  held in a hash while the base is read).  bundlerec._rank_pairs().
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "bundlerec.h"
#include "items.h"
#include "measures.h"
#include "output.h"
#include "progress.h"
#include "source.h"
#include "topk.h"

PG_FUNCTION_INFO_V1(bundlerec_rank_pairs);

#define RANK_PAIR_COLUMNS 11

/* A pair's change not yet folded into the base counts. */
typedef struct DeltaEntry
{
	uint64		pair;			/* item_a id << 32 | item_b id */
	int64		count;
	bool		seen;			/* the base holds the pair */
} DeltaEntry;

typedef struct RankState
{
	ItemDict   *dict;
	int32		nitems;
	int64	   *orders;
	TopEntry   *heaps;
	int32	   *sizes;
	int32		k;
	int64		n;
	int64		min_count;
	double		shrinkage;
} RankState;

/* Offers the pair (a, b) seen in cab orders to both items' heaps. */
static void
OfferPair(RankState *st, int32 a, int32 b, int64 cab)
{
	TopEntry	e;

	if (cab < st->min_count)
		return;
	e.score = ShrunkNpmi((double) st->n, (double) st->orders[a], (double) st->orders[b],
						 (double) cab, st->shrinkage);
	e.payload = cab;
	e.partner = b;
	TopOffer(st->heaps + (Size) a * st->k, &st->sizes[a], st->k, &e);
	e.partner = a;
	TopOffer(st->heaps + (Size) b * st->k, &st->sizes[b], st->k, &e);
}

/* Ids of a pair row's items; false when either is unknown or NULL. */
static bool
PairIds(RankState *st, HeapTuple tup, TupleDesc desc, int32 *a, int32 *b, int64 *cab)
{
	bool		na,
				nb,
				nc;
	Datum		da = SPI_getbinval(tup, desc, 1, &na);
	Datum		db = SPI_getbinval(tup, desc, 2, &nb);

	*cab = DatumGetInt64(SPI_getbinval(tup, desc, 3, &nc));
	if (na || nb || nc)
		return false;
	*a = ItemDictAdd(st->dict, da);
	*b = ItemDictAdd(st->dict, db);
	/* a pair whose item the item counts lack is left out, as a join would */
	return *a < st->nitems && *b < st->nitems && *a != *b;
}

/* The changes in pair_delta, in a hash; max_add is the largest increase. */
static HTAB *
LoadDelta(RankState *st, Oid relid, int64 *max_add)
{
	HASHCTL		ctl = {0};
	HTAB	   *h;
	uint64		r;

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(DeltaEntry);
	ctl.hcxt = CurrentMemoryContext;
	h = hash_create("bundlerec pair delta", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	*max_add = 0;
	if (SPI_execute(psprintf("SELECT item_a, item_b, count::pg_catalog.int8 FROM %s", RelationSqlName(relid)),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the pair changes");
	for (r = 0; r < SPI_processed; r++)
	{
		int32		a,
					b;
		int64		d;
		uint64		key;
		bool		found;
		DeltaEntry *e;

		if (!PairIds(st, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, &a, &b, &d))
			continue;
		key = ((uint64) Min(a, b) << 32) | (uint32) Max(a, b);
		e = hash_search(h, &key, HASH_ENTER, &found);
		e->count = found ? e->count + d : d;
		e->seen = false;
		*max_add = Max(*max_add, e->count);
	}
	SPI_freetuptable(SPI_tuptable);
	return h;
}


/*
 * bundlerec._rank_pairs(pair_counts, pair_delta, item_counts, n, shrinkage,
 * per_item, min_count): for every item, its per_item best partners among
 * the pairs of pair_counts (item_a, item_b, count) plus pair_delta (the same
 * columns, changes; NULL for none) in at least min_count orders,
 * ranked by npmi shrunk by count / (count + shrinkage), ties to the
 * partner first in "C" order; item_counts (item, orders) gives each item's
 * orders and n the number of orders.  Rows: item, rank, partner, count,
 * item_orders, partner_orders, support, confidence, lift, npmi, score.
 */
Datum
bundlerec_rank_pairs(PG_FUNCTION_ARGS)
{
	RankState	st = {0};
	TupleDesc	tupdesc;
	Tuplestorestate *ts;
	MemoryContext work,
				old;
	Budget		budget;
	HTAB	   *delta = NULL;
	int64		max_add = 0;
	Datum	   *keys;
	Portal		portal;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	uint64		r;
	int32		item;
	Progress	progress;
	int64		nread = 0;

	for (r = 0; r < 7; r++)
		if (PG_ARGISNULL(r) && r != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the arguments of bundlerec._rank_pairs must not be NULL"),
					 errhint("Pass the pair and item count tables, the number of orders, shrinkage, per_item and min_count.")));
	st.n = PG_GETARG_INT64(3);
	st.shrinkage = PG_GETARG_FLOAT8(4);
	st.k = PG_GETARG_INT32(5);
	st.min_count = PG_GETARG_INT64(6);
	if (st.n < 1 || st.k < 1 || st.min_count < 1 ||
		!(st.shrinkage >= 0 && st.shrinkage < get_float8_infinity()))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bundlerec._rank_pairs needs n, per_item and min_count of at least 1 and a finite shrinkage of at least 0"),
				 errhint("The model options pairs_per_item, min_count and shrinkage set them.")));

	ts = StartRowsOutput(fcinfo, &tupdesc);
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec rank pairs",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BudgetInit(&budget, "the pairs of a model");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* items in "C" order, so that smaller ids break ties as SQL's ORDER BY would */
	if (SPI_execute(psprintf("SELECT item::pg_catalog.text, orders::pg_catalog.int8 FROM %s "
							 "WHERE item IS NOT NULL ORDER BY item::pg_catalog.text COLLATE pg_catalog.\"C\"",
							 RelationSqlName(PG_GETARG_OID(2))), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the item counts");
	if (SPI_processed >= (uint64) PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many items in \"%s\"", get_rel_name(PG_GETARG_OID(2)))));
	st.nitems = (int32) SPI_processed;
	st.dict = ItemDictCreate(TEXTOID, C_COLLATION_OID, &budget);
	st.orders = BudgetAlloc0(&budget, sizeof(int64) * Max(st.nitems, 1));
	for (r = 0; r < (uint64) st.nitems; r++)
	{
		bool		isnull;
		Datum		key = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
		Datum		cnt = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);

		if (ItemDictAdd(st.dict, key) != (int32) r)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("\"%s\" holds an item twice", get_rel_name(PG_GETARG_OID(2)))));
		st.orders[r] = isnull ? 0 : DatumGetInt64(cnt);
	}
	SPI_freetuptable(SPI_tuptable);

	st.heaps = BudgetAlloc(&budget, mul_size(mul_size(sizeof(TopEntry), Max(st.nitems, 1)), st.k));
	st.sizes = BudgetAlloc0(&budget, sizeof(int32) * Max(st.nitems, 1));
	if (!PG_ARGISNULL(1))
		delta = LoadDelta(&st, PG_GETARG_OID(1), &max_add);

	/* a base count below min_count - max_add cannot reach min_count */
	args[0] = Int64GetDatum(st.min_count - max_add);
	portal = SPI_cursor_open_with_args(NULL,
									   psprintf("SELECT item_a, item_b, count::pg_catalog.int8 FROM %s "
												"WHERE count OPERATOR(pg_catalog.>=) $1",
												RelationSqlName(PG_GETARG_OID(0))),
									   1, argtypes, args, NULL, true, 0);
	ProgressStart(&progress, "pairs", "pair counts read", 0);
	while (FetchRows(portal, &progress, &nread))
	{
		for (r = 0; r < SPI_processed; r++)
		{
			int32		a,
						b;
			int64		cab;

			if (!PairIds(&st, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, &a, &b, &cab))
				continue;
			if (delta != NULL && hash_get_num_entries(delta) > 0)
			{
				uint64		key = ((uint64) Min(a, b) << 32) | (uint32) Max(a, b);
				DeltaEntry *e = hash_search(delta, &key, HASH_FIND, NULL);

				if (e != NULL)
				{
					cab += e->count;
					e->seen = true;
				}
			}
			OfferPair(&st, a, b, cab);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	if (delta != NULL)
	{
		HASH_SEQ_STATUS seq;
		DeltaEntry *e;

		/*
		 * Pairs the scan did not meet: not in the base, or in it below
		 * min_count - max_add, where base + change stays under min_count
		 * and so does the change alone.
		 */
		hash_seq_init(&seq, delta);
		while ((e = hash_seq_search(&seq)) != NULL)
			if (!e->seen)
				OfferPair(&st, (int32) (e->pair >> 32), (int32) (e->pair & 0xFFFFFFFF), e->count);
	}

	keys = palloc(sizeof(Datum) * Max(st.nitems, 1));
	for (item = 0; item < st.nitems; item++)
		keys[item] = ItemDictKey(st.dict, item, TEXTOID);
	for (item = 0; item < st.nitems; item++)
	{
		TopEntry   *h = st.heaps + (Size) item * st.k;
		int32		j;

		CHECK_FOR_INTERRUPTS();
		TopEntriesSort(h, st.sizes[item]);
		for (j = 0; j < st.sizes[item]; j++)
		{
			Datum		v[RANK_PAIR_COLUMNS];
			bool		nulls[RANK_PAIR_COLUMNS] = {0};
			int64		cab = h[j].payload;
			int64		ca = st.orders[item],
						cb = st.orders[h[j].partner];

			v[0] = keys[item];
			v[1] = Int32GetDatum(j + 1);
			v[2] = keys[h[j].partner];
			v[3] = Int64GetDatum(cab);
			v[4] = Int64GetDatum(ca);
			v[5] = Int64GetDatum(cb);
			v[6] = Float8GetDatum((double) cab / (double) st.n);
			v[7] = Float8GetDatum((double) cab / (double) ca);
			v[8] = Float8GetDatum((double) cab * (double) st.n / ((double) ca * (double) cb));
			v[9] = Float8GetDatum(ShrunkNpmi((double) st.n, (double) ca, (double) cb, (double) cab, 0));
			v[10] = Float8GetDatum(h[j].score);
			tuplestore_putvalues(ts, tupdesc, v, nulls);
		}
	}
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
