/*
 * pair_agg.c
 *	  The bundlerec.pair_counts aggregate and its result type paircounts.
 *
 * The transition state is "internal": encoded baskets plus an item
 * dictionary, grown in place row by row.  Serialize, deserialize and combine
 * functions let PostgreSQL's parallel query split the input; the final
 * function counts pairs (pair_count.c) and returns a paircounts value, which
 * bundlerec.pairs() expands into rows.  Citus does not push partial
 * aggregation of an internal-state aggregate to its workers; see README.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "baskets.h"
#include "pair_agg.h"
#include "pair_count.h"

#define PAIRCOUNTS_MAGIC 0x42525031	/* "BRP1" */
#define AGG_SERIAL_MAGIC 0x42525331	/* "BRS1" */

/* Aggregate state. */
typedef struct PairAggState
{
	BasketStore *store;
	int64		min_count;
} PairAggState;

/* On-disk header of a paircounts value; arrays and dictionary follow. */
typedef struct PairCountsHeader
{
	int32		vl_len_;
	uint32		magic;
	int64		n_baskets;
	int64		n_pairs;
	int64		min_count;
	int32		n_items;
	int32		pad;
	/* int64 item_count[n_items], int64 cnt[n_pairs], */
	/* int32 pa[n_pairs], int32 pb[n_pairs], item dictionary */
} PairCountsHeader;

PG_FUNCTION_INFO_V1(bundlerec_pair_counts_trans);
PG_FUNCTION_INFO_V1(bundlerec_pair_counts_combine);
PG_FUNCTION_INFO_V1(bundlerec_pair_counts_serialize);
PG_FUNCTION_INFO_V1(bundlerec_pair_counts_deserialize);
PG_FUNCTION_INFO_V1(bundlerec_pair_counts_final);
PG_FUNCTION_INFO_V1(bundlerec_paircounts_in);
PG_FUNCTION_INFO_V1(bundlerec_paircounts_out);
PG_FUNCTION_INFO_V1(bundlerec_paircounts_recv);
PG_FUNCTION_INFO_V1(bundlerec_paircounts_send);

/* Aggregate memory context, or an error when not called as an aggregate. */
static MemoryContext
CheckAggContext(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcxt;
}

/* Error unless min_count is a usable pair threshold. */
static void
CheckMinCount(int64 min_count)
{
	if (min_count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be at least 1, not " INT64_FORMAT, min_count),
				 errhint("min_count is the smallest number of baskets a pair must share.")));
}

/* Transition: add one basket array; NULL baskets are skipped. */
Datum
bundlerec_pair_counts_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = CheckAggContext(fcinfo, "bundlerec_pair_counts_trans");
	PairAggState *state = PG_ARGISNULL(0) ? NULL : (PairAggState *) PG_GETARG_POINTER(0);
	int64		min_count = 1;
	ArrayType  *arr;
	MemoryContext old;

	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("min_count must not be NULL"),
					 errhint("Use the one-argument form pair_counts(items) to keep every pair.")));
		min_count = PG_GETARG_INT64(2);
		CheckMinCount(min_count);
		if (state != NULL && state->min_count != min_count)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("min_count must be the same for every row of one pair_counts aggregate")));
	}
	if (PG_ARGISNULL(1))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	arr = PG_GETARG_ARRAYTYPE_P(1);

	old = MemoryContextSwitchTo(aggcxt);
	if (state == NULL)
	{
		CheckBasketArray(arr);
		CheckItemType(ARR_ELEMTYPE(arr), "basket array element");
		state = palloc0(sizeof(PairAggState));
		state->store = BasketStoreCreate(ARR_ELEMTYPE(arr), PG_GET_COLLATION(),
										 "bundlerec.pair_counts");
		state->min_count = min_count;
	}
	BasketStoreAddArray(state->store, arr);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(state);
}

/* Combine: append the baskets of the second state to the first. */
Datum
bundlerec_pair_counts_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = CheckAggContext(fcinfo, "bundlerec_pair_counts_combine");
	PairAggState *s1 = PG_ARGISNULL(0) ? NULL : (PairAggState *) PG_GETARG_POINTER(0);
	PairAggState *s2 = PG_ARGISNULL(1) ? NULL : (PairAggState *) PG_GETARG_POINTER(1);
	MemoryContext old;

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	old = MemoryContextSwitchTo(aggcxt);
	if (s1 == NULL)
	{
		/* s2 may live in a short-lived context: copy it */
		s1 = palloc0(sizeof(PairAggState));
		s1->store = BasketStoreCreate(ItemDictType(s2->store->dict),
									  ItemDictCollation(s2->store->dict),
									  "bundlerec.pair_counts");
		s1->min_count = s2->min_count;
	}
	else if (s1->min_count != s2->min_count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be the same for every row of one pair_counts aggregate")));
	BasketStoreMerge(s1->store, s2->store);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(s1);
}

