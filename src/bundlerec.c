/*
 * bundlerec.c
 *	  Module entry point and settings.
 */
#include "postgres.h"

#include <limits.h>

#include <cblas.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "bundlerec.h"
#include "itemsets.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			bundlerec_memory_limit_kb = 1024 * 1024;
int			bundlerec_blas_threads = 1;
int			bundlerec_serving_cache_limit_kb = 64 * 1024;
int			bundlerec_progress_interval_ms = 10000;

/* Apply bundlerec.blas_threads to OpenBLAS. */
static void
AssignBlasThreads(int newval, void *extra)
{
	openblas_set_num_threads(newval);
}

/* Define the settings and pin the BLAS thread count. */
void
_PG_init(void)
{
	DefineCustomIntVariable("bundlerec.memory_limit",
							"Largest amount of memory one bundlerec computation may hold.",
							"Counts encoded baskets, item dictionaries and pair tables. "
							"Valid range is 1MB to 2TB.",
							&bundlerec_memory_limit_kb,
							1024 * 1024,
							1024,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("bundlerec.blas_threads",
							"Number of OpenBLAS threads a backend uses.",
							"Keep at 1 when PostgreSQL parallel workers are used. "
							"Valid range is 1 to 64.",
							&bundlerec_blas_threads,
							1,
							1,
							64,
							PGC_USERSET,
							0,
							NULL, AssignBlasThreads, NULL);

	DefineCustomIntVariable("bundlerec.max_itemsets",
							"Largest number of frequent itemsets one mining run may produce.",
							"Mining stops with an error beyond it. Valid range is 1 to 2147483647.",
							&bundlerec_max_itemsets,
							5000000,
							1,
							INT_MAX,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("bundlerec.serving_cache_limit",
							"Largest amount of memory a backend keeps of the results complete_cart reads.",
							"complete_cart keeps each item's pairs, nearest items, EASE weights and rules it has read, "
							"per model, until a refresh or drop of the model; past this size, all of it is "
							"dropped and read again as needed. With 0 every call reads its items again.",
							&bundlerec_serving_cache_limit_kb,
							64 * 1024,
							0,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("bundlerec.progress_interval",
							"How often a long bundlerec loop reports its progress as a NOTICE.",
							"Pair counting, bundle generation, customer bundles, pair ranking and "
							"ALS scoring say how far they are at most this often. 0 turns it off.",
							&bundlerec_progress_interval_ms,
							10000,
							0,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("bundlerec");

	openblas_set_num_threads(bundlerec_blas_threads);
}
