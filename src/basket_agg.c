/*
 * basket_agg.c
 *	  Aggregates over basket arrays: the shared transition and combine
 *	  functions, their state type basketstate, and bundlerec.basket_set(),
 *	  whose result type basketset carries encoded baskets to the itemset miner.
 *
 * The transition state is a basketstate: encoded baskets plus an item
 * dictionary.  While an aggregate runs it is an expanded object in the
 * aggregate's memory, grown in place row by row (nodeAgg keeps a read-write
 * expanded state without copying it).  It is flattened only when shipped:
 * from a parallel worker to the leader, and, through its text form, from a
 * Citus worker to the coordinator, which is why it is not "internal" (Citus
 * pushes down partial aggregation only for a concrete state type).
 */
#include "postgres.h"

#include "common/base64.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

#include "basket_agg.h"
#include "varint.h"

#define AGG_SERIAL_MAGIC 0x42525331	/* "BRS1" */
#define STATE_TEXT_PREFIX "1:"	/* version of the text form */

/* Flat basketstate: header, then the basket store's serial form. */
typedef struct BasketStateFlat
{
	int32		vl_len_;
	uint32		magic;
	uint32		pad;
	int64		min_count;
	/* BasketStoreSerialize output follows */
} BasketStateFlat;

/* Expanded basketstate: the live state of one aggregate. */
typedef struct BasketStateExpanded
{
	ExpandedObjectHeader hdr;
	BasketAggState state;
} BasketStateExpanded;

static Size BasketStateFlatSize(ExpandedObjectHeader *eohptr);
static void BasketStateFlattenInto(ExpandedObjectHeader *eohptr,
								   void *result, Size allocated_size);

static const ExpandedObjectMethods BasketStateMethods =
{
	BasketStateFlatSize,
	BasketStateFlattenInto
};

PG_FUNCTION_INFO_V1(bundlerec_basket_agg_trans);
PG_FUNCTION_INFO_V1(bundlerec_basket_agg_combine);
PG_FUNCTION_INFO_V1(bundlerec_basket_set_final);
PG_FUNCTION_INFO_V1(bundlerec_basketset_in);
PG_FUNCTION_INFO_V1(bundlerec_basketset_out);
PG_FUNCTION_INFO_V1(bundlerec_basketset_recv);
PG_FUNCTION_INFO_V1(bundlerec_basketset_send);
PG_FUNCTION_INFO_V1(bundlerec_basketstate_in);
PG_FUNCTION_INFO_V1(bundlerec_basketstate_out);
PG_FUNCTION_INFO_V1(bundlerec_basketstate_recv);
PG_FUNCTION_INFO_V1(bundlerec_basketstate_send);

/*
 * Aggregate memory context, or an error when not called as an aggregate
 * (the support functions take SQL types, so anyone may call them).
 */
MemoryContext
CheckAggContext(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called by an aggregate", fname),
				 errhint("Call the aggregates instead: pair_counts(), basket_set(), basket_state() or pair_counts_merge().")));
	return aggcxt;
}

/* Error unless min_count is a usable pair threshold. */
void
CheckMinCount(int64 min_count)
{
	if (min_count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be at least 1, not " INT64_FORMAT, min_count),
				 errhint("min_count is the smallest number of baskets a pair must share.")));
}

/* Error unless two states count pairs with the same threshold. */
static void
CheckSameMinCount(int64 a, int64 b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be the same for every row of one aggregate"),
				 errdetail("Rows ask for min_count " INT64_FORMAT " and " INT64_FORMAT ".",
						   a, b),
				 errhint("Pass min_count as a constant.")));
}

/* Report a damaged flat basketstate; why is a full sentence. */
static void
CorruptBasketState(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid bundlerec.basketstate value"),
			 errdetail("%s", why),
			 errhint("Basket states are written by the bundlerec basket aggregates (pair_counts, basket_set); pass them on unchanged.")));
}

