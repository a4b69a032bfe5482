/*
 * pair_agg.h
 *	  The paircounts value built by the bundlerec.pair_counts aggregate.
 */
#ifndef PAIR_AGG_H
#define PAIR_AGG_H

#include "postgres.h"

#include "items.h"
#include "pair_count.h"

extern PairTable *PairCountsOpen(Datum value, ItemDict **dict,
								 Budget *budget);

#endif							/* PAIR_AGG_H */
