/* The web console's pages. Everything from the archive, the request or
 * the users file goes through html_escape; pages carry no inline script
 * or style (the CSP forbids both) and every form carries the session's
 * CSRF token. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "review/export.h"
#include "review/html.h"
#include "review/thread.h"
#include "review/web_internal.h"

#define LIST_MAX 200
#define CHART_DAYS 30
#define CONTROL_REPLY_MAX 65536

static const char *const palette[] = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
				       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };

static bool put(struct bytebuf *b, const char *s)
{
	return bytebuf_append_str(b, s);
}

static bool esc(struct bytebuf *b, const char *s)
{
	return html_escape(b, s);
}

bool page_begin(struct web_request *rq, struct bytebuf *b, const char *title)
{
	return put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>") &&
	       esc(b, title) &&
	       put(b, " - imwire review</title><link rel=\"stylesheet\" href=\"/static/style.css\"><link rel=\"icon\" href=\"/static/icon.svg\">"
		      "</head><body><nav><a href=\"/\">Overview</a><a href=\"/conversations\">"
		      "Conversations</a><a href=\"/search\">Search</a><a href=\"/tail\">Live tail</a>") &&
	       (rq->session.role != ROLE_ADMIN || put(b, "<a href=\"/admin\">Admin</a>")) &&
	       put(b, "<span id=\"who\">") && esc(b, rq->session.user) && put(b, " (") &&
	       esc(b, user_role_name(rq->session.role)) &&
	       put(b, ")</span><form method=\"post\" action=\"/logout\"><input type=\"hidden\" "
		      "name=\"csrf\" value=\"") &&
	       esc(b, rq->session.csrf) &&
	       put(b, "\"><button type=\"submit\">Sign out</button></form></nav><main><h1>") &&
	       esc(b, title) && put(b, "</h1>\n");
}

bool page_end(struct bytebuf *b)
{
	return put(b, "</main></body></html>\n");
}

bool page_error(struct web_reply *rp, int status, const char *msg)
{
	char s[16];

	rp->status = status;
	rp->type = "text/html; charset=utf-8";
	snprintf(s, sizeof(s), "%d", status);
	return put(&rp->body, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			      "<title>") &&
	       put(&rp->body, s) &&
	       put(&rp->body, "</title><link rel=\"stylesheet\" href=\"/static/style.css\"><link rel=\"icon\" href=\"/static/icon.svg\"></head>"
			      "<body><main><h1>") &&
	       put(&rp->body, s) && put(&rp->body, "</h1><p id=\"error\">") && esc(&rp->body, msg) &&
	       put(&rp->body, "</p><p><a href=\"/\">Back</a></p></main></body></html>\n");
}

bool page_login(struct web_request *rq, struct web_reply *rp, const char *csrf, const char *msg)
{
	struct bytebuf *b = &rp->body;

	(void)rq;
	rp->status = 200;
	return put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in"
		      " - imwire review</title><link rel=\"stylesheet\" href=\"/static/style.css\"><link rel=\"icon\" href=\"/static/icon.svg\">"
		      "</head><body><div class=\"login\"><h1>imwire review</h1>") &&
	       (!msg || (put(b, "<p id=\"error\" class=\"mark\">") && esc(b, msg) && put(b, "</p>"))) &&
	       put(b, "<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" "
		      "value=\"") &&
	       esc(b, csrf) &&
	       put(b, "\"><label>User<input name=\"user\" id=\"user\" autocomplete=\"username\">"
		      "</label><label>Password<input type=\"password\" name=\"password\" "
		      "id=\"password\" autocomplete=\"current-password\"></label>"
		      "<button type=\"submit\" id=\"signin\">Sign in</button></form></div>"
		      "</body></html>\n");
}

/* ---- filters ---- */

static const char *const filter_names[] = { "local", "remote", "proto", "kind", "dir", "since",
					    "until", "q" };

