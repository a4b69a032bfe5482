/*
 * serve_cart.c
 *	  complete_cart: the partners of every cart item (pairs), the rules whose
 *	  antecedent the cart holds (GIN on rules.antecedent), the nearest items
 *	  of every cart item and its signed EASE weights (item_weights), merged
 *	  per candidate in one hash and cut to k with a bounded heap; the cost
 *	  follows the rows read, at most pairs_per_item + similar_per_item +
 *	  ease_per_item per cart item plus matching rules.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/varlena.h"

#include "output.h"
#include "serve.h"

PG_FUNCTION_INFO_V1(bundlerec_complete_cart);
PG_FUNCTION_INFO_V1(bundlerec_complete_cart_schema);

/*
 * What the model says of one candidate: its best pair, rule and neighbour,
 * and the sum of its EASE weights from the cart's items with the item of
 * the largest.
 */
typedef struct CartRow
{
	bool		has_p;
	double		p_conf;
	char	   *p_via;
	int64		p_count;
	bool		has_r;
	double		r_conf;
	int32		r_size;
	char	   *r_text;
	CartItem  **r_via;			/* the antecedent */
	int			r_nvia;
	bool		has_e;
	double		e_sim;
	char	   *e_via;
	bool		has_w;
	double		w_sum;
	double		w_best;
	char	   *w_via;
} CartRow;

/* The candidate of item, made on first sight in this call. */
static CartRow *
CartCandidate(ServeCands *cs, CartItem *item, uint64 call)
{
	if (item->cand_call != call)
	{
		ServeCand  *c = ServeAdd(cs, item->item, 1, 0);

		c->row = palloc0(sizeof(CartRow));
		c->has_score = true;
		item->cand_call = call;
		item->cand_index = cs->n - 1;
	}
	return cs->c[item->cand_index].row;
}

static int
TextCmp(const char *a, const char *b)
{
	return varstr_cmp(a, strlen(a), b, strlen(b), DEFAULT_COLLATION_OID);
}

/*
 * Merges the rows of the cart's items into candidates: each candidate's
 * best pair, rule (one whose whole antecedent the cart holds) and
 * neighbour.
 */
static void
CartRows(ServeModel *m, ServeCands *cs, char **items, int nitems)
{
	CartItem  **rows;
	uint64		call;
	int			n;
	int			i;
	int			j;
	int			a;

	rows = ServeCartItems(m, items, nitems, &n);
	call = ServeCartCall();
	for (i = 0; i < n; i++)
	{
		CartItem   *e = rows[i];

		for (j = 0; m->cart_pairs_weight > 0 && j < e->pairs.n; j++)
		{
			CartLink   *p = &e->pairs.v[j];
			CartRow    *r = CartCandidate(cs, p->other, call);

			if (!r->has_p || p->value > r->p_conf ||
				(p->value == r->p_conf && TextCmp(e->item, r->p_via) < 0))
			{
				r->has_p = true;
				r->p_conf = p->value;
				r->p_via = e->item;
				r->p_count = p->count;
			}
		}
		for (j = 0; m->cart_rules_weight > 0 && j < e->nrules; j++)
		{
			CartRule   *q = &e->rules[j];
			CartRow    *r;

			for (a = 0; a < q->nantecedent && q->antecedent[a]->call == call; a++)
				;
			if (a < q->nantecedent)
				continue;
			r = CartCandidate(cs, q->consequent, call);
			if (!r->has_r || q->confidence > r->r_conf ||
				(q->confidence == r->r_conf && (q->size > r->r_size ||
												(q->size == r->r_size && TextCmp(q->text, r->r_text) < 0))))
			{
				r->has_r = true;
				r->r_conf = q->confidence;
				r->r_size = q->size;
				r->r_text = q->text;
				r->r_via = q->antecedent;
				r->r_nvia = q->nantecedent;
			}
		}
		for (j = 0; m->cart_embedding_weight > 0 && j < e->similar.n; j++)
		{
			CartLink   *s = &e->similar.v[j];
			CartRow    *r = CartCandidate(cs, s->other, call);

			if (!r->has_e || s->value > r->e_sim ||
				(s->value == r->e_sim && TextCmp(e->item, r->e_via) < 0))
			{
				r->has_e = true;
				r->e_sim = s->value;
				r->e_via = e->item;
			}
		}
		for (j = 0; m->cart_ease_weight > 0 && j < e->weights.n; j++)
		{
			CartLink   *w = &e->weights.v[j];
			CartRow    *r = CartCandidate(cs, w->other, call);

			r->w_sum += w->value;
			if (!r->has_w || w->value > r->w_best ||
				(w->value == r->w_best && TextCmp(e->item, r->w_via) < 0))
			{
				r->w_best = w->value;
				r->w_via = e->item;
			}
			r->has_w = true;
		}
	}
}

