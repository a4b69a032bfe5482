/*
 * neighbors.h
 *	  Similarity between the columns of an interaction matrix.
 */
#ifndef NEIGHBORS_H
#define NEIGHBORS_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "utils/tuplestore.h"

#include "interactions.h"

typedef enum SimilarityMeasure
{
	SIM_COSINE,
	SIM_PEARSON,
	SIM_ADJUSTED_COSINE
} SimilarityMeasure;

extern SimilarityMeasure ParseSimilarity(const char *name);
extern void EmitNeighbors(Interactions *m, SimilarityMeasure measure, bool binary,
						  int top_k, int64 min_common, double shrinkage,
						  Tuplestorestate *ts, TupleDesc tupdesc);

#endif							/* NEIGHBORS_H */
