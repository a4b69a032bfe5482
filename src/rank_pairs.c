/*
 * rank_pairs.c
 *	  A model's pairs stage: the best partners of every item by shrunk NPMI,
 *	  read from the model's pair and item count tables in one pass, each
 *	  item's partners kept in a bounded heap.  bundlerec._rank_pairs().
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "bundlerec.h"
#include "items.h"
#include "measures.h"
#include "output.h"
#include "topk.h"

PG_FUNCTION_INFO_V1(bundlerec_rank_pairs);

#define RANK_PAIR_COLUMNS 11
#define FETCH_ROWS 10000

static char *
QualifiedName(Oid relid)
{
	char	   *rel = get_rel_name(relid);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}

/*
 * bundlerec._rank_pairs(pair_counts, item_counts, n, shrinkage, per_item,
 * min_count): for every item, its per_item best partners among the pairs
 * of pair_counts (item_a, item_b, count) in at least min_count orders,
 * ranked by npmi shrunk by count / (count + shrinkage), ties to the
 * partner first in "C" order; item_counts (item, orders) gives each item's
 * orders and n the number of orders.  Rows: item, rank, partner, count,
 * item_orders, partner_orders, support, confidence, lift, npmi, score.
 */
Datum
bundlerec_rank_pairs(PG_FUNCTION_ARGS)
{
	Oid			pairs_rel,
				items_rel;
	int64		n,
				min_count;
	double		shrinkage;
	int32		k;
	TupleDesc	tupdesc;
	Tuplestorestate *ts;
	MemoryContext work,
				old;
	Budget		budget;
	ItemDict   *dict;
	int64	   *orders;
	int32		nitems;
	TopEntry   *heaps;
	int32	   *sizes;
	Datum	   *keys;
	Portal		portal;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	uint64		r;
	int32		item;

	for (r = 0; r < 6; r++)
		if (PG_ARGISNULL(r))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the arguments of bundlerec._rank_pairs must not be NULL"),
					 errhint("Pass the pair and item count tables, the number of orders, shrinkage, per_item and min_count.")));
	pairs_rel = PG_GETARG_OID(0);
	items_rel = PG_GETARG_OID(1);
	n = PG_GETARG_INT64(2);
	shrinkage = PG_GETARG_FLOAT8(3);
	k = PG_GETARG_INT32(4);
	min_count = PG_GETARG_INT64(5);
	if (n < 1 || k < 1 || min_count < 1 || !(shrinkage >= 0 && shrinkage < get_float8_infinity()))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bundlerec._rank_pairs needs n, per_item and min_count of at least 1 and a finite shrinkage of at least 0"),
				 errhint("The model options pairs_per_item, min_count and shrinkage set them.")));

	ts = StartRowsOutput(fcinfo, &tupdesc);
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec rank pairs",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BudgetInit(&budget, "the pairs of a model");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* items in "C" order, so that smaller ids break ties as SQL's ORDER BY would */
	if (SPI_execute(psprintf("SELECT item::pg_catalog.text, orders::pg_catalog.int8 FROM %s "
							 "WHERE item IS NOT NULL ORDER BY item::pg_catalog.text COLLATE pg_catalog.\"C\"",
							 QualifiedName(items_rel)), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the item counts");
	if (SPI_processed >= (uint64) PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many items in \"%s\"", get_rel_name(items_rel))));
	nitems = (int32) SPI_processed;
	dict = ItemDictCreate(TEXTOID, C_COLLATION_OID, &budget);
	orders = BudgetAlloc0(&budget, sizeof(int64) * Max(nitems, 1));
	for (r = 0; r < (uint64) nitems; r++)
	{
		bool		isnull;
		Datum		key = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
		Datum		cnt = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);

		if (ItemDictAdd(dict, key) != (int32) r)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("\"%s\" holds an item twice", get_rel_name(items_rel))));
		orders[r] = isnull ? 0 : DatumGetInt64(cnt);
	}
	SPI_freetuptable(SPI_tuptable);

	heaps = BudgetAlloc(&budget, mul_size(mul_size(sizeof(TopEntry), Max(nitems, 1)), k));
	sizes = BudgetAlloc0(&budget, sizeof(int32) * Max(nitems, 1));

	args[0] = Int64GetDatum(min_count);
	portal = SPI_cursor_open_with_args(NULL,
									   psprintf("SELECT item_a, item_b, count::pg_catalog.int8 FROM %s "
												"WHERE count OPERATOR(pg_catalog.>=) $1",
												QualifiedName(pairs_rel)),
									   1, argtypes, args, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		CHECK_FOR_INTERRUPTS();
		for (r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			bool		na,
						nb,
						nc;
			Datum		da = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &na);
			Datum		db = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &nb);
			int64		cab = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &nc));
			int32		a,
						b;
			TopEntry	e;

			if (na || nb || nc)
				continue;
			a = ItemDictAdd(dict, da);
			b = ItemDictAdd(dict, db);
			/* a pair whose item the item counts lack is left out, as a join would */
			if (a >= nitems || b >= nitems || a == b)
				continue;
			e.score = ShrunkNpmi((double) n, (double) orders[a], (double) orders[b],
								 (double) cab, shrinkage);
			e.payload = cab;
			e.partner = b;
			TopOffer(heaps + (Size) a * k, &sizes[a], k, &e);
			e.partner = a;
			TopOffer(heaps + (Size) b * k, &sizes[b], k, &e);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);

	keys = palloc(sizeof(Datum) * Max(nitems, 1));
	for (item = 0; item < nitems; item++)
		keys[item] = ItemDictKey(dict, item, TEXTOID);
	for (item = 0; item < nitems; item++)
	{
		TopEntry   *h = heaps + (Size) item * k;
		int32		j;

		CHECK_FOR_INTERRUPTS();
		TopEntriesSort(h, sizes[item]);
		for (j = 0; j < sizes[item]; j++)
		{
			Datum		v[RANK_PAIR_COLUMNS];
			bool		nulls[RANK_PAIR_COLUMNS] = {0};
			int64		cab = h[j].payload;
			int64		ca = orders[item],
						cb = orders[h[j].partner];

			v[0] = keys[item];
			v[1] = Int32GetDatum(j + 1);
			v[2] = keys[h[j].partner];
			v[3] = Int64GetDatum(cab);
			v[4] = Int64GetDatum(ca);
			v[5] = Int64GetDatum(cb);
			v[6] = Float8GetDatum((double) cab / (double) n);
			v[7] = Float8GetDatum((double) cab / (double) ca);
			v[8] = Float8GetDatum((double) cab * (double) n / ((double) ca * (double) cb));
			v[9] = Float8GetDatum(ShrunkNpmi((double) n, (double) ca, (double) cb, (double) cab, 0));
			v[10] = Float8GetDatum(h[j].score);
			tuplestore_putvalues(ts, tupdesc, v, nulls);
		}
	}
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return (Datum) 0;
}
