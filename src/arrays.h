/*
 * arrays.h
 *	  The one check of array arguments of SQL-callable functions.
 */
#ifndef ARRAYS_H
#define ARRAYS_H

#include "postgres.h"

#include "utils/array.h"

extern void CheckArrayArg(ArrayType *arr, const char *param);
extern char **ArrayArgTexts(ArrayType *arr, const char *param, int *n);
extern double *ArrayArgFloat8s(ArrayType *arr, const char *param, int *n);
extern float *ArrayArgFloat4s(ArrayType *arr, const char *param, int *n);

#endif							/* ARRAYS_H */
