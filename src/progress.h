/*
 * progress.h
 *	  Progress of a long loop, reported as a NOTICE.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include "portability/instr_time.h"

typedef struct Progress
{
	const char *what;			/* the work, e.g. "item bundles" */
	const char *unit;			/* what is counted, e.g. "anchors" */
	int64		total;			/* 0 when not known */
	instr_time	start;
	double		next;			/* seconds from start of the next report */
} Progress;

extern void ProgressStart(Progress *p, const char *what, const char *unit, int64 total);
extern void ProgressReport(Progress *p, int64 done);

#endif							/* PROGRESS_H */
