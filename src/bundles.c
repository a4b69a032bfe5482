/*
 * bundles.c
 *	  Scoring a bundle (cohesion, affinity for a customer, revenue) and
 *	  growing bundles around an anchor item or a cart under constraints.
 *
 * For a bundle B with anchor items S (N baskets, c_X baskets holding all of
 * X):
 *	  npmi_ij	 = ln(c_ij N / (c_i c_j)) / -ln(c_ij / N), shrunk by
 *				   c_ij / (c_ij + shrinkage) so rare pairs count less
 *	  cohesion	 = mean shrunk npmi over the pairs of B
 *	  accept	 = c_B / c_S, the confidence of S => B \ S
 *	  revenue	 = accept * price(B \ S) * (1 - discount)
 *	  affinity	 = mean over B of sigmoid(x . y_i) (embeddings), or of
 *				   1 - prod_h (1 - cos(h, i)) over the customer's history
 *	  alike		 = mean over the pairs of B of their content similarity
 *				   (a content table; 0 for a pair it does not list)
 *	  score		 = w_c cohesion + w_a affinity + w_r revenue / (revenue + scale)
 *				   + w_l alike
 * Generation is a beam search: the anchor's best partners by shrunk npmi,
 * then bundles grown one item at a time, keeping the best `beam` of each
 * size; the baskets of a bundle are its parent's filtered by the new item,
 * so the support of the whole bundle is exact.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "arrays.h"
#include "bundles.h"
#include "measures.h"
#include "output.h"
#include "progress.h"
#include "topk.h"

PG_FUNCTION_INFO_V1(bundle_score);
PG_FUNCTION_INFO_V1(generate_bundles);

#define BUNDLE_COLUMNS 18
#define MAX_BEAM 1000

typedef enum AffinityMode
{
	AFFINITY_NONE,
	AFFINITY_HISTORY,
	AFFINITY_VECTOR
} AffinityMode;

/* How bundles are scored; the same for every bundle of a call. */
typedef struct Scoring
{
	double		shrinkage;
	double		w_cohesion;
	double		w_affinity;
	double		w_revenue;
	double		discount;
	double		revenue_scale;
	AffinityMode mode;
	bool	   *in_history;		/* item -> in the customer's history */
	int32	   *history;
	int			n_history;
	FactorTable *factors;
	float	   *vector;
	ContentSims *content;		/* NULL: alike not scored */
	double		w_alike;
	double	   *item_affinity;	/* item -> a_i, NaN until computed */
	bool	   *affinity_known;
} Scoring;

typedef struct BundleScore
{
	int64		count;
	double		support;
	double		cohesion;
	double		min_npmi;
	double		mean_lift;
	double		min_lift;
	double		affinity;		/* NaN when not scored */
	int			owned;			/* bundle items in the history */
	int			similar;		/* history items bought with bundle items */
	double		list_price;		/* NaN when a price is missing */
	double		bundle_price;
	double		accept;
	double		revenue;
	double		alike;			/* NaN when not scored */
	double		score;
} BundleScore;

/* Argument positions of the scoring options (-1: not a parameter). */
typedef struct ScoringArgs
{
	int			price,
				category,
				ordered_at,
				price_window,
				discount,
				history,
				vector,
				factors,
				shrinkage,
				w_cohesion,
				w_affinity,
				w_revenue,
				revenue_scale,
				content,
				w_alike;
} ScoringArgs;

static double
ArgFloat(FunctionCallInfo fcinfo, int argno, const char *param)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", param),
				 errhint("Leave the parameter out to use its default.")));
	return PG_GETARG_FLOAT8(argno);
}

static const char *
ArgColumn(FunctionCallInfo fcinfo, int argno)
{
	if (argno < 0 || PG_ARGISNULL(argno))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* Reject NaN, infinities and values below lo. */
static void
CheckAtLeast(double v, double lo, const char *param, const char *hint)
{
	if (!(v >= lo) || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number >= %g, not %g", param, lo, v),
				 errhint("%s", hint)));
}

/*
 * Dictionary ids of the texts of a text[] argument.  NULL elements are an
 * error; unknown items are an error when unknown_error, otherwise dropped
 * and counted in *n_unknown.
 */
static int32 *
ItemIdsOf(const BundleData *d, ArrayType *arr, const char *param,
		  bool unknown_error, int *n, int *n_unknown)
{
	Datum	   *el;
	bool	   *nulls;
	int			ne,
				i,
				m = 0;
	int32	   *ids;

	CheckArrayArg(arr, param);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &el, &nulls, &ne);
	ids = palloc(sizeof(int32) * Max(ne, 1));
	if (n_unknown)
		*n_unknown = 0;
	for (i = 0; i < ne; i++)
	{
		char	   *s;
		int32		id;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL items", param),
					 errhint("Remove them first, for example with array_remove(%s, NULL).", param)));
		s = TextDatumGetCString(el[i]);
		id = ItemDictFind(d->dict, s);
		if (id < 0 || id >= d->n_items)
		{
			if (unknown_error)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("item \"%s\" of %s does not occur in the source", s, param),
						 errhint("Bundles are scored from the baskets of the source; every item must have been bought at least once.")));
			if (n_unknown)
				(*n_unknown)++;
			continue;
		}
		ids[m++] = id;
	}
	*n = m;
	return ids;
}

