#include "review/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "event/event.h"

static const char *const column_names[] = {
	"sensor", "eventid", "action", "rule", "categories", "delivered_text", "session", "kind",
	"group",
};

const char *review_column_name(enum review_column c)
{
	size_t i;

	for (i = 0; i < sizeof(column_names) / sizeof(column_names[0]); i++)
		if ((unsigned)c == 1u << i)
			return column_names[i];
	return "?";
}

unsigned review_column_from_name(const char *name)
{
	size_t i;

	if (strcmp(name, "is_group") == 0)
		return REVIEW_COL_GROUP;
	for (i = 0; i < sizeof(column_names) / sizeof(column_names[0]); i++)
		if (strcmp(name, column_names[i]) == 0)
			return 1u << i;
	return 0;
}

void review_row_free(struct review_row *r)
{
	free(r->proto);
	free(r->client);
	free(r->local);
	free(r->remote);
	free(r->text);
	free(r->sensor);
	free(r->kind);
	free(r->action);
	free(r->rule);
	free(r->categories);
	free(r->delivered_text);
	free(r->session);
	memset(r, 0, sizeof(*r));
}

static bool dup_field(char **dst, const char *src)
{
	if (!src) {
		*dst = NULL;
		return true;
	}
	*dst = strdup(src);
	return *dst != NULL;
}

bool review_row_copy(struct review_row *d, const struct review_row *s)
{
	*d = *s;
	if (dup_field(&d->proto, s->proto) && dup_field(&d->client, s->client) &&
	    dup_field(&d->local, s->local) && dup_field(&d->remote, s->remote) &&
	    dup_field(&d->text, s->text) && dup_field(&d->sensor, s->sensor) &&
	    dup_field(&d->kind, s->kind) && dup_field(&d->action, s->action) &&
	    dup_field(&d->rule, s->rule) && dup_field(&d->categories, s->categories) &&
	    dup_field(&d->delivered_text, s->delivered_text) && dup_field(&d->session, s->session))
		return true;
	/* Fields not reached yet still point into s: clear before freeing. */
	{
		char **f[] = { &d->proto, &d->client, &d->local, &d->remote, &d->text, &d->sensor,
			       &d->kind, &d->action, &d->rule, &d->categories, &d->delivered_text,
			       &d->session };
		char *const *o[] = { &s->proto, &s->client, &s->local, &s->remote, &s->text,
				     &s->sensor, &s->kind, &s->action, &s->rule, &s->categories,
				     &s->delivered_text, &s->session };
		size_t i;

		for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (*f[i] == *o[i])
				*f[i] = NULL;
	}
	review_row_free(d);
	return false;
}

static const char *const type_names[] = { "other", "message", "file", "typing", "webcam" };

const char *review_row_kind(const struct review_row *r)
{
	if (r->kind && *r->kind)
		return r->kind;
	if (r->type >= 0 && r->type <= 4)
		return type_names[r->type];
	return "other";
}

bool review_proto_names(const char *user, const char **imw, const char **imsp)
{
	int i;

	for (i = 1; i < IMW_PROTO_MAX; i++) {
		const char *a = event_proto_name((enum imw_proto)i),
			   *b = event_proto_imspector_name((enum imw_proto)i);

		if (strcasecmp(user, a) == 0 || strcasecmp(user, b) == 0) {
			*imw = a;
			*imsp = b;
			return true;
		}
	}
	i = event_proto_from_name(user);
	if (i == IMW_PROTO_NONE)
		return false;
	*imw = event_proto_name((enum imw_proto)i);
	*imsp = event_proto_imspector_name((enum imw_proto)i);
	return true;
}

const char *review_proto_display(const char *stored)
{
	const char *imw, *imsp;

	if (stored && review_proto_names(stored, &imw, &imsp))
		return imw;
	return stored ? stored : "";
}

