/*
 * ease_sparse.c
 *	  Sparse EASE for catalogues too large for the dense inverse of ease.c.
 *
 *	  EASE's column j is exactly the ridge regression of item j on all other
 *	  items: B_.j = (G_SS + lambda I)^-1 G_Sj with S = every item but j and
 *	  G = X'X.  Here S is restricted to the `neighborhood` items that share
 *	  the most customers with j (items sharing none with j are left out:
 *	  their weight comes only through other items), so each item costs one
 *	  m x m Cholesky solve (LAPACK dposv).  When every co-bought item fits in
 *	  the neighbourhood and every pair of items is co-bought, the result
 *	  equals dense EASE, signs included.  Chosen over SANSA (sparse LDL^T +
 *	  approximate inverse): exact in the limit, no extra library, and every
 *	  step is bounded.
 *
 *	  One pass over the baskets builds G's nonzeros (CSR, each pair once) and
 *	  each item's neighbourhood; each solve then reads G_SS from them, and
 *	  from a dense block between the most popular items, instead of
 *	  rescanning baskets.
 *	  Memory, charged to bundlerec.memory_limit: 12 bytes per co-bought
 *	  pair (up to twice that while the arrays grow), 20 bytes per
 *	  neighbourhood entry (at most items x neighborhood), 8 * neighborhood^2
 *	  for one solve, the hub block (an eighth of the limit, at most 128 MB),
 *	  and the interactions.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "ease.h"
#include "linalg.h"
#include "topk.h"

/* One weight B_item,target found while solving target's column. */
typedef struct SparseWeight
{
	int32		item;			/* kept index of the regressor */
	int32		target;			/* kept index of the solved column */
	double		weight;
} SparseWeight;

typedef struct SparseEase
{
	const Interactions *m;
	const EaseParams *p;
	const EaseItems *items;
	Budget	   *budget;
	int32		n;				/* kept items, numbered in key order */
	int32		hood;			/* neighbourhood width */
	int32	   *pop;			/* kept index -> popularity rank, 0 = most bought */
	/* G's nonzeros: row i holds i's partners more popular than i, ascending */
	int64	   *start;			/* n + 1 */
	int32	   *partner;
	double	   *gram;
	int64		n_pairs;
	int64		cap;
	double	   *diag;			/* G_ii */
	int32		n_hub;			/* the n_hub most popular items ... */
	double	   *hub;			/* ... and G between them, dense */
	/* each item's neighbourhood: hood_id[hood_start[i]..], ascending */
	int64	   *hood_start;		/* n + 1 */
	int32	   *hood_id;
	int64		n_hood;
	int64		hood_cap;
	/* scratch */
	double	   *acc;			/* n: Gram row being built */
	int32	   *touched;
	int32	   *slot;			/* kept index -> position in S, or -1 */
} SparseEase;

static int
CompareInt32(const void *x, const void *y)
{
	int32		a = *(const int32 *) x,
				b = *(const int32 *) y;

	return (a > b) - (a < b);
}

/*
 * Capacity for "want" entries of "per" bytes each, grown from "cap" by
 * doubling while the budget allows, or an error naming the setting.
 */
static int64
NewCapacity(SparseEase *s, int64 cap, int64 want, Size per, int32 row)
{
	double		limit = (double) bundlerec_memory_limit_kb * 1024.0;
	int64		grown = Max(want, cap * 2);

	/* doubling past the limit: ask only for what is needed */
	if ((double) s->budget->used + (double) (grown - cap) * per > limit)
		grown = want;
	if ((double) s->budget->used + (double) (grown - cap) * per > limit ||
		(double) grown * per > (double) MaxAllocHugeSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sparse EASE over %d items needs more memory than bundlerec.memory_limit allows", s->n),
				 errdetail("After %d of %d items it holds " INT64_FORMAT " co-bought pairs (12 bytes each) and %zu kB in all; the limit is %d kB.",
						   row + 1, s->n, s->n_pairs, s->budget->used / 1024, bundlerec_memory_limit_kb),
				 errhint("Raise bundlerec.memory_limit, raise min_count so that fewer items and pairs are kept, or lower neighborhood.")));
	return grown;
}

/* A charged array of "elem"-byte entries grown from oldcap to newcap. */
static void *
GrowArray(SparseEase *s, void *ptr, Size elem, int64 oldcap, int64 newcap)
{
	if (ptr == NULL)
		return BudgetAlloc(s->budget, elem * newcap);
	return BudgetRealloc(s->budget, ptr, elem * oldcap, elem * newcap);
}

