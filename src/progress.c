/*
 * progress.c
 *	  Progress of a long loop: a NOTICE every bundlerec.progress_interval,
 *	  such as "bundlerec: item bundles: 1200 of 3933 anchors (31%) after
 *	  10 s", so that a refresh of a large shop says where it is.
 */
#include "postgres.h"

#include "bundlerec.h"
#include "progress.h"

/* Starts timing a loop over total units (0: not known). */
void
ProgressStart(Progress *p, const char *what, const char *unit, int64 total)
{
	p->what = what;
	p->unit = unit;
	p->total = total;
	INSTR_TIME_SET_CURRENT(p->start);
	p->next = bundlerec_progress_interval_ms / 1000.0;
}

/* Reports done units when the interval has passed since the last report. */
void
ProgressReport(Progress *p, int64 done)
{
	instr_time	now;
	double		s;

	if (bundlerec_progress_interval_ms <= 0)
		return;
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, p->start);
	s = INSTR_TIME_GET_DOUBLE(now);
	if (s < p->next)
		return;
	p->next = s + bundlerec_progress_interval_ms / 1000.0;
	if (p->total > 0)
		ereport(NOTICE,
				(errmsg("bundlerec: %s: " INT64_FORMAT " of " INT64_FORMAT " %s (%d%%) after %.1f s",
						p->what, done, p->total, p->unit,
						(int) (100.0 * done / p->total), s)));
	else
		ereport(NOTICE,
				(errmsg("bundlerec: %s: " INT64_FORMAT " %s after %.1f s",
						p->what, done, p->unit, s)));
}