/* Bytes of the flat form of a state. */
static Size
BasketStateFlatSize(ExpandedObjectHeader *eohptr)
{
	BasketStateExpanded *eo = (BasketStateExpanded *) eohptr;
	Size		size;

	size = add_size(sizeof(BasketStateFlat), BasketStoreSerialSize(eo->state.store));
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bundlerec basket state is too large to pass on"),
				 errdetail("It needs %zu bytes; a value holds at most %zu.",
						   size, (Size) MaxAllocSize),
				 errhint("Aggregate fewer baskets per group, or run the query without parallel workers: SET max_parallel_workers_per_gather = 0.")));
	return size;
}

/* Write the flat form of a state into result (allocated_size bytes). */
static void
BasketStateFlattenInto(ExpandedObjectHeader *eohptr, void *result,
					   Size allocated_size)
{
	BasketStateExpanded *eo = (BasketStateExpanded *) eohptr;
	BasketStateFlat *flat = (BasketStateFlat *) result;
	char	   *end;

	memset(flat, 0, sizeof(BasketStateFlat));
	SET_VARSIZE(flat, allocated_size);
	flat->magic = AGG_SERIAL_MAGIC;
	flat->min_count = eo->state.min_count;
	end = BasketStoreSerialize(eo->state.store, (char *) (flat + 1));
	if (end != (char *) result + allocated_size)
		elog(ERROR, "basketstate size mismatch, please report a bug");
}

/* New empty expanded state in its own child context of parent. */
static BasketStateExpanded *
BasketStateNew(MemoryContext parent)
{
	MemoryContext objcxt = AllocSetContextCreate(parent, "bundlerec basket state",
												 ALLOCSET_DEFAULT_SIZES);
	BasketStateExpanded *eo = MemoryContextAllocZero(objcxt, sizeof(BasketStateExpanded));

	EOH_init_header(&eo->hdr, &BasketStateMethods, objcxt);
	return eo;
}

/* Checked header of a flat state; returns its store bytes and their length. */
static const char *
BasketStateFlatOpen(const BasketStateFlat *flat, int64 *min_count, Size *len)
{
	Size		size = VARSIZE(flat);

	if (size < sizeof(BasketStateFlat))
		CorruptBasketState("The value is shorter than its header.");
	if (flat->magic != AGG_SERIAL_MAGIC)
		CorruptBasketState("The header has a wrong format word.");
	if (flat->min_count < 1)
		CorruptBasketState("The state's min_count is below 1.");
	*min_count = flat->min_count;
	*len = size - sizeof(BasketStateFlat);
	return (const char *) (flat + 1);
}

/* Decode a flat state into a store in the current memory context. */
static BasketStore *
BasketStoreFromFlat(const BasketStateFlat *flat, int64 *min_count)
{
	Size		len;
	const char *p = BasketStateFlatOpen(flat, min_count, &len);

	return BasketStoreDeserialize(p, len, "bundlerec basket aggregate");
}

/* The expanded state behind a Datum, or NULL when the Datum is flat. */
static BasketStateExpanded *
BasketStateExpandedOf(Datum value)
{
	ExpandedObjectHeader *eoh;

	if (!VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(value)))
		return NULL;
	eoh = DatumGetEOHP(value);
	if (eoh->eoh_methods != &BasketStateMethods)
		elog(ERROR, "expanded object is not a basketstate, please report a bug");
	return (BasketStateExpanded *) eoh;
}

/* New expanded state under parent holding a copy of value's baskets. */
static BasketStateExpanded *
BasketStateCopy(Datum value, MemoryContext parent)
{
	BasketStateExpanded *src = BasketStateExpandedOf(value);
	BasketStateExpanded *eo = BasketStateNew(parent);
	/* a toasted value is detoasted here, not into the new state's memory */
	BasketStateFlat *flat = src ? NULL : (BasketStateFlat *) PG_DETOAST_DATUM(value);
	MemoryContext old = MemoryContextSwitchTo(eo->hdr.eoh_context);

	if (src != NULL)
	{
		eo->state.min_count = src->state.min_count;
		eo->state.store = BasketStoreCreate(ItemDictType(src->state.store->dict),
											ItemDictCollation(src->state.store->dict),
											"bundlerec basket aggregate");
		BasketStoreMerge(eo->state.store, src->state.store);
	}
	else
		eo->state.store = BasketStoreFromFlat(flat, &eo->state.min_count);
	MemoryContextSwitchTo(old);
	return eo;
}

