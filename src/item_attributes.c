/*
 * item_attributes.c
 *	  An item's price, category and name from its order lines, one grouped
 *	  query over the source.  Bundle scoring reads prices and categories
 *	  from it (bundle_data.c); a model's items stage derives the same
 *	  numbers by the same rule from its refresh state (bundlerec._item_state),
 *	  which the tests check against bundlerec._item_attributes().
 *
 * Only lines with a basket and an item count, as everywhere else.  The
 * price is the mean of the item's positive, finite prices dated within
 * price_window before the latest finite order time of those lines, else
 * of all its positive, finite prices (all of them without ordered_at).
 * The category and the name are the most frequent ones, a tie going to the
 * smallest (the category in its column's collation, the name in byte
 * order).  Prices are averaged as numeric, so a model's items.price (this
 * mean rounded to 4 places) is exact.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/tstoreReceiver.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "item_attributes.h"
#include "output.h"
#include "source.h"

PG_FUNCTION_INFO_V1(bundlerec_item_attributes);

/* Base type of column name of relid, which must exist. */
static Oid
ColumnBaseType(Oid relid, const char *name, const char *param)
{
	return getBaseType(get_atttype(relid, SourceColumn(relid, name, param)));
}

/* Error unless the price column holds numbers. */
static void
CheckPriceColumn(Oid relid, const char *name)
{
	Oid			typid = ColumnBaseType(relid, name, "price");
	char		cat;
	bool		preferred;

	get_type_category_preferred(typid, &cat, &preferred);
	if (cat != TYPCATEGORY_NUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("price column \"%s\" has type %s", name, format_type_be(typid)),
				 errhint("Map a numeric column holding the unit price of a line.")));
}

/* Error unless the order time column is a date or a timestamp. */
static void
CheckOrderTimeColumn(Oid relid, const char *name)
{
	Oid			typid = ColumnBaseType(relid, name, "ordered_at");

	if (typid != DATEOID && typid != TIMESTAMPOID && typid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("ordered_at column \"%s\" has type %s", name, format_type_be(typid)),
				 errhint("Map a date, timestamp or timestamptz column.")));
}

/*
 * The query.  Its lines l are normalised as a model's lines are: a NaN,
 * infinite, zero or negative price is no price, an infinite time no time.
 */
static char *
ItemAttributesQuery(Oid relid, const ItemColumns *cols)
{
	StringInfoData q;
	const char *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												 get_rel_name(relid));

	initStringInfo(&q);
	appendStringInfoString(&q, "WITH l AS NOT MATERIALIZED (SELECT s.");
	appendStringInfoString(&q, quote_identifier(cols->item));
	appendStringInfoString(&q, " AS item, ");
	if (cols->price)
		appendStringInfo(&q, "CASE WHEN s.%1$s::pg_catalog.numeric OPERATOR(pg_catalog.>) 0"
						 " AND s.%1$s::pg_catalog.numeric OPERATOR(pg_catalog.<) 'Infinity'::pg_catalog.numeric"
						 " THEN s.%1$s::pg_catalog.numeric END AS price, ",
						 quote_identifier(cols->price));
	else
		appendStringInfoString(&q, "NULL::pg_catalog.numeric AS price, ");
	if (cols->ordered_at)
		appendStringInfo(&q, "CASE WHEN pg_catalog.isfinite(s.%1$s::pg_catalog.timestamptz)"
						 " THEN s.%1$s::pg_catalog.timestamptz END AS ordered_at, ",
						 quote_identifier(cols->ordered_at));
	if (cols->category)
		appendStringInfo(&q, "s.%s::pg_catalog.text AS category, ", quote_identifier(cols->category));
	else
		appendStringInfoString(&q, "NULL::pg_catalog.text AS category, ");
	if (cols->name)
		appendStringInfo(&q, "s.%s::pg_catalog.text AS name", quote_identifier(cols->name));
	else
		appendStringInfoString(&q, "NULL::pg_catalog.text AS name");
	appendStringInfo(&q, " FROM %s s WHERE s.%s IS NOT NULL AND s.%s IS NOT NULL) ",
					 rel, quote_identifier(cols->basket), quote_identifier(cols->item));

	appendStringInfoString(&q, "SELECT l.item::pg_catalog.text, ");
	if (cols->ordered_at)
		appendStringInfoString(&q, "coalesce(pg_catalog.avg(l.price) FILTER (WHERE l.ordered_at OPERATOR(pg_catalog.>=)"
							   " ((SELECT pg_catalog.max(w.ordered_at) FROM l w) OPERATOR(pg_catalog.-) $1)),"
							   " pg_catalog.avg(l.price)), ");
	else
		appendStringInfoString(&q, "pg_catalog.avg(l.price), ");
	appendStringInfoString(&q, "pg_catalog.mode() WITHIN GROUP (ORDER BY l.category), "
						   "pg_catalog.mode() WITHIN GROUP (ORDER BY l.name COLLATE pg_catalog.\"C\") "
						   "FROM l GROUP BY l.item");
	return q.data;
}

