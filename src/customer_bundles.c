/*
 * customer_bundles.c
 *	  A model's customer bundles stage: for every customer, the item bundles
 *	  anchored on their 20 most bought items, scored by how much of the
 *	  bundle they already buy (repeat part), their ALS preference for the
 *	  added items (model part) and the bundle's cohesion; one bundle per item
 *	  set, the bundles_per_customer best overall and among those whose added
 *	  items are all new to the customer.  bundlerec._customer_bundles().
 *
 *	  The customers are streamed from customer_items in customer order; the
 *	  items, their names and factors, and the item bundles are held in
 *	  memory (charged to bundlerec.memory_limit).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include <cblas.h>

#include "bundlerec.h"
#include "customer_stream.h"
#include "items.h"
#include "linalg.h"
#include "output.h"
#include "source.h"

PG_FUNCTION_INFO_V1(bundlerec_customer_bundles);

#define ANCHORS_PER_CUSTOMER 20
#define CUSTOMER_BUNDLE_COLUMNS 13

/* One item bundle of the model. */
typedef struct Bundle
{
	int32		anchor;
	int32		n;				/* items */
	int32	   *ids;			/* in the bundle's order (the anchor first) */
	int32	   *sorted;			/* positions in item order */
	int32		nkey;
	int32	   *key;			/* distinct ids, ascending: the bundle's item set */
	int32		size;
	double		cohesion;
	bool		cohesion_null;
	double		accept;
	bool		accept_null;
	Datum		items;			/* text[] */
	char	   *items_text;		/* items::text, for tie-breaks */
} Bundle;

/* One bundle scored for one customer. */
typedef struct Cand
{
	Bundle	   *b;
	double		score;
	double		repeat_part;
	double		model_part;
	bool		has_model;
	int32		new_items;
	int32		top_item;
	int64		top_orders;
	int32		rank;
	int32		rank_new;
} Cand;

/* One line of customer_items. */
typedef struct Bought
{
	int32		item;
	int64		orders;
	TimestampTz last;
	bool		last_null;
} Bought;

typedef struct Model
{
	ItemDict   *dict;
	int32		nitems;			/* ids are in "C" order of the keys */
	Datum	   *keys;
	char	  **names;			/* NULL: none */
	int32	   *bundle_start;	/* bundles of anchor a: [start[a], start[a + 1]) */
	Bundle	   *bundles;
	FactorTable *cf;
	FactorTable *itf;
	int32	   *item_row;		/* row of item id in itf, or -1 */
	double		w_repeat,
				w_model,
				w_cohesion;
	int32		k;
	int64	   *bought;			/* the current customer's orders per item, 0: never */
	Cand	   *cands;			/* room for the bundles of 20 anchors */
	Tuplestorestate *ts;
	TupleDesc	desc;
	/* the customer being read */
	int64		orders;
	Bought	   *rows;
	int32		nrows;
	int32		maxrows;
} Model;

static int
CompareIntKeys(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* The items (in "C" order) and their names. */
static void
LoadItems(Model *m, Oid items_rel, Budget *budget)
{
	uint64		r;

	if (SPI_execute(psprintf("SELECT item::pg_catalog.text, name::pg_catalog.text FROM %s "
							 "WHERE item IS NOT NULL ORDER BY item::pg_catalog.text COLLATE pg_catalog.\"C\"",
							 RelationSqlName(items_rel)), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the items");
	if (SPI_processed >= (uint64) PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many items in \"%s\"", get_rel_name(items_rel))));
	m->nitems = (int32) SPI_processed;
	m->dict = ItemDictCreate(TEXTOID, C_COLLATION_OID, budget);
	m->keys = BudgetAlloc(budget, sizeof(Datum) * Max(m->nitems, 1));
	m->names = BudgetAlloc0(budget, sizeof(char *) * Max(m->nitems, 1));
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		Datum		key = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
		char	   *name = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);

		if (ItemDictAdd(m->dict, key) != (int32) r)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("\"%s\" holds an item twice", get_rel_name(items_rel))));
		m->keys[r] = ItemDictKey(m->dict, (int32) r, TEXTOID);
		m->names[r] = name;
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Id of an item key read from a table, which must be in items. */
static int32
ModelItem(Model *m, Datum key)
{
	int32		id = ItemDictAdd(m->dict, key);

	if (id >= m->nitems)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("item \"%s\" is missing from the model's items", TextDatumGetCString(key)),
				 errhint("Refresh the model in full.")));
	return id;
}

