/*
 * itemsets.c
 *	  Frequent itemset mining by Eclat over basket-id lists.
 *
 * Eclat (Zaki 2000) over basket-id lists was chosen over FP-growth because
 * shop baskets are sparse and short: depth-first search keeps one list per
 * open level in memory, released level by level, and needs no tree.  The
 * lists of an itemset's extensions are built by occurrence delivery (as in
 * LCM, Uno et al. 2004) instead of pairwise intersection: one pass over the
 * baskets that hold the itemset counts every candidate item at once, and a
 * second pass fills the lists of the frequent ones, so the work is
 * proportional to the data actually covered, not to the square of the
 * number of items.  Items are extended from the rarest to the most frequent.
 * Counts are exact; the result is sorted by size and then by the items' key
 * order, so it does not depend on input order.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "itemsets.h"

int			bundlerec_max_itemsets = 5000000;

/*
 * One extension of the current prefix: an item (its rank in ascending
 * frequency order) and the baskets holding the prefix and the item.
 */
typedef struct Extension
{
	int32		item;
	int32		n;
	int32	   *tids;
} Extension;

typedef struct MineState
{
	ItemsetTable *table;
	int64		min_count;
	int32		max_size;
	int32	   *rank2item;		/* frequency rank -> kept id */
	int64	   *hoff;			/* basket -> start in hitems */
	int32	   *hitems;			/* baskets as ascending frequency ranks */
	int32	   *acc;			/* per rank: count at the current node */
	int32	   *slot;			/* per rank: child index, or -1 */
	int32	   *touched;
	int32	   *prefix;
	int32	   *sorted;			/* prefix as kept ids, sorted for output */
	MemoryContext *levelcxt;	/* one per depth, reset after each subtree */
	Size	   *levelbytes;		/* bytes charged to the budget per depth */
} MineState;

/* Error when the number of itemsets passes bundlerec.max_itemsets. */
static void
TooManyItemsets(const MineState *ms)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("more than %d frequent itemsets", bundlerec_max_itemsets),
			 errdetail("Mining stopped at itemsets of up to %d items with a minimum count of " INT64_FORMAT " baskets.",
					   ms->max_size, ms->min_count),
			 errhint("Raise min_support or lower max_size, or raise bundlerec.max_itemsets.")));
}

static int
CompareInt32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* Append the itemset prefix[0..size) held by count baskets. */
static void
EmitItemset(MineState *ms, int32 size, int64 count)
{
	ItemsetTable *t = ms->table;
	int64		used = t->start[t->n_sets];
	int32		i;

	if (t->n_sets >= bundlerec_max_itemsets)
		TooManyItemsets(ms);
	if (t->n_sets + 1 >= t->cap_sets)
	{
		int64		newcap = t->cap_sets * 2;

		t->start = BudgetRealloc(t->budget, t->start, sizeof(int64) * t->cap_sets,
								 sizeof(int64) * newcap);
		t->count = BudgetRealloc(t->budget, t->count, sizeof(int64) * t->cap_sets,
								 sizeof(int64) * newcap);
		t->cap_sets = newcap;
	}
	if (used + size > t->cap_items)
	{
		int64		newcap = Max(t->cap_items * 2, used + size);

		t->items = BudgetRealloc(t->budget, t->items, sizeof(int32) * t->cap_items,
								 sizeof(int32) * newcap);
		t->cap_items = newcap;
	}
	for (i = 0; i < size; i++)
		ms->sorted[i] = ms->rank2item[ms->prefix[i]];
	qsort(ms->sorted, size, sizeof(int32), CompareInt32);
	memcpy(t->items + used, ms->sorted, sizeof(int32) * size);
	t->count[t->n_sets] = count;
	t->n_sets++;
	t->start[t->n_sets] = used + size;
}

static int
CompareExtensions(const void *a, const void *b)
{
	const Extension *x = a;
	const Extension *y = b;

	return (x->item > y->item) - (x->item < y->item);
}

/*
 * Frequent extensions of the itemset held by the baskets parent->tids, by
 * items ranked after parent->item; allocated in the current context.
 */
