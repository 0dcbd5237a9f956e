/* Which events alert, at which syslog level, and the alerts file
 * (sink_alert.h). */
#include "sink/sink_alert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

void sink_alerts_free(struct sink_alerts *a)
{
	size_t i;

	for (i = 0; i < a->n_cats; i++)
		free(a->cats[i]);
	for (i = 0; i < a->n_prios; i++)
		free(a->prios[i].cat);
	free(a->cats);
	free(a->prios);
	memset(a, 0, sizeof(*a));
}

static int level_of(const char *name, size_t len)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "emerg", LOG_EMERG },     { "alert", LOG_ALERT },  { "crit", LOG_CRIT },
		{ "err", LOG_ERR },         { "error", LOG_ERR },    { "warning", LOG_WARNING },
		{ "warn", LOG_WARNING },    { "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strlen(levels[i].name) == len && strncasecmp(levels[i].name, name, len) == 0)
			return levels[i].level;
	return -1;
}

/* The next comma-separated item at *p, trimmed; NULL at the end. */
static const char *item(const char **p, size_t *len)
{
	const char *s = *p;

	while (*s == ' ' || *s == ',')
		s++;
	if (!*s)
		return NULL;
	*len = strcspn(s, ",");
	*p = s + *len;
	while (*len && s[*len - 1] == ' ')
		(*len)--;
	return s;
}

