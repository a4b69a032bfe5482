/*
 * output.h
 *	  Rows out of set-returning functions, and item keys as text.
 */
#ifndef OUTPUT_H
#define OUTPUT_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/tuplestore.h"

#include "items.h"

extern Tuplestorestate *StartRowsOutput(FunctionCallInfo fcinfo,
										TupleDesc *tupdesc);
extern Datum *ItemKeyTexts(const ItemDict *dict, const int32 *ids, int32 n);

#endif							/* OUTPUT_H */
