/* imwired for the one live test of an insertion in the direction of its
 * trigger (tests/cases/inline_bridge.sh), which no configuration asks
 * for. It is the production imwired linked with this object and
 * -Wl,--wrap=route_table_build: every table it builds, at start and on
 * SIGHUP, also gets the test-only inserting handler (test_table.h).
 * IMWIRE_TEST_INJECT=WORD:TEXT names the trigger and the message. Built
 * into build/.../bin/tests/ with the unit tests, never installed. */
#include <stdlib.h>
#include <string.h>

#include "test_table.h"

struct route_table *__real_route_table_build(struct policy *p, struct router *r);
struct route_table *__wrap_route_table_build(struct policy *p, struct router *r);

static struct test_inject_rule rule;
static char spec[256];

struct route_table *__wrap_route_table_build(struct policy *p, struct router *r)
{
	struct route_table *t = __real_route_table_build(p, r);
	const char *env = getenv("IMWIRE_TEST_INJECT");
	char *colon;

	if (!t || !env || strlen(env) >= sizeof(spec))
		return t;
	strcpy(spec, env);
	colon = strchr(spec, ':');
	if (!colon)
		return t;
	*colon = '\0';
	rule.word = spec;
	rule.text = colon + 1;
	if (test_inject_add(t, &rule) < 0) {
		route_table_unref(t);
		return NULL;
	}
	return t;
}
