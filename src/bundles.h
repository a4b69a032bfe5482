/*
 * bundles.h
 *	  What bundle scoring and generation know about a source: baskets, the
 *	  baskets of each item, prices, categories and pair counts on demand.
 */
#ifndef BUNDLES_H
#define BUNDLES_H

#include "postgres.h"

#include "fmgr.h"

#include "baskets.h"
#include "item_attributes.h"
#include "linalg.h"

typedef struct PairCacheHash PairCacheHash;
typedef struct ContentSims ContentSims;

typedef struct BundleData
{
	BasketStore *store;
	ItemDict   *dict;
	int32		n_items;
	int64		n_baskets;		/* N of every measure, as in item_pairs */
	int64		n_records;
	int64	   *basket_off;		/* basket -> offset of its [n, ids...] */
	int64	   *count;			/* item -> baskets holding it */
	int64	   *tid_start;		/* item -> first entry in tid */
	int32	   *tid;			/* baskets of each item, ascending */
	int32	   *key_rank;		/* item -> position in key order */
	int32	   *by_rank;		/* position in key order -> item */
	double	   *price;			/* item -> price, NaN when unknown */
	char	  **category;		/* item -> category, NULL when unknown */
	double		median_price;	/* NaN when no item has a price */
	struct paircache_hash *pairs;	/* (a, b) -> baskets holding both */
	Size		pair_bytes;
} BundleData;

/* cols: price, category, ordered_at, price_window; basket and item are the call's */
extern BundleData *LoadBundleData(FunctionCallInfo fcinfo,
								  const ItemColumns *cols, const char *what);
extern bool BasketHolds(const BundleData *d, int32 basket, int32 item);
extern int64 PairCount(BundleData *d, int32 a, int32 b);
extern int32 BasketsHoldingAll(const BundleData *d, const int32 *items, int n,
							   int32 *out);
extern ContentSims *LoadContentSims(Oid relid, BundleData *d);
extern double ContentSim(const ContentSims *c, int32 a, int32 b);
extern int32 FilterBaskets(const BundleData *d, const int32 *in, int32 n,
						   int32 item, int32 *out);

#endif							/* BUNDLES_H */