/* The item bundles, grouped by anchor. */
static void
LoadBundles(Model *m, Oid bundles_rel, Budget *budget)
{
	uint64		r;
	int32		a;

	if (SPI_execute(psprintf("SELECT anchor::pg_catalog.text, items, items::pg_catalog.text, size, cohesion, "
							 "accept_probability FROM %s WHERE anchor IS NOT NULL AND items IS NOT NULL "
							 "ORDER BY anchor::pg_catalog.text COLLATE pg_catalog.\"C\", rank",
							 RelationSqlName(bundles_rel)), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the item bundles");
	m->bundles = BudgetAlloc0(budget, mul_size(sizeof(Bundle), Max(SPI_processed, 1)));
	m->bundle_start = BudgetAlloc0(budget, sizeof(int32) * (m->nitems + 1));
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Bundle	   *b = &m->bundles[r];
		bool		isnull;
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;
		int			j;

		b->anchor = ModelItem(m, SPI_getbinval(tup, desc, 1, &isnull));
		b->items = datumCopy(SPI_getbinval(tup, desc, 2, &isnull), false, -1);
		b->items_text = SPI_getvalue(tup, desc, 3);
		b->size = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		b->cohesion = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &b->cohesion_null));
		b->accept = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &b->accept_null));
		deconstruct_array(DatumGetArrayTypeP(b->items), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		b->ids = palloc(sizeof(int32) * Max(n, 1));
		b->sorted = palloc(sizeof(int32) * Max(n, 1));
		b->key = palloc(sizeof(int32) * Max(n, 1));
		b->n = 0;
		for (i = 0; i < n; i++)
			if (!nulls[i])
				b->ids[b->n++] = ModelItem(m, elems[i]);
		/* positions in item order: an insertion sort, bundles are small */
		for (i = 0; i < b->n; i++)
		{
			for (j = i; j > 0 && b->ids[b->sorted[j - 1]] > b->ids[i]; j--)
				b->sorted[j] = b->sorted[j - 1];
			b->sorted[j] = i;
		}
		b->nkey = 0;
		for (i = 0; i < b->n; i++)
			if (b->nkey == 0 || b->key[b->nkey - 1] != b->ids[b->sorted[i]])
				b->key[b->nkey++] = b->ids[b->sorted[i]];
		m->bundle_start[b->anchor + 1]++;
	}
	for (a = 0; a < m->nitems; a++)
		m->bundle_start[a + 1] += m->bundle_start[a];
	SPI_freetuptable(SPI_tuptable);
}

/* Most bought first: orders, then the latest order, then the item. */
static int
CompareBought(const void *pa, const void *pb)
{
	const Bought *a = pa;
	const Bought *b = pb;

	if (a->orders != b->orders)
		return a->orders > b->orders ? -1 : 1;
	if (a->last_null != b->last_null)
		return a->last_null ? 1 : -1;
	if (!a->last_null && a->last != b->last)
		return a->last > b->last ? -1 : 1;
	return CompareIntKeys(&a->item, &b->item);
}

/* One bundle per item set: the best score, then the anchor first in order. */
static int
CompareByKey(const void *pa, const void *pb)
{
	const Cand *a = pa;
	const Cand *b = pb;
	int32		i;

	for (i = 0; i < a->b->nkey && i < b->b->nkey; i++)
		if (a->b->key[i] != b->b->key[i])
			return a->b->key[i] < b->b->key[i] ? -1 : 1;
	if (a->b->nkey != b->b->nkey)
		return a->b->nkey < b->b->nkey ? -1 : 1;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return CompareIntKeys(&a->b->anchor, &b->b->anchor);
}

/* Best first: score, then the items' text. */
static int
CompareByScore(const void *pa, const void *pb)
{
	const Cand *a = pa;
	const Cand *b = pb;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return strcmp(a->b->items_text, b->b->items_text);
}

/* x rounded to 2 decimals as SQL's round(x::numeric, 2) writes it. */
static char *
Round2(double x)
{
	Datum		n = DirectFunctionCall1(float8_numeric, Float8GetDatum(x));

	n = DirectFunctionCall2(numeric_round, n, Int32GetDatum(2));
	return DatumGetCString(DirectFunctionCall1(numeric_out, n));
}

