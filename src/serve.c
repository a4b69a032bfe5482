/*
 * serve.c
 *	  The serving core.  A call takes the model's lock shared first, then
 *	  reads the catalogue row and the results through kept SPI plans run
 *	  read-write, so that every query takes a snapshot after the lock: a call
 *	  that waited for a publish sees the new tables.  The per-backend cache
 *	  holds what the catalogue row says (schema, weights, which results
 *	  exist, whether items have names), the plans and complete_cart's rows
 *	  (serve_cart_cache.c); it is rebuilt when the row's schema, options,
 *	  tables or name column differ from the cached ones, or the row is
 *	  another version (xmin, cmin): a refresh, or a model dropped and
 *	  created again under the same name.  Plans name the results' views, so
 *	  PostgreSQL itself replans them when a view is replaced or dropped.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "serve.h"

/* Queries on the catalogue, prepared once per backend. */
enum
{
	GQ_LOCK,
	GQ_MODEL,
	GQ_FEEDBACK,
	GQ_COUNT
};

static SPIPlanPtr global_plans[GQ_COUNT];
static HTAB *model_cache = NULL;

static const char *const global_sql[GQ_COUNT] = {
	"SELECT pg_catalog.pg_advisory_xact_lock_shared(bundlerec._lock_key($1))",
	"SELECT m.results_schema::text, m.last_refresh IS NOT NULL,"
	" m.results_schema::text || ' ' || m.options::text || ' ' || m.tables::text"
	" || ' ' || (m.item_name IS NOT NULL)::text || ' ' || m.xmin::text || ' ' || m.cmin::text,"
	" (m.options ->> 'cart_pairs_weight')::float8,"
	" (m.options ->> 'cart_rules_weight')::float8,"
	" (m.options ->> 'cart_embedding_weight')::float8,"
	" (m.options ->> 'feedback_prior')::float8,"
	" m.tables ? 'rules', m.tables ? 'similar_items', m.tables ? 'item_bundles',"
	" m.tables ? 'customer_bundles', m.tables ? 'recommendations',"
	" m.item_name IS NOT NULL OR m.product_columns ? 'name',"
	" m.tables ? 'cold_start' AND m.tables ? 'products',"
	" m.tables ? 'item_weights', (m.options ->> 'cart_ease_weight')::float8"
	" FROM bundlerec.models m WHERE m.name = $1",
	"SELECT f.impressions, f.conversions FROM bundlerec.feedback f"
	" WHERE f.model = $1 AND f.items = $2"
};

static const Oid global_types[GQ_COUNT][2] = {
	{TEXTOID}, {TEXTOID}, {TEXTOID, TEXTARRAYOID}
};

static const int global_nargs[GQ_COUNT] = {1, 1, 2};

/*
 * The queries on a model's results; %1$s is its quoted schema.  A cart's
 * items are joined as a set, one index probe per item, rather than
 * filtered with = ANY, which a generic plan checks item by item per row.
 */
