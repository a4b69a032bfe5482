/*
 * serve_bundles.c
 *	  bundles_for_item and bundles_for_customer: the model's bundles, then
 *	  fallbacks, one row per bundle key (its items sorted, as bundle_key);
 *	  with explore, the 3k best are re-ranked by a Thompson draw from their
 *	  feedback, drawn for those 3k only.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "output.h"
#include "serve.h"

PG_FUNCTION_INFO_V1(bundlerec_bundles_for_item);
PG_FUNCTION_INFO_V1(bundlerec_bundles_for_customer);

extern PGDLLEXPORT Datum beta_sample(PG_FUNCTION_ARGS);

/* A bundle row behind a candidate; NULL fields as flags. */
typedef struct BundleRow
{
	Datum		items;
	char	  **sorted;			/* bundle_key(items) */
	int			nsorted;
	Datum		f[8];			/* the row's numeric columns, per function */
	bool		fnull[8];
	double		accept_probability;
	bool		ap_null;
	char	   *explanation;	/* NULL for NULL */
	const char *source;
	int64		impressions;
	int64		conversions;
	bool		has_feedback;
} BundleRow;

static int
CStrCmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Adds a candidate for the bundle items (a text[]). */
static ServeCand *
AddBundle(ServeCands *cs, Datum items, int tier, int64 ord)
{
	BundleRow  *r = palloc0(sizeof(BundleRow));
	int			n;
	char	  **names = ServeArrayItems(items, &n);
	char	  **sorted = palloc(mul_size(Max(n, 1), sizeof(char *)));
	int			ns = 0;
	int			i;
	StringInfoData key;
	ServeCand  *c;

	for (i = 0; i < n; i++)
		if (names[i] != NULL)
			sorted[ns++] = names[i];
	qsort(sorted, ns, sizeof(char *), CStrCmp);
	initStringInfo(&key);
	r->nsorted = 0;
	for (i = 0; i < ns; i++)
	{
		if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
			continue;
		sorted[r->nsorted++] = sorted[i];
		appendStringInfo(&key, "%zu:%s", strlen(sorted[i]), sorted[i]);
	}
	r->sorted = sorted;
	r->items = items;
	c = ServeAdd(cs, key.data, tier, ord);
	c->names = names;
	c->nnames = n;
	c->row = r;
	return c;
}

static int
ExploreCmp(const void *pa, const void *pb)
{
	const ServeCand *a = pa;
	const ServeCand *b = pb;

	if (a->tier != b->tier)
		return a->tier < b->tier ? -1 : 1;
	if (a->draw != b->draw)
		return a->draw > b->draw ? -1 : 1;
	return ServeCompare(a, b, false);
}

/* Thompson draws for the n ranked candidates, which are then re-ranked. */
static void
Explore(ServeCands *cs, int n, text *model, double prior)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		ServeCand  *c = &cs->c[i];
		BundleRow  *r = c->row;
		SPITupleTable *t;
		double		mu;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		t = ServeRunFeedback(model, ServeTextArray(r->sorted, r->nsorted));
		if (SPI_processed > 0)
		{
			r->has_feedback = true;
			r->impressions = ServeInt(t, 0, 1, &isnull);
			r->conversions = ServeInt(t, 0, 2, &isnull);
		}
		mu = Min(Max(r->ap_null ? 0.01 : r->accept_probability, 0.001), 0.999);
		c->draw = DatumGetFloat8(DirectFunctionCall2(beta_sample,
													 Float8GetDatum(prior * mu + r->conversions),
													 Float8GetDatum(prior * (1 - mu) + r->impressions - r->conversions)));
	}
	qsort(cs->c, n, sizeof(ServeCand), ExploreCmp);
}

/* The explanation of a returned bundle, with the draw when exploring. */
static Datum
BundleExplanation(const ServeCand *c, bool explore, bool *isnull)
{
	const BundleRow *r = c->row;

	*isnull = r->explanation == NULL;
	if (*isnull)
		return (Datum) 0;
	if (!explore)
		return CStringGetTextDatum(r->explanation);
	return CStringGetTextDatum(psprintf("%s; explore: sampled conversion rate %s after " INT64_FORMAT " impressions and " INT64_FORMAT " conversions",
										r->explanation, ServeRound(c->draw, 3),
										r->impressions, r->conversions));
}

/* Looks up the names of the items of the n bundles returned. */
static HTAB *
BundleNames(ServeModel *m, ServeCands *cs, int n)
{
	HTAB	   *names = ServeNamesNew();
	int			i;
	int			j;

	for (i = 0; i < n; i++)
		for (j = 0; j < cs->c[i].nnames; j++)
			ServeNameWant(names, cs->c[i].names[j]);
	ServeNamesLoad(m, names);
	return names;
}

