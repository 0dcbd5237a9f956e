/* imwired for the one live test of an insertion in the direction of its
 * trigger (tests/cases/inline_bridge.sh), which no configuration asks
 * for. It is the production imwired linked with this object and
 * -Wl,--wrap=route_table_build: every table it builds, at start
 * (route/setup.c) and on SIGHUP (runtime/state.c), also gets the
 * test-only inserting handler (test_table.h). IMWIRE_TEST_INJECT=WORD:TEXT
 * names the trigger and the message. Built into build/.../bin/tests/ with
 * the unit tests, never installed. */
#include <stdlib.h>
#include <string.h>

#include "test_table.h"

struct route_table *__real_route_table_build(struct policy *p, struct router *r);
struct route_table *__wrap_route_table_build(struct policy *p, struct router *r);

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
