/*
 * serve_items.c
 *	  Item lists: frequently_bought_together, similar_items, recommend_items.
 *	  The model's rows come first (tier 1), fallbacks fill up to k; each
 *	  item keeps its best row, and explanations and names are built for the
 *	  k rows returned only.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "output.h"
#include "serve.h"

PG_FUNCTION_INFO_V1(bundlerec_frequently_bought_together);
PG_FUNCTION_INFO_V1(bundlerec_similar_items);
PG_FUNCTION_INFO_V1(bundlerec_recommend_items);

#define ITEM_HINT "Pass the item of the product page; for a product without orders pass its category too."

/* A row of pairs, similar_items or recommendations behind a candidate. */
typedef struct ModelRow
{
	int64		count;
	double		a;				/* confidence, similarity or repeat part */
	bool		a_null;
	double		b;				/* lift or model part */
	bool		b_null;
	bool		bought_null;
	int64		customer_orders;
	bool		cold;			/* a cold_start row: the fields below */
	double		weight;			/* content_weight */
	char	   *via;
	double		via_sim;
	bool		via_sim_null;
	double		via_conf;
	int64		item_orders;
} ModelRow;

/* Reads pairs (SQ_PAIRS) or similar_items rows of item as tier 1. */
static int
AddModelRows(ServeModel *m, ServeQuery q, ServeCands *cs, Datum item, int k)
{
	Datum		v[2] = {item, Int32GetDatum(k)};
	SPITupleTable *t = ServeRun(m, q, v, NULL);
	uint64		n = SPI_processed;
	uint64		i;
	bool		isnull;

	for (i = 0; i < n; i++)
	{
		ServeCand  *c = ServeAdd(cs, ServeText(t, i, 1), 1, ServeInt(t, i, 3, &isnull));
		ModelRow   *r = palloc0(sizeof(ModelRow));

		c->score = ServeFloat(t, i, 2, &isnull);
		c->has_score = !isnull;
		if (q == SQ_PAIRS)
		{
			r->count = ServeInt(t, i, 4, &isnull);
			r->a = ServeFloat(t, i, 5, &isnull);
			r->b = ServeFloat(t, i, 6, &r->b_null);
		}
		else
			r->a = c->score;
		c->row = r;
	}
	return (int) n;
}

/*
 * Reads item's cold-start list (together or similar) as tier 1, when the
 * model has one for it: a product with few or no orders.
 */
static int
AddColdRows(ServeModel *m, ServeCands *cs, Datum item, int k, const char *list)
{
	Datum		v[3] = {item, Int32GetDatum(k), CStringGetTextDatum(list)};
	SPITupleTable *t;
	uint64		n;
	uint64		i;
	bool		isnull;

	if (!m->has_products)
		return 0;
	t = ServeRun(m, SQ_COLD, v, NULL);
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		ServeCand  *c = ServeAdd(cs, ServeText(t, i, 1), 1, ServeInt(t, i, 3, &isnull));
		ModelRow   *r = palloc0(sizeof(ModelRow));

		c->score = ServeFloat(t, i, 2, &isnull);
		c->has_score = !isnull;
		r->cold = true;
		r->weight = ServeFloat(t, i, 4, &isnull);
		r->via = ServeText(t, i, 5);
		r->via_sim = ServeFloat(t, i, 6, &r->via_sim_null);
		r->via_conf = ServeFloat(t, i, 7, &isnull);
		r->item_orders = ServeInt(t, i, 8, &isnull);
		r->a = c->score;
		c->row = r;
	}
	return (int) n;
}