/* Error if ids[0..n) repeats an item. */
static void
CheckDistinct(const BundleData *d, const int32 *ids, int n, const char *param)
{
	int			i,
				j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (ids[i] == ids[j])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s names item \"%s\" twice", param,
								TextDatumGetCString(ItemDictKey(d->dict, ids[i], TEXTOID))),
						 errhint("A bundle holds each item once.")));
}

static void
ReadScoring(FunctionCallInfo fcinfo, const ScoringArgs *a, BundleData *d,
			Scoring *sc)
{
	memset(sc, 0, sizeof(Scoring));
	sc->shrinkage = ArgFloat(fcinfo, a->shrinkage, "shrinkage");
	CheckAtLeast(sc->shrinkage, 0, "shrinkage",
				 "shrinkage s multiplies each pair's npmi by count / (count + s); 0 turns it off.");
	sc->w_cohesion = ArgFloat(fcinfo, a->w_cohesion, "cohesion_weight");
	sc->w_affinity = ArgFloat(fcinfo, a->w_affinity, "affinity_weight");
	sc->w_revenue = ArgFloat(fcinfo, a->w_revenue, "revenue_weight");
	CheckAtLeast(sc->w_cohesion, 0, "cohesion_weight", "Weights are >= 0; 0 leaves a component out of the score.");
	CheckAtLeast(sc->w_affinity, 0, "affinity_weight", "Weights are >= 0; 0 leaves a component out of the score.");
	CheckAtLeast(sc->w_revenue, 0, "revenue_weight", "Weights are >= 0; 0 leaves a component out of the score.");
	sc->discount = ArgFloat(fcinfo, a->discount, "discount");
	if (!(sc->discount >= 0 && sc->discount < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("discount must be at least 0 and below 1, not %g", sc->discount),
				 errhint("discount is the fraction taken off the bundle's list price, for example 0.1 for 10%%.")));
	if (PG_ARGISNULL(a->revenue_scale))
		sc->revenue_scale = d->median_price;
	else
	{
		sc->revenue_scale = PG_GETARG_FLOAT8(a->revenue_scale);
		if (!(sc->revenue_scale > 0) || isinf(sc->revenue_scale))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("revenue_scale must be a finite number > 0, not %g", sc->revenue_scale),
					 errhint("Expected revenue r enters the score as r / (r + revenue_scale); leave it out to use the median item price.")));
	}

	sc->w_alike = ArgFloat(fcinfo, a->w_alike, "alike_weight");
	if (isnan(sc->w_alike) || isinf(sc->w_alike))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alike_weight must be a finite number, not %g", sc->w_alike),
				 errhint("A positive weight favours bundles of alike items, a negative one bundles of unlike (complementary) items.")));
	if (!PG_ARGISNULL(a->content))
		sc->content = LoadContentSims(PG_GETARG_OID(a->content), d);
	else if (sc->w_alike != 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("alike_weight needs content"),
				 errhint("Pass a table of item, neighbor and similarity as content, such as a model's content_neighbors.")));

	sc->item_affinity = palloc(sizeof(double) * Max(d->n_items, 1));
	sc->affinity_known = palloc0(sizeof(bool) * Max(d->n_items, 1));
	if (!PG_ARGISNULL(a->vector))
	{
		int			k;

		if (PG_ARGISNULL(a->factors))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("customer_vector needs item_factors"),
					 errhint("Pass the item table written by bundlerec.als_train that the vector belongs to.")));
		sc->vector = ArrayArgFloat4s(PG_GETARG_ARRAYTYPE_P(a->vector), "customer_vector", &k);
		/* history is not used beside a vector, but is still checked */
		if (!PG_ARGISNULL(a->history))
			CheckArrayArg(PG_GETARG_ARRAYTYPE_P(a->history), "history");
		sc->factors = LoadFactorTable(PG_GETARG_OID(a->factors));
		if (sc->factors->n > 0 && k != sc->factors->k)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("customer_vector has %d factors but the item factors have %d", k, sc->factors->k),
					 errhint("Use the customer table written by the same bundlerec.als_train call, or bundlerec.als_fold_in.")));
		sc->mode = AFFINITY_VECTOR;
	}
	else if (!PG_ARGISNULL(a->history))
	{
		int			i;

		sc->history = ItemIdsOf(d, PG_GETARG_ARRAYTYPE_P(a->history), "history",
								false, &sc->n_history, NULL);
		sc->in_history = palloc0(sizeof(bool) * Max(d->n_items, 1));
		for (i = 0; i < sc->n_history; i++)
			sc->in_history[sc->history[i]] = true;
		sc->mode = AFFINITY_HISTORY;
	}
}

