/*
 * pair_count.c
 *	  Exact pair co-occurrence counting, one item row at a time.
 *
 * Instead of hashing every pair of every basket, items below the count
 * threshold are dropped first (a pair is never more frequent than either of
 * its items), the remaining baskets are laid out as sorted id runs, and each
 * item a gathers its partners b > a from the baskets that hold it into a
 * dense counter.  Work is one increment per co-occurrence, memory is linear
 * in the order lines plus the pairs kept, and the result is sorted by (a, b).
 */
#include "postgres.h"

#include "miscadmin.h"

#include "pair_count.h"
#include "progress.h"

static int
CompareInt32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* Grow one pair-table column from oldcap to newcap elements. */
static void *
GrowColumn(Budget *budget, void *col, Size width, int64 oldcap, int64 newcap)
{
	if (oldcap == 0)
		return BudgetAlloc(budget, width * newcap);
	return BudgetRealloc(budget, col, width * oldcap, width * newcap);
}

/* Append one counted pair. */
static void
PairTableAppend(PairTable *pt, int32 a, int32 b, int64 count)
{
	if (pt->n_pairs == pt->cap)
	{
		int64		newcap = Max(pt->cap * 2, 1024);

		pt->pa = GrowColumn(pt->budget, pt->pa, sizeof(int32), pt->cap, newcap);
		pt->pb = GrowColumn(pt->budget, pt->pb, sizeof(int32), pt->cap, newcap);
		pt->cnt = GrowColumn(pt->budget, pt->cnt, sizeof(int64), pt->cap, newcap);
		pt->cap = newcap;
	}
	pt->pa[pt->n_pairs] = a;
	pt->pb[pt->n_pairs] = b;
	pt->cnt[pt->n_pairs] = count;
	pt->n_pairs++;
}

/*
 * Count every pair of items held together by at least min_count baskets.
 * Items held by fewer than min_count baskets are not kept.
 */
