/*
 * interactions.c
 *	  Reading (customer, item, weight) lines into a sparse matrix.
 *
 * Lines are read once through SPI with the caller's privileges, keys go
 * through item dictionaries, and the matrix is built by two counting sorts,
 * so the cost is linear in the lines and no line order is assumed.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "interactions.h"
#include "source.h"

typedef struct TripletReceiver
{
	DestReceiver pub;
	Interactions *m;
	TripletBuffer *buf;
	MemoryContext cxt;			/* where dictionaries and buffers grow */
	bool		has_weight;
} TripletReceiver;

void
TripletInit(TripletBuffer *buf, Budget *budget, int64 cap)
{
	buf->budget = budget;
	buf->cap = Max(cap, 1024);
	buf->n = 0;
	buf->row = BudgetAlloc(budget, sizeof(int32) * buf->cap);
	buf->col = BudgetAlloc(budget, sizeof(int32) * buf->cap);
	buf->val = BudgetAlloc(budget, sizeof(double) * buf->cap);
}

void
TripletAdd(TripletBuffer *buf, int32 row, int32 col, double val)
{
	if (buf->n == buf->cap)
	{
		int64		newcap = buf->cap * 2;

		buf->row = BudgetRealloc(buf->budget, buf->row, sizeof(int32) * buf->cap,
								 sizeof(int32) * newcap);
		buf->col = BudgetRealloc(buf->budget, buf->col, sizeof(int32) * buf->cap,
								 sizeof(int32) * newcap);
		buf->val = BudgetRealloc(buf->budget, buf->val, sizeof(double) * buf->cap,
								 sizeof(double) * newcap);
		buf->cap = newcap;
	}
	buf->row[buf->n] = row;
	buf->col[buf->n] = col;
	buf->val[buf->n] = val;
	buf->n++;
}

/*
 * Build m's rows and columns from triplets whose rows are dictionary ids of
 * m->customers and columns of m->items; frees the triplets.
 */
