/*
 * items.h
 *	  Item dictionary: maps item keys (integers or text) to dense ids.
 */
#ifndef ITEMS_H
#define ITEMS_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "bundlerec.h"

typedef struct ItemDict ItemDict;

extern bool ItemTypeSupported(Oid typid);
extern void CheckItemType(Oid typid, const char *what);
extern ItemDict *ItemDictCreate(Oid typid, Oid collation, Budget *budget);
extern int32 ItemDictAdd(ItemDict *dict, Datum value);
extern int32 ItemDictFind(const ItemDict *dict, const char *s);
extern int32 ItemDictAddFrom(ItemDict *dict, const ItemDict *src, int32 srcid);
extern int32 ItemDictSize(const ItemDict *dict);
extern Oid	ItemDictType(const ItemDict *dict);
extern Oid	ItemDictCollation(const ItemDict *dict);
extern int32 *ItemDictKeyOrder(const ItemDict *dict);
extern Datum ItemDictKey(const ItemDict *dict, int32 id, Oid outtype);
extern Size ItemDictSerialSize(const ItemDict *dict, const int32 *ids, int32 n);
extern char *ItemDictSerialize(const ItemDict *dict, const int32 *ids, int32 n,
							   char *dst);
extern ItemDict *ItemDictDeserialize(const char **src, const char *end,
									 Budget *budget);
extern void ItemDictEncodeCompact(const ItemDict *dict, StringInfo buf);
extern ItemDict *ItemDictDecodeCompact(const char **src, const char *end,
									   Budget *budget);

#endif							/* ITEMS_H */
