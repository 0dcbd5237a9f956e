/* Alerts (README, "Alerts"): events that flag rules marked with
 * categories (im_event.categories, "a,b") raise syslog severity and go
 * to the alert channels: a JSON lines file (alerts_file=) and a webhook
 * (alert_webhook=, one HTTP POST per event). Each channel is a sink of
 * its own behind the writer, so an alert is spooled, retried and written
 * exactly once like any event, and never waits on the packet path.
 *
 *   alert_categories=all | CAT,CAT...      which categories alert (all)
 *   alert_syslog_priority=LEVEL | CAT:LEVEL,...
 *       the syslog sink's priority for an event of those categories (the
 *       most severe that applies; LEVEL: emerg alert crit err warning
 *       notice info debug); other events stay LOG_INFO */
#ifndef IMW_SINK_ALERT_H
#define IMW_SINK_ALERT_H

#include <stdbool.h>
#include <stddef.h>

#include "sink/sink.h"

struct sink_alerts {
	bool all;     /* every category alerts */
	char **cats;  /* else these */
	size_t n_cats;
	struct alert_priority {
		char *cat; /* NULL: every alerting category */
		int level; /* LOG_* */
	} *prios;
	size_t n_prios;
};

/* NULL categories: "all". -1 with err naming what is wrong. */
int sink_alerts_parse(struct sink_alerts *a, const char *categories, const char *priorities,
		      char *err, size_t err_size);
void sink_alerts_free(struct sink_alerts *a);
bool sink_alerts_copy(struct sink_alerts *to, const struct sink_alerts *from);
/* An event's categories ("a,b", NULL or "" for none) alert. */
bool sink_alerts_match(const struct sink_alerts *a, const char *categories);
/* The syslog level for them: the most severe priority that applies, or
 * LOG_INFO. */
int sink_alerts_level(const struct sink_alerts *a, const char *categories);

/* The JSON lines of alerting events (with their eventid and sensor), to
 * path, appended; written and cut back as the JSON lines sink does. */
int sink_alerts_file_open(struct sink *s, const char *path, const struct sink_alerts *a,
			  const char *sensor);

/* One HTTP POST (application/json, the event as JSON lines has it, with
 * its eventid and sensor; header Idempotency-Key: SENSOR/EVENTID) per
 * alerting event to url, through libcurl, within timeout_s; anything but
 * a 2xx answer fails the batch, which the writer gives again (an event
 * posted before the failure is not posted again). Each alerting event
 * ends its batch, so the writer's cursor moves past it at once: a crash
 * can repeat at most the one POST whose answer was not yet recorded, with
 * the same key. */
int sink_webhook_open(struct sink *s, const char *url, const struct sink_alerts *a,
		      const char *sensor, unsigned timeout_s, char *err, size_t err_size);

#endif
