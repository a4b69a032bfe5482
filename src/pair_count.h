/*
 * pair_count.h
 *	  Exact co-occurrence counts of item pairs.
 */
#ifndef PAIR_COUNT_H
#define PAIR_COUNT_H

#include "postgres.h"

#include "baskets.h"

/*
 * Counts of the pairs that pass a threshold.  Kept items are numbered
 * 0..n_items-1 in key order and pairs are listed by (a, b) with a < b, so
 * rows come out in the same order whatever the input order or worker count.
 */
typedef struct PairTable
{
	Budget	   *budget;
	int64		n_baskets;
	int32		n_items;
	int32	   *item_src;		/* kept id -> dictionary id */
	int64	   *item_count;		/* kept id -> baskets holding it */
	int64		n_pairs;
	int64		cap;
	int32	   *pa;
	int32	   *pb;
	int64	   *cnt;
	bool		owned;			/* arrays allocated here (not a view) */
} PairTable;

extern PairTable *CountPairs(const BasketStore *store, int64 min_count,
							 Budget *budget);
extern void PairTableFree(PairTable *pt);

#endif							/* PAIR_COUNT_H */
