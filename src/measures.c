/*
 * measures.c
 *	  Association measures of an item pair from its counts.
 *
 * For n baskets, a = count(A), b = count(B), ab = count(A and B):
 * support ab/n, confidence ab/a, lift ab*n/(a*b), Jaccard ab/(a+b-ab),
 * cosine ab/sqrt(a*b), leverage ab/n - (a/n)(b/n), conviction
 * (1 - b/n)/(1 - ab/a), and Fisher's one-sided exact test: the
 * probability of ab or more co-occurrences if A and B were independent
 * (hypergeometric upper tail), which stays large for rare pairs.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#include "measures.h"

/* log of the binomial coefficient C(n, k). */
static double
LogChoose(int64 n, int64 k)
{
	return lgamma((double) n + 1.0) - lgamma((double) k + 1.0) -
		lgamma((double) (n - k) + 1.0);
}

/*
 * Natural log of P(X >= ab) for X hypergeometric: a draws from n baskets of
 * which b hold B.  Terms are summed from the smaller tail outward and stop
 * once they no longer change the sum.
 */
double
FisherLogP(int64 n, int64 a, int64 b, int64 ab)
{
	int64		lo = Max((int64) 0, a + b - n);
	int64		hi = Min(a, b);
	double		logbase;
	double		sum,
				term;
	int64		k;
	double		mean;

	if (ab <= lo)
		return 0.0;
	if (ab > hi)
		return -INFINITY;
	logbase = LogChoose(b, ab) + LogChoose(n - b, a - ab) - LogChoose(n, a);
	mean = (double) a * (double) b / (double) n;

	if ((double) ab > mean)
	{
		/* upper tail: terms fall from pmf(ab) onward */
		sum = 1.0;
		term = 1.0;
		for (k = ab; k < hi; k++)
		{
			term *= ((double) (a - k) * (double) (b - k)) /
				((double) (k + 1) * (double) (n - a - b + k + 1));
			sum += term;
			if (term < sum * 1e-17)
				break;
		}
		return logbase + log(sum);
	}
	else
	{
		/* 1 - lower tail, summing pmf(ab-1), pmf(ab-2), ... */
		sum = 0.0;
		term = 1.0;
		for (k = ab; k > lo; k--)
		{
			term *= ((double) k * (double) (n - a - b + k)) /
				((double) (b - k + 1) * (double) (a - k + 1));
			sum += term;
			if (term < sum * 1e-17)
				break;
		}
		return log1p(-Min(1.0, exp(logbase) * sum));
	}
}

/* Every measure of one pair. */
void
ComputePairMeasures(int64 n, int64 a, int64 b, int64 ab, PairMeasures *m)
{
	double		dn = (double) n,
				da = (double) a,
				db = (double) b,
				dab = (double) ab;

	m->support = dab / dn;
	m->confidence_ab = dab / da;
	m->confidence_ba = dab / db;
	m->lift = (dab * dn) / (da * db);
	m->jaccard = dab / (da + db - dab);
	m->cosine = dab / sqrt(da * db);
	m->leverage = dab / dn - (da / dn) * (db / dn);
	m->conviction_ab = (ab == a) ? INFINITY : (1.0 - db / dn) / (1.0 - dab / da);
	m->conviction_ba = (ab == b) ? INFINITY : (1.0 - da / dn) / (1.0 - dab / db);
	m->fisher_p = exp(FisherLogP(n, a, b, ab));
}

/* RankBy for a measure name, or an error listing the names. */
RankBy
ParseRankBy(const char *name)
{
	static const struct
	{
		const char *name;
		RankBy		rank;
	}			names[] =
	{
		{"count", RANK_COUNT},
		{"support", RANK_SUPPORT},
		{"confidence", RANK_CONFIDENCE},
		{"lift", RANK_LIFT},
		{"jaccard", RANK_JACCARD},
		{"cosine", RANK_COSINE},
		{"leverage", RANK_LEVERAGE},
		{"conviction", RANK_CONVICTION},
		{"fisher", RANK_FISHER},
	};
	int			i;

	for (i = 0; i < lengthof(names); i++)
		if (pg_strcasecmp(name, names[i].name) == 0)
			return names[i].rank;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown rank_by measure \"%s\"", name),
			 errhint("Use one of count, support, confidence, lift, jaccard, cosine, leverage, conviction or fisher.")));
	return RANK_COUNT;			/* keep compiler quiet */
}