static const char *const model_sql[SQ_COUNT] = {
	/* SQ_PAIRS */
	"SELECT p.partner, p.score::float8, p.rank::int8, p.count::int8,"
	" p.confidence::float8, p.lift::float8"
	" FROM %1$s.pairs p WHERE p.item = $1 AND p.rank <= $2",
	/* SQ_SIMILAR */
	"SELECT s.neighbor, s.similarity::float8, s.rank::int8"
	" FROM %1$s.similar_items s WHERE s.item = $1 AND s.rank <= $2",
	/* SQ_FALLBACK */
	"SELECT i.item, i.support::float8, 2, i.category_rank::int8, i.category, i.orders::int8"
	" FROM %1$s.items i"
	" WHERE i.category = ANY (coalesce($3, ARRAY(SELECT c.category FROM %1$s.items c"
	" WHERE c.item = ANY ($1))))"
	" AND i.category_rank <= $2"
	" UNION ALL"
	" SELECT i.item, i.support::float8, 3, i.popularity_rank::int8, i.category, i.orders::int8"
	" FROM %1$s.items i WHERE i.popularity_rank <= $2",
	/* SQ_CART_PAIRS */
	"SELECT p.partner, p.item, p.confidence::float8, p.count::int8"
	" FROM (SELECT DISTINCT u.i FROM pg_catalog.unnest($1) u(i)) c"
	" JOIN %1$s.pairs p ON p.item = c.i",
	/* SQ_CART_RULES: the rules whose antecedent starts with one of $1 */
	"SELECT r.consequent, r.confidence::float8, pg_catalog.cardinality(r.antecedent),"
	" r.antecedent::text, r.antecedent, r.antecedent[pg_catalog.array_lower(r.antecedent, 1)]"
	" FROM %1$s.rules r WHERE r.antecedent OPERATOR(pg_catalog.&&) $1"
	" AND r.antecedent[pg_catalog.array_lower(r.antecedent, 1)] OPERATOR(pg_catalog.=) ANY ($1)",
	/* SQ_CART_SIMILAR */
	"SELECT s.neighbor, s.item, s.similarity::float8"
	" FROM (SELECT DISTINCT u.i FROM pg_catalog.unnest($1) u(i)) c"
	" JOIN %1$s.similar_items s ON s.item = c.i",
	/* SQ_ITEM_BUNDLES */
	"SELECT b.items, b.score::float8, b.rank::int8, b.count::int8, b.cohesion::float8,"
	" b.bundle_price::float8, b.accept_probability::float8, b.expected_revenue::float8,"
	" b.explanation"
	" FROM %1$s.item_bundles b WHERE b.anchor = $1 AND b.rank <= $2",
	/* SQ_CUSTOMER_BUNDLES */
	"SELECT b.items, b.score::float8, (CASE WHEN $3 THEN b.rank_new ELSE b.rank END)::int8,"
	" b.repeat_part::float8, b.model_part::float8, b.cohesion::float8, b.new_items::int4,"
	" b.accept_probability::float8, b.explanation"
	" FROM %1$s.customer_bundles b WHERE b.customer = $1"
	" AND (NOT $3 OR b.rank_new IS NOT NULL)"
	" AND CASE WHEN $3 THEN b.rank_new ELSE b.rank END <= $2",
	/* SQ_POPULAR_BUNDLES */
	"SELECT b.items, b.score::float8, i.popularity_rank::int8, b.cohesion::float8,"
	" b.accept_probability::float8, b.explanation"
	" FROM %1$s.items i JOIN %1$s.item_bundles b ON b.anchor = i.item AND b.rank = 1"
	" WHERE i.popularity_rank > $2"
	" AND NOT ($3 AND EXISTS (SELECT 1 FROM %1$s.customer_items ci"
	" WHERE ci.customer = $1 AND ci.item = ANY (b.items)))"
	" ORDER BY i.popularity_rank LIMIT $4",
	/* SQ_RECOMMENDATIONS */
	"SELECT r.item, r.score::float8, r.rank::int8, r.repeat_part::float8,"
	" r.model_part::float8, r.bought::int8, r.customer_orders::int8"
	" FROM %1$s.recommendations r WHERE r.customer = $1 AND NOT ($2 AND r.bought > 0)",
	/* SQ_POPULAR_ITEMS */
	"SELECT i.item, i.support::float8, i.popularity_rank::int8, i.orders::int8"
	" FROM %1$s.items i"
	" WHERE NOT ($2 AND EXISTS (SELECT 1 FROM %1$s.customer_items ci"
	" WHERE ci.customer = $1 AND ci.item = i.item))"
	" ORDER BY i.popularity_rank LIMIT $3",
	/* SQ_NAMES */
	"SELECT i.item, i.name"
	" FROM (SELECT DISTINCT u.i FROM pg_catalog.unnest($1) u(i)) c"
	" JOIN %1$s.items i ON i.item = c.i WHERE i.name IS NOT NULL",
	/* SQ_COLD: a product's cold-start list ($3: together or similar) */
	"SELECT s.other, s.score::float8, s.rank::int8, s.content_weight::float8, s.via,"
	" s.via_similarity::float8, s.via_confidence::float8, s.item_orders::int8"
	" FROM %1$s.cold_start s WHERE s.item = $1 AND s.list = $3 AND s.rank <= $2",
	/*
	 * SQ_COLD_BUNDLES: the bundles of 3 or more items of a cold product's
	 * content neighbours with it in the neighbour's place, each scored
	 * content_weight * the
	 * similarity-weighted mean of its score over the neighbours with
	 * bundles (0 where a neighbour lacks it); via: the neighbour of largest
	 * similarity * score
	 */
	"WITH n AS (SELECT c.neighbor, c.similarity::float8 AS sim FROM %1$s.content_neighbors c"
	" WHERE c.item OPERATOR(pg_catalog.=) $1 AND c.similarity OPERATOR(pg_catalog.>) 0"
	" AND EXISTS (SELECT 1 FROM %1$s.item_bundles b WHERE b.anchor OPERATOR(pg_catalog.=) c.neighbor)),"
	" w AS (SELECT s.content_weight::float8 AS w, s.item_orders::int8 AS orders FROM %1$s.cold_start s"
	" WHERE s.item OPERATOR(pg_catalog.=) $1 AND s.list OPERATOR(pg_catalog.=) 'together' LIMIT 1),"
	" x AS (SELECT n.neighbor, n.sim, b.score::float8 AS score, b.accept_probability::float8 AS ap,"
	" pg_catalog.array_remove(b.items, n.neighbor) AS rest,"
	" ARRAY(SELECT u FROM pg_catalog.unnest(b.items) u WHERE u OPERATOR(pg_catalog.<>) n.neighbor"
	" ORDER BY u COLLATE \"C\") AS rest_key"
	" FROM n JOIN %1$s.item_bundles b ON b.anchor OPERATOR(pg_catalog.=) n.neighbor"
	" WHERE b.size OPERATOR(pg_catalog.>) 2 AND NOT $1 OPERATOR(pg_catalog.=) ANY (b.items)),"
	" y AS (SELECT DISTINCT ON (x.rest_key) pg_catalog.array_prepend($1, x.rest) AS items,"
	" w.w * pg_catalog.sum(x.sim * x.score) OVER (PARTITION BY x.rest_key)"
	" / (SELECT pg_catalog.sum(n.sim) FROM n) AS score,"
	" x.neighbor, x.sim, x.ap, w.orders"
	" FROM x CROSS JOIN w ORDER BY x.rest_key, x.sim * x.score DESC, x.neighbor COLLATE \"C\")"
	" SELECT y.items, y.score, y.neighbor, y.sim, y.ap, y.orders FROM y"
	" ORDER BY y.score DESC, y.items COLLATE \"C\" LIMIT $2",
	/* SQ_CART_WEIGHTS */
	"SELECT w.neighbor, w.item, w.weight::float8"
	" FROM (SELECT DISTINCT u.i FROM pg_catalog.unnest($1) u(i)) c"
	" JOIN %1$s.item_weights w ON w.item = c.i"
};

