/*
 * measures.h
 *	  Association measures of an item pair from its counts.
 */
#ifndef MEASURES_H
#define MEASURES_H

#include "postgres.h"

typedef struct PairMeasures
{
	double		support;
	double		confidence_ab;	/* P(b | a) */
	double		confidence_ba;	/* P(a | b) */
	double		lift;
	double		jaccard;
	double		cosine;
	double		leverage;
	double		conviction_ab;	/* a => b; Infinity when P(b | a) = 1 */
	double		conviction_ba;
	double		fisher_p;		/* one-sided Fisher exact test, P(X >= ab) */
} PairMeasures;

/* Measures a pair can be ranked by (bundlerec.item_pairs' rank_by). */
typedef enum RankBy
{
	RANK_COUNT,
	RANK_SUPPORT,
	RANK_CONFIDENCE,
	RANK_LIFT,
	RANK_JACCARD,
	RANK_COSINE,
	RANK_LEVERAGE,
	RANK_CONVICTION,
	RANK_FISHER
} RankBy;

extern void ComputePairMeasures(int64 n, int64 a, int64 b, int64 ab,
								PairMeasures *m);
extern double FisherLogP(int64 n, int64 a, int64 b, int64 ab);
extern double ShrunkNpmi(double n, double ca, double cb, double cab,
						 double shrinkage);
extern RankBy ParseRankBy(const char *name);
extern double RankScore(RankBy rank, int64 n, int64 item, int64 partner,
						int64 ab);

#endif							/* MEASURES_H */
