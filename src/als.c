/*
 * als.c
 *	  Implicit-feedback alternating least squares (Hu, Koren, Volinsky 2008).
 *
 * Minimises  sum_{u,i} c_ui (p_ui - x_u.y_i)^2 + lambda (|X|^2 + |Y|^2)
 * with p_ui = 1 where customer u bought item i and c_ui = 1 + alpha r_ui
 * (the `implicit` library uses c_ui = alpha r_ui).  Each half step solves
 * every row exactly: with A0 = Y'Y + lambda I shared by all rows,
 *
 *	 (A0 + V'V) x = b,	V = rows sqrt(alpha r_ui) y_i,	b = sum c_ui y_i.
 *
 * A row with many items adds V'V with one syrk and solves by Cholesky
 * (k^3/3).  A row with few items, the common case for customers, uses the
 * Woodbury identity with W = A0^-1 computed once per half step:
 *
 *	 x = W b - (V W)' (I + V W V')^-1 V W b,
 *
 * which costs about n k^2 instead of k^3/3.  Exact solves make the loss fall
 * monotonically and let a test check every row's normal equations.
 *
 * The default solver instead takes a few conjugate-gradient steps per row
 * from the row's current vector (Takacs, Pilaszy, Tikk 2011; the `cg`
 * solver of `implicit`).  Each step needs A p = A0 p + V'(V p): rows are
 * advanced in blocks so that A0 P is one dgemm for the block, and V p uses
 * the row's item vectors gathered once per block.  No k x k matrix is built
 * per row (a row with more items than a block holds is solved exactly: one
 * pass building its system costs less than gathering its items every step).
 * A CG step never raises the row's quadratic, so the loss still falls; it
 * converges to the exact solution as steps grow.
 *
 * Factors are stored as float4; sums and solves run in double.  Rows are
 * solved in a fixed order with one BLAS thread by default, so a seed gives
 * the same factors every run.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "interactions.h"
#include "linalg.h"
#include "output.h"

PG_FUNCTION_INFO_V1(als_train);

#define GRAM_BLOCK 4096			/* rows converted to double per syrk */
#define DIRECT_CHUNK 1024		/* rows of V per syrk in a direct solve */
#define CG_BLOCK 256			/* rows advanced together by the CG solver */
#define CG_GATHER (1 << 19)		/* doubles of gathered item vectors per block */
#define CG_TINY 1e-20			/* squared residual at which a row is solved */
#define CG_PREFETCH 8			/* item vectors fetched ahead when gathering */

#ifdef __GNUC__
#define PrefetchRead(addr) __builtin_prefetch(addr)
#else
#define PrefetchRead(addr) ((void) 0)
#endif

typedef enum AlsSolver
{
	ALS_SOLVER_CG,
	ALS_SOLVER_EXACT
} AlsSolver;

typedef struct AlsParams
{
	int			k;
	double		lambda;
	double		alpha;
	int			iterations;
	int64		seed;
	AlsSolver	solver;
	int			cg_steps;
} AlsParams;

typedef struct AlsScratch
{
	double	   *gram;			/* k x k */
	double	   *a0;				/* Y'Y + lambda I */
	double	   *w;				/* a0^-1 */
	double	   *a;				/* one row's system */
	double	   *b;
	double	   *x0;
	double	   *v;				/* DIRECT_CHUNK x k */
	double	   *m;				/* (k/2) x k */
	double	   *s;				/* (k/2) x (k/2) */
	double	   *t;
	double	   *block;			/* GRAM_BLOCK x k */
	double	   *cx;				/* CG: CG_BLOCK x k rows, residuals, */
	double	   *cr;				/* directions and A times directions */
	double	   *cp;
	double	   *cap;
	double	   *crs;			/* CG_BLOCK squared residuals */
	int64	   *coff;			/* CG_BLOCK first gathered row */
	double	   *gather;			/* gcap x k item vectors */
	double	   *sd;				/* gcap */
	int			gcap;
	double		flops;
} AlsScratch;

