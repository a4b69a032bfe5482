/*
 * pair_agg.c
 *	  The bundlerec.pair_counts aggregate and its result type paircounts.
 *
 * The aggregate shares its transition machinery with the other basket
 * aggregates (basket_agg.c); its final function counts pairs (pair_count.c)
 * and returns a paircounts value, which bundlerec.pairs() expands into rows.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "basket_agg.h"
#include "pair_agg.h"
#include "pair_count.h"

#define PAIRCOUNTS_MAGIC 0x42525031	/* "BRP1" */

/* On-disk header of a paircounts value; arrays and dictionary follow. */
typedef struct PairCountsHeader
{
	int32		vl_len_;
	uint32		magic;
	int64		n_baskets;
	int64		n_pairs;
	int64		min_count;
	int32		n_items;
	int32		pad;
	/* int64 item_count[n_items], int64 cnt[n_pairs], */
	/* int32 pa[n_pairs], int32 pb[n_pairs], item dictionary */
} PairCountsHeader;

PG_FUNCTION_INFO_V1(bundlerec_pair_counts_final);
PG_FUNCTION_INFO_V1(bundlerec_paircounts_in);
PG_FUNCTION_INFO_V1(bundlerec_paircounts_out);
PG_FUNCTION_INFO_V1(bundlerec_paircounts_recv);
PG_FUNCTION_INFO_V1(bundlerec_paircounts_send);

/* Final: count pairs and pack them into a paircounts value. */
Datum
bundlerec_pair_counts_final(PG_FUNCTION_ARGS)
{
	BasketAggState *state;
	MemoryContext outcxt = CurrentMemoryContext;
	MemoryContext work;
	MemoryContext old;
	PairTable  *pt;
	PairCountsHeader *hdr;
	Size		dictsize,
				size;
	char	   *p;

	CheckAggContext(fcinfo, "bundlerec.pair_counts_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = BasketStateRead(PG_GETARG_DATUM(0));

	work = AllocSetContextCreate(CurrentMemoryContext, "bundlerec pair_counts final",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	pt = CountPairs(state->store, state->min_count, &state->store->budget);

	dictsize = ItemDictSerialSize(state->store->dict, pt->item_src, pt->n_items);
	size = sizeof(PairCountsHeader);
	size = add_size(size, mul_size(sizeof(int64), pt->n_items));
	size = add_size(size, mul_size(sizeof(int64) + 2 * sizeof(int32), pt->n_pairs));
	size = add_size(size, dictsize);
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many pairs for one paircounts value: " INT64_FORMAT,
						pt->n_pairs),
				 errdetail("A paircounts value holds at most 1 GB."),
				 errhint("Use pair_counts(items, min_count) with a higher min_count, or bundlerec.item_pairs().")));

	hdr = MemoryContextAllocZero(outcxt, size);
	SET_VARSIZE(hdr, size);
	hdr->magic = PAIRCOUNTS_MAGIC;
	hdr->n_baskets = pt->n_baskets;
	hdr->n_pairs = pt->n_pairs;
	hdr->min_count = state->min_count;
	hdr->n_items = pt->n_items;
	p = (char *) (hdr + 1);
	memcpy(p, pt->item_count, sizeof(int64) * pt->n_items);
	p += sizeof(int64) * pt->n_items;
	memcpy(p, pt->cnt, sizeof(int64) * pt->n_pairs);
	p += sizeof(int64) * pt->n_pairs;
	memcpy(p, pt->pa, sizeof(int32) * pt->n_pairs);
	p += sizeof(int32) * pt->n_pairs;
	memcpy(p, pt->pb, sizeof(int32) * pt->n_pairs);
	p += sizeof(int32) * pt->n_pairs;
	p = ItemDictSerialize(state->store->dict, pt->item_src, pt->n_items, p);
	Assert(p == (char *) hdr + size);

	PairTableFree(pt);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	PG_RETURN_POINTER(hdr);
}

/* Report a damaged paircounts value. */
static void
CorruptPairCounts(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid bundlerec.paircounts value"),
			 errdetail("%s", why),
			 errhint("Build paircounts values with the bundlerec.pair_counts aggregate.")));
}

/*
 * Check a paircounts value and return a pair table reading its arrays and
 * its item dictionary (charged to budget).
 */
