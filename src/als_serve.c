/*
 * als_serve.c
 *	  Serving ALS factors: top-k items for a vector, and fold-in of a cart
 *	  or a new customer's history into a vector.
 *
 * Both read the item factor table written by als_train.  Scoring is one
 * sgemv over all items; fold-in is the ALS customer step for one row.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "arrays.h"
#include "linalg.h"
#include "output.h"
#include "topk.h"

PG_FUNCTION_INFO_V1(als_recommend);
PG_FUNCTION_INFO_V1(als_fold_in);

/* Row of key in t, or -1. */
int32
FindKey(const FactorTable *t, const char *key)
{
	int32		lo = 0,
				hi = t->n - 1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		int			c = strcmp(t->keys[mid], key);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

typedef struct KeyRow
{
	char	   *key;
	int32		row;
} KeyRow;

static int
CompareKeyRows(const void *a, const void *b)
{
	return strcmp(((const KeyRow *) a)->key, ((const KeyRow *) b)->key);
}

/* Read an (item, factors real[]) table. */
FactorTable *
LoadFactorTable(Oid relid)
{
	return LoadFactorTableKeyed(relid, "item");
}

/* Read a (keycol, factors real[]) table: items or customers. */
FactorTable *
LoadFactorTableKeyed(Oid relid, const char *keycol)
{
	return LoadFactorRows(relid, keycol, NULL, NULL);
}

/*
 * Read the rows of a (keycol, factors real[]) table that meet condition
 * filter (SQL text; NULL: all), charged to budget (NULL: one of its own).
 */
FactorTable *
LoadFactorRows(Oid relid, const char *keycol, const char *filter, Budget *budget)
{
	if (get_attnum(relid, keycol) == InvalidAttrNumber ||
		get_attnum(relid, "factors") == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("\"%s\" is not a %s factor table", get_rel_name(relid), keycol),
				 errhint("Pass a table written by bundlerec.als_train: columns %s and factors real[].", keycol)));
	return LoadVectorRows(relid, keycol, "factors", filter, false, budget);
}

/* Rows fetched from the cursor at a time. */
#define VECTOR_FETCH_ROWS 1024

/*
 * Read keycol and vector column veccol (cast to real[]) of the rows of
 * relid that meet filter: factor tables, or a products relation's
 * embeddings (embeddings: errors name the product; rows without a key
 * are skipped, a NULL vector is an error either way).  Read through a
 * cursor and charged to budget (NULL: a budget of its own), so that a
 * large table fails with bundlerec.memory_limit's error instead of
 * exhausting memory.
 */
