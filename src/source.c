/*
 * source.c
 *	  Reading order lines (basket, item) from a table or view into baskets.
 *
 * Lines are read once through SPI, with the caller's privileges, by a
 * DestReceiver that encodes each line as it arrives, so no tuple is copied
 * and lines need not be sorted by basket.  Lines are then grouped by basket
 * with a counting sort.  Integer and text baskets go through an item
 * dictionary; baskets of any other type through its default hash opclass,
 * so they group exactly as SQL's GROUP BY would (1.0 = 1.00, -0 = 0).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/datum.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "source.h"

#define FETCH_ROWS 10000			/* rows per cursor fetch */

/* Hash and equality of basket keys of any hashable type. */
typedef struct KeyOps
{
	FmgrInfo	hash;
	FmgrInfo	eq;
	Oid			collation;
	bool		byval;
	int16		len;
} KeyOps;

typedef struct KeyEntry
{
	Datum		key;
	uint32		hash;
	int32		id;
	char		status;
} KeyEntry;

static uint32 KeyHash(KeyOps *ops, Datum key);
static bool KeyEqual(KeyOps *ops, Datum a, Datum b);

#define SH_PREFIX keymap
#define SH_ELEMENT_TYPE KeyEntry
#define SH_KEY_TYPE Datum
#define SH_KEY key
#define SH_HASH_KEY(tb, k) KeyHash((KeyOps *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) KeyEqual((KeyOps *) (tb)->private_data, a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static uint32
KeyHash(KeyOps *ops, Datum key)
{
	return DatumGetUInt32(FunctionCall1Coll(&ops->hash, ops->collation, key));
}

static bool
KeyEqual(KeyOps *ops, Datum a, Datum b)
{
	return DatumGetBool(FunctionCall2Coll(&ops->eq, ops->collation, a, b));
}

typedef struct LineReceiver
{
	DestReceiver pub;
	MemoryContext cxt;			/* where the store grows */
	BasketStore *store;
	ItemDict   *baskets;		/* integer or text basket key -> index */
	keymap_hash *keys;			/* other basket keys -> index */
	KeyOps		ops;
	int32		nkeys;
	Size		mapbytes;		/* charged for the key map */
	uint64	   *lines;			/* basket index << 32 | item id */
	int64		nlines;
	int64		cap;
	int64		skipped;
	bool		basket_byval;	/* integer baskets: Datums compare as keys */
	bool		have_last;		/* lines often come grouped by basket */
	Datum		last_key;
	int32		last_idx;
} LineReceiver;

/* A required text argument, or an error naming the parameter. */
const char *
CheckSourceName(FunctionCallInfo fcinfo, int argno, const char *param)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", param),
				 errhint("Name a column of the source, for example '%s'.",
						 strcmp(param, "basket") == 0 ? "order_id" : "product_id")));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* Attribute number of column name in relid, or an error with a hint. */
AttrNumber
SourceColumn(Oid relid, const char *name, const char *param)
{
	AttrNumber	attnum = get_attnum(relid, name);

	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in relation \"%s\"",
						name, get_rel_name(relid)),
				 errdetail("The %s argument names the column to read.", param),
				 errhint("Column names are matched exactly as given, without case folding or quotes.")));
	return attnum;
}

static void
ReceiverStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
ReceiverNoop(DestReceiver *self)
{
}

/* A DestReceiver that hands each row to receive and needs no setup. */
void
ReceiverInit(DestReceiver *r, bool (*receive) (TupleTableSlot *, DestReceiver *))
{
	memset(r, 0, sizeof(DestReceiver));
	r->receiveSlot = receive;
	r->rStartup = ReceiverStartup;
	r->rShutdown = ReceiverNoop;
	r->rDestroy = ReceiverNoop;
	r->mydest = DestNone;
}

/* Run a read-only query, its rows going to r, with the caller's privileges. */
void
RunQueryInto(const char *query, DestReceiver *r, const char *what)
{
	RunQueryWithArgs(query, 0, NULL, NULL, r, what);
}

/* RunQueryInto with values[0..nargs) of types argtypes for $1..$nargs. */
void
RunQueryWithArgs(const char *query, int nargs, const Oid *argtypes,
				 const Datum *values, DestReceiver *r, const char *what)
{
	SPIExecuteOptions opts;
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	memset(&opts, 0, sizeof(opts));
	opts.read_only = true;
	opts.dest = r;
	if (nargs == 0)
		ret = SPI_execute_extended(query, &opts);
	else
	{
		SPIPlanPtr	plan = SPI_prepare(query, nargs, (Oid *) argtypes);
		int			i;

		if (plan == NULL)
			elog(ERROR, "reading %s failed: SPI_prepare returned %d", what, SPI_result);
		opts.params = makeParamList(nargs);
		for (i = 0; i < nargs; i++)
		{
			opts.params->params[i].value = values[i];
			opts.params->params[i].isnull = false;
			opts.params->params[i].pflags = PARAM_FLAG_CONST;
			opts.params->params[i].ptype = argtypes[i];
		}
		ret = SPI_execute_plan_extended(plan, &opts);
	}
	/* SPI reports a SELECT into a DestNone receiver as a utility command */
	if (ret != SPI_OK_SELECT && ret != SPI_OK_UTILITY)
		elog(ERROR, "reading %s failed: SPI returned %d", what, ret);
	SPI_finish();
}