/* Room for "extra" more pairs and neighbourhood entries while at item row. */
static void
Reserve(SparseEase *s, int64 pairs, int64 hood, int32 row)
{
	if (s->n_pairs + pairs > s->cap)
	{
		int64		cap = NewCapacity(s, s->cap, s->n_pairs + pairs,
									  sizeof(int32) + sizeof(double), row);

		s->partner = GrowArray(s, s->partner, sizeof(int32), s->cap, cap);
		s->gram = GrowArray(s, s->gram, sizeof(double), s->cap, cap);
		s->cap = cap;
	}
	if (s->n_hood + hood > s->hood_cap)
	{
		int64		cap = NewCapacity(s, s->hood_cap, s->n_hood + hood,
									  sizeof(int32), row);

		s->hood_id = GrowArray(s, s->hood_id, sizeof(int32), s->hood_cap, cap);
		s->hood_cap = cap;
	}
}

/* More customers first, then the smaller kept index. */
static int
ByPopularity(const void *x, const void *y, void *arg)
{
	const int64 *count = arg;
	int32		a = *(const int32 *) x,
				b = *(const int32 *) y;

	if (count[a] != count[b])
		return count[a] < count[b] ? 1 : -1;
	return (a > b) - (a < b);
}

/* Popularity ranks of the kept items, by customers. */
static void
RankPopularity(SparseEase *s)
{
	const Interactions *m = s->m;
	int64	   *count = palloc(sizeof(int64) * s->n);
	int32	   *order = palloc(sizeof(int32) * s->n);
	int32		j;

	for (j = 0; j < s->n; j++)
	{
		int32		c = s->items->kept_col[j];

		count[j] = m->col_start[c + 1] - m->col_start[c];
		order[j] = j;
	}
	qsort_arg(order, s->n, sizeof(int32), ByPopularity, count);
	s->pop = BudgetAlloc(s->budget, sizeof(int32) * s->n);
	for (j = 0; j < s->n; j++)
		s->pop[order[j]] = j;
	pfree(order);
	pfree(count);
}

/*
 * G between the most popular items as a dense block (an eighth of
 * bundlerec.memory_limit, at most 128 MB): they sit in most
 * neighbourhoods, and looking their pairs up in the CSR dominated the time.
 */
static void
BuildHubs(SparseEase *s)
{
	double		bytes = Min((double) bundlerec_memory_limit_kb * 1024.0 / 8,
							128.0 * 1024 * 1024);
	int32		i;

	s->n_hub = (int32) Min((double) s->n, floor(sqrt(bytes / sizeof(double))));
	s->hub = BudgetAlloc0(s->budget, sizeof(double) * Max((Size) s->n_hub * s->n_hub, 1));
	for (i = 0; i < s->n; i++)
	{
		int32		pi = s->pop[i];
		int64		q;

		if (pi >= s->n_hub)
			continue;
		/* a hub's row holds only more popular items: hubs */
		for (q = s->start[i]; q < s->start[i + 1]; q++)
		{
			int32		pt = s->pop[s->partner[q]];

			s->hub[(Size) pi * s->n_hub + pt] = s->gram[q];
			s->hub[(Size) pt * s->n_hub + pi] = s->gram[q];
		}
	}
}

/* Gram row of kept item j into acc; returns how many entries it touched. */
static int32
GramRow(SparseEase *s, int32 j)
{
	const Interactions *m = s->m;
	const int32 *keep = s->items->keep;
	bool		binary = s->p->binary;
	int32		c = s->items->kept_col[j];
	int32		nt = 0;
	int64		p;

	for (p = m->col_start[c]; p < m->col_start[c + 1]; p++)
	{
		int32		u = m->col_customer[p];
		double		wj = binary ? 1.0 : m->col_weight[p];
		int64		q;

		for (q = m->row_start[u]; q < m->row_start[u + 1]; q++)
		{
			int32		t = keep[m->row_item[q]];

			if (t < 0)
				continue;
			if (s->acc[t] == 0)
				s->touched[nt++] = t;
			s->acc[t] += wj * (binary ? 1.0 : m->row_weight[q]);
		}
	}
	return nt;
}

/*
 * One pass over the baskets: G's diagonal, its nonzeros as CSR (each pair
 * once, in the row of its less popular item, so that the rows of popular
 * items stay short), and each item's `hood` most co-bought partners (ties to
 * the smaller key).
 */
