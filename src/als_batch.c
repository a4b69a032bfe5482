/*
 * als_batch.c
 *	  Scoring a whole model at refresh time: the top items of every customer
 *	  and the nearest items of every item, each a blocked SGEMM over the
 *	  factor tables followed by a top-k per row.  Also the small scalar
 *	  helpers the serving SQL needs: a dot product of two factor vectors and
 *	  a Beta draw for Thompson sampling.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"

#include "als_batch.h"
#include "arrays.h"
#include "linalg.h"
#include "output.h"
#include "progress.h"
#include "topk.h"

#define TOPK_GROUPS 256			/* groups of scores whose maxima bound the top */

PG_FUNCTION_INFO_V1(als_recommend_all);
PG_FUNCTION_INFO_V1(als_similar_items);
PG_FUNCTION_INFO_V1(embedding_neighbors);
PG_FUNCTION_INFO_V1(factors_dot);
PG_FUNCTION_INFO_V1(beta_sample);

static int
CheckK(FunctionCallInfo fcinfo, int argno)
{
	int			k;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be NULL"),
				 errhint("k is the number of items to keep per row.")));
	k = PG_GETARG_INT32(argno);
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1, not %d", k),
				 errhint("k is the number of items to keep per row.")));
	return k;
}

/* Scale every row of t to unit length (zero rows stay zero). */
static void
NormalizeRows(FactorTable *t)
{
	int32		r;

	for (r = 0; r < t->n; r++)
	{
		float	   *v = t->v + (Size) r * t->k;
		float		norm = cblas_snrm2(t->k, v, 1);

		if (norm > 0)
			cblas_sscal(t->k, 1.0f / norm, v, 1);
	}
}

/*
 * Scores of rows rows of factors (rows_v, row-major) against every item:
 * scores[r * items->n + i].  One SGEMM; keep rows at ALS_SCORE_BLOCK so that
 * a call stays short (it cannot be cancelled).
 */
void
AlsScoreBlock(const float *rows_v, int32 rows, const FactorTable *items, float *scores)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, items->n, items->k,
				1.0f, rows_v, items->k, items->v, items->k,
				0.0f, scores, items->n);
}

/*
 * Maxima of the TOPK_GROUPS groups of n scores (group g: the indexes equal
 * to g modulo TOPK_GROUPS) into gmax, leaving out index skip; false when a
 * score is NaN or infinite.  n is at least 2 * TOPK_GROUPS, so that no group
 * is empty.  Written to vectorize: one pass, no branches.
 */
static bool
GroupMaxima(const float *scores, int32 n, int32 skip, float *gmax)
{
	float		finite[TOPK_GROUPS];
	int32		i;
	int32		j;

	for (j = 0; j < TOPK_GROUPS; j++)
	{
		gmax[j] = -INFINITY;
		finite[j] = 0;
	}
	for (i = 0; i + TOPK_GROUPS <= n; i += TOPK_GROUPS)
	{
		const float *row = scores + i;

		for (j = 0; j < TOPK_GROUPS; j++)
		{
			gmax[j] = row[j] > gmax[j] ? row[j] : gmax[j];
			/* stays 0 unless some score is NaN or infinite */
			finite[j] += row[j] * 0.0f;
		}
	}
	for (j = 0; i + j < n; j++)
	{
		gmax[j] = scores[i + j] > gmax[j] ? scores[i + j] : gmax[j];
		finite[j] += scores[i + j] * 0.0f;
	}
	for (j = 0; j < TOPK_GROUPS; j++)
		if (finite[j] != 0)
			return false;
	if (skip >= 0 && skip < n)
	{
		j = skip % TOPK_GROUPS;
		gmax[j] = -INFINITY;
		for (i = j; i < n; i += TOPK_GROUPS)
			if (i != skip && scores[i] > gmax[j])
				gmax[j] = scores[i];
	}
	return true;
}

/* The k-th largest (1 <= k <= n) of n floats, none NaN; reorders v. */
static float
KthLargest(float *v, int32 n, int32 k)
{
	int32		lo = 0;
	int32		hi = n - 1;
	int32		want = k - 1;

	while (lo < hi)
	{
		float		pivot = v[lo + (hi - lo) / 2];
		int32		i = lo;
		int32		j = hi;

		/* Hoare's partition, largest first */
		while (i <= j)
		{
			while (v[i] > pivot)
				i++;
			while (v[j] < pivot)
				j--;
			if (i <= j)
			{
				float		t = v[i];

				v[i++] = v[j];
				v[j--] = t;
			}
		}
		/* now v[lo..j] >= pivot >= v[i..hi], and v(j..i) = pivot */
		if (want <= j)
			hi = j;
		else if (want >= i)
			lo = i;
		else
			return pivot;
	}
	return v[want];
}

