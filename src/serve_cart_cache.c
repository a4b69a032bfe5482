/*
 * serve_cart_cache.c
 *	  What complete_cart reads of each cart item (its pairs, its nearest
 *	  items, its EASE weights and the rules whose antecedent starts with
 *	  it), kept per backend and model, so that a call reads from the
 *	  results only the items no earlier call has read: a cart of a hundred
 *	  items costs a hundred hash lookups once its items have been seen.
 *	  The rows go with the model's serving entry, which a refresh,
 *	  drop_model or re-creation replaces; all models' rows are dropped
 *	  together when they pass bundlerec.serving_cache_limit.
 */
#include "postgres.h"

#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "bundlerec.h"
#include "serve.h"

typedef struct CartCache
{
	MemoryContext cxt;
	HTAB	   *items;			/* item -> CartItem */
} CartCache;

/* Parent of every model's rows; its size is what the limit bounds. */
static MemoryContext cart_root = NULL;

/* Bumped when every model's rows are dropped at once. */
static uint64 cart_epoch = 1;

/* Bumped by every call. */
static uint64 cart_call = 0;

/* The model's rows, NULL when none are kept. */
static CartCache *
CurrentCache(ServeModel *m)
{
	return m->cart != NULL && m->cart_epoch == cart_epoch ? m->cart : NULL;
}

/* Drops the rows kept for model m (its entry is being replaced). */
void
ServeCartForget(ServeModel *m)
{
	CartCache  *c = CurrentCache(m);

	if (c != NULL)
		MemoryContextDelete(c->cxt);
	m->cart = NULL;
}

/*
 * The model's rows, made empty when missing; everything kept is dropped
 * first when all models' rows together pass the limit.
 */
static CartCache *
OpenCache(ServeModel *m)
{
	CartCache  *c;
	MemoryContext cxt;

	if (cart_root == NULL)
		cart_root = AllocSetContextCreate(TopMemoryContext, "bundlerec serving cart rows",
										  ALLOCSET_DEFAULT_SIZES);
	if (MemoryContextMemAllocated(cart_root, true) > (Size) bundlerec_serving_cache_limit_kb * 1024)
	{
		MemoryContextDeleteChildren(cart_root);
		cart_epoch++;
	}
	c = CurrentCache(m);
	if (c != NULL)
		return c;
	cxt = AllocSetContextCreate(cart_root, "bundlerec serving cart rows of a model",
								ALLOCSET_DEFAULT_SIZES);
	c = MemoryContextAllocZero(cxt, sizeof(CartCache));
	c->cxt = cxt;
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		c->items = ServeStringTable("bundlerec serving cart rows", 256, sizeof(CartItem));
		MemoryContextSwitchTo(old);
	}
	m->cart = c;
	m->cart_epoch = cart_epoch;
	return c;
}

/* Grows *arr (of *max elements of size) to hold one more than n. */
static void *
Grow(void *arr, int n, int *max, Size size)
{
	if (n < *max)
		return arr;
	*max = Max(8, *max * 2);
	return arr == NULL ? palloc(mul_size(*max, size)) : repalloc(arr, mul_size(*max, size));
}

/* The entry of item, made (not loaded) when missing. */
static CartItem *
Intern(CartCache *c, char *item)
{
	bool		found;
	CartItem   *e = hash_search(c->items, &item, HASH_FIND, NULL);

	if (e == NULL)
	{
		char	   *key = MemoryContextStrdup(c->cxt, item);

		e = hash_search(c->items, &key, HASH_ENTER, &found);
		memset((char *) e + sizeof(char *), 0, sizeof(CartItem) - sizeof(char *));
	}
	return e;
}

/* The entry of column col of row as an interned item; NULL for NULL. */
static CartItem *
InternColumn(CartCache *c, SPITupleTable *t, uint64 row, int col)
{
	char	   *key = ServeText(t, row, col);
	CartItem   *e = key == NULL ? NULL : Intern(c, key);

	if (key != NULL)
		pfree(key);
	return e;
}

/* The entry of item (a key of column col of row), NULL when not asked for. */
static CartItem *
RowItem(CartCache *c, SPITupleTable *t, uint64 row, int col)
{
	char	   *key = ServeText(t, row, col);
	CartItem   *e;

	if (key == NULL)
		return NULL;
	e = hash_search(c->items, &key, HASH_FIND, NULL);
	pfree(key);
	return e != NULL && !e->loaded ? e : NULL;
}

/*
 * Reads the partners (q SQ_CART_PAIRS), nearest items (SQ_CART_SIMILAR) or
 * EASE neighbours (SQ_CART_WEIGHTS) of the items in arg (rows: other item,
 * cart item, value[, count]) into their entries.
 */