static void
BuildPairs(SparseEase *s)
{
	int32		j,
				i;
	TopK		top;

	s->start = BudgetAlloc(s->budget, sizeof(int64) * (s->n + 1));
	s->diag = BudgetAlloc(s->budget, sizeof(double) * s->n);
	s->hood_start = BudgetAlloc(s->budget, sizeof(int64) * (s->n + 1));
	TopKInit(&top, s->hood);
	for (j = 0; j < s->n; j++)
	{
		int32		nt,
					up = 0;
		int32	   *row;

		CHECK_FOR_INTERRUPTS();
		nt = GramRow(s, j);
		top.n = 0;
		for (i = 0; i < nt; i++)
		{
			int32		t = s->touched[i];

			if (t == j)
				continue;
			TopKPush(&top, s->acc[t], t);
			up += (s->pop[t] < s->pop[j]);
		}
		Reserve(s, up, top.n, j);
		s->hood_start[j] = s->n_hood;
		memcpy(s->hood_id + s->n_hood, top.id, sizeof(int32) * top.n);
		qsort(s->hood_id + s->n_hood, top.n, sizeof(int32), CompareInt32);
		s->n_hood += top.n;

		/* partners more popular than j, ascending, appended as row j */
		s->start[j] = s->n_pairs;
		row = s->partner + s->n_pairs;
		up = 0;
		for (i = 0; i < nt; i++)
			if (s->pop[s->touched[i]] < s->pop[j])
				row[up++] = s->touched[i];
		qsort(row, up, sizeof(int32), CompareInt32);
		for (i = 0; i < up; i++)
			s->gram[s->n_pairs + i] = s->acc[row[i]];
		s->n_pairs += up;
		s->diag[j] = s->acc[j];
		for (i = 0; i < nt; i++)
			s->acc[s->touched[i]] = 0;
	}
	s->start[s->n] = s->n_pairs;
	s->hood_start[s->n] = s->n_hood;
	pfree(top.score);
	pfree(top.id);
}