/* Looks up the names of the n returned candidates and of the items they mention. */
static HTAB *
CartNames(ServeModel *m, ServeCands *cs, int n)
{
	HTAB	   *names = ServeNamesNew();
	int			i;
	int			j;

	for (i = 0; i < n; i++)
	{
		CartRow    *r = cs->c[i].row;

		ServeNameWant(names, cs->c[i].key);
		if (cs->c[i].tier != 1)
			continue;
		if (r->has_p)
			ServeNameWant(names, r->p_via);
		if (r->has_e)
			ServeNameWant(names, r->e_via);
		if (r->has_w)
			ServeNameWant(names, r->w_via);
		for (j = 0; r->has_r && j < r->r_nvia; j++)
			ServeNameWant(names, r->r_via[j]->item);
	}
	ServeNamesLoad(m, names);
	return names;
}

/*
 * The explanation of a model candidate: its pair, rule, neighbour and the
 * cart item of its largest positive EASE weight, the items they mention
 * called by their names.
 */
static char *
CartExplanation(const CartRow *r, HTAB *names)
{
	StringInfoData s;
	int			j;

	initStringInfo(&s);
	if (r->has_p && r->p_count == 0)
		appendStringInfo(&s, "bought with products like %s (score %s)",
						 ServeNameOr(names, r->p_via), ServeRound(r->p_conf, 3));
	else if (r->has_p)
		appendStringInfo(&s, "bought with %s in " INT64_FORMAT " orders (confidence %s)",
						 ServeNameOr(names, r->p_via), r->p_count, ServeRound(r->p_conf, 3));
	if (r->has_r)
	{
		appendStringInfoString(&s, s.len > 0 ? "; rule " : "rule ");
		for (j = 0; j < r->r_nvia; j++)
			appendStringInfo(&s, "%s%s", j > 0 ? " + " : "", ServeNameOr(names, r->r_via[j]->item));
		appendStringInfo(&s, " => it (confidence %s)", ServeRound(r->r_conf, 3));
	}
	if (r->has_e)
		appendStringInfo(&s, "%sbought by the same customers as %s (cosine %s)",
						 s.len > 0 ? "; " : "", ServeNameOr(names, r->e_via), ServeRound(r->e_sim, 3));
	if (r->has_w && r->w_best > 0)
		appendStringInfo(&s, "%sin orders like this cart, most of all with %s (EASE weight %s, sum %s)",
						 s.len > 0 ? "; " : "", ServeNameOr(names, r->w_via), ServeRound(r->w_best, 3),
						 ServeRound(r->w_sum, 3));
	else if (r->has_w)
		appendStringInfo(&s, "%sEASE sum %s", s.len > 0 ? "; " : "", ServeRound(r->w_sum, 3));
	return s.data;
}

/*
 * The k items to add to the cart (argument itemsarg, then k and category):
 * model candidates by score, then fallbacks.
 */
