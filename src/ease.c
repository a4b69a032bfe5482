/*
 * ease.c
 *	  EASE, the closed-form item-item model (Steck 2019).
 *
 *	  P = (X'X + lambda I)^-1,	B = I - P diag(1/diag(P)),
 *
 * so B_ij = -P_ij / P_jj off the diagonal and B_ii = 0.  A customer's
 * scores are x_u B.  X'X is dense (items x items), so the catalogue is
 * bounded by bundlerec.memory_limit; the inverse is a Cholesky
 * factorisation and an inversion done in blocks (SpdInverse), so a cancel
 * or statement_timeout takes effect between blocks.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "arrays.h"
#include "ease.h"
#include "interactions.h"
#include "linalg.h"
#include "output.h"
#include "topk.h"

PG_FUNCTION_INFO_V1(ease_train);
PG_FUNCTION_INFO_V1(sparse_ease_train);
PG_FUNCTION_INFO_V1(ease_auto_train);

/* Customers holding both items: sorted customer lists intersected. */
static int64
CommonCustomers(const Interactions *m, int32 a, int32 b)
{
	int64		i = m->col_start[a],
				iend = m->col_start[a + 1],
				j = m->col_start[b],
				jend = m->col_start[b + 1],
				n = 0;

	while (i < iend && j < jend)
	{
		int32		ca = m->col_customer[i],
					cb = m->col_customer[j];

		if (ca == cb)
		{
			n++;
			i++;
			j++;
		}
		else if (ca < cb)
			i++;
		else
			j++;
	}
	return n;
}

/* Items bought by at least min_count customers, numbered in key order. */
void
EaseKeepItems(const Interactions *m, int min_count, EaseItems *items)
{
	int32	   *col_of_rank;
	int32		r;

	pfree(ItemColumnRanks(m, &col_of_rank));
	items->n = 0;
	items->keep = palloc(sizeof(int32) * Max(m->n_items, 1));
	items->kept_col = palloc(sizeof(int32) * Max(m->n_items, 1));
	for (r = 0; r < m->n_items; r++)
	{
		int32		c = col_of_rank[r];

		if (m->col_start[c + 1] - m->col_start[c] >= min_count)
		{
			items->keep[c] = items->n;
			items->kept_col[items->n++] = c;
		}
		else
			items->keep[c] = -1;
	}
	pfree(col_of_rank);
}

/* Does the dense n x n Gram matrix fit beside what m already holds? */
bool
EaseDenseFits(const Interactions *m, int32 n)
{
	double		bytes = (double) n * n * sizeof(double);

	return bytes + m->budget.used <= (double) bundlerec_memory_limit_kb * 1024.0 &&
		(double) n * n <= (double) MaxAllocHugeSize / sizeof(double);
}

/* Check the arguments shared by every EASE entry. */
static void
CheckEaseParams(const EaseParams *p)
{
	if (!(p->lambda >= 0) || isinf(p->lambda))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("regularization must be a finite number >= 0, not %g", p->lambda),
				 errhint("EASE works best with a large regularization, typically 10 to 1000; pick it on held-out orders.")));
	if (p->top_k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_k must be at least 1, not %d", p->top_k),
				 errhint("top_k is the number of weights kept per item, for example 100.")));
	if (p->min_count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be at least 1, not %d", p->min_count),
				 errhint("min_count drops items bought by fewer customers.")));
	if (p->neighborhood < 1 || p->neighborhood > 2000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("neighborhood must be between 1 and 2000, not %d", p->neighborhood),
				 errhint("neighborhood is the number of co-bought items each item is regressed on, for example 200.")));
}

/* Parameters from arguments 4.. of an EASE entry (NULLs refused). */
static void
EaseArgs(FunctionCallInfo fcinfo, EaseParams *p, int hood_arg)
{
	if (PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(6) ||
		(hood_arg > 0 && PG_ARGISNULL(hood_arg)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("regularization, top_k, min_count and neighborhood must not be NULL"),
				 errhint("Leave a parameter out to use its default.")));
	p->lambda = PG_GETARG_FLOAT8(4);
	p->top_k = PG_GETARG_INT32(5);
	p->min_count = PG_GETARG_INT32(6);
	p->binary = PG_ARGISNULL(3);
	p->keep_negative = false;
	p->neighborhood = hood_arg > 0 ? PG_GETARG_INT32(hood_arg) : 200;
	CheckEaseParams(p);
}

