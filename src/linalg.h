/*
 * linalg.h
 *	  LAPACK routines from OpenBLAS, and helpers shared by the models.
 */
#ifndef LINALG_H
#define LINALG_H

#include "postgres.h"

#include <cblas.h>

#include "utils/array.h"

#include "bundlerec.h"

/* Debian's OpenBLAS exports LAPACK's Fortran symbols but no LAPACK header. */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
					int *info);
extern void dpotri_(const char *uplo, const int *n, double *a, const int *lda,
					int *info);
extern void dtrtri_(const char *uplo, const char *diag, const int *n,
					double *a, const int *lda, int *info);
extern void dlauum_(const char *uplo, const int *n, double *a, const int *lda,
					int *info);
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a,
				   const int *lda, double *b, const int *ldb, int *info);

/* Item factors in key order (an als_train item table). */
typedef struct FactorTable
{
	int32		n;
	int			k;
	char	  **keys;
	float	   *v;				/* n x k */
} FactorTable;

extern FactorTable *LoadFactorTable(Oid relid);
extern FactorTable *LoadFactorTableKeyed(Oid relid, const char *keycol);
extern FactorTable *LoadFactorRows(Oid relid, const char *keycol, const char *filter,
								   Budget *budget);
extern FactorTable *LoadVectorRows(Oid relid, const char *keycol, const char *veccol,
								   const char *filter, bool embeddings, Budget *budget);
extern int32 FindKey(const FactorTable *t, const char *key);

extern void CopyUpperToLower(double *a, int n);
extern bool SpdInverse(double *a, int n);
extern ArrayType *FloatArray(const float *v, int n);
extern char *QualifiedTableName(const char *name, const char *param);

#endif							/* LINALG_H */
