/*
 * bundlerec.h
 *	  Settings and the memory budget shared by every pipeline stage.
 */
#ifndef BUNDLEREC_H
#define BUNDLEREC_H

#include "postgres.h"

/* bundlerec.memory_limit, in kilobytes */
extern int	bundlerec_memory_limit_kb;
extern int	bundlerec_serving_cache_limit_kb;
extern int	bundlerec_progress_interval_ms;

/* bundlerec.blas_threads */
extern int	bundlerec_blas_threads;

/*
 * Bytes held by one computation's large structures.  Every large allocation
 * goes through BudgetAlloc/BudgetRealloc so exceeding bundlerec.memory_limit
 * is an ERROR that names the setting, not an out-of-memory crash.
 */
typedef struct Budget
{
	Size		used;
	const char *what;			/* what is being built, for the error */
} Budget;

extern void BudgetInit(Budget *budget, const char *what);
extern void BudgetCharge(Budget *budget, Size bytes);
extern void BudgetCredit(Budget *budget, Size bytes);
extern void *BudgetAlloc(Budget *budget, Size bytes);
extern void *BudgetAlloc0(Budget *budget, Size bytes);
extern void *BudgetRealloc(Budget *budget, void *ptr, Size oldbytes,
						   Size newbytes);
extern void BudgetFree(Budget *budget, void *ptr, Size bytes);
extern Size BudgetPeak(void);
extern void BudgetResetPeak(void);

#endif							/* BUNDLEREC_H */