/* Reads column col of row i into the row's field f. */
static void
Field(BundleRow *r, int f, SPITupleTable *t, uint64 i, int col)
{
	r->f[f] = SPI_getbinval(t->vals[i], t->tupdesc, col, &r->fnull[f]);
}

/*
 * Bundles of 3 or more items for a product with a together list: the
 * bundles of its content neighbours, the neighbour replaced by the product
 * ("like X, whose bundle this is"), scored as the model's bundles are,
 * weighted by similarity; after the pairs of its together list.
 */
static void
AddNeighbourBundles(ServeModel *m, ServeCands *cs, Datum key, int cut)
{
	Datum		v[2] = {key, Int32GetDatum(cut)};
	SPITupleTable *t = ServeRun(m, SQ_COLD_BUNDLES, v, NULL);
	uint64		n = SPI_processed;
	HTAB	   *names = ServeNamesNew();
	uint64		i;
	bool		isnull;

	for (i = 0; i < n; i++)
		ServeNameWant(names, ServeText(t, i, 3));
	ServeNamesLoad(m, names);
	for (i = 0; i < n; i++)
	{
		ServeCand  *c = AddBundle(cs, SPI_getbinval(t->vals[i], t->tupdesc, 1, &isnull), 1, (int64) cut + i + 1);
		BundleRow  *r = c->row;
		int64		orders = ServeInt(t, i, 6, &isnull);
		int			j;

		c->score = ServeFloat(t, i, 2, &isnull);
		c->has_score = !isnull;
		for (j = 0; j < 5; j++)
			r->fnull[j] = true;
		r->ap_null = true;
		r->source = "similar products";
		r->explanation = psprintf("%s; like %s (similarity %s), whose bundle this is: %s%% of its buyers took the rest",
								  orders == 0 ? "new product" : psprintf(INT64_FORMAT " orders so far", orders),
								  ServeNameOr(names, ServeText(t, i, 3)), ServeRound(ServeFloat(t, i, 4, &isnull), 2),
								  ServeRound(100 * ServeFloat(t, i, 5, &isnull), 1));
	}
}

/*
 * A product with few or no orders and no bundle of the model: 2-item
 * bundles with the partners of its cold-start together list (bought with
 * products like it), then its content neighbours' larger bundles, after
 * the model's bundles.  (Pairs first: on held-out Online Retail orders
 * they were accepted three times as often.)  Returns the bundles kept.
 */
static int
AddColdBundles(ServeModel *m, ServeCands *cs, Datum key, char *item, int cut)
{
	Datum		v[3] = {key, Int32GetDatum(cut), CStringGetTextDatum("together")};
	SPITupleTable *t = ServeRun(m, SQ_COLD, v, NULL);
	uint64		n = SPI_processed;
	HTAB	   *names = ServeNamesNew();
	ServeCands	cold = {0};
	uint64		i;
	int			nc;
	bool		isnull;

	/* the products the explanations mention, named in one query */
	ServeNameWant(names, item);
	for (i = 0; i < n; i++)
	{
		char	   *via = ServeText(t, i, 5);

		if (via != NULL)
			ServeNameWant(names, via);
	}
	ServeNamesLoad(m, names);
	for (i = 0; i < n; i++)
	{
		char	   *pair[2] = {item, ServeText(t, i, 1)};
		ServeCand  *c = AddBundle(&cold, ServeTextArray(pair, 2), 1, ServeInt(t, i, 3, &isnull));
		BundleRow  *r = c->row;
		char	   *via = ServeText(t, i, 5);
		int64		orders = ServeInt(t, i, 8, &isnull);
		int			j;

		c->score = ServeFloat(t, i, 2, &isnull);
		c->has_score = !isnull;
		for (j = 0; j < 5; j++)
			r->fnull[j] = true;
		r->ap_null = true;
		r->source = "similar products";
		r->explanation = via == NULL
			? psprintf("%s; bought with it in its own orders",
					   orders == 0 ? "new product" : psprintf(INT64_FORMAT " orders so far", orders))
			: psprintf("%s; like %s (similarity %s), which is bought with it in %s%% of its orders",
					   orders == 0 ? "new product" : psprintf(INT64_FORMAT " orders so far", orders),
					   ServeNameOr(names, via), ServeRound(ServeFloat(t, i, 6, &isnull), 2),
					   ServeRound(100 * ServeFloat(t, i, 7, &isnull), 1));
	}
	if (n > 0 && m->has_item_bundles)
		AddNeighbourBundles(m, &cold, key, cut);
	nc = ServeRank(&cold, NULL, 0, false, cut);
	for (i = 0; i < nc; i++)
	{
		ServeCand  *c = ServeAdd(cs, cold.c[i].key, 1, 0);

		*c = cold.c[i];
		c->ord = (int64) cut + i + 1;
	}
	return ServeRank(cs, NULL, 0, false, cut);
}

