/*
 * basket_agg.h
 *	  State of the aggregates over basket arrays.
 */
#ifndef BASKET_AGG_H
#define BASKET_AGG_H

#include "postgres.h"

#include "fmgr.h"

#include "baskets.h"

/* A basket aggregate's state (behind a basketstate Datum). */
typedef struct BasketAggState
{
	BasketStore *store;
	int64		min_count;		/* second argument of pair_counts, else 1 */
} BasketAggState;

extern MemoryContext CheckAggContext(FunctionCallInfo fcinfo, const char *fname);
extern void CheckMinCount(int64 min_count);
extern BasketAggState *BasketStateRead(Datum value);
extern BasketStore *BasketSetOpen(Datum value, const char *what);
extern Datum CheckedVarlena(Datum bytes, void (*check) (bytea *));

#endif							/* BASKET_AGG_H */