/* a_i of one item, computed once per call. */
static double
ItemAffinity(BundleData *d, Scoring *sc, int32 i)
{
	double		a = get_float8_nan();

	if (sc->affinity_known[i])
		return sc->item_affinity[i];
	if (sc->mode == AFFINITY_VECTOR)
	{
		char	   *key = TextDatumGetCString(ItemDictKey(d->dict, i, TEXTOID));
		int32		row = FindKey(sc->factors, key);

		if (row >= 0)
		{
			const float *y = sc->factors->v + (Size) row * sc->factors->k;
			double		dot = 0;
			int			f;

			for (f = 0; f < sc->factors->k; f++)
				dot += (double) sc->vector[f] * y[f];
			a = 1.0 / (1.0 + exp(-dot));
		}
	}
	else if (sc->mode == AFFINITY_HISTORY)
	{
		if (sc->in_history[i])
			a = 1.0;
		else
		{
			double		miss = 1.0;
			int			h;

			for (h = 0; h < sc->n_history; h++)
			{
				int32		hi = sc->history[h];
				int64		c = PairCount(d, hi, i);

				if (c > 0)
					miss *= 1.0 - (double) c / sqrt((double) d->count[hi] * (double) d->count[i]);
			}
			a = 1.0 - miss;
		}
	}
	sc->item_affinity[i] = a;
	sc->affinity_known[i] = true;
	return a;
}

/*
 * Score bundle items[0..m), whose first n_anchor items are the anchor, held
 * by count_b baskets; count_s baskets hold the anchor.
 */
static void
ScoreBundle(BundleData *d, Scoring *sc, const int32 *items, int m,
			int n_anchor, int64 count_b, int64 count_s, BundleScore *o)
{
	double		n = (double) d->n_baskets;
	double		sum_npmi = 0,
				sum_alike = 0,
				sum_lift = 0,
				sum_aff = 0,
				addon = 0,
				list = 0;
	int			pairs = 0,
				n_aff = 0,
				i,
				j;

	memset(o, 0, sizeof(BundleScore));
	o->count = count_b;
	o->support = n > 0 ? count_b / n : 0;
	o->min_npmi = get_float8_infinity();
	o->min_lift = get_float8_infinity();
	for (i = 0; i < m; i++)
		for (j = i + 1; j < m; j++)
		{
			double		ca = d->count[items[i]],
						cb = d->count[items[j]],
						cab = PairCount(d, items[i], items[j]),
						s = ShrunkNpmi(n, ca, cb, cab, sc->shrinkage),
						lift = cab * n / (ca * cb);

			sum_npmi += s;
			sum_lift += lift;
			if (sc->content)
				sum_alike += ContentSim(sc->content, items[i], items[j]);
			o->min_npmi = Min(o->min_npmi, s);
			o->min_lift = Min(o->min_lift, lift);
			pairs++;
		}
	o->cohesion = sum_npmi / pairs;
	o->mean_lift = sum_lift / pairs;
	o->alike = sc->content ? sum_alike / pairs : get_float8_nan();

	for (i = 0; i < m; i++)
	{
		double		p = d->price[items[i]];

		list += p;
		if (i >= n_anchor)
			addon += p;
		if (sc->mode != AFFINITY_NONE)
		{
			double		a = ItemAffinity(d, sc, items[i]);

			if (!isnan(a))
			{
				sum_aff += a;
				n_aff++;
			}
		}
	}
	o->affinity = n_aff > 0 ? sum_aff / n_aff : get_float8_nan();
	o->list_price = list;		/* NaN when a price is missing */
	o->bundle_price = list * (1.0 - sc->discount);
	o->accept = count_s > 0 ? (double) count_b / count_s : 0;
	o->revenue = o->accept * addon * (1.0 - sc->discount);

	if (sc->mode == AFFINITY_HISTORY)
	{
		int			h;

		for (i = 0; i < m; i++)
			if (sc->in_history[items[i]])
				o->owned++;
		for (h = 0; h < sc->n_history; h++)
		{
			int32		hi = sc->history[h];
			bool		in_bundle = false;

			for (i = 0; i < m && !in_bundle; i++)
				in_bundle = (items[i] == hi);
			if (in_bundle)
				continue;
			for (i = 0; i < m; i++)
				if (!sc->in_history[items[i]] && PairCount(d, hi, items[i]) > 0)
				{
					o->similar++;
					break;
				}
		}
	}

	o->score = sc->w_cohesion * o->cohesion;
	if (!isnan(o->affinity))
		o->score += sc->w_affinity * o->affinity;
	if (!isnan(o->revenue) && !isnan(sc->revenue_scale))
		o->score += sc->w_revenue * o->revenue / (o->revenue + sc->revenue_scale);
	if (!isnan(o->alike))
		o->score += sc->w_alike * o->alike;
}

static char *
Explain(const Scoring *sc, const BundleScore *o, int m)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "bought together in " INT64_FORMAT " order%s",
					 o->count, o->count == 1 ? "" : "s");
	if (m == 2)
		appendStringInfo(&s, "; lift %.2f", o->mean_lift);
	else
		appendStringInfo(&s, "; lift %.2f (weakest pair %.2f)", o->mean_lift, o->min_lift);
	appendStringInfo(&s, "; %.0f%% of anchor buyers took the rest", 100.0 * o->accept);
	if (sc->mode == AFFINITY_HISTORY)
	{
		if (o->owned > 0)
			appendStringInfo(&s, "; you bought %d of these", o->owned);
		if (o->similar > 0)
			appendStringInfo(&s, "; you bought %d similar item%s", o->similar,
							 o->similar == 1 ? "" : "s");
	}
	else if (sc->mode == AFFINITY_VECTOR && !isnan(o->affinity))
		appendStringInfo(&s, "; taste match %.0f%%", 100.0 * o->affinity);
	if (!isnan(o->alike) && o->alike != 0)
		appendStringInfo(&s, "; content similarity %.2f", o->alike);
	if (!isnan(o->list_price))
	{
		if (sc->discount > 0)
			appendStringInfo(&s, "; %.2f instead of %.2f", o->bundle_price, o->list_price);
		else
			appendStringInfo(&s, "; price %.2f", o->list_price);
	}
	return s.data;
}