/*
 * ease(source, customer, item, weight, regularization, top_k, min_count,
 *		 neighbors)
 *	  The top_k largest positive weights B_ij of each item i, j among
 *	  neighbors when given.  Also the C entry of bundlerec._ease_dense, whose
 *	  ninth argument keep_negative keeps the top_k largest |B_ij| with their
 *	  signs (negative weights push items down when the cart holds i).
 */
Datum
ease_train(PG_FUNCTION_ARGS)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	Interactions *m;
	EaseParams	p;
	EaseItems	items;

	EaseArgs(fcinfo, &p, 0);
	p.keep_negative = PG_NARGS() > 8 && !PG_ARGISNULL(8) && PG_GETARG_BOOL(8);
	ts = StartRowsOutput(fcinfo, &tupdesc);
	m = ReadInteractionArgs(fcinfo, 3, "EASE");
	EaseKeepItems(m, p.min_count, &items);
	EaseDense(m, &p, &items,
			  PG_NARGS() > 7 && !PG_ARGISNULL(7) ? PG_GETARG_ARRAYTYPE_P(7) : NULL,
			  ts, tupdesc);
	PG_RETURN_NULL();
}

/*
 * sparse_ease(source, customer, item, weight, regularization, top_k,
 *			   min_count, neighborhood)
 *	  The top_k weights B_ij of largest magnitude of each item i, signed,
 *	  each column regressed on its neighborhood most co-bought items.
 */
Datum
sparse_ease_train(PG_FUNCTION_ARGS)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	Interactions *m;
	EaseParams	p;
	EaseItems	items;

	EaseArgs(fcinfo, &p, 7);
	BudgetResetPeak();
	if (!(p.lambda > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("regularization must be a finite number > 0, not %g", p.lambda),
				 errhint("Sparse EASE solves one ridge regression per item, which needs a positive regularization, typically 10 to 1000.")));
	ts = StartRowsOutput(fcinfo, &tupdesc);
	m = ReadInteractionArgs(fcinfo, 3, "sparse EASE");
	EaseKeepItems(m, p.min_count, &items);
	EaseSparse(m, &p, &items, ts, tupdesc);
	PG_RETURN_NULL();
}

/*
 * _ease_auto(source, customer, item, weight, regularization, top_k,
 *			   min_count, neighborhood)
 *	  Signed EASE weights (top_k largest |B_ij| per item):
 *	  dense when its n x n Gram matrix fits bundlerec.memory_limit beside
 *	  the interactions, sparse with the given neighborhood otherwise.
 */
Datum
ease_auto_train(PG_FUNCTION_ARGS)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	Interactions *m;
	EaseParams	p;
	EaseItems	items;

	EaseArgs(fcinfo, &p, 7);
	BudgetResetPeak();
	p.keep_negative = true;
	ts = StartRowsOutput(fcinfo, &tupdesc);
	m = ReadInteractionArgs(fcinfo, 3, "EASE");
	EaseKeepItems(m, p.min_count, &items);
	if (EaseDenseFits(m, items.n))
		EaseDense(m, &p, &items, NULL, ts, tupdesc);
	else
	{
		if (!(p.lambda > 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a catalogue of %d items needs sparse EASE, which needs a regularization > 0", items.n),
					 errhint("Use a positive regularization, for example 100.")));
		ereport(DEBUG1,
				(errmsg_internal("EASE over %d items: dense does not fit bundlerec.memory_limit, sparse with neighborhood %d",
								 items.n, p.neighborhood)));
		EaseSparse(m, &p, &items, ts, tupdesc);
	}
	PG_RETURN_NULL();
}

/*
 * The dense inverse: the top_k largest positive weights of each kept item
 * (largest |B_ij| with keep_negative), toward neighbors only when given.
 */