/*
 * The state a transition or combine function may grow: the read-write
 * expanded state it was passed, else a copy in the aggregate context.
 */
static BasketStateExpanded *
BasketStateForUpdate(Datum value, MemoryContext aggcxt)
{
	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(value)))
		return BasketStateExpandedOf(value);
	return BasketStateCopy(value, aggcxt);
}

/*
 * The state behind a Datum for reading: the expanded object itself, or a
 * decoded flat value in the current memory context.
 */
BasketAggState *
BasketStateRead(Datum value)
{
	BasketStateExpanded *eo = BasketStateExpandedOf(value);
	BasketAggState *state;

	if (eo != NULL)
		return &eo->state;
	state = palloc0(sizeof(BasketAggState));
	state->store = BasketStoreFromFlat((BasketStateFlat *) PG_DETOAST_DATUM(value),
									   &state->min_count);
	return state;
}

/* Transition: add one basket array; NULL baskets are skipped. */
Datum
bundlerec_basket_agg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = CheckAggContext(fcinfo, "bundlerec.basket_agg_trans");
	BasketStateExpanded *eo = NULL;
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
	}
	if (!PG_ARGISNULL(0))
	{
		eo = BasketStateForUpdate(PG_GETARG_DATUM(0), aggcxt);
		CheckSameMinCount(eo->state.min_count, min_count);
	}
	if (PG_ARGISNULL(1))
	{
		if (eo == NULL)
			PG_RETURN_NULL();
		PG_RETURN_DATUM(EOHPGetRWDatum(&eo->hdr));
	}
	arr = PG_GETARG_ARRAYTYPE_P(1);

	if (eo == NULL)
	{
		CheckItemType(ARR_ELEMTYPE(arr), "basket array element");
		eo = BasketStateNew(aggcxt);
		old = MemoryContextSwitchTo(eo->hdr.eoh_context);
		eo->state.store = BasketStoreCreate(ARR_ELEMTYPE(arr), PG_GET_COLLATION(),
											"bundlerec basket aggregate");
		eo->state.min_count = min_count;
	}
	else
		old = MemoryContextSwitchTo(eo->hdr.eoh_context);
	BasketStoreAddArray(eo->state.store, arr);
	MemoryContextSwitchTo(old);
	PG_RETURN_DATUM(EOHPGetRWDatum(&eo->hdr));
}

/* Combine: append the baskets of the second state to the first. */
Datum
bundlerec_basket_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = CheckAggContext(fcinfo, "bundlerec.basket_agg_combine");
	BasketStateExpanded *dst;
	BasketStateExpanded *src;
	MemoryContext work;
	MemoryContext old;
	BasketStore *store;
	int64		min_count;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(0))
	{
		/* the second state may live in a short-lived context: copy it */
		dst = BasketStateCopy(PG_GETARG_DATUM(1), aggcxt);
		PG_RETURN_DATUM(EOHPGetRWDatum(&dst->hdr));
	}
	dst = BasketStateForUpdate(PG_GETARG_DATUM(0), aggcxt);
	src = BasketStateExpandedOf(PG_GETARG_DATUM(1));
	if (src != NULL)
	{
		CheckSameMinCount(dst->state.min_count, src->state.min_count);
		old = MemoryContextSwitchTo(dst->hdr.eoh_context);
		BasketStoreMerge(dst->state.store, src->state.store);
		MemoryContextSwitchTo(old);
		PG_RETURN_DATUM(EOHPGetRWDatum(&dst->hdr));
	}

	/* a shipped state: decode it aside, merge, drop the copy */
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec basket state combine",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	store = BasketStoreFromFlat((BasketStateFlat *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1)),
								&min_count);
	CheckSameMinCount(dst->state.min_count, min_count);
	MemoryContextSwitchTo(dst->hdr.eoh_context);
	BasketStoreMerge(dst->state.store, store);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	PG_RETURN_DATUM(EOHPGetRWDatum(&dst->hdr));
}

