/*
 * neighbors.c
 *	  Neighbourhood collaborative filtering: item-item and customer-customer
 *	  similarity (cosine, Pearson, adjusted cosine) with top-k neighbours.
 *
 * For each item i, every customer u of i and every other item j of u add
 * to j's accumulators, so the cost is sum_u n_u^2, as for pair counting,
 * and only pairs with a common customer are touched.  Accumulators are
 * dense arrays reset through a touched list.  Customer-customer runs the
 * same loop on the transposed matrix.
 *
 *	  cosine(i,j)	= sum_u r_ui r_uj / (|r_i| |r_j|), norms over all customers
 *	  pearson(i,j)	= sum_{u in U_ij} (r_ui - m_i)(r_uj - m_j) /
 *					  sqrt(sum_{U_ij} (r_ui - m_i)^2 sum_{U_ij} (r_uj - m_j)^2)
 *	  adjusted_cosine: pearson with the customer's mean m_u instead of m_i
 *
 * with U_ij the customers of both.  Scores are shrunk by common /
 * (common + shrinkage) so that pairs seen by few customers rank lower.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "interactions.h"
#include "neighbors.h"
#include "output.h"
#include "topk.h"

PG_FUNCTION_INFO_V1(item_neighbors);
PG_FUNCTION_INFO_V1(customer_neighbors);

SimilarityMeasure
ParseSimilarity(const char *name)
{
	if (strcmp(name, "cosine") == 0)
		return SIM_COSINE;
	if (strcmp(name, "pearson") == 0)
		return SIM_PEARSON;
	if (strcmp(name, "adjusted_cosine") == 0)
		return SIM_ADJUSTED_COSINE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown similarity measure \"%s\"", name),
			 errhint("Use cosine, pearson or adjusted_cosine.")));
	return SIM_COSINE;			/* keep compiler quiet */
}

/*
 * Emit the top_k neighbours of every column of m as (key, neighbour key,
 * score, common) rows, columns in key order.  binary treats every weight
 * as 1.
 */