static ArrayType *
ItemTextArray(const BundleData *d, const int32 *ids, int n)
{
	Datum	   *keys = ItemKeyTexts(d->dict, ids, n);

	return construct_array(keys, n, TEXTOID, -1, false, TYPALIGN_INT);
}

/* The columns of a bundlerec.bundle row. */
static void
BundleValues(const BundleData *d, const Scoring *sc, const int32 *items,
			 int m, int n_anchor, int rank, const BundleScore *o,
			 Datum *values, bool *nulls)
{
	memset(nulls, 0, sizeof(bool) * BUNDLE_COLUMNS);
	values[0] = PointerGetDatum(ItemTextArray(d, items, n_anchor));
	if (rank > 0)
		values[1] = Int32GetDatum(rank);
	else
		nulls[1] = true;
	values[2] = PointerGetDatum(ItemTextArray(d, items, m));
	values[3] = Int32GetDatum(m);
	values[4] = Int64GetDatum(o->count);
	values[5] = Float8GetDatum(o->support);
	values[6] = Float8GetDatum(o->cohesion);
	values[7] = Float8GetDatum(o->min_npmi);
	values[8] = Float8GetDatum(o->mean_lift);
	values[9] = Float8GetDatum(o->min_lift);
	values[10] = Float8GetDatum(o->affinity);
	nulls[10] = isnan(o->affinity);
	values[11] = Float8GetDatum(o->list_price);
	values[12] = Float8GetDatum(o->bundle_price);
	nulls[11] = nulls[12] = isnan(o->list_price);
	values[13] = Float8GetDatum(o->accept);
	values[14] = Float8GetDatum(o->revenue);
	nulls[14] = isnan(o->revenue);
	values[15] = Float8GetDatum(o->score);
	values[16] = CStringGetTextDatum(Explain(sc, o, m));
	values[17] = Float8GetDatum(o->alike);
	nulls[17] = isnan(o->alike);
}

static void
ReadColumns(FunctionCallInfo fcinfo, const ScoringArgs *a, ItemColumns *cols)
{
	memset(cols, 0, sizeof(ItemColumns));
	cols->price = ArgColumn(fcinfo, a->price);
	cols->category = ArgColumn(fcinfo, a->category);
	cols->ordered_at = ArgColumn(fcinfo, a->ordered_at);
	if (PG_ARGISNULL(a->price_window))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("price_window must not be NULL"),
				 errhint("Leave it out to average prices over the last 90 days.")));
	cols->price_window = PG_GETARG_DATUM(a->price_window);
}

/*
 * bundle_score(source, basket, item, items, anchor, price, ordered_at,
 *				price_window, discount, history, customer_vector,
 *				item_factors, shrinkage, cohesion_weight, affinity_weight,
 *				revenue_weight, revenue_scale, content, alike_weight)
 *	  -> bundlerec.bundle
 */