static void
CompleteCart(FunctionCallInfo fcinfo, ServeModel *m, int itemsarg)
{
	TupleDesc	desc;
	Tuplestorestate *ts = StartRowsOutput(fcinfo, &desc);
	ServeCands	cs = {0};
	HTAB	   *names;
	Datum		cart;
	char	  **items;
	int			nitems;
	int			nmodel;
	int			k;
	int			n;
	int			i;

	k = ServeCheckK(fcinfo, itemsarg + 1);
	cart = PG_ARGISNULL(itemsarg) ? (Datum) 0 : ServeKeysArg(fcinfo, itemsarg);
	items = PG_ARGISNULL(itemsarg) ? NULL : ServeArrayItems(cart, &nitems);
	for (i = 0; items != NULL && i < nitems; i++)
		if (items[i] == NULL)
			items = NULL;
	if (items == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("items must be an array of items without NULLs"),
				 errhint("Pass the cart's items, for example ARRAY['85123A', '22423'].")));
	CartRows(m, &cs, items, nitems);
	for (i = 0; i < cs.n; i++)
	{
		CartRow    *r = cs.c[i].row;

		cs.c[i].score = m->cart_pairs_weight * (r->has_p ? r->p_conf : 0)
			+ m->cart_rules_weight * (r->has_r ? r->r_conf : 0)
			+ m->cart_embedding_weight * Max(r->has_e ? r->e_sim : 0, 0)
			+ m->cart_ease_weight * r->w_sum;
	}
	nmodel = ServeRank(&cs, items, nitems, true, k);
	if (nmodel < k)
	{
		Datum		cat = PG_ARGISNULL(itemsarg + 2) ? (Datum) 0 : PG_GETARG_DATUM(itemsarg + 2);

		ServeAddFallback(m, &cs, cart, nitems,
						 cat == (Datum) 0 ? (Datum) 0
						 : PointerGetDatum(construct_array(&cat, 1, TEXTOID, -1, false, TYPALIGN_INT)),
						 cat != (Datum) 0, (int64) k + nitems + nmodel);
		for (i = nmodel; i < cs.n; i++)
			cs.c[i].has_score = false;
		ServeRank(&cs, items, nitems, true, k);
	}
	n = cs.n;
	names = CartNames(m, &cs, n);
	for (i = 0; i < n; i++)
	{
		ServeCand  *c = &cs.c[i];
		Datum		v[10];
		bool		nulls[10] = {0};

		v[0] = Int32GetDatum(i + 1);
		v[1] = CStringGetTextDatum(c->key);
		v[2] = Float8GetDatum(c->score);
		nulls[2] = !c->has_score;
		if (c->tier == 1)
		{
			CartRow    *r = c->row;

			v[3] = Float8GetDatum(r->p_conf);
			nulls[3] = !r->has_p;
			v[4] = Float8GetDatum(r->r_conf);
			nulls[4] = !r->has_r;
			v[5] = Float8GetDatum(r->e_sim);
			nulls[5] = !r->has_e;
			v[6] = Float8GetDatum(r->w_sum);
			nulls[6] = !r->has_w;
			v[7] = CStringGetTextDatum("model");
			v[8] = CStringGetTextDatum(CartExplanation(r, names));
		}
		else
		{
			nulls[3] = nulls[4] = nulls[5] = nulls[6] = true;
			v[7] = CStringGetTextDatum(c->tier == 2 ? "popular in category" : "popular");
			v[8] = CStringGetTextDatum(ServeFallbackExplanation(c));
		}
		v[9] = ServeNameDatum(names, c->key, &nulls[9]);
		tuplestore_putvalues(ts, desc, v, nulls);
	}
}

/* complete_cart(model, items, k, category) */
Datum
bundlerec_complete_cart(PG_FUNCTION_ARGS)
{
	SPI_connect();
	CompleteCart(fcinfo, ServeOpenModel(fcinfo, 0), 1);
	SPI_finish();
	return (Datum) 0;
}

/* _complete_cart(schema, options, items, k, category): evaluate's path */
Datum
bundlerec_complete_cart_schema(PG_FUNCTION_ARGS)
{
	ServeModel *m;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema and options must not be NULL"),
				 errhint("Pass the schema of the results and the model's options.")));
	SPI_connect();
	ServeCheckK(fcinfo, 3);
	m = ServeOpenSchema(PG_GETARG_NAME(0), PG_GETARG_DATUM(1));
	CompleteCart(fcinfo, m, 2);
	SPI_finish();
	return (Datum) 0;
}