void
EmitNeighbors(Interactions *m, SimilarityMeasure measure, bool binary,
			  int top_k, int64 min_common, double shrinkage,
			  Tuplestorestate *ts, TupleDesc tupdesc)
{
	Budget	   *bud = &m->budget;
	int64		nnz = m->nnz;
	double	   *cval = BudgetAlloc(bud, sizeof(double) * Max(nnz, 1));	/* column order */
	double	   *rval = BudgetAlloc(bud, sizeof(double) * Max(nnz, 1));	/* row order */
	double	   *norm = BudgetAlloc0(bud, sizeof(double) * Max(m->n_items, 1));
	double	   *dot = BudgetAlloc0(bud, sizeof(double) * Max(m->n_items, 1));
	double	   *sa = BudgetAlloc0(bud, sizeof(double) * Max(m->n_items, 1));
	double	   *sb = BudgetAlloc0(bud, sizeof(double) * Max(m->n_items, 1));
	int64	   *cnt = BudgetAlloc0(bud, sizeof(int64) * Max(m->n_items, 1));
	int32	   *touched = BudgetAlloc(bud, sizeof(int32) * Max(m->n_items, 1));
	int32	   *rank,
			   *col_of_rank;
	int32		c,
				u,
				p;
	int64		e;
	TopK		top;

	/* centred values in both orientations */
	if (measure == SIM_ADJUSTED_COSINE)
	{
		double	   *rmean = BudgetAlloc0(bud, sizeof(double) * Max(m->n_customers, 1));

		for (u = 0; u < m->n_customers; u++)
		{
			int64		lo = m->row_start[u],
						hi = m->row_start[u + 1];

			for (e = lo; e < hi; e++)
				rmean[u] += binary ? 1.0 : m->row_weight[e];
			rmean[u] /= (double) (hi - lo);
			for (e = lo; e < hi; e++)
				rval[e] = (binary ? 1.0 : m->row_weight[e]) - rmean[u];
		}
		for (e = 0; e < nnz; e++)
			cval[e] = (binary ? 1.0 : m->col_weight[e]) - rmean[m->col_customer[e]];
		BudgetFree(bud, rmean, sizeof(double) * Max(m->n_customers, 1));
	}
	else
	{
		double	   *cmean = BudgetAlloc0(bud, sizeof(double) * Max(m->n_items, 1));

		for (c = 0; c < m->n_items; c++)
		{
			int64		lo = m->col_start[c],
						hi = m->col_start[c + 1];

			if (measure == SIM_PEARSON)
			{
				for (e = lo; e < hi; e++)
					cmean[c] += binary ? 1.0 : m->col_weight[e];
				cmean[c] /= (double) (hi - lo);
			}
			for (e = lo; e < hi; e++)
			{
				cval[e] = (binary ? 1.0 : m->col_weight[e]) - cmean[c];
				norm[c] += cval[e] * cval[e];
			}
			norm[c] = sqrt(norm[c]);
		}
		for (e = 0; e < nnz; e++)
			rval[e] = (binary ? 1.0 : m->row_weight[e]) - cmean[m->row_item[e]];
		BudgetFree(bud, cmean, sizeof(double) * Max(m->n_items, 1));
	}

	rank = ItemColumnRanks(m, &col_of_rank);
	TopKInit(&top, Min(top_k, Max(m->n_items, 1)));
	for (p = 0; p < m->n_items; p++)
	{
		int32		i = col_of_rank[p];
		int32		nt = 0,
					t;
		Datum		ikey;

		CHECK_FOR_INTERRUPTS();
		for (e = m->col_start[i]; e < m->col_start[i + 1]; e++)
		{
			int32		cu = m->col_customer[e];
			double		a = cval[e];
			int64		f;

			for (f = m->row_start[cu]; f < m->row_start[cu + 1]; f++)
			{
				int32		j = m->row_item[f];
				double		b = rval[f];

				if (j == i)
					continue;
				if (cnt[j] == 0)
					touched[nt++] = j;
				cnt[j]++;
				dot[j] += a * b;
				sa[j] += a * a;
				sb[j] += b * b;
			}
		}
		top.n = 0;
		for (t = 0; t < nt; t++)
		{
			int32		j = touched[t];
			double		den,
						sim;

			if (cnt[j] < min_common)
				continue;
			den = (measure == SIM_COSINE) ? norm[i] * norm[j] : sqrt(sa[j] * sb[j]);
			if (!(den > 0))
				continue;
			sim = dot[j] / den;
			/* rounding can leave |sim| a hair above 1 */
			sim = Max(-1.0, Min(1.0, sim));
			if (shrinkage > 0)
				sim *= (double) cnt[j] / ((double) cnt[j] + shrinkage);
			TopKPush(&top, sim, rank[j]);
		}
		TopKSort(&top);
		if (top.n > 0)
		{
			ikey = ItemDictKey(m->items, m->item_key[i], TEXTOID);
			for (t = 0; t < top.n; t++)
			{
				int32		j = col_of_rank[top.id[t]];
				Datum		vals[4];
				bool		nulls[4] = {false, false, false, false};

				vals[0] = ikey;
				vals[1] = ItemDictKey(m->items, m->item_key[j], TEXTOID);
				vals[2] = Float8GetDatum(top.score[t]);
				vals[3] = Int64GetDatum(cnt[j]);
				tuplestore_putvalues(ts, tupdesc, vals, nulls);
			}
		}
		for (t = 0; t < nt; t++)
		{
			int32		j = touched[t];

			dot[j] = sa[j] = sb[j] = 0;
			cnt[j] = 0;
		}
	}
}

/* Shared body of item_neighbors and customer_neighbors. */
static Datum
NeighborsCommon(FunctionCallInfo fcinfo, bool by_customer)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	Interactions *m;
	SimilarityMeasure measure;
	int			top_k;
	int			min_common;
	double		shrinkage;
	bool		binary = PG_ARGISNULL(3);

	if (PG_ARGISNULL(4) || PG_ARGISNULL(5) || PG_ARGISNULL(6) || PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("measure, top_k, min_common and shrinkage must not be NULL"),
				 errhint("Leave a parameter out to use its default.")));
	measure = ParseSimilarity(text_to_cstring(PG_GETARG_TEXT_PP(4)));
	top_k = PG_GETARG_INT32(5);
	min_common = PG_GETARG_INT32(6);
	shrinkage = PG_GETARG_FLOAT8(7);
	if (top_k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_k must be at least 1, not %d", top_k),
				 errhint("top_k is the number of neighbours kept per row, for example 20.")));
	if (min_common < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_common must be at least 1, not %d", min_common),
				 errhint("min_common is the fewest shared customers (or items) a neighbour needs.")));
	if (!(shrinkage >= 0) || isinf(shrinkage))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shrinkage must be a finite number >= 0, not %g", shrinkage),
				 errhint("Typical values are 0 to 100.")));

	ts = StartRowsOutput(fcinfo, &tupdesc);
	m = ReadInteractionArgs(fcinfo, 3, by_customer ? "customer neighbours" : "item neighbours");
	if (by_customer)
		m = TransposeInteractions(m);
	EmitNeighbors(m, measure, binary, top_k, min_common, shrinkage, ts, tupdesc);
	PG_RETURN_NULL();
}

Datum
item_neighbors(PG_FUNCTION_ARGS)
{
	return NeighborsCommon(fcinfo, false);
}

Datum
customer_neighbors(PG_FUNCTION_ARGS)
{
	return NeighborsCommon(fcinfo, true);
}