/* How a cold-start row came about, the products it names by their names. */
static char *
ColdExplanation(const ModelRow *r, HTAB *names, const char *item, bool together)
{
	StringInfoData s;

	initStringInfo(&s);
	if (r->item_orders == 0)
		appendStringInfoString(&s, "new product");
	else
		appendStringInfo(&s, "%s so far, blended with products like it (weight %s)",
						 r->item_orders == 1 ? "1 order" : psprintf(INT64_FORMAT " orders", r->item_orders),
						 ServeRound(r->weight, 2));
	if (together && r->via != NULL)
		appendStringInfo(&s, "; like %s (similarity %s), which is bought with it in %s%% of its orders",
						 ServeNameOr(names, r->via), ServeRound(r->via_sim, 2),
						 ServeRound(100 * r->via_conf, 1));
	else if (together)
		appendStringInfo(&s, "; bought with %s", ServeNameOr(names, item));
	else if (!r->via_sim_null)
		appendStringInfo(&s, "; alike in content: similarity %s", ServeRound(r->via_sim, 2));
	else
		appendStringInfo(&s, "; bought by the same customers");
	return s.data;
}

/* Looks up the names of item (NULL: none) and of the n returned candidates. */
static HTAB *
LoadNames(ServeModel *m, ServeCands *cs, int n, const char *item)
{
	HTAB	   *names = ServeNamesNew();
	int			i;

	ServeNameWant(names, item);
	for (i = 0; i < n; i++)
	{
		ModelRow   *r = cs->c[i].tier == 1 ? cs->c[i].row : NULL;

		ServeNameWant(names, cs->c[i].key);
		if (r != NULL && r->cold && r->via != NULL)
			ServeNameWant(names, r->via);
	}
	ServeNamesLoad(m, names);
	return names;
}