/* The query of a page's GET arguments; false with msg when one is bad. */
static bool query_from_args(struct web_request *rq, struct review_query *q, const char **msg)
{
	const char *v;

	review_query_init(q);
	q->local = web_arg(rq, "local");
	q->remote = web_arg(rq, "remote");
	q->proto = web_arg(rq, "proto");
	q->kind = web_arg(rq, "kind");
	q->text = web_arg(rq, "q");
	q->hits_only = web_arg(rq, "hits") != NULL;
	if ((v = web_arg(rq, "dir"))) {
		if (strcmp(v, "in") != 0 && strcmp(v, "out") != 0) {
			*msg = "dir is in or out";
			return false;
		}
		q->dir = strcmp(v, "out") == 0;
	}
	if ((v = web_arg(rq, "since")) && !review_parse_time(v, &q->since)) {
		*msg = "since: not a time (YYYY-MM-DD[THH:MM[:SS]] or Unix seconds)";
		return false;
	}
	if ((v = web_arg(rq, "until")) && !review_parse_time(v, &q->until)) {
		*msg = "until: not a time (YYYY-MM-DD[THH:MM[:SS]] or Unix seconds)";
		return false;
	}
	return true;
}

static bool hidden(struct bytebuf *b, const char *name, const char *value)
{
	return put(b, "<input type=\"hidden\" name=\"") && esc(b, name) && put(b, "\" value=\"") &&
	       esc(b, value) && put(b, "\">");
}

static bool filter_form(struct web_request *rq, struct bytebuf *b, const char *action)
{
	size_t i;
	bool ok = put(b, "<form class=\"filters\" method=\"get\" action=\"") && esc(b, action) &&
		  put(b, "\" id=\"filters\">") && hidden(b, "csrf", rq->session.csrf);

	for (i = 0; ok && i < sizeof(filter_names) / sizeof(filter_names[0]); i++) {
		const char *v = web_arg(rq, filter_names[i]);

		ok = put(b, "<label> ") && esc(b, strcmp(filter_names[i], "q") == 0 ? "words"
										 : filter_names[i]) &&
		     put(b, " <input name=\"") && esc(b, filter_names[i]) && put(b, "\" id=\"f-") &&
		     esc(b, filter_names[i]) && put(b, "\" value=\"") && esc(b, v ? v : "") &&
		     put(b, "\"></label>");
	}
	return ok && put(b, "<label> hits only <input type=\"checkbox\" name=\"hits\" value=\"1\"") &&
	       (!web_arg(rq, "hits") || put(b, " checked")) &&
	       put(b, "></label> <button type=\"submit\" id=\"go\">Go</button></form>\n");
}

static bool export_form(struct web_request *rq, struct bytebuf *b, int64_t conversation)
{
	size_t i;
	char id[24];
	bool ok = put(b, "<form method=\"get\" action=\"/export\" id=\"export\">") &&
		  hidden(b, "csrf", rq->session.csrf);

	if (conversation) {
		snprintf(id, sizeof(id), "%lld", (long long)conversation);
		ok = ok && hidden(b, "conversation", id);
	}
	for (i = 0; ok && !conversation && i < sizeof(filter_names) / sizeof(filter_names[0]); i++) {
		const char *v = web_arg(rq, filter_names[i]);

		if (v)
			ok = hidden(b, filter_names[i], v);
	}
	if (ok && !conversation && web_arg(rq, "hits"))
		ok = hidden(b, "hits", "1");
	return ok && put(b, "Export <select name=\"format\" id=\"export-format\">"
			    "<option value=\"html\">HTML report</option><option value=\"mbox\">mbox"
			    "</option><option value=\"csv\">CSV</option><option value=\"jsonl\">"
			    "JSON lines</option></select> <button type=\"submit\" id=\"export-go\">"
			    "Download</button></form>\n");
}

static bool open_archive(struct web_request *rq, struct web_reply *rp, struct archive *a)
{
	if (archive_open(a, rq->srv->opt->archive) == 0)
		return true;
	snprintf(rq->what, sizeof(rq->what), "archive unavailable: %s", a->err);
	page_error(rp, 503, "the archive is not available");
	return false;
}

static bool fail_archive(struct web_request *rq, struct web_reply *rp, struct archive *a)
{
	snprintf(rq->what, sizeof(rq->what), "archive error: %s", a->err);
	bytebuf_clear(&rp->body);
	return page_error(rp, 500, a->err);
}

/* ---- overview ---- */

struct chart {
	int64_t day[512];
	char proto[512][16];
	int64_t events[512], hits[512];
	size_t n;
};

