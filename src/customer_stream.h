/*
 * customer_stream.h
 *	  What the per-customer stages share: a model's customer and item
 *	  factors, and its customers streamed one at a time.
 */
#ifndef CUSTOMER_STREAM_H
#define CUSTOMER_STREAM_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"

#include "bundlerec.h"
#include "linalg.h"

/* One row of a customer; first is true on the customer's first row. */
typedef void (*CustomerRowFn) (void *arg, HeapTuple tup, TupleDesc desc, bool first);

/* The end of a customer's rows, called in a memory context reset afterwards. */
typedef void (*CustomerEndFn) (void *arg, Datum customer);

extern char *OnlyCustomersFilter(const char *column, Oid only);
extern void LoadModelFactors(Oid customer_rel, Oid item_rel, Oid only, Budget *budget,
							 FactorTable **cf, FactorTable **itf);
extern void StreamCustomers(const char *query, const char *what,
							CustomerRowFn row, CustomerEndFn end, void *arg);

#endif							/* CUSTOMER_STREAM_H */
