/*
 * topk.h
 *	  The k best (score, id) pairs of a stream, with a binary min-heap.
 *	  Ties go to the smaller id, so results do not depend on arrival order.
 */
#ifndef TOPK_H
#define TOPK_H

#include "postgres.h"

typedef struct TopK
{
	int			cap;
	int			n;
	double	   *score;
	int32	   *id;
} TopK;

/*
 * One candidate partner of an item while choosing its k best: a min-heap of
 * at most k entries per item (worst on top), ties to the smaller partner id.
 * payload is the caller's (a pair index, a count).
 */
typedef struct TopEntry
{
	double		score;
	int32		partner;
	int64		payload;
} TopEntry;

extern void TopOffer(TopEntry *heap, int32 *size, int32 k, const TopEntry *e);
extern void TopEntriesSort(TopEntry *heap, int32 size);

extern void TopKInit(TopK *t, int cap);
extern void TopKPush(TopK *t, double score, int32 id);
extern void TopKSort(TopK *t);

#endif							/* TOPK_H */
