/*
 * item_attributes.h
 *	  An item's price, category and name from its order lines: the one rule
 *	  that a model's items and bundle scoring both read.
 */
#ifndef ITEM_ATTRIBUTES_H
#define ITEM_ATTRIBUTES_H

#include "postgres.h"

#include "tcop/dest.h"

/* Columns of the source; NULL for an optional one means none. */
typedef struct ItemColumns
{
	const char *basket;
	const char *item;
	const char *price;
	const char *ordered_at;
	const char *category;
	const char *name;
	Datum		price_window;	/* interval */
} ItemColumns;

/* The rows sent: (item text, price numeric, category text, name text). */
#define ITEM_ATTRIBUTE_COLUMNS 4

extern void ReadItemAttributes(Oid relid, const ItemColumns *cols,
							   DestReceiver *r);

#endif							/* ITEM_ATTRIBUTES_H */
