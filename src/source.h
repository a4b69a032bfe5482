/*
 * source.h
 *	  Reading order lines from a user's table or view, and other tables
 *	  through SPI.
 */
#ifndef SOURCE_H
#define SOURCE_H

#include "postgres.h"

#include "fmgr.h"
#include "tcop/dest.h"
#include "utils/portal.h"

#include "baskets.h"
#include "progress.h"

extern const char *CheckSourceName(FunctionCallInfo fcinfo, int argno,
								   const char *param);
extern AttrNumber SourceColumn(Oid relid, const char *name, const char *param);
extern char *RelationSqlName(Oid relid);
extern bool FetchRows(Portal portal, Progress *progress, int64 *nread);
extern void CheckSourceRelation(Oid relid, const char *hint);
extern void ReceiverInit(DestReceiver *r,
						 bool (*receive) (TupleTableSlot *, DestReceiver *));
extern void RunQueryInto(const char *query, DestReceiver *r, const char *what);
extern void RunQueryWithArgs(const char *query, int nargs, const Oid *argtypes,
							 const Datum *values, DestReceiver *r,
							 const char *what);
extern BasketStore *ReadSourceArgs(FunctionCallInfo fcinfo, const char *what);
extern BasketStore *ReadSourceBaskets(Oid relid, const char *basket_col,
									  const char *item_col, const char *what,
									  int64 *skipped);

#endif							/* SOURCE_H */
