/*
 * arrays.c
 *	  The one check of array arguments of SQL-callable functions: at most
 *	  one dimension, no NULL elements, and finite numbers where a number
 *	  is a weight, a rating or a factor.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "arrays.h"

PG_FUNCTION_INFO_V1(bundlerec_check_array);

/* Error unless arr has at most one dimension and no NULL elements. */
void
CheckArrayArg(ArrayType *arr, const char *param)
{
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", param),
				 errdetail("The array has %d dimensions.", ARR_NDIM(arr)),
				 errhint("Pass a flat array, for example ARRAY['a', 'b'].")));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain NULL elements", param),
				 errhint("Remove them first, for example with array_remove(%s, NULL).", param)));
}

/* Error naming param unless x is finite. */
static void
CheckFinite(double x, const char *param)
{
	if (isnan(x) || isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not contain NaN or infinite values", param),
				 errhint("Every element of %s must be a finite number.", param)));
}

/* The elements of a checked text[] as C strings. */
char	  **
ArrayArgTexts(ArrayType *arr, const char *param, int *n)
{
	Datum	   *d;
	bool	   *nulls;
	int			nd,
				i;
	char	  **s;

	CheckArrayArg(arr, param);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, &nd);
	s = palloc(sizeof(char *) * Max(nd, 1));
	for (i = 0; i < nd; i++)
		s[i] = TextDatumGetCString(d[i]);
	*n = nd;
	return s;
}

/* The elements of a checked float8[], every one finite. */
double *
ArrayArgFloat8s(ArrayType *arr, const char *param, int *n)
{
	int			nitems;
	double	   *v;
	int			i;

	CheckArrayArg(arr, param);
	if (ARR_ELEMTYPE(arr) != FLOAT8OID)
		elog(ERROR, "%s is not a double precision[], please report a bug", param);
	nitems = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	v = palloc(sizeof(double) * Max(nitems, 1));
	memcpy(v, ARR_DATA_PTR(arr), sizeof(double) * nitems);
	for (i = 0; i < nitems; i++)
		CheckFinite(v[i], param);
	*n = nitems;
	return v;
}

/* The elements of a checked real[], every one finite. */
float *
ArrayArgFloat4s(ArrayType *arr, const char *param, int *n)
{
	int			nitems;
	float	   *v;
	int			i;

	CheckArrayArg(arr, param);
	if (ARR_ELEMTYPE(arr) != FLOAT4OID)
		elog(ERROR, "%s is not a real[], please report a bug", param);
	nitems = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	v = palloc(sizeof(float) * Max(nitems, 1));
	memcpy(v, ARR_DATA_PTR(arr), sizeof(float) * nitems);
	for (i = 0; i < nitems; i++)
		CheckFinite(v[i], param);
	*n = nitems;
	return v;
}

/*
 * bundlerec.check_array(value anyarray, param text): the same check for the
 * SQL-language entry points; real and double precision elements must also
 * be finite.
 */
Datum
bundlerec_check_array(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	char	   *param = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			n;

	if (ARR_ELEMTYPE(arr) == FLOAT8OID)
		ArrayArgFloat8s(arr, param, &n);
	else if (ARR_ELEMTYPE(arr) == FLOAT4OID)
		ArrayArgFloat4s(arr, param, &n);
	else
		CheckArrayArg(arr, param);
	PG_RETURN_VOID();
}
