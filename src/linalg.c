/*
 * linalg.c
 *	  Small helpers shared by the factor models: symmetric matrices from
 *	  LAPACK, real[] arrays, and names of tables a model writes.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
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
		for (i = j + 1; i < n; i++)
			a[(Size) i * n + j] = a[(Size) j * n + i];
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
