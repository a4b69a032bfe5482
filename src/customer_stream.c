/*
 * customer_stream.c
 *	  What the per-customer stages (customer bundles, recommendations)
 *	  share: a model's customer and item factors charged to
 *	  bundlerec.memory_limit, and its customers streamed through an SPI
 *	  cursor, one customer's rows at a time.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"

#include "customer_stream.h"
#include "progress.h"
#include "source.h"

/* A condition on column: a customer of table only (InvalidOid: none). */
static char *
OnlyCustomers(const char *column, Oid only)
{
	if (!OidIsValid(only))
		return NULL;
	return psprintf("%s OPERATOR(pg_catalog.=) ANY (SELECT o.customer FROM %s o)",
					column, RelationSqlName(only));
}

/*
 * A WHERE clause keeping the rows whose column is a customer of table only,
 * or "" when only is InvalidOid.
 */
char *
OnlyCustomersFilter(const char *column, Oid only)
{
	return OidIsValid(only) ? psprintf(" WHERE %s", OnlyCustomers(column, only)) : "";
}

/*
 * The customer and item factors of a model (tables written by als_train),
 * only the customers of table only when it is valid, charged to budget;
 * vectors of different lengths are an error.
 */
void
LoadModelFactors(Oid customer_rel, Oid item_rel, Oid only, Budget *budget,
				 FactorTable **cf, FactorTable **itf)
{
	*cf = LoadFactorRows(customer_rel, "customer", OnlyCustomers("customer", only), budget);
	*itf = LoadFactorRows(item_rel, "item", NULL, budget);
	if ((*cf)->n > 0 && (*itf)->n > 0 && (*cf)->k != (*itf)->k)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("customer and item factors of %d and %d dimensions", (*cf)->k, (*itf)->k),
				 errhint("Refresh the model in full.")));
}

/* Is text datum a the same string as b? */
static bool
SameText(Datum a, Datum b)
{
	text	   *x = DatumGetTextPP(a);
	text	   *y = DatumGetTextPP(b);

	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

/*
 * Runs query (SPI connected), whose first column is the customer as text
 * with each customer's rows together, and hands every row to row and every
 * customer to end.  Rows with a NULL customer are skipped.  Reports its
 * progress as "what".
 */
void
StreamCustomers(const char *query, const char *what, CustomerRowFn row,
				CustomerEndFn end, void *arg)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext percust = AllocSetContextCreate(outer, "bundlerec, one customer",
												  ALLOCSET_SMALL_SIZES);
	Portal		portal = SPI_cursor_open_with_args(NULL, query, 0, NULL, NULL, NULL, true, 0);
	Progress	progress;
	int64		nread = 0;
	Datum		cur = (Datum) 0;

	ProgressStart(&progress, what, "customer items read", 0);
	while (FetchRows(portal, &progress, &nread))
	{
		uint64		r;

		for (r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		customer = SPI_getbinval(tup, desc, 1, &isnull);
			bool		first;

			if (isnull)
				continue;
			first = (cur == (Datum) 0 || !SameText(cur, customer));
			if (first)
			{
				if (cur != (Datum) 0)
				{
					MemoryContextSwitchTo(percust);
					end(arg, cur);
					MemoryContextSwitchTo(outer);
					MemoryContextReset(percust);
				}
				MemoryContextSwitchTo(percust);
				cur = datumCopy(customer, false, -1);
				MemoryContextSwitchTo(outer);
			}
			row(arg, tup, desc, first);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	if (cur != (Datum) 0)
	{
		MemoryContextSwitchTo(percust);
		end(arg, cur);
		MemoryContextSwitchTo(outer);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(percust);
}
