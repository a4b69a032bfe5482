/*
 * rank_pairs.c
 *	  A model's pairs stage: the best partners of every item by shrunk NPMI,
 *	  read from the model's pair and item count tables in one pass, each
 *	  item's partners kept in a bounded heap.  The pair counts are a base
 *	  table plus the changes of later incremental refreshes (a smaller
 *	  table, held sorted while the base is read).  bundlerec._rank_pairs().
 *	  The cold-start stage reads the same counts for the partners of
 *	  products like a product with few orders: bundlerec._cold_partners().
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
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

/*
 * The changes not yet folded into the base counts, sorted by pair (item_a
 * id << 32 | item_b id), with where each item_a's run starts.  Every pair
 * of the base is looked up here: a binary search within one item's run
 * touches a few nearby cache lines, where a hash lookup missed the cache
 * each time and was most of the stage's time.
 */
typedef struct PairDelta
{
	int64		n;
	uint64	   *pair;
	int64	   *count;
	bool	   *seen;			/* the base holds the pair */
	int64	   *start;			/* nitems + 1 offsets into pair */
} PairDelta;

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
	Budget	   *budget;
} RankState;

/* Offers the pair (a, b) seen in cab orders to both items' heaps (a PairFn). */
static void
OfferPair(void *arg, int32 a, int32 b, int64 cab)
{
	RankState  *st = arg;
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

/*
 * Reads item_counts (item, orders) into st: ids in "C" order, so that
 * smaller ids break ties as SQL's ORDER BY would.  Needs SPI connected.
 */
static void
LoadItemCounts(RankState *st, Oid relid, Budget *budget)
{
	uint64		r;

	if (SPI_execute(psprintf("SELECT item::pg_catalog.text, orders::pg_catalog.int8 FROM %s "
							 "WHERE item IS NOT NULL ORDER BY item::pg_catalog.text COLLATE pg_catalog.\"C\"",
							 RelationSqlName(relid)), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the item counts");
	if (SPI_processed >= (uint64) PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many items in \"%s\"", get_rel_name(relid))));
	st->nitems = (int32) SPI_processed;
	st->dict = ItemDictCreate(TEXTOID, C_COLLATION_OID, budget);
	st->orders = BudgetAlloc0(budget, sizeof(int64) * Max(st->nitems, 1));
	for (r = 0; r < (uint64) st->nitems; r++)
	{
		bool		isnull;
		Datum		key = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
		Datum		cnt = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);

		if (ItemDictAdd(st->dict, key) != (int32) r)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("\"%s\" holds an item twice", get_rel_name(relid))));
		st->orders[r] = isnull ? 0 : DatumGetInt64(cnt);
	}
	SPI_freetuptable(SPI_tuptable);
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

static int
ComparePair(const void *x, const void *y)
{
	uint64		a = *(const uint64 *) x,
				b = *(const uint64 *) y;

	return (a > b) - (a < b);
}

/*
 * The changes in pair_delta, read through a cursor, sorted by pair with
 * the changes of one pair summed; max_add is the largest increase.
 */
