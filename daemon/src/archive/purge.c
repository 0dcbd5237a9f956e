/* A retention purge's plan and its texts (purge.h). */
#include "archive/purge.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool purge_request_format(struct bytebuf *out, const struct purge_request *r)
{
	return bytebuf_printf(out, "retention before=%" PRId64 " compress=%" PRId64 " hold=%s",
			      r->before_us, r->compress_us, r->hold ? r->hold : "") &&
	       bytebuf_terminate(out);
}

static bool take_i64(const char **p, const char *key, int64_t *out)
{
	size_t k = strlen(key);
	char *end;

	if (strncmp(*p, key, k) != 0)
		return false;
	errno = 0;
	*out = strtoll(*p + k, &end, 10);
	if (end == *p + k || errno || *end != ' ')
		return false;
	*p = end + 1;
	return true;
}

bool purge_request_parse(const char *text, struct purge_request *r)
{
	const char *p = text;

	if (!p || strncmp(p, "retention ", 10) != 0)
		return false;
	p += 10;
	if (!take_i64(&p, "before=", &r->before_us) || !take_i64(&p, "compress=", &r->compress_us) ||
	    strncmp(p, "hold=", 5) != 0)
		return false;
	r->hold = p + 5;
	return true;
}

/* ---- the hold list ---- */

void purge_hold_free(struct purge_hold *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->ids[i]);
	free(h->ids);
	h->ids = NULL;
	h->n = 0;
}

