/*
 * baskets.h
 *	  Baskets as sorted, deduplicated lists of item ids.
 */
#ifndef BASKETS_H
#define BASKETS_H

#include "postgres.h"

#include "utils/array.h"

#include "bundlerec.h"
#include "items.h"

/*
 * Baskets are stored back to back as [n, id_1, ..., id_n] with the ids of a
 * basket sorted and distinct, so an item counts once per basket however many
 * lines or units of it the order has.
 */
typedef struct BasketStore
{
	Budget		budget;
	ItemDict   *dict;
	int64		n_baskets;		/* baskets seen, empty ones included */
	int64		n_entries;		/* distinct (basket, item) entries */
	int32	   *data;
	int64		len;			/* used int32 slots of data */
	int64		cap;
	int32	   *scratch;		/* one basket's ids while adding */
	int32		scratch_cap;
} BasketStore;

/*
 * The items held by at least a minimum number of baskets, numbered
 * 0..n-1 in key order ("kept ids").
 */
typedef struct FrequentItems
{
	int32		n;
	int32	   *newid;			/* dictionary id -> kept id, or -1 */
	int32	   *item_src;		/* kept id -> dictionary id */
	int64	   *item_count;		/* kept id -> baskets holding it */
} FrequentItems;

extern BasketStore *BasketStoreCreate(Oid item_type, Oid collation,
									  const char *what);
extern void BasketStoreAddArray(BasketStore *store, ArrayType *arr);
extern void BasketStoreReserve(BasketStore *store, int64 slots);
extern void BasketStoreAddIds(BasketStore *store, int32 *ids, int32 n);
extern void BasketStoreMerge(BasketStore *dst, const BasketStore *src);
extern int64 *BasketStoreItemCounts(const BasketStore *store);
extern int64 MinCountForSupport(double min_support, int64 n_baskets);
extern void KeepFrequentItems(const BasketStore *store, int64 min_count,
							  Budget *budget, FrequentItems *kept);
extern void FrequentItemsFree(FrequentItems *kept, Budget *budget);
extern Size BasketStoreSerialSize(const BasketStore *store);
extern char *BasketStoreSerialize(const BasketStore *store, char *dst);
extern BasketStore *BasketStoreDeserialize(const char *src, Size len,
										   const char *what);
extern void BasketStoreEncodeCompact(const BasketStore *store, StringInfo buf);
extern BasketStore *BasketStoreDecodeCompact(const char *src, Size len,
											 const char *what);

#endif							/* BASKETS_H */