/*
 * The queries that differ for a model with a products source: products
 * without orders have names and categories in products, and a product with
 * a cold-start list has it read in place of its pairs.  NULL: as above.
 */
static const char *const products_sql[SQ_COUNT] = {
	[SQ_FALLBACK] =
	"SELECT i.item, i.support::float8, 2, i.category_rank::int8, i.category, i.orders::int8"
	" FROM %1$s.items i"
	" WHERE i.category = ANY (coalesce($3, ARRAY(SELECT c.category FROM %1$s.items c"
	" WHERE c.item = ANY ($1) UNION SELECT c.category FROM %1$s.products c"
	" WHERE c.item = ANY ($1))))"
	" AND i.category_rank <= $2"
	" UNION ALL"
	" SELECT i.item, i.support::float8, 3, i.popularity_rank::int8, i.category, i.orders::int8"
	" FROM %1$s.items i WHERE i.popularity_rank <= $2",
	[SQ_CART_PAIRS] =
	"SELECT p.partner, p.item, p.confidence::float8, p.count::int8"
	" FROM (SELECT DISTINCT u.i FROM pg_catalog.unnest($1) u(i)) c"
	" JOIN %1$s.pairs p ON p.item = c.i"
	" WHERE NOT EXISTS (SELECT 1 FROM %1$s.cold_start s WHERE s.item = c.i AND s.list = 'together')"
	" UNION ALL"
	" SELECT s.other, s.item, s.score::float8, 0::int8"
	" FROM (SELECT DISTINCT u.i FROM pg_catalog.unnest($1) u(i)) c"
	" JOIN %1$s.cold_start s ON s.item = c.i AND s.list = 'together'",
	[SQ_NAMES] =
	"SELECT c.i, coalesce(i.name, p.name)"
	" FROM (SELECT DISTINCT u.i FROM pg_catalog.unnest($1) u(i)) c"
	" LEFT JOIN %1$s.items i ON i.item = c.i LEFT JOIN %1$s.products p ON p.item = c.i"
	" WHERE coalesce(i.name, p.name) IS NOT NULL"
};

static const Oid model_types[SQ_COUNT][4] = {
	{TEXTOID, INT4OID},
	{TEXTOID, INT4OID},
	{TEXTARRAYOID, INT8OID, TEXTARRAYOID},
	{TEXTARRAYOID},
	{TEXTARRAYOID},
	{TEXTARRAYOID},
	{TEXTOID, INT4OID},
	{TEXTOID, INT4OID, BOOLOID},
	{TEXTOID, INT8OID, BOOLOID, INT8OID},
	{TEXTOID, BOOLOID},
	{TEXTOID, BOOLOID, INT8OID},
	{TEXTARRAYOID},
	{TEXTOID, INT4OID, TEXTOID},
	{TEXTOID, INT4OID},
	{TEXTARRAYOID}
};