void
InteractionsBuild(Interactions *m, TripletBuffer *buf)
{
	Budget	   *b = &m->budget;
	int32		nr = ItemDictSize(m->customers);
	int32		nc = ItemDictSize(m->items);
	int64		n = buf->n;
	int64	   *start;
	int64	   *order,
			   *order2;
	int32	   *rowmap,
			   *colmap;
	int64		i,
				kept;
	int32		r,
				c;
	int32	   *prow;
	int32	   *pcol;
	double	   *pval;

	/* order by column, then stably by row: rows with ascending columns */
	order = BudgetAlloc(b, sizeof(int64) * Max(n, 1));
	order2 = BudgetAlloc(b, sizeof(int64) * Max(n, 1));
	start = BudgetAlloc0(b, sizeof(int64) * ((Size) Max(nr, nc) + 1));
	for (i = 0; i < n; i++)
		start[buf->col[i] + 1]++;
	for (c = 0; c < nc; c++)
		start[c + 1] += start[c];
	for (i = 0; i < n; i++)
		order[start[buf->col[i]]++] = i;
	memset(start, 0, sizeof(int64) * ((Size) Max(nr, nc) + 1));
	for (i = 0; i < n; i++)
		start[buf->row[i] + 1]++;
	for (r = 0; r < nr; r++)
		start[r + 1] += start[r];
	for (i = 0; i < n; i++)
	{
		int64		t = order[i];

		order2[start[buf->row[t]]++] = t;
	}
	CHECK_FOR_INTERRUPTS();

	/* merge duplicates, drop non-positive sums, compact in place */
	prow = BudgetAlloc(b, sizeof(int32) * Max(n, 1));
	pcol = BudgetAlloc(b, sizeof(int32) * Max(n, 1));
	pval = BudgetAlloc(b, sizeof(double) * Max(n, 1));
	kept = 0;
	for (i = 0; i < n;)
	{
		int64		t = order2[i];
		int32		rr = buf->row[t],
					cc = buf->col[t];
		double		sum = 0;

		while (i < n && buf->row[order2[i]] == rr && buf->col[order2[i]] == cc)
			sum += buf->val[order2[i++]];
		if (sum > 0)
		{
			prow[kept] = rr;
			pcol[kept] = cc;
			pval[kept] = sum;
			kept++;
		}
		else
			m->dropped++;
	}
	BudgetFree(b, order, sizeof(int64) * Max(n, 1));
	BudgetFree(b, order2, sizeof(int64) * Max(n, 1));
	BudgetFree(b, start, sizeof(int64) * ((Size) Max(nr, nc) + 1));
	BudgetFree(b, buf->row, sizeof(int32) * buf->cap);
	BudgetFree(b, buf->col, sizeof(int32) * buf->cap);
	BudgetFree(b, buf->val, sizeof(double) * buf->cap);
	buf->row = buf->col = NULL;
	buf->val = NULL;
	CHECK_FOR_INTERRUPTS();

	/* number the customers and items that kept a pair, in id order */
	rowmap = BudgetAlloc(b, sizeof(int32) * Max(nr, 1));
	colmap = BudgetAlloc(b, sizeof(int32) * Max(nc, 1));
	for (r = 0; r < nr; r++)
		rowmap[r] = -1;
	for (c = 0; c < nc; c++)
		colmap[c] = -1;
	for (i = 0; i < kept; i++)
	{
		rowmap[prow[i]] = 0;
		colmap[pcol[i]] = 0;
	}
	m->n_customers = 0;
	m->n_items = 0;
	for (r = 0; r < nr; r++)
		if (rowmap[r] == 0)
			rowmap[r] = m->n_customers++;
	for (c = 0; c < nc; c++)
		if (colmap[c] == 0)
			colmap[c] = m->n_items++;
	m->customer_key = BudgetAlloc(b, sizeof(int32) * Max(m->n_customers, 1));
	m->item_key = BudgetAlloc(b, sizeof(int32) * Max(m->n_items, 1));
	for (r = 0; r < nr; r++)
		if (rowmap[r] >= 0)
			m->customer_key[rowmap[r]] = r;
	for (c = 0; c < nc; c++)
		if (colmap[c] >= 0)
			m->item_key[colmap[c]] = c;

	m->nnz = kept;
	m->row_start = BudgetAlloc0(b, sizeof(int64) * ((Size) m->n_customers + 1));
	m->row_item = BudgetAlloc(b, sizeof(int32) * Max(kept, 1));
	m->row_weight = BudgetAlloc(b, sizeof(float) * Max(kept, 1));
	m->col_start = BudgetAlloc0(b, sizeof(int64) * ((Size) m->n_items + 1));
	m->col_customer = BudgetAlloc(b, sizeof(int32) * Max(kept, 1));
	m->col_weight = BudgetAlloc(b, sizeof(float) * Max(kept, 1));
	for (i = 0; i < kept; i++)
	{
		m->row_start[rowmap[prow[i]] + 1]++;
		m->col_start[colmap[pcol[i]] + 1]++;
	}
	for (r = 0; r < m->n_customers; r++)
		m->row_start[r + 1] += m->row_start[r];
	for (c = 0; c < m->n_items; c++)
		m->col_start[c + 1] += m->col_start[c];
	/* triplets are in row order, so each column receives rows ascending */
	{
		int64	   *cfill = BudgetAlloc(b, sizeof(int64) * Max(m->n_items, 1));

		memcpy(cfill, m->col_start, sizeof(int64) * m->n_items);
		for (i = 0; i < kept; i++)
		{
			int32		rr = rowmap[prow[i]],
						cc = colmap[pcol[i]];
			int64		at = cfill[cc]++;

			m->row_item[i] = cc;
			m->row_weight[i] = (float) pval[i];
			m->col_customer[at] = rr;
			m->col_weight[at] = (float) pval[i];
		}
		BudgetFree(b, cfill, sizeof(int64) * Max(m->n_items, 1));
	}
	BudgetFree(b, prow, sizeof(int32) * Max(n, 1));
	BudgetFree(b, pcol, sizeof(int32) * Max(n, 1));
	BudgetFree(b, pval, sizeof(double) * Max(n, 1));
	BudgetFree(b, rowmap, sizeof(int32) * Max(nr, 1));
	BudgetFree(b, colmap, sizeof(int32) * Max(nc, 1));
}

