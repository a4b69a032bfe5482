/*
 * ease_sparse.c
 *	  Sparse EASE for catalogues too large for the dense inverse of ease.c.
 *
 *	  EASE's column j is exactly the ridge regression of item j on all other
 *	  items: B_.j = (G_SS + lambda I)^-1 G_Sj with S = every item but j and
 *	  G = X'X.  Here S is restricted to the `neighborhood` items that share
 *	  the most customers with j (items sharing none with j are left out:
 *	  their weight comes only through other items), so each item costs one
 *	  m x m Cholesky solve (LAPACK dposv) and memory is O(items + m^2 + items * m), never
 *	  items^2.  When every co-bought item fits in the neighbourhood and
 *	  every pair of items is co-bought, the result equals dense EASE, signs
 *	  included.  Chosen over SANSA (sparse LDL^T + approximate inverse):
 *	  exact in the limit, no extra library, and every step is bounded.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "interactions.h"
#include "linalg.h"
#include "output.h"
#include "topk.h"

PG_FUNCTION_INFO_V1(sparse_ease_train);

/* One weight B_item,target found while solving target's column. */
typedef struct SparseWeight
{
	int32		item;			/* kept index of the regressor */
	int32		target;			/* kept index of the solved column */
	float		weight;
	int32		common;			/* G_item,target */
	int32		item_rank;		/* key order of item, then target */
	int32		target_rank;
} SparseWeight;

typedef struct SparseEase
{
	const Interactions *m;
	bool		binary;
	int32		n;				/* kept items */
	int32	   *keep;			/* column -> kept index or -1 */
	int32	   *kept_col;
	double	   *acc;			/* n: co-occurrence of the current item */
	int32	   *touched;		/* kept indexes with acc != 0 */
	int32	   *slot;			/* kept index -> position in S, or -1 */
} SparseEase;

static void
CheckArgs(double lambda, int top_k, int min_count, int hood)
{
	if (!(lambda > 0) || isinf(lambda))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("regularization must be a finite number > 0, not %g", lambda),
				 errhint("EASE works best with a large regularization, typically 10 to 1000; pick it on held-out orders.")));
	if (top_k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_k must be at least 1, not %d", top_k),
				 errhint("top_k is the number of weights kept per item, for example 100.")));
	if (min_count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be at least 1, not %d", min_count),
				 errhint("min_count drops items bought by fewer customers.")));
	if (hood < 1 || hood > 2000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("neighborhood must be between 1 and 2000, not %d", hood),
				 errhint("neighborhood is the number of co-bought items each item is regressed on, for example 200.")));
}

static inline double
LineWeight(const SparseEase *s, int64 pos, bool by_row)
{
	if (s->binary)
		return 1.0;
	return by_row ? s->m->row_weight[pos] : s->m->col_weight[pos];
}

/*
 * Gram row of kept item k into acc (only kept items with slot >= 0 when
 * restricted, all otherwise); returns how many entries were touched.
 */
static int32
GramRow(SparseEase *s, int32 k, bool restricted, double *out, int32 stride)
{
	const Interactions *m = s->m;
	int32		c = s->kept_col[k];
	int32		nt = 0;
	int64		p;

	for (p = m->col_start[c]; p < m->col_start[c + 1]; p++)
	{
		int32		u = m->col_customer[p];
		double		wk = LineWeight(s, p, false);
		int64		q;

		for (q = m->row_start[u]; q < m->row_start[u + 1]; q++)
		{
			int32		t = s->keep[m->row_item[q]];

			if (t < 0)
				continue;
			if (restricted)
			{
				if (s->slot[t] >= 0)
					out[(Size) s->slot[t] * stride] += wk * LineWeight(s, q, true);
			}
			else
			{
				if (s->acc[t] == 0)
					s->touched[nt++] = t;
				s->acc[t] += wk * LineWeight(s, q, true);
			}
		}
	}
	return nt;
}

/* Column j of B on its neighbourhood; appends to *w. */
static void
SolveColumn(SparseEase *s, int32 j, int hood, double lambda, int32 *rank,
			double *a, double *rhs, SparseWeight *w, int64 *nw)
{
	TopK		top;
	int32		nt,
				i,
				r,
				mm,
				info;
	int			one = 1;

	nt = GramRow(s, j, false, NULL, 0);
	TopKInit(&top, hood);
	for (i = 0; i < nt; i++)
	{
		int32		t = s->touched[i];

		if (t != j)
			TopKPush(&top, s->acc[t], t);
	}
	TopKSort(&top);
	mm = top.n;
	for (r = 0; r < mm; r++)
	{
		int32		t = top.id[r];

		s->slot[t] = r;
		rhs[r] = s->acc[t];
	}
	for (i = 0; i < nt; i++)
		s->acc[s->touched[i]] = 0;

	if (mm > 0)
	{
		memset(a, 0, sizeof(double) * (Size) mm * mm);
		for (r = 0; r < mm; r++)
		{
			GramRow(s, top.id[r], true, a + r, mm);
			a[(Size) r * mm + r] += lambda;
		}
		dposv_("L", &mm, &one, a, &mm, rhs, &mm, &info);
		if (info != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("X'X + regularization * I is singular at regularization %g", lambda),
					 errhint("Use a positive regularization, for example 100.")));
	}
	for (r = 0; r < mm; r++)
	{
		SparseWeight *e = &w[(*nw)++];

		e->item = top.id[r];
		e->target = j;
		e->weight = (float) rhs[r];
		e->common = (int32) Min(top.score[r], (double) PG_INT32_MAX);
		e->item_rank = rank[s->kept_col[e->item]];
		e->target_rank = rank[s->kept_col[j]];
		s->slot[top.id[r]] = -1;
	}
	pfree(top.score);
	pfree(top.id);
}

