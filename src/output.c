/*
 * output.c
 *	  Rows out of set-returning functions, and item keys as text.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

#include "output.h"

/* Set up materialize-mode SRF output; returns the tuplestore. */
Tuplestorestate *
StartRowsOutput(FunctionCallInfo fcinfo, TupleDesc *tupdesc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	Tuplestorestate *ts;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	*tupdesc = CreateTupleDescCopy(*tupdesc);
	ts = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = ts;
	rsinfo->setDesc = *tupdesc;
	MemoryContextSwitchTo(old);
	return ts;
}

/* Text Datums of the keys of dictionary ids ids[0..n). */
Datum *
ItemKeyTexts(const ItemDict *dict, const int32 *ids, int32 n)
{
	Datum	   *keys = palloc(mul_size(sizeof(Datum), Max(n, 1)));
	int32		i;

	for (i = 0; i < n; i++)
		keys[i] = ItemDictKey(dict, ids[i], TEXTOID);
	return keys;
}
