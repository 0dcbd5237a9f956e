/* Route tables for unit tests and fuzz targets (linked into those only,
 * never into the product): the table a configuration text gives, as
 * imwired would build it, and the one rule no configuration has, which
 * tests of the engine still need: a message inserted right after its
 * trigger, in the trigger's own direction. */
#ifndef IMW_TEST_TABLE_H
#define IMW_TEST_TABLE_H

#include "route/route.h"

struct router;

/* The table of config_text ("regex_replace=/a/b/\n..."): its policy
 * (live) and, when r is given, the router's handlers. NULL (with the
 * reason on stderr) when the text is wrong or memory is out. */
struct route_table *test_table(const char *config_text, struct router *r);

/* The decision p's handlers make for ev, as the table every mode runs
 * makes it (no router: nothing is routed); free with
 * policy_decision_free. */
struct policy_decision test_decide(struct policy *p, const struct im_event *ev);

/* Every message whose text contains word gets a message with text after
 * it, same direction and conversation (pre-routing 400, "test:inject").
 * rule must outlive the table. -1 when out of memory. */
struct test_inject_rule {
	const char *word;
	const char *text;
};
int test_inject_add(struct route_table *t, const struct test_inject_rule *rule);

#endif
