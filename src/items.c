/*
 * items.c
 *	  Item dictionary: maps item keys to dense int32 ids in arrival order.
 *
 * Integer keys (int2, int4, int8 and domains over them) are held as int64;
 * text keys (text, varchar) as byte strings compared bytewise for equality
 * and by the input's collation for ordering.  Ids are assigned in arrival
 * order, so they depend on how input was split across workers; outputs are
 * therefore always produced in key order (ItemDictKeyOrder).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "items.h"
#include "varint.h"

#define ITEM_SERIAL_MAGIC 0x42524931	/* "BRI1" */
#define DIRECT_MAX (INT64CONST(1) << 22)	/* integer keys below this skip hashing */
#define TEXT_ARENA_BLOCK (64 * 1024)

/* Finalizer of MurmurHash3: spreads int64 keys over the hash table. */
static inline uint32
HashInt64(uint64 k)
{
	k ^= k >> 33;
	k *= UINT64CONST(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64CONST(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return (uint32) k;
}

typedef struct IntEntry
{
	int64		key;
	int32		id;
	char		status;
} IntEntry;

#define SH_PREFIX intmap
#define SH_ELEMENT_TYPE IntEntry
#define SH_KEY_TYPE int64
#define SH_KEY key
#define SH_HASH_KEY(tb, k) HashInt64((uint64) (k))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct TextKey
{
	const char *s;
	uint32		len;
} TextKey;

typedef struct TextEntry
{
	TextKey		key;
	uint32		hash;
	int32		id;
	char		status;
} TextEntry;

#define SH_PREFIX textmap
#define SH_ELEMENT_TYPE TextEntry
#define SH_KEY_TYPE TextKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).s, (int) (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).s, (b).s, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct ItemDict
{
	Oid			typid;			/* declared key type (may be a domain) */
	Oid			keybase;		/* base type of typid */
	Oid			basetype;		/* INT8OID for integers, TEXTOID for text */
	Oid			collation;		/* ordering of text keys */
	int32		n;
	int32		cap;
	int64	   *ikeys;			/* integer keys by id */
	TextKey    *tkeys;			/* text keys by id */
	intmap_hash *imap;
	int32	   *direct;			/* id + 1 of small integer keys, 0 if none */
	int64		direct_n;
	textmap_hash *tmap;
	Size		mapbytes;		/* charged size of the hash table */
	char	   *arena;			/* current block for text bytes */
	Size		arena_free;
	Budget	   *budget;
};

/* Integer or text kind of a supported type, InvalidOid otherwise. */
static Oid
ItemKind(Oid typid)
{
	switch (getBaseType(typid))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return INT8OID;
		case TEXTOID:
		case VARCHAROID:
			return TEXTOID;
		default:
			return InvalidOid;
	}
}

/* Can items of this type be keys? */
bool
ItemTypeSupported(Oid typid)
{
	return OidIsValid(ItemKind(typid));
}

/* Error unless items of this type can be keys; "what" names the input. */
void
CheckItemType(Oid typid, const char *what)
{
	if (!ItemTypeSupported(typid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s has type %s, which cannot be used as an item key",
						what, format_type_be(typid)),
				 errdetail("Item keys must be smallint, integer, bigint, text or varchar."),
				 errhint("Cast the items to text or bigint, for example in a view.")));
}

/* New empty dictionary for keys of type typid, charged to budget. */
ItemDict *
ItemDictCreate(Oid typid, Oid collation, Budget *budget)
{
	ItemDict   *dict;

	CheckItemType(typid, "item");
	dict = palloc0(sizeof(ItemDict));
	dict->typid = typid;
	dict->keybase = getBaseType(typid);
	dict->basetype = ItemKind(typid);
	dict->collation = OidIsValid(collation) ? collation : C_COLLATION_OID;
	dict->budget = budget;
	dict->cap = 1024;
	if (dict->basetype == INT8OID)
	{
		dict->ikeys = BudgetAlloc(budget, sizeof(int64) * dict->cap);
		dict->imap = intmap_create(CurrentMemoryContext, 1024, NULL);
		dict->mapbytes = sizeof(IntEntry) * dict->imap->size;
	}
	else
	{
		dict->tkeys = BudgetAlloc(budget, sizeof(TextKey) * dict->cap);
		dict->tmap = textmap_create(CurrentMemoryContext, 1024, NULL);
		dict->mapbytes = sizeof(TextEntry) * dict->tmap->size;
	}
	BudgetCharge(budget, dict->mapbytes);
	return dict;
}