static int chart_add(int64_t day, const char *proto, int64_t events, int64_t hits, void *arg)
{
	struct chart *c = arg;

	if (c->n == sizeof(c->day) / sizeof(c->day[0])) {
		/* Keep the latest days: drop the oldest cell. */
		memmove(c->day, c->day + 1, (c->n - 1) * sizeof(c->day[0]));
		memmove(c->proto, c->proto + 1, (c->n - 1) * sizeof(c->proto[0]));
		memmove(c->events, c->events + 1, (c->n - 1) * sizeof(c->events[0]));
		memmove(c->hits, c->hits + 1, (c->n - 1) * sizeof(c->hits[0]));
		c->n--;
	}
	c->day[c->n] = day;
	snprintf(c->proto[c->n], sizeof(c->proto[0]), "%s", review_proto_display(proto));
	c->events[c->n] = events;
	c->hits[c->n] = hits;
	c->n++;
	return 0;
}

/* Stacked bars of events per day and protocol over the last CHART_DAYS
 * days that have events, drawn here as SVG (no script, no library). */
static bool chart_svg(struct bytebuf *b, const struct chart *c)
{
	const char *protos[10];
	size_t np = 0, i, k;
	int64_t last = 0, first, max = 1, day_total[CHART_DAYS] = { 0 };
	const int w = 720, h = 220, left = 50, bottom = 30;
	double bw;
	bool ok = true;
	char t[32];

	if (c->n == 0)
		return put(b, "<p class=\"note\" id=\"chart-empty\">No events in the archive yet.</p>");
	for (i = 0; i < c->n; i++)
		if (c->day[i] > last)
			last = c->day[i];
	first = last - CHART_DAYS + 1;
	for (i = 0; i < c->n; i++) {
		if (c->day[i] < first)
			continue;
		day_total[c->day[i] - first] += c->events[i];
		for (k = 0; k < np && strcmp(protos[k], c->proto[i]) != 0; k++)
			;
		if (k == np && np < 10)
			protos[np++] = c->proto[i];
	}
	for (i = 0; i < CHART_DAYS; i++)
		if (day_total[i] > max)
			max = day_total[i];
	bw = (double)(w - left - 10) / CHART_DAYS;
	ok = bytebuf_printf(b,
			    "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
			    "height=\"%d\" role=\"img\" aria-label=\"events per day and protocol\">"
			    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>"
			    "<text x=\"4\" y=\"14\">%lld</text><text x=\"4\" y=\"%d\">0</text>",
			    w, h + 40, left, h - bottom, w - 10, h - bottom, (long long)max,
			    h - bottom);
	for (i = 0; ok && i < CHART_DAYS; i++) {
		double y = h - bottom;
		size_t p;

		for (p = 0; ok && p < np; p++) {
			for (k = 0; k < c->n; k++) {
				double bh;

				if (c->day[k] != first + (int64_t)i || strcmp(c->proto[k], protos[p]) != 0)
					continue;
				bh = (double)c->events[k] * (h - bottom - 20) / (double)max;
				y -= bh;
				review_format_time((c->day[k]) * 86400, t, sizeof(t));
				ok = bytebuf_printf(b,
						    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
						    " fill=\"%s\"><title>",
						    left + i * bw + 1, y, bw - 2, bh, palette[p]) &&
				     bytebuf_printf(b, "%.10s ", t) && esc(b, protos[p]) &&
				     bytebuf_printf(b, ": %lld events, %lld hits</title></rect>",
						    (long long)c->events[k], (long long)c->hits[k]);
			}
		}
		if (ok && i % 5 == 0) {
			review_format_time((first + (int64_t)i) * 86400, t, sizeof(t));
			ok = bytebuf_printf(b, "<text x=\"%.1f\" y=\"%d\">%.10s</text>", left + i * bw,
					    h - bottom + 14, t);
		}
	}
	for (k = 0; ok && k < np; k++)
		ok = bytebuf_printf(b, "<rect x=\"%zu\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
				       "<text x=\"%zu\" y=\"%d\">",
				    left + k * 90, h + 12, palette[k], left + k * 90 + 14, h + 21) &&
		     esc(b, protos[k]) && put(b, "</text>");
	return ok && put(b, "</svg>\n");
}

struct hits_page {
	struct bytebuf *b;
	bool ok;
	size_t n;
};

static int hit_row(const char *label, int64_t n, void *arg)
{
	struct hits_page *h = arg;

	h->ok = h->ok && put(h->b, "<tr><td>") && esc(h->b, label) &&
		bytebuf_printf(h->b, "</td><td>%lld</td></tr>", (long long)n);
	h->n++;
	return h->ok ? 0 : -1;
}