/* Flat basketstate from bytes received from outside, checked. */
static Datum
BasketStateFromBytes(const char *bytes, Size len)
{
	BasketStateFlat *flat;
	MemoryContext work;
	MemoryContext old;
	int64		min_count;

	if (len > MaxAllocSize - VARHDRSZ)
		CorruptBasketState("The value is longer than a value can be.");
	flat = palloc(len + VARHDRSZ);
	SET_VARSIZE(flat, len + VARHDRSZ);
	memcpy(VARDATA(flat), bytes, len);
	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec basket state check",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	BasketStoreFromFlat(flat, &min_count);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	PG_RETURN_POINTER(flat);
}

/* Report text that is not a basketstate's text form. */
static void
BadBasketStateText(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type bundlerec.basketstate"),
			 errdetail("%s", why),
			 errhint("Basket states are written by the bundlerec basket aggregates; pass their text on unchanged.")));
}

/* Flat basketstate holding a store, in the current memory context. */
static BasketStateFlat *
BasketStateFlatFrom(const BasketStore *store, int64 min_count)
{
	Size		size = add_size(sizeof(BasketStateFlat), BasketStoreSerialSize(store));
	BasketStateFlat *flat;

	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bundlerec basket state is too large to pass on"),
				 errdetail("It needs %zu bytes; a value holds at most %zu.",
						   size, (Size) MaxAllocSize),
				 errhint("Aggregate fewer baskets per group, or per node when Citus ships the state.")));
	flat = palloc0(size);
	SET_VARSIZE(flat, size);
	flat->magic = AGG_SERIAL_MAGIC;
	flat->min_count = min_count;
	BasketStoreSerialize(store, (char *) (flat + 1));
	return flat;
}

/*
 * Text input: "1:" (the version of the text form) then, in base64, min_count
 * and the baskets in the compact wire form (BasketStoreEncodeCompact).
 */
Datum
bundlerec_basketstate_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	Size		slen = strlen(str);
	Size		plen = strlen(STATE_TEXT_PREFIX);
	char	   *bytes;
	int			nbytes;
	const char *p;
	uint64		min_count;
	MemoryContext work;
	MemoryContext old;
	BasketStore *store;
	BasketStateFlat *flat;

	if (slen < plen || memcmp(str, STATE_TEXT_PREFIX, plen) != 0)
		BadBasketStateText("The value does not start with the format version \"" STATE_TEXT_PREFIX "\".");
	if (slen - plen > (Size) PG_INT32_MAX)
		BadBasketStateText("The value is longer than a value can be.");
	nbytes = pg_b64_dec_len((int) (slen - plen));
	bytes = palloc(nbytes + 1);
	nbytes = pg_b64_decode(str + plen, (int) (slen - plen), bytes, nbytes + 1);
	if (nbytes < 0)
		BadBasketStateText("The text after the format version is not valid base64.");
	p = bytes;
	if (!VarintRead(&p, bytes + nbytes, &min_count))
		CorruptBasketState("The value is shorter than its header.");
	if (min_count < 1 || min_count > (uint64) PG_INT64_MAX)
		CorruptBasketState("The state's min_count is below 1.");

	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec basket state input",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	store = BasketStoreDecodeCompact(p, (Size) (bytes + nbytes - p),
									 "bundlerec.basketstate input");
	MemoryContextSwitchTo(old);
	flat = BasketStateFlatFrom(store, (int64) min_count);
	MemoryContextDelete(work);
	pfree(bytes);
	PG_RETURN_POINTER(flat);
}