Datum
bundle_score(PG_FUNCTION_ARGS)
{
	static const ScoringArgs args = {5, -1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
	ItemColumns cols;
	BundleData *d;
	Scoring		sc;
	BundleScore o;
	TupleDesc	tupdesc;
	Datum		values[BUNDLE_COLUMNS];
	bool		nulls[BUNDLE_COLUMNS];
	int32	   *items,
			   *anchor,
			   *order,
			   *buf;
	int			m,
				na,
				i,
				j,
				k;
	int64		count_b,
				count_s;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("items must not be NULL"),
				 errhint("Pass the bundle as a text array of at least two items.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	ReadColumns(fcinfo, &args, &cols);
	d = LoadBundleData(fcinfo, &cols, "bundle scoring");
	ReadScoring(fcinfo, &args, d, &sc);

	items = ItemIdsOf(d, PG_GETARG_ARRAYTYPE_P(3), "items", true, &m, NULL);
	if (m < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a bundle needs at least two items, not %d", m),
				 errhint("Pass the bundle's items as a text array, for example ARRAY['a', 'b'].")));
	CheckDistinct(d, items, m, "items");
	if (PG_ARGISNULL(4))
	{
		anchor = items;
		na = 1;
	}
	else
		anchor = ItemIdsOf(d, PG_GETARG_ARRAYTYPE_P(4), "anchor", true, &na, NULL);
	CheckDistinct(d, anchor, na, "anchor");
	if (na < 1 || na >= m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("anchor must hold at least one item of the bundle and leave at least one out"),
				 errhint("The anchor is what the customer already has; the rest of the bundle is the offer.")));

	/* anchor items first, then the others in the caller's order */
	order = palloc(sizeof(int32) * m);
	for (i = 0; i < na; i++)
	{
		for (j = 0; j < m && items[j] != anchor[i]; j++)
			;
		if (j == m)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("anchor item \"%s\" is not in the bundle",
							TextDatumGetCString(ItemDictKey(d->dict, anchor[i], TEXTOID))),
					 errhint("The anchor must be a subset of items.")));
		order[i] = anchor[i];
	}
	k = na;
	for (j = 0; j < m; j++)
	{
		for (i = 0; i < na && anchor[i] != items[j]; i++)
			;
		if (i == na)
			order[k++] = items[j];
	}

	buf = palloc(sizeof(int32) * Max(d->n_records, 1));
	count_b = BasketsHoldingAll(d, order, m, buf);
	count_s = BasketsHoldingAll(d, order, na, buf);
	ScoreBundle(d, &sc, order, m, na, count_b, count_s, &o);
	BundleValues(d, &sc, order, m, na, 0, &o, values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* A bundle being grown. */
typedef struct Candidate
{
	int32	   *items;			/* anchor items, then added ones */
	int32	   *key;			/* added items sorted, to spot duplicates */
	int			m;
	int32	   *tids;			/* baskets holding every item */
	int32		n_tids;
	int			whole;			/* beats what its subsets predict: 1, 0, -1 unknown */
	bool		yielded;		/* a larger bundle holding it went above it */
	BundleScore s;
} Candidate;

/* What generation may add, fixed for a call. */
typedef struct Limits
{
	int			max_size;
	int			min_size;
	int			k;
	int			beam;
	int64		min_count;		/* count and support thresholds combined */
	bool	   *excluded;		/* item -> never added */
	bool	   *unavailable;	/* item -> not in `available` */
	bool		has_max_price;
	double		max_price;
	bool		whole_on;		/* a bundle may rank above its own subsets */
	double		whole_share;	/* ... holding this share of their baskets */
	double		whole_critical; /* ... with a likelihood ratio above this */
} Limits;

static int
CompareKeys(const BundleData *d, const int32 *a, const int32 *b, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return d->key_rank[a[i]] < d->key_rank[b[i]] ? -1 : 1;
	return 0;
}

/* Better candidates first; equal scores by added items in key order. */
static int
CompareCandidates(const void *pa, const void *pb, void *arg)
{
	const Candidate *a = *(Candidate *const *) pa;
	const Candidate *b = *(Candidate *const *) pb;
	const BundleData *d = arg;

	if (a->s.score != b->s.score)
		return a->s.score > b->s.score ? -1 : 1;
	if (a->m != b->m)
		return a->m < b->m ? -1 : 1;
	return CompareKeys(d, a->items, b->items, a->m);
}

/* Can item j join the bundle items[0..m)?  (Category and price.) */
static bool
Fits(const BundleData *d, const Limits *lim, const int32 *items, int m,
	 int32 j)
{
	int			i;

	if (d->category[j] != NULL)
		for (i = 0; i < m; i++)
			if (d->category[items[i]] != NULL &&
				strcmp(d->category[items[i]], d->category[j]) == 0)
				return false;
	if (lim->has_max_price)
	{
		double		total = d->price[j];

		for (i = 0; i < m; i++)
			total += d->price[items[i]];
		if (isnan(total) || total > lim->max_price)
			return false;
	}
	return true;
}

static Candidate *
NewCandidate(const Candidate *parent, const int32 *anchor, int na, int32 j,
			 const BundleData *d)
{
	Candidate  *c = palloc(sizeof(Candidate));
	int			base = parent ? parent->m : na,
				nk = base + 1 - na,
				i;

	c->m = base + 1;
	c->whole = -1;
	c->yielded = false;
	c->items = palloc(sizeof(int32) * c->m);
	if (parent)
		memcpy(c->items, parent->items, sizeof(int32) * base);
	else
		memcpy(c->items, anchor, sizeof(int32) * na);
	c->items[base] = j;
	/* added items sorted by key order, by insertion */
	c->key = palloc(sizeof(int32) * nk);
	for (i = 0; i < nk; i++)
	{
		int32		v = c->items[na + i];
		int			p = i;

		while (p > 0 && d->key_rank[c->key[p - 1]] > d->key_rank[v])
		{
			c->key[p] = c->key[p - 1];
			p--;
		}
		c->key[p] = v;
	}
	return c;
}

/*
 * Does bundle c's count beat what its subsets predict?  e = max over its
 * items i of c_{B-i} c_i / N (item i independent of the rest); a Poisson
 * likelihood ratio G = 2 (c_B ln(c_B / e) - (c_B - e)) above the critical
 * value.  buf needs room for a basket list.
 */
static bool
WholeBeatsSubsets(BundleData *d, const Limits *lim, const Candidate *c,
				  int32 *buf)
{
	double		cb = c->n_tids,
				e = 0;
	int32	   *rest = palloc(sizeof(int32) * c->m);
	int			i,
				j,
				n;

	for (i = 0; i < c->m; i++)
	{
		int64		c_rest;

		for (j = 0, n = 0; j < c->m; j++)
			if (j != i)
				rest[n++] = c->items[j];
		c_rest = n == 2 ? PairCount(d, rest[0], rest[1]) :
			BasketsHoldingAll(d, rest, n, buf);
		e = Max(e, (double) c_rest * d->count[c->items[i]] / d->n_baskets);
	}
	pfree(rest);
	return cb > e && 2 * (cb * log(cb / e) - (cb - e)) > lim->whole_critical;
}

/* Does bundle b hold every item of s? */
static bool
HoldsAll(const Candidate *b, const Candidate *s)
{
	int			i,
				j;

	for (i = 0; i < s->m; i++)
	{
		for (j = 0; j < b->m && b->items[j] != s->items[i]; j++)
			;
		if (j == b->m)
			return false;
	}
	return true;
}

/*
 * Reorders the first k of all[0..n), sorted by score: the best-scored
 * bundle one item larger than a bundle above it, holding it, goes right
 * above it when the larger bundle's orders are at least whole_share of the
 * smaller one's and its count beats what its subsets predict.  Cohesion is
 * a mean over pairs, so a bundle bought whole scores below its best pair;
 * this lets the data pick the size.  One larger bundle per smaller one, so
 * the others keep their places.
 */
static void
PromoteWholes(BundleData *d, const Limits *lim, Candidate **all, int n,
			  int32 *buf)
{
	int			i,
				j;

	for (i = 0; i < Min(n, lim->k); i++)
	{
		const Candidate *s = all[i];
		Candidate  *b = NULL;

		CHECK_FOR_INTERRUPTS();
		if (s->yielded)
			continue;
		for (j = i + 1; j < n; j++)
		{
			b = all[j];
			if (b->m != s->m + 1 || b->n_tids < lim->whole_share * s->n_tids ||
				!HoldsAll(b, s))
				continue;
			if (b->whole < 0)
				b->whole = WholeBeatsSubsets(d, lim, b, buf);
			if (b->whole)
				break;
		}
		if (j < n)
		{
			memmove(all + i + 1, all + i, sizeof(Candidate *) * (j - i));
			all[i] = b;
			all[i + 1]->yielded = true;
			i--;				/* b itself may yield to a larger bundle */
		}
	}
}

/*
 * The best bundles around anchor[0..na), which count_s baskets (tids_s)
 * hold; at most lim->k of them are written to out, best first.
 */
static int
GrowBundles(BundleData *d, Scoring *sc, const Limits *lim,
			const int32 *anchor, int na, const int32 *tids_s, int32 count_s,
			int64 *partner, int32 *touched, int32 *scratch, Candidate **out)
{
	Size		tid_bytes = 0;
	int32		n_touched = 0,
				t,
				i;
	TopK		top;
	int32	   *pool;
	int			n_pool,
				size,
				n_cur = 0,
				n_all = 0,
				cap_all;
	Candidate **cur = NULL,
			  **all;

	/* partners: items sharing at least min_count baskets with the anchor */
	for (t = 0; t < count_s; t++)
	{
		const int32 *bk = d->store->data + d->basket_off[tids_s[t]];

		for (i = 0; i < bk[0]; i++)
			if (partner[bk[1 + i]]++ == 0)
				touched[n_touched++] = bk[1 + i];
	}
	TopKInit(&top, lim->beam);
	for (t = 0; t < n_touched; t++)
	{
		int32		j = touched[t];
		bool		is_anchor = false;

		for (i = 0; i < na; i++)
			is_anchor |= (anchor[i] == j);
		if (!is_anchor && partner[j] >= lim->min_count && !lim->excluded[j] &&
			!(lim->unavailable && lim->unavailable[j]) &&
			Fits(d, lim, anchor, na, j))
			TopKPush(&top, ShrunkNpmi(d->n_baskets, count_s, d->count[j],
									  partner[j], sc->shrinkage),
					 d->key_rank[j]);
	}
	for (t = 0; t < n_touched; t++)
		partner[touched[t]] = 0;
	TopKSort(&top);
	n_pool = top.n;
	pool = palloc(sizeof(int32) * Max(n_pool, 1));
	for (i = 0; i < n_pool; i++)
		pool[i] = d->by_rank[top.id[i]];

	cap_all = 64;
	all = palloc(sizeof(Candidate *) * cap_all);
	for (size = na + 1; size <= lim->max_size && n_pool > 0; size++)
	{
		int			n_next = 0,
					c,
					p;
		Candidate **next = palloc(sizeof(Candidate *) * Max((size == na + 1 ? 1 : n_cur) * n_pool, 1));

		for (c = 0; c < (size == na + 1 ? 1 : n_cur); c++)
		{
			const Candidate *parent = (size == na + 1) ? NULL : cur[c];
			const int32 *items = parent ? parent->items : anchor;
			int			m = parent ? parent->m : na;
			const int32 *ptids = parent ? parent->tids : tids_s;
			int32		pn = parent ? parent->n_tids : count_s;

			CHECK_FOR_INTERRUPTS();
			for (p = 0; p < n_pool; p++)
			{
				int32		j = pool[p];
				Candidate  *nc;
				bool		dup = false;
				int			q;

				for (i = 0; i < m; i++)
					dup |= (items[i] == j);
				if (dup || !Fits(d, lim, items, m, j))
					continue;
				nc = NewCandidate(parent, anchor, na, j, d);
				for (q = 0; q < n_next && !dup; q++)
					dup = CompareKeys(d, next[q]->key, nc->key, size - na) == 0;
				if (dup)
					continue;
				nc->n_tids = FilterBaskets(d, ptids, pn, j, scratch);
				if (nc->n_tids < lim->min_count || nc->n_tids == 0)
					continue;
				/* kept exactly sized: a bundle's baskets are few */
				nc->tids = palloc(sizeof(int32) * nc->n_tids);
				memcpy(nc->tids, scratch, sizeof(int32) * nc->n_tids);
				tid_bytes += sizeof(int32) * nc->n_tids;
				BudgetCharge(&d->store->budget, sizeof(int32) * nc->n_tids);
				ScoreBundle(d, sc, nc->items, nc->m, na, nc->n_tids, count_s, &nc->s);
				next[n_next++] = nc;
			}
		}
		qsort_arg(next, n_next, sizeof(Candidate *), CompareCandidates, d);
		if (size >= lim->min_size)
			for (c = 0; c < n_next; c++)
			{
				if (n_all == cap_all)
				{
					cap_all *= 2;
					all = repalloc(all, sizeof(Candidate *) * cap_all);
				}
				all[n_all++] = next[c];
			}
		cur = next;
		n_cur = Min(n_next, lim->beam);
		if (n_cur == 0)
			break;
	}
	qsort_arg(all, n_all, sizeof(Candidate *), CompareCandidates, d);
	if (lim->whole_on)
		PromoteWholes(d, lim, all, n_all, scratch);
	BudgetCredit(&d->store->budget, tid_bytes);	/* freed with the anchor */
	n_all = Min(n_all, lim->k);
	for (i = 0; i < n_all; i++)
		out[i] = all[i];
	return n_all;
}

/* The x with P(X > x) = alpha for X chi-squared with one degree of freedom. */
static double
ChiSquare1Critical(double alpha)
{
	double		lo = 0,
				hi = 1000;
	int			i;

	/* P(X > x) = erfc(sqrt(x / 2)), falling in x */
	for (i = 0; i < 200; i++)
	{
		double		mid = (lo + hi) / 2;

		if (erfc(sqrt(mid / 2)) > alpha)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

static bool *
ItemFlags(const BundleData *d, FunctionCallInfo fcinfo, int argno,
		  const char *param, bool invert)
{
	bool	   *flags = palloc(sizeof(bool) * Max(d->n_items, 1));
	int32	   *ids;
	int			n,
				i;

	for (i = 0; i < d->n_items; i++)
		flags[i] = invert;
	if (PG_ARGISNULL(argno))
		return flags;
	ids = ItemIdsOf(d, PG_GETARG_ARRAYTYPE_P(argno), param, false, &n, NULL);
	for (i = 0; i < n; i++)
		flags[ids[i]] = !invert;
	return flags;
}

static int
ArgInt(FunctionCallInfo fcinfo, int argno, const char *param, int lo,
	   int hi, const char *hint)
{
	int			v;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", param),
				 errhint("Leave the parameter out to use its default.")));
	v = PG_GETARG_INT32(argno);
	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between %d and %d, not %d", param, lo, hi, v),
				 errhint("%s", hint)));
	return v;
}

