/*
 * bundle_data.c
 *	  The source as bundle scoring sees it: baskets, the sorted basket list
 *	  of every item (so the baskets holding a whole bundle are a filter of
 *	  the anchor's list), item prices and categories, and pair counts
 *	  computed on demand and cached.
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "bundles.h"
#include "item_attributes.h"
#include "source.h"

typedef struct PairEntry
{
	uint64		key;			/* (a << 32) | b with a < b */
	int64		count;
	char		status;
} PairEntry;

#define SH_PREFIX paircache
#define SH_ELEMENT_TYPE PairEntry
#define SH_KEY_TYPE uint64
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) &(k), sizeof(uint64))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static int
CompareDouble(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Receives the rows of ReadItemAttributes into a BundleData. */
typedef struct AttrReceiver
{
	DestReceiver pub;
	BundleData *d;
	MemoryContext cxt;			/* where categories are kept */
	int64		rows;
} AttrReceiver;

static bool
AttrReceive(TupleTableSlot *slot, DestReceiver *self)
{
	AttrReceiver *r = (AttrReceiver *) self;
	BundleData *d = r->d;
	bool		isnull;
	Datum		v;
	char	   *key;
	int32		id;

	if ((r->rows++ & 0x3FF) == 0)
		CHECK_FOR_INTERRUPTS();
	v = slot_getattr(slot, 1, &isnull);
	if (isnull)
		return true;
	key = TextDatumGetCString(v);
	id = ItemDictFind(d->dict, key);
	pfree(key);
	if (id < 0 || id >= d->n_items)
		return true;
	v = slot_getattr(slot, 2, &isnull);
	if (!isnull)
		d->price[id] = DatumGetFloat8(DirectFunctionCall1(numeric_float8, v));
	v = slot_getattr(slot, 3, &isnull);
	if (!isnull)
	{
		MemoryContext old = MemoryContextSwitchTo(r->cxt);

		d->category[id] = TextDatumGetCString(v);
		MemoryContextSwitchTo(old);
	}
	return true;
}

/*
 * Prices and categories per item, by the rule of item_attributes.c, and
 * the median price (the default revenue scale).
 */
static void
LoadItemAttributes(BundleData *d, Oid relid, const ItemColumns *cols)
{
	AttrReceiver r;
	double	   *known;
	int32		n_known = 0,
				i;

	d->price = palloc(sizeof(double) * Max(d->n_items, 1));
	d->category = palloc0(sizeof(char *) * Max(d->n_items, 1));
	for (i = 0; i < d->n_items; i++)
		d->price[i] = get_float8_nan();
	d->median_price = get_float8_nan();
	if (!cols->price && !cols->category)
		return;

	memset(&r, 0, sizeof(r));
	ReceiverInit(&r.pub, AttrReceive);
	r.d = d;
	r.cxt = CurrentMemoryContext;
	ReadItemAttributes(relid, cols, &r.pub);

	known = palloc(sizeof(double) * Max(d->n_items, 1));
	for (i = 0; i < d->n_items; i++)
		if (!isnan(d->price[i]))
			known[n_known++] = d->price[i];
	if (n_known > 0)
	{
		qsort(known, n_known, sizeof(double), CompareDouble);
		d->median_price = (n_known % 2 == 1) ? known[n_known / 2]
			: (known[n_known / 2 - 1] + known[n_known / 2]) / 2.0;
	}
	pfree(known);
}

/*
 * Read the source named by arguments 0..2 (source, basket, item) and index
 * it for bundles.
 */
BundleData *
LoadBundleData(FunctionCallInfo fcinfo, const ItemColumns *cols,
			   const char *what)
{
	BundleData *d = palloc0(sizeof(BundleData));
	ItemColumns attrs = *cols;
	Budget	   *budget;
	int32	   *fill;
	int32	   *order;
	int64		off,
				b;
	int32		i;

	d->store = ReadSourceArgs(fcinfo, what);
	budget = &d->store->budget;
	d->dict = d->store->dict;
	d->n_items = ItemDictSize(d->dict);
	d->n_baskets = d->store->n_baskets;
	d->n_records = d->store->n_baskets;

	d->basket_off = BudgetAlloc(budget, sizeof(int64) * Max(d->n_records, 1));
	d->count = BudgetAlloc0(budget, sizeof(int64) * Max(d->n_items, 1));
	for (off = 0, b = 0; off < d->store->len; b++)
	{
		int32		n = d->store->data[off];

		d->basket_off[b] = off;
		for (i = 0; i < n; i++)
			d->count[d->store->data[off + 1 + i]]++;
		off += n + 1;
	}
	if (d->n_records > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many baskets for bundles: " INT64_FORMAT, d->n_records),
				 errhint("Score bundles on a view of recent orders.")));

	/* basket lists by item: a counting sort, so every list is ascending */
	d->tid_start = BudgetAlloc(budget, sizeof(int64) * (d->n_items + 1));
	d->tid_start[0] = 0;
	for (i = 0; i < d->n_items; i++)
		d->tid_start[i + 1] = d->tid_start[i] + d->count[i];
	d->tid = BudgetAlloc(budget, sizeof(int32) * Max(d->store->n_entries, 1));
	fill = palloc0(sizeof(int32) * Max(d->n_items, 1));
	for (b = 0; b < d->n_records; b++)
	{
		const int32 *bk = d->store->data + d->basket_off[b];

		for (i = 0; i < bk[0]; i++)
		{
			int32		it = bk[1 + i];

			d->tid[d->tid_start[it] + fill[it]++] = (int32) b;
		}
		if ((b & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(fill);

	order = ItemDictKeyOrder(d->dict);
	d->key_rank = palloc(sizeof(int32) * Max(d->n_items, 1));
	for (i = 0; i < d->n_items; i++)
		d->key_rank[order[i]] = i;
	d->by_rank = order;

	d->pairs = paircache_create(CurrentMemoryContext, 1024, NULL);
	d->pair_bytes = sizeof(PairEntry) * d->pairs->size;
	BudgetCharge(budget, d->pair_bytes);

	attrs.basket = text_to_cstring(PG_GETARG_TEXT_PP(1));
	attrs.item = text_to_cstring(PG_GETARG_TEXT_PP(2));
	LoadItemAttributes(d, PG_GETARG_OID(0), &attrs);
	return d;
}

/* Does basket hold item?  Basket ids are sorted, so a binary search. */
bool
BasketHolds(const BundleData *d, int32 basket, int32 item)
{
	const int32 *bk = d->store->data + d->basket_off[basket];
	int32		lo = 1,
				hi = bk[0];

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (bk[mid] == item)
			return true;
		if (bk[mid] < item)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* Baskets of in[0..n) that hold item, written to out; returns how many. */
int32
FilterBaskets(const BundleData *d, const int32 *in, int32 n, int32 item,
			  int32 *out)
{
	int32		i,
				m = 0;

	for (i = 0; i < n; i++)
		if (BasketHolds(d, in[i], item))
			out[m++] = in[i];
	return m;
}

/*
 * Baskets holding every one of items[0..n), written to out (which needs
 * room for the smallest item's count); returns how many.
 */
int32
BasketsHoldingAll(const BundleData *d, const int32 *items, int n, int32 *out)
{
	int			i,
				best = 0;
	int32		m;

	for (i = 1; i < n; i++)
		if (d->count[items[i]] < d->count[items[best]])
			best = i;
	m = (int32) d->count[items[best]];
	memcpy(out, d->tid + d->tid_start[items[best]], sizeof(int32) * m);
	for (i = 0; i < n && m > 0; i++)
		if (i != best)
			m = FilterBaskets(d, out, m, items[i], out);
	return m;
}

/* Baskets holding both a and b, counted once and then cached. */
int64
PairCount(BundleData *d, int32 a, int32 b)
{
	uint64		key;
	PairEntry  *e;
	bool		found;

	if (a == b)
		return d->count[a];
	if (a > b)
	{
		int32		t = a;

		a = b;
		b = t;
	}
	key = ((uint64) (uint32) a << 32) | (uint32) b;
	e = paircache_insert(d->pairs, key, &found);
	if (!found)
	{
		int32		small = d->count[a] <= d->count[b] ? a : b,
					other = small == a ? b : a;
		const int32 *t = d->tid + d->tid_start[small];
		int64		n = d->count[small],
					i,
					c = 0;
		Size		bytes = sizeof(PairEntry) * d->pairs->size;

		for (i = 0; i < n; i++)
			if (BasketHolds(d, t[i], other))
				c++;
		e->count = c;
		if (bytes != d->pair_bytes)
		{
			BudgetCharge(&d->store->budget, bytes - d->pair_bytes);
			d->pair_bytes = bytes;
		}
	}
	return e->count;
}