/*
 * The top->cap best of n scores, best first, leaving out index skip (-1:
 * none); ties go to the smaller index.
 *
 * The top does not depend on the order scores are offered in, so most are
 * never offered: cap groups whose maxima are at least the cap-th largest
 * group maximum hold cap scores at least that large, so no score below it
 * is among the best, and it lies only in the groups whose maximum reaches
 * it (about cap of TOPK_GROUPS).  A short row, a large cap, or a NaN or
 * infinite score (where the order of offers could matter) offers every
 * score.
 */
void
AlsRowTopK(TopK *top, const float *scores, int32 n, int32 skip)
{
	float		gmax[TOPK_GROUPS];
	float		sel[TOPK_GROUPS];
	int32		i;
	int32		g;

	top->n = 0;
	if (n >= 2 * TOPK_GROUPS && top->cap <= TOPK_GROUPS / 2 &&
		GroupMaxima(scores, n, skip, gmax))
	{
		float		bound;

		memcpy(sel, gmax, sizeof(sel));
		bound = KthLargest(sel, TOPK_GROUPS, top->cap);
		for (g = 0; g < TOPK_GROUPS; g++)
			if (gmax[g] >= bound)
				for (i = g; i < n; i += TOPK_GROUPS)
					if (scores[i] >= bound && i != skip)
						TopKPush(top, scores[i], i);
	}
	else
		for (i = 0; i < n; i++)
			if (i != skip && !(top->n == top->cap && scores[i] < top->score[0]))
				TopKPush(top, scores[i], i);
	TopKSort(top);
}

/*
 * Score rows of a against every row of b by blocks, keep the k best per row
 * (skipping the row itself when self is true) and emit
 * (a key, rank, b key, score).
 */
static void
TopKByBlocks(Tuplestorestate *ts, TupleDesc tupdesc, const FactorTable *a,
			 const FactorTable *b, int k, bool self, Budget *budget)
{
	float	   *scores;
	TopK		top;
	int32		start;
	Progress	progress;

	if (a->n == 0 || b->n == 0)
		return;
	if (a->k != b->k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the customer factors have %d factors but the item factors have %d",
						a->k, b->k),
				 errhint("Pass the two tables of one als_train run.")));
	scores = BudgetAlloc(budget, sizeof(float) * (Size) ALS_SCORE_BLOCK * b->n);
	TopKInit(&top, Min(k, b->n));
	ProgressStart(&progress, self ? "nearest items" : "recommendations", "rows", a->n);
	for (start = 0; start < a->n; start += ALS_SCORE_BLOCK)
	{
		int32		rows = Min(ALS_SCORE_BLOCK, a->n - start);
		int32		r;

		CHECK_FOR_INTERRUPTS();
		ProgressReport(&progress, start);
		AlsScoreBlock(a->v + (Size) start * a->k, rows, b, scores);
		for (r = 0; r < rows; r++)
		{
			int			j;

			AlsRowTopK(&top, scores + (Size) r * b->n, b->n, self ? start + r : -1);
			for (j = 0; j < top.n; j++)
			{
				Datum		vals[4];
				bool		nulls[4] = {false, false, false, false};

				vals[0] = CStringGetTextDatum(a->keys[start + r]);
				vals[1] = Int32GetDatum(j + 1);
				vals[2] = CStringGetTextDatum(b->keys[top.id[j]]);
				vals[3] = Float4GetDatum((float4) top.score[j]);
				tuplestore_putvalues(ts, tupdesc, vals, nulls);
			}
		}
	}
}

/*
 * als_recommend_all(customer_factors regclass, item_factors regclass, k)
 *	  The k items with the largest x . y for every customer.
 */
Datum
als_recommend_all(PG_FUNCTION_ARGS)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	FactorTable *c,
			   *t;
	Budget		budget;
	int			k;

	ts = StartRowsOutput(fcinfo, &tupdesc);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("customer_factors and item_factors must not be NULL"),
				 errhint("Pass the two tables written by bundlerec.als_train.")));
	k = CheckK(fcinfo, 2);
	BudgetInit(&budget, "als_recommend_all");
	c = LoadFactorRows(PG_GETARG_OID(0), "customer", NULL, &budget);
	t = LoadFactorRows(PG_GETARG_OID(1), "item", NULL, &budget);
	TopKByBlocks(ts, tupdesc, c, t, k, false, &budget);
	PG_RETURN_NULL();
}

/*
 * als_similar_items(item_factors regclass, k)
 *	  The k items of largest cosine with every item, the item itself left out.
 */