static PairTable *
PairCountsParse(const PairCountsHeader *hdr, ItemDict **dict, Budget *budget)
{
	Size		size = VARSIZE(hdr);
	const char *p = (const char *) (hdr + 1);
	const char *end = (const char *) hdr + size;
	PairTable  *pt;
	int64		i;
	Size		fixed;

	if (size < sizeof(PairCountsHeader))
		CorruptPairCounts("The value is shorter than its header.");
	if (hdr->magic != PAIRCOUNTS_MAGIC)
		CorruptPairCounts("The header has a wrong format word.");
	if (hdr->n_items < 0 || hdr->n_pairs < 0 || hdr->n_baskets < 0 ||
		hdr->min_count < 1)
		CorruptPairCounts("A count in the header is out of range.");
	/* each bound is checked before it is multiplied, so nothing overflows */
	fixed = (Size) (end - p);
	if ((Size) hdr->n_items > fixed / sizeof(int64))
		CorruptPairCounts("The value is shorter than its header says.");
	fixed -= (Size) hdr->n_items * sizeof(int64);
	if ((uint64) hdr->n_pairs > fixed / (sizeof(int64) + 2 * sizeof(int32)))
		CorruptPairCounts("The value is shorter than its header says.");

	pt = palloc0(sizeof(PairTable));
	pt->budget = budget;
	pt->owned = false;
	pt->n_baskets = hdr->n_baskets;
	pt->n_items = hdr->n_items;
	pt->n_pairs = hdr->n_pairs;
	pt->item_count = (int64 *) p;
	p += sizeof(int64) * hdr->n_items;
	pt->cnt = (int64 *) p;
	p += sizeof(int64) * hdr->n_pairs;
	pt->pa = (int32 *) p;
	p += sizeof(int32) * hdr->n_pairs;
	pt->pb = (int32 *) p;
	p += sizeof(int32) * hdr->n_pairs;
	*dict = ItemDictDeserialize(&p, end, budget);
	if (p != end || ItemDictSize(*dict) != hdr->n_items)
		CorruptPairCounts("The item list does not match the header.");
	pt->item_src = palloc(mul_size(sizeof(int32), Max(pt->n_items, 1)));
	for (i = 0; i < pt->n_items; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		pt->item_src[i] = (int32) i;
		if (pt->item_count[i] < 1 || pt->item_count[i] > pt->n_baskets)
			CorruptPairCounts("An item count is out of range.");
	}
	for (i = 0; i < pt->n_pairs; i++)
	{
		int32		a = pt->pa[i],
					b = pt->pb[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (a < 0 || b < 0 || a >= pt->n_items || b >= pt->n_items)
			CorruptPairCounts("An item index is out of range.");
		if (b <= a ||
			(i > 0 && (a < pt->pa[i - 1] || (a == pt->pa[i - 1] && b <= pt->pb[i - 1]))))
			CorruptPairCounts("The pairs are not sorted distinct item pairs.");
		if (pt->cnt[i] < hdr->min_count ||
			pt->cnt[i] > Min(pt->item_count[a], pt->item_count[b]))
			CorruptPairCounts("A pair count is out of range.");
	}
	return pt;
}

/* Pair table over a paircounts Datum (detoasted, aligned copy if needed). */
PairTable *
PairCountsOpen(Datum value, ItemDict **dict, Budget *budget)
{
	struct varlena *v = PG_DETOAST_DATUM(value);

	if (((uintptr_t) v) % MAXIMUM_ALIGNOF != 0)
	{
		struct varlena *copy = palloc(VARSIZE(v));

		memcpy(copy, v, VARSIZE(v));
		v = copy;
	}
	return PairCountsParse((const PairCountsHeader *) v, dict, budget);
}

/* Decode a paircounts value to check it. */
static void
CheckPairCounts(bytea *v)
{
	ItemDict   *dict;
	Budget		budget;

	BudgetInit(&budget, "bundlerec.paircounts input");
	PairCountsParse((const PairCountsHeader *) v, &dict, &budget);
}

/* Text input: the bytea hex form written by paircounts_out. */
Datum
bundlerec_paircounts_in(PG_FUNCTION_ARGS)
{
	return CheckedVarlena(DirectFunctionCall1(byteain, PG_GETARG_DATUM(0)),
						  CheckPairCounts);
}

/* Text output: the bytes in bytea hex form. */
Datum
bundlerec_paircounts_out(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteaout, PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}

/* Binary input. */
Datum
bundlerec_paircounts_recv(PG_FUNCTION_ARGS)
{
	return CheckedVarlena(DirectFunctionCall1(bytearecv, PG_GETARG_DATUM(0)),
						  CheckPairCounts);
}

/* Binary output. */
Datum
bundlerec_paircounts_send(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(byteasend, PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(0))));
}