/* Serialize the state for a parallel worker's result. */
Datum
bundlerec_pair_counts_serialize(PG_FUNCTION_ARGS)
{
	PairAggState *state;
	Size		size;
	bytea	   *out;
	char	   *p;
	uint32		magic = AGG_SERIAL_MAGIC;

	CheckAggContext(fcinfo, "bundlerec_pair_counts_serialize");
	state = (PairAggState *) PG_GETARG_POINTER(0);
	size = add_size(VARHDRSZ + sizeof(uint32) + sizeof(int64),
					BasketStoreSerialSize(state->store));
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bundlerec.pair_counts state of a parallel worker is too large to pass to the leader"),
				 errdetail("It needs %zu bytes; at most %zu can be passed.",
						   size, (Size) MaxAllocSize),
				 errhint("Run the query without parallel workers: SET max_parallel_workers_per_gather = 0.")));
	out = palloc(size);
	SET_VARSIZE(out, size);
	p = VARDATA(out);
	memcpy(p, &magic, sizeof(uint32));
	p += sizeof(uint32);
	memcpy(p, &state->min_count, sizeof(int64));
	p += sizeof(int64);
	p = BasketStoreSerialize(state->store, p);
	Assert(p == (char *) out + size);
	PG_RETURN_BYTEA_P(out);
}

/* Deserialize a state written by bundlerec_pair_counts_serialize. */
Datum
bundlerec_pair_counts_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *in;
	PairAggState *state;
	const char *p;
	Size		len;
	uint32		magic;

	CheckAggContext(fcinfo, "bundlerec_pair_counts_deserialize");
	in = PG_GETARG_BYTEA_PP(0);
	p = VARDATA_ANY(in);
	len = VARSIZE_ANY_EXHDR(in);
	if (len < sizeof(uint32) + sizeof(int64))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid bundlerec.pair_counts state")));
	memcpy(&magic, p, sizeof(uint32));
	if (magic != AGG_SERIAL_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid bundlerec.pair_counts state")));
	state = palloc0(sizeof(PairAggState));
	memcpy(&state->min_count, p + sizeof(uint32), sizeof(int64));
	CheckMinCount(state->min_count);
	state->store = BasketStoreDeserialize(p + sizeof(uint32) + sizeof(int64),
										  len - sizeof(uint32) - sizeof(int64),
										  "bundlerec.pair_counts");
	PG_RETURN_POINTER(state);
}

/* Final: count pairs and pack them into a paircounts value. */
Datum
bundlerec_pair_counts_final(PG_FUNCTION_ARGS)
{
	PairAggState *state;
	MemoryContext outcxt = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext old;
	PairTable  *pt;
	PairCountsHeader *hdr;
	Size		dictsize,
				size;
	char	   *p;

	CheckAggContext(fcinfo, "bundlerec_pair_counts_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (PairAggState *) PG_GETARG_POINTER(0);

	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec pair_counts final",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	pt = CountPairs(state->store, state->min_count, &state->store->budget);

	dictsize = ItemDictSerialSize(state->store->dict, pt->item_src, pt->n_items);
	size = sizeof(PairCountsHeader);
	size = add_size(size, mul_size(sizeof(int64), pt->n_items));
	size = add_size(size, mul_size(sizeof(int64) + 2 * sizeof(int32), pt->n_pairs));
	size = add_size(size, dictsize);
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many pairs for one paircounts value: " INT64_FORMAT,
						pt->n_pairs),
				 errdetail("A paircounts value holds at most 1 GB."),
				 errhint("Use pair_counts(items, min_count) with a higher min_count, or bundlerec.item_pairs().")));

	hdr = MemoryContextAllocZero(outcxt, size);
	SET_VARSIZE(hdr, size);
	hdr->magic = PAIRCOUNTS_MAGIC;
	hdr->n_baskets = pt->n_baskets;
	hdr->n_pairs = pt->n_pairs;
	hdr->min_count = state->min_count;
	hdr->n_items = pt->n_items;
	p = (char *) (hdr + 1);
	memcpy(p, pt->item_count, sizeof(int64) * pt->n_items);
	p += sizeof(int64) * pt->n_items;
	memcpy(p, pt->cnt, sizeof(int64) * pt->n_pairs);
	p += sizeof(int64) * pt->n_pairs;
	memcpy(p, pt->pa, sizeof(int32) * pt->n_pairs);
	p += sizeof(int32) * pt->n_pairs;
	memcpy(p, pt->pb, sizeof(int32) * pt->n_pairs);
	p += sizeof(int32) * pt->n_pairs;
	p = ItemDictSerialize(state->store->dict, pt->item_src, pt->n_items, p);
	Assert(p == (char *) hdr + size);

	PairTableFree(pt);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	PG_RETURN_POINTER(hdr);
}

/* Report a damaged paircounts value. */
static void
CorruptPairCounts(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid bundlerec.paircounts value"),
			 errdetail("%s", why),
			 errhint("Build paircounts values with the bundlerec.pair_counts aggregate.")));
}