/* The scores of bundle b for the customer (orders, factor row cf_row). */
static void
ScoreBundle(const Model *m, Bundle *b, int64 orders, int32 cf_row, Cand *c)
{
	double		repeat = 0;
	double		model = 0;
	int32		nmodel = 0;
	int32		i;

	c->b = b;
	c->new_items = 0;
	c->top_item = -1;
	c->top_orders = 0;
	/* summed in item order, as the SQL this replaces did */
	for (i = 0; i < b->n; i++)
	{
		int32		pos = b->sorted[i];
		int32		id = b->ids[pos];

		repeat += (double) m->bought[id] / (double) orders;
		if (pos > 0 && cf_row >= 0 && m->item_row[id] >= 0)
		{
			double		v = (double) cblas_sdot(m->cf->k, m->cf->v + (Size) cf_row * m->cf->k, 1,
											   m->itf->v + (Size) m->item_row[id] * m->itf->k, 1);

			model += (isnan(v) || v > 1) ? 1 : (v < 0 ? 0 : v);
			nmodel++;
		}
	}
	for (i = 0; i < b->n; i++)
	{
		int32		id = b->ids[i];

		if (i > 0 && m->bought[id] == 0)
			c->new_items++;
		if (m->bought[id] > 0 && (c->top_item < 0 || m->bought[id] > c->top_orders))
		{
			c->top_item = id;
			c->top_orders = m->bought[id];
		}
	}
	if (c->top_item < 0)
		c->top_item = b->ids[0];
	c->repeat_part = repeat / b->n;
	c->has_model = nmodel > 0;
	c->model_part = c->has_model ? model / nmodel : 0;
	c->score = m->w_repeat * c->repeat_part + m->w_model * c->model_part +
		m->w_cohesion * (b->cohesion_null ? 0 : b->cohesion);
}

/* The explanation of candidate c for a customer with orders orders. */
static char *
Explain(const Model *m, const Cand *c, int64 orders)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "you bought %s in " INT64_FORMAT " of your " INT64_FORMAT " orders",
					 m->names[c->top_item] ? m->names[c->top_item] : TextDatumGetCString(m->keys[c->top_item]),
					 c->top_orders, orders);
	if (c->has_model)
		appendStringInfo(&s, "; customers who buy like you would pick the rest at %s", Round2(c->model_part));
	if (c->new_items > 0)
		appendStringInfo(&s, "; %d new to you", c->new_items);
	if (!c->b->cohesion_null)
		appendStringInfo(&s, "; cohesion %s", Round2(c->b->cohesion));
	return s.data;
}

/* Scores, ranks and writes the bundles of one customer. */
static void
EmitCustomer(Model *m, Tuplestorestate *ts, TupleDesc desc, Datum customer, int64 orders,
			 Bought *rows, int32 nrows, Cand *cands)
{
	int32		cf_row = -1;
	int32		ncand = 0;
	int32		nkept;
	int32		nnew = 0;
	int32		i;
	int32		j;

	if (m->cf != NULL)
		cf_row = FindKey(m->cf, TextDatumGetCString(customer));
	qsort(rows, nrows, sizeof(Bought), CompareBought);
	for (i = 0; i < nrows; i++)
		m->bought[rows[i].item] = rows[i].orders;
	for (i = 0; i < Min(nrows, ANCHORS_PER_CUSTOMER); i++)
		for (j = m->bundle_start[rows[i].item]; j < m->bundle_start[rows[i].item + 1]; j++)
			ScoreBundle(m, &m->bundles[j], orders, cf_row, &cands[ncand++]);
	for (i = 0; i < nrows; i++)
		m->bought[rows[i].item] = 0;

	qsort(cands, ncand, sizeof(Cand), CompareByKey);
	nkept = 0;
	for (i = 0; i < ncand; i++)
		if (i == 0 || cands[i].b->nkey != cands[nkept - 1].b->nkey ||
			memcmp(cands[i].b->key, cands[nkept - 1].b->key, sizeof(int32) * cands[i].b->nkey) != 0)
			cands[nkept++] = cands[i];
	qsort(cands, nkept, sizeof(Cand), CompareByScore);
	for (i = 0; i < nkept; i++)
	{
		Cand	   *c = &cands[i];
		Datum		v[CUSTOMER_BUNDLE_COLUMNS];
		bool		nulls[CUSTOMER_BUNDLE_COLUMNS] = {0};

		c->rank = i + 1;
		c->rank_new = (c->new_items == c->b->size - 1) ? ++nnew : 0;
		if (c->rank > m->k && (c->rank_new == 0 || c->rank_new > m->k))
			continue;
		v[0] = customer;
		v[1] = Int32GetDatum(c->rank);
		v[2] = Int32GetDatum(c->rank_new);
		nulls[2] = c->rank_new == 0;
		v[3] = m->keys[c->b->anchor];
		v[4] = c->b->items;
		v[5] = Int32GetDatum(c->b->size);
		v[6] = Int32GetDatum(c->new_items);
		v[7] = Float8GetDatum(c->score);
		v[8] = Float8GetDatum(c->repeat_part);
		v[9] = Float8GetDatum(c->model_part);
		nulls[9] = !c->has_model;
		v[10] = Float8GetDatum(c->b->cohesion);
		nulls[10] = c->b->cohesion_null;
		v[11] = Float8GetDatum(c->b->accept);
		nulls[11] = c->b->accept_null;
		v[12] = CStringGetTextDatum(Explain(m, c, orders));
		tuplestore_putvalues(ts, desc, v, nulls);
	}
}