/* What imwired's control socket says about live sessions (one request,
 * "sessions\n", one reply read for at most a second). */
static bool live_sessions(struct web_request *rq, struct bytebuf *b)
{
	const char *path = rq->srv->opt->control_socket ? rq->srv->opt->control_socket
							: WEB_DEFAULT_CONTROL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	struct bytebuf reply;
	char buf[4096];
	int fd;
	bool ok;

	if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return put(b, "<p class=\"note\" id=\"sessions\">Live sessions are not shown: imwired's "
			      "control socket ") &&
		       esc(b, path) && put(b, " is not there (imwired not running here, or too old).</p>");
	if (strlen(path) >= sizeof(sa.sun_path))
		return put(b, "<p class=\"note\" id=\"sessions\">control socket path too long</p>");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	bytebuf_init(&reply);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, "sessions\n", 9) == 9) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		shutdown(fd, SHUT_WR);
		while (reply.len < CONTROL_REPLY_MAX && poll(&p, 1, 1000) > 0 &&
		       (n = read(fd, buf, sizeof(buf))) > 0)
			if (!bytebuf_append(&reply, buf, (size_t)n))
				break;
	}
	if (fd >= 0)
		close(fd);
	ok = put(b, "<h2>Live sessions</h2><pre id=\"sessions\">") &&
	     bytebuf_terminate(&reply) && esc(b, reply.len ? (const char *)reply.data : "(no answer)") &&
	     put(b, "</pre>");
	bytebuf_free(&reply);
	return ok;
}

bool page_overview(struct web_request *rq, struct web_reply *rp)
{
	struct bytebuf *b = &rp->body;
	struct archive a;
	struct chart *c = calloc(1, sizeof(*c));
	struct hits_page h = { b, true, 0 };
	int64_t total = 0, hits = 0;
	size_t i;
	bool ok;

	if (!c)
		return false;
	if (!open_archive(rq, rp, &a)) {
		free(c);
		return true;
	}
	if (archive_daily(&a, 0, chart_add, c) < 0) {
		free(c);
		ok = fail_archive(rq, rp, &a);
		archive_close(&a);
		return ok;
	}
	for (i = 0; i < c->n; i++) {
		total += c->events[i];
		hits += c->hits[i];
	}
	snprintf(rq->what, sizeof(rq->what), "view overview");
	ok = page_begin(rq, b, "Overview") &&
	     bytebuf_printf(b, "<p id=\"totals\">%lld events, %lld policy hits.</p>", (long long)total,
			    (long long)hits) &&
	     put(b, "<h2>Events per day and protocol</h2>") && chart_svg(b, c) &&
	     put(b, "<h2>Policy hits</h2><table id=\"hits\"><tr><th>") &&
	     put(b, (a.cols & REVIEW_COL_RULE) ? "rule" : (a.cols & REVIEW_COL_ACTION) ? "action" : "protocol") &&
	     put(b, "</th><th>events</th></tr>");
	if (ok && archive_hit_counts(&a, 0, hit_row, &h) < 0)
		ok = fail_archive(rq, rp, &a);
	else
		ok = ok && h.ok && put(b, "</table>") &&
		     (h.n || put(b, "<p class=\"note\">No policy hits.</p>")) && live_sessions(rq, b) &&
		     page_end(b);
	free(c);
	archive_close(&a);
	return ok;
}

/* ---- conversations, threads ---- */

static bool conversation_row(struct bytebuf *b, const struct conversation *c)
{
	char t1[32], t2[32];
	size_t i;
	bool ok;

	review_format_time(c->start, t1, sizeof(t1));
	review_format_time(c->end, t2, sizeof(t2));
	ok = bytebuf_printf(b, "<tr%s><td><a class=\"conv\" href=\"/thread?id=%lld\">%lld</a></td><td>",
			    c->n_hits ? " class=\"hit\"" : "", (long long)c->id, (long long)c->id) &&
	     esc(b, c->proto) && put(b, "</td><td>") &&
	     (c->group ? put(b, "room ") && esc(b, c->remote)
		       : esc(b, *c->local ? c->local : "(unknown)") && put(b, " / ") &&
				 esc(b, c->remote)) &&
	     bytebuf_printf(b, "</td><td>%s</td><td>%s</td><td>", t1, t2);
	for (i = 0; ok && i < c->n_participants; i++)
		ok = (i == 0 || put(b, ", ")) && esc(b, c->participants[i]);
	return ok && bytebuf_printf(b, "</td><td>%zu</td><td>%zu</td></tr>\n", c->n_rows, c->n_hits);
}