int review_kind_type(const char *kind)
{
	int i;

	for (i = 0; i < IM_KIND_COUNT; i++)
		if (strcmp(kind, event_kind_name((enum im_kind)i)) == 0)
			return (int)event_imspector_type((enum im_kind)i);
	return strcmp(kind, "other") == 0 ? 0 : -1;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

bool review_row_is_group(const struct review_row *r)
{
	const char *proto = review_proto_display(r->proto), *at;
	const char *remote = r->remote ? r->remote : "";

	if (r->group >= 0)
		return r->group != 0;
	if (strcmp(proto, "irc") == 0)
		return remote[0] == '#' || remote[0] == '&' || remote[0] == '+' || remote[0] == '!';
	if (strcmp(proto, "msn") == 0)
		return has_prefix(remote, "groupchat-");
	if (strcmp(proto, "xmpp") == 0 && (at = strchr(remote, '@')))
		return has_prefix(at + 1, "conference.") || has_prefix(at + 1, "muc.") ||
		       has_prefix(at + 1, "chat.") || has_prefix(at + 1, "rooms.");
	return false;
}

bool review_row_is_hit(const struct review_row *r)
{
	if (r->filtered)
		return true;
	if (r->action && *r->action && strcmp(r->action, "forwarded") != 0)
		return true;
	return r->categories && *r->categories;
}

void review_query_init(struct review_query *q)
{
	memset(q, 0, sizeof(*q));
	q->dir = REVIEW_DIR_ANY;
}

static bool parse_digits(const char *s, size_t n, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool review_parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	size_t n = strlen(s);
	int y, mo, d, h = 0, mi = 0, sec = 0;
	char *end;
	long long v;

	if (n > 0 && s[n - 1] == 'Z')
		n--;
	if (n > 0 && n <= 12 && strspn(s, "0123456789") == n) {
		v = strtoll(s, &end, 10);
		*out = v;
		return true;
	}
	if (n < 10 || s[4] != '-' || s[7] != '-' || !parse_digits(s, 4, &y) ||
	    !parse_digits(s + 5, 2, &mo) || !parse_digits(s + 8, 2, &d))
		return false;
	if (n > 10) {
		if ((s[10] != 'T' && s[10] != ' ') || n < 16 || s[13] != ':' ||
		    !parse_digits(s + 11, 2, &h) || !parse_digits(s + 14, 2, &mi))
			return false;
		if (n > 16 && (n != 19 || s[16] != ':' || !parse_digits(s + 17, 2, &sec)))
			return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm);
	return true;
}

void review_format_time(int64_t ts, char *buf, size_t size)
{
	time_t t = (time_t)ts;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)ts);
}

static bool word_char(unsigned char c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '_';
}

static bool contains_word(const char *text, const char *w, size_t wn)
{
	const char *p;
	size_t tn = strlen(text), i;

	if (wn == 0)
		return true;
	for (p = text; (size_t)(p - text) + wn <= tn; p++) {
		if (p > text && word_char((unsigned char)p[-1]))
			continue;
		if (strncasecmp(p, w, wn) != 0)
			continue;
		i = (size_t)(p - text) + wn;
		if (i < tn && word_char((unsigned char)text[i]))
			continue;
		return true;
	}
	return false;
}

const char *review_next_word(const char **p, size_t *len)
{
	const char *s = *p, *start;

	while (*s && !word_char((unsigned char)*s))
		s++;
	if (!*s) {
		*p = s;
		return NULL;
	}
	start = s;
	while (*s && word_char((unsigned char)*s))
		s++;
	*len = (size_t)(s - start);
	*p = s;
	return start;
}

bool review_text_matches(const char *text, const char *words)
{
	const char *p = words, *w;
	size_t n;

	if (!text)
		text = "";
	while ((w = review_next_word(&p, &n)))
		if (!contains_word(text, w, n))
			return false;
	return true;
}

/* An id equals the wanted one, or is it with a "/resource" after it. */
static bool id_matches(const char *have, const char *want)
{
	size_t n = strlen(want);

	if (!have)
		return false;
	return strncmp(have, want, n) == 0 && (have[n] == '\0' || have[n] == '/');
}

bool review_row_matches(const struct review_row *r, const struct review_query *q)
{
	const char *imw, *imsp;
	int t;

	if (q->after_id && r->id <= q->after_id)
		return false;
	if (q->local && !id_matches(r->local, q->local))
		return false;
	if (q->remote && !id_matches(r->remote, q->remote))
		return false;
	if (q->proto) {
		if (!review_proto_names(q->proto, &imw, &imsp))
			return false;
		if (!r->proto || (strcmp(r->proto, imw) != 0 && strcmp(r->proto, imsp) != 0))
			return false;
	}
	if (q->kind) {
		if (r->kind) {
			if (strcmp(r->kind, q->kind) != 0)
				return false;
		} else if ((t = review_kind_type(q->kind)) < 0 || r->type != t) {
			return false;
		}
	}
	if (q->threads_only && r->type != 1 && r->type != 2 && r->type != 4)
		return false;
	if (q->dir != REVIEW_DIR_ANY && r->outgoing != q->dir)
		return false;
	if (q->since && r->ts < q->since)
		return false;
	if (q->until && r->ts >= q->until)
		return false;
	if (q->action && (!r->action || strcmp(r->action, q->action) != 0))
		return false;
	if (q->rule && (!r->rule || !strstr(r->rule, q->rule)))
		return false;
	if (q->category && (!r->categories || !strstr(r->categories, q->category)))
		return false;
	if (q->hits_only && !review_row_is_hit(r))
		return false;
	return !q->text || review_text_matches(r->text, q->text);
}

const char *review_query_unsupported(const struct review_query *q, unsigned cols)
{
	const char *imw, *imsp;

	if (q->action && !(cols & REVIEW_COL_ACTION))
		return "this archive has no `action` column";
	if (q->rule && !(cols & REVIEW_COL_RULE))
		return "this archive has no `rule` column";
	if (q->category && !(cols & REVIEW_COL_CATEGORIES))
		return "this archive has no `categories` column";
	if (q->proto && !review_proto_names(q->proto, &imw, &imsp))
		return "unknown protocol (irc, imip, oscar, toc, msn, ymsg, xmpp, gg)";
	if (q->kind && review_kind_type(q->kind) < 0)
		return "unknown kind (message, file, typing, webcam, presence, login, ...)";
	return NULL;
}