/* The same matrix with customers and items swapped (shares the arrays). */
Interactions *
TransposeInteractions(Interactions *m)
{
	Interactions *t = palloc(sizeof(Interactions));

	*t = *m;
	t->customers = m->items;
	t->items = m->customers;
	t->customer_type = m->item_type;
	t->item_type = m->customer_type;
	t->n_customers = m->n_items;
	t->n_items = m->n_customers;
	t->customer_key = m->item_key;
	t->item_key = m->customer_key;
	t->row_start = m->col_start;
	t->row_item = m->col_customer;
	t->row_weight = m->col_weight;
	t->col_start = m->row_start;
	t->col_customer = m->row_item;
	t->col_weight = m->row_weight;
	return t;
}

static bool
TripletReceive(TupleTableSlot *slot, DestReceiver *self)
{
	TripletReceiver *r = (TripletReceiver *) self;
	double		w = 1.0;
	int32		cid,
				iid;
	MemoryContext old;

	slot_getsomeattrs(slot, r->has_weight ? 3 : 2);
	if (slot->tts_isnull[0] || slot->tts_isnull[1] ||
		(r->has_weight && slot->tts_isnull[2]))
	{
		r->m->skipped_null++;
		return true;
	}
	if (r->has_weight)
	{
		w = DatumGetFloat8(slot->tts_values[2]);
		if (isnan(w) || isinf(w))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("interaction weight %g is not a finite number", w),
					 errhint("Filter out or fix rows whose weight is NaN or infinite.")));
	}
	old = MemoryContextSwitchTo(r->cxt);
	cid = ItemDictAdd(r->m->customers, slot->tts_values[0]);
	iid = ItemDictAdd(r->m->items, slot->tts_values[1]);
	TripletAdd(r->buf, cid, iid, w);
	MemoryContextSwitchTo(old);
	if ((r->buf->n & 0x3FFF) == 0)
		CHECK_FOR_INTERRUPTS();
	return true;
}

/*
 * Interactions of relid.  weight_col may be NULL: each line then weighs 1.
 * The weight column must cast to double precision.
 */