PairTable *
CountPairs(const BasketStore *store, int64 min_count, Budget *budget)
{
	PairTable  *pt = palloc0(sizeof(PairTable));
	FrequentItems kept;
	int32	   *newid;
	int32		nkept;
	int64	   *post_off;
	int32	   *post;			/* positions in seq */
	int32	   *seq;
	int64		seqlen = 0,
				npost = 0,
				nb = 0,
				pos;
	int32	   *acc;			/* a row's counts fit: n_baskets < 2^31 */
	int32	   *touched;
	int32	   *passing;
	int32		i,
				a;
	Progress	progress;

	if (min_count < 1)
		min_count = 1;
	if (store->n_baskets > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many baskets for pair counting: " INT64_FORMAT, store->n_baskets),
				 errhint("Count pairs over a period or a sample of at most 2147483647 baskets.")));
	pt->budget = budget;
	pt->owned = true;
	pt->n_baskets = store->n_baskets;

	/* keep frequent items, numbered in key order */
	KeepFrequentItems(store, min_count, budget, &kept);
	nkept = kept.n;
	newid = kept.newid;
	pt->n_items = nkept;
	pt->item_src = kept.item_src;
	pt->item_count = kept.item_count;

	/* size the kept baskets (two or more kept items) and postings */
	post_off = BudgetAlloc0(budget, sizeof(int64) * ((Size) nkept + 1));
	pos = 0;
	while (pos < store->len)
	{
		int32		n = store->data[pos++];
		int32		m = 0;

		for (i = 0; i < n; i++)
			if (newid[store->data[pos + i]] >= 0)
				m++;
		if (m >= 2)
		{
			for (i = 0; i < n; i++)
				if (newid[store->data[pos + i]] >= 0)
					post_off[newid[store->data[pos + i]] + 1]++;
			seqlen += m + 1;
			npost += m;
		}
		pos += n;
		if ((++nb & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (i = 0; i < nkept; i++)
		post_off[i + 1] += post_off[i];

	/* lay out kept baskets as sorted runs ended by -1, and post positions */
	seq = BudgetAlloc(budget, sizeof(int32) * (Size) Max(seqlen, 1));
	if (seqlen > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many order lines for pair counting: " INT64_FORMAT, seqlen),
				 errhint("Raise min_count or min_support, or count pairs over a period or a sample.")));
	post = BudgetAlloc(budget, sizeof(int32) * (Size) Max(npost, 1));
	{
		int64	   *fill = BudgetAlloc(budget, sizeof(int64) * ((Size) nkept + 1));
		int64		s = 0;

		memcpy(fill, post_off, sizeof(int64) * ((Size) nkept + 1));
		pos = 0;
		while (pos < store->len)
		{
			int32		n = store->data[pos++];
			int32		m = 0;

			/* seq has room only for baskets of two or more kept items */
			for (i = 0; i < n; i++)
				if (newid[store->data[pos + i]] >= 0)
					m++;
			if (m < 2)
			{
				pos += n;
				continue;
			}
			m = 0;
			for (i = 0; i < n; i++)
			{
				int32		id = newid[store->data[pos + i]];

				if (id >= 0)
					seq[s + m++] = id;
			}
			pos += n;
			qsort(seq + s, m, sizeof(int32), CompareInt32);
			for (i = 0; i < m; i++)
				post[fill[seq[s + i]]++] = (int32) (s + i);
			s += m;
			seq[s++] = -1;
			if ((++nb & 0x3FFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		Assert(s == seqlen);
		BudgetFree(budget, fill, sizeof(int64) * ((Size) nkept + 1));
	}
	pfree(newid);

	/* one row per item: partners b > a from the baskets holding a */
	ProgressStart(&progress, "pair counts", "items", nkept);
	acc = BudgetAlloc0(budget, sizeof(int32) * Max(nkept, 1));
	touched = BudgetAlloc(budget, sizeof(int32) * Max(nkept, 1));
	passing = BudgetAlloc(budget, sizeof(int32) * Max(nkept, 1));
	for (a = 0; a < nkept; a++)
	{
		int32		nt = 0,
					nk,
					b;
		int64		k;

		CHECK_FOR_INTERRUPTS();
		ProgressReport(&progress, a);
		for (k = post_off[a]; k < post_off[a + 1]; k++)
		{
			int64		q;

			for (q = post[k] + 1; seq[q] >= 0; q++)
			{
				int32		c = seq[q];

				if (acc[c]++ == 0)
					touched[nt++] = c;
			}
		}
		/* partners passing the threshold, in key order */
		nk = 0;
		if (nt > (nkept - a) / 8)
		{
			/* a dense row: scanning the counter beats sorting */
			for (b = a + 1; b < nkept; b++)
				if (acc[b] >= min_count)
					passing[nk++] = b;
		}
		else
		{
			for (i = 0; i < nt; i++)
				if (acc[touched[i]] >= min_count)
					passing[nk++] = touched[i];
			if (nk > 1)
				qsort(passing, nk, sizeof(int32), CompareInt32);
		}
		for (i = 0; i < nk; i++)
			PairTableAppend(pt, a, passing[i], acc[passing[i]]);
		for (i = 0; i < nt; i++)
			acc[touched[i]] = 0;
	}

	BudgetFree(budget, passing, sizeof(int32) * Max(nkept, 1));
	BudgetFree(budget, touched, sizeof(int32) * Max(nkept, 1));
	BudgetFree(budget, acc, sizeof(int32) * Max(nkept, 1));
	BudgetFree(budget, post, sizeof(int32) * (Size) Max(npost, 1));
	BudgetFree(budget, seq, sizeof(int32) * (Size) Max(seqlen, 1));
	BudgetFree(budget, post_off, sizeof(int64) * ((Size) nkept + 1));
	return pt;
}

/* Release a pair table's arrays and credit its budget. */
void
PairTableFree(PairTable *pt)
{
	if (!pt->owned)
		return;
	if (pt->cap > 0)
	{
		BudgetFree(pt->budget, pt->pa, sizeof(int32) * pt->cap);
		BudgetFree(pt->budget, pt->pb, sizeof(int32) * pt->cap);
		BudgetFree(pt->budget, pt->cnt, sizeof(int64) * pt->cap);
	}
	BudgetFree(pt->budget, pt->item_src, sizeof(int32) * Max(pt->n_items, 1));
	BudgetFree(pt->budget, pt->item_count, sizeof(int64) * Max(pt->n_items, 1));
	pt->owned = false;
}
