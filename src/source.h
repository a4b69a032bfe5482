/*
 * source.h
 *	  Reading order lines from a user's table or view.
 */
#ifndef SOURCE_H
#define SOURCE_H

#include "postgres.h"

#include "fmgr.h"

#include "baskets.h"

extern const char *CheckSourceName(FunctionCallInfo fcinfo, int argno,
								   const char *param);
extern BasketStore *ReadSourceArgs(FunctionCallInfo fcinfo, const char *what);
extern BasketStore *ReadSourceBaskets(Oid relid, const char *basket_col,
									  const char *item_col, const char *what,
									  int64 *skipped);

#endif							/* SOURCE_H */