static const int model_nargs[SQ_COUNT] = {2, 2, 3, 1, 1, 1, 2, 3, 4, 2, 3, 1, 3, 2, 1};

/* Runs a catalogue query, preparing and keeping its plan on first use. */
static SPITupleTable *
RunGlobal(int q, Datum *values, const char *nulls)
{
	int			rc;

	if (global_plans[q] == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(global_sql[q], global_nargs[q],
									   (Oid *) global_types[q]);

		if (plan == NULL)
			elog(ERROR, "bundlerec: could not prepare a serving query: %s (please report a bug)",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		global_plans[q] = plan;
	}
	rc = SPI_execute_plan(global_plans[q], values, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "bundlerec: serving query failed: %s (please report a bug)",
			 SPI_result_code_string(rc));
	return SPI_tuptable;
}

/* The cache entry of key, emptied of its plans when signature changed. */
static ServeModel *
CacheEntry(const char *key, const char *signature)
{
	char		k[2 * NAMEDATALEN];
	ServeModel *m;
	bool		found;
	int			i;

	if (model_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(k);
		ctl.entrysize = sizeof(ServeModel);
		model_cache = hash_create("bundlerec serving models", 16, &ctl,
								  HASH_ELEM | HASH_STRINGS);
	}
	memset(k, 0, sizeof(k));
	strlcpy(k, key, sizeof(k));
	m = hash_search(model_cache, k, HASH_ENTER, &found);
	if (found && strcmp(m->signature, signature) == 0)
		return m;
	if (found)
	{
		ServeCartForget(m);
		for (i = 0; i < SQ_COUNT; i++)
			if (m->plans[i] != NULL)
				SPI_freeplan(m->plans[i]);
		pfree(m->signature);
		pfree(m->schema);
	}
	memset(((char *) m) + sizeof(m->key), 0, sizeof(ServeModel) - sizeof(m->key));
	m->signature = MemoryContextStrdup(TopMemoryContext, signature);
	return m;
}

/*
 * The model named by argument argno, after its lock is held shared; raises
 * for a missing or never refreshed model.  Needs SPI connected.
 */
ServeModel *
ServeOpenModel(FunctionCallInfo fcinfo, int argno)
{
	bool		isnull = PG_ARGISNULL(argno);
	text	   *name = isnull ? cstring_to_text("") : PG_GETARG_TEXT_PP(argno);
	char	   *cname = text_to_cstring(name);
	Datum		v[1] = {PointerGetDatum(name)};
	SPITupleTable *t;
	ServeModel *m;
	bool		refreshed;
	bool		n;
	int			i;

	RunGlobal(GQ_LOCK, v, NULL);
	t = isnull ? NULL : RunGlobal(GQ_MODEL, v, NULL);
	if (t == NULL || SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", isnull ? "NULL" : cname),
				 errhint("SELECT name FROM bundlerec.models lists the models.")));
	refreshed = DatumGetBool(SPI_getbinval(t->vals[0], t->tupdesc, 2, &n));
	if (!refreshed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has not been refreshed yet", cname),
				 errhint("Run SELECT bundlerec.refresh(%s) first.", quote_literal_cstr(cname))));
	m = CacheEntry(cname, ServeText(t, 0, 3));
	if (m->schema != NULL)
		return m;
	m->cart_pairs_weight = ServeFloat(t, 0, 4, &n);
	m->cart_rules_weight = ServeFloat(t, 0, 5, &n);
	m->cart_embedding_weight = ServeFloat(t, 0, 6, &n);
	m->feedback_prior = ServeFloat(t, 0, 7, &n);
	for (i = 0; i < 7; i++)
	{
		bool		has = DatumGetBool(SPI_getbinval(t->vals[0], t->tupdesc, 8 + i, &n)) && !n;

		switch (i)
		{
			case 0:
				m->has_rules = has;
				break;
			case 1:
				m->has_similar = has;
				break;
			case 2:
				m->has_item_bundles = has;
				break;
			case 3:
				m->has_customer_bundles = has;
				break;
			case 4:
				m->has_recommendations = has;
				break;
			case 5:
				m->has_names = has;
				break;
			default:
				m->has_products = has;
				break;
		}
	}
	m->has_weights = DatumGetBool(SPI_getbinval(t->vals[0], t->tupdesc, 15, &n)) && !n;
	m->cart_ease_weight = ServeFloat(t, 0, 16, &n);
	/* set last: an entry without a schema is filled again */
	m->schema = MemoryContextStrdup(TopMemoryContext,
									quote_identifier(ServeText(t, 0, 1)));
	return m;
}