/* The side being solved: row r has entries start[r]..start[r+1]. */
typedef struct AlsSide
{
	float	   *t;				/* nt x k, the rows solved */
	int64		nt;
	const float *f;				/* nf x k, the fixed side */
	int64		nf;
	const int64 *start;
	const int32 *idx;			/* rows of f */
	const float *weight;
} AlsSide;

/* G = F'F in double, F an n x k float matrix. */
static void
GramDouble(const float *f, int64 n, int k, double *g, double *block,
		   double *flops)
{
	int64		from;

	memset(g, 0, sizeof(double) * k * k);
	for (from = 0; from < n; from += GRAM_BLOCK)
	{
		int			rows = (int) Min(GRAM_BLOCK, n - from);
		int64		j;

		for (j = 0; j < (int64) rows * k; j++)
			block[j] = f[from * k + j];
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, k, rows,
					1.0, block, k, 1.0, g, k);
		*flops += (double) rows * k * (k + 1);
		CHECK_FOR_INTERRUPTS();
	}
	CopyUpperToLower(g, k);
}

/* Error for a system that is not positive definite. */
static void
NotPositiveDefinite(const AlsParams *p)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the least-squares system is singular at regularization %g",
					p->lambda),
			 errhint("Use a positive regularization, for example 0.01.")));
}

/*
 * Start loading the fixed-side vector of entry e + CG_PREFETCH (if before
 * hi): the vectors of a row's entries are scattered over the fixed side.
 */
static inline void
PrefetchAhead(const AlsSide *sd, int64 e, int64 hi, int k)
{
	if (e + CG_PREFETCH < hi)
	{
		const char *ahead = (const char *) (sd->f + (int64) sd->idx[e + CG_PREFETCH] * k);
		int			j;

		for (j = 0; j < k * (int) sizeof(float); j += 64)
			PrefetchRead(ahead + j);
	}
}

/* s->b = sum of c_ui y_i over the row's entries lo..hi. */
static void
RowRhs(const AlsSide *sd, int64 lo, int64 hi, const AlsParams *p,
	   AlsScratch *s)
{
	int			k = p->k;
	int64		e;
	int			j;

	memset(s->b, 0, sizeof(double) * k);
	for (e = lo; e < hi; e++)
	{
		const float *y = sd->f + (int64) sd->idx[e] * k;
		double		c = 1.0 + p->alpha * sd->weight[e];

		PrefetchAhead(sd, e, hi, k);
		for (j = 0; j < k; j++)
			s->b[j] += c * y[j];
	}
	s->flops += 2.0 * (hi - lo) * k;
}

/*
 * Solve one row exactly by Cholesky of A0 + V'V, V added a chunk at a time;
 * s->b holds the right-hand side.
 */
static void
SolveRowCholesky(float *x, const AlsSide *sd, int64 lo, int64 hi,
				 const AlsParams *p, AlsScratch *s)
{
	int			k = p->k;
	int			kk = k * k;
	int			info = 0;
	int			one = 1;
	int64		e;
	int			j;

	memcpy(s->a, s->a0, sizeof(double) * kk);
	for (e = lo; e < hi; e += DIRECT_CHUNK)
	{
		int			rows = (int) Min(DIRECT_CHUNK, hi - e);
		int			q;

		for (q = 0; q < rows; q++)
		{
			const float *y = sd->f + (int64) sd->idx[e + q] * k;
			double		sc = sqrt(p->alpha * sd->weight[e + q]);
			double	   *vrow = s->v + (int64) q * k;

			PrefetchAhead(sd, e + q, hi, k);
			for (j = 0; j < k; j++)
				vrow[j] = sc * y[j];
		}
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, k, rows,
					1.0, s->v, k, 1.0, s->a, k);
		if (hi - lo > DIRECT_CHUNK)
			CHECK_FOR_INTERRUPTS();
	}
	dposv_("L", &k, &one, s->a, &k, s->b, &k, &info);
	if (info != 0)
		NotPositiveDefinite(p);
	for (j = 0; j < k; j++)
		x[j] = (float) s->b[j];
	s->flops += (double) (hi - lo) * k * (k + 1) + (double) kk * k / 3.0 +
		2.0 * kk;
}