static int
WeightByItem(const void *x, const void *y)
{
	const SparseWeight *a = x,
			   *b = y;

	if (a->item_rank != b->item_rank)
		return (a->item_rank > b->item_rank) - (a->item_rank < b->item_rank);
	return (a->target_rank > b->target_rank) - (a->target_rank < b->target_rank);
}

/*
 * sparse_ease(source, customer, item, weight, regularization, top_k,
 *			   min_count, neighborhood)
 *	  The top_k weights B_ij of largest magnitude of each item i, signed.
 */
Datum
sparse_ease_train(PG_FUNCTION_ARGS)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	Interactions *m;
	SparseEase	s;
	double		lambda;
	int			top_k,
				min_count,
				hood;
	int32		c,
				j,
				*rank,
				*col_of_rank;
	int64		nw = 0,
				p,
				lo,
				hi;
	double	   *a,
			   *rhs;
	SparseWeight *w;

	for (j = 4; j <= 7; j++)
		if (PG_ARGISNULL(j))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("regularization, top_k, min_count and neighborhood must not be NULL"),
					 errhint("Leave a parameter out to use its default.")));
	lambda = PG_GETARG_FLOAT8(4);
	top_k = PG_GETARG_INT32(5);
	min_count = PG_GETARG_INT32(6);
	hood = PG_GETARG_INT32(7);
	CheckArgs(lambda, top_k, min_count, hood);

	ts = StartRowsOutput(fcinfo, &tupdesc);
	m = ReadInteractionArgs(fcinfo, 3, "sparse EASE");
	s.m = m;
	s.binary = PG_ARGISNULL(3);
	s.n = 0;
	s.keep = BudgetAlloc(&m->budget, sizeof(int32) * Max(m->n_items, 1));
	s.kept_col = BudgetAlloc(&m->budget, sizeof(int32) * Max(m->n_items, 1));
	for (c = 0; c < m->n_items; c++)
	{
		if (m->col_start[c + 1] - m->col_start[c] >= min_count)
		{
			s.keep[c] = s.n;
			s.kept_col[s.n++] = c;
		}
		else
			s.keep[c] = -1;
	}
	if (s.n == 0)
		PG_RETURN_NULL();
	hood = Min(hood, s.n - 1);
	s.acc = BudgetAlloc0(&m->budget, sizeof(double) * s.n);
	s.touched = BudgetAlloc(&m->budget, sizeof(int32) * s.n);
	s.slot = BudgetAlloc(&m->budget, sizeof(int32) * s.n);
	for (j = 0; j < s.n; j++)
		s.slot[j] = -1;
	a = BudgetAlloc(&m->budget, sizeof(double) * Max((Size) hood * hood, 1));
	rhs = BudgetAlloc(&m->budget, sizeof(double) * Max(hood, 1));
	w = BudgetAlloc(&m->budget, sizeof(SparseWeight) * Max((Size) s.n * hood, 1));
	rank = ItemColumnRanks(m, &col_of_rank);

	for (j = 0; j < s.n; j++)
	{
		CHECK_FOR_INTERRUPTS();
		SolveColumn(&s, j, hood, lambda, rank, a, rhs, w, &nw);
	}

	/* group by regressor, keep each item's top_k weights by magnitude */
	qsort(w, nw, sizeof(SparseWeight), WeightByItem);
	for (lo = 0; lo < nw; lo = hi)
	{
		TopK		top;
		int32		item = w[lo].item,
					ci = s.kept_col[item];
		Datum		ikey;
		int			q;

		CHECK_FOR_INTERRUPTS();
		for (hi = lo; hi < nw && w[hi].item == item; hi++)
			;
		TopKInit(&top, Min(top_k, (int) (hi - lo)));
		/* ids are positions in target key order, so ties go by key */
		for (p = lo; p < hi; p++)
			if (w[p].weight != 0)
				TopKPush(&top, fabs(w[p].weight), (int32) (p - lo));
		TopKSort(&top);
		ikey = ItemDictKey(m->items, m->item_key[ci], TEXTOID);
		for (q = 0; q < top.n; q++)
		{
			const SparseWeight *e = &w[lo + top.id[q]];
			Datum		vals[4];
			bool		nulls[4] = {false, false, false, !s.binary};

			vals[0] = ikey;
			vals[1] = ItemDictKey(m->items, m->item_key[s.kept_col[e->target]], TEXTOID);
			vals[2] = Float8GetDatum(e->weight);
			vals[3] = Int64GetDatum(e->common);
			tuplestore_putvalues(ts, tupdesc, vals, nulls);
		}
		pfree(top.score);
		pfree(top.id);
	}
	PG_RETURN_NULL();
}