/* Text output: "1:" then min_count and the compact baskets in base64. */
Datum
bundlerec_basketstate_out(PG_FUNCTION_ARGS)
{
	MemoryContext outcxt = CurrentMemoryContext;
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext,
											   "bundlerec basket state output",
											   ALLOCSET_DEFAULT_SIZES);
	BasketAggState *state;
	StringInfoData buf;
	Size		plen = strlen(STATE_TEXT_PREFIX);
	int			outlen;
	char	   *out;
	int			n;

	/* a flat state is decoded, and the wire form built, aside */
	MemoryContextSwitchTo(work);
	state = BasketStateRead(PG_GETARG_DATUM(0));
	initStringInfo(&buf);
	VarintAppend(&buf, (uint64) state->min_count);
	BasketStoreEncodeCompact(state->store, &buf);
	/* base64 takes 4 characters for every 3 bytes */
	if ((Size) buf.len > (MaxAllocSize - plen - 8) / 4 * 3)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bundlerec basket state is too large for its text form"),
				 errdetail("The state takes %d bytes; its text form holds at most %zu.",
						   buf.len, (MaxAllocSize - plen - 8) / 4 * 3),
				 errhint("Aggregate fewer baskets per group, or per node when Citus ships the state.")));
	outlen = pg_b64_enc_len(buf.len);
	out = MemoryContextAlloc(outcxt, plen + outlen + 1);
	memcpy(out, STATE_TEXT_PREFIX, plen);
	n = pg_b64_encode(buf.data, buf.len, out + plen, outlen);
	if (n < 0)
		elog(ERROR, "base64 encoding of a basketstate failed, please report a bug");
	out[plen + n] = '\0';
	MemoryContextSwitchTo(outcxt);
	MemoryContextDelete(work);
	PG_RETURN_CSTRING(out);
}

/* Binary input: the flat bytes, checked. */
Datum
bundlerec_basketstate_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	Size		len = buf->len - buf->cursor;
	Datum		result = BasketStateFromBytes(buf->data + buf->cursor, len);

	buf->cursor = buf->len;
	return result;
}

/* Binary output: the flat bytes. */
Datum
bundlerec_basketstate_send(PG_FUNCTION_ARGS)
{
	struct varlena *flat = PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	bytea	   *out = palloc(VARSIZE(flat));

	memcpy(out, flat, VARSIZE(flat));
	PG_RETURN_BYTEA_P(out);
}

/* Final of basket_set: the encoded baskets as a basketset value. */
Datum
bundlerec_basket_set_final(PG_FUNCTION_ARGS)
{
	BasketAggState *state;
	Size		size;
	bytea	   *out;
	char	   *end;

	CheckAggContext(fcinfo, "bundlerec.basket_set_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = BasketStateRead(PG_GETARG_DATUM(0));
	size = add_size(VARHDRSZ, BasketStoreSerialSize(state->store));
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many baskets for one basketset value"),
				 errdetail("A basketset value holds at most 1 GB."),
				 errhint("Pass the order lines table to the function instead, or mine a subset.")));
	out = palloc(size);
	SET_VARSIZE(out, size);
	end = BasketStoreSerialize(state->store, VARDATA(out));
	if (end != (char *) out + size)
		elog(ERROR, "basketset size mismatch, please report a bug");
	PG_RETURN_POINTER(out);
}

/* Baskets of a basketset Datum, checked and decoded. */
BasketStore *
BasketSetOpen(Datum value, const char *what)
{
	bytea	   *v = DatumGetByteaPP(value);

	return BasketStoreDeserialize(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), what);
}

/* Check bytes from outside against a decoder and return them as a value. */
Datum
CheckedVarlena(Datum bytes, void (*check) (bytea *))
{
	bytea	   *b = DatumGetByteaPP(bytes);
	Size		len = VARSIZE_ANY_EXHDR(b);
	bytea	   *v = palloc(len + VARHDRSZ);

	SET_VARSIZE(v, len + VARHDRSZ);
	memcpy(VARDATA(v), VARDATA_ANY(b), len);
	check(v);
	PG_RETURN_POINTER(v);
}

/* Decode a basketset to check it. */
static void
CheckBasketSet(bytea *v)
{
	BasketSetOpen(PointerGetDatum(v), "bundlerec.basketset input");
}

/* Text input: the bytea hex form written by basketset_out. */
Datum
bundlerec_basketset_in(PG_FUNCTION_ARGS)
{
	return CheckedVarlena(DirectFunctionCall1(byteain, PG_GETARG_DATUM(0)),
						  CheckBasketSet);
}

/* Text output: the bytes in bytea hex form. */
Datum
bundlerec_basketset_out(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteaout, PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}

/* Binary input. */
Datum
bundlerec_basketset_recv(PG_FUNCTION_ARGS)
{
	return CheckedVarlena(DirectFunctionCall1(bytearecv, PG_GETARG_DATUM(0)),
						  CheckBasketSet);
}

/* Binary output. */
Datum
bundlerec_basketset_send(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteasend, PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}
