/*
 * recommendations.c
 *	  A model's recommendations stage: for every customer, the items they
 *	  bought and their ALS candidates (the items of largest x . y, as
 *	  bundlerec.als_recommend_all picks them), scored
 *
 *	    repeat_weight * orders of the item / orders of the customer
 *	    + model_weight * x . y clipped to [0, 1],
 *
 *	  those scoring above 0 ranked by score, then the item in "C" order.
 *	  Written: the k best, and the k best of the items the customer never
 *	  bought (rank_new), so that a customer whose best are all repeats
 *	  still has new items to be offered.  bundlerec._recommendations().
 *
 *	  The customers are streamed in "C" order with their items; the factors
 *	  are held in memory (charged to bundlerec.memory_limit) and the
 *	  candidates of ALS_SCORE_BLOCK customers at a time come from one SGEMM.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include <cblas.h>

#include "als_batch.h"
#include "bundlerec.h"
#include "customer_stream.h"
#include "items.h"
#include "linalg.h"
#include "output.h"
#include "source.h"
#include "topk.h"

PG_FUNCTION_INFO_V1(bundlerec_recommendations);

#define RECOMMENDATION_COLUMNS 9

/* One line of customer_items. */
typedef struct Bought
{
	int32		item;
	int64		orders;
} Bought;

/* One candidate item of a customer. */
typedef struct Cand
{
	int32		item;
	const char *key;
	int64		bought;
	double		score;
	double		repeat_part;
	double		model_part;
	bool		has_model;
} Cand;

typedef struct Recs
{
	double		w_repeat;
	double		w_model;
	int32		k;
	Budget		budget;
	Tuplestorestate *ts;
	TupleDesc	desc;

	/* items: ids 0 .. itf->n - 1 are the rows of itf, then the others */
	ItemDict   *dict;
	MemoryContext itemcxt;		/* holds keys and texts */
	int32		nfactors;		/* items with factors */
	int32		cap;
	char	  **keys;			/* per id */
	Datum	   *texts;			/* per id, 0 until written once */
	int32	   *seen;			/* per id: the last customer holding it */

	/* ALS candidates, by blocks of ALS_SCORE_BLOCK rows of cf */
	FactorTable *cf;			/* the customers' factors; NULL without */
	FactorTable *itf;
	int32		block;			/* block in scores, -1 none */
	float	   *scores;
	TopK		top;

	/* the customer being read */
	int32		serial;
	int64		orders;
	bool		orders_null;
	Bought	   *rows;
	int32		nrows;
	int32		maxrows;
	Cand	   *cands;
	int32		maxcands;
} Recs;

/* Id of an item key, adding an item without factors if new. */
static int32
RecsItem(Recs *r, Datum key)
{
	int32		id = ItemDictAdd(r->dict, key);

	if (id >= r->cap)
	{
		int32		cap = r->cap * 2;

		r->keys = BudgetRealloc(&r->budget, r->keys, sizeof(char *) * r->cap, sizeof(char *) * cap);
		r->texts = BudgetRealloc(&r->budget, r->texts, sizeof(Datum) * r->cap, sizeof(Datum) * cap);
		r->seen = BudgetRealloc(&r->budget, r->seen, sizeof(int32) * r->cap, sizeof(int32) * cap);
		memset(r->keys + r->cap, 0, sizeof(char *) * (cap - r->cap));
		memset(r->texts + r->cap, 0, sizeof(Datum) * (cap - r->cap));
		memset(r->seen + r->cap, 0, sizeof(int32) * (cap - r->cap));
		r->cap = cap;
	}
	if (r->keys[id] == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(r->itemcxt);

		r->keys[id] = TextDatumGetCString(key);
		MemoryContextSwitchTo(old);
	}
	return id;
}