/* Make room for one more id. */
static void
ItemDictReserve(ItemDict *dict)
{
	int32		newcap;

	if (dict->n < dict->cap)
		return;
	if (dict->cap >= PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct items"),
				 errdetail("At most %d distinct items are supported.", PG_INT32_MAX / 2)));
	newcap = dict->cap * 2;
	if (dict->ikeys)
		dict->ikeys = BudgetRealloc(dict->budget, dict->ikeys,
									sizeof(int64) * dict->cap,
									sizeof(int64) * newcap);
	else
		dict->tkeys = BudgetRealloc(dict->budget, dict->tkeys,
									sizeof(TextKey) * dict->cap,
									sizeof(TextKey) * newcap);
	dict->cap = newcap;
}

/* Charge growth of the hash table after an insert. */
static inline void
ItemDictChargeMap(ItemDict *dict)
{
	Size		now;

	now = dict->imap ? sizeof(IntEntry) * dict->imap->size
		: sizeof(TextEntry) * dict->tmap->size;
	if (now > dict->mapbytes)
	{
		BudgetCharge(dict->budget, now - dict->mapbytes);
		dict->mapbytes = now;
	}
}

/* Copy text bytes into the arena. */
static const char *
ItemDictStore(ItemDict *dict, const char *s, uint32 len)
{
	char	   *p;

	if (len > dict->arena_free)
	{
		Size		block = Max((Size) len, (Size) TEXT_ARENA_BLOCK);

		dict->arena = BudgetAlloc(dict->budget, block);
		dict->arena_free = block;
	}
	p = dict->arena;
	if (len > 0)
		memcpy(p, s, len);
	dict->arena += len;
	dict->arena_free -= len;
	return p;
}

/* Cover integer keys up to key in the direct table, if it is worth it. */
static void
ItemDictGrowDirect(ItemDict *dict, int64 key)
{
	int64		n;

	/* only dense key ranges: at most 16 slots per key seen, plus slack */
	if (key >= DIRECT_MAX || key >= 16 * ((int64) dict->n + 65536))
		return;
	n = Max(key + 1, Min(dict->direct_n * 2, DIRECT_MAX));
	if (dict->direct_n == 0)
		dict->direct = BudgetAlloc0(dict->budget, sizeof(int32) * n);
	else
	{
		dict->direct = BudgetRealloc(dict->budget, dict->direct,
									 sizeof(int32) * dict->direct_n,
									 sizeof(int32) * n);
		memset(dict->direct + dict->direct_n, 0,
			   sizeof(int32) * (n - dict->direct_n));
	}
	dict->direct_n = n;
}

/* Id of an integer key, adding it if new. */
static int32
ItemDictAddInt(ItemDict *dict, int64 key)
{
	bool		found;
	IntEntry   *e;

	if (key >= 0 && key < dict->direct_n && dict->direct[key] > 0)
		return dict->direct[key] - 1;
	e = intmap_insert(dict->imap, key, &found);
	if (!found)
	{
		ItemDictReserve(dict);
		e->id = dict->n;
		dict->ikeys[dict->n++] = key;
		ItemDictChargeMap(dict);
	}
	if (key >= 0)
	{
		if (key >= dict->direct_n)
			ItemDictGrowDirect(dict, key);
		if (key < dict->direct_n)
			dict->direct[key] = e->id + 1;
	}
	return e->id;
}

/* Id of a text key, adding it if new. */
static int32
ItemDictAddText(ItemDict *dict, const char *s, uint32 len)
{
	bool		found;
	TextKey		k;
	TextEntry  *e;

	k.s = s;
	k.len = len;
	e = textmap_insert(dict->tmap, k, &found);
	if (!found)
	{
		ItemDictReserve(dict);
		e->key.s = ItemDictStore(dict, s, len);
		e->id = dict->n;
		dict->tkeys[dict->n++] = e->key;
		ItemDictChargeMap(dict);
	}
	return e->id;
}