/*
 * generate_bundles(source, basket, item, anchor, max_size, k, min_count,
 *		exclude, available, max_price, price, category, ordered_at,
 *		price_window, discount, history, customer_vector, item_factors,
 *		min_size, beam, shrinkage, cohesion_weight, affinity_weight,
 *		revenue_weight, revenue_scale, min_support, content, alike_weight,
 *		whole_share)
 */
Datum
generate_bundles(PG_FUNCTION_ARGS)
{
	static const ScoringArgs args = {10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 26, 27};
	ItemColumns cols;
	BundleData *d;
	Scoring		sc;
	Limits		lim;
	Tuplestorestate *ts;
	TupleDesc	tupdesc;
	int64		min_count;
	double		min_support;
	int64	   *partner;
	int32	   *touched,
			   *tids_s,
			   *scratch;
	Candidate **best;
	Progress	progress;
	MemoryContext anchor_cxt,
				old;
	int32		a;

	memset(&lim, 0, sizeof(lim));
	lim.max_size = ArgInt(fcinfo, 4, "max_size", 2, 100,
						  "max_size counts every item of a bundle, the anchor included; 3 is typical.");
	lim.min_size = ArgInt(fcinfo, 18, "min_size", 2, lim.max_size,
						  "min_size is the smallest bundle returned, at least 2 and at most max_size.");
	lim.k = ArgInt(fcinfo, 5, "k", 1, 100000, "k is the number of bundles returned per anchor.");
	lim.beam = ArgInt(fcinfo, 19, "beam", 1, MAX_BEAM,
					  "beam is the number of partners and of partial bundles kept at each size; 20 is usually plenty.");
	if (PG_ARGISNULL(6) || PG_ARGISNULL(25))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("min_count and min_support must not be NULL"),
				 errhint("Leave a parameter out to use its default.")));
	min_count = PG_GETARG_INT64(6);
	min_support = PG_GETARG_FLOAT8(25);
	if (min_count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_count must be at least 1, not " INT64_FORMAT, min_count),
				 errhint("min_count is the number of orders that must hold the whole bundle; 2 or more keeps one order from being published.")));
	CheckAtLeast(min_support, 0, "min_support", "min_support is a fraction of all orders, from 0 to 1.");
	if (min_support > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_support must be between 0 and 1, not %g", min_support),
				 errhint("min_support is a fraction of all orders.")));
	if (!PG_ARGISNULL(9))
	{
		lim.has_max_price = true;
		lim.max_price = PG_GETARG_FLOAT8(9);
		CheckAtLeast(lim.max_price, 0, "max_price", "max_price bounds the list price of a bundle.");
		if (PG_ARGISNULL(10))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_price needs a price column"),
					 errhint("Name the unit price column of the source with price => '...'.")));
	}

	lim.whole_on = !PG_ARGISNULL(28);
	if (lim.whole_on)
	{
		lim.whole_share = PG_GETARG_FLOAT8(28);
		CheckAtLeast(lim.whole_share, 0, "whole_share",
					 "whole_share is the share of a smaller bundle's orders a larger one must hold to rank above it, from 0 to 1; NULL ranks by score alone.");
		if (lim.whole_share > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("whole_share must be between 0 and 1, not %g", lim.whole_share),
					 errhint("whole_share is a share of a smaller bundle's orders; NULL ranks by score alone.")));
	}

	ts = StartRowsOutput(fcinfo, &tupdesc);
	ReadColumns(fcinfo, &args, &cols);
	d = LoadBundleData(fcinfo, &cols, "bundle generation");
	ReadScoring(fcinfo, &args, d, &sc);
	lim.min_count = Max(min_count, MinCountForSupport(min_support, d->n_baskets));
	if (lim.whole_on)
	{
		/* p = 0.001, Bonferroni over the items the search chose among */
		lim.whole_critical = ChiSquare1Critical(0.001 / Max(d->n_items, 1));
	}
	lim.excluded = ItemFlags(d, fcinfo, 7, "exclude", false);
	lim.unavailable = PG_ARGISNULL(8) ? NULL : ItemFlags(d, fcinfo, 8, "available", true);

	partner = BudgetAlloc0(&d->store->budget, sizeof(int64) * Max(d->n_items, 1));
	touched = BudgetAlloc(&d->store->budget, sizeof(int32) * Max(d->n_items, 1));
	tids_s = BudgetAlloc(&d->store->budget, sizeof(int32) * Max(d->n_records, 1));
	scratch = BudgetAlloc(&d->store->budget, sizeof(int32) * Max(d->n_records, 1));
	best = palloc(sizeof(Candidate *) * lim.k);
	anchor_cxt = AllocSetContextCreate(CurrentMemoryContext, "bundle anchor",
									   ALLOCSET_DEFAULT_SIZES);

	ProgressStart(&progress, "bundles", "anchors", PG_ARGISNULL(3) ? d->n_items : 1);
	for (a = 0; a < (PG_ARGISNULL(3) ? d->n_items : 1); a++)
	{
		int32	   *anchor;
		int			na,
					n_unknown,
					nb,
					i;
		int32		count_s;

		CHECK_FOR_INTERRUPTS();
		ProgressReport(&progress, a);
		old = MemoryContextSwitchTo(anchor_cxt);
		if (PG_ARGISNULL(3))
		{
			anchor = palloc(sizeof(int32));
			anchor[0] = d->by_rank[a];	/* anchors in key order */
			na = 1;
			n_unknown = 0;
		}
		else
		{
			anchor = ItemIdsOf(d, PG_GETARG_ARRAYTYPE_P(3), "anchor", false, &na, &n_unknown);
			if (na + n_unknown == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("anchor must hold at least one item"),
						 errhint("Pass the item (or the cart's items) every bundle must contain, or NULL for every item.")));
			CheckDistinct(d, anchor, na, "anchor");
			if (na + n_unknown >= lim.max_size)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("anchor has %d items, which leaves no room below max_size %d",
								na + n_unknown, lim.max_size),
						 errhint("Raise max_size; it counts the anchor's items too.")));
		}
		if (n_unknown > 0 || d->count[anchor[0]] < lim.min_count)
		{
			MemoryContextSwitchTo(old);
			MemoryContextReset(anchor_cxt);
			continue;
		}
		count_s = BasketsHoldingAll(d, anchor, na, tids_s);
		nb = 0;
		if (count_s >= lim.min_count)
			nb = GrowBundles(d, &sc, &lim, anchor, na, tids_s, count_s,
							 partner, touched, scratch, best);
		for (i = 0; i < nb; i++)
		{
			Datum		values[BUNDLE_COLUMNS];
			bool		nulls[BUNDLE_COLUMNS];

			BundleValues(d, &sc, best[i]->items, best[i]->m, na, i + 1,
						 &best[i]->s, values, nulls);
			tuplestore_putvalues(ts, tupdesc, values, nulls);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(anchor_cxt);
	}
	return (Datum) 0;
}