static PairDelta *
LoadDelta(RankState *st, Oid relid, int64 *max_add)
{
	PairDelta  *d = BudgetAlloc0(st->budget, sizeof(PairDelta));
	uint64	   *keys;
	int64		cap = 1024,
				n = 0,
				i;
	Portal		portal;
	Progress	progress;
	int64		nread = 0;
	uint64		r;

	/* key and count side by side while read, so they sort together */
	keys = BudgetAlloc(st->budget, sizeof(uint64) * 2 * cap);
	portal = SPI_cursor_open_with_args(NULL,
									   psprintf("SELECT item_a, item_b, count::pg_catalog.int8 FROM %s",
												RelationSqlName(relid)),
									   0, NULL, NULL, NULL, true, 0);
	ProgressStart(&progress, "pairs", "pair changes read", 0);
	while (FetchRows(portal, &progress, &nread))
	{
		for (r = 0; r < SPI_processed; r++)
		{
			int32		a,
						b;
			int64		c;

			if (!PairIds(st, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, &a, &b, &c))
				continue;
			if (n == cap)
			{
				keys = BudgetRealloc(st->budget, keys, sizeof(uint64) * 2 * cap, sizeof(uint64) * 4 * cap);
				cap *= 2;
			}
			keys[2 * n] = ((uint64) Min(a, b) << 32) | (uint32) Max(a, b);
			keys[2 * n + 1] = (uint64) c;
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	qsort(keys, n, sizeof(uint64) * 2, ComparePair);

	d->pair = BudgetAlloc(st->budget, sizeof(uint64) * Max(n, 1));
	d->count = BudgetAlloc(st->budget, sizeof(int64) * Max(n, 1));
	d->seen = BudgetAlloc0(st->budget, sizeof(bool) * Max(n, 1));
	d->start = BudgetAlloc0(st->budget, sizeof(int64) * (st->nitems + 1));
	*max_add = 0;
	for (i = 0; i < n; i++)
	{
		if (d->n > 0 && d->pair[d->n - 1] == keys[2 * i])
			d->count[d->n - 1] += (int64) keys[2 * i + 1];
		else
		{
			d->pair[d->n] = keys[2 * i];
			d->count[d->n++] = (int64) keys[2 * i + 1];
		}
		*max_add = Max(*max_add, d->count[d->n - 1]);
	}
	BudgetFree(st->budget, keys, sizeof(uint64) * 2 * cap);
	/* the pairs are sorted by item_a id: its run starts after the smaller ids' */
	for (i = 0; i < d->n; i++)
		d->start[(d->pair[i] >> 32) + 1]++;
	for (i = 0; i < st->nitems; i++)
		d->start[i + 1] += d->start[i];
	return d;
}

/* The change of pair key, or -1 when it has none. */
static inline int64
FindDelta(const PairDelta *d, int32 a, uint64 key)
{
	int64		lo = d->start[a],
				hi = d->start[a + 1];

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (d->pair[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->start[a + 1] && d->pair[lo] == key ? lo : -1;
}


/* What a scan of the pair counts does with each pair. */
typedef void (*PairFn) (void *arg, int32 a, int32 b, int64 cab);

/*
 * Passes fn every pair of pair_counts (item_a, item_b, count) plus the
 * changes of pair_delta (InvalidOid: none) that can reach min_count, with
 * its count; fn still checks min_count.  One cursor pass over the base,
 * its progress reported as stage.  Needs SPI connected.
 */
static void
ScanPairs(RankState *st, Oid pair_counts, Oid pair_delta, int64 min_count,
		  const char *stage, PairFn fn, void *arg)
{
	PairDelta  *delta = NULL;
	int64		max_add = 0;
	Portal		portal;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	Progress	progress;
	int64		nread = 0;
	uint64		r;

	if (OidIsValid(pair_delta))
		delta = LoadDelta(st, pair_delta, &max_add);
	/* a base count below min_count - max_add cannot reach min_count */
	args[0] = Int64GetDatum(min_count - max_add);
	portal = SPI_cursor_open_with_args(NULL,
									   psprintf("SELECT item_a, item_b, count::pg_catalog.int8 FROM %s "
												"WHERE count OPERATOR(pg_catalog.>=) $1",
												RelationSqlName(pair_counts)),
									   1, argtypes, args, NULL, true, 0);
	ProgressStart(&progress, stage, "pair counts read", 0);
	while (FetchRows(portal, &progress, &nread))
	{
		for (r = 0; r < SPI_processed; r++)
		{
			int32		a,
						b;
			int64		cab;

			if (!PairIds(st, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, &a, &b, &cab))
				continue;
			if (delta != NULL && delta->n > 0)
			{
				int64		i = FindDelta(delta, Min(a, b), ((uint64) Min(a, b) << 32) | (uint32) Max(a, b));

				if (i >= 0)
				{
					cab += delta->count[i];
					delta->seen[i] = true;
				}
			}
			fn(arg, a, b, cab);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	if (delta != NULL)
	{
		int64		i;

		/*
		 * Pairs the scan did not meet: not in the base, or in it below
		 * min_count - max_add, where base + change stays under min_count
		 * and so does the change alone.
		 */
		for (i = 0; i < delta->n; i++)
			if (!delta->seen[i])
				fn(arg, (int32) (delta->pair[i] >> 32), (int32) (delta->pair[i] & 0xFFFFFFFF), delta->count[i]);
	}
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
	Datum	   *keys;
	uint64		r;
	int32		item;

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

	st.budget = &budget;
	LoadItemCounts(&st, PG_GETARG_OID(2), &budget);

	st.heaps = BudgetAlloc(&budget, mul_size(mul_size(sizeof(TopEntry), Max(st.nitems, 1)), st.k));
	st.sizes = BudgetAlloc0(&budget, sizeof(int32) * Max(st.nitems, 1));
	ScanPairs(&st, PG_GETARG_OID(0), PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1), st.min_count,
			  "pairs", OfferPair, &st);

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

/* The partners of a content neighbour: ids and their pair counts. */
typedef struct Adjacency
{
	int32	   *partner;
	int64	   *count;
	int32		n;
	int32		cap;
} Adjacency;

/* A product's content neighbour with orders. */
typedef struct PoolNeighbor
{
	int32		id;
	double		similarity;
} PoolNeighbor;

/* A product to pool for, and its neighbours (a run of PoolNeighbor). */
typedef struct PoolProduct
{
	Datum		key;
	int32		id;				/* its own id; -1 when it has no orders */
	int32		first;
	int32		n;
} PoolProduct;

static void
AddPartner(Adjacency *adj, Budget *budget, int32 b, int64 cab)
{
	if (adj->n == adj->cap)
	{
		int32		cap = Max(16, adj->cap * 2);

		adj->partner = adj->cap == 0 ? BudgetAlloc(budget, sizeof(int32) * cap)
			: BudgetRealloc(budget, adj->partner, sizeof(int32) * adj->cap, sizeof(int32) * cap);
		adj->count = adj->cap == 0 ? BudgetAlloc(budget, sizeof(int64) * cap)
			: BudgetRealloc(budget, adj->count, sizeof(int64) * adj->cap, sizeof(int64) * cap);
		adj->cap = cap;
	}
	adj->partner[adj->n] = b;
	adj->count[adj->n++] = cab;
}

/* The neighbours' partners being collected by a scan of the pair counts. */
typedef struct PoolScan
{
	Adjacency  *adj;
	const bool *needed;
	Budget	   *budget;
	int64		min_count;
} PoolScan;

/* A pair (a, b) seen in cab orders, kept for whichever is needed (a PairFn). */
static void
KeepPair(void *arg, int32 a, int32 b, int64 cab)
{
	PoolScan   *ps = arg;

	if (cab < ps->min_count)
		return;
	if (ps->needed[a])
		AddPartner(&ps->adj[a], ps->budget, b, cab);
	if (ps->needed[b])
		AddPartner(&ps->adj[b], ps->budget, a, cab);
}

/*
 * bundlerec._cold_partners(pair_counts, pair_delta, item_counts, neighbors,
 * min_count, k): for every product of neighbors (item, neighbor, similarity
 * > 0), the k partners most bought with products like it, pooling the
 * orders of its neighbours that have orders: score(j) = sum sim(n) *
 * count(n, j) / sum sim(n) * orders(n), over all pairs of at least
 * min_count orders (pair_counts plus pair_delta, as _rank_pairs reads
 * them), so a neighbour weighs by its similarity and its orders.  Ties go
 * to the partner first in "C" order.  via is the neighbour of largest sim
 * * confidence(n -> j).  Rows: item, partner, score, via, via_similarity,
 * via_confidence.
 */
PG_FUNCTION_INFO_V1(bundlerec_cold_partners);

Datum
bundlerec_cold_partners(PG_FUNCTION_ARGS)
{
	RankState	st = {0};
	TupleDesc	tupdesc;
	Tuplestorestate *ts;
	MemoryContext work,
				old;
	Budget		budget;
	int64		min_count;
	int32		k;
	uint64		r;
	bool	   *needed;
	PoolScan	scan;
	Adjacency  *adj;
	PoolProduct *prods;
	PoolNeighbor *nbrs;
	int32		nprods = 0;
	int32		nnbrs = 0;
	double	   *acc;
	double	   *best;
	int32	   *via;
	int32	   *touched;
	TopEntry   *heap;
	Datum	   *keys;
	int32		p;

	for (r = 0; r < 6; r++)
		if (PG_ARGISNULL(r) && r != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the arguments of bundlerec._cold_partners must not be NULL"),
					 errhint("Pass the pair and item count tables, the neighbours, min_count and k.")));
	min_count = PG_GETARG_INT64(4);
	k = PG_GETARG_INT32(5);
	if (min_count < 1 || k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bundlerec._cold_partners needs min_count and k of at least 1"),
				 errhint("The model options min_count and pairs_per_item set them.")));

	ts = StartRowsOutput(fcinfo, &tupdesc);
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec cold partners",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BudgetInit(&budget, "the cold-start partners of a model");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	st.budget = &budget;
	LoadItemCounts(&st, PG_GETARG_OID(2), &budget);
	needed = BudgetAlloc0(&budget, sizeof(bool) * Max(st.nitems, 1));
	adj = BudgetAlloc0(&budget, sizeof(Adjacency) * Max(st.nitems, 1));

	/* the products and their neighbours with orders, product by product */
	if (SPI_execute(psprintf("SELECT item::pg_catalog.text, neighbor::pg_catalog.text, similarity::pg_catalog.float8 FROM %s "
							 "WHERE item IS NOT NULL AND neighbor IS NOT NULL AND similarity OPERATOR(pg_catalog.>) 0 "
							 "ORDER BY item::pg_catalog.text COLLATE pg_catalog.\"C\"",
							 RelationSqlName(PG_GETARG_OID(3))), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the content neighbours");
	prods = BudgetAlloc(&budget, sizeof(PoolProduct) * Max(SPI_processed, 1));
	nbrs = BudgetAlloc(&budget, sizeof(PoolNeighbor) * Max(SPI_processed, 1));
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		key = SPI_getbinval(tup, desc, 1, &isnull);
		int32		nid = ItemDictAdd(st.dict, SPI_getbinval(tup, desc, 2, &isnull));

		if (nprods == 0 || strcmp(TextDatumGetCString(prods[nprods - 1].key), TextDatumGetCString(key)) != 0)
		{
			int32		pid = ItemDictAdd(st.dict, key);

			prods[nprods].key = datumCopy(key, false, -1);
			prods[nprods].id = pid < st.nitems ? pid : -1;
			prods[nprods].first = nnbrs;
			prods[nprods].n = 0;
			nprods++;
		}
		if (nid >= st.nitems || st.orders[nid] <= 0)
			continue;
		nbrs[nnbrs].id = nid;
		nbrs[nnbrs].similarity = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
		nnbrs++;
		prods[nprods - 1].n++;
		needed[nid] = true;
	}
	SPI_freetuptable(SPI_tuptable);

	scan.adj = adj;
	scan.needed = needed;
	scan.budget = &budget;
	scan.min_count = min_count;
	ScanPairs(&st, PG_GETARG_OID(0), PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1), min_count,
			  "cold start", KeepPair, &scan);

	acc = BudgetAlloc0(&budget, sizeof(double) * Max(st.nitems, 1));
	best = BudgetAlloc0(&budget, sizeof(double) * Max(st.nitems, 1));
	via = BudgetAlloc(&budget, sizeof(int32) * Max(st.nitems, 1));
	touched = BudgetAlloc(&budget, sizeof(int32) * Max(st.nitems, 1));
	heap = BudgetAlloc(&budget, sizeof(TopEntry) * k);
	keys = BudgetAlloc(&budget, sizeof(Datum) * Max(st.nitems, 1));
	for (r = 0; r < (uint64) st.nitems; r++)
		keys[r] = ItemDictKey(st.dict, (int32) r, TEXTOID);
	for (p = 0; p < nprods; p++)
	{
		PoolProduct *pr = &prods[p];
		double		den = 0;
		int32		ntouched = 0;
		int32		size = 0;
		int32		i,
					j;

		CHECK_FOR_INTERRUPTS();
		for (i = pr->first; i < pr->first + pr->n; i++)
			den += nbrs[i].similarity * (double) st.orders[nbrs[i].id];
		for (i = pr->first; i < pr->first + pr->n; i++)
		{
			PoolNeighbor *nb = &nbrs[i];
			Adjacency  *a = &adj[nb->id];

			for (j = 0; j < a->n; j++)
			{
				int32		b = a->partner[j];
				double		v = nb->similarity * (double) a->count[j];
				double		c = nb->similarity * (double) a->count[j] / (double) st.orders[nb->id];

				if (b == pr->id)
					continue;
				if (acc[b] == 0)
				{
					touched[ntouched++] = b;
					best[b] = -1;
				}
				acc[b] += v;
				if (c > best[b] || (c == best[b] && nb->id < via[b]))
				{
					best[b] = c;
					via[b] = nb->id;
				}
			}
		}
		for (i = 0; i < ntouched; i++)
		{
			TopEntry	e;

			e.score = acc[touched[i]] / den;
			e.partner = touched[i];
			e.payload = via[touched[i]];
			TopOffer(heap, &size, k, &e);
			acc[touched[i]] = 0;
		}
		TopEntriesSort(heap, size);
		for (i = 0; i < size; i++)
		{
			Datum		v[6];
			bool		nulls[6] = {0};
			int32		n = (int32) heap[i].payload;
			int32		vi;
			double		sim = 0;
			int64		cnt = 0;

			/* the via neighbour's similarity and its pair count with the partner */
			for (vi = pr->first; vi < pr->first + pr->n; vi++)
				if (nbrs[vi].id == n)
					sim = nbrs[vi].similarity;
			for (j = 0; j < adj[n].n; j++)
				if (adj[n].partner[j] == heap[i].partner)
					cnt = adj[n].count[j];
			v[0] = pr->key;
			v[1] = keys[heap[i].partner];
			v[2] = Float8GetDatum(heap[i].score);
			v[3] = keys[n];
			v[4] = Float8GetDatum(sim);
			v[5] = Float8GetDatum((double) cnt / (double) st.orders[n]);
			tuplestore_putvalues(ts, tupdesc, v, nulls);
		}
	}
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