/* Position of partner t in row i of the CSR, or -1. */
static int64
FindPartner(const SparseEase *s, int32 i, int32 t, int64 lo)
{
	int64		hi = s->start[i + 1];

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (s->partner[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* G_ab (a != b): the hub block, else the less popular item's row. */
static double
PairGram(const SparseEase *s, int32 a, int32 b)
{
	int32		row = s->pop[a] > s->pop[b] ? a : b,
				t = row == a ? b : a;
	int64		q;

	if (s->pop[row] < s->n_hub)
		return s->hub[(Size) s->pop[a] * s->n_hub + s->pop[b]];
	q = FindPartner(s, row, t, s->start[row]);
	if (q < s->start[row + 1] && s->partner[q] == t)
		return s->gram[q];
	return 0;
}

/* Lower triangle of the column-major mm x mm matrix a at slots (x, y). */
static inline void
SetLower(double *a, int32 mm, int32 x, int32 y, double v)
{
	a[(Size) Min(x, y) * mm + Max(x, y)] = v;
}

/*
 * G_SS + lambda I into the lower triangle of a (column-major, mm x mm) for
 * S = hood ascending, slot[] set.  Each pair once: between hubs from the
 * dense block, else from the less popular item's row, walked when short,
 * else searched for the members of S more popular than it.
 */
static void
FillGram(SparseEase *s, const int32 *hood, int32 mm, double *a)
{
	int32		r,
				q;

	memset(a, 0, sizeof(double) * (Size) mm * mm);
	for (r = 0; r < mm; r++)
	{
		int32		i = hood[r],
					pi = s->pop[i];
		int64		lo = s->start[i],
					hi = s->start[i + 1];

		a[(Size) r * mm + r] = s->diag[i] + s->p->lambda;
		if (pi < s->n_hub)
		{
			const double *hrow = s->hub + (Size) pi * s->n_hub;

			for (q = r + 1; q < mm; q++)
				if (s->pop[hood[q]] < s->n_hub)
					SetLower(a, mm, r, q, hrow[s->pop[hood[q]]]);
		}
		else if (hi - lo <= 8 * (int64) mm)
		{
			for (; lo < hi; lo++)
			{
				int32		k = s->slot[s->partner[lo]];

				if (k >= 0)
					SetLower(a, mm, r, k, s->gram[lo]);
			}
		}
		else
		{
			for (q = 0; q < mm && lo < hi; q++)
			{
				if (s->pop[hood[q]] >= pi)
					continue;
				lo = FindPartner(s, i, hood[q], lo);
				if (lo < hi && s->partner[lo] == hood[q])
					SetLower(a, mm, r, q, s->gram[lo]);
			}
		}
	}
}

/* Column j of B on its neighbourhood, appended to w. */
static void
SolveColumn(SparseEase *s, int32 j, double *a, double *rhs,
			SparseWeight *w, int64 *nw)
{
	const int32 *hood = s->hood_id + s->hood_start[j];
	int			mm = (int) (s->hood_start[j + 1] - s->hood_start[j]),
				one = 1,
				info,
				r;

	if (mm == 0)
		return;
	for (r = 0; r < mm; r++)
	{
		s->slot[hood[r]] = r;
		rhs[r] = PairGram(s, hood[r], j);
	}
	FillGram(s, hood, mm, a);
	for (r = 0; r < mm; r++)
		s->slot[hood[r]] = -1;
	dposv_("L", &mm, &one, a, &mm, rhs, &mm, &info);
	if (info != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("X'X + regularization * I is singular at regularization %g", s->p->lambda),
				 errhint("Use a positive regularization, for example 100.")));
	for (r = 0; r < mm; r++)
	{
		SparseWeight *e = &w[(*nw)++];

		e->item = hood[r];
		e->target = j;
		e->weight = rhs[r];
	}
}

static int
WeightByItem(const void *x, const void *y)
{
	const SparseWeight *a = x,
			   *b = y;

	if (a->item != b->item)
		return (a->item > b->item) - (a->item < b->item);
	return (a->target > b->target) - (a->target < b->target);
}

/* Each regressor's top_k weights by magnitude, as neighbor rows. */
static void
EmitWeights(SparseEase *s, SparseWeight *w, int64 nw,
			Tuplestorestate *ts, TupleDesc tupdesc)
{
	const Interactions *m = s->m;
	const int32 *kept_col = s->items->kept_col;
	int64		lo,
				hi,
				p;

	/* kept indexes follow key order, so rows come out in key order */
	qsort(w, nw, sizeof(SparseWeight), WeightByItem);
	for (lo = 0; lo < nw; lo = hi)
	{
		TopK		top;
		int32		item = w[lo].item;
		Datum		ikey;
		int			q;

		CHECK_FOR_INTERRUPTS();
		for (hi = lo; hi < nw && w[hi].item == item; hi++)
			;
		TopKInit(&top, Min(s->p->top_k, (int) (hi - lo)));
		/* ids are positions in target key order, so ties go by key */
		for (p = lo; p < hi; p++)
			if (w[p].weight != 0)
				TopKPush(&top, fabs(w[p].weight), (int32) (p - lo));
		TopKSort(&top);
		ikey = ItemDictKey(m->items, m->item_key[kept_col[item]], TEXTOID);
		for (q = 0; q < top.n; q++)
		{
			const SparseWeight *e = &w[lo + top.id[q]];
			Datum		vals[4];
			bool		nulls[4] = {false, false, false, !s->p->binary};

			vals[0] = ikey;
			vals[1] = ItemDictKey(m->items, m->item_key[kept_col[e->target]], TEXTOID);
			vals[2] = Float8GetDatum(e->weight);
			vals[3] = Int64GetDatum((int64) PairGram(s, e->item, e->target));
			tuplestore_putvalues(ts, tupdesc, vals, nulls);
		}
		pfree(top.score);
		pfree(top.id);
	}
}

/*
 * The top_k weights B_ij of largest magnitude of each kept item i, signed,
 * each column j regressed on j's neighborhood most co-bought items.
 */
void
EaseSparse(Interactions *m, const EaseParams *p, const EaseItems *items,
		   Tuplestorestate *ts, TupleDesc tupdesc)
{
	SparseEase	s;
	double	   *a,
			   *rhs;
	SparseWeight *w;
	int64		nw = 0,
				widest = 0;
	int32		j;

	if (items->n == 0)
		return;
	memset(&s, 0, sizeof(s));
	s.m = m;
	s.p = p;
	s.items = items;
	s.budget = &m->budget;
	s.n = items->n;
	s.hood = Min(p->neighborhood, s.n - 1);
	s.acc = BudgetAlloc0(s.budget, sizeof(double) * s.n);
	s.touched = BudgetAlloc(s.budget, sizeof(int32) * s.n);
	s.slot = BudgetAlloc(s.budget, sizeof(int32) * s.n);
	for (j = 0; j < s.n; j++)
		s.slot[j] = -1;
	RankPopularity(&s);
	BuildPairs(&s);
	BudgetFree(s.budget, s.acc, sizeof(double) * s.n);
	BuildHubs(&s);

	/* the widest neighbourhood found sizes the one solve's matrix */
	for (j = 0; j < s.n; j++)
		widest = Max(widest, s.hood_start[j + 1] - s.hood_start[j]);
	a = BudgetAlloc(s.budget, sizeof(double) * Max((Size) widest * widest, 1));
	rhs = BudgetAlloc(s.budget, sizeof(double) * Max(widest, 1));
	w = BudgetAlloc(s.budget, mul_size(sizeof(SparseWeight), Max(s.n_hood, 1)));
	nw = 0;
	for (j = 0; j < s.n; j++)
	{
		CHECK_FOR_INTERRUPTS();
		SolveColumn(&s, j, a, rhs, w, &nw);
	}
	EmitWeights(&s, w, nw, ts, tupdesc);
	ereport(DEBUG1,
			(errmsg_internal("sparse EASE: %d items, " INT64_FORMAT " co-bought pairs, neighborhood %d, %d hubs, peak memory %zu kB",
							 s.n, s.n_pairs, s.hood, s.n_hub, BudgetPeak() / 1024)));
}
