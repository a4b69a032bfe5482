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

extern void TopKInit(TopK *t, int cap);
extern void TopKPush(TopK *t, double score, int32 id);
extern void TopKSort(TopK *t);

#endif							/* TOPK_H */