/* The conversations of a query (those with a matching event when it has
 * words); rows and set owned by the caller. */
static int conversations_of(struct archive *a, const struct review_query *q0, int64_t gap,
			    struct row_list *rows, struct conversation_set *set)
{
	struct review_query q = *q0;
	size_t i, k, keep;

	q.text = NULL;
	q.threads_only = true;
	q.by_time = true;
	if (archive_collect(a, &q, rows) < 0)
		return -1;
	if (thread_build(rows, gap, set) < 0) {
		archive_set_error(a, "threads", "out of memory");
		return -1;
	}
	if (!q0->text)
		return 0;
	for (i = 0, keep = 0; i < set->n; i++) {
		bool hit = false;

		for (k = 0; !hit && k < set->conv[i].n_rows; k++)
			hit = review_text_matches(rows->rows[set->conv[i].rows[k]].text, q0->text);
		if (hit)
			set->conv[keep++] = set->conv[i];
		else
			conversation_free(&set->conv[i]);
	}
	set->n = keep;
	return 0;
}

bool page_conversations(struct web_request *rq, struct web_reply *rp)
{
	struct bytebuf *b = &rp->body;
	struct review_query q;
	struct row_list rows = { 0 };
	struct conversation_set set = { 0 };
	struct archive a;
	const char *msg = NULL;
	size_t i, from;
	bool ok;

	if (!query_from_args(rq, &q, &msg))
		return page_error(rp, 400, msg);
	if (!open_archive(rq, rp, &a))
		return true;
	if (conversations_of(&a, &q, rq->srv->opt->gap, &rows, &set) < 0) {
		ok = fail_archive(rq, rp, &a);
		goto out;
	}
	from = set.n > LIST_MAX ? set.n - LIST_MAX : 0;
	snprintf(rq->what, sizeof(rq->what), "view conversations (%zu)", set.n);
	ok = page_begin(rq, b, "Conversations") && filter_form(rq, b, "/conversations") &&
	     bytebuf_printf(b, "<p id=\"count\">%zu conversations%s.</p>", set.n,
			    from ? " (the most recent 200 shown)" : "") &&
	     export_form(rq, b, 0) &&
	     put(b, "<table id=\"conversations\"><tr><th>id</th><th>protocol</th><th>between</th>"
		    "<th>start</th><th>end</th><th>participants</th><th>events</th><th>hits</th>"
		    "</tr>\n");
	for (i = set.n; ok && i > from; i--)
		ok = conversation_row(b, &set.conv[i - 1]);
	ok = ok && put(b, "</table>") && page_end(b);
out:
	conversation_set_free(&set);
	row_list_free(&rows);
	archive_close(&a);
	return ok;
}

static bool marks_html(struct bytebuf *b, const struct review_row *r)
{
	bool ok = true;

	if (r->filtered)
		ok = put(b, " <span class=\"mark\">[BLOCKED]</span>");
	if (ok && r->action && *r->action && strcmp(r->action, "forwarded") != 0)
		ok = put(b, " <span class=\"mark\">[") && esc(b, r->action) && put(b, "]</span>");
	if (ok && r->rule && *r->rule)
		ok = put(b, " <span class=\"mark\">[rule ") && esc(b, r->rule) && put(b, "]</span>");
	if (ok && r->categories && *r->categories)
		ok = put(b, " <span class=\"mark\">[") && esc(b, r->categories) && put(b, "]</span>");
	return ok;
}

static bool event_row(struct bytebuf *b, const struct review_row *r, bool with_link)
{
	char t[32];
	bool ok;

	review_format_time(r->ts, t, sizeof(t));
	ok = bytebuf_printf(b, "<tr%s id=\"e%lld\"><td>", review_row_is_hit(r) ? " class=\"hit\"" : "",
			    (long long)r->id);
	if (with_link)
		ok = ok && bytebuf_printf(b, "<a href=\"/thread?id=%lld\">%lld</a>", (long long)r->id,
					  (long long)r->id);
	else
		ok = ok && bytebuf_printf(b, "%lld", (long long)r->id);
	ok = ok && bytebuf_printf(b, "</td><td>%s</td><td>", t) &&
	     esc(b, review_proto_display(r->proto)) && put(b, "</td><td>") &&
	     esc(b, r->outgoing ? r->local : r->remote) && put(b, "</td><td>") &&
	     esc(b, r->outgoing ? r->remote : r->local) && put(b, "</td><td>") &&
	     esc(b, review_row_kind(r)) && marks_html(b, r) && put(b, "</td><td class=\"t\">") &&
	     esc(b, r->text);
	if (ok && r->delivered_text && *r->delivered_text && strcmp(r->delivered_text, r->text) != 0)
		ok = put(b, "<br><span class=\"note\">delivered as: </span>") &&
		     esc(b, r->delivered_text);
	return ok && put(b, "</td></tr>\n");
}

