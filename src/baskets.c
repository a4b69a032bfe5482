/*
 * baskets.c
 *	  Encoding baskets (orders) as sorted, deduplicated item-id lists.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "arrays.h"
#include "baskets.h"
#include "varint.h"

#define BASKET_SERIAL_MAGIC 0x42524231	/* "BRB1" */

/* New empty store for items of item_type; "what" names it in errors. */
BasketStore *
BasketStoreCreate(Oid item_type, Oid collation, const char *what)
{
	BasketStore *store = palloc0(sizeof(BasketStore));

	BudgetInit(&store->budget, what);
	store->dict = ItemDictCreate(item_type, collation, &store->budget);
	store->cap = 4096;
	store->data = BudgetAlloc(&store->budget, sizeof(int32) * store->cap);
	store->scratch_cap = 256;
	store->scratch = palloc(sizeof(int32) * store->scratch_cap);
	return store;
}

static int
CompareInt32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/* Make room for slots more int32 (a basket takes its size plus one). */
void
BasketStoreReserve(BasketStore *store, int64 slots)
{
	if (store->len + slots > store->cap)
	{
		int64		newcap = Max(store->cap * 2, store->len + slots);

		store->data = BudgetRealloc(&store->budget, store->data,
									sizeof(int32) * store->cap,
									sizeof(int32) * newcap);
		store->cap = newcap;
	}
}

/* Append one basket given as ids; sorts and deduplicates ids in place. */
void
BasketStoreAddIds(BasketStore *store, int32 *ids, int32 n)
{
	int32		i,
				m = 0;

	if (n > 1)
		qsort(ids, n, sizeof(int32), CompareInt32);
	for (i = 0; i < n; i++)
		if (m == 0 || ids[i] != ids[m - 1])
			ids[m++] = ids[i];

	BasketStoreReserve(store, m + 1);
	store->data[store->len++] = m;
	memcpy(store->data + store->len, ids, sizeof(int32) * m);
	store->len += m;
	store->n_entries += m;
	store->n_baskets++;
}

/* Make the scratch buffer hold n ids. */
static void
ReserveScratch(BasketStore *store, int32 n)
{
	if (n <= store->scratch_cap)
		return;
	store->scratch_cap = Max(n, store->scratch_cap * 2);
	store->scratch = repalloc(store->scratch, sizeof(int32) * store->scratch_cap);
}

/* Append one basket given as an array of item keys. */
void
BasketStoreAddArray(BasketStore *store, ArrayType *arr)
{
	Oid			elemtype = ARR_ELEMTYPE(arr);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			nelems;
	int			i;

	CheckArrayArg(arr, "basket");
	if (elemtype != ItemDictType(store->dict))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("basket of type %s[] cannot be mixed with baskets of type %s[]",
						format_type_be(elemtype),
						format_type_be(ItemDictType(store->dict)))));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign,
					  &elems, NULL, &nelems);
	ReserveScratch(store, nelems);
	for (i = 0; i < nelems; i++)
		store->scratch[i] = ItemDictAdd(store->dict, elems[i]);
	BasketStoreAddIds(store, store->scratch, nelems);
	pfree(elems);
}

/* Append all baskets of src to dst, translating item ids. */
void
BasketStoreMerge(BasketStore *dst, const BasketStore *src)
{
	int32		nsrc = ItemDictSize(src->dict);
	int32	   *map = palloc(mul_size(sizeof(int32), Max(nsrc, 1)));
	int64		pos = 0;
	int32		i;

	for (i = 0; i < nsrc; i++)
		map[i] = ItemDictAddFrom(dst->dict, src->dict, i);
	while (pos < src->len)
	{
		int32		n = src->data[pos++];

		CHECK_FOR_INTERRUPTS();
		ReserveScratch(dst, n);
		for (i = 0; i < n; i++)
			dst->scratch[i] = map[src->data[pos + i]];
		pos += n;
		BasketStoreAddIds(dst, dst->scratch, n);
	}
	pfree(map);
}

/* Number of baskets holding each item, by item id. */
int64 *
BasketStoreItemCounts(const BasketStore *store)
{
	int32		nitems = ItemDictSize(store->dict);
	int64	   *counts = palloc0(mul_size(sizeof(int64), Max(nitems, 1)));
	int64		pos = 0;

	while (pos < store->len)
	{
		int32		n = store->data[pos++];
		int32		i;

		for (i = 0; i < n; i++)
			counts[store->data[pos + i]]++;
		pos += n;
	}
	return counts;
}