FactorTable *
LoadVectorRows(Oid relid, const char *keycol, const char *veccol,
			   const char *filter, bool embeddings, Budget *budget)
{
	FactorTable *t = palloc0(sizeof(FactorTable));
	MemoryContext outer = CurrentMemoryContext;
	const char *rel = get_rel_name(relid);
	Budget		own;
	char	   *sql;
	SPIPlanPtr	plan;
	Portal		portal;
	Size		nrows = 0;
	Size		cap = 0;
	KeyRow	   *kr = NULL;
	float	   *v = NULL;
	float	   *tmp;
	bool	   *done;
	Size		r;

	if (budget == NULL)
	{
		BudgetInit(&own, psprintf("the vectors of \"%s\"", rel));
		budget = &own;
	}
	sql = psprintf("SELECT %s::pg_catalog.text, %s::pg_catalog.float4[] FROM %s WHERE %s IS NOT NULL%s%s",
				   quote_identifier(keycol), quote_identifier(veccol),
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel),
				   quote_identifier(keycol), filter ? " AND " : "", filter ? filter : "");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare %s", sql);
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		uint64		b;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, VECTOR_FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (b = 0; b < SPI_processed; b++)
		{
			HeapTuple	tup = SPI_tuptable->vals[b];
			bool		isnull;
			Datum		kd = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);
			Datum		fd = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
			char	   *key = TextDatumGetCString(kd);
			char	   *what = embeddings ? psprintf("the embedding of product %s", key) : "factors";
			float	   *vals;
			int			nv;
			Size		keybytes;
			MemoryContext old;

			if (isnull && embeddings)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("product %s of \"%s\" has no embedding (column \"%s\" is NULL)", key, rel, veccol),
						 errhint("Give every product an embedding, or leave the products without one out in a view.")));
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("item factor table \"%s\" has a NULL factors value", rel)));
			vals = ArrayArgFloat4s(DatumGetArrayTypeP(fd), what, &nv);
			if (nrows == 0)
			{
				t->k = nv;
				if (nv < 1)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 embeddings ? errmsg("%s is empty", what) :
							 errmsg("item factor table \"%s\" has an empty factors value", rel),
							 embeddings ? errhint("Embeddings have at least one element.") : 0));
			}
			else if (nv != t->k)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 embeddings ? errmsg("%s has %d elements, but the first product read has %d", what, nv, t->k) :
						 errmsg("item factor table \"%s\" mixes vectors of %d and %d factors", rel, t->k, nv),
						 embeddings ? errhint("All embeddings of \"%s\" must come from one model, with one length.", rel) : 0));
			if (nrows == (Size) PG_INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("too many items in \"%s\"", rel)));
			old = MemoryContextSwitchTo(outer);
			if (nrows == cap)
			{
				Size		ncap = Max(cap * 2, VECTOR_FETCH_ROWS);

				if (cap == 0)
				{
					kr = BudgetAlloc(budget, sizeof(KeyRow) * ncap);
					v = BudgetAlloc(budget, sizeof(float) * ncap * t->k);
				}
				else
				{
					kr = BudgetRealloc(budget, kr, sizeof(KeyRow) * cap, sizeof(KeyRow) * ncap);
					v = BudgetRealloc(budget, v, sizeof(float) * cap * t->k, sizeof(float) * ncap * t->k);
				}
				cap = ncap;
			}
			keybytes = strlen(key) + 1;
			BudgetCharge(budget, keybytes + sizeof(char *));
			kr[nrows].key = pstrdup(key);
			kr[nrows].row = (int32) nrows;
			MemoryContextSwitchTo(old);
			memcpy(v + nrows * t->k, vals, sizeof(float) * nv);
			nrows++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	t->n = (int32) nrows;

	/*
	 * Key order, so ties and lookups do not depend on the heap's order; the
	 * vectors are moved into that order in place, a cycle at a time.
	 */
	qsort(kr, nrows, sizeof(KeyRow), CompareKeyRows);
	t->keys = palloc(sizeof(char *) * Max(nrows, 1));
	for (r = 0; r < nrows; r++)
	{
		t->keys[r] = kr[r].key;
		if (r > 0 && strcmp(kr[r].key, kr[r - 1].key) == 0 && embeddings)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("product %s appears more than once in \"%s\"", kr[r].key, rel),
					 errhint("A products relation has one row per product.")));
	}
	tmp = palloc(sizeof(float) * Max(t->k, 1));
	done = palloc0(sizeof(bool) * Max(nrows, 1));
	for (r = 0; r < nrows; r++)
	{
		Size		dst = r;

		if (done[r] || (Size) kr[r].row == r)
			continue;
		/* row r takes old row kr[r].row, which takes old row kr[that].row ... */
		memcpy(tmp, v + r * t->k, sizeof(float) * t->k);
		for (;;)
		{
			Size		src = (Size) kr[dst].row;

			done[dst] = true;
			if (src == r)
			{
				memcpy(v + dst * t->k, tmp, sizeof(float) * t->k);
				break;
			}
			memcpy(v + dst * t->k, v + src * t->k, sizeof(float) * t->k);
			dst = src;
		}
	}
	pfree(tmp);
	pfree(done);
	BudgetFree(budget, kr, sizeof(KeyRow) * Max(cap, 1));
	t->v = nrows > 0 ? v : NULL;
	return t;
}

/*
 * als_recommend(vector real[], item_factors regclass, k int, exclude text[])
 *	  The k items with the largest vector . factors, with sigmoid affinity.
 */
Datum
als_recommend(PG_FUNCTION_ARGS)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	FactorTable *t;
	float	   *u;
	float	   *scores;
	bool	   *skip;
	int			nu,
				k,
				i;
	TopK		top;

	ts = StartRowsOutput(fcinfo, &tupdesc);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_factors must not be NULL"),
				 errhint("Pass the item_table written by bundlerec.als_train.")));
	k = PG_ARGISNULL(2) ? 10 : PG_GETARG_INT32(2);
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1, not %d", k),
				 errhint("k is the number of items to return.")));
	u = ArrayArgFloat4s(PG_GETARG_ARRAYTYPE_P(0), "customer_vector", &nu);
	t = LoadFactorTable(PG_GETARG_OID(1));
	if (t->n == 0)
		PG_RETURN_NULL();
	if (nu != t->k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the vector has %d factors but the item factors have %d", nu, t->k),
				 errhint("Use a customer vector of the same model as the item table.")));

	skip = palloc0(sizeof(bool) * t->n);
	if (!PG_ARGISNULL(3))
	{
		int			ne;
		char	  **ex = ArrayArgTexts(PG_GETARG_ARRAYTYPE_P(3), "exclude", &ne);

		for (i = 0; i < ne; i++)
		{
			int32		row = FindKey(t, ex[i]);

			if (row >= 0)
				skip[row] = true;
		}
	}

	/* all items scored by one BLAS call */
	scores = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * (Size) t->n);
	cblas_sgemv(CblasRowMajor, CblasNoTrans, t->n, t->k, 1.0f, t->v, t->k,
				u, 1, 0.0f, scores, 1);
	TopKInit(&top, Min(k, t->n));
	for (i = 0; i < t->n; i++)
		if (!skip[i])
			TopKPush(&top, scores[i], i);
	TopKSort(&top);
	for (i = 0; i < top.n; i++)
	{
		Datum		vals[3];
		bool		nulls[3] = {false, false, false};
		double		sc = top.score[i];

		vals[0] = CStringGetTextDatum(t->keys[top.id[i]]);
		vals[1] = Float4GetDatum((float4) sc);
		vals[2] = Float4GetDatum((float4) (1.0 / (1.0 + exp(-sc))));
		tuplestore_putvalues(ts, tupdesc, vals, nulls);
	}
	PG_RETURN_NULL();
}

