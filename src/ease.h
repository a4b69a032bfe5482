/*
 * ease.h
 *	  EASE item-item weights: the dense inverse (ease.c) and the sparse
 *	  neighbourhood regressions for larger catalogues (ease_sparse.c).
 */
#ifndef EASE_H
#define EASE_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "utils/array.h"
#include "utils/tuplestore.h"

#include "interactions.h"

typedef struct EaseParams
{
	double		lambda;
	int			top_k;
	int			min_count;
	bool		binary;			/* no weight column: X is 0/1 */
	bool		keep_negative;	/* top_k by |B_ij|, signed (dense only) */
	int			neighborhood;	/* sparse: regressors per item */
} EaseParams;

/* Items bought by at least min_count customers, numbered in key order. */
typedef struct EaseItems
{
	int32		n;
	int32	   *keep;			/* column -> kept index, or -1 */
	int32	   *kept_col;		/* kept index -> column */
} EaseItems;

extern void EaseKeepItems(const Interactions *m, int min_count, EaseItems *items);
extern bool EaseDenseFits(const Interactions *m, int32 n);
extern void EaseDense(Interactions *m, const EaseParams *p, const EaseItems *items,
					  ArrayType *neighbors, Tuplestorestate *ts, TupleDesc tupdesc);
extern void EaseSparse(Interactions *m, const EaseParams *p, const EaseItems *items,
					   Tuplestorestate *ts, TupleDesc tupdesc);

#endif							/* EASE_H */