/*
 * Send the attributes of every item of source relid to r, one row per
 * item: (item text, price numeric, category text, name text), NULL where
 * the item's lines have none.
 */
void
ReadItemAttributes(Oid relid, const ItemColumns *cols, DestReceiver *r)
{
	Oid			argtypes[1] = {INTERVALOID};
	ItemColumns c = *cols;

	/* order times only place prices in the window */
	if (c.price == NULL)
		c.ordered_at = NULL;
	cols = &c;
	CheckSourceRelation(relid, "Pass a table, view, materialized view or foreign table of order lines.");
	SourceColumn(relid, cols->basket, "basket");
	SourceColumn(relid, cols->item, "item");
	if (cols->price)
		CheckPriceColumn(relid, cols->price);
	if (cols->ordered_at)
		CheckOrderTimeColumn(relid, cols->ordered_at);
	if (cols->category)
		SourceColumn(relid, cols->category, "category");
	if (cols->name)
		SourceColumn(relid, cols->name, "name");
	/* $1, the window, only when there are order times */
	RunQueryWithArgs(ItemAttributesQuery(relid, cols), cols->ordered_at ? 1 : 0,
					 argtypes, &cols->price_window, r, "item prices and categories");
}

/* A text argument, or NULL when the argument is NULL. */
static const char *
OptionalName(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * bundlerec._item_attributes(source, basket, item, price, ordered_at,
 *							  category, name, price_window)
 *		-> (item, price, category, name)
 */
Datum
bundlerec_item_attributes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ItemColumns cols;
	TupleDesc	tupdesc;
	Tuplestorestate *ts;
	DestReceiver *r;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, basket and item must not be NULL"),
				 errhint("Pass the order lines and their basket and item columns.")));
	if (PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("price_window must not be NULL"),
				 errhint("Pass the interval that prices are averaged over, for example '90 days'.")));
	cols.basket = text_to_cstring(PG_GETARG_TEXT_PP(1));
	cols.item = text_to_cstring(PG_GETARG_TEXT_PP(2));
	cols.price = OptionalName(fcinfo, 3);
	cols.ordered_at = OptionalName(fcinfo, 4);
	cols.category = OptionalName(fcinfo, 5);
	cols.name = OptionalName(fcinfo, 6);
	cols.price_window = PG_GETARG_DATUM(7);

	ts = StartRowsOutput(fcinfo, &tupdesc);
	if (tupdesc->natts != ITEM_ATTRIBUTE_COLUMNS)
		elog(ERROR, "_item_attributes must return %d columns, please report a bug",
			 ITEM_ATTRIBUTE_COLUMNS);
	r = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(r, ts, rsinfo->econtext->ecxt_per_query_memory,
									true, NULL, NULL);
	ReadItemAttributes(PG_GETARG_OID(0), &cols, r);
	return (Datum) 0;
}
