/*
 * interactions.h
 *	  Customer x item interaction matrices, by customer and by item.
 */
#ifndef INTERACTIONS_H
#define INTERACTIONS_H

#include "postgres.h"

#include "fmgr.h"

#include "bundlerec.h"
#include "items.h"

/*
 * A sparse customers x items matrix of positive weights, held twice: rows
 * (customer -> items, item ids ascending) and columns (item -> customers,
 * customer ids ascending).  Duplicate (customer, item) lines are summed;
 * pairs whose sum is not positive (returns that cancel a purchase) are gone.
 */
typedef struct Interactions
{
	Budget		budget;
	ItemDict   *customers;
	ItemDict   *items;
	Oid			customer_type;	/* the source columns' types */
	Oid			item_type;
	int32		n_customers;	/* those with at least one positive pair */
	int32		n_items;
	int32	   *customer_key;	/* row -> customers dictionary id */
	int32	   *item_key;		/* column -> items dictionary id */
	int64		nnz;
	int64	   *row_start;		/* n_customers + 1 */
	int32	   *row_item;
	float	   *row_weight;
	int64	   *col_start;		/* n_items + 1 */
	int32	   *col_customer;
	float	   *col_weight;
	int64		skipped_null;	/* lines without customer, item or weight */
	int64		dropped;		/* pairs with a weight sum <= 0 */
} Interactions;

/* Lines as they arrive, before grouping. */
typedef struct TripletBuffer
{
	Budget	   *budget;
	int32	   *row;
	int32	   *col;
	double	   *val;
	int64		n;
	int64		cap;
} TripletBuffer;

extern void TripletInit(TripletBuffer *buf, Budget *budget, int64 cap);
extern void TripletAdd(TripletBuffer *buf, int32 row, int32 col, double val);
extern void InteractionsBuild(Interactions *m, TripletBuffer *buf);
extern Interactions *ReadInteractions(Oid relid, const char *customer_col,
									  const char *item_col, const char *weight_col,
									  const char *what);
extern Interactions *ReadInteractionArgs(FunctionCallInfo fcinfo, int weight_arg,
										 const char *what);
extern Interactions *TransposeInteractions(Interactions *m);
extern int32 *ItemColumnRanks(const Interactions *m, int32 **col_of_rank);
extern const char *RequiredName(FunctionCallInfo fcinfo, int argno,
								const char *param, const char *example);

#endif							/* INTERACTIONS_H */