Datum
als_similar_items(PG_FUNCTION_ARGS)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	FactorTable *t;
	Budget		budget;
	int			k;

	ts = StartRowsOutput(fcinfo, &tupdesc);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_factors must not be NULL"),
				 errhint("Pass the item table written by bundlerec.als_train.")));
	k = CheckK(fcinfo, 1);
	BudgetInit(&budget, "als_similar_items");
	t = LoadFactorRows(PG_GETARG_OID(0), "item", NULL, &budget);
	NormalizeRows(t);
	TopKByBlocks(ts, tupdesc, t, t, k, true, &budget);
	PG_RETURN_NULL();
}

/*
 * embedding_neighbors(products regclass, item text, embedding text, k)
 *	  The k products whose embeddings (any column with a cast to real[], such
 *	  as pgvector's vector) have the largest cosine with each product's.
 */
Datum
embedding_neighbors(PG_FUNCTION_ARGS)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	FactorTable *t;
	Budget		budget;
	Oid			relid;
	char	   *item;
	char	   *embedding;
	int			k;

	ts = StartRowsOutput(fcinfo, &tupdesc);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("products, item and embedding must not be NULL"),
				 errhint("Pass the products relation, its product key column and its embedding column.")));
	k = CheckK(fcinfo, 3);
	relid = PG_GETARG_OID(0);
	item = text_to_cstring(PG_GETARG_TEXT_PP(1));
	embedding = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (get_attnum(relid, item) == InvalidAttrNumber ||
		get_attnum(relid, embedding) == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("\"%s\" has no column \"%s\"", get_rel_name(relid),
						get_attnum(relid, item) == InvalidAttrNumber ? item : embedding),
				 errhint("Column names are matched exactly as given, without case folding or quotes.")));
	BudgetInit(&budget, "embedding_neighbors");
	t = LoadVectorRows(relid, item, embedding, NULL, true, &budget);
	NormalizeRows(t);
	TopKByBlocks(ts, tupdesc, t, t, k, true, &budget);
	PG_RETURN_NULL();
}

/* factors_dot(a real[], b real[]): the dot product of two factor vectors. */
Datum
factors_dot(PG_FUNCTION_ARGS)
{
	int			na,
				nb;
	float	   *a = ArrayArgFloat4s(PG_GETARG_ARRAYTYPE_P(0), "first vector", &na);
	float	   *b = ArrayArgFloat4s(PG_GETARG_ARRAYTYPE_P(1), "second vector", &nb);

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("vectors of %d and %d factors", na, nb),
				 errhint("Both vectors must come from the same model.")));
	PG_RETURN_FLOAT8((double) cblas_sdot(na, a, 1, b, 1));
}

/* A standard normal draw (Box-Muller, one of the pair). */
static double
NormalDraw(void)
{
	double		u1 = pg_prng_double(&pg_global_prng_state);
	double		u2 = pg_prng_double(&pg_global_prng_state);

	return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* A Gamma(shape, 1) draw for shape >= 1: Marsaglia and Tsang (2000). */
static double
GammaDraw(double shape)
{
	double		d,
				c;

	d = shape - 1.0 / 3.0;
	c = 1.0 / sqrt(9.0 * d);
	for (;;)
	{
		double		z = NormalDraw();
		double		v = 1.0 + c * z;
		double		u;

		if (v <= 0)
			continue;
		v = v * v * v;
		u = 1.0 - pg_prng_double(&pg_global_prng_state);
		if (log(u) < 0.5 * z * z + d - d * v + d * log(v))
			return d * v;
	}
}

/*
 * The log of a Gamma(shape, 1) draw, boosted below shape 1 (G(s) =
 * G(s + 1) U^(1/s)); logs, because U^(1/s) underflows to 0 for tiny s.
 */
static double
LogGammaDraw(double shape)
{
	if (shape < 1.0)
	{
		double		u = pg_prng_double(&pg_global_prng_state);

		return log(GammaDraw(shape + 1.0)) + log(1.0 - u) / shape;
	}
	return log(GammaDraw(shape));
}

/* beta_sample(alpha, beta): one draw from Beta(alpha, beta). */
Datum
beta_sample(PG_FUNCTION_ARGS)
{
	double		a = PG_GETARG_FLOAT8(0);
	double		b = PG_GETARG_FLOAT8(1);
	double		x,
				y;

	if (!(a > 0) || !(b > 0) || isinf(a) || isinf(b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Beta parameters must be finite and positive, not %g and %g", a, b),
				 errhint("Use the successes plus a prior and the failures plus a prior.")));
	x = LogGammaDraw(a);
	y = LogGammaDraw(b);
	/* both logs -inf: only tiny shapes; the draw is 1 with odds a : b */
	if (isinf(x) && isinf(y))
		PG_RETURN_FLOAT8(pg_prng_double(&pg_global_prng_state) < a / (a + b) ? 1.0 : 0.0);
	/* x / (x + y) from the logs */
	PG_RETURN_FLOAT8(1.0 / (1.0 + exp(y - x)));
}
