# bundlerec: PGXS build.
EXTENSION  = bundlerec
EXTVERSION = 0.1.0

MODULE_big = bundlerec
OBJS = \
	src/bundlerec.o \
	src/arrays.o \
	src/budget.o \
	src/progress.o \
	src/items.o \
	src/baskets.o \
	src/source.o \
	src/output.o \
	src/basket_agg.o \
	src/pair_count.o \
	src/pair_agg.o \
	src/measures.o \
	src/pair_rows.o \
	src/rank_pairs.o \
	src/itemsets.o \
	src/itemset_rows.o \
	src/topk.o \
	src/linalg.o \
	src/interactions.o \
	src/als.o \
	src/als_serve.o \
	src/als_batch.o \
	src/ease.o \
	src/ease_sparse.o \
	src/neighbors.o \
	src/content.o \
	src/item_attributes.o \
	src/bundle_data.o \
	src/bundle_content.o \
	src/bundles.o \
	src/customer_stream.o \
	src/customer_bundles.o \
	src/recommendations.o \
	src/serve.o \
	src/serve_items.o \
	src/serve_cart.o \
	src/serve_cart_cache.o \
	src/serve_bundles.o

# The install script, built from its parts in pipeline order: the engines,
# then models and refresh, serving, feedback, evaluation and tuning.
EXTSQL = \
	src/sql/engines.sql \
	src/sql/models.sql \
	src/sql/refresh.sql \
	src/sql/serving.sql \
	src/sql/evaluate.sql \
	src/sql/tune.sql
DATA_built = $(EXTENSION)--$(EXTVERSION).sql

TESTS = $(wildcard sql/*.sql)
REGRESS = $(patsubst sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

# OpenBLAS through pkg-config (Debian 12 selects the pthread flavour).
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
PG_CPPFLAGS = -I$(srcdir)/src $(BLAS_CFLAGS)
SHLIB_LINK  = $(BLAS_LIBS) -lm

EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(EXTSQL)
	cat $^ > $@

.PHONY: tap bench demo test dist

# pgTAP suites against the server named by PG* variables.
tap:
	pg_prove --verbose --ext .sql -r test/pgtap

# Benchmarks (not part of the test suite).
bench:
	bash test/bench/pairs_bench.sh
	bash test/bench/rules_bench.sh
	bash test/bench/als_bench.sh
	bash test/bench/quality_bench.sh
	bash test/bench/youshu_bench.sh
	bash test/bench/serving_bench.sh

demo:
	bash test/demo.sh

test:
	bash test/run.sh

# The release archive bundlerec-<version>.zip (the PGXN layout: one top
# directory holding META.json), made by git archive from the committed HEAD;
# paths marked export-ignore in .gitattributes stay out.  Refuses when the
# control file, META.json or debian/changelog name another version.
DISTNAME = $(EXTENSION)-$(EXTVERSION)

dist:
	@v=$$(sed -n "s/^default_version = '\(.*\)'$$/\1/p" $(EXTENSION).control); \
	test "$$v" = "$(EXTVERSION)" || { echo "$(EXTENSION).control: default_version $$v, Makefile: $(EXTVERSION)" >&2; exit 1; }
	@n=$$(grep -c '"version": "$(EXTVERSION)"' META.json); \
	test "$$n" -eq 2 || { echo "META.json: version and provides' version must both be $(EXTVERSION)" >&2; exit 1; }
	@head -n 1 debian/changelog | grep -q '^$(EXTENSION) ($(EXTVERSION)-' || { echo "debian/changelog: the first entry is not $(EXTVERSION)" >&2; exit 1; }
	@git diff --quiet HEAD || echo "warning: uncommitted changes are not in $(DISTNAME).zip" >&2
	git archive --format=zip --prefix=$(DISTNAME)/ --output=$(DISTNAME).zip HEAD
