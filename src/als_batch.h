/*
 * als_batch.h
 *	  Scoring many factor rows against every item at once, shared by the
 *	  refresh stages that pick ALS candidates.
 */
#ifndef ALS_BATCH_H
#define ALS_BATCH_H

#include "postgres.h"

#include "linalg.h"
#include "topk.h"

#define ALS_SCORE_BLOCK 256		/* rows scored per SGEMM */

extern void AlsScoreBlock(const float *rows_v, int32 rows, const FactorTable *items,
						  float *scores);
extern void AlsRowTopK(TopK *top, const float *scores, int32 n, int32 skip);

#endif							/* ALS_BATCH_H */