/* Copy n item vectors, rows idx[lo..lo+n) of f, into v as doubles. */
static void
GatherRows(double *v, const AlsSide *sd, int64 lo, int n, int k)
{
	int			q,
				j;

	for (q = 0; q < n; q++)
	{
		const float *y = sd->f + (int64) sd->idx[lo + q] * k;
		double	   *vrow = v + (int64) q * k;

		PrefetchAhead(sd, lo + q, lo + n, k);
		for (j = 0; j < k; j++)
			vrow[j] = y[j];
	}
}

/*
 * a . b and y += a x for vectors of length k: inline, since the CG solver
 * makes several per row and step.
 */
static inline double
Dot(const double *a, const double *b, int k)
{
	double		s0 = 0,
				s1 = 0,
				s2 = 0,
				s3 = 0;
	int			j;

	for (j = 0; j + 3 < k; j += 4)
	{
		s0 += a[j] * b[j];
		s1 += a[j + 1] * b[j + 1];
		s2 += a[j + 2] * b[j + 2];
		s3 += a[j + 3] * b[j + 3];
	}
	for (; j < k; j++)
		s0 += a[j] * b[j];
	return (s0 + s1) + (s2 + s3);
}

static inline void
Axpy(double a, const double *x, double *y, int k)
{
	int			j;

	for (j = 0; j < k; j++)
		y[j] += a * x[j];
}

/*
 * out += sum_q c_q v_q over n gathered item vectors v_q of weights w_q, with
 * d_q = v_q . in and c_q = alpha w_q d_q (a product with V'V), or for a
 * residual c_q = 1 + alpha w_q - alpha w_q d_q (b minus V'V in).
 */
static void
CorrectRows(const double *v, const float *w, int n, const double *in,
			double *out, bool residual, const AlsParams *p, AlsScratch *s)
{
	int			k = p->k;
	int			q;

	s->flops += 4.0 * n * k;
	cblas_dgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0, v, k, in, 1, 0.0,
				s->sd, 1);
	for (q = 0; q < n; q++)
	{
		double		aw = p->alpha * w[q];

		s->sd[q] = residual ? 1.0 + aw - aw * s->sd[q] : aw * s->sd[q];
	}
	cblas_dgemv(CblasRowMajor, CblasTrans, n, k, 1.0, v, k, s->sd, 1, 1.0,
				out, 1);
}

/* CorrectRows over every item of block row b, from the gathered vectors. */
static void
CorrectRow(const AlsSide *sd, int64 r, int b, const double *in, double *out,
		   bool residual, const AlsParams *p, AlsScratch *s)
{
	int64		lo = sd->start[r];

	CorrectRows(s->gather + s->coff[b] * p->k, sd->weight + lo,
				(int) (sd->start[r + 1] - lo), in, out, residual, p, s);
}

/*
 * A few CG steps for rows r0..r0+nb of the side, each warm-started from its
 * current vector; A0 P for the whole block is one dgemm per step.
 */
