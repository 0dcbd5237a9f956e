/* Alerts to a webhook: one HTTP POST per alerting event, through libcurl
 * (sink_alert.h). The sink's thread is the only one to wait on the
 * receiver, with a time limit; a receiver that is away, slow or answers
 * anything but 2xx fails the batch, whose events then wait in the
 * write-ahead log and are posted again every retry_ms until it answers. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/sink_alert.h"
#include "util/bytebuf.h"

#define DEFAULT_TIMEOUT_S 10

struct pending {
	size_t off, len; /* of its JSON in body */
	uint64_t id;
};

struct webhook {
	CURL *curl;
	char *url;
	char *sensor;
	unsigned timeout_s;
	struct sink_alerts alerts;
	struct bytebuf body;     /* the batch's JSON objects, one after another */
	struct pending *pend;
	size_t n_pend, cap_pend;
	/* Posted and answered 2xx: the batch given again after a later
	 * event failed does not post these again (ids only grow). */
	uint64_t posted_through;
	bool posted_any;
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int wh_write(struct sink *s, const struct im_event *ev, uint64_t eventid)
{
	struct webhook *w = s->ctx;
	struct im_event copy;
	size_t before = w->body.len;

	if (!sink_alerts_match(&w->alerts, ev->categories))
		return 0;
	if (w->n_pend == w->cap_pend) {
		size_t cap = w->cap_pend ? w->cap_pend * 2 : 16;
		struct pending *p = realloc(w->pend, cap * sizeof(*p));

		if (!p)
			return sink_fail(s, ENOMEM, "webhook %s: an event", w->url);
		w->pend = p;
		w->cap_pend = cap;
	}
	copy = *ev;
	copy.eventid = eventid;
	copy.sensor = w->sensor;
	copy.chained = false; /* the chain is the stores' */
	if (!sink_format_json(&w->body, &copy)) {
		w->body.len = before;
		return sink_fail(s, ENOMEM, "webhook %s: formatting an event", w->url);
	}
	w->pend[w->n_pend].off = before;
	w->pend[w->n_pend].len = w->body.len - before;
	w->pend[w->n_pend].id = eventid;
	w->n_pend++;
	return 0;
}

/* One POST; 0 on a 2xx answer. */
static int post(struct sink *s, struct webhook *w, const struct pending *p)
{
	struct curl_slist *hdrs = NULL, *h;
	char key[160];
	long status = 0;
	CURLcode rc;

	snprintf(key, sizeof(key), "Idempotency-Key: %s/%" PRIu64, w->sensor, p->id);
	h = curl_slist_append(hdrs, "Content-Type: application/json");
	if (h)
		hdrs = h;
	h = h ? curl_slist_append(hdrs, key) : NULL;
	if (!h) {
		curl_slist_free_all(hdrs);
		return sink_fail(s, ENOMEM, "webhook %s: headers", w->url);
	}
	hdrs = h;
	w->errbuf[0] = '\0';
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, (const char *)w->body.data + p->off);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->len);
	rc = curl_easy_perform(w->curl);
	curl_slist_free_all(hdrs);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, NULL);
	if (rc != CURLE_OK) {
		snprintf(s->err, sizeof(s->err), "webhook %s: %s", w->url,
			 w->errbuf[0] ? w->errbuf : curl_easy_strerror(rc));
		s->err_no = 0;
		return -1;
	}
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(s->err, sizeof(s->err), "webhook %s: the receiver answered HTTP %ld", w->url,
			 status);
		s->err_no = 0;
		return -1;
	}
	return 0;
}

static int wh_flush(struct sink *s)
{
	struct webhook *w = s->ctx;
	size_t i;
	int rc = 0;

	for (i = 0; i < w->n_pend && rc == 0; i++) {
		if (w->posted_any && w->pend[i].id <= w->posted_through)
			continue; /* answered before: not twice */
		rc = post(s, w, &w->pend[i]);
		if (rc == 0) {
			w->posted_through = w->pend[i].id;
			w->posted_any = true;
		}
	}
	bytebuf_clear(&w->body);
	w->n_pend = 0;
	return rc;
}

/* Each alerting event ends its batch (sink_alert.h): the writer's cursor
 * moves past it as soon as it is answered. Events that do not alert go
 * on in bulk. Nothing to cut back: no files. */
static size_t wh_undo(struct sink *s, const struct im_event *const *evs, size_t n,
		      struct sink_undo *u)
{
	struct webhook *w = s->ctx;
	size_t i;

	(void)u;
	for (i = 0; i < n; i++)
		if (sink_alerts_match(&w->alerts, evs[i]->categories))
			return i + 1;
	return n;
}

static void wh_close(struct sink *s)
{
	struct webhook *w = s->ctx;

	if (w->curl)
		curl_easy_cleanup(w->curl);
	free(w->url);
	free(w->sensor);
	free(w->pend);
	bytebuf_free(&w->body);
	sink_alerts_free(&w->alerts);
	free(w);
}

static const struct sink_ops webhook_ops = {
	.name = "webhook",
	.write = wh_write,
	.flush = wh_flush,
	.close = wh_close,
	.undo = wh_undo,
};

int sink_webhook_open(struct sink *s, const char *url, const struct sink_alerts *a,
		      const char *sensor, unsigned timeout_s, char *err, size_t err_size)
{
	struct webhook *w;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		snprintf(err, err_size, "alert_webhook: \"%s\" is not an http:// or https:// URL", url);
		return -1;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, err_size, "alert_webhook: libcurl: %s", curl_easy_strerror(curl_init_rc));
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto oom;
	bytebuf_init(&w->body);
	w->timeout_s = timeout_s ? timeout_s : DEFAULT_TIMEOUT_S;
	w->url = strdup(url);
	w->sensor = strdup(sensor ? sensor : "");
	w->curl = curl_easy_init();
	memset(s, 0, sizeof(*s));
	s->id = malloc(strlen(url) + sizeof("webhook "));
	if (!w->url || !w->sensor || !w->curl || !s->id || !sink_alerts_copy(&w->alerts, a)) {
		free(s->id);
		s->id = NULL;
		s->ctx = w;
		wh_close(s);
		goto oom;
	}
	strcpy(s->id, "webhook ");
	strcat(s->id, url);
	curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L); /* a thread of its own */
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, (long)w->timeout_s);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT, (long)w->timeout_s);
	curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, w->errbuf);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
	s->ops = &webhook_ops;
	s->ctx = w;
	return 0;
oom:
	snprintf(err, err_size, "alert_webhook: out of memory");
	return -1;
}