static int add_cat(struct sink_alerts *a, const char *s, size_t len)
{
	char **grown = realloc(a->cats, (a->n_cats + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	a->cats = grown;
	a->cats[a->n_cats] = strndup(s, len);
	return a->cats[a->n_cats++] ? 0 : -1;
}

static int add_prio(struct sink_alerts *a, const char *cat, size_t cat_len, int level)
{
	struct alert_priority *grown = realloc(a->prios, (a->n_prios + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	a->prios = grown;
	a->prios[a->n_prios].level = level;
	a->prios[a->n_prios].cat = cat ? strndup(cat, cat_len) : NULL;
	if (cat && !a->prios[a->n_prios].cat)
		return -1;
	a->n_prios++;
	return 0;
}

int sink_alerts_parse(struct sink_alerts *a, const char *categories, const char *priorities,
		      char *err, size_t err_size)
{
	const char *p, *s;
	size_t len;

	memset(a, 0, sizeof(*a));
	p = categories ? categories : "all";
	while ((s = item(&p, &len))) {
		if (len == 3 && strncasecmp(s, "all", 3) == 0)
			a->all = true;
		else if (add_cat(a, s, len) < 0)
			goto oom;
	}
	for (p = priorities ? priorities : ""; (s = item(&p, &len));) {
		const char *colon = memchr(s, ':', len);
		const char *lv = colon ? colon + 1 : s;
		int level = level_of(lv, len - (size_t)(lv - s));

		if (level < 0) {
			snprintf(err, err_size, "alert_syslog_priority: \"%.*s\" is no syslog level",
				 (int)(len - (size_t)(lv - s)), lv);
			sink_alerts_free(a);
			return -1;
		}
		if (add_prio(a, colon ? s : NULL, colon ? (size_t)(colon - s) : 0, level) < 0)
			goto oom;
	}
	return 0;
oom:
	snprintf(err, err_size, "out of memory");
	sink_alerts_free(a);
	return -1;
}

bool sink_alerts_copy(struct sink_alerts *to, const struct sink_alerts *from)
{
	size_t i;

	memset(to, 0, sizeof(*to));
	to->all = from->all;
	for (i = 0; i < from->n_cats; i++)
		if (add_cat(to, from->cats[i], strlen(from->cats[i])) < 0)
			goto oom;
	for (i = 0; i < from->n_prios; i++) {
		const char *c = from->prios[i].cat;

		if (add_prio(to, c, c ? strlen(c) : 0, from->prios[i].level) < 0)
			goto oom;
	}
	return true;
oom:
	sink_alerts_free(to);
	return false;
}

/* Whether "a,b" holds cat (whole items, ASCII case aside). */
static bool list_has(const char *list, const char *cat)
{
	const char *p = list, *s;
	size_t len;

	while ((s = item(&p, &len)))
		if (strlen(cat) == len && strncasecmp(s, cat, len) == 0)
			return true;
	return false;
}

static bool cat_alerts(const struct sink_alerts *a, const char *cat, size_t len)
{
	size_t i;

	if (a->all)
		return true;
	for (i = 0; i < a->n_cats; i++)
		if (strlen(a->cats[i]) == len && strncasecmp(a->cats[i], cat, len) == 0)
			return true;
	return false;
}

bool sink_alerts_match(const struct sink_alerts *a, const char *categories)
{
	const char *p = categories ? categories : "", *s;
	size_t len;

	while ((s = item(&p, &len)))
		if (cat_alerts(a, s, len))
			return true;
	return false;
}

int sink_alerts_level(const struct sink_alerts *a, const char *categories)
{
	int level = LOG_INFO;
	size_t i;

	if (!sink_alerts_match(a, categories))
		return level;
	for (i = 0; i < a->n_prios; i++) {
		const struct alert_priority *pr = &a->prios[i];

		if ((!pr->cat || list_has(categories, pr->cat)) && pr->level < level)
			level = pr->level;
	}
	return level;
}

/* ---- the alerts file: the JSON lines sink, given alerting events only ---- */

struct alerts_file {
	struct sink inner;
	struct sink_alerts alerts;
	char *sensor;
};

/* The JSON lines sink's reason names the file already. */
static void copy_err(struct sink *s, const struct alerts_file *f)
{
	s->err_no = f->inner.err_no;
	memcpy(s->err, f->inner.err, sizeof(s->err));
}

static int af_write(struct sink *s, const struct im_event *ev, uint64_t eventid)
{
	struct alerts_file *f = s->ctx;
	struct im_event copy;
	int rc;

	if (!sink_alerts_match(&f->alerts, ev->categories))
		return 0;
	copy = *ev;
	copy.eventid = eventid;
	copy.sensor = f->sensor;
	rc = f->inner.ops->write(&f->inner, &copy, eventid);
	if (rc < 0)
		copy_err(s, f);
	return rc;
}

#define FORWARD(call)                                                                \
	do {                                                                         \
		int rc_ = (call);                                                    \
		if (rc_ < 0)                                                         \
			copy_err(s, f);                                              \
		return rc_;                                                          \
	} while (0)

static int af_flush(struct sink *s)
{
	struct alerts_file *f = s->ctx;

	FORWARD(f->inner.ops->flush(&f->inner));
}

static int af_sync(struct sink *s)
{
	struct alerts_file *f = s->ctx;

	FORWARD(f->inner.ops->sync(&f->inner));
}

static int af_restore(struct sink *s, const struct sink_undo *u)
{
	struct alerts_file *f = s->ctx;

	FORWARD(f->inner.ops->restore(&f->inner, u));
}

static size_t af_undo(struct sink *s, const struct im_event *const *evs, size_t n,
		      struct sink_undo *u)
{
	struct alerts_file *f = s->ctx;
	size_t k = f->inner.ops->undo(&f->inner, evs, n, u);

	if (!k && n)
		copy_err(s, f);
	return k;
}

static void af_close(struct sink *s)
{
	struct alerts_file *f = s->ctx;

	sink_close(&f->inner);
	sink_alerts_free(&f->alerts);
	free(f->sensor);
	free(f);
}

static const struct sink_ops alerts_file_ops = {
	.name = "alerts",
	.write = af_write,
	.flush = af_flush,
	.close = af_close,
	.sync = af_sync,
	.undo = af_undo,
	.restore = af_restore,
};

int sink_alerts_file_open(struct sink *s, const char *path, const struct sink_alerts *a,
			  const char *sensor)
{
	struct alerts_file *f = calloc(1, sizeof(*f));
	int e;

	if (!f)
		return -1;
	if (sink_jsonl_open_path(&f->inner, path, 0) < 0) {
		e = errno;
		free(f);
		errno = e;
		return -1;
	}
	/* Not a store of the chain: an operator's channel. */
	f->inner.chained = false;
	f->sensor = strdup(sensor ? sensor : "");
	memset(s, 0, sizeof(*s));
	s->id = malloc(strlen(path) + sizeof("alerts "));
	if (!f->sensor || !s->id || !sink_alerts_copy(&f->alerts, a)) {
		free(s->id);
		s->id = NULL;
		sink_close(&f->inner);
		free(f->sensor);
		free(f);
		errno = ENOMEM;
		return -1;
	}
	strcpy(s->id, "alerts ");
	strcat(s->id, path);
	s->ops = &alerts_file_ops;
	s->ctx = f;
	return 0;
}