static void
CgBlock(const AlsSide *sd, int64 r0, int nb, const AlsParams *p, AlsScratch *s)
{
	int			k = p->k;
	bool		active[CG_BLOCK];
	int			b,
				j,
				step;

	for (b = 0; b < nb; b++)
	{
		const float *x = sd->t + (r0 + b) * k;

		for (j = 0; j < k; j++)
			s->cx[b * k + j] = x[j];
	}
	/* R = B - X A (A0 is symmetric, so X A0 holds the rows A0 x) */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, k, k,
				-1.0, s->cx, k, s->a0, k, 0.0, s->cr, k);
	s->flops += 2.0 * nb * k * k;
	for (b = 0; b < nb; b++)
	{
		double	   *xb = s->cx + b * k,
				   *rb = s->cr + b * k;

		active[b] = sd->start[r0 + b + 1] > sd->start[r0 + b];
		if (!active[b])
		{
			/* no items: A0 x = 0 is solved by x = 0 */
			memset(xb, 0, sizeof(double) * k);
			continue;
		}
		CorrectRow(sd, r0 + b, b, xb, rb, true, p, s);
		memcpy(s->cp + b * k, rb, sizeof(double) * k);
		s->crs[b] = Dot(rb, rb, k);
		active[b] = s->crs[b] > CG_TINY;
	}
	for (step = 0; step < p->cg_steps; step++)
	{
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, k, k,
					1.0, s->cp, k, s->a0, k, 0.0, s->cap, k);
		s->flops += 2.0 * nb * k * k;
		for (b = 0; b < nb; b++)
		{
			double	   *pb = s->cp + b * k,
					   *apb = s->cap + b * k,
					   *rb = s->cr + b * k;
			double		pap,
						a,
						rs;

			if (!active[b])
				continue;
			CorrectRow(sd, r0 + b, b, pb, apb, false, p, s);
			pap = Dot(pb, apb, k);
			if (!(pap > 0))
			{
				active[b] = false;
				continue;
			}
			a = s->crs[b] / pap;
			Axpy(a, pb, s->cx + b * k, k);
			Axpy(-a, apb, rb, k);
			rs = Dot(rb, rb, k);
			/* p = r + (rs / rs_old) p */
			for (j = 0; j < k; j++)
				pb[j] = rb[j] + rs / s->crs[b] * pb[j];
			s->crs[b] = rs;
			active[b] = rs > CG_TINY;
			s->flops += 10.0 * k;
		}
	}
	for (b = 0; b < nb; b++)
	{
		float	   *x = sd->t + (r0 + b) * k;

		for (j = 0; j < k; j++)
			x[j] = (float) s->cx[b * k + j];
	}
}

/*
 * The CG solver over every row: blocks of up to CG_BLOCK rows whose item
 * vectors fit the gather buffer.  A row with more items than that (a
 * popular item) is solved exactly: one pass building its k x k system costs
 * less than gathering its vectors again for every CG step.
 */
static void
SolveSideCg(const AlsSide *sd, const AlsParams *p, AlsScratch *s)
{
	int64		r0 = 0;

	while (r0 < sd->nt)
	{
		int64		used = 0;
		int			nb = 0;

		CHECK_FOR_INTERRUPTS();
		while (nb < CG_BLOCK && r0 + nb < sd->nt)
		{
			int64		lo = sd->start[r0 + nb],
						n = sd->start[r0 + nb + 1] - lo;

			if (used + n > s->gcap)
				break;
			s->coff[nb++] = used;
			used += n;
		}
		/* the block's entries are contiguous: gather them in one pass */
		GatherRows(s->gather, sd, sd->start[r0], (int) used, p->k);
		if (nb == 0)
		{
			RowRhs(sd, sd->start[r0], sd->start[r0 + 1], p, s);
			SolveRowCholesky(sd->t + r0 * p->k, sd, sd->start[r0],
							 sd->start[r0 + 1], p, s);
			r0++;
			continue;
		}
		CgBlock(sd, r0, nb, p, s);
		r0 += nb;
	}
}

/*
 * Solve every row of the side: exactly, or by CG steps from its current
 * vector.
 */