/* Smallest count c with c / n_baskets >= min_support, as doubles compare. */
int64
MinCountForSupport(double min_support, int64 n_baskets)
{
	double		n = (double) n_baskets;
	int64		c;

	if (min_support <= 0.0 || n_baskets <= 0)
		return 0;
	c = (int64) floor(min_support * n);
	while (c > 0 && (double) (c - 1) / n >= min_support)
		c--;
	while ((double) c / n < min_support)
		c++;
	return c;
}

/*
 * Number the items held by at least min_count baskets in key order; a
 * pattern is never more frequent than any of its items, so later stages
 * work on these only.
 */
void
KeepFrequentItems(const BasketStore *store, int64 min_count, Budget *budget,
				  FrequentItems *kept)
{
	int32		ndict = ItemDictSize(store->dict);
	int64	   *counts = BasketStoreItemCounts(store);
	int32	   *order = ItemDictKeyOrder(store->dict);
	int32		i,
				n = 0;

	kept->newid = palloc(mul_size(sizeof(int32), Max(ndict, 1)));
	for (i = 0; i < ndict; i++)
		kept->newid[order[i]] = (counts[order[i]] >= min_count) ? n++ : -1;
	kept->n = n;
	kept->item_src = BudgetAlloc(budget, sizeof(int32) * Max(n, 1));
	kept->item_count = BudgetAlloc(budget, sizeof(int64) * Max(n, 1));
	for (i = 0; i < ndict; i++)
	{
		int32		id = kept->newid[order[i]];

		if (id >= 0)
		{
			kept->item_src[id] = order[i];
			kept->item_count[id] = counts[order[i]];
		}
	}
	pfree(order);
	pfree(counts);
}

/* Release the arrays of KeepFrequentItems. */
void
FrequentItemsFree(FrequentItems *kept, Budget *budget)
{
	BudgetFree(budget, kept->item_src, sizeof(int32) * Max(kept->n, 1));
	BudgetFree(budget, kept->item_count, sizeof(int64) * Max(kept->n, 1));
	if (kept->newid)
		pfree(kept->newid);
	kept->item_src = NULL;
	kept->item_count = NULL;
	kept->newid = NULL;
}

typedef struct BasketSerialHeader
{
	uint32		magic;
	uint32		pad;
	int64		n_baskets;
	int64		n_entries;
	int64		len;
} BasketSerialHeader;

/* Bytes that BasketStoreSerialize writes. */
Size
BasketStoreSerialSize(const BasketStore *store)
{
	return add_size(add_size(sizeof(BasketSerialHeader),
							 ItemDictSerialSize(store->dict, NULL,
												ItemDictSize(store->dict))),
					mul_size(sizeof(int32), store->len));
}

/* Write the store (dictionary, then baskets) to dst. */
char *
BasketStoreSerialize(const BasketStore *store, char *dst)
{
	BasketSerialHeader hdr;

	hdr.magic = BASKET_SERIAL_MAGIC;
	hdr.pad = 0;
	hdr.n_baskets = store->n_baskets;
	hdr.n_entries = store->n_entries;
	hdr.len = store->len;
	memcpy(dst, &hdr, sizeof(hdr));
	dst += sizeof(hdr);
	dst = ItemDictSerialize(store->dict, NULL, ItemDictSize(store->dict), dst);
	memcpy(dst, store->data, sizeof(int32) * store->len);
	return dst + sizeof(int32) * store->len;
}

/* Report a damaged serialized store; why is a full sentence. */
static void
CorruptBaskets(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid bundlerec basket state"),
			 errdetail("%s", why),
			 errhint("Build basketset values with the bundlerec.basket_set aggregate.")));
}

