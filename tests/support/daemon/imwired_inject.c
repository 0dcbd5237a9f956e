/* imwired for the one live test of an insertion in the direction of its
 * trigger (tests/cases/inline_bridge.sh), which no configuration asks
 * for. It is the production imwired linked with this object and
 * -Wl,--wrap=route_setup_load,--wrap=route_table_build: the table it
 * builds at start (route_setup_load) and on SIGHUP (route_table_build)
 * also gets the test-only inserting handler (test_table.h).
 * IMWIRE_TEST_INJECT=WORD:TEXT names the trigger and the message. Built
 * into build/.../bin/tests/ with the unit tests, never installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route/router.h"
#include "test_table.h"

struct route_table *__real_route_table_build(struct policy *p, struct router *r);
struct route_table *__wrap_route_table_build(struct policy *p, struct router *r);
int __real_route_setup_load(struct route_setup *rs, const struct imw_config *cfg,
			    enum policy_mode mode, unsigned n_workers, char *err, size_t err_size);
int __wrap_route_setup_load(struct route_setup *rs, const struct imw_config *cfg,
			    enum policy_mode mode, unsigned n_workers, char *err, size_t err_size);

static struct test_inject_rule rule;
static char spec[256];

/* The handler into t when IMWIRE_TEST_INJECT names one; -1 when out of memory. */
static int add_rule(struct route_table *t)
{
	const char *env = getenv("IMWIRE_TEST_INJECT");
	char *colon;

	if (!env || strlen(env) >= sizeof(spec))
		return 0;
	strcpy(spec, env);
	colon = strchr(spec, ':');
	if (!colon)
		return 0;
	*colon = '\0';
	rule.word = spec;
	rule.text = colon + 1;
	return test_inject_add(t, &rule);
}

struct route_table *__wrap_route_table_build(struct policy *p, struct router *r)
{
	struct route_table *t = __real_route_table_build(p, r);

	if (t && add_rule(t) < 0) {
		route_table_unref(t);
		return NULL;
	}
	return t;
}

int __wrap_route_setup_load(struct route_setup *rs, const struct imw_config *cfg,
			    enum policy_mode mode, unsigned n_workers, char *err, size_t err_size)
{
	if (__real_route_setup_load(rs, cfg, mode, n_workers, err, err_size) < 0)
		return -1;
	if (add_rule(rs->table) < 0) {
		route_setup_free(rs);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	return 0;
}
