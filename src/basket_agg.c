/*
 * basket_agg.c
 *	  Aggregates over basket arrays: the shared transition, combine,
 *	  serialize and deserialize functions, and bundlerec.basket_set(), whose
 *	  result type basketset carries encoded baskets to the itemset miner.
 *
 * The transition state is "internal": encoded baskets plus an item
 * dictionary, grown in place row by row.  A state of an SQL type would be
 * copied on every row unless written as an expanded object.  Serialize,
 * deserialize and combine let PostgreSQL's parallel query split the input;
 * Citus does not push partial aggregation of an internal-state aggregate to
 * its workers (see README).
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "basket_agg.h"

#define AGG_SERIAL_MAGIC 0x42525331	/* "BRS1" */

PG_FUNCTION_INFO_V1(bundlerec_basket_agg_trans);
PG_FUNCTION_INFO_V1(bundlerec_basket_agg_combine);
PG_FUNCTION_INFO_V1(bundlerec_basket_agg_serialize);
PG_FUNCTION_INFO_V1(bundlerec_basket_agg_deserialize);
PG_FUNCTION_INFO_V1(bundlerec_basket_set_final);
PG_FUNCTION_INFO_V1(bundlerec_basketset_in);
PG_FUNCTION_INFO_V1(bundlerec_basketset_out);
PG_FUNCTION_INFO_V1(bundlerec_basketset_recv);
PG_FUNCTION_INFO_V1(bundlerec_basketset_send);

/* Aggregate memory context, or an error when not called as an aggregate. */
MemoryContext
CheckAggContext(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
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

/* Transition: add one basket array; NULL baskets are skipped. */
Datum
bundlerec_basket_agg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = CheckAggContext(fcinfo, "bundlerec_basket_agg_trans");
	BasketAggState *state = PG_ARGISNULL(0) ? NULL : (BasketAggState *) PG_GETARG_POINTER(0);
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
					 errmsg("min_count must be the same for every row of one aggregate")));
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
		CheckItemType(ARR_ELEMTYPE(arr), "basket array element");
		state = palloc0(sizeof(BasketAggState));
		state->store = BasketStoreCreate(ARR_ELEMTYPE(arr), PG_GET_COLLATION(),
										 "bundlerec basket aggregate");
		state->min_count = min_count;
	}
	BasketStoreAddArray(state->store, arr);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(state);
}

/* Combine: append the baskets of the second state to the first. */
Datum
bundlerec_basket_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = CheckAggContext(fcinfo, "bundlerec_basket_agg_combine");
	BasketAggState *s1 = PG_ARGISNULL(0) ? NULL : (BasketAggState *) PG_GETARG_POINTER(0);
	BasketAggState *s2 = PG_ARGISNULL(1) ? NULL : (BasketAggState *) PG_GETARG_POINTER(1);
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
		s1 = palloc0(sizeof(BasketAggState));
		s1->store = BasketStoreCreate(ItemDictType(s2->store->dict),
									  ItemDictCollation(s2->store->dict),
									  "bundlerec basket aggregate");
		s1->min_count = s2->min_count;
	}
	else if (s1->min_count != s2->min_count)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be the same for every row of one aggregate")));
	BasketStoreMerge(s1->store, s2->store);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(s1);
}

/* Serialize the state for a parallel worker's result. */
Datum
bundlerec_basket_agg_serialize(PG_FUNCTION_ARGS)
{
	BasketAggState *state;
	Size		size;
	bytea	   *out;
	char	   *p;
	uint32		magic = AGG_SERIAL_MAGIC;

	CheckAggContext(fcinfo, "bundlerec_basket_agg_serialize");
	state = (BasketAggState *) PG_GETARG_POINTER(0);
	size = add_size(VARHDRSZ + sizeof(uint32) + sizeof(int64),
					BasketStoreSerialSize(state->store));
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("bundlerec aggregate state of a parallel worker is too large to pass to the leader"),
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

/* Deserialize a state written by bundlerec_basket_agg_serialize. */
Datum
bundlerec_basket_agg_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *in;
	BasketAggState *state;
	const char *p;
	Size		len;
	uint32		magic = 0;

	CheckAggContext(fcinfo, "bundlerec_basket_agg_deserialize");
	in = PG_GETARG_BYTEA_PP(0);
	p = VARDATA_ANY(in);
	len = VARSIZE_ANY_EXHDR(in);
	if (len >= sizeof(uint32))
		memcpy(&magic, p, sizeof(uint32));
	if (len < sizeof(uint32) + sizeof(int64) || magic != AGG_SERIAL_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid bundlerec aggregate state"),
				 errdetail("The state is truncated or has a wrong format word."),
				 errhint("Aggregate states are passed between the workers of one query only.")));
	state = palloc0(sizeof(BasketAggState));
	memcpy(&state->min_count, p + sizeof(uint32), sizeof(int64));
	if (state->min_count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid bundlerec aggregate state"),
				 errdetail("The state's min_count " INT64_FORMAT " is below 1.", state->min_count),
				 errhint("Aggregate states are passed between the workers of one query only.")));
	state->store = BasketStoreDeserialize(p + sizeof(uint32) + sizeof(int64),
										  len - sizeof(uint32) - sizeof(int64),
										  "bundlerec basket aggregate");
	PG_RETURN_POINTER(state);
}

/* Final of basket_set: the encoded baskets as a basketset value. */
Datum
bundlerec_basket_set_final(PG_FUNCTION_ARGS)
{
	BasketAggState *state;
	Size		size;
	bytea	   *out;
	char	   *end;

	CheckAggContext(fcinfo, "bundlerec_basket_set_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (BasketAggState *) PG_GETARG_POINTER(0);
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