/* Id of a key given as a Datum of the dictionary's type, adding it if new. */
int32
ItemDictAdd(ItemDict *dict, Datum value)
{
	if (dict->basetype == INT8OID)
	{
		int64		key;

		switch (dict->keybase)
		{
			case INT2OID:
				key = DatumGetInt16(value);
				break;
			case INT4OID:
				key = DatumGetInt32(value);
				break;
			default:
				key = DatumGetInt64(value);
				break;
		}
		return ItemDictAddInt(dict, key);
	}
	else
	{
		text	   *t = (text *) PG_DETOAST_DATUM_PACKED(value);
		int32		id = ItemDictAddText(dict, VARDATA_ANY(t),
										 VARSIZE_ANY_EXHDR(t));

		if ((Pointer) t != DatumGetPointer(value))
			pfree(t);
		return id;
	}
}

/*
 * Id of a key written as text (an integer key in decimal), or -1 when the
 * dictionary does not hold it.  Never adds.
 */
int32
ItemDictFind(const ItemDict *dict, const char *s)
{
	if (dict->basetype == INT8OID)
	{
		char	   *end;
		long long	v;
		IntEntry   *e;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0')
			return -1;
		if (v >= 0 && v < dict->direct_n && dict->direct[v] > 0)
			return dict->direct[v] - 1;
		e = intmap_lookup(dict->imap, (int64) v);
		return e ? e->id : -1;
	}
	else
	{
		TextKey		k;
		TextEntry  *e;

		k.s = s;
		k.len = strlen(s);
		e = textmap_lookup(dict->tmap, k);
		return e ? e->id : -1;
	}
}

/* Id in dict of key srcid of another dictionary of the same kind. */
int32
ItemDictAddFrom(ItemDict *dict, const ItemDict *src, int32 srcid)
{
	Assert(dict->basetype == src->basetype);
	if (dict->basetype == INT8OID)
		return ItemDictAddInt(dict, src->ikeys[srcid]);
	return ItemDictAddText(dict, src->tkeys[srcid].s, src->tkeys[srcid].len);
}

/* Number of distinct keys. */
int32
ItemDictSize(const ItemDict *dict)
{
	return dict->n;
}

/* Declared key type. */
Oid
ItemDictType(const ItemDict *dict)
{
	return dict->typid;
}

/* Collation ordering text keys. */
Oid
ItemDictCollation(const ItemDict *dict)
{
	return dict->collation;
}

static int
CompareIntIds(const void *a, const void *b, void *arg)
{
	const ItemDict *dict = arg;
	int64		ka = dict->ikeys[*(const int32 *) a];
	int64		kb = dict->ikeys[*(const int32 *) b];

	return (ka > kb) - (ka < kb);
}

static int
CompareTextIds(const void *a, const void *b, void *arg)
{
	const ItemDict *dict = arg;
	const TextKey *ka = &dict->tkeys[*(const int32 *) a];
	const TextKey *kb = &dict->tkeys[*(const int32 *) b];
	int			c;

	c = varstr_cmp(ka->s, ka->len, kb->s, kb->len, dict->collation);
	if (c != 0)
		return c;
	/* equal under a nondeterministic collation: fall back to bytes */
	c = memcmp(ka->s, kb->s, Min(ka->len, kb->len));
	if (c != 0)
		return c;
	return (ka->len > kb->len) - (ka->len < kb->len);
}

/* Ids sorted by key (integer order, or the collation for text). */
int32 *
ItemDictKeyOrder(const ItemDict *dict)
{
	int32	   *order = palloc(mul_size(sizeof(int32), Max(dict->n, 1)));
	int32		i;

	for (i = 0; i < dict->n; i++)
		order[i] = i;
	qsort_arg(order, dict->n, sizeof(int32),
			  dict->basetype == INT8OID ? CompareIntIds : CompareTextIds,
			  (void *) dict);
	return order;
}

/* Key of id as a Datum of outtype, converting through text if needed. */
Datum
ItemDictKey(const ItemDict *dict, int32 id, Oid outtype)
{
	Oid			outbase = getBaseType(outtype);
	char	   *str;
	Oid			infunc;
	Oid			ioparam;

	if (dict->basetype == INT8OID)
	{
		int64		k = dict->ikeys[id];

		if (outbase == INT8OID)
			return Int64GetDatum(k);
		if (outbase == INT4OID && k >= PG_INT32_MIN && k <= PG_INT32_MAX)
			return Int32GetDatum((int32) k);
		str = psprintf(INT64_FORMAT, k);
		if (outbase == TEXTOID || outbase == VARCHAROID)
			return PointerGetDatum(cstring_to_text(str));
	}
	else
	{
		const TextKey *k = &dict->tkeys[id];

		if (outbase == TEXTOID || outbase == VARCHAROID)
			return PointerGetDatum(cstring_to_text_with_len(k->s, k->len));
		str = pnstrdup(k->s, k->len);
	}
	getTypeInputInfo(outtype, &infunc, &ioparam);
	return OidInputFunctionCall(infunc, str, ioparam, -1);
}