static const char event_head[] = "<tr><th>id</th><th>time</th><th>protocol</th><th>from</th>"
				 "<th>to</th><th>kind</th><th>text</th></tr>\n";

bool page_thread(struct web_request *rq, struct web_reply *rp)
{
	struct bytebuf *b = &rp->body;
	const char *v = web_arg(rq, "id");
	struct row_list rows;
	struct conversation c;
	struct archive a;
	char *end = NULL, title[64];
	int64_t id = v ? strtoll(v, &end, 10) : 0;
	size_t i;
	bool ok;
	int rc;

	if (!v || *end || id <= 0)
		return page_error(rp, 400, "id: a conversation id is needed");
	if (!open_archive(rq, rp, &a))
		return true;
	rc = thread_load(&a, id, rq->srv->opt->gap, &rows, &c);
	if (rc != 0) {
		ok = rc > 0 ? page_error(rp, 404, "no conversation starts with this event")
			    : fail_archive(rq, rp, &a);
		archive_close(&a);
		return ok;
	}
	snprintf(rq->what, sizeof(rq->what), "view conversation %lld (%zu events)", (long long)id,
		 c.n_rows);
	snprintf(title, sizeof(title), "Conversation %lld", (long long)id);
	ok = page_begin(rq, b, title) && put(b, "<p id=\"between\">") && esc(b, c.proto) &&
	     put(b, ": ") &&
	     (c.group ? put(b, "room ") && esc(b, c.remote)
		      : esc(b, *c.local ? c.local : "(unknown)") && put(b, " / ") && esc(b, c.remote)) &&
	     bytebuf_printf(b, ", %zu events, %zu policy hits. Participants: ", c.n_rows, c.n_hits);
	for (i = 0; ok && i < c.n_participants; i++)
		ok = (i == 0 || put(b, ", ")) && esc(b, c.participants[i]);
	ok = ok && put(b, "</p>") && export_form(rq, b, id) &&
	     put(b, "<table id=\"thread\">") && put(b, event_head);
	for (i = 0; ok && i < c.n_rows; i++)
		ok = event_row(b, &rows.rows[c.rows[i]], false);
	ok = ok && put(b, "</table>") && page_end(b);
	conversation_free(&c);
	row_list_free(&rows);
	archive_close(&a);
	return ok;
}

struct search_page {
	struct bytebuf *b;
	size_t n;
	bool ok;
};

static int search_row(const struct review_row *r, void *arg)
{
	struct search_page *s = arg;

	s->ok = s->ok && event_row(s->b, r, true);
	s->n++;
	return s->ok ? 0 : -1;
}

bool page_search(struct web_request *rq, struct web_reply *rp)
{
	struct bytebuf *b = &rp->body;
	struct review_query q;
	struct search_page s = { b, 0, true };
	struct archive a;
	const char *msg = NULL;
	bool ok, any;

	if (!query_from_args(rq, &q, &msg))
		return page_error(rp, 400, msg);
	any = q.local || q.remote || q.proto || q.kind || q.text || q.since || q.until ||
	      q.hits_only || q.dir != REVIEW_DIR_ANY;
	ok = page_begin(rq, b, "Search") && filter_form(rq, b, "/search");
	if (!ok || !any) {
		snprintf(rq->what, sizeof(rq->what), "view search form");
		return ok && put(b, "<p class=\"note\">Words match whole words, all of them; "
				    "the filters narrow further.</p>") &&
		       page_end(b);
	}
	if (!open_archive(rq, rp, &a))
		return true;
	q.limit = LIST_MAX;
	q.newest_first = true;
	ok = export_form(rq, b, 0) && put(b, "<table id=\"results\">") && put(b, event_head);
	if (ok && archive_scan(&a, &q, search_row, &s) < 0) {
		ok = fail_archive(rq, rp, &a);
	} else {
		snprintf(rq->what, sizeof(rq->what), "search (%zu results)", s.n);
		ok = ok && s.ok &&
		     bytebuf_printf(b, "</table><p id=\"count\">%zu results%s (newest first).</p>", s.n,
				    s.n == LIST_MAX ? ", the first 200" : "") &&
		     page_end(b);
	}
	archive_close(&a);
	return ok;
}