/*
 * als_fold_in(items text[], item_factors regclass, regularization, alpha,
 *			   weights float8[])
 *	  The customer vector the ALS customer step gives for this history:
 *	  (Y'Y + lambda I + sum alpha r_i y_i y_i') x = sum (1 + alpha r_i) y_i.
 *	  NULL when no item of the history is in the table.
 */
Datum
als_fold_in(PG_FUNCTION_ARGS)
{
	FactorTable *t;
	char	  **items;
	int			ni,
				i,
				j,
				k,
				info = 0,
				one = 1,
				known = 0;
	double		lambda,
				alpha;
	double	   *w = NULL;
	double	   *rw;
	double	   *a,
			   *b,
			   *block;
	float	   *x;
	double		flops = 0;
	int32		from;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("item_factors, regularization and alpha must not be NULL"),
				 errhint("Pass the values the model was trained with.")));
	lambda = PG_GETARG_FLOAT8(2);
	alpha = PG_GETARG_FLOAT8(3);
	if (!(lambda >= 0) || isinf(lambda))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("regularization must be a finite number >= 0, not %g", lambda),
				 errhint("Pass the regularization the model was trained with.")));
	if (!(alpha >= 0) || isinf(alpha))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alpha must be a finite number >= 0, not %g", alpha),
				 errhint("Pass the alpha the model was trained with.")));
	items = ArrayArgTexts(PG_GETARG_ARRAYTYPE_P(0), "items", &ni);
	if (!PG_ARGISNULL(4))
	{
		int			nw;

		w = ArrayArgFloat8s(PG_GETARG_ARRAYTYPE_P(4), "weights", &nw);
		if (nw != ni)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("weights has %d elements but items has %d", nw, ni),
					 errhint("Give one weight per item, or leave weights out.")));
		for (i = 0; i < ni; i++)
			if (w[i] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("weights must be >= 0, not %g", w[i]),
						 errhint("A weight is the quantity or number of orders of the item.")));
	}

	t = LoadFactorTable(PG_GETARG_OID(1));
	if (t->n == 0)
		PG_RETURN_NULL();
	k = t->k;

	/* A = Y'Y + lambda I */
	a = palloc0(sizeof(double) * k * k);
	b = palloc0(sizeof(double) * k);
	block = palloc(sizeof(double) * 1024 * k);
	for (from = 0; from < t->n; from += 1024)
	{
		int			rows = Min(1024, t->n - from);
		int64		e;

		for (e = 0; e < (int64) rows * k; e++)
			block[e] = t->v[(int64) from * k + e];
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, k, rows,
					1.0, block, k, 1.0, a, k);
		flops += (double) rows * k * k;
		CHECK_FOR_INTERRUPTS();
	}
	for (j = 0; j < k; j++)
		a[j * k + j] += lambda;

	/* duplicates add up, as lines do in training */
	rw = palloc0(sizeof(double) * t->n);
	for (i = 0; i < ni; i++)
	{
		int32		row;

		if (items[i] == NULL)
			continue;
		row = FindKey(t, items[i]);
		if (row >= 0)
			rw[row] += w ? w[i] : 1.0;
	}
	for (i = 0; i < t->n; i++)
	{
		const float *y;
		int			p,
					q;

		if (rw[i] <= 0)
			continue;
		known++;
		y = t->v + (int64) i * k;
		for (p = 0; p < k; p++)
		{
			b[p] += (1.0 + alpha * rw[i]) * y[p];
			for (q = p; q < k; q++)
				a[p * k + q] += alpha * rw[i] * y[p] * y[q];
		}
	}
	if (known == 0)
		PG_RETURN_NULL();
	dposv_("L", &k, &one, a, &k, b, &k, &info);
	if (info != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the fold-in system is singular at regularization %g", lambda),
				 errhint("Use a positive regularization, for example the one the model was trained with.")));
	x = palloc(sizeof(float) * k);
	for (j = 0; j < k; j++)
		x[j] = (float) b[j];
	PG_RETURN_ARRAYTYPE_P(FloatArray(x, k));
}