/* Bytes that ItemDictSerialize needs for the given ids. */
Size
ItemDictSerialSize(const ItemDict *dict, const int32 *ids, int32 n)
{
	Size		size = 4 * sizeof(uint32);
	int32		i;

	if (dict->basetype == INT8OID)
		return add_size(size, mul_size(sizeof(int64), n));
	for (i = 0; i < n; i++)
		size = add_size(size, sizeof(uint32) + dict->tkeys[ids ? ids[i] : i].len);
	return size;
}

/* Write the keys of ids (all keys in id order when ids is NULL). */
char *
ItemDictSerialize(const ItemDict *dict, const int32 *ids, int32 n, char *dst)
{
	uint32		hdr[4];
	int32		i;

	hdr[0] = ITEM_SERIAL_MAGIC;
	hdr[1] = dict->typid;
	hdr[2] = dict->collation;
	hdr[3] = (uint32) n;
	memcpy(dst, hdr, sizeof(hdr));
	dst += sizeof(hdr);
	for (i = 0; i < n; i++)
	{
		int32		id = ids ? ids[i] : i;

		if (dict->basetype == INT8OID)
		{
			memcpy(dst, &dict->ikeys[id], sizeof(int64));
			dst += sizeof(int64);
		}
		else
		{
			uint32		len = dict->tkeys[id].len;

			memcpy(dst, &len, sizeof(uint32));
			dst += sizeof(uint32);
			memcpy(dst, dict->tkeys[id].s, len);
			dst += len;
		}
	}
	return dst;
}

/* Report a damaged serialized value; why is a full sentence. */
static void
CorruptItems(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid bundlerec item dictionary"),
			 errdetail("%s", why),
			 errhint("Build values of bundlerec types with bundlerec's aggregates; their bytes are not an interchange format.")));
}

/*
 * Error unless a stored key type and collation are usable: the catalogs are
 * asked before anything else looks the OIDs up.
 */
static void
CheckSerialTypeAndCollation(Oid typid, Oid collation)
{
	HeapTuple	tup;
	int32		encoding;

	if (!OidIsValid(typid) ||
		!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(typid)) ||
		!ItemTypeSupported(typid))
		CorruptItems("The item key type is not smallint, integer, bigint, text, varchar or a domain over one of them.");
	if (!OidIsValid(collation))
		return;
	tup = SearchSysCache1(COLLOID, ObjectIdGetDatum(collation));
	if (!HeapTupleIsValid(tup))
		CorruptItems("The collation of the item keys does not exist.");
	encoding = ((Form_pg_collation) GETSTRUCT(tup))->collencoding;
	ReleaseSysCache(tup);
	if (encoding != -1 && encoding != GetDatabaseEncoding())
		CorruptItems("The collation of the item keys does not match the database encoding.");
}

/* Error unless an integer key fits its declared type. */
static void
CheckSerialIntKey(const ItemDict *dict, int64 k)
{
	if ((dict->keybase == INT2OID && (k < PG_INT16_MIN || k > PG_INT16_MAX)) ||
		(dict->keybase == INT4OID && (k < PG_INT32_MIN || k > PG_INT32_MAX)))
		CorruptItems("An item key is out of range for the item key type.");
}

