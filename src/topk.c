/*
 * topk.c
 *	  Bounded selection of the best-scored ids.
 */
#include "postgres.h"

#include "topk.h"

/* a ranks below b */
static inline bool
Worse(double sa, int32 ia, double sb, int32 ib)
{
	return sa < sb || (sa == sb && ia > ib);
}

void
TopKInit(TopK *t, int cap)
{
	t->cap = Max(cap, 1);
	t->n = 0;
	t->score = palloc(sizeof(double) * t->cap);
	t->id = palloc(sizeof(int32) * t->cap);
}

static void
SiftDown(TopK *t, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					w = i;
		double		ts;
		int32		ti;

		if (l < t->n && Worse(t->score[l], t->id[l], t->score[w], t->id[w]))
			w = l;
		if (r < t->n && Worse(t->score[r], t->id[r], t->score[w], t->id[w]))
			w = r;
		if (w == i)
			return;
		ts = t->score[i];
		ti = t->id[i];
		t->score[i] = t->score[w];
		t->id[i] = t->id[w];
		t->score[w] = ts;
		t->id[w] = ti;
		i = w;
	}
}

void
TopKPush(TopK *t, double score, int32 id)
{
	int			i;

	if (t->n == t->cap)
	{
		/* the root is the worst kept */
		if (!Worse(t->score[0], t->id[0], score, id))
			return;
		t->score[0] = score;
		t->id[0] = id;
		SiftDown(t, 0);
		return;
	}
	i = t->n++;
	t->score[i] = score;
	t->id[i] = id;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;
		double		ts;
		int32		ti;

		if (!Worse(t->score[i], t->id[i], t->score[parent], t->id[parent]))
			break;
		ts = t->score[i];
		ti = t->id[i];
		t->score[i] = t->score[parent];
		t->id[i] = t->id[parent];
		t->score[parent] = ts;
		t->id[parent] = ti;
		i = parent;
	}
}

/* Best first; the heap is consumed (n stays the count). */
void
TopKSort(TopK *t)
{
	int			n = t->n;

	while (t->n > 1)
	{
		double		ts = t->score[0];
		int32		ti = t->id[0];

		t->n--;
		t->score[0] = t->score[t->n];
		t->id[0] = t->id[t->n];
		t->score[t->n] = ts;
		t->id[t->n] = ti;
		SiftDown(t, 0);
	}
	t->n = n;
}

/* Is x ranked below y?  Ties go to the smaller partner id. */
static inline bool
TopWorse(const TopEntry *x, const TopEntry *y)
{
	if (x->score != y->score)
		return x->score < y->score;
	return x->partner > y->partner;
}

/* Offer e to a min-heap (worst on top) of at most k entries. */
void
TopOffer(TopEntry *heap, int32 *size, int32 k, const TopEntry *e)
{
	int32		i;

	if (*size < k)
	{
		i = (*size)++;
		while (i > 0 && TopWorse(e, &heap[(i - 1) / 2]))
		{
			heap[i] = heap[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		heap[i] = *e;
		return;
	}
	if (!TopWorse(&heap[0], e))
		return;
	i = 0;
	for (;;)
	{
		int32		c = 2 * i + 1;

		if (c >= k)
			break;
		if (c + 1 < k && TopWorse(&heap[c + 1], &heap[c]))
			c++;
		if (!TopWorse(&heap[c], e))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = *e;
}

static int
TopEntryCmp(const void *a, const void *b)
{
	const TopEntry *x = a;
	const TopEntry *y = b;

	if (TopWorse(x, y))
		return 1;
	if (TopWorse(y, x))
		return -1;
	return 0;
}

/* Best first. */
void
TopEntriesSort(TopEntry *heap, int32 size)
{
	qsort(heap, size, sizeof(TopEntry), TopEntryCmp);
}