/* Conversation id into rows and set; false when the page is answered
 * already (404, the archive's failure, out of memory), *ok its result. */
static bool select_conversation(struct web_request *rq, struct web_reply *rp, struct archive *a,
				int64_t id, struct row_list *rows, struct conversation_set *set,
				bool *ok)
{
	struct conversation c;
	int rc = thread_load(a, id, rq->srv->opt->gap, rows, &c);

	if (rc != 0) {
		*ok = rc > 0 ? page_error(rp, 404, "no such conversation") : fail_archive(rq, rp, a);
		return false;
	}
	set->conv = malloc(sizeof(*set->conv));
	if (!set->conv) {
		conversation_free(&c);
		*ok = false;
		return false;
	}
	set->conv[0] = c;
	set->n = 1;
	return true;
}

/* What the export holds: one conversation, the conversations of the
 * query (formats that are read by conversation), or its events in time
 * order. False when the page is answered already, *ok its result. */
static bool select_export(struct web_request *rq, struct web_reply *rp, struct archive *a,
			 struct review_query *q, enum export_format f, const char *conv,
			 int64_t id, struct row_list *rows, struct conversation_set *set, bool *ok)
{
	if (conv)
		return select_conversation(rq, rp, a, id, rows, set, ok);
	if (export_by_conversation(f)) {
		if (conversations_of(a, q, rq->srv->opt->gap, rows, set) < 0) {
			*ok = fail_archive(rq, rp, a);
			return false;
		}
		return true;
	}
	q->by_time = true;
	if (archive_collect(a, q, rows) < 0) {
		*ok = fail_archive(rq, rp, a);
		return false;
	}
	return true;
}

/* The export file itself, in the reply's body; false out of memory. */
static bool render_export(struct web_reply *rp, enum export_format f, unsigned cols,
			  const struct row_list *rows, const struct conversation_set *set)
{
	bool ok = true;
	size_t i;

	rp->status = 200;
	switch (f) {
	case EXPORT_CSV:
		rp->type = "text/csv; charset=utf-8";
		ok = export_csv_header(&rp->body, cols);
		for (i = 0; ok && i < rows->n; i++)
			ok = export_csv_row(&rp->body, &rows->rows[i], cols);
		return ok;
	case EXPORT_JSONL:
		rp->type = "application/x-ndjson; charset=utf-8";
		for (i = 0; ok && i < rows->n; i++)
			ok = export_json_row(&rp->body, &rows->rows[i]);
		return ok;
	case EXPORT_MBOX:
		rp->type = "application/mbox";
		for (i = 0; ok && i < set->n; i++)
			ok = export_mbox_entry(&rp->body, &set->conv[i], rows);
		return ok;
	default:
		rp->type = "text/html; charset=utf-8";
		return export_html_report(&rp->body, "imwire review export", set, rows);
	}
}

/* The download's name (from its SHA-256) and the audit log's words:
 * how many events, conversations and bytes, and the hash. */
static void describe_export(struct web_request *rq, struct web_reply *rp, enum export_format f,
			    const char *fmt, bool by_conversation, const struct row_list *rows,
			    const struct conversation_set *set)
{
	char hex[65];
	size_t i, n = 0;

	export_sha256_hex(rp->body.data ? rp->body.data : (const uint8_t *)"", rp->body.len, hex);
	snprintf(rp->disposition, sizeof(rp->disposition),
		 "attachment; filename=\"imwire-export-%s.%s\"", hex + 56,
		 f == EXPORT_HTML ? "html" : f == EXPORT_MBOX ? "mbox" : f == EXPORT_CSV ? "csv" : "jsonl");
	if (by_conversation)
		for (i = 0; i < set->n; i++)
			n += set->conv[i].n_rows;
	else
		n = rows->n;
	snprintf(rq->what, sizeof(rq->what),
		 "export %s: %zu events, %zu conversations, %zu bytes, sha256 %s", fmt, n, set->n,
		 rp->body.len, hex);
}