static void
SolveSide(const AlsSide *sd, const AlsParams *p, AlsScratch *s)
{
	float	   *t = sd->t;
	int64		nt = sd->nt;
	const float *f = sd->f;
	const int64 *start = sd->start;
	const int32 *idx = sd->idx;
	const float *weight = sd->weight;
	int			k = p->k;
	int			kk = k * k;
	int			info = 0;
	int			one = 1;
	int64		r;
	int			j;

	GramDouble(f, sd->nf, k, s->gram, s->block, &s->flops);
	memcpy(s->a0, s->gram, sizeof(double) * kk);
	for (j = 0; j < k; j++)
		s->a0[j * k + j] += p->lambda;
	if (p->solver == ALS_SOLVER_CG)
	{
		SolveSideCg(sd, p, s);
		return;
	}
	memcpy(s->w, s->a0, sizeof(double) * kk);
	dpotrf_("L", &k, s->w, &k, &info);
	if (info != 0)
		NotPositiveDefinite(p);
	dpotri_("L", &k, s->w, &k, &info);
	if (info != 0)
		NotPositiveDefinite(p);
	CopyUpperToLower(s->w, k);
	s->flops += (double) k * k * k;

	for (r = 0; r < nt; r++)
	{
		int64		lo = start[r],
					hi = start[r + 1];
		int			n = (int) Min(hi - lo, (int64) PG_INT32_MAX);
		float	   *x = t + r * k;
		int64		e;

		if ((r & 0xFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (hi == lo)
		{
			memset(x, 0, sizeof(float) * k);
			continue;
		}
		RowRhs(sd, lo, hi, p, s);

		if (2 * (hi - lo) <= k)
		{
			/* Woodbury: n <= k/2 rows of V */
			for (e = lo; e < hi; e++)
			{
				const float *y = f + (int64) idx[e] * k;
				double		sc = sqrt(p->alpha * weight[e]);
				double	   *vrow = s->v + (e - lo) * k;

				for (j = 0; j < k; j++)
					vrow[j] = sc * y[j];
			}
			/* M = V W, x0 = W b, S = I + M V', rhs = V x0 */
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, k,
						1.0, s->v, k, s->w, k, 0.0, s->m, k);
			cblas_dgemv(CblasRowMajor, CblasNoTrans, k, k, 1.0, s->w, k,
						s->b, 1, 0.0, s->x0, 1);
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, k,
						1.0, s->m, k, s->v, k, 0.0, s->s, n);
			for (j = 0; j < n; j++)
				s->s[j * n + j] += 1.0;
			cblas_dgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0, s->v, k,
						s->x0, 1, 0.0, s->t, 1);
			dposv_("L", &n, &one, s->s, &n, s->t, &n, &info);
			if (info != 0)
				NotPositiveDefinite(p);
			/* x = x0 - M' t */
			cblas_dgemv(CblasRowMajor, CblasTrans, n, k, -1.0, s->m, k,
						s->t, 1, 1.0, s->x0, 1);
			for (j = 0; j < k; j++)
				x[j] = (float) s->x0[j];
			s->flops += 2.0 * n * kk + 2.0 * n * n * k + (double) n * n * n / 3.0 +
				2.0 * kk + 4.0 * n * k;
		}
		else
			SolveRowCholesky(x, sd, lo, hi, p, s);
	}
}