/*
 * The next batch of rows of an SPI cursor into SPI_tuptable; false when there
 * are no more.  Checks for interrupts and reports the rows read so far.
 */
bool
FetchRows(Portal portal, Progress *progress, int64 *nread)
{
	SPI_cursor_fetch(portal, true, FETCH_ROWS);
	if (SPI_processed == 0)
		return false;
	CHECK_FOR_INTERRUPTS();
	*nread += SPI_processed;
	ProgressReport(progress, *nread);
	return true;
}

/* Schema-qualified, quoted name of a relation, for SQL text. */
char *
RelationSqlName(Oid relid)
{
	char	   *rel = get_rel_name(relid);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}

/* An error unless relid is a table, view or the like that can be read. */
void
CheckSourceRelation(Oid relid, const char *hint)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind != RELKIND_RELATION && relkind != RELKIND_VIEW &&
		relkind != RELKIND_MATVIEW && relkind != RELKIND_FOREIGN_TABLE &&
		relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or view", get_rel_name(relid)),
				 errhint("%s", hint)));
}

/* Index of a basket key of a hashed type, adding it if new. */
static int32
BasketKeyIndex(LineReceiver *r, Datum key)
{
	bool		found;
	KeyEntry   *e;
	Size		mapbytes;

	/* compare and keep plain values, not TOAST pointers */
	if (r->ops.len == -1)
		key = PointerGetDatum(PG_DETOAST_DATUM_PACKED(key));
	e = keymap_insert(r->keys, key, &found);
	if (!found)
	{
		if (r->nkeys == PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many baskets")));
		/* the slot's value is gone after this line: keep a copy */
		if (!r->ops.byval)
			BudgetCharge(&r->store->budget, datumGetSize(key, false, r->ops.len));
		e->key = datumCopy(key, r->ops.byval, r->ops.len);
		e->id = r->nkeys++;
	}
	mapbytes = sizeof(KeyEntry) * r->keys->size;
	if (mapbytes > r->mapbytes)
	{
		BudgetCharge(&r->store->budget, mapbytes - r->mapbytes);
		r->mapbytes = mapbytes;
	}
	return e->id;
}

/* Encode one order line. */
static bool
LineReceive(TupleTableSlot *slot, DestReceiver *self)
{
	LineReceiver *r = (LineReceiver *) self;
	MemoryContext old;
	Datum		bkey;
	int32		bidx,
				iid;

	slot_getsomeattrs(slot, 2);
	if (slot->tts_isnull[0] || slot->tts_isnull[1])
	{
		r->skipped++;
		return true;
	}
	old = MemoryContextSwitchTo(r->cxt);
	bkey = slot->tts_values[0];
	if (r->keys)
		bidx = BasketKeyIndex(r, bkey);
	else if (r->basket_byval && r->have_last && bkey == r->last_key)
		bidx = r->last_idx;
	else
	{
		bidx = ItemDictAdd(r->baskets, bkey);
		r->have_last = r->basket_byval;
		r->last_key = bkey;
		r->last_idx = bidx;
	}
	iid = ItemDictAdd(r->store->dict, slot->tts_values[1]);
	if (r->nlines == r->cap)
	{
		int64		newcap = r->cap * 2;

		r->lines = BudgetRealloc(&r->store->budget, r->lines,
								 sizeof(uint64) * r->cap, sizeof(uint64) * newcap);
		r->cap = newcap;
	}
	r->lines[r->nlines++] = ((uint64) (uint32) bidx << 32) | (uint32) iid;
	MemoryContextSwitchTo(old);
	if ((r->nlines & 0x3FFF) == 0)
		CHECK_FOR_INTERRUPTS();
	return true;
}

/* The planner's estimate of a relation's rows, or 0 when it has none. */
static double
EstimateLines(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	double		est = 0;

	if (HeapTupleIsValid(tup))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);

		if (form->relkind != RELKIND_VIEW && form->reltuples > 0)
			est = form->reltuples;
		ReleaseSysCache(tup);
	}
	return est;
}