/* The item dictionary, seeded with the items that have factors. */
static void
InitItems(Recs *r)
{
	int32		i;

	r->itemcxt = CurrentMemoryContext;
	r->dict = ItemDictCreate(TEXTOID, C_COLLATION_OID, &r->budget);
	r->nfactors = r->itf ? r->itf->n : 0;
	r->cap = Max(r->nfactors * 2, 1024);
	r->keys = BudgetAlloc0(&r->budget, sizeof(char *) * r->cap);
	r->texts = BudgetAlloc0(&r->budget, sizeof(Datum) * r->cap);
	r->seen = BudgetAlloc0(&r->budget, sizeof(int32) * r->cap);
	for (i = 0; i < r->nfactors; i++)
	{
		if ((i & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (RecsItem(r, CStringGetTextDatum(r->itf->keys[i])) != i)
			elog(ERROR, "item factors out of key order, please report a bug");
	}
}

/*
 * Room for the ALS candidates.  The rows of cf are those of the customers
 * computed, in key order, so its blocks are the blocks als_recommend_all
 * scores (it is given the same customers): ties fall the same way.
 */
static void
InitScoring(Recs *r, int32 candidates)
{
	r->block = -1;
	if (r->itf->n == 0 || r->cf->n == 0)
		return;
	r->scores = BudgetAlloc(&r->budget, mul_size(sizeof(float) * ALS_SCORE_BLOCK, r->itf->n));
	BudgetCharge(&r->budget, (sizeof(double) + sizeof(int32)) * Min(candidates, r->itf->n));
	TopKInit(&r->top, Min(candidates, r->itf->n));
}

/* The ALS candidates of the customer in row cf_row of cf into r->top. */
static void
AlsCandidates(Recs *r, int32 cf_row)
{
	int32		block = cf_row / ALS_SCORE_BLOCK;
	int32		start = block * ALS_SCORE_BLOCK;

	if (block != r->block)
	{
		CHECK_FOR_INTERRUPTS();
		AlsScoreBlock(r->cf->v + (Size) start * r->cf->k, Min(ALS_SCORE_BLOCK, r->cf->n - start),
					  r->itf, r->scores);
		r->block = block;
	}
	AlsRowTopK(&r->top, r->scores + (Size) (cf_row - start) * r->itf->n, r->itf->n, -1);
}

/* Make room for n candidates. */
static void
ReserveCands(Recs *r, int32 n)
{
	int32		cap = r->maxcands;

	while (cap < n)
		cap *= 2;
	if (cap == r->maxcands)
		return;
	r->cands = BudgetRealloc(&r->budget, r->cands, sizeof(Cand) * r->maxcands, sizeof(Cand) * cap);
	r->maxcands = cap;
}

/* Scores candidate c of a customer with orders orders and factor row cf_row. */
static void
ScoreCand(const Recs *r, Cand *c, int64 orders, int32 cf_row)
{
	if (orders == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DIVISION_BY_ZERO),
				 errmsg("division by zero"),
				 errdetail("A customer holds items but no orders.")));
	c->repeat_part = (double) c->bought / (double) orders;
	c->has_model = cf_row >= 0 && c->item < r->nfactors;
	c->model_part = 0;
	if (c->has_model)
	{
		/* factors_dot's arithmetic: float vectors, a float sum */
		double		v = (double) cblas_sdot(r->cf->k, r->cf->v + (Size) cf_row * r->cf->k, 1,
										   r->itf->v + (Size) c->item * r->itf->k, 1);

		/* greatest(0, least(1, v)): NaN sorts above 1 */
		c->model_part = (isnan(v) || v > 1) ? 1 : (v > 0 ? v : 0);
	}
	c->score = r->w_repeat * c->repeat_part + r->w_model * c->model_part;
}

/* float8 order as PostgreSQL sorts it: NaN above every number. */
static int
CompareFloat8(double a, double b)
{
	if (isnan(a))
		return isnan(b) ? 0 : 1;
	if (isnan(b))
		return -1;
	return (a > b) - (a < b);
}

/* Best first: score, then the item in "C" order. */
static int
CompareCands(const void *pa, const void *pb)
{
	const Cand *a = pa;
	const Cand *b = pb;
	int			c = CompareFloat8(b->score, a->score);

	return c != 0 ? c : strcmp(a->key, b->key);
}

/* One customer_items row (or none) of the customer being read. */
static void
ReadCustomerItem(void *arg, HeapTuple tup, TupleDesc desc, bool first)
{
	Recs	   *r = arg;
	bool		isnull;
	Datum		item;
	Bought	   *b;

	if (first)
	{
		r->orders = DatumGetInt64(SPI_getbinval(tup, desc, 2, &r->orders_null));
		r->nrows = 0;
	}
	item = SPI_getbinval(tup, desc, 3, &isnull);
	if (isnull)
		return;
	if (r->nrows == r->maxrows)
	{
		r->maxrows *= 2;
		r->rows = repalloc_huge(r->rows, sizeof(Bought) * r->maxrows);
	}
	b = &r->rows[r->nrows++];
	b->item = RecsItem(r, item);
	b->orders = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	if (isnull)
		b->orders = 0;
}

/* Adds item id (orders bought) to the candidates of the current customer. */
static void
AddCand(Recs *r, int32 *ncand, int32 id, int64 bought)
{
	Cand	   *c = &r->cands[(*ncand)++];

	r->seen[id] = r->serial;
	c->item = id;
	c->key = r->keys[id];
	c->bought = bought;
}