Interactions *
ReadInteractions(Oid relid, const char *customer_col, const char *item_col,
				 const char *weight_col, const char *what)
{
	Interactions *m;
	TripletBuffer buf;
	TripletReceiver r;
	AttrNumber	cattr,
				iattr;
	int32		typmod;
	Oid			ccoll,
				icoll;
	char	   *query;

	CheckSourceRelation(relid, "Pass a table, view, materialized view or foreign table of (customer, item) lines.");
	cattr = SourceColumn(relid, customer_col, "customer");
	iattr = SourceColumn(relid, item_col, "item");
	if (weight_col)
		(void) SourceColumn(relid, weight_col, "weight");

	m = palloc0(sizeof(Interactions));
	BudgetInit(&m->budget, what);
	get_atttypetypmodcoll(relid, cattr, &m->customer_type, &typmod, &ccoll);
	get_atttypetypmodcoll(relid, iattr, &m->item_type, &typmod, &icoll);
	CheckItemType(m->customer_type, psprintf("customer column \"%s\"", customer_col));
	CheckItemType(m->item_type, psprintf("item column \"%s\"", item_col));
	m->customers = ItemDictCreate(m->customer_type, ccoll, &m->budget);
	m->items = ItemDictCreate(m->item_type, icoll, &m->budget);
	TripletInit(&buf, &m->budget, 1024);

	memset(&r, 0, sizeof(r));
	ReceiverInit(&r.pub, TripletReceive);
	r.m = m;
	r.buf = &buf;
	r.cxt = CurrentMemoryContext;
	r.has_weight = (weight_col != NULL);

	query = psprintf("SELECT %s, %s%s%s FROM %s",
					 quote_identifier(customer_col), quote_identifier(item_col),
					 weight_col ? ", CAST(" : "",
					 weight_col ? psprintf("%s AS pg_catalog.float8)", quote_identifier(weight_col)) : "",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	RunQueryInto(query, &r.pub, "interactions");

	InteractionsBuild(m, &buf);
	return m;
}

/* A required text argument naming a column, or an error with a hint. */
const char *
RequiredName(FunctionCallInfo fcinfo, int argno, const char *param,
			 const char *example)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", param),
				 errhint("Name a column of the source, for example '%s'.", example)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * Interactions of the (source regclass, customer text, item text) arguments
 * 0..2 and the optional weight column argument weight_arg, with a NOTICE
 * for skipped lines and an error when nothing is left.
 */
Interactions *
ReadInteractionArgs(FunctionCallInfo fcinfo, int weight_arg, const char *what)
{
	const char *ccol,
			   *icol,
			   *wcol = NULL;
	Interactions *m;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be NULL"),
				 errhint("Pass a table or view of interactions, for example 'order_lines'::regclass.")));
	ccol = RequiredName(fcinfo, 1, "customer", "customer_id");
	icol = RequiredName(fcinfo, 2, "item", "product_id");
	if (weight_arg >= 0 && !PG_ARGISNULL(weight_arg))
		wcol = text_to_cstring(PG_GETARG_TEXT_PP(weight_arg));
	m = ReadInteractions(PG_GETARG_OID(0), ccol, icol, wcol, what);
	if (m->skipped_null > 0)
		ereport(NOTICE,
				(errmsg("skipped " INT64_FORMAT " lines with a NULL customer, item or weight",
						m->skipped_null)));
	if (m->dropped > 0)
		ereport(NOTICE,
				(errmsg("dropped " INT64_FORMAT " (customer, item) pairs whose total weight is not positive",
						m->dropped)));
	if (m->nnz == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no interactions to learn from in \"%s\"",
						get_rel_name(PG_GETARG_OID(0))),
				 errhint("The source needs at least one line with a customer, an item and a positive weight.")));
	return m;
}

/*
 * Rank of each item column in key order, and the column of each rank, so
 * that ties and output order follow the keys, not the order lines came in.
 */
int32 *
ItemColumnRanks(const Interactions *m, int32 **col_of_rank)
{
	int32	   *order = ItemDictKeyOrder(m->items);
	int32		nd = ItemDictSize(m->items);
	int32	   *dict_rank = palloc(sizeof(int32) * Max(nd, 1));
	int32	   *rank = palloc(sizeof(int32) * Max(m->n_items, 1));
	int32	   *inv = palloc(sizeof(int32) * Max(m->n_items, 1));
	int32		p,
				c,
				next = 0;

	for (p = 0; p < nd; p++)
		dict_rank[order[p]] = p;
	/* dictionary ranks of kept columns, compacted to 0..n_items-1 */
	for (c = 0; c < m->n_items; c++)
		rank[c] = dict_rank[m->item_key[c]];
	for (p = 0; p < nd; p++)
		dict_rank[p] = -1;
	for (c = 0; c < m->n_items; c++)
		dict_rank[rank[c]] = c;
	for (p = 0; p < nd; p++)
		if (dict_rank[p] >= 0)
		{
			rank[dict_rank[p]] = next;
			inv[next++] = dict_rank[p];
		}
	pfree(order);
	pfree(dict_rank);
	*col_of_rank = inv;
	return rank;
}
