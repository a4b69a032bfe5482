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

extern BasketStore *BasketStoreCreate(Oid item_type, Oid collation,
									  const char *what);
extern void CheckBasketArray(ArrayType *arr);
extern void BasketStoreAddArray(BasketStore *store, ArrayType *arr);
extern void BasketStoreAddIds(BasketStore *store, int32 *ids, int32 n);
extern void BasketStoreMerge(BasketStore *dst, const BasketStore *src);
extern int64 *BasketStoreItemCounts(const BasketStore *store);
extern Size BasketStoreSerialSize(const BasketStore *store);
extern char *BasketStoreSerialize(const BasketStore *store, char *dst);
extern BasketStore *BasketStoreDeserialize(const char *src, Size len,
										   const char *what);

#endif							/* BASKETS_H */