/* An option of a jsonb object as float8, 0 when missing. */
static double
OptionFloat(Datum options, const char *name)
{
	Datum		v;
	LOCAL_FCINFO(fc, 2);

	InitFunctionCallInfoData(*fc, NULL, 2, InvalidOid, NULL, NULL);
	fc->args[0].value = options;
	fc->args[0].isnull = false;
	fc->args[1].value = CStringGetTextDatum(name);
	fc->args[1].isnull = false;
	v = jsonb_object_field_text(fc);
	if (fc->isnull)
		return 0;
	return DatumGetFloat8(DirectFunctionCall1(float8in,
											  CStringGetDatum(TextDatumGetCString(v))));
}

/* Whether schema (oid) holds a relation named rel. */
static bool
HasRelation(Oid nsp, const char *rel)
{
	return OidIsValid(nsp) && OidIsValid(get_relname_relid(rel, nsp));
}

/*
 * Evaluate's scratch schema read with the options given: the results that
 * exist are looked up in the schema itself.  Needs SPI connected.
 */
ServeModel *
ServeOpenSchema(Name schema, Datum options)
{
	Oid			nsp = get_namespace_oid(NameStr(*schema), true);
	char		key[2 * NAMEDATALEN];
	char	   *sig;
	ServeModel *m;
	bool		rules = HasRelation(nsp, "rules");
	bool		similar = HasRelation(nsp, "similar_items");
	bool		products = HasRelation(nsp, "cold_start") && HasRelation(nsp, "products");
	bool		weights = HasRelation(nsp, "item_weights");

	snprintf(key, sizeof(key), "\x01%s", NameStr(*schema));
	/* kept for one transaction: nothing tells when the schema's tables change */
	sig = psprintf("%u %d %d %d %d %s " INT64_FORMAT, nsp, rules, similar, products, weights,
				   DatumGetCString(DirectFunctionCall1(jsonb_out, options)),
				   (int64) GetCurrentTransactionStartTimestamp());
	m = CacheEntry(key, sig);
	if (m->schema != NULL)
		return m;
	m->read_only = true;
	m->has_rules = rules;
	m->has_similar = similar;
	m->has_products = products;
	m->has_weights = weights;
	m->has_names = products;
	m->cart_pairs_weight = OptionFloat(options, "cart_pairs_weight");
	m->cart_rules_weight = OptionFloat(options, "cart_rules_weight");
	m->cart_embedding_weight = OptionFloat(options, "cart_embedding_weight");
	m->cart_ease_weight = OptionFloat(options, "cart_ease_weight");
	m->feedback_prior = OptionFloat(options, "feedback_prior");
	m->schema = MemoryContextStrdup(TopMemoryContext,
									quote_identifier(NameStr(*schema)));
	return m;
}

/* Runs query q on the model's results with a fresh snapshot. */
SPITupleTable *
ServeRun(ServeModel *m, ServeQuery q, Datum *values, const char *nulls)
{
	int			rc;

	if (m->plans[q] == NULL)
	{
		char	   *sql = psprintf(m->has_products && products_sql[q] != NULL
									   ? products_sql[q] : model_sql[q], m->schema);
		SPIPlanPtr	plan = SPI_prepare(sql, model_nargs[q], (Oid *) model_types[q]);

		if (plan == NULL)
			elog(ERROR, "bundlerec: could not prepare a serving query: %s (please report a bug)",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		m->plans[q] = plan;
	}
	rc = SPI_execute_plan(m->plans[q], values, nulls, m->read_only, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "bundlerec: serving query failed: %s (please report a bug)",
			 SPI_result_code_string(rc));
	return SPI_tuptable;
}

/* The feedback of a bundle (key: its sorted items) of a model. */
SPITupleTable *
ServeRunFeedback(text *model, Datum key)
{
	Datum		v[2] = {PointerGetDatum(model), key};

	return RunGlobal(GQ_FEEDBACK, v, NULL);
}

/* k of argument argno, checked: 1 to 1000. */
int
ServeCheckK(FunctionCallInfo fcinfo, int argno)
{
	int32		k = PG_ARGISNULL(argno) ? 0 : PG_GETARG_INT32(argno);

	if (PG_ARGISNULL(argno) || k < 1 || k > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and 1000, not %s",
						PG_ARGISNULL(argno) ? "NULL" : psprintf("%d", k)),
				 errhint("k is the number of results to return.")));
	return k;
}

