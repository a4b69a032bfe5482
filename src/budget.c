/*
 * budget.c
 *	  The memory budget (bundlerec.memory_limit) charged by large structures.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "bundlerec.h"

/* largest total charged since the last reset, across budgets of a backend */
static Size peak_bytes = 0;
static Size live_bytes = 0;

/* Start an empty budget for a structure described by "what". */
void
BudgetInit(Budget *budget, const char *what)
{
	budget->used = 0;
	budget->what = what;
}

/* Limit in bytes from the setting. */
static Size
BudgetLimit(void)
{
	return (Size) bundlerec_memory_limit_kb * (Size) 1024;
}

/* Account for "bytes" more, or fail with a hint naming the setting. */
void
BudgetCharge(Budget *budget, Size bytes)
{
	Size		limit = BudgetLimit();

	if (bytes > limit || budget->used > limit - bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s needs more memory than bundlerec.memory_limit allows",
						budget->what),
				 errdetail("It already holds %zu kB and asks for %zu kB more; the limit is %d kB.",
						   budget->used / 1024, (bytes + 1023) / 1024,
						   bundlerec_memory_limit_kb),
				 errhint("Raise bundlerec.memory_limit, or raise min_count or min_support so that fewer items and pairs are kept.")));
	budget->used += bytes;
	live_bytes += bytes;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
}

/* Give back "bytes" to the budget. */
void
BudgetCredit(Budget *budget, Size bytes)
{
	Assert(budget->used >= bytes);
	budget->used -= bytes;
	live_bytes = (live_bytes >= bytes) ? live_bytes - bytes : 0;
}

/* Charged huge allocation in the current memory context. */
void *
BudgetAlloc(Budget *budget, Size bytes)
{
	BudgetCharge(budget, bytes);
	return MemoryContextAllocHuge(CurrentMemoryContext, Max(bytes, 1));
}

/* Charged zeroed huge allocation in the current memory context. */
void *
BudgetAlloc0(Budget *budget, Size bytes)
{
	void	   *p = BudgetAlloc(budget, bytes);

	memset(p, 0, bytes);
	return p;
}

/* Charged huge reallocation; keeps the chunk's memory context. */
void *
BudgetRealloc(Budget *budget, void *ptr, Size oldbytes, Size newbytes)
{
	if (newbytes > oldbytes)
		BudgetCharge(budget, newbytes - oldbytes);
	else
		BudgetCredit(budget, oldbytes - newbytes);
	return repalloc_huge(ptr, Max(newbytes, 1));
}

/* Free a charged allocation. */
void
BudgetFree(Budget *budget, void *ptr, Size bytes)
{
	if (ptr == NULL)
		return;
	BudgetCredit(budget, bytes);
	pfree(ptr);
}

/* Largest number of charged bytes live at once since the last reset. */
Size
BudgetPeak(void)
{
	return peak_bytes;
}

/* Start a new peak measurement at the start of a top-level computation. */
void
BudgetResetPeak(void)
{
	/* budgets of an aborted computation were never credited */
	live_bytes = 0;
	peak_bytes = 0;
}
