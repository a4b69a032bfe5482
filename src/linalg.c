/*
 * linalg.c
 *	  Small helpers shared by the factor models: symmetric matrices from
 *	  LAPACK, a cancellable inverse, real[] arrays, and names of tables a
 *	  model writes.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "linalg.h"

/*
 * Make a row-major n x n matrix symmetric from its upper triangle.  The
 * upper triangle read row-major is LAPACK's 'L' triangle (column-major).
 */
void
CopyUpperToLower(double *a, int n)
{
	int			i,
				j;

	for (j = 0; j < n; j++)
	{
		if ((j & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
		for (i = j + 1; i < n; i++)
			a[(Size) i * n + j] = a[(Size) j * n + i];
	}
}

/*
 * Symmetric positive definite inversion in blocks.  LAPACK's dpotrf and
 * dpotri on the whole matrix cannot be cancelled: at 8,000 items one call
 * ran for seconds.  Here every BLAS or LAPACK call touches at most
 * SPD_BLOCK columns against the rest (about 2 n SPD_BLOCK^2 flops, a few
 * hundredths of a second at 8,000 items), with a check for interrupts
 * between calls.  The steps are LAPACK's own blocked dpotrf, dtrtri and
 * dlauum, with their large updates split by block columns.
 *
 * The matrix is column-major and only its lower triangle is read and
 * written (the upper triangle of a row-major matrix).
 */
#define SPD_BLOCK 256
#define AT(a, n, i, j) ((a) + (Size) (i) + (Size) (j) * (Size) (n))

/* Cholesky factor L of A = L L' in place; false unless positive definite. */
static bool
CholeskyBlocked(double *a, int n)
{
	int			k,
				j,
				info = 0;

	for (k = 0; k < n; k += SPD_BLOCK)
	{
		int			kb = Min(SPD_BLOCK, n - k);
		int			m = n - k - kb;

		CHECK_FOR_INTERRUPTS();
		dpotrf_("L", &kb, AT(a, n, k, k), &n, &info);
		if (info != 0)
			return false;
		if (m == 0)
			break;
		/* panel below the diagonal block: L21 = A21 L11^-T */
		cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit,
					m, kb, 1.0, AT(a, n, k, k), n, AT(a, n, k + kb, k), n);
		/* trailing matrix A22 -= L21 L21', one block column at a time */
		for (j = k + kb; j < n; j += SPD_BLOCK)
		{
			int			jb = Min(SPD_BLOCK, n - j);

			CHECK_FOR_INTERRUPTS();
			cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, jb, kb,
						-1.0, AT(a, n, j, k), n, 1.0, AT(a, n, j, j), n);
			if (j + jb < n)
				cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n - j - jb, jb, kb,
							-1.0, AT(a, n, j + jb, k), n, AT(a, n, j, k), n,
							1.0, AT(a, n, j + jb, j), n);
		}
	}
	return true;
}

/* L^-1 in place of a lower triangular L; false if L is singular. */
static bool
TriangularInverseBlocked(double *a, int n)
{
	int			j,
				r,
				info = 0;

	for (j = ((n - 1) / SPD_BLOCK) * SPD_BLOCK; j >= 0; j -= SPD_BLOCK)
	{
		int			jb = Min(SPD_BLOCK, n - j);
		int			t = j + jb;		/* rows and columns already inverted */
		int			m = n - t;
		double	   *b = AT(a, n, t, j);

		if (m > 0)
		{
			/*
			 * B = Linv22 B by block rows from the bottom, so each row block
			 * reads rows above it that are not yet overwritten
			 */
			for (r = ((m - 1) / SPD_BLOCK) * SPD_BLOCK; r >= 0; r -= SPD_BLOCK)
			{
				int			rb = Min(SPD_BLOCK, m - r);

				CHECK_FOR_INTERRUPTS();
				cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit,
							rb, jb, 1.0, AT(a, n, t + r, t + r), n, b + r, n);
				if (r > 0)
					cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, rb, jb, r,
								1.0, AT(a, n, t + r, t), n, b, n, 1.0, b + r, n);
			}
			/* B = -B L11^-1 */
			CHECK_FOR_INTERRUPTS();
			cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit,
						m, jb, -1.0, AT(a, n, j, j), n, b, n);
		}
		dtrtri_("L", "N", &jb, AT(a, n, j, j), &n, &info);
		if (info != 0)
			return false;
	}
	return true;
}

/* W' W in place of a lower triangular W (the lower triangle of the result). */
static void
LowerGramBlocked(double *a, int n)
{
	int			i,
				c,
				info = 0;

	for (i = 0; i < n; i += SPD_BLOCK)
	{
		int			ib = Min(SPD_BLOCK, n - i);
		int			m = n - i - ib;

		CHECK_FOR_INTERRUPTS();
		if (i > 0)
			cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit,
						ib, i, 1.0, AT(a, n, i, i), n, AT(a, n, i, 0), n);
		dlauum_("L", &ib, AT(a, n, i, i), &n, &info);
		if (m == 0)
			continue;
		for (c = 0; c < i; c += SPD_BLOCK)
		{
			int			cb = Min(SPD_BLOCK, i - c);

			CHECK_FOR_INTERRUPTS();
			cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, ib, cb, m,
						1.0, AT(a, n, i + ib, i), n, AT(a, n, i + ib, c), n,
						1.0, AT(a, n, i, c), n);
		}
		CHECK_FOR_INTERRUPTS();
		cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, ib, m,
					1.0, AT(a, n, i + ib, i), n, 1.0, AT(a, n, i, i), n);
	}
}

/*
 * A^-1 in place of a symmetric positive definite A (lower triangle,
 * column-major), cancellable between blocks; false unless A is positive
 * definite.  A^-1 = L^-T L^-1 for A = L L'.
 */
bool
SpdInverse(double *a, int n)
{
	if (!CholeskyBlocked(a, n))
		return false;
	if (!TriangularInverseBlocked(a, n))
		return false;
	LowerGramBlocked(a, n);
	return true;
}

ArrayType *
FloatArray(const float *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;
	ArrayType  *arr;

	for (i = 0; i < n; i++)
		d[i] = Float4GetDatum(v[i]);
	arr = construct_array(d, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(d);
	return arr;
}

/*
 * A table name as the caller wrote it ("name" or "schema.name", quoted
 * parts allowed), quoted safely for SQL text.
 */
char *
QualifiedTableName(const char *name, const char *param)
{
	List	   *names;
	RangeVar   *rv;

	names = stringToQualifiedNameList(name);
	if (list_length(names) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("%s \"%s\" has too many dotted parts", param, name),
				 errhint("Name a table as name or schema.name.")));
	rv = makeRangeVarFromNameList(names);
	return quote_qualified_identifier(rv->schemaname, rv->relname);
}
