/*
 * content.c
 *	  Content similarity for cold start: products as TF-IDF vectors over
 *	  attribute values, a price band and the words of the name.
 *
 * Tokens play the part customers play in neighbors.c: a products x tokens
 * matrix of tf * idf weights goes through the same cosine engine, so a new
 * product with no orders still gets neighbours.  idf = ln(N / df) with N
 * the products read, so a token every product has weighs nothing.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "arrays.h"
#include "interactions.h"
#include "neighbors.h"
#include "output.h"
#include "source.h"

PG_FUNCTION_INFO_V1(content_neighbors);

typedef struct ProductReceiver
{
	DestReceiver pub;
	Interactions *m;			/* rows are tokens, columns products */
	TripletBuffer *buf;
	MemoryContext cxt;
	MemoryContext rowcxt;		/* token strings of one product */
	int			nattr;
	bool		has_name;
	bool		has_price;
	int64		nproducts;
	int32	   *price_item;		/* product id of each priced product */
	double	   *price;
	int64		nprices;
	int64		price_cap;
} ProductReceiver;

static void
AddToken(ProductReceiver *r, int32 product, const char *prefix,
		 const char *s, int len)
{
	int			plen = strlen(prefix);
	text	   *t = (text *) palloc(VARHDRSZ + plen + len);
	int32		tok;
	MemoryContext old;

	SET_VARSIZE(t, VARHDRSZ + plen + len);
	memcpy(VARDATA(t), prefix, plen);
	memcpy(VARDATA(t) + plen, s, len);
	old = MemoryContextSwitchTo(r->cxt);
	tok = ItemDictAdd(r->m->customers, PointerGetDatum(t));
	TripletAdd(r->buf, tok, product, 1.0);
	MemoryContextSwitchTo(old);
}

/* Words: runs of letters and digits (any non-ASCII byte counts as a letter). */
static void
AddWords(ProductReceiver *r, int32 product, const char *s)
{
	char	   *low = pstrdup(s);
	int			i = 0,
				n = strlen(low);

	for (i = 0; i < n; i++)
		if ((unsigned char) low[i] < 0x80)
			low[i] = pg_ascii_tolower((unsigned char) low[i]);
	i = 0;
	while (i < n)
	{
		int			start;

		while (i < n && (unsigned char) low[i] < 0x80 && !isalnum((unsigned char) low[i]))
			i++;
		start = i;
		while (i < n && ((unsigned char) low[i] >= 0x80 || isalnum((unsigned char) low[i])))
			i++;
		if (i - start >= 2)
			AddToken(r, product, "w:", low + start, i - start);
	}
}