/* The objective at (x, y), in double. */
static double
AlsLoss(const float *x, const float *y, const Interactions *m,
		const AlsParams *p, AlsScratch *s)
{
	int			k = p->k;
	double		all = 0,
				obs = 0,
				reg = 0;
	int64		from,
				e;
	int32		u;

	/* sum over every (u, i) of (x_u.y_i)^2 = sum_u x_u' Y'Y x_u */
	GramDouble(y, m->n_items, k, s->gram, s->block, &s->flops);
	for (from = 0; from < m->n_customers; from += GRAM_BLOCK)
	{
		int			rows = (int) Min(GRAM_BLOCK, m->n_customers - from);
		int64		j;
		int			q;

		for (j = 0; j < (int64) rows * k; j++)
			s->block[j] = x[from * k + j];
		for (q = 0; q < rows; q++)
		{
			cblas_dgemv(CblasRowMajor, CblasNoTrans, k, k, 1.0, s->gram, k,
						s->block + (int64) q * k, 1, 0.0, s->x0, 1);
			all += cblas_ddot(k, s->x0, 1, s->block + (int64) q * k, 1);
		}
		CHECK_FOR_INTERRUPTS();
	}
	for (u = 0; u < m->n_customers; u++)
	{
		const float *xu = x + (int64) u * k;

		for (e = m->row_start[u]; e < m->row_start[u + 1]; e++)
		{
			const float *yi = y + (int64) m->row_item[e] * k;
			double		dot = 0,
						c = 1.0 + p->alpha * m->row_weight[e];
			int			j;

			for (j = 0; j < k; j++)
				dot += (double) xu[j] * yi[j];
			obs += c * (1.0 - dot) * (1.0 - dot) - dot * dot;
		}
		if ((u & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (e = 0; e < (int64) m->n_customers * k; e++)
		reg += (double) x[e] * x[e];
	for (e = 0; e < (int64) m->n_items * k; e++)
		reg += (double) y[e] * y[e];
	return all + obs + p->lambda * reg;
}

static void
CheckAlsParams(const AlsParams *p)
{
	if (p->k < 1 || p->k > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("factors must be between 1 and 1024, not %d", p->k),
				 errhint("Typical values are 32 to 128.")));
	if (!(p->lambda >= 0) || isinf(p->lambda))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("regularization must be a finite number >= 0, not %g", p->lambda),
				 errhint("Typical values are 0.01 to 100; pick it on held-out orders.")));
	if (!(p->alpha >= 0) || isinf(p->alpha))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alpha must be a finite number >= 0, not %g", p->alpha),
				 errhint("The confidence of an interaction of weight r is 1 + alpha * r; typical alpha is 1 to 40.")));
	if (p->iterations < 1 || p->iterations > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("iterations must be between 1 and 10000, not %d", p->iterations),
				 errhint("ALS usually converges in 10 to 20 iterations.")));
	if (p->cg_steps < 1 || p->cg_steps > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cg_steps must be between 1 and 1000, not %d", p->cg_steps),
				 errhint("3 steps per row are usually enough; more steps approach solver => 'exact'.")));
}

/* The solver named by the solver argument. */
static AlsSolver
ParseSolver(const char *name)
{
	if (strcmp(name, "cg") == 0)
		return ALS_SOLVER_CG;
	if (strcmp(name, "exact") == 0)
		return ALS_SOLVER_EXACT;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("solver must be 'cg' or 'exact', not \"%s\"", name),
			 errhint("'cg' takes cg_steps conjugate-gradient steps per row and is faster; 'exact' solves every row's normal equations exactly.")));
	return ALS_SOLVER_CG;		/* keep compiler quiet */
}

/* Create table name (key keytype PRIMARY KEY, factors real[]). */
static void
CreateFactorTable(const char *qname, const char *keycol, Oid keytype)
{
	char	   *sql = psprintf("CREATE TABLE %s (%s %s PRIMARY KEY, factors pg_catalog.float4[] NOT NULL)",
							   qname, keycol, format_type_be_qualified(keytype));

	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create table %s", qname);
}

