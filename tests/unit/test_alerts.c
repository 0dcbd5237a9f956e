/* Alert rules (sink/sink_alert.h): which categories alert, and the
 * syslog level an event's categories raise it to. */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "sink/sink_alert.h"
#include "testlib.h"

static void test_categories(void)
{
	struct sink_alerts a;
	char err[128];

	CHECK_INT_EQ(sink_alerts_parse(&a, NULL, NULL, err, sizeof(err)), 0);
	CHECK(sink_alerts_match(&a, "fraud"));
	CHECK(sink_alerts_match(&a, "x,y"));
	CHECK(!sink_alerts_match(&a, NULL));
	CHECK(!sink_alerts_match(&a, ""));
	CHECK_INT_EQ(sink_alerts_level(&a, "fraud"), LOG_INFO);
	sink_alerts_free(&a);

	CHECK_INT_EQ(sink_alerts_parse(&a, "fraud, Insider", NULL, err, sizeof(err)), 0);
	CHECK(sink_alerts_match(&a, "fraud"));
	CHECK(sink_alerts_match(&a, "profanity,insider"));
	CHECK(!sink_alerts_match(&a, "profanity"));
	CHECK(!sink_alerts_match(&a, "frau"));
	CHECK(!sink_alerts_match(&a, "fraudster"));
	sink_alerts_free(&a);
}

static void test_levels(void)
{
	struct sink_alerts a, b;
	char err[128];

	CHECK_INT_EQ(sink_alerts_parse(&a, "all", "warning, fraud:alert, insider:crit", err,
				       sizeof(err)),
		     0);
	CHECK_INT_EQ(sink_alerts_level(&a, "profanity"), LOG_WARNING);
	CHECK_INT_EQ(sink_alerts_level(&a, "fraud"), LOG_ALERT);
	CHECK_INT_EQ(sink_alerts_level(&a, "insider,fraud"), LOG_ALERT);
	CHECK_INT_EQ(sink_alerts_level(&a, "insider"), LOG_CRIT);
	CHECK_INT_EQ(sink_alerts_level(&a, NULL), LOG_INFO);
	CHECK(sink_alerts_copy(&b, &a));
	CHECK_INT_EQ(sink_alerts_level(&b, "fraud"), LOG_ALERT);
	sink_alerts_free(&b);
	sink_alerts_free(&a);
	/* Only alerting categories raise it. */
	CHECK_INT_EQ(sink_alerts_parse(&a, "fraud", "fraud:err,profanity:emerg", err, sizeof(err)), 0);
	CHECK_INT_EQ(sink_alerts_level(&a, "profanity"), LOG_INFO);
	CHECK_INT_EQ(sink_alerts_level(&a, "fraud,profanity"), LOG_EMERG);
	sink_alerts_free(&a);
	CHECK_INT_EQ(sink_alerts_parse(&a, NULL, "fraud:loud", err, sizeof(err)), -1);
	CHECK(strstr(err, "\"loud\" is no syslog level") != NULL);
}

int main(void)
{
	RUN_TEST(test_categories);
	RUN_TEST(test_levels);
	TEST_MAIN_END();
}