void
EaseDense(Interactions *m, const EaseParams *p, const EaseItems *items,
		  ArrayType *neighbors, Tuplestorestate *ts, TupleDesc tupdesc)
{
	double		lambda = p->lambda;
	int			top_k = p->top_k;
	bool		binary = p->binary;
	bool		keep_negative = p->keep_negative;
	const int32 *keep = items->keep;
	const int32 *kept_col = items->kept_col;
	int32		n = items->n,
				c,
				i,
				j;
	double	   *g;
	double		bytes;
	int32	   *rank,
			   *col_of_rank;
	int32		u;
	TopK		top;
	bool	   *target = NULL;	/* kept index -> may be a neighbor */

	if (n == 0)
		return;

	/* the dense Gram matrix is the whole cost: say so before allocating */
	bytes = (double) n * n * sizeof(double);
	if (!EaseDenseFits(m, n))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a catalogue of %d items is too large for EASE", n),
				 errdetail("EASE inverts a dense %d x %d matrix, which needs %.0f MB; bundlerec.memory_limit is %d MB.",
						   n, n, bytes / (1024.0 * 1024.0), bundlerec_memory_limit_kb / 1024),
				 errhint("Use sparse_ease(), raise bundlerec.memory_limit, or raise min_count to keep only items bought by more customers.")));
	/* zeroed by blocks of rows: touching 512 MB first took over a second */
	g = BudgetAlloc(&m->budget, (Size) bytes);
	for (i = 0; i < n; i += 256)
	{
		CHECK_FOR_INTERRUPTS();
		memset(g + (Size) i * n, 0, sizeof(double) * (Size) Min(256, n - i) * n);
	}

	/* X'X, upper triangle in row-major terms */
	for (u = 0; u < m->n_customers; u++)
	{
		int64		lo = m->row_start[u],
					hi = m->row_start[u + 1],
					a,
					b;

		for (a = lo; a < hi; a++)
		{
			int32		ia = keep[m->row_item[a]];
			double		wa = binary ? 1.0 : m->row_weight[a];

			if (ia < 0)
				continue;
			/* kept indexes follow key order, not columns: upper by min/max */
			for (b = a; b < hi; b++)
			{
				int32		ib = keep[m->row_item[b]];

				if (ib >= 0)
					g[(Size) Min(ia, ib) * n + Max(ia, ib)] +=
						wa * (binary ? 1.0 : m->row_weight[b]);
			}
		}
		if ((u & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (i = 0; i < n; i++)
		g[(Size) i * n + i] += lambda;

	if (!SpdInverse(g, n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("X'X + regularization * I is singular at regularization %g", lambda),
				 errhint("Use a positive regularization, for example 100.")));
	CopyUpperToLower(g, n);
	CHECK_FOR_INTERRUPTS();

	/* neighbors: only the listed items are recommended */
	if (neighbors != NULL)
	{
		int32	   *col_of_id = palloc(sizeof(int32) * Max(ItemDictSize(m->items), 1));
		char	  **names;
		int			nn,
					q;

		for (i = 0; i < ItemDictSize(m->items); i++)
			col_of_id[i] = -1;
		for (c = 0; c < m->n_items; c++)
			col_of_id[m->item_key[c]] = c;
		target = palloc0(sizeof(bool) * n);
		names = ArrayArgTexts(neighbors, "neighbors", &nn);
		for (q = 0; q < nn; q++)
		{
			int32		id = ItemDictFind(m->items, names[q]);

			if (id >= 0 && col_of_id[id] >= 0 && keep[col_of_id[id]] >= 0)
				target[keep[col_of_id[id]]] = true;
		}
	}

	/* key order of the kept items, for ties and output order */
	rank = ItemColumnRanks(m, &col_of_rank);
	TopKInit(&top, Min(top_k, Max(n - 1, 1)));
	for (j = 0; j < m->n_items; j++)
	{
		int32		ci = col_of_rank[j];	/* items in key order */
		int32		ki = keep[ci];
		const double *prow;
		Datum		ikey;
		int			q;

		if (ki < 0)
			continue;
		prow = g + (Size) ki * n;
		top.n = 0;
		for (i = 0; i < n; i++)
		{
			double		bw;

			if (i == ki || (target && !target[i]))
				continue;
			/* B_ki,i = -P_ki,i / P_ii; ease() keeps positive weights only */
			bw = -prow[i] / g[(Size) i * n + i];
			if (keep_negative && bw != 0)
				TopKPush(&top, fabs(bw), rank[kept_col[i]]);
			else if (bw > 0)
				TopKPush(&top, bw, rank[kept_col[i]]);
		}
		TopKSort(&top);
		ikey = ItemDictKey(m->items, m->item_key[ci], TEXTOID);
		for (q = 0; q < top.n; q++)
		{
			int32		nc = col_of_rank[top.id[q]];
			int32		kn = keep[nc];
			Datum		vals[4];
			bool		nulls[4] = {false, false, false, binary ? false : true};

			vals[0] = ikey;
			vals[1] = ItemDictKey(m->items, m->item_key[nc], TEXTOID);
			vals[2] = Float8GetDatum(keep_negative ?
									 -prow[kn] / g[(Size) kn * n + kn] :
									 top.score[q]);
			vals[3] = binary ? Int64GetDatum(CommonCustomers(m, ci, nc)) : (Datum) 0;
			tuplestore_putvalues(ts, tupdesc, vals, nulls);
		}
		if ((j & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}