/* Insert every row of a factor matrix under its key. */
static void
WriteFactors(const char *qname, const ItemDict *dict, const int32 *keys,
			 int32 n, Oid keytype, const float *v, int k)
{
	Oid			argtypes[2] = {keytype, FLOAT4ARRAYOID};
	char	   *sql = psprintf("INSERT INTO %s VALUES ($1, $2)", qname);
	SPIPlanPtr	plan = SPI_prepare(sql, 2, argtypes);
	int32		r;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for %s", sql);
	for (r = 0; r < n; r++)
	{
		Datum		vals[2];
		ArrayType  *arr = FloatArray(v + (int64) r * k, k);

		vals[0] = ItemDictKey(dict, keys[r], keytype);
		vals[1] = PointerGetDatum(arr);
		if (SPI_execute_plan(plan, vals, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into %s", qname);
		pfree(arr);
		if ((r & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	SPI_freeplan(plan);
}

/*
 * Start the customers a previous training knows from its vectors (the items
 * are solved from them first), so a refresh converges in a few iterations.
 */
static void
WarmStart(float *x, const Interactions *m, int k, Oid relid)
{
	FactorTable *prev = LoadFactorTableKeyed(relid, "customer");
	int32		r,
				found = 0;

	if (prev->n > 0 && prev->k != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("warm_start has %d factors but factors is %d", prev->k, k),
				 errhint("Warm-start from a customer table trained with the same number of factors, or leave warm_start out.")));
	for (r = 0; r < m->n_customers; r++)
	{
		char	   *key = TextDatumGetCString(ItemDictKey(m->customers, m->customer_key[r], TEXTOID));
		int32		row = FindKey(prev, key);

		if (row >= 0)
		{
			memcpy(x + (Size) r * k, prev->v + (Size) row * k, sizeof(float) * k);
			found++;
		}
		pfree(key);
		if ((r & 0x3FF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	ereport(DEBUG1,
			(errmsg("ALS warm start: %d of %d customers from \"%s\"",
					found, m->n_customers, get_rel_name(relid))));
}

/*
 * als_train(source, customer, item, customer_table, item_table, weight,
 *			 factors, regularization, alpha, iterations, seed, warm_start,
 *			 solver, cg_steps)
 *	  Trains ALS, writes the two factor tables and returns the loss per
 *	  iteration.
 */
Datum
als_train(PG_FUNCTION_ARGS)
{
	AlsParams	p;
	Interactions *m;
	const char *ctab,
			   *itab;
	char	   *cq,
			   *iq;
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	AlsScratch	s;
	AlsSide		items_side,
				customers_side;
	float	   *x,
			   *y;
	pg_prng_state rng;
	int64		e;
	int			it,
				k,
				half;
	double		prev = 0;

	for (it = 6; it <= 10; it++)
		if (PG_ARGISNULL(it))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("factors, regularization, alpha, iterations and seed must not be NULL"),
					 errhint("Leave a parameter out to use its default.")));
	p.k = PG_GETARG_INT32(6);
	p.lambda = PG_GETARG_FLOAT8(7);
	p.alpha = PG_GETARG_FLOAT8(8);
	p.iterations = PG_GETARG_INT32(9);
	p.seed = PG_GETARG_INT64(10);
	p.solver = ALS_SOLVER_CG;
	p.cg_steps = 3;
	if (PG_NARGS() > 13)
	{
		if (PG_ARGISNULL(12) || PG_ARGISNULL(13))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("solver and cg_steps must not be NULL"),
					 errhint("Leave a parameter out to use its default.")));
		p.solver = ParseSolver(text_to_cstring(PG_GETARG_TEXT_PP(12)));
		p.cg_steps = PG_GETARG_INT32(13);
	}
	CheckAlsParams(&p);
	if (PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("customer_table and item_table must not be NULL"),
				 errhint("Name the tables to create, for example 'customer_factors' and 'item_factors'.")));
	ctab = text_to_cstring(PG_GETARG_TEXT_PP(3));
	itab = text_to_cstring(PG_GETARG_TEXT_PP(4));
	cq = QualifiedTableName(ctab, "customer_table");
	iq = QualifiedTableName(itab, "item_table");
	if (strcmp(cq, iq) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("customer_table and item_table are both %s", cq),
				 errhint("Name two different tables.")));

	ts = StartRowsOutput(fcinfo, &tupdesc);
	m = ReadInteractionArgs(fcinfo, 5, "ALS factors");
	k = p.k;
	half = Max(k / 2, 1);

	/* create the tables first, so a name clash fails before training */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	CreateFactorTable(cq, "customer", m->customer_type);
	CreateFactorTable(iq, "item", m->item_type);
	SPI_finish();

	memset(&s, 0, sizeof(s));
	s.gram = BudgetAlloc(&m->budget, sizeof(double) * k * k);
	s.a0 = BudgetAlloc(&m->budget, sizeof(double) * k * k);
	s.w = BudgetAlloc(&m->budget, sizeof(double) * k * k);
	s.a = BudgetAlloc(&m->budget, sizeof(double) * k * k);
	s.b = BudgetAlloc(&m->budget, sizeof(double) * k);
	s.x0 = BudgetAlloc(&m->budget, sizeof(double) * k);
	s.t = BudgetAlloc(&m->budget, sizeof(double) * k);
	s.v = BudgetAlloc(&m->budget, sizeof(double) * DIRECT_CHUNK * k);
	s.m = BudgetAlloc(&m->budget, sizeof(double) * half * k);
	s.s = BudgetAlloc(&m->budget, sizeof(double) * half * half);
	s.block = BudgetAlloc(&m->budget, sizeof(double) * GRAM_BLOCK * k);
	if (p.solver == ALS_SOLVER_CG)
	{
		s.gcap = Max(CG_GATHER / k, 1);
		s.cx = BudgetAlloc(&m->budget, sizeof(double) * CG_BLOCK * k);
		s.cr = BudgetAlloc(&m->budget, sizeof(double) * CG_BLOCK * k);
		s.cp = BudgetAlloc(&m->budget, sizeof(double) * CG_BLOCK * k);
		s.cap = BudgetAlloc(&m->budget, sizeof(double) * CG_BLOCK * k);
		s.crs = BudgetAlloc(&m->budget, sizeof(double) * CG_BLOCK);
		s.coff = BudgetAlloc(&m->budget, sizeof(int64) * CG_BLOCK);
		s.gather = BudgetAlloc(&m->budget, sizeof(double) * (Size) s.gcap * k);
		s.sd = BudgetAlloc(&m->budget, sizeof(double) * s.gcap);
	}
	x = BudgetAlloc(&m->budget, sizeof(float) * (Size) m->n_customers * k);
	y = BudgetAlloc0(&m->budget, sizeof(float) * (Size) m->n_items * k);

	/* same start as `implicit`: uniform in [0, 0.01) */
	pg_prng_seed(&rng, (uint64) p.seed);
	for (e = 0; e < (int64) m->n_customers * k; e++)
		x[e] = (float) (pg_prng_double(&rng) * 0.01);
	if (PG_NARGS() > 11 && !PG_ARGISNULL(11))
		WarmStart(x, m, k, PG_GETARG_OID(11));
	items_side = (AlsSide) {y, m->n_items, x, m->n_customers, m->col_start,
	m->col_customer, m->col_weight};
	customers_side = (AlsSide) {x, m->n_customers, y, m->n_items, m->row_start,
	m->row_item, m->row_weight};

	for (it = 1; it <= p.iterations; it++)
	{
		instr_time	start,
					dur;
		double		flops0 = s.flops;
		double		train_flops;
		double		loss;
		Datum		vals[4];
		bool		nulls[4] = {false, false, false, false};

		INSTR_TIME_SET_CURRENT(start);
		/* items first, so the customer vectors of the result are exact */
		SolveSide(&items_side, &p, &s);
		SolveSide(&customers_side, &p, &s);
		INSTR_TIME_SET_CURRENT(dur);
		INSTR_TIME_SUBTRACT(dur, start);
		train_flops = s.flops - flops0;
		loss = AlsLoss(x, y, m, &p, &s);
		ereport(NOTICE,
				(errmsg("ALS iteration %d: loss %.6g (%.3f s)", it, loss,
						INSTR_TIME_GET_DOUBLE(dur))));
		if (it > 1 && loss > prev * (1.0 + 1e-9))
			ereport(WARNING,
					(errmsg("ALS loss rose from %.9g to %.9g", prev, loss)));
		prev = loss;
		vals[0] = Int32GetDatum(it);
		vals[1] = Float8GetDatum(loss);
		vals[2] = Float8GetDatum(INSTR_TIME_GET_DOUBLE(dur));
		vals[3] = Float8GetDatum(train_flops / 1e9);
		tuplestore_putvalues(ts, tupdesc, vals, nulls);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	WriteFactors(cq, m->customers, m->customer_key, m->n_customers,
				 m->customer_type, x, k);
	WriteFactors(iq, m->items, m->item_key, m->n_items, m->item_type, y, k);
	SPI_finish();
	PG_RETURN_NULL();
}
