/*
 * bundle_content.c
 *	  How alike the items of a bundle are: content similarities of item
 *	  pairs read from an (item, neighbor, similarity) table, such as a
 *	  model's content_neighbors, for bundle scoring.
 *
 * A pair missing from the table counts as similarity 0: the table holds
 * each product's nearest neighbours, so what it leaves out is the far
 * tail.  The pairs are kept in a simplehash charged to the call's memory
 * budget (bundlerec.memory_limit).
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "bundles.h"

typedef struct SimEntry
{
	uint64		key;			/* (a << 32) | b with a < b */
	double		sim;
	char		status;
} SimEntry;

#define SH_PREFIX contentsim
#define SH_ELEMENT_TYPE SimEntry
#define SH_KEY_TYPE uint64
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) &(k), sizeof(uint64))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct ContentSims
{
	contentsim_hash *h;
};

#define CONTENT_FETCH 10000

static uint64
PairKey(int32 a, int32 b)
{
	if (a > b)
	{
		int32		t = a;

		a = b;
		b = t;
	}
	return ((uint64) (uint32) a << 32) | (uint32) b;
}

/*
 * Read relid's (item, neighbor, similarity) rows whose items both occur in
 * d; a pair listed both ways keeps the larger similarity.
 */
ContentSims *
LoadContentSims(Oid relid, BundleData *d)
{
	ContentSims *c = palloc(sizeof(ContentSims));
	MemoryContext outer = CurrentMemoryContext;
	const char *rel = get_rel_name(relid);
	Size		charged = 0;
	char	   *sql;
	Portal		portal;

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("content relation %u does not exist", relid)));
	if (get_attnum(relid, "item") == InvalidAttrNumber ||
		get_attnum(relid, "neighbor") == InvalidAttrNumber ||
		get_attnum(relid, "similarity") == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("\"%s\" is not a content similarity table", rel),
				 errhint("Pass a table or view with columns item, neighbor and similarity, such as a model's content_neighbors.")));
	c->h = contentsim_create(outer, 1024, NULL);
	sql = psprintf("SELECT item::pg_catalog.text, neighbor::pg_catalog.text, similarity::pg_catalog.float8 FROM %s "
				   "WHERE item IS NOT NULL AND neighbor IS NOT NULL",
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		uint64		r;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, CONTENT_FETCH);
		if (SPI_processed == 0)
			break;
		for (r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		null_a,
						null_b,
						null_s;
			Datum		da = SPI_getbinval(tup, desc, 1, &null_a),
						db = SPI_getbinval(tup, desc, 2, &null_b),
						ds = SPI_getbinval(tup, desc, 3, &null_s);
			char	   *ka = TextDatumGetCString(da),
					   *kb = TextDatumGetCString(db);
			double		s = null_s ? NAN : DatumGetFloat8(ds);
			int32		a,
						b;
			SimEntry   *e;
			bool		found;

			if (!(s >= -1.0 && s <= 1.0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("content similarity of %s and %s in \"%s\" is %s, not a number in [-1, 1]",
								ka, kb, rel, null_s ? "NULL" : psprintf("%g", s)),
						 errhint("Similarities are cosines; leave pairs without one out of the table.")));
			a = ItemDictFind(d->dict, ka);
			b = ItemDictFind(d->dict, kb);
			if (a < 0 || b < 0 || a >= d->n_items || b >= d->n_items || a == b)
				continue;
			e = contentsim_insert(c->h, PairKey(a, b), &found);
			if (!found || s > e->sim)
				e->sim = s;
		}
		if (sizeof(SimEntry) * c->h->size != charged)
		{
			BudgetCharge(&d->store->budget, sizeof(SimEntry) * c->h->size - charged);
			charged = sizeof(SimEntry) * c->h->size;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	return c;
}

/* Content similarity of items a and b; 0 when the table does not list them. */
double
ContentSim(const ContentSims *c, int32 a, int32 b)
{
	SimEntry   *e = contentsim_lookup(c->h, PairKey(a, b));

	return e ? e->sim : 0.0;
}