/* The categories argument as a one-element text[], or NULL. */
static Datum
CategoryArg(FunctionCallInfo fcinfo, int argno, bool *has)
{
	Datum		d;

	*has = !PG_ARGISNULL(argno);
	if (!*has)
		return (Datum) 0;
	d = PG_GETARG_DATUM(argno);
	return PointerGetDatum(construct_array(&d, 1, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Adds the fallback rows of one item when the model gave fewer than k. */
static void
FillItem(ServeModel *m, ServeCands *cs, FunctionCallInfo fcinfo, int itemarg,
		 int catarg, int k, int nmodel)
{
	Datum		item = ServeKeyArg(fcinfo, itemarg);
	bool		has;
	Datum		cats = CategoryArg(fcinfo, catarg, &has);

	if (nmodel >= k)
		return;
	ServeAddFallback(m, cs,
					 PointerGetDatum(construct_array(&item, 1, TEXTOID, -1, false, TYPALIGN_INT)),
					 1, cats, has, 2 * (int64) k + 1);
}

/* frequently_bought_together(model, item, k, category) */
Datum
bundlerec_frequently_bought_together(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *ts = StartRowsOutput(fcinfo, &desc);
	ServeModel *m;
	ServeCands	cs = {0};
	HTAB	   *names;
	char	   *item;
	int			k;
	int			n;
	int			i;

	SPI_connect();
	m = ServeOpenModel(fcinfo, 0);
	k = ServeCheckK(fcinfo, 2);
	ServeCheckItem(fcinfo, 1, "item", ITEM_HINT);
	item = TextDatumGetCString(ServeKeyArg(fcinfo, 1));
	n = AddColdRows(m, &cs, ServeKeyArg(fcinfo, 1), k, "together");
	if (n == 0)
		n = AddModelRows(m, SQ_PAIRS, &cs, ServeKeyArg(fcinfo, 1), k);
	FillItem(m, &cs, fcinfo, 1, 3, k, n);
	n = ServeRank(&cs, &item, 1, false, k);
	names = LoadNames(m, &cs, n, item);
	for (i = 0; i < n; i++)
	{
		ServeCand  *c = &cs.c[i];
		ModelRow   *r = c->row;
		Datum		v[9];
		bool		nulls[9] = {0};

		v[0] = Int32GetDatum(i + 1);
		v[1] = CStringGetTextDatum(c->key);
		v[2] = Float8GetDatum(c->score);
		nulls[2] = !c->has_score;
		if (c->tier == 1 && r->cold)
		{
			nulls[3] = nulls[4] = nulls[5] = true;
			v[6] = CStringGetTextDatum("similar products");
			v[7] = CStringGetTextDatum(ColdExplanation(r, names, item, true));
		}
		else if (c->tier == 1)
		{
			v[3] = Int64GetDatum(r->count);
			v[4] = Float8GetDatum(r->a);
			v[5] = Float8GetDatum(r->b);
			nulls[5] = r->b_null;
			v[6] = CStringGetTextDatum("pairs");
			v[7] = CStringGetTextDatum(psprintf("bought together in " INT64_FORMAT " orders: %s%% of the orders with %s hold it, lift %s",
												r->count, ServeRound(100 * r->a, 1), ServeNameOr(names, item),
												r->b_null ? "" : ServeRound(r->b, 2)));
		}
		else
		{
			nulls[3] = nulls[4] = nulls[5] = true;
			v[6] = CStringGetTextDatum(c->tier == 2 ? "popular in category" : "popular");
			v[7] = CStringGetTextDatum(ServeFallbackExplanation(c));
		}
		v[8] = ServeNameDatum(names, c->key, &nulls[8]);
		tuplestore_putvalues(ts, desc, v, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/* similar_items(model, item, k, category) */
Datum
bundlerec_similar_items(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *ts = StartRowsOutput(fcinfo, &desc);
	ServeModel *m;
	ServeCands	cs = {0};
	HTAB	   *names;
	char	   *item;
	int			k;
	int			n;
	int			i;

	SPI_connect();
	m = ServeOpenModel(fcinfo, 0);
	k = ServeCheckK(fcinfo, 2);
	ServeCheckItem(fcinfo, 1, "item", ITEM_HINT);
	item = TextDatumGetCString(ServeKeyArg(fcinfo, 1));
	n = AddColdRows(m, &cs, ServeKeyArg(fcinfo, 1), k, "similar");
	if (n == 0)
		n = AddModelRows(m, m->has_similar ? SQ_SIMILAR : SQ_PAIRS, &cs, ServeKeyArg(fcinfo, 1), k);
	FillItem(m, &cs, fcinfo, 1, 3, k, n);
	n = ServeRank(&cs, &item, 1, false, k);
	names = LoadNames(m, &cs, n, item);
	for (i = 0; i < n; i++)
	{
		ServeCand  *c = &cs.c[i];
		ModelRow   *r = c->row;
		Datum		v[6];
		bool		nulls[6] = {0};

		v[0] = Int32GetDatum(i + 1);
		v[1] = CStringGetTextDatum(c->key);
		v[2] = Float8GetDatum(c->score);
		nulls[2] = !c->has_score;
		if (c->tier == 1 && r->cold)
		{
			v[3] = CStringGetTextDatum("content");
			v[4] = CStringGetTextDatum(ColdExplanation(r, names, item, false));
		}
		else if (c->tier == 1 && m->has_similar)
		{
			v[3] = CStringGetTextDatum("embeddings");
			v[4] = CStringGetTextDatum(psprintf("bought by the same customers as %s: cosine %s",
												ServeNameOr(names, item), ServeRound(r->a, 3)));
		}
		else if (c->tier == 1)
		{
			v[3] = CStringGetTextDatum("pairs");
			v[4] = CStringGetTextDatum(psprintf("bought together with %s in " INT64_FORMAT " orders",
												ServeNameOr(names, item), r->count));
		}
		else
		{
			v[3] = CStringGetTextDatum(c->tier == 2 ? "popular in category" : "popular");
			v[4] = CStringGetTextDatum(ServeFallbackExplanation(c));
		}
		v[5] = ServeNameDatum(names, c->key, &nulls[5]);
		tuplestore_putvalues(ts, desc, v, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/* The explanation of a customer's recommendation. */
static char *
RecommendationExplanation(const ModelRow *r)
{
	StringInfoData s;

	initStringInfo(&s);
	if (!r->bought_null && r->count > 0)
		appendStringInfo(&s, "you bought it in " INT64_FORMAT " of your " INT64_FORMAT " orders",
						 r->count, r->customer_orders);
	if (!r->b_null && r->b > 0)
		appendStringInfo(&s, "%scustomers who buy like you: preference %s",
						 s.len > 0 ? "; " : "", ServeRound(r->b, 2));
	return s.data;
}

/* recommend_items(model, customer, k, exclude_bought) */
Datum
bundlerec_recommend_items(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *ts = StartRowsOutput(fcinfo, &desc);
	ServeModel *m;
	ServeCands	cs = {0};
	HTAB	   *names;
	bool		exclude;
	SPITupleTable *t;
	Datum		v[3];
	uint64		nmodel;
	uint64		j;
	bool		isnull;
	int			k;
	int			n;
	int			i;

	SPI_connect();
	m = ServeOpenModel(fcinfo, 0);
	k = ServeCheckK(fcinfo, 2);
	ServeCheckItem(fcinfo, 1, "customer",
				   "Pass the customer key; an unknown customer gets the best sellers.");
	if (!m->has_recommendations)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no per-customer results",
						TextDatumGetCString(PG_GETARG_DATUM(0))),
				 errhint("Create the model with a customer column.")));
	exclude = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	v[0] = ServeKeyArg(fcinfo, 1);
	v[1] = BoolGetDatum(exclude);
	t = ServeRun(m, SQ_RECOMMENDATIONS, v, NULL);
	nmodel = SPI_processed;
	for (j = 0; j < nmodel; j++)
	{
		ServeCand  *c = ServeAdd(&cs, ServeText(t, j, 1), 1, ServeInt(t, j, 3, &isnull));
		ModelRow   *r = palloc0(sizeof(ModelRow));

		c->score = ServeFloat(t, j, 2, &isnull);
		c->has_score = !isnull;
		r->a = ServeFloat(t, j, 4, &r->a_null);
		r->b = ServeFloat(t, j, 5, &r->b_null);
		r->count = ServeInt(t, j, 6, &r->bought_null);
		r->customer_orders = ServeInt(t, j, 7, &isnull);
		c->row = r;
	}
	/* the best sellers the customer may get, enough to fill k whatever repeats */
	if (nmodel < (uint64) k)
	{
		v[2] = Int64GetDatum(k + (int64) nmodel);
		t = ServeRun(m, SQ_POPULAR_ITEMS, v, NULL);
		for (j = 0; j < SPI_processed; j++)
		{
			ServeCand  *c = ServeAdd(&cs, ServeText(t, j, 1), 2, ServeInt(t, j, 3, &isnull));
			FallbackRow *r = palloc0(sizeof(FallbackRow));

			c->score = ServeFloat(t, j, 2, &isnull);
			c->has_score = !isnull;
			r->orders = ServeInt(t, j, 4, &isnull);
			c->row = r;
		}
	}
	n = ServeRank(&cs, NULL, 0, false, k);
	names = LoadNames(m, &cs, n, NULL);
	for (i = 0; i < n; i++)
	{
		ServeCand  *c = &cs.c[i];
		Datum		o[8];
		bool		nulls[8] = {0};

		o[0] = Int32GetDatum(i + 1);
		o[1] = CStringGetTextDatum(c->key);
		o[2] = Float8GetDatum(c->score);
		nulls[2] = !c->has_score;
		if (c->tier == 1)
		{
			ModelRow   *r = c->row;

			o[3] = Float8GetDatum(r->a);
			nulls[3] = r->a_null;
			o[4] = Float8GetDatum(r->b);
			nulls[4] = r->b_null;
			o[5] = CStringGetTextDatum("customer");
			o[6] = CStringGetTextDatum(RecommendationExplanation(r));
		}
		else
		{
			c->tier = 3;		/* explained as a best seller */
			nulls[3] = nulls[4] = true;
			o[5] = CStringGetTextDatum("popular");
			o[6] = CStringGetTextDatum(ServeFallbackExplanation(c));
		}
		o[7] = ServeNameDatum(names, c->key, &nulls[7]);
		tuplestore_putvalues(ts, desc, o, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