/*
 * Check a paircounts value and return a pair table reading its arrays and
 * its item dictionary (charged to budget).
 */
static PairTable *
PairCountsParse(const PairCountsHeader *hdr, ItemDict **dict, Budget *budget)
{
	Size		size = VARSIZE(hdr);
	const char *p = (const char *) (hdr + 1);
	const char *end = (const char *) hdr + size;
	PairTable  *pt;
	int64		i;
	Size		fixed;

	if (size < sizeof(PairCountsHeader) || hdr->magic != PAIRCOUNTS_MAGIC)
		CorruptPairCounts("The header is missing or has a wrong format word.");
	if (hdr->n_items < 0 || hdr->n_pairs < 0 || hdr->n_baskets < 0 ||
		hdr->min_count < 1)
		CorruptPairCounts("A count in the header is negative.");
	fixed = (Size) hdr->n_items * sizeof(int64) +
		(Size) hdr->n_pairs * (sizeof(int64) + 2 * sizeof(int32));
	if ((Size) (end - p) < fixed)
		CorruptPairCounts("The value is shorter than its header says.");

	pt = palloc0(sizeof(PairTable));
	pt->budget = budget;
	pt->owned = false;
	pt->n_baskets = hdr->n_baskets;
	pt->n_items = hdr->n_items;
	pt->n_pairs = hdr->n_pairs;
	pt->item_count = (int64 *) p;
	p += sizeof(int64) * hdr->n_items;
	pt->cnt = (int64 *) p;
	p += sizeof(int64) * hdr->n_pairs;
	pt->pa = (int32 *) p;
	p += sizeof(int32) * hdr->n_pairs;
	pt->pb = (int32 *) p;
	p += sizeof(int32) * hdr->n_pairs;
	*dict = ItemDictDeserialize(&p, end, budget);
	if (p != end || ItemDictSize(*dict) != hdr->n_items)
		CorruptPairCounts("The item list does not match the header.");
	pt->item_src = palloc(mul_size(sizeof(int32), Max(pt->n_items, 1)));
	for (i = 0; i < pt->n_items; i++)
	{
		pt->item_src[i] = (int32) i;
		if (pt->item_count[i] < 1 || pt->item_count[i] > pt->n_baskets)
			CorruptPairCounts("An item count is out of range.");
	}
	for (i = 0; i < pt->n_pairs; i++)
	{
		int32		a = pt->pa[i],
					b = pt->pb[i];

		if (a < 0 || b <= a || b >= pt->n_items ||
			(i > 0 && (a < pt->pa[i - 1] || (a == pt->pa[i - 1] && b <= pt->pb[i - 1]))))
			CorruptPairCounts("The pairs are not sorted distinct item pairs.");
		if (pt->cnt[i] < hdr->min_count ||
			pt->cnt[i] > Min(pt->item_count[a], pt->item_count[b]))
			CorruptPairCounts("A pair count is out of range.");
	}
	return pt;
}

/* Pair table over a paircounts Datum (detoasted, aligned copy if needed). */
PairTable *
PairCountsOpen(Datum value, ItemDict **dict, Budget *budget)
{
	struct varlena *v = PG_DETOAST_DATUM(value);

	if (((uintptr_t) v) % MAXIMUM_ALIGNOF != 0)
	{
		struct varlena *copy = palloc(VARSIZE(v));

		memcpy(copy, v, VARSIZE(v));
		v = copy;
	}
	return PairCountsParse((const PairCountsHeader *) v, dict, budget);
}

/* Check bytes read from outside and return them as a paircounts value. */
static Datum
PairCountsFromBytea(bytea *b)
{
	Size		len = VARSIZE_ANY_EXHDR(b);
	PairCountsHeader *v = palloc(len + VARHDRSZ);
	ItemDict   *dict;
	Budget		budget;

	SET_VARSIZE(v, len + VARHDRSZ);
	memcpy(VARDATA(v), VARDATA_ANY(b), len);
	BudgetInit(&budget, "bundlerec.paircounts input");
	PairCountsParse(v, &dict, &budget);
	PG_RETURN_POINTER(v);
}

/* Text input: the bytea hex form written by paircounts_out. */
Datum
bundlerec_paircounts_in(PG_FUNCTION_ARGS)
{
	Datum		b = DirectFunctionCall1(byteain, PG_GETARG_DATUM(0));

	return PairCountsFromBytea(DatumGetByteaPP(b));
}

/* Text output: the bytes in bytea hex form. */
Datum
bundlerec_paircounts_out(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteaout, PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}

/* Binary input. */
Datum
bundlerec_paircounts_recv(PG_FUNCTION_ARGS)
{
	Datum		b = DirectFunctionCall1(bytearecv, PG_GETARG_DATUM(0));

	return PairCountsFromBytea(DatumGetByteaPP(b));
}

/* Binary output. */
Datum
bundlerec_paircounts_send(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteasend, PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}