/* Scores, ranks and writes the recommendations of the customer just read. */
static void
EmitRecommendations(void *arg, Datum customer)
{
	Recs	   *r = arg;
	int32		cf_row = -1;
	int32		ncand = 0;
	int32		nkept = 0;
	int32		nnew = 0;
	int32		i;

	/* a NULL count of orders leaves every score NULL */
	if (r->orders_null)
		return;
	r->serial++;
	if (r->cf != NULL)
		cf_row = FindKey(r->cf, TextDatumGetCString(customer));
	ReserveCands(r, r->nrows + r->top.cap);
	for (i = 0; i < r->nrows; i++)
		AddCand(r, &ncand, r->rows[i].item, r->rows[i].orders);
	if (cf_row >= 0 && r->scores != NULL)
	{
		AlsCandidates(r, cf_row);
		for (i = 0; i < r->top.n; i++)
			if (r->seen[r->top.id[i]] != r->serial)
				AddCand(r, &ncand, r->top.id[i], 0);
	}
	for (i = 0; i < ncand; i++)
	{
		Cand	   *c = &r->cands[i];

		ScoreCand(r, c, r->orders, cf_row);
		/* score > 0, where NaN counts as above */
		if (isnan(c->score) || c->score > 0)
			r->cands[nkept++] = *c;
	}
	qsort(r->cands, nkept, sizeof(Cand), CompareCands);
	for (i = 0; i < nkept; i++)
	{
		Cand	   *c = &r->cands[i];
		Datum		v[RECOMMENDATION_COLUMNS];
		bool		nulls[RECOMMENDATION_COLUMNS] = {0};

		if (c->bought == 0)
			nnew++;
		if (i >= r->k && (c->bought != 0 || nnew > r->k))
		{
			if (nnew >= r->k)
				break;
			continue;
		}

		if (r->texts[c->item] == (Datum) 0)
		{
			MemoryContext old = MemoryContextSwitchTo(r->itemcxt);

			r->texts[c->item] = CStringGetTextDatum(c->key);
			MemoryContextSwitchTo(old);
		}
		v[0] = customer;
		v[1] = Int32GetDatum(i + 1);
		v[2] = r->texts[c->item];
		v[3] = Float8GetDatum(c->score);
		v[4] = Float8GetDatum(c->repeat_part);
		v[5] = Float8GetDatum(c->model_part);
		nulls[5] = !c->has_model;
		v[6] = Int64GetDatum(c->bought);
		v[7] = Int64GetDatum(r->orders);
		v[8] = Int32GetDatum(nnew);
		nulls[8] = c->bought != 0;
		tuplestore_putvalues(r->ts, r->desc, v, nulls);
	}
}

/* Checks k and candidates. */
static void
CheckCounts(int32 k, int32 candidates)
{
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1, not %d", k),
				 errhint("The model option recommendations_per_customer sets it.")));
	if (candidates < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("candidates must be at least 1, not %d", candidates),
				 errhint("candidates is the number of ALS candidates per customer.")));
}

/*
 * bundlerec._recommendations(customer_items, customers, customer_factors,
 * item_factors, repeat_weight, model_weight, k, candidates, only): the
 * recommendations of a model from its tables; the factors are NULL without
 * embeddings, only (a table of customers) NULL for every customer.
 */
Datum
bundlerec_recommendations(PG_FUNCTION_ARGS)
{
	Recs		r = {0};
	MemoryContext work,
				old;
	Oid			only;
	int32		candidates;
	int			i;

	for (i = 0; i < 8; i++)
		if (PG_ARGISNULL(i) && i != 2 && i != 3)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("bundlerec._recommendations needs its tables, weights, k and candidates"),
					 errhint("Only the factor tables and the customers to recompute may be NULL.")));
	r.w_repeat = PG_GETARG_FLOAT8(4);
	r.w_model = PG_GETARG_FLOAT8(5);
	r.k = PG_GETARG_INT32(6);
	candidates = PG_GETARG_INT32(7);
	CheckCounts(r.k, candidates);
	only = PG_ARGISNULL(8) ? InvalidOid : PG_GETARG_OID(8);

	r.ts = StartRowsOutput(fcinfo, &r.desc);
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec recommendations",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BudgetInit(&r.budget, "the recommendations of a model");
	if (!PG_ARGISNULL(2) && !PG_ARGISNULL(3))
		LoadModelFactors(PG_GETARG_OID(2), PG_GETARG_OID(3), only, &r.budget, &r.cf, &r.itf);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	InitItems(&r);
	if (r.cf != NULL)
		InitScoring(&r, candidates);
	r.maxrows = 64;
	r.rows = palloc(sizeof(Bought) * r.maxrows);
	r.maxcands = 64;
	r.cands = BudgetAlloc(&r.budget, sizeof(Cand) * r.maxcands);

	/* customers without items too: they may have ALS candidates */
	StreamCustomers(psprintf("SELECT cu.customer::pg_catalog.text, cu.orders::pg_catalog.int8, "
							 "ci.item::pg_catalog.text, ci.orders::pg_catalog.int8 "
							 "FROM %s cu LEFT JOIN %s ci ON ci.customer OPERATOR(pg_catalog.=) cu.customer%s "
							 "ORDER BY cu.customer::pg_catalog.text COLLATE pg_catalog.\"C\"",
							 RelationSqlName(PG_GETARG_OID(1)), RelationSqlName(PG_GETARG_OID(0)),
							 OnlyCustomersFilter("cu.customer", only)),
					"recommendations", ReadCustomerItem, EmitRecommendations, &r);
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