static Extension *
DeliverExtensions(MineState *ms, const Extension *parent, int32 depth,
				  int32 *nchild)
{
	int32		nt = 0,
				nc = 0,
				i,
				k;
	Extension  *child;
	Size		bytes = 0;

	/* count every candidate item over the baskets holding the itemset */
	for (k = 0; k < parent->n; k++)
	{
		int32		t = parent->tids[k];
		int64		q;

		for (q = ms->hoff[t + 1] - 1; q >= ms->hoff[t] && ms->hitems[q] > parent->item; q--)
			if (ms->acc[ms->hitems[q]]++ == 0)
				ms->touched[nt++] = ms->hitems[q];
	}
	for (i = 0; i < nt; i++)
		if (ms->acc[ms->touched[i]] >= ms->min_count)
		{
			nc++;
			bytes += sizeof(int32) * ms->acc[ms->touched[i]];
		}
	child = palloc(sizeof(Extension) * Max(nc, 1));
	BudgetCharge(ms->table->budget, bytes);
	ms->levelbytes[depth] += bytes;
	nc = 0;
	for (i = 0; i < nt; i++)
	{
		int32		r = ms->touched[i];

		if (ms->acc[r] >= ms->min_count)
		{
			ms->slot[r] = nc;
			child[nc].item = r;
			child[nc].n = 0;
			child[nc].tids = MemoryContextAllocHuge(CurrentMemoryContext,
													sizeof(int32) * ms->acc[r]);
			nc++;
		}
		ms->acc[r] = 0;
	}

	/* deliver the baskets to the frequent extensions */
	if (nc > 0)
		for (k = 0; k < parent->n; k++)
		{
			int32		t = parent->tids[k];
			int64		q;

			for (q = ms->hoff[t + 1] - 1; q >= ms->hoff[t] && ms->hitems[q] > parent->item; q--)
			{
				int32		s = ms->slot[ms->hitems[q]];

				if (s >= 0)
					child[s].tids[child[s].n++] = t;
			}
		}
	for (i = 0; i < nc; i++)
		ms->slot[child[i].item] = -1;
	qsort(child, nc, sizeof(Extension), CompareExtensions);
	*nchild = nc;
	return child;
}

/*
 * Emit every frequent extension of the prefix (depth items long) and
 * recurse into each, up to max_size items.
 */
static void
MineLevel(MineState *ms, int32 depth, Extension *ext, int32 next)
{
	int32		i;

	for (i = 0; i < next; i++)
	{
		CHECK_FOR_INTERRUPTS();
		ms->prefix[depth] = ext[i].item;
		EmitItemset(ms, depth + 1, ext[i].n);
		if (depth + 1 < ms->max_size && i + 1 < next)
		{
			MemoryContext old = MemoryContextSwitchTo(ms->levelcxt[depth]);
			int32		nchild;
			Extension  *child = DeliverExtensions(ms, &ext[i], depth, &nchild);

			MemoryContextSwitchTo(old);
			if (nchild > 0)
				MineLevel(ms, depth + 1, child, nchild);
			MemoryContextReset(ms->levelcxt[depth]);
			BudgetCredit(ms->table->budget, ms->levelbytes[depth]);
			ms->levelbytes[depth] = 0;
		}
	}
}

static int
CompareByCount(const void *a, const void *b, void *arg)
{
	const int64 *count = arg;
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	if (count[x] != count[y])
		return (count[x] > count[y]) - (count[x] < count[y]);
	return (x > y) - (x < y);
}

static int
CompareItemsets(const void *a, const void *b, void *arg)
{
	const ItemsetTable *t = arg;
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;
	int64		nx = t->start[x + 1] - t->start[x];
	int64		ny = t->start[y + 1] - t->start[y];
	int64		k;

	if (nx != ny)
		return (nx > ny) - (nx < ny);
	for (k = 0; k < nx; k++)
	{
		int32		ix = t->items[t->start[x] + k];
		int32		iy = t->items[t->start[y] + k];

		if (ix != iy)
			return (ix > iy) - (ix < iy);
	}
	return 0;
}

/* Reorder the table by size, then items in key order. */
static void
SortItemsets(ItemsetTable *t)
{
	int64		nsets = t->n_sets;
	int64	   *order = BudgetAlloc(t->budget, sizeof(int64) * Max(nsets, 1));
	int64	   *start = BudgetAlloc(t->budget, sizeof(int64) * (nsets + 1));
	int64	   *count = BudgetAlloc(t->budget, sizeof(int64) * (nsets + 1));
	int32	   *items = BudgetAlloc(t->budget, sizeof(int32) * Max(t->start[nsets], 1));
	int64		i,
				pos = 0;

	for (i = 0; i < nsets; i++)
		order[i] = i;
	qsort_arg(order, nsets, sizeof(int64), CompareItemsets, t);
	for (i = 0; i < nsets; i++)
	{
		int64		s = order[i];
		int64		n = t->start[s + 1] - t->start[s];

		start[i] = pos;
		count[i] = t->count[s];
		memcpy(items + pos, t->items + t->start[s], sizeof(int32) * n);
		pos += n;
	}
	start[nsets] = pos;
	BudgetFree(t->budget, t->start, sizeof(int64) * t->cap_sets);
	BudgetFree(t->budget, t->count, sizeof(int64) * t->cap_sets);
	BudgetFree(t->budget, t->items, sizeof(int32) * t->cap_items);
	BudgetFree(t->budget, order, sizeof(int64) * Max(nsets, 1));
	t->start = start;
	t->count = count;
	t->items = items;
	t->cap_sets = nsets + 1;
	t->cap_items = Max(pos, 1);
}