bool purge_hold_parse(struct purge_hold *h, const char *list)
{
	const char *p = list ? list : "";

	memset(h, 0, sizeof(*h));
	while (*p) {
		size_t len = strcspn(p, ",");
		char **grown;

		if (len) {
			if (h->n == PURGE_HOLD_MAX_IDS)
				goto fail;
			grown = realloc(h->ids, (h->n + 1) * sizeof(*grown));
			if (!grown)
				goto fail;
			h->ids = grown;
			h->ids[h->n] = strndup(p, len);
			if (!h->ids[h->n])
				goto fail;
			h->n++;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return true;
fail:
	purge_hold_free(h);
	return false;
}

static bool held_by(const struct purge_hold *h, const char *local, char resource_sep)
{
	size_t i, len;

	if (!local)
		return false;
	for (i = 0; i < h->n; i++) {
		len = strlen(h->ids[i]);
		if (strncasecmp(local, h->ids[i], len) == 0 &&
		    (local[len] == '\0' || local[len] == resource_sep))
			return true;
	}
	return false;
}

bool purge_hold_matches(const struct purge_hold *h, const char *local)
{
	return held_by(h, local, '/');
}

bool purge_hold_matches_component(const struct purge_hold *h, const char *component)
{
	return held_by(h, component, '_');
}

/* Appends one id of a list file (trimmed) to out, comma-separated. */
static int hold_add(struct bytebuf *out, const char *id, size_t len, size_t *n, char *err,
		    size_t err_size)
{
	while (len && isspace((unsigned char)*id))
		id++, len--;
	while (len && isspace((unsigned char)id[len - 1]))
		len--;
	if (!len || *id == '#')
		return 0;
	if (memchr(id, ',', len)) {
		snprintf(err, err_size, "legal_hold: \"%.*s\" holds a comma", (int)len, id);
		return -1;
	}
	if (++*n > PURGE_HOLD_MAX_IDS) {
		snprintf(err, err_size, "legal_hold: more than %d ids", PURGE_HOLD_MAX_IDS);
		return -1;
	}
	if ((out->len && !bytebuf_append_byte(out, ',')) || !bytebuf_append(out, id, len)) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	return 0;
}

int purge_hold_load(const char *value, char **out, char *err, size_t err_size)
{
	struct bytebuf b;
	size_t n = 0, len;
	const char *p;
	int rc = 0;

	*out = NULL;
	bytebuf_init(&b);
	if (value && value[0] == '/') {
		FILE *f = fopen(value, "re");
		char *line = NULL;
		size_t cap = 0;
		ssize_t got;

		if (!f) {
			snprintf(err, err_size, "legal_hold %s: %s", value, strerror(errno));
			return -1;
		}
		while (rc == 0 && (got = getline(&line, &cap, f)) > 0)
			rc = hold_add(&b, line, (size_t)got, &n, err, err_size);
		free(line);
		fclose(f);
	} else {
		for (p = value ? value : ""; rc == 0 && *p; p += len + (p[len] == ',')) {
			len = strcspn(p, ",");
			rc = hold_add(&b, p, len, &n, err, err_size);
		}
	}
	if (rc == 0 && !bytebuf_terminate(&b)) {
		snprintf(err, err_size, "out of memory");
		rc = -1;
	}
	if (rc == 0)
		*out = strdup(b.len ? (const char *)b.data : "");
	bytebuf_free(&b);
	if (rc == 0 && !*out) {
		snprintf(err, err_size, "out of memory");
		rc = -1;
	}
	return rc;
}

/* ---- the plan ---- */

bool purge_plan_begin(struct purge_plan *pl, uint64_t from, uint64_t to, int64_t before_us,
		      const char *hold)
{
	memset(pl, 0, sizeof(*pl));
	pl->p.from = from;
	pl->p.to = to;
	pl->p.before_us = before_us;
	pl->p.hold = hold ? hold : ""; /* the caller's, for chain_purge_format */
	if (!purge_hold_parse(&pl->hold, hold))
		return false;
	chain_digest_init(&pl->kept);
	return true;
}

static bool run_add(struct purge_plan *pl, uint64_t id)
{
	struct purge_run *grown;

	if (pl->open_run && pl->run_rows < PURGE_RUN_ROWS) {
		pl->runs[pl->n_runs - 1].last = id;
		pl->run_rows++;
		return true;
	}
	if (pl->n_runs == pl->cap_runs) {
		size_t cap = pl->cap_runs ? pl->cap_runs * 2 : 16;

		grown = realloc(pl->runs, cap * sizeof(*grown));
		if (!grown)
			return false;
		pl->runs = grown;
		pl->cap_runs = cap;
	}
	pl->runs[pl->n_runs].first = pl->runs[pl->n_runs].last = id;
	pl->n_runs++;
	pl->run_rows = 1;
	pl->open_run = true;
	return true;
}

bool purge_plan_row(struct purge_plan *pl, uint64_t id, int64_t ts_us, const char *local,
		    const char *kind, const uint8_t *hash)
{
	bool removed = ts_us < pl->p.before_us && !(kind && strcmp(kind, "audit") == 0) &&
		       !purge_hold_matches(&pl->hold, local);

	if (id <= pl->p.from || id > pl->p.to)
		return false;
	pl->last_id = id;
	if (hash)
		memcpy(pl->p.cont, hash, CHAIN_HASH_LEN);
	else
		memset(pl->p.cont, 0, CHAIN_HASH_LEN);
	if (removed) {
		if (!run_add(pl, id))
			pl->oom = true;
		pl->p.removed++;
		return true;
	}
	pl->open_run = false;
	if (hash) {
		chain_digest_add(&pl->kept, id, hash);
		pl->p.kept++;
	}
	return false;
}

bool purge_plan_end(struct purge_plan *pl)
{
	chain_digest_final(&pl->kept, pl->p.kept_digest);
	return !pl->oom;
}

void purge_plan_free(struct purge_plan *pl)
{
	purge_hold_free(&pl->hold);
	free(pl->runs);
	memset(pl, 0, sizeof(*pl));
}

bool purge_plan_removes(const struct purge_plan *pl, uint64_t id, size_t *cursor)
{
	while (*cursor < pl->n_runs && pl->runs[*cursor].last < id)
		(*cursor)++;
	return *cursor < pl->n_runs && pl->runs[*cursor].first <= id;
}