/*
 * Score of partner for item (higher is better): directional measures
 * (confidence, conviction) read as item => partner; Fisher ranks by -log p.
 * Each score is an order-preserving form of the measure computed as one
 * division of integer products that long double holds exactly, so partners
 * with equal measures get equal scores and ties are broken by key as
 * documented, which float formulas with several roundings would not do.
 */
double
RankScore(RankBy rank, int64 n, int64 item, int64 partner, int64 ab)
{
	switch (rank)
	{
		case RANK_COUNT:
		case RANK_SUPPORT:
			return (double) ab;
		case RANK_CONFIDENCE:
			return (double) ((long double) ab / (long double) item);
		case RANK_LIFT:
			return (double) (((long double) ab * (long double) n) /
							 ((long double) item * (long double) partner));
		case RANK_JACCARD:
			return (double) ((long double) ab / (long double) (item + partner - ab));
		case RANK_COSINE:
			/* cosine squared */
			return (double) (((long double) ab * (long double) ab) /
							 ((long double) item * (long double) partner));
		case RANK_LEVERAGE:
			/* leverage times n squared */
			return (double) (ab * n - item * partner);
		case RANK_CONVICTION:
			/* item (n - partner) / (n (item - ab)) */
			if (ab == item)
				return INFINITY;
			return (double) (((long double) item * (long double) (n - partner)) /
							 ((long double) n * (long double) (item - ab)));
		case RANK_FISHER:
			return -FisherLogP(n, item, partner, ab);
	}
	return 0.0;
}

/*
 * Normalised pointwise mutual information of a pair held by cab of n
 * baskets (its items by ca and cb), times cab / (cab + shrinkage): rare
 * pairs are pulled toward 0.  -1 for a pair never bought together, 1 for
 * one in every basket.  The one place this formula lives: bundles' cohesion
 * and the models' pair scores both use it.
 */
double
ShrunkNpmi(double n, double ca, double cb, double cab, double shrinkage)
{
	double		npmi;

	if (cab <= 0)
		npmi = -1.0;
	else if (cab >= n)
		npmi = 1.0;
	else
		npmi = log(cab * n / (ca * cb)) / -log(cab / n);
	if (shrinkage == 0)
		return npmi;
	return npmi * cab / (cab + shrinkage);
}

PG_FUNCTION_INFO_V1(bundlerec_npmi);

/* SQL: bundlerec.npmi(count, count_a, count_b, n, shrinkage) */
Datum
bundlerec_npmi(PG_FUNCTION_ARGS)
{
	int64		cab = PG_GETARG_INT64(0);
	int64		ca = PG_GETARG_INT64(1);
	int64		cb = PG_GETARG_INT64(2);
	int64		n = PG_GETARG_INT64(3);
	double		shrinkage = PG_GETARG_FLOAT8(4);

	if (n < 1 || ca < 1 || cb < 1 || cab < 0 || cab > Min(ca, cb) || Max(ca, cb) > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("counts must satisfy 0 <= count <= count_a, count_b <= n and count_a, count_b >= 1, not %lld, %lld, %lld, %lld",
						(long long) cab, (long long) ca, (long long) cb, (long long) n),
				 errhint("count is the baskets holding both items, count_a and count_b those holding each, n all baskets.")));
	if (isnan(shrinkage) || isinf(shrinkage) || shrinkage < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shrinkage must be a finite number >= 0, not %g", shrinkage),
				 errhint("0 gives plain npmi; the models use 10.")));
	PG_RETURN_FLOAT8(ShrunkNpmi((double) n, (double) ca, (double) cb, (double) cab, shrinkage));
}
