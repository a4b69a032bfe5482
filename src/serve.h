/*
 * serve.h
 *	  The serving core: a model's results found through a per-backend cache,
 *	  kept plans, and candidates merged, ranked and cut to k in C.
 */
#ifndef SERVE_H
#define SERVE_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/hsearch.h"

/* The queries a model's results answer; each is prepared once per model. */
typedef enum ServeQuery
{
	SQ_PAIRS,
	SQ_SIMILAR,
	SQ_FALLBACK,
	SQ_CART_PAIRS,
	SQ_CART_RULES,
	SQ_CART_SIMILAR,
	SQ_ITEM_BUNDLES,
	SQ_CUSTOMER_BUNDLES,
	SQ_POPULAR_BUNDLES,
	SQ_RECOMMENDATIONS,
	SQ_POPULAR_ITEMS,
	SQ_NAMES,
	SQ_COLD,
	SQ_COLD_BUNDLES,
	SQ_CART_WEIGHTS,
	SQ_COUNT
} ServeQuery;

/* What serving knows of a model (or of evaluate's scratch schema). */
typedef struct ServeModel
{
	char		key[2 * NAMEDATALEN];
	char	   *signature;		/* schema, options and tables as read */
	char	   *schema;			/* quoted */
	bool		read_only;		/* evaluate's schema: the caller's snapshot */
	bool		has_rules;
	bool		has_similar;
	bool		has_item_bundles;
	bool		has_customer_bundles;
	bool		has_recommendations;
	bool		has_names;		/* items.name may be set: look names up */
	bool		has_products;	/* products, content_neighbors and cold_start */
	bool		has_weights;	/* item_weights */
	double		cart_pairs_weight;
	double		cart_rules_weight;
	double		cart_embedding_weight;
	double		cart_ease_weight;
	double		feedback_prior;
	SPIPlanPtr	plans[SQ_COUNT];
	struct CartCache *cart;		/* complete_cart's rows read so far */
	uint64		cart_epoch;		/* cart is valid while this is current */
} ServeModel;

/*
 * A candidate row: its dedup key, its names (the item, or a bundle's items,
 * for the last tie-break), its tier, score and order, and the row behind it.
 */
typedef struct ServeCand
{
	char	   *key;
	char	  **names;
	int			nnames;
	int			tier;
	bool		has_score;
	double		score;
	int64		ord;
	double		draw;			/* explore: the Thompson draw */
	void	   *row;
} ServeCand;

/* A growing array of candidates. */
typedef struct ServeCands
{
	ServeCand  *c;
	int			n;
	int			cap;
} ServeCands;

/* A fallback row: best sellers of a category (tier 2) or overall (tier 3). */
typedef struct FallbackRow
{
	char	   *category;
	int64		orders;
} FallbackRow;

extern ServeModel *ServeOpenModel(FunctionCallInfo fcinfo, int argno);
extern ServeModel *ServeOpenSchema(Name schema, Datum options);
extern SPITupleTable *ServeRun(ServeModel *m, ServeQuery q, Datum *values,
							   const char *nulls);
extern SPITupleTable *ServeRunFeedback(text *model, Datum key);
extern Datum ServeKeyArg(FunctionCallInfo fcinfo, int argno);
extern Datum ServeKeysArg(FunctionCallInfo fcinfo, int argno);
extern int	ServeCheckK(FunctionCallInfo fcinfo, int argno);
extern void ServeCheckItem(FunctionCallInfo fcinfo, int argno,
						   const char *what, const char *hint);

/* An entry of a set of strings (ServeKeySet). */
typedef struct ServeKeyEntry
{
	char	   *key;
	int			index;
} ServeKeyEntry;

extern HTAB *ServeKeySet(int size);
extern HTAB *ServeStringTable(const char *what, int size, Size entrysize);
extern ServeCand *ServeAdd(ServeCands *cs, char *item, int tier, int64 ord);
extern int	ServeRank(ServeCands *cs, char **exclude, int nexclude,
					  bool by_score, int k);
extern int	ServeCompare(const ServeCand *a, const ServeCand *b, bool by_score);
extern void ServeAddFallback(ServeModel *m, ServeCands *cs, Datum items,
							 int nitems, Datum categories, bool has_categories,
							 int64 limit);
extern char *ServeFallbackExplanation(const ServeCand *c);

/*
 * Names of the items a call returns or mentions: keys are collected with
 * ServeNameWant, looked up in one query by ServeNamesLoad (none when the
 * model has no names), and read back by key.
 */
extern HTAB *ServeNamesNew(void);
extern void ServeNameWant(HTAB *names, const char *key);
extern void ServeNamesLoad(ServeModel *m, HTAB *names);
extern const char *ServeNameOr(HTAB *names, const char *key);
extern Datum ServeNameDatum(HTAB *names, const char *key, bool *isnull);
extern Datum ServeNamesArray(HTAB *names, Datum items);

extern char *ServeText(SPITupleTable *t, uint64 row, int col);
extern double ServeFloat(SPITupleTable *t, uint64 row, int col, bool *isnull);
extern int64 ServeInt(SPITupleTable *t, uint64 row, int col, bool *isnull);
extern char *ServeRound(double v, int scale);
extern Datum ServeTextArray(char **items, int n);
extern char **ServeArrayItems(Datum array, int *n);

struct CartItem;

/*
 * Rows of a cart item.  The items they name are entries of the same cache
 * (struct CartItem), so that merging a cart's rows hashes no strings.
 */

/*
 * A partner of a cart item (value: the pair's confidence, count: its
 * orders), a nearest item (value: the cosine) or an EASE neighbour (value:
 * the signed weight).
 */
typedef struct CartLink
{
	struct CartItem *other;
	double		value;
	int64		count;
} CartLink;

/* A growing array of links. */
typedef struct CartLinks
{
	CartLink   *v;
	int			n;
	int			max;
} CartLinks;

/* A rule, kept under the first item of its antecedent. */
typedef struct CartRule
{
	struct CartItem *consequent;
	double		confidence;
	int32		size;
	char	   *text;			/* the antecedent as text, for ties */
	struct CartItem **antecedent;
	int			nantecedent;
} CartRule;

/* What complete_cart reads of one cart item (serve_cart_cache.c). */
typedef struct CartItem
{
	char	   *item;			/* hash key */
	bool		loaded;			/* its rows are read */
	uint64		call;			/* the last call whose cart holds it */
	uint64		cand_call;		/* the last call that made it a candidate */
	int			cand_index;		/* its candidate in that call */
	CartLinks	pairs;
	CartLinks	similar;
	CartLinks	weights;
	CartRule   *rules;
	int			nrules;
	int			maxrules;
} CartItem;

extern CartItem **ServeCartItems(ServeModel *m, char **items, int nitems, int *n);
extern uint64 ServeCartCall(void);
extern void ServeCartForget(ServeModel *m);

#endif							/* SERVE_H */