bool page_export(struct web_request *rq, struct web_reply *rp)
{
	struct review_query q;
	struct row_list rows = { 0 };
	struct conversation_set set = { 0 };
	struct archive a;
	enum export_format f;
	const char *msg = NULL, *fmt = web_arg(rq, "format"), *conv = web_arg(rq, "conversation");
	char *end = NULL;
	bool ok = true;
	int64_t id = conv ? strtoll(conv, &end, 10) : 0;

	if (!fmt || !export_format_parse(fmt, &f) || f == EXPORT_EML)
		return page_error(rp, 400, "format: html, mbox, csv or jsonl");
	if (conv && (*end || id <= 0))
		return page_error(rp, 400, "conversation: not an id");
	if (!query_from_args(rq, &q, &msg))
		return page_error(rp, 400, msg);
	if (!open_archive(rq, rp, &a))
		return true;
	if (select_export(rq, rp, &a, &q, f, conv, id, &rows, &set, &ok) &&
	    (ok = render_export(rp, f, a.cols, &rows, &set)))
		describe_export(rq, rp, f, fmt, export_by_conversation(f) || conv, &rows, &set);
	conversation_set_free(&set);
	row_list_free(&rows);
	archive_close(&a);
	return ok;
}

bool page_tail(struct web_request *rq, struct web_reply *rp)
{
	struct bytebuf *b = &rp->body;
	struct archive a;
	int64_t last;
	bool ok;

	if (!open_archive(rq, rp, &a))
		return true;
	last = archive_max_id(&a);
	archive_close(&a);
	if (last < 0)
		last = 0;
	snprintf(rq->what, sizeof(rq->what), "view live tail");
	ok = page_begin(rq, b, "Live tail") &&
	     put(b, "<p class=\"note\">New events appear at the top as the writer stores them.</p>") &&
	     bytebuf_printf(b, "<ul id=\"tail\" data-after=\"%lld\"></ul>", (long long)last) &&
	     put(b, "<script src=\"/static/tail.js\"></script>") && page_end(b);
	return ok;
}

struct users_page {
	struct bytebuf *b;
	bool ok;
};

static void user_row(const char *name, const char *role, void *arg)
{
	struct users_page *u = arg;

	u->ok = u->ok && put(u->b, "<tr><td>") && esc(u->b, name) && put(u->b, "</td><td>") &&
		esc(u->b, role) && put(u->b, "</td></tr>");
}

/* The last lines of the audit log, newest first. */
static bool audit_tail(struct web_request *rq, struct bytebuf *b)
{
	FILE *f = fopen(rq->srv->opt->audit_log, "r");
	char *lines[50] = { 0 }, *line = NULL;
	size_t cap = 0, n = 0, i;
	ssize_t len;
	bool ok = true;

	if (!f)
		return put(b, "<p class=\"note\">The audit log cannot be read: ") &&
		       esc(b, strerror(errno)) && put(b, "</p>");
	while ((len = getline(&line, &cap, f)) > 0) {
		free(lines[n % 50]);
		lines[n % 50] = strdup(line);
		n++;
	}
	free(line);
	fclose(f);
	ok = put(b, "<h2>Access audit (latest first)</h2><pre id=\"audit\">");
	for (i = 0; i < 50 && i < n; i++) {
		char *l = lines[(n - 1 - i) % 50];

		ok = ok && esc(b, l ? l : "");
	}
	for (i = 0; i < 50; i++)
		free(lines[i]);
	return ok && put(b, "</pre>");
}

bool page_admin(struct web_request *rq, struct web_reply *rp)
{
	struct bytebuf *b = &rp->body;
	struct users_page u = { b, true };
	char err[256];
	bool ok;

	snprintf(rq->what, sizeof(rq->what), "view admin");
	ok = page_begin(rq, b, "Admin") &&
	     put(b, "<h2>Users</h2><p class=\"note\">Managed with <code>imwire web-user</code> on the "
		    "server.</p><table id=\"users\"><tr><th>user</th><th>role</th></tr>");
	if (ok && users_each(rq->srv->opt->users_file, user_row, &u, err, sizeof(err)) < 0)
		ok = put(b, "<tr><td colspan=\"2\">") && esc(b, err) && put(b, "</td></tr>");
	return ok && u.ok && put(b, "</table>") && audit_tail(rq, b) && page_end(b);
}