static bool
ProductReceive(TupleTableSlot *slot, DestReceiver *self)
{
	ProductReceiver *r = (ProductReceiver *) self;
	int			natts = 1 + r->nattr + (r->has_name ? 1 : 0) + (r->has_price ? 1 : 0);
	int32		product;
	int			a,
				col = 1;
	MemoryContext old;

	slot_getsomeattrs(slot, natts);
	if (slot->tts_isnull[0])
		return true;
	old = MemoryContextSwitchTo(r->cxt);
	product = ItemDictAdd(r->m->items, slot->tts_values[0]);
	MemoryContextSwitchTo(old);
	r->nproducts = ItemDictSize(r->m->items);

	old = MemoryContextSwitchTo(r->rowcxt);
	for (a = 0; a < r->nattr; a++, col++)
	{
		char	   *v;
		char		prefix[16];

		if (slot->tts_isnull[col])
			continue;
		v = TextDatumGetCString(slot->tts_values[col]);
		snprintf(prefix, sizeof(prefix), "a%d:", a);
		AddToken(r, product, prefix, v, strlen(v));
	}
	if (r->has_name)
	{
		if (!slot->tts_isnull[col])
			AddWords(r, product, TextDatumGetCString(slot->tts_values[col]));
		col++;
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(r->rowcxt);

	if (r->has_price && !slot->tts_isnull[col])
	{
		double		p = DatumGetFloat8(slot->tts_values[col]);

		if (!isnan(p))
		{
			if (r->nprices == r->price_cap)
			{
				int64		nc = r->price_cap * 2;

				r->price = BudgetRealloc(&r->m->budget, r->price,
										 sizeof(double) * r->price_cap, sizeof(double) * nc);
				r->price_item = BudgetRealloc(&r->m->budget, r->price_item,
											  sizeof(int32) * r->price_cap, sizeof(int32) * nc);
				r->price_cap = nc;
			}
			r->price[r->nprices] = p;
			r->price_item[r->nprices] = product;
			r->nprices++;
		}
	}
	if ((r->nproducts & 0x3FF) == 0)
		CHECK_FOR_INTERRUPTS();
	return true;
}

static int
CompareByPrice(const void *a, const void *b, void *arg)
{
	const double *price = (const double *) arg;
	double		pa = price[*(const int64 *) a],
				pb = price[*(const int64 *) b];

	return (pa > pb) - (pa < pb);
}

/* One band token per priced product: equal-count bands, equal prices together. */
static void
AddPriceBands(ProductReceiver *r, int bands)
{
	int64	   *order;
	int64		i;
	int			band = 0;
	double		last = 0;

	if (r->nprices == 0)
		return;
	order = palloc(sizeof(int64) * r->nprices);
	for (i = 0; i < r->nprices; i++)
		order[i] = i;
	qsort_arg(order, r->nprices, sizeof(int64), CompareByPrice, r->price);
	for (i = 0; i < r->nprices; i++)
	{
		double		p = r->price[order[i]];
		char		tok[32];

		/* a price equal to the previous one stays in its band */
		if (i == 0 || p != last)
			band = (int) ((i * bands) / r->nprices);
		last = p;
		snprintf(tok, sizeof(tok), "%d", band);
		AddToken(r, r->price_item[order[i]], "p:", tok, strlen(tok));
	}
}

/*
 * content_neighbors(products, item, attributes, name, price, price_bands,
 *					 top_k)
 */
Datum
content_neighbors(PG_FUNCTION_ARGS)
{
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	Oid			relid;
	const char *item_col;
	char	  **attrs = NULL;
	int			nattr = 0;
	const char *name_col = NULL;
	const char *price_col = NULL;
	int			bands,
				top_k;
	Interactions *m;
	TripletBuffer buf;
	ProductReceiver r;
	StringInfoData q;
	AttrNumber	iattr;
	Oid			ityp,
				icoll;
	int32		typmod;
	int			a;
	int64		e;
	double	   *idf;
	int32		t;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("products and item must not be NULL"),
				 errhint("Name a table or view of products and its key column.")));
	if (PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("price_bands and top_k must not be NULL"),
				 errhint("Leave a parameter out to use its default.")));
	relid = PG_GETARG_OID(0);
	item_col = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bands = PG_GETARG_INT32(5);
	top_k = PG_GETARG_INT32(6);
	if (bands < 1 || bands > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("price_bands must be between 1 and 1000, not %d", bands),
				 errhint("Products in the same price quantile band share a token; 5 is typical.")));
	if (top_k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top_k must be at least 1, not %d", top_k),
				 errhint("top_k is the number of neighbours kept per product, for example 20.")));
	if (!PG_ARGISNULL(2))
		attrs = ArrayArgTexts(PG_GETARG_ARRAYTYPE_P(2), "attributes", &nattr);
	if (!PG_ARGISNULL(3))
		name_col = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!PG_ARGISNULL(4))
		price_col = text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (nattr == 0 && name_col == NULL && price_col == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no product attributes to compare"),
				 errhint("Pass attributes, name or price.")));

	CheckSourceRelation(relid, "Pass a table or view of products.");
	iattr = SourceColumn(relid, item_col, "item");
	for (a = 0; a < nattr; a++)
		(void) SourceColumn(relid, attrs[a], "attributes");
	if (name_col)
		(void) SourceColumn(relid, name_col, "name");
	if (price_col)
		(void) SourceColumn(relid, price_col, "price");
	get_atttypetypmodcoll(relid, iattr, &ityp, &typmod, &icoll);
	CheckItemType(ityp, psprintf("item column \"%s\"", item_col));

	ts = StartRowsOutput(fcinfo, &tupdesc);
	m = palloc0(sizeof(Interactions));
	BudgetInit(&m->budget, "content neighbours");
	m->customer_type = TEXTOID;
	m->item_type = ityp;
	m->customers = ItemDictCreate(TEXTOID, DEFAULT_COLLATION_OID, &m->budget);
	m->items = ItemDictCreate(ityp, icoll, &m->budget);
	TripletInit(&buf, &m->budget, 1024);

	memset(&r, 0, sizeof(r));
	ReceiverInit(&r.pub, ProductReceive);
	r.m = m;
	r.buf = &buf;
	r.cxt = CurrentMemoryContext;
	r.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "bundlerec product row",
									 ALLOCSET_SMALL_SIZES);
	r.nattr = nattr;
	r.has_name = (name_col != NULL);
	r.has_price = (price_col != NULL);
	if (r.has_price)
	{
		r.price_cap = 1024;
		r.price = BudgetAlloc(&m->budget, sizeof(double) * r.price_cap);
		r.price_item = BudgetAlloc(&m->budget, sizeof(int32) * r.price_cap);
	}

	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s", quote_identifier(item_col));
	for (a = 0; a < nattr; a++)
		appendStringInfo(&q, ", CAST(%s AS pg_catalog.text)", quote_identifier(attrs[a]));
	if (name_col)
		appendStringInfo(&q, ", CAST(%s AS pg_catalog.text)", quote_identifier(name_col));
	if (price_col)
		appendStringInfo(&q, ", CAST(%s AS pg_catalog.float8)", quote_identifier(price_col));
	appendStringInfo(&q, " FROM %s",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	RunQueryInto(q.data, &r.pub, "products");
	if (r.has_price)
		AddPriceBands(&r, bands);

	/* duplicate tokens of a product add up: that is the term frequency */
	InteractionsBuild(m, &buf);
	if (m->nnz == 0)
		PG_RETURN_NULL();
	idf = palloc(sizeof(double) * Max(m->n_customers, 1));
	for (t = 0; t < m->n_customers; t++)
		idf[t] = log((double) r.nproducts /
					 (double) (m->row_start[t + 1] - m->row_start[t]));
	for (t = 0; t < m->n_customers; t++)
		for (e = m->row_start[t]; e < m->row_start[t + 1]; e++)
			m->row_weight[e] *= idf[t];
	for (e = 0; e < m->nnz; e++)
		m->col_weight[e] *= idf[m->col_customer[e]];

	EmitNeighbors(m, SIM_COSINE, false, top_k, 1, 0, ts, tupdesc);
	PG_RETURN_NULL();
}