/* Read a store written by BasketStoreSerialize, checking every basket. */
BasketStore *
BasketStoreDeserialize(const char *src, Size len, const char *what)
{
	const char *end = src + len;
	BasketSerialHeader hdr;
	BasketStore *store = palloc0(sizeof(BasketStore));
	int32		nitems;
	int64		pos = 0,
				baskets = 0,
				entries = 0;

	if (len < sizeof(hdr))
		CorruptBaskets("The value is shorter than its header.");
	memcpy(&hdr, src, sizeof(hdr));
	src += sizeof(hdr);
	if (hdr.magic != BASKET_SERIAL_MAGIC)
		CorruptBaskets("The header has a wrong format word.");
	if (hdr.len < 0 || hdr.n_baskets < 0 || hdr.n_entries < 0)
		CorruptBaskets("A count in the header is negative.");
	BudgetInit(&store->budget, what);
	store->dict = ItemDictDeserialize(&src, end, &store->budget);
	nitems = ItemDictSize(store->dict);
	if ((Size) (end - src) % sizeof(int32) != 0 ||
		(uint64) hdr.len != (Size) (end - src) / sizeof(int32))
		CorruptBaskets("The value's length does not match its header.");
	store->cap = Max(hdr.len, 1);
	store->data = BudgetAlloc(&store->budget, sizeof(int32) * store->cap);
	memcpy(store->data, src, sizeof(int32) * hdr.len);
	store->len = hdr.len;
	while (pos < store->len)
	{
		int32		n = store->data[pos++];
		int32		i;

		CHECK_FOR_INTERRUPTS();
		if (n < 0 || n > store->len - pos)
			CorruptBaskets("A basket runs past the end of the value.");
		for (i = 0; i < n; i++)
		{
			int32		id = store->data[pos + i];

			if (id < 0 || id >= nitems)
				CorruptBaskets("An item index is out of range.");
			if (i > 0 && id <= store->data[pos + i - 1])
				CorruptBaskets("The items of a basket are not sorted and distinct.");
		}
		pos += n;
		entries += n;
		baskets++;
	}
	if (baskets != hdr.n_baskets || entries != hdr.n_entries)
		CorruptBaskets("The basket counts do not match the header.");
	store->n_baskets = baskets;
	store->n_entries = entries;
	store->scratch_cap = 256;
	store->scratch = palloc(sizeof(int32) * store->scratch_cap);
	return store;
}

/*
 * Append the store in the compact wire form: the dictionary
 * (ItemDictEncodeCompact), the number of baskets, then each basket as its
 * size and its sorted ids as gaps (first id, then id - previous - 1), all
 * varints.  Ids are dense, so most gaps take one or two bytes.
 */
void
BasketStoreEncodeCompact(const BasketStore *store, StringInfo buf)
{
	int64		pos = 0;

	ItemDictEncodeCompact(store->dict, buf);
	VarintAppend(buf, (uint64) store->n_baskets);
	while (pos < store->len)
	{
		int32		n = store->data[pos++];
		int32		prev = -1;
		int32		i;

		CHECK_FOR_INTERRUPTS();
		VarintAppend(buf, (uint64) n);
		for (i = 0; i < n; i++)
		{
			VarintAppend(buf, (uint64) (store->data[pos + i] - prev - 1));
			prev = store->data[pos + i];
		}
		pos += n;
	}
}

/* Read a store written by BasketStoreEncodeCompact, checking every basket. */
BasketStore *
BasketStoreDecodeCompact(const char *src, Size len, const char *what)
{
	const char *p = src;
	const char *end = src + len;
	BasketStore *store = palloc0(sizeof(BasketStore));
	uint64		n_baskets,
				b;
	int32		nitems;

	BudgetInit(&store->budget, what);
	store->dict = ItemDictDecodeCompact(&p, end, &store->budget);
	nitems = ItemDictSize(store->dict);
	if (!VarintRead(&p, end, &n_baskets))
		CorruptBaskets("The value is truncated.");
	/* every basket takes at least one byte */
	if (n_baskets > (uint64) (end - p))
		CorruptBaskets("The value holds more baskets than its bytes can.");
	store->cap = 4096;
	store->data = BudgetAlloc(&store->budget, sizeof(int32) * store->cap);
	for (b = 0; b < n_baskets; b++)
	{
		uint64		n,
					i;
		int64		prev = -1;

		CHECK_FOR_INTERRUPTS();
		if (!VarintRead(&p, end, &n))
			CorruptBaskets("The value is truncated.");
		if (n > (uint64) nitems)
			CorruptBaskets("A basket holds more items than the dictionary.");
		BasketStoreReserve(store, (int64) n + 1);
		store->data[store->len++] = (int32) n;
		for (i = 0; i < n; i++)
		{
			uint64		gap;

			if (!VarintRead(&p, end, &gap))
				CorruptBaskets("The value is truncated.");
			if (gap >= (uint64) nitems || prev + 1 + (int64) gap >= nitems)
				CorruptBaskets("An item index is out of range.");
			prev = prev + 1 + (int64) gap;
			store->data[store->len++] = (int32) prev;
		}
		store->n_entries += (int64) n;
	}
	if (p != end)
		CorruptBaskets("The value has bytes after its last basket.");
	store->n_baskets = (int64) n_baskets;
	store->scratch_cap = 256;
	store->scratch = palloc(sizeof(int32) * store->scratch_cap);
	return store;
}
