/*
 * itemsets.c
 *	  Frequent itemset mining by Eclat over basket-id lists.
 *
 * Eclat (Zaki 2000) was chosen over FP-growth because shop baskets are
 * sparse and short: an item's list of baskets is small, an itemset's list is
 * the intersection of its parent's list and one item's list, and depth-first
 * search keeps only one list per open level in memory, released level by
 * level.  Items are extended from the rarest to the most frequent, so lists
 * shrink fast.  Counts are exact; the result is sorted by size and then by
 * the items' key order, so it does not depend on input order.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "itemsets.h"

int			bundlerec_max_itemsets = 5000000;

/* One extension of the current prefix: an item and the baskets holding both. */
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
	int32	   *prefix;
	int32	   *sorted;			/* prefix sorted by key order, for output */
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
	memcpy(ms->sorted, ms->prefix, sizeof(int32) * size);
	qsort(ms->sorted, size, sizeof(int32), CompareInt32);
	memcpy(t->items + used, ms->sorted, sizeof(int32) * size);
	t->count[t->n_sets] = count;
	t->n_sets++;
	t->start[t->n_sets] = used + size;
}

/* Baskets in both sorted lists a and b, written to out; returns how many. */
static int32
IntersectTids(const int32 *a, int32 na, const int32 *b, int32 nb, int32 *out)
{
	int32		i = 0,
				j = 0,
				n = 0;

	while (i < na && j < nb)
	{
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else
		{
			out[n++] = a[i];
			i++;
			j++;
		}
	}
	return n;
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
			Extension  *child = palloc(sizeof(Extension) * (next - i - 1));
			int32		nchild = 0;
			int32		j;

			for (j = i + 1; j < next; j++)
			{
				Size		bytes = sizeof(int32) * Min(ext[i].n, ext[j].n);
				int32	   *tids;
				int32		n;

				BudgetCharge(ms->table->budget, bytes);
				ms->levelbytes[depth] += bytes;
				tids = MemoryContextAllocHuge(CurrentMemoryContext, bytes);
				n = IntersectTids(ext[i].tids, ext[i].n,
											  ext[j].tids, ext[j].n, tids);

				if (n >= ms->min_count)
				{
					child[nchild].item = ext[j].item;
					child[nchild].n = n;
					child[nchild].tids = tids;
					nchild++;
				}
				else
					pfree(tids);
			}
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
CompareExtensions(const void *a, const void *b)
{
	const Extension *x = a;
	const Extension *y = b;

	if (x->n != y->n)
		return (x->n > y->n) - (x->n < y->n);
	return (x->item > y->item) - (x->item < y->item);
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
	int32	   *fill;
	int32	   *tidbuf;
	int64		pos = 0,
				basket = 0,
				total = 0;
	int32		i;

	if (min_count < 1)
		min_count = 1;
	t->budget = budget;
	t->n_baskets = store->n_baskets;
	KeepFrequentItems(store, min_count, budget, &t->kept);
	t->cap_sets = 1024;
	t->start = BudgetAlloc0(budget, sizeof(int64) * t->cap_sets);
	t->count = BudgetAlloc(budget, sizeof(int64) * t->cap_sets);
	t->cap_items = 4096;
	t->items = BudgetAlloc(budget, sizeof(int32) * t->cap_items);

	/* basket lists of the frequent items */
	for (i = 0; i < t->kept.n; i++)
		total += t->kept.item_count[i];
	tidbuf = BudgetAlloc(budget, sizeof(int32) * Max(total, 1));
	top = palloc(sizeof(Extension) * Max(t->kept.n, 1));
	fill = palloc0(sizeof(int32) * Max(t->kept.n, 1));
	total = 0;
	for (i = 0; i < t->kept.n; i++)
	{
		top[i].item = i;
		top[i].n = (int32) t->kept.item_count[i];
		top[i].tids = tidbuf + total;
		total += t->kept.item_count[i];
	}
	if (store->n_baskets > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many baskets for itemset mining: " INT64_FORMAT, store->n_baskets)));
	while (pos < store->len)
	{
		int32		n = store->data[pos++];
		int32		k;

		for (k = 0; k < n; k++)
		{
			int32		id = t->kept.newid[store->data[pos + k]];

			if (id >= 0)
				top[id].tids[fill[id]++] = (int32) basket;
		}
		pos += n;
		basket++;
		if ((basket & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(fill);

	/* extend from the rarest item to the most frequent */
	qsort(top, t->kept.n, sizeof(Extension), CompareExtensions);
	ms.table = t;
	ms.min_count = min_count;
	ms.max_size = max_size;
	ms.prefix = palloc(sizeof(int32) * max_size);
	ms.sorted = palloc(sizeof(int32) * max_size);
	ms.levelcxt = palloc(sizeof(MemoryContext) * max_size);
	ms.levelbytes = palloc0(sizeof(Size) * max_size);
	for (i = 0; i < max_size; i++)
		ms.levelcxt[i] = AllocSetContextCreate(CurrentMemoryContext,
											   "bundlerec itemset level",
											   ALLOCSET_DEFAULT_SIZES);
	if (max_size > 0 && t->kept.n > 0)
		MineLevel(&ms, 0, top, t->kept.n);
	for (i = 0; i < max_size; i++)
		MemoryContextDelete(ms.levelcxt[i]);
	BudgetFree(budget, tidbuf, sizeof(int32) * Max(total, 1));
	pfree(top);

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