/* Raises when argument argno (an item or a customer) is NULL. */
void
ServeCheckItem(FunctionCallInfo fcinfo, int argno, const char *what,
			   const char *hint)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what),
				 errhint("%s", hint)));
}

/*
 * Argument argno, an item or customer key, as text: text and varchar as
 * they are, any other type (integers, uuid, numeric) as its output
 * function prints it, which is how a refresh stored it (key::text).
 */
Datum
ServeKeyArg(FunctionCallInfo fcinfo, int argno)
{
	Oid			type = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, argno));
	Oid			out;
	bool		isvarlena;

	if (!OidIsValid(type) || type == TEXTOID || type == VARCHAROID || type == UNKNOWNOID)
		return PG_GETARG_DATUM(argno);
	getTypeOutputInfo(type, &out, &isvarlena);
	return CStringGetTextDatum(OidOutputFunctionCall(out, PG_GETARG_DATUM(argno)));
}

/* Argument argno, an array of keys of any type, as text[]. */
Datum
ServeKeysArg(FunctionCallInfo fcinfo, int argno)
{
	ArrayType  *a;
	Oid			elem;
	int16		len;
	bool		byval;
	char		align;
	Oid			out;
	bool		isvarlena;
	Datum	   *d;
	bool	   *nulls;
	int			n;
	int			i;
	int			dims[1];
	int			lbs[1] = {1};

	a = PG_GETARG_ARRAYTYPE_P(argno);
	elem = ARR_ELEMTYPE(a);
	if (elem == TEXTOID)
		return PointerGetDatum(a);
	get_typlenbyvalalign(elem, &len, &byval, &align);
	deconstruct_array(a, elem, len, byval, align, &d, &nulls, &n);
	getTypeOutputInfo(elem, &out, &isvarlena);
	for (i = 0; i < n; i++)
		if (!nulls[i])
			d[i] = CStringGetTextDatum(OidOutputFunctionCall(out, d[i]));
	dims[0] = n;
	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Appends a candidate for item. */
ServeCand *
ServeAdd(ServeCands *cs, char *item, int tier, int64 ord)
{
	ServeCand  *c;

	if (cs->n == cs->cap)
	{
		cs->cap = Max(16, cs->cap * 2);
		cs->c = cs->c == NULL ? palloc(mul_size(cs->cap, sizeof(ServeCand)))
			: repalloc(cs->c, mul_size(cs->cap, sizeof(ServeCand)));
	}
	c = &cs->c[cs->n++];
	memset(c, 0, sizeof(ServeCand));
	c->key = item;
	c->names = palloc(sizeof(char *));
	c->names[0] = item;
	c->nnames = 1;
	c->tier = tier;
	c->ord = ord;
	return c;
}

/* Text order of the default collation, as ORDER BY on a text column. */
static int
NameCmp(const char *a, const char *b)
{
	return varstr_cmp(a, strlen(a), b, strlen(b), DEFAULT_COLLATION_OID);
}

/*
 * Rank order: tier, then score descending (NULL last) when by_score, then
 * ord, then the names (an item, or a bundle's items as an array compares).
 */
int
ServeCompare(const ServeCand *a, const ServeCand *b, bool by_score)
{
	int			i;

	if (a->tier != b->tier)
		return a->tier < b->tier ? -1 : 1;
	if (by_score && a->has_score != b->has_score)
		return a->has_score ? -1 : 1;
	if (by_score && a->has_score && a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->ord != b->ord)
		return a->ord < b->ord ? -1 : 1;
	for (i = 0; i < a->nnames && i < b->nnames; i++)
	{
		int			r = NameCmp(a->names[i], b->names[i]);

		if (r != 0)
			return r;
	}
	return a->nnames - b->nnames;
}

static uint32
KeyHash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
KeyMatch(const void *a, const void *b, Size keysize)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A hash table keyed by strings (char *), in the current memory context. */
HTAB *
ServeStringTable(const char *what, int size, Size entrysize)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = entrysize;
	ctl.hash = KeyHash;
	ctl.match = KeyMatch;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(what, Max(size, 16), &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

/* A set of strings (char * keys), in the current memory context. */
HTAB *
ServeKeySet(int size)
{
	return ServeStringTable("bundlerec serving keys", size, sizeof(ServeKeyEntry));
}

/* An item of a call's names and its name (NULL: none). */
typedef struct NameEntry
{
	char	   *key;
	char	   *name;
} NameEntry;

/* An empty set of names, in the current memory context. */
HTAB *
ServeNamesNew(void)
{
	return ServeStringTable("bundlerec serving names", 64, sizeof(NameEntry));
}

/* Adds key (kept by reference) to the items whose names are wanted. */
void
ServeNameWant(HTAB *names, const char *key)
{
	bool		found;
	NameEntry  *e;

	if (key == NULL)
		return;
	e = hash_search(names, &key, HASH_ENTER, &found);
	if (!found)
		e->name = NULL;
}

/*
 * Looks up the names of the items wanted, in one query on the model's
 * items (a kept plan like the others); nothing when the model has no names.
 */
void
ServeNamesLoad(ServeModel *m, HTAB *names)
{
	long		n = hash_get_num_entries(names);
	HASH_SEQ_STATUS seq;
	NameEntry  *e;
	char	  **keys;
	int			i = 0;
	Datum		v[1];
	SPITupleTable *t;
	uint64		j;

	if (!m->has_names || n == 0)
		return;
	keys = palloc(mul_size(n, sizeof(char *)));
	hash_seq_init(&seq, names);
	while ((e = hash_seq_search(&seq)) != NULL)
		keys[i++] = e->key;
	v[0] = ServeTextArray(keys, i);
	t = ServeRun(m, SQ_NAMES, v, NULL);
	for (j = 0; j < SPI_processed; j++)
	{
		char	   *key = ServeText(t, j, 1);

		e = hash_search(names, &key, HASH_FIND, NULL);
		if (e != NULL)
			e->name = ServeText(t, j, 2);
	}
}

/* The name of key, NULL when it has none (or was not looked up). */
static const char *
NameOf(HTAB *names, const char *key)
{
	NameEntry  *e;

	if (key == NULL)
		return NULL;
	e = hash_search(names, &key, HASH_FIND, NULL);
	return e == NULL ? NULL : e->name;
}

/* How an explanation calls key: its name, else the key itself. */
const char *
ServeNameOr(HTAB *names, const char *key)
{
	const char *name = NameOf(names, key);

	return name != NULL ? name : key;
}

/* The name column of key: its name as text, else NULL. */
Datum
ServeNameDatum(HTAB *names, const char *key, bool *isnull)
{
	const char *name = NameOf(names, key);

	*isnull = name == NULL;
	return *isnull ? (Datum) 0 : CStringGetTextDatum(name);
}

/* The names column of a bundle: a text[] parallel to items, NULL elements for no name. */
Datum
ServeNamesArray(HTAB *names, Datum items)
{
	int			n;
	char	  **keys = ServeArrayItems(items, &n);
	Datum	   *d = palloc(mul_size(Max(n, 1), sizeof(Datum)));
	bool	   *nulls = palloc(mul_size(Max(n, 1), sizeof(bool)));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	for (i = 0; i < n; i++)
		d[i] = ServeNameDatum(names, keys[i], &nulls[i]);
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

static bool serve_by_score;

static int
HeapCmp(const ServeCand *a, const ServeCand *b)
{
	return ServeCompare(a, b, serve_by_score);
}

static int
QsortCmp(const void *a, const void *b)
{
	return HeapCmp((const ServeCand *) a, (const ServeCand *) b);
}

/* Moves heap[i] down a max-heap (worst candidate on top) of n. */
static void
SiftDown(ServeCand *heap, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1;
		int			w = i;
		ServeCand	tmp;

		if (l < n && HeapCmp(&heap[l], &heap[w]) > 0)
			w = l;
		if (l + 1 < n && HeapCmp(&heap[l + 1], &heap[w]) > 0)
			w = l + 1;
		if (w == i)
			return;
		tmp = heap[i];
		heap[i] = heap[w];
		heap[w] = tmp;
		i = w;
	}
}

/*
 * Keeps the best candidate per key (as DISTINCT ON key ORDER BY key and the
 * rank order), drops the keys in exclude, and moves the k best, in rank
 * order, to the front through a bounded heap.  Returns how many there are.
 */
int
ServeRank(ServeCands *cs, char **exclude, int nexclude, bool by_score, int k)
{
	HTAB	   *seen = ServeKeySet(cs->n + nexclude);
	ServeCand  *heap = palloc(mul_size(k, sizeof(ServeCand)));
	int			nheap = 0;
	int			nbest = 0;
	int			i;
	bool		found;

	serve_by_score = by_score;
	for (i = 0; i < nexclude; i++)
		((ServeKeyEntry *) hash_search(seen, &exclude[i], HASH_ENTER, &found))->index = -1;
	/* the best row of each key, compacted to the front */
	for (i = 0; i < cs->n; i++)
	{
		ServeKeyEntry   *e = hash_search(seen, &cs->c[i].key, HASH_ENTER, &found);

		if (!found)
		{
			e->index = nbest;
			cs->c[nbest++] = cs->c[i];
		}
		else if (e->index >= 0 && HeapCmp(&cs->c[i], &cs->c[e->index]) < 0)
			cs->c[e->index] = cs->c[i];
	}
	for (i = 0; i < nbest; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (nheap < k)
		{
			int			j = nheap++;

			heap[j] = cs->c[i];
			while (j > 0 && HeapCmp(&heap[(j - 1) / 2], &heap[j]) < 0)
			{
				ServeCand	tmp = heap[j];

				heap[j] = heap[(j - 1) / 2];
				heap[(j - 1) / 2] = tmp;
				j = (j - 1) / 2;
			}
		}
		else if (HeapCmp(&cs->c[i], &heap[0]) < 0)
		{
			heap[0] = cs->c[i];
			SiftDown(heap, nheap, 0);
		}
	}
	qsort(heap, nheap, sizeof(ServeCand), QsortCmp);
	memcpy(cs->c, heap, mul_size(nheap, sizeof(ServeCand)));
	cs->n = nheap;
	hash_destroy(seen);
	return nheap;
}

/*
 * Adds the fallback rows of items: best sellers of the categories (or of
 * the items' categories) up to category rank limit, tier 2, then overall
 * up to popularity rank limit, tier 3.
 */
void
ServeAddFallback(ServeModel *m, ServeCands *cs, Datum items, int nitems,
				 Datum categories, bool has_categories, int64 limit)
{
	Datum		v[3] = {items, Int64GetDatum(limit), categories};
	char		nulls[3] = {' ', ' ', has_categories ? ' ' : 'n'};
	SPITupleTable *t = ServeRun(m, SQ_FALLBACK, v, nulls);
	uint64		n = SPI_processed;
	uint64		i;
	bool		isnull;

	for (i = 0; i < n; i++)
	{
		int			tier = (int) ServeInt(t, i, 3, &isnull);
		ServeCand  *c = ServeAdd(cs, ServeText(t, i, 1), tier, ServeInt(t, i, 4, &isnull));
		FallbackRow *r = palloc(sizeof(FallbackRow));

		c->score = ServeFloat(t, i, 2, &isnull);
		c->has_score = !isnull;
		r->category = ServeText(t, i, 5);
		r->orders = ServeInt(t, i, 6, &isnull);
		c->row = r;
	}
}

/* The explanation of a fallback candidate. */
char *
ServeFallbackExplanation(const ServeCand *c)
{
	const FallbackRow *r = c->row;

	if (c->tier == 2)
		return psprintf("popular in %s: in " INT64_FORMAT " orders",
						r->category ? r->category : "", r->orders);
	return psprintf("one of the best sellers: in " INT64_FORMAT " orders", r->orders);
}

/* Column col (1-based) of row as a C string, NULL for NULL. */
char *
ServeText(SPITupleTable *t, uint64 row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(t->vals[row], t->tupdesc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Column col of row as float8 (the query casts it), 0 for NULL. */
double
ServeFloat(SPITupleTable *t, uint64 row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(t->vals[row], t->tupdesc, col, isnull);

	return *isnull ? 0 : DatumGetFloat8(d);
}

/* Column col of row as int8 (int4 and int8 columns), 0 for NULL. */
int64
ServeInt(SPITupleTable *t, uint64 row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(t->vals[row], t->tupdesc, col, isnull);

	if (*isnull)
		return 0;
	return SPI_gettypeid(t->tupdesc, col) == INT8OID ? DatumGetInt64(d)
		: (int64) DatumGetInt32(d);
}

/* v as round(v::numeric, scale) prints it. */
char *
ServeRound(double v, int scale)
{
	Datum		n = DirectFunctionCall1(float8_numeric, Float8GetDatum(v));

	n = DirectFunctionCall2(numeric_round, n, Int32GetDatum(scale));
	return DatumGetCString(DirectFunctionCall1(numeric_out, n));
}

/* A text[] of n C strings. */
Datum
ServeTextArray(char **items, int n)
{
	Datum	   *d = palloc(mul_size(Max(n, 1), sizeof(Datum)));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* The elements of a text[] as C strings, NULL for NULL elements. */
char **
ServeArrayItems(Datum array, int *n)
{
	ArrayType  *a = DatumGetArrayTypeP(array);
	Datum	   *d;
	bool	   *nulls;
	char	  **out;
	int			i;

	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, n);
	out = palloc(mul_size(Max(*n, 1), sizeof(char *)));
	for (i = 0; i < *n; i++)
		out[i] = nulls[i] ? NULL : TextDatumGetCString(d[i]);
	return out;
}