/* bundles_for_item(model, item, k, explore, category) */
Datum
bundlerec_bundles_for_item(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *ts = StartRowsOutput(fcinfo, &desc);
	ServeModel *m;
	ServeCands	cs = {0};
	ServeCands	fb = {0};
	HTAB	   *names;
	bool		explore;
	char	   *item;
	int			k;
	int			cut;
	int			n;
	int			i;
	uint64		j;
	bool		isnull;

	SPI_connect();
	m = ServeOpenModel(fcinfo, 0);
	k = ServeCheckK(fcinfo, 2);
	ServeCheckItem(fcinfo, 1, "item", "Pass the item of the product page.");
	item = TextDatumGetCString(ServeKeyArg(fcinfo, 1));
	explore = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	cut = explore ? 3 * k : k;
	if (m->has_item_bundles)
	{
		Datum		v[2] = {ServeKeyArg(fcinfo, 1), Int32GetDatum(cut)};
		SPITupleTable *t = ServeRun(m, SQ_ITEM_BUNDLES, v, NULL);

		for (j = 0; j < SPI_processed; j++)
		{
			ServeCand  *c = AddBundle(&cs, SPI_getbinval(t->vals[j], t->tupdesc, 1, &isnull),
									  1, ServeInt(t, j, 3, &isnull));
			BundleRow  *r = c->row;

			c->score = ServeFloat(t, j, 2, &isnull);
			c->has_score = !isnull;
			Field(r, 0, t, j, 4);
			Field(r, 1, t, j, 5);
			Field(r, 2, t, j, 6);
			Field(r, 3, t, j, 7);
			Field(r, 4, t, j, 8);
			r->accept_probability = ServeFloat(t, j, 7, &r->ap_null);
			r->explanation = ServeText(t, j, 9);
			r->source = "bundles";
		}
	}
	n = ServeRank(&cs, NULL, 0, false, cut);
	if (n < cut && m->has_products)
		n = AddColdBundles(m, &cs, ServeKeyArg(fcinfo, 1), item, cut);
	if (n < cut)
	{
		Datum		d = ServeKeyArg(fcinfo, 1);
		Datum		cat = PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4);

		ServeAddFallback(m, &fb, PointerGetDatum(construct_array(&d, 1, TEXTOID, -1, false, TYPALIGN_INT)), 1,
						 cat == (Datum) 0 ? (Datum) 0
						 : PointerGetDatum(construct_array(&cat, 1, TEXTOID, -1, false, TYPALIGN_INT)),
						 cat != (Datum) 0, 2 * (int64) k + 1);
		for (i = 0; i < fb.n; i++)
		{
			char	   *pair[2] = {item, fb.c[i].key};
			ServeCand  *c;
			BundleRow  *r;

			if (strcmp(fb.c[i].key, item) == 0)
				continue;
			c = AddBundle(&cs, ServeTextArray(pair, 2), fb.c[i].tier, fb.c[i].ord);
			r = c->row;
			for (j = 0; j < 5; j++)
				r->fnull[j] = true;
			r->ap_null = true;
			r->explanation = psprintf("%s (no bundle of the model holds the item)",
									  ServeFallbackExplanation(&fb.c[i]));
			r->source = fb.c[i].tier == 2 ? "popular in category" : "popular";
		}
		n = ServeRank(&cs, NULL, 0, false, cut);
	}
	if (explore)
		Explore(&cs, n, PG_GETARG_TEXT_PP(0), m->feedback_prior);
	names = BundleNames(m, &cs, Min(n, k));
	for (i = 0; i < Min(n, k); i++)
	{
		ServeCand  *c = &cs.c[i];
		BundleRow  *r = c->row;
		Datum		v[11];
		bool		nulls[11] = {0};

		v[0] = Int32GetDatum(i + 1);
		v[1] = r->items;
		v[2] = Float8GetDatum(c->score);
		nulls[2] = !c->has_score;
		for (j = 0; j < 5; j++)
		{
			v[3 + j] = r->f[j];
			nulls[3 + j] = r->fnull[j];
		}
		v[8] = CStringGetTextDatum(r->source);
		v[9] = BundleExplanation(c, explore, &nulls[9]);
		v[10] = ServeNamesArray(names, r->items);
		tuplestore_putvalues(ts, desc, v, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/* bundles_for_customer(model, customer, k, exclude_bought, explore) */
Datum
bundlerec_bundles_for_customer(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *ts = StartRowsOutput(fcinfo, &desc);
	ServeModel *m;
	ServeCands	cs = {0};
	HTAB	   *names;
	bool		exclude;
	bool		explore;
	Datum		v[4];
	SPITupleTable *t;
	int64		after = 0;
	int			k;
	int			cut;
	int			n;
	int			i;
	uint64		j;
	bool		isnull;

	SPI_connect();
	m = ServeOpenModel(fcinfo, 0);
	k = ServeCheckK(fcinfo, 2);
	ServeCheckItem(fcinfo, 1, "customer",
				   "Pass the customer key; an unknown customer gets the best sellers' bundles.");
	if (!m->has_customer_bundles)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no customer bundles",
						TextDatumGetCString(PG_GETARG_DATUM(0))),
				 errhint("Create the model with a customer column and options bundles true.")));
	exclude = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
	explore = PG_ARGISNULL(4) ? false : PG_GETARG_BOOL(4);
	cut = explore ? 3 * k : k;
	v[0] = ServeKeyArg(fcinfo, 1);
	v[1] = Int32GetDatum(cut);
	v[2] = BoolGetDatum(exclude);
	t = ServeRun(m, SQ_CUSTOMER_BUNDLES, v, NULL);
	for (j = 0; j < SPI_processed; j++)
	{
		ServeCand  *c = AddBundle(&cs, SPI_getbinval(t->vals[j], t->tupdesc, 1, &isnull),
								  1, ServeInt(t, j, 3, &isnull));
		BundleRow  *r = c->row;

		c->score = ServeFloat(t, j, 2, &isnull);
		c->has_score = !isnull;
		Field(r, 0, t, j, 4);
		Field(r, 1, t, j, 5);
		Field(r, 2, t, j, 6);
		Field(r, 3, t, j, 7);
		r->accept_probability = ServeFloat(t, j, 8, &r->ap_null);
		r->explanation = ServeText(t, j, 9);
		r->source = "customer";
	}
	n = ServeRank(&cs, NULL, 0, false, cut);
	/* best sellers' best bundles, page by page until the list is full */
	while (n < cut)
	{
		int64		page = Max(3 * (int64) k, 64);

		CHECK_FOR_INTERRUPTS();
		v[1] = Int64GetDatum(after);
		v[3] = Int64GetDatum(after == 0 ? 3 * (int64) k : page);
		t = ServeRun(m, SQ_POPULAR_BUNDLES, v, NULL);
		for (j = 0; j < SPI_processed; j++)
		{
			ServeCand  *c = AddBundle(&cs, SPI_getbinval(t->vals[j], t->tupdesc, 1, &isnull),
									  2, ServeInt(t, j, 3, &isnull));
			BundleRow  *r = c->row;

			c->score = ServeFloat(t, j, 2, &isnull);
			c->has_score = !isnull;
			r->fnull[0] = r->fnull[1] = r->fnull[3] = true;
			Field(r, 2, t, j, 4);
			r->accept_probability = ServeFloat(t, j, 5, &r->ap_null);
			r->explanation = ServeText(t, j, 6);
			if (r->explanation != NULL)
				r->explanation = psprintf("a best seller's best bundle: %s", r->explanation);
			r->source = "popular";
			after = c->ord;
		}
		if (SPI_processed < (uint64) DatumGetInt64(v[3]))
		{
			n = ServeRank(&cs, NULL, 0, false, cut);
			break;
		}
		n = ServeRank(&cs, NULL, 0, false, cut);
	}
	if (explore)
		Explore(&cs, n, PG_GETARG_TEXT_PP(0), m->feedback_prior);
	names = BundleNames(m, &cs, Min(n, k));
	for (i = 0; i < Min(n, k); i++)
	{
		ServeCand  *c = &cs.c[i];
		BundleRow  *r = c->row;
		Datum		o[10];
		bool		nulls[10] = {0};

		o[0] = Int32GetDatum(i + 1);
		o[1] = r->items;
		o[2] = Float8GetDatum(c->score);
		nulls[2] = !c->has_score;
		for (j = 0; j < 4; j++)
		{
			o[3 + j] = r->f[j];
			nulls[3 + j] = r->fnull[j];
		}
		o[7] = CStringGetTextDatum(r->source);
		o[8] = BundleExplanation(c, explore, &nulls[8]);
		o[9] = ServeNamesArray(names, r->items);
		tuplestore_putvalues(ts, desc, o, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