/*
 * All itemsets of 1..max_size items held by at least min_count baskets of
 * store, with their counts.
 */
ItemsetTable *
MineItemsets(const BasketStore *store, int64 min_count, int32 max_size,
			 Budget *budget)
{
	ItemsetTable *t = palloc0(sizeof(ItemsetTable));
	MineState	ms;
	Extension  *top;
	int32	   *item2rank;
	int32	   *tidbuf;
	int64		pos = 0,
				total = 0,
				h = 0;
	int32		nkept,
				basket = 0,
				i;

	if (min_count < 1)
		min_count = 1;
	if (store->n_baskets >= PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many baskets for itemset mining: " INT64_FORMAT, store->n_baskets),
				 errhint("Mine a sample or a period of at most 2147483646 baskets.")));
	t->budget = budget;
	t->n_baskets = store->n_baskets;
	KeepFrequentItems(store, min_count, budget, &t->kept);
	nkept = t->kept.n;
	t->cap_sets = 1024;
	t->start = BudgetAlloc0(budget, sizeof(int64) * t->cap_sets);
	t->count = BudgetAlloc(budget, sizeof(int64) * t->cap_sets);
	t->cap_items = 4096;
	t->items = BudgetAlloc(budget, sizeof(int32) * t->cap_items);

	/* rank kept items from the rarest to the most frequent */
	memset(&ms, 0, sizeof(ms));
	ms.rank2item = palloc(sizeof(int32) * Max(nkept, 1));
	item2rank = palloc(sizeof(int32) * Max(nkept, 1));
	for (i = 0; i < nkept; i++)
		ms.rank2item[i] = i;
	qsort_arg(ms.rank2item, nkept, sizeof(int32), CompareByCount, t->kept.item_count);
	for (i = 0; i < nkept; i++)
	{
		item2rank[ms.rank2item[i]] = i;
		total += t->kept.item_count[ms.rank2item[i]];
	}

	/* baskets as sorted ranks, and each item's list of baskets */
	ms.hoff = BudgetAlloc(budget, sizeof(int64) * (store->n_baskets + 1));
	ms.hitems = BudgetAlloc(budget, sizeof(int32) * Max(total, 1));
	tidbuf = BudgetAlloc(budget, sizeof(int32) * Max(total, 1));
	top = palloc(sizeof(Extension) * Max(nkept, 1));
	pos = 0;
	for (i = 0; i < nkept; i++)
	{
		top[i].item = i;
		top[i].n = 0;
		top[i].tids = tidbuf + pos;
		pos += t->kept.item_count[ms.rank2item[i]];
	}
	pos = 0;
	while (pos < store->len)
	{
		int32		n = store->data[pos++];
		int64		from = h;
		int32		k;

		ms.hoff[basket] = h;
		for (k = 0; k < n; k++)
		{
			int32		id = t->kept.newid[store->data[pos + k]];

			if (id >= 0)
			{
				int32		r = item2rank[id];

				ms.hitems[h++] = r;
				top[r].tids[top[r].n++] = basket;
			}
		}
		qsort(ms.hitems + from, h - from, sizeof(int32), CompareInt32);
		pos += n;
		basket++;
		if ((basket & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	ms.hoff[basket] = h;
	pfree(item2rank);

	ms.table = t;
	ms.min_count = min_count;
	ms.max_size = max_size;
	ms.acc = BudgetAlloc0(budget, sizeof(int32) * Max(nkept, 1));
	ms.slot = BudgetAlloc(budget, sizeof(int32) * Max(nkept, 1));
	ms.touched = BudgetAlloc(budget, sizeof(int32) * Max(nkept, 1));
	for (i = 0; i < nkept; i++)
		ms.slot[i] = -1;
	ms.prefix = palloc(sizeof(int32) * max_size);
	ms.sorted = palloc(sizeof(int32) * max_size);
	ms.levelcxt = palloc(sizeof(MemoryContext) * max_size);
	ms.levelbytes = palloc0(sizeof(Size) * max_size);
	for (i = 0; i < max_size; i++)
		ms.levelcxt[i] = AllocSetContextCreate(CurrentMemoryContext,
											   "bundlerec itemset level",
											   ALLOCSET_DEFAULT_SIZES);
	if (max_size > 0 && nkept > 0)
		MineLevel(&ms, 0, top, nkept);
	for (i = 0; i < max_size; i++)
		MemoryContextDelete(ms.levelcxt[i]);
	BudgetFree(budget, ms.acc, sizeof(int32) * Max(nkept, 1));
	BudgetFree(budget, ms.slot, sizeof(int32) * Max(nkept, 1));
	BudgetFree(budget, ms.touched, sizeof(int32) * Max(nkept, 1));
	BudgetFree(budget, tidbuf, sizeof(int32) * Max(total, 1));
	BudgetFree(budget, ms.hitems, sizeof(int32) * Max(total, 1));
	BudgetFree(budget, ms.hoff, sizeof(int64) * (store->n_baskets + 1));
	pfree(top);
	pfree(ms.rank2item);

	SortItemsets(t);
	return t;
}

/* Release a table's arrays and credit its budget. */
void
ItemsetTableFree(ItemsetTable *t)
{
	BudgetFree(t->budget, t->start, sizeof(int64) * t->cap_sets);
	BudgetFree(t->budget, t->count, sizeof(int64) * t->cap_sets);
	BudgetFree(t->budget, t->items, sizeof(int32) * t->cap_items);
	FrequentItemsFree(&t->kept, t->budget);
}

/*
 * Hash index from itemset (sorted kept ids) to its row.  Keys are row
 * numbers; the probe key -1 stands for the itemset being looked up.
 */
typedef struct IndexEntry
{
	int64		row;
	uint32		hash;
	char		status;
} IndexEntry;

struct ItemsetIndex;

static uint32 IndexHash(struct ItemsetIndex *ix, int64 row);
static bool IndexEqual(struct ItemsetIndex *ix, int64 a, int64 b);

#define SH_PREFIX setidx
#define SH_ELEMENT_TYPE IndexEntry
#define SH_KEY_TYPE int64
#define SH_KEY row
#define SH_HASH_KEY(tb, k) IndexHash((struct ItemsetIndex *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) IndexEqual((struct ItemsetIndex *) (tb)->private_data, a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct ItemsetIndex
{
	const ItemsetTable *table;
	setidx_hash *hash;
	const int32 *probe;			/* itemset looked up (row -1) */
	int32		nprobe;
};

/* Items and size of row (or of the probe). */
static inline const int32 *
IndexItems(struct ItemsetIndex *ix, int64 row, int32 *n)
{
	if (row < 0)
	{
		*n = ix->nprobe;
		return ix->probe;
	}
	*n = (int32) (ix->table->start[row + 1] - ix->table->start[row]);
	return ix->table->items + ix->table->start[row];
}

static uint32
IndexHash(struct ItemsetIndex *ix, int64 row)
{
	int32		n;
	const int32 *items = IndexItems(ix, row, &n);

	return hash_bytes((const unsigned char *) items, (int) (n * sizeof(int32)));
}

static bool
IndexEqual(struct ItemsetIndex *ix, int64 a, int64 b)
{
	int32		na,
				nb;
	const int32 *ia = IndexItems(ix, a, &na);
	const int32 *ib = IndexItems(ix, b, &nb);

	return na == nb && memcmp(ia, ib, sizeof(int32) * na) == 0;
}

/* Index every itemset of table by its items. */
ItemsetIndex *
ItemsetIndexBuild(const ItemsetTable *table)
{
	ItemsetIndex *ix = palloc0(sizeof(ItemsetIndex));
	int64		i;

	ix->table = table;
	BudgetCharge(table->budget, sizeof(IndexEntry) * (Size) Max(table->n_sets * 2, 16));
	ix->hash = setidx_create(CurrentMemoryContext, Max(table->n_sets, 16), ix);
	for (i = 0; i < table->n_sets; i++)
	{
		bool		found;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		setidx_insert(ix->hash, i, &found);
	}
	return ix;
}

/* Row of the itemset items[0..n) (sorted kept ids), or -1. */
int64
ItemsetIndexFind(ItemsetIndex *ix, const int32 *items, int32 n)
{
	IndexEntry *e;

	ix->probe = items;
	ix->nprobe = n;
	e = setidx_lookup(ix->hash, -1);
	return e ? e->row : -1;
}