/* Group encoded lines by basket into the store. */
static void
GroupLines(LineReceiver *r)
{
	int32		nb = r->keys ? r->nkeys : ItemDictSize(r->baskets);
	int64	   *start = BudgetAlloc0(&r->store->budget, sizeof(int64) * ((Size) nb + 1));
	int32	   *ids = BudgetAlloc(&r->store->budget, sizeof(int32) * Max(r->nlines, 1));
	int64		i;
	int32		b;

	for (i = 0; i < r->nlines; i++)
		start[(r->lines[i] >> 32) + 1]++;
	for (b = 0; b < nb; b++)
		start[b + 1] += start[b];
	for (i = 0; i < r->nlines; i++)
	{
		uint32		bidx = (uint32) (r->lines[i] >> 32);

		ids[start[bidx]++] = (int32) (uint32) r->lines[i];
	}
	BudgetFree(&r->store->budget, r->lines, sizeof(uint64) * r->cap);
	r->lines = NULL;
	BasketStoreReserve(r->store, r->nlines + nb);
	/* start[b] now ends basket b */
	for (b = 0; b < nb; b++)
	{
		int64		from = (b == 0) ? 0 : start[b - 1];

		if ((b & 0x3FFF) == 0)
			CHECK_FOR_INTERRUPTS();
		BasketStoreAddIds(r->store, ids + from, (int32) (start[b] - from));
	}
	BudgetFree(&r->store->budget, ids, sizeof(int32) * Max(r->nlines, 1));
	BudgetFree(&r->store->budget, start, sizeof(int64) * ((Size) nb + 1));
}

/*
 * Read (basket, item) lines of relid into baskets.  Lines with a NULL basket
 * or item are skipped and counted in *skipped.
 */
BasketStore *
ReadSourceBaskets(Oid relid, const char *basket_col, const char *item_col,
				  const char *what, int64 *skipped)
{
	AttrNumber	battr,
				iattr;
	Oid			btype,
				itype,
				bcoll,
				icoll;
	int32		btypmod;
	LineReceiver r;
	char	   *query;

	CheckSourceRelation(relid, "Pass a table, view, materialized view or foreign table of order lines.");
	battr = SourceColumn(relid, basket_col, "basket");
	iattr = SourceColumn(relid, item_col, "item");
	get_atttypetypmodcoll(relid, battr, &btype, &btypmod, &bcoll);
	get_atttypetypmodcoll(relid, iattr, &itype, &btypmod, &icoll);
	if (!ItemTypeSupported(itype))
		CheckItemType(itype, psprintf("item column \"%s\"", item_col));

	memset(&r, 0, sizeof(r));
	ReceiverInit(&r.pub, LineReceive);
	r.cxt = CurrentMemoryContext;
	r.store = BasketStoreCreate(itype, icoll, what);
	if (ItemTypeSupported(btype))
	{
		r.baskets = ItemDictCreate(btype, InvalidOid, &r.store->budget);
		r.basket_byval = get_typbyval(btype);
	}
	else
	{
		TypeCacheEntry *tc = lookup_type_cache(btype, TYPECACHE_HASH_PROC_FINFO |
											   TYPECACHE_EQ_OPR_FINFO);

		if (!OidIsValid(tc->hash_proc) || !OidIsValid(tc->eq_opr))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("basket column \"%s\" has type %s, which cannot be hashed",
							basket_col, format_type_be(btype)),
					 errhint("Cast the basket to text or bigint, for example in a view.")));
		fmgr_info(tc->hash_proc_finfo.fn_oid, &r.ops.hash);
		fmgr_info(tc->eq_opr_finfo.fn_oid, &r.ops.eq);
		r.ops.collation = bcoll;
		r.ops.byval = tc->typbyval;
		r.ops.len = tc->typlen;
		r.keys = keymap_create(CurrentMemoryContext, 1024, &r.ops);
	}
	/* size the line buffer from the planner's estimate, within the budget */
	r.cap = 1024;
	{
		double		est = EstimateLines(relid);
		double		most = (double) bundlerec_memory_limit_kb * 1024.0 / 4.0 / sizeof(uint64);

		if (est > r.cap)
			r.cap = (int64) Min(est * 1.05, most);
	}
	r.lines = BudgetAlloc(&r.store->budget, sizeof(uint64) * r.cap);

	query = psprintf("SELECT %s, %s FROM %s",
					 quote_identifier(basket_col), quote_identifier(item_col),
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));

	RunQueryInto(query, &r.pub, "order lines");

	if (r.nlines > 0)
		GroupLines(&r);
	else
		BudgetFree(&r.store->budget, r.lines, sizeof(uint64) * r.cap);
	*skipped = r.skipped;
	return r.store;
}

/*
 * Baskets of the (source regclass, basket text, item text) arguments 0..2
 * of a SQL function, with a NOTICE counting the lines skipped for NULLs.
 */
BasketStore *
ReadSourceArgs(FunctionCallInfo fcinfo, const char *what)
{
	Oid			relid;
	const char *basket_col;
	const char *item_col;
	BasketStore *store;
	int64		skipped = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be NULL"),
				 errhint("Pass a table or view of order lines, for example 'order_lines'::regclass.")));
	relid = PG_GETARG_OID(0);
	basket_col = CheckSourceName(fcinfo, 1, "basket");
	item_col = CheckSourceName(fcinfo, 2, "item");
	store = ReadSourceBaskets(relid, basket_col, item_col, what, &skipped);
	if (skipped > 0)
		ereport(NOTICE,
				(errmsg("skipped " INT64_FORMAT " order lines with a NULL basket or item",
						skipped)));
	return store;
}