/* Read a dictionary written by ItemDictSerialize; ids follow write order. */
ItemDict *
ItemDictDeserialize(const char **src, const char *end, Budget *budget)
{
	const char *p = *src;
	uint32		hdr[4];
	ItemDict   *dict;
	uint32		i;

	if (end - p < (ptrdiff_t) sizeof(hdr))
		CorruptItems("The item dictionary is truncated.");
	memcpy(hdr, p, sizeof(hdr));
	p += sizeof(hdr);
	if (hdr[0] != ITEM_SERIAL_MAGIC)
		CorruptItems("The item dictionary has a wrong format word.");
	CheckSerialTypeAndCollation((Oid) hdr[1], (Oid) hdr[2]);
	/* every key takes at least 4 bytes, so this also bounds the count */
	if (hdr[3] > (uint32) PG_INT32_MAX / 2 ||
		(Size) hdr[3] > (Size) (end - p) / sizeof(uint32))
		CorruptItems("The item dictionary holds more keys than its bytes can.");
	dict = ItemDictCreate((Oid) hdr[1], (Oid) hdr[2], budget);
	for (i = 0; i < hdr[3]; i++)
	{
		if (dict->basetype == INT8OID)
		{
			int64		k;

			if (end - p < (ptrdiff_t) sizeof(int64))
				CorruptItems("The item dictionary is truncated.");
			memcpy(&k, p, sizeof(int64));
			p += sizeof(int64);
			CheckSerialIntKey(dict, k);
			if (ItemDictAddInt(dict, k) != (int32) i)
				CorruptItems("An item key appears twice.");
		}
		else
		{
			uint32		len;

			if (end - p < (ptrdiff_t) sizeof(uint32))
				CorruptItems("The item dictionary is truncated.");
			memcpy(&len, p, sizeof(uint32));
			p += sizeof(uint32);
			if ((Size) (end - p) < len)
				CorruptItems("The item dictionary is truncated.");
			if (!pg_verifymbstr(p, (int) len, true))
				CorruptItems("An item key is not valid text in the database encoding.");
			if (ItemDictAddText(dict, p, len) != (int32) i)
				CorruptItems("An item key appears twice.");
			p += len;
		}
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	*src = p;
	return dict;
}

/*
 * Append the keys in id order in the compact wire form: type, collation and
 * count as varints, then each key as a zigzag varint (integer keys) or a
 * varint length and its bytes (text keys).
 */
void
ItemDictEncodeCompact(const ItemDict *dict, StringInfo buf)
{
	int32		i;

	VarintAppend(buf, dict->typid);
	VarintAppend(buf, dict->collation);
	VarintAppend(buf, (uint64) dict->n);
	for (i = 0; i < dict->n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (dict->basetype == INT8OID)
			VarintAppend(buf, ZigzagEncode(dict->ikeys[i]));
		else
		{
			VarintAppend(buf, dict->tkeys[i].len);
			appendBinaryStringInfo(buf, dict->tkeys[i].s, (int) dict->tkeys[i].len);
		}
	}
}

/* Read a dictionary written by ItemDictEncodeCompact, checking every key. */
ItemDict *
ItemDictDecodeCompact(const char **src, const char *end, Budget *budget)
{
	const char *p = *src;
	uint64		typid,
				collation,
				n,
				i;
	ItemDict   *dict;

	if (!VarintRead(&p, end, &typid) || !VarintRead(&p, end, &collation) ||
		!VarintRead(&p, end, &n))
		CorruptItems("The item dictionary is truncated.");
	if (typid > PG_UINT32_MAX || collation > PG_UINT32_MAX)
		CorruptItems("The item key type or collation is out of range.");
	CheckSerialTypeAndCollation((Oid) typid, (Oid) collation);
	/* every key takes at least one byte, so this also bounds the count */
	if (n > (uint64) PG_INT32_MAX / 2 || n > (uint64) (end - p))
		CorruptItems("The item dictionary holds more keys than its bytes can.");
	dict = ItemDictCreate((Oid) typid, (Oid) collation, budget);
	for (i = 0; i < n; i++)
	{
		uint64		v;

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!VarintRead(&p, end, &v))
			CorruptItems("The item dictionary is truncated.");
		if (dict->basetype == INT8OID)
		{
			int64		k = ZigzagDecode(v);

			CheckSerialIntKey(dict, k);
			if (ItemDictAddInt(dict, k) != (int32) i)
				CorruptItems("An item key appears twice.");
		}
		else
		{
			if (v > (uint64) (end - p))
				CorruptItems("The item dictionary is truncated.");
			if (!pg_verifymbstr(p, (int) v, true))
				CorruptItems("An item key is not valid text in the database encoding.");
			if (ItemDictAddText(dict, p, (uint32) v) != (int32) i)
				CorruptItems("An item key appears twice.");
			p += v;
		}
	}
	*src = p;
	return dict;
}
