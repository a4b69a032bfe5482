/*
 * itemsets.h
 *	  Frequent itemsets of any size, mined from baskets.
 */
#ifndef ITEMSETS_H
#define ITEMSETS_H

#include "postgres.h"

#include "baskets.h"

/* bundlerec.max_itemsets */
extern int	bundlerec_max_itemsets;

/*
 * Frequent itemsets sorted by size, then item by item in key order.  Items
 * are kept ids (0..n_items-1, in key order); itemset i holds
 * items[start[i] .. start[i + 1]).
 */
typedef struct ItemsetTable
{
	Budget	   *budget;
	int64		n_baskets;
	FrequentItems kept;
	int64		n_sets;
	int64		cap_sets;
	int64	   *start;			/* n_sets + 1 offsets */
	int64	   *count;
	int32	   *items;
	int64		cap_items;
} ItemsetTable;

extern ItemsetTable *MineItemsets(const BasketStore *store, int64 min_count,
								  int32 max_size, Budget *budget);
typedef struct ItemsetIndex ItemsetIndex;

extern ItemsetIndex *ItemsetIndexBuild(const ItemsetTable *table);
extern int64 ItemsetIndexFind(ItemsetIndex *index, const int32 *items,
							  int32 n);
extern void ItemsetTableFree(ItemsetTable *table);

#endif							/* ITEMSETS_H */