/* One customer_items row of the customer being read. */
static void
ReadBought(void *arg, HeapTuple tup, TupleDesc desc, bool first)
{
	Model	   *m = arg;
	bool		isnull;
	Bought	   *b;

	if (first)
	{
		m->orders = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		m->nrows = 0;
	}
	if (m->nrows == m->maxrows)
	{
		m->maxrows *= 2;
		m->rows = repalloc_huge(m->rows, sizeof(Bought) * m->maxrows);
	}
	b = &m->rows[m->nrows++];
	b->item = ModelItem(m, SPI_getbinval(tup, desc, 2, &isnull));
	b->orders = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	b->last = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &b->last_null));
}

/* The bundles of the customer just read. */
static void
EndCustomer(void *arg, Datum customer)
{
	Model	   *m = arg;

	EmitCustomer(m, m->ts, m->desc, customer, m->orders, m->rows, m->nrows, m->cands);
}

/*
 * bundlerec._customer_bundles(customer_items, customers, item_bundles,
 * items, customer_factors, item_factors, repeat_weight, model_weight,
 * cohesion_weight, k, only): the customer bundles of a model from its
 * tables; the factors are NULL without embeddings, only (a table of
 * customers) NULL for every customer.
 */
Datum
bundlerec_customer_bundles(PG_FUNCTION_ARGS)
{
	Model		m = {0};
	MemoryContext work,
				old;
	Budget		budget;
	Oid			only;
	int32		maxcand = 0;
	int32		a;
	int			i;

	for (i = 0; i < 10; i++)
		if (PG_ARGISNULL(i) && i != 4 && i != 5)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("bundlerec._customer_bundles needs its tables, weights and k"),
					 errhint("Only the factor tables and the customers to recompute may be NULL.")));
	m.w_repeat = PG_GETARG_FLOAT8(6);
	m.w_model = PG_GETARG_FLOAT8(7);
	m.w_cohesion = PG_GETARG_FLOAT8(8);
	m.k = PG_GETARG_INT32(9);
	if (m.k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be at least 1, not %d", m.k),
				 errhint("The model option bundles_per_customer sets it.")));

	m.ts = StartRowsOutput(fcinfo, &m.desc);
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec customer bundles",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BudgetInit(&budget, "the customer bundles of a model");
	only = PG_ARGISNULL(10) ? InvalidOid : PG_GETARG_OID(10);
	if (!PG_ARGISNULL(4) && !PG_ARGISNULL(5))
		LoadModelFactors(PG_GETARG_OID(4), PG_GETARG_OID(5), only, &budget, &m.cf, &m.itf);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LoadItems(&m, PG_GETARG_OID(3), &budget);
	LoadBundles(&m, PG_GETARG_OID(2), &budget);
	m.item_row = BudgetAlloc(&budget, sizeof(int32) * Max(m.nitems, 1));
	for (a = 0; a < m.nitems; a++)
	{
		m.item_row[a] = m.itf ? FindKey(m.itf, TextDatumGetCString(m.keys[a])) : -1;
		maxcand = Max(maxcand, m.bundle_start[a + 1] - m.bundle_start[a]);
	}
	m.bought = BudgetAlloc0(&budget, sizeof(int64) * Max(m.nitems, 1));
	maxcand *= ANCHORS_PER_CUSTOMER;
	m.cands = BudgetAlloc(&budget, sizeof(Cand) * Max(maxcand, 1));
	m.maxrows = 64;
	m.rows = palloc(sizeof(Bought) * m.maxrows);

	StreamCustomers(psprintf("SELECT ci.customer::pg_catalog.text, ci.item::pg_catalog.text, "
							 "ci.orders::pg_catalog.int8, ci.last_ordered::pg_catalog.timestamptz, "
							 "cu.orders::pg_catalog.int8 "
							 "FROM %s ci JOIN %s cu ON cu.customer OPERATOR(pg_catalog.=) ci.customer%s "
							 "ORDER BY ci.customer::pg_catalog.text COLLATE pg_catalog.\"C\"",
							 RelationSqlName(PG_GETARG_OID(0)), RelationSqlName(PG_GETARG_OID(1)),
							 OnlyCustomersFilter("ci.customer", only)),
					"customer bundles", ReadBought, EndCustomer, &m);
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