static void
LoadLinks(ServeModel *m, CartCache *c, ServeQuery q, Datum arg)
{
	SPITupleTable *t = ServeRun(m, q, &arg, NULL);
	bool		has_count = t->tupdesc->natts >= 4;
	uint64		i;
	bool		isnull;

	for (i = 0; i < SPI_processed; i++)
	{
		CartItem   *e = RowItem(c, t, i, 2);
		CartItem   *other = e == NULL ? NULL : InternColumn(c, t, i, 1);
		CartLinks  *links;
		CartLink   *l;
		MemoryContext old;

		if (other == NULL)
			continue;
		links = q == SQ_CART_SIMILAR ? &e->similar : q == SQ_CART_WEIGHTS ? &e->weights : &e->pairs;
		old = MemoryContextSwitchTo(c->cxt);
		links->v = Grow(links->v, links->n, &links->max, sizeof(CartLink));
		MemoryContextSwitchTo(old);
		l = &links->v[links->n++];
		l->other = other;
		l->value = ServeFloat(t, i, 3, &isnull);
		l->count = has_count ? ServeInt(t, i, 4, &isnull) : 0;
	}
	SPI_freetuptable(t);
}

/* Reads the rows of the n items missing (entries made, not loaded). */
static void
LoadItems(ServeModel *m, CartCache *c, char **missing, int n)
{
	Datum		arg = ServeTextArray(missing, n);
	SPITupleTable *t;
	MemoryContext old;
	uint64		i;
	bool		isnull;

	LoadLinks(m, c, SQ_CART_PAIRS, arg);
	if (m->has_similar && m->cart_embedding_weight > 0)
		LoadLinks(m, c, SQ_CART_SIMILAR, arg);
	if (m->has_weights && m->cart_ease_weight > 0)
		LoadLinks(m, c, SQ_CART_WEIGHTS, arg);
	if (m->has_rules && m->cart_rules_weight > 0)
	{
		t = ServeRun(m, SQ_CART_RULES, &arg, NULL);
		for (i = 0; i < SPI_processed; i++)
		{
			CartItem   *e = RowItem(c, t, i, 6);
			CartItem   *consequent = e == NULL ? NULL : InternColumn(c, t, i, 1);
			CartRule   *r;
			Datum		a;
			char	  **items;
			int			na;
			int			j;

			a = SPI_getbinval(t->vals[i], t->tupdesc, 5, &isnull);
			if (consequent == NULL || isnull)
				continue;
			items = ServeArrayItems(a, &na);
			for (j = 0; j < na && items[j] != NULL; j++)
				;
			if (j < na)
				continue;
			old = MemoryContextSwitchTo(c->cxt);
			e->rules = Grow(e->rules, e->nrules, &e->maxrules, sizeof(CartRule));
			r = &e->rules[e->nrules];
			r->text = ServeText(t, i, 4);
			r->antecedent = palloc(mul_size(Max(na, 1), sizeof(CartItem *)));
			MemoryContextSwitchTo(old);
			r->consequent = consequent;
			r->nantecedent = na;
			for (j = 0; j < na; j++)
				r->antecedent[j] = Intern(c, items[j]);
			r->confidence = ServeFloat(t, i, 2, &isnull);
			r->size = (int32) ServeInt(t, i, 3, &isnull);
			e->nrules++;
		}
		SPI_freetuptable(t);
	}
}

/*
 * The rows of the distinct items of the cart (items, nitems; no NULLs),
 * reading from the results the items the cache lacks.  Sets *n to the
 * number returned.
 */
CartItem **
ServeCartItems(ServeModel *m, char **items, int nitems, int *n)
{
	CartCache  *c = OpenCache(m);
	CartItem  **out = palloc(mul_size(Max(nitems, 1), sizeof(CartItem *)));
	char	  **missing = palloc(mul_size(Max(nitems, 1), sizeof(char *)));
	int			nmissing = 0;
	int			i;

	/* a new stamp per call tells the cart's repeated items */
	cart_call++;
	*n = 0;
	for (i = 0; i < nitems; i++)
	{
		CartItem   *e = Intern(c, items[i]);

		if (e->call == cart_call)
			continue;
		e->call = cart_call;
		if (!e->loaded)
		{
			/* rows of a read that an error cut short are read again */
			e->pairs.n = e->similar.n = e->weights.n = e->nrules = 0;
			missing[nmissing++] = e->item;
		}
		out[(*n)++] = e;
	}
	if (nmissing > 0)
	{
		LoadItems(m, c, missing, nmissing);
		for (i = 0; i < *n; i++)
			out[i]->loaded = true;
	}
	pfree(missing);
	return out;
}

/*
 * The stamp of the last ServeCartItems call: an entry is in that call's
 * cart when its call equals it.
 */
uint64
ServeCartCall(void)
{
	return cart_call;
}
