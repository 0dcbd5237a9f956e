#include "archive/verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PURGES 4096
#define MAX_CHECKPOINTS 65536
#define LINE_MAX_BYTES (1024 * 1024)

struct purge {
	char *text; /* the record's text: p.hold points into it */
	struct chain_purge p;
	uint64_t id; /* of the purge record itself */
	struct chain_digest kept;
};

struct verifier {
	const struct verify_options *o;
	struct verify_result *r;
	const char *kind;
	char sensor[128];
	bool have_sensor;
	struct purge *purges;
	size_t n_purges;
	struct checkpoint *cps;
	size_t n_cps;
	bool *cp_seen;
	/* pass 2 */
	bool have_last, chain_started;
	uint64_t last_id;
	uint8_t last_hash[CHAIN_HASH_LEN];
	/* One row of lookahead for a broken link. */
	bool pending;
	struct {
		uint64_t id;
		uint8_t hash[CHAIN_HASH_LEN];
		uint8_t expected[CHAIN_HASH_LEN];
		uint64_t before_id; /* the linked row before it, 0: none */
	} broken;
};

static void problem(struct verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct verifier *v, const char *fmt, ...)
{
	va_list ap;

	if (!v->r->problems++) {
		va_start(ap, fmt);
		vsnprintf(v->r->first, sizeof(v->r->first), fmt, ap);
		va_end(ap);
	}
}

static bool sensor_matches(struct verifier *v, const struct verify_row *row)
{
	const char *s = row->f.sensor ? row->f.sensor : "";

	if (!v->have_sensor) {
		snprintf(v->sensor, sizeof(v->sensor), "%s", s);
		v->have_sensor = true;
	}
	return strcmp(s, v->sensor) == 0;
}

/* ---- pass 1: the purge records ---- */

static int collect_purge(void *arg, const struct verify_row *row)
{
	struct verifier *v = arg;
	struct purge *p;
	char *text;

	if (!sensor_matches(v, row) || !row->f.action || strcmp(row->f.action, "purge") != 0)
		return 0;
	if (v->n_purges == MAX_PURGES)
		return 0;
	p = &v->purges[v->n_purges];
	/* The record's hold list points into its text: keep a copy. */
	text = strdup(row->f.text ? row->f.text : "");
	p->text = text;
	if (!text || !chain_purge_parse(text, &p->p)) {
		free(text);
		problem(v, "event %" PRIu64 ": a purge record that does not parse", row->f.eventid);
		return 0;
	}
	p->id = row->f.eventid;
	chain_digest_init(&p->kept);
	v->n_purges++;
	return 0;
}

/* The purge that speaks for row id: of those whose range holds it, the
 * latest (a later purge's range holds every earlier one's, purge.h). */
static struct purge *purge_holding(struct verifier *v, uint64_t id)
{
	struct purge *best = NULL;
	size_t i;

	for (i = 0; i < v->n_purges; i++)
		if (id > v->purges[i].p.from && id <= v->purges[i].p.to &&
		    (!best || v->purges[i].id > best->id))
			best = &v->purges[i];
	return best;
}

/* A later purge's range holds p's: it speaks for p's rows now. */
static bool purge_superseded(const struct verifier *v, const struct purge *p)
{
	size_t i;

	for (i = 0; i < v->n_purges; i++) {
		const struct purge *q = &v->purges[i];

		if (q->id > p->id && q->p.from <= p->p.from && q->p.to >= p->p.to)
			return true;
	}
	return false;
}

/* The latest purge whose range ends below id and at or after the last
 * linked row: the chain goes on from its `continue`. */
static struct purge *purge_before(struct verifier *v, uint64_t id)
{
	struct purge *best = NULL;
	size_t i;

	for (i = 0; i < v->n_purges; i++) {
		struct purge *p = &v->purges[i];

		if (p->p.to < id && (!v->have_last || p->p.to >= v->last_id) &&
		    (!best || p->p.to > best->p.to))
			best = p;
	}
	return best;
}

/* ---- pass 2: every row ---- */

static void check_checkpoints_of(struct verifier *v, const struct verify_row *row)
{
	size_t i;

	for (i = 0; i < v->n_cps; i++) {
		if (v->cps[i].eventid != row->f.eventid)
			continue;
		v->cp_seen[i] = true;
		if (memcmp(v->cps[i].hash, row->hash, CHAIN_HASH_LEN) != 0)
			problem(v, "event %" PRIu64 ": its hash is not the one signed in the checkpoint of %" PRId64,
				row->f.eventid, v->cps[i].time);
	}
}

static void anchor(struct verifier *v, uint64_t id, const uint8_t hash[CHAIN_HASH_LEN])
{
	v->have_last = true;
	v->last_id = id;
	memcpy(v->last_hash, hash, CHAIN_HASH_LEN);
}

/* The row after a broken link (NULL at the end) tells what broke: when it
 * links to the row before the break, the row between was inserted (the
 * chain stays where it was); else events are missing before the broken
 * row, which the chain then goes on from. */
static void resolve_pending(struct verifier *v, const struct verify_row *next)
{
	if (!v->pending)
		return;
	v->pending = false;
	if (next && memcmp(next->prev, v->broken.expected, CHAIN_HASH_LEN) == 0) {
		problem(v, "event %" PRIu64 " was inserted: it does not follow event %" PRIu64
			   " and the event after it does",
			v->broken.id, v->broken.before_id);
		return;
	}
	if (v->broken.before_id)
		problem(v, "events missing between %" PRIu64 " and %" PRIu64
			   ": the chain does not link them (removed, or reordered)",
			v->broken.before_id, v->broken.id);
	else
		problem(v, "events missing before %" PRIu64 ", the first one stored",
			v->broken.id);
	anchor(v, v->broken.id, v->broken.hash);
}

static void link_row(struct verifier *v, const struct verify_row *row)
{
	uint8_t expected[CHAIN_HASH_LEN] = { 0 };
	struct purge *p = purge_before(v, row->f.eventid);

	if (p)
		memcpy(expected, p->p.cont, CHAIN_HASH_LEN);
	else if (v->have_last)
		memcpy(expected, v->last_hash, CHAIN_HASH_LEN);
	if (memcmp(row->prev, expected, CHAIN_HASH_LEN) == 0) {
		anchor(v, row->f.eventid, row->hash);
		return;
	}
	v->pending = true;
	v->broken.id = row->f.eventid;
	v->broken.before_id = v->have_last ? v->last_id : 0;
	memcpy(v->broken.hash, row->hash, CHAIN_HASH_LEN);
	memcpy(v->broken.expected, expected, CHAIN_HASH_LEN);
}

static int check_row(void *arg, const struct verify_row *row)
{
	struct verifier *v = arg;
	uint8_t h[CHAIN_HASH_LEN];
	struct purge *p;

	if (row->f.eventid && !sensor_matches(v, row))
		return 0;
	v->r->rows++;
	if (!row->has_hash) {
		if (row->line && !row->f.eventid)
			problem(v, "line %lu: not an event of the chain", row->line);
		else if (v->chain_started)
			problem(v, "event %" PRIu64 " has no hash: inserted into the chain",
				row->f.eventid);
		else
			v->r->unchained++;
		return 0;
	}
	v->chain_started = true;
	chain_hash(row->prev, &row->f, h);
	if (memcmp(h, row->hash, CHAIN_HASH_LEN) != 0)
		problem(v, "event %" PRIu64 " was altered: its fields no longer give its hash",
			row->f.eventid);
	if (v->r->last_id && row->f.eventid <= v->r->last_id)
		problem(v, "event %" PRIu64 " is out of order: it comes after event %" PRIu64,
			row->f.eventid, v->r->last_id);
	if (row->f.eventid > v->r->last_id)
		v->r->last_id = row->f.eventid;
	check_checkpoints_of(v, row);
	if ((p = purge_holding(v, row->f.eventid))) {
		chain_digest_add(&p->kept, row->f.eventid, row->hash);
		v->r->kept++;
		return 0;
	}
	resolve_pending(v, row);
	link_row(v, row);
	return 0;
}

static void check_purges(struct verifier *v)
{
	uint8_t d[CHAIN_HASH_LEN];
	size_t i;

	for (i = 0; i < v->n_purges; i++) {
		struct purge *p = &v->purges[i];

		chain_digest_final(&p->kept, d);
		if (purge_superseded(v, p))
			continue;
		if (p->kept.n != p->p.kept || memcmp(d, p->p.kept_digest, CHAIN_HASH_LEN) != 0)
			problem(v, "the events purge record %" PRIu64 " kept in (%" PRIu64 ", %" PRIu64
				   "] changed: %" PRIu64 " there, %" PRIu64 " recorded",
				p->id, p->p.from, p->p.to, p->kept.n, p->p.kept);
	}
}

static void check_checkpoint_ends(struct verifier *v)
{
	const struct checkpoint *last = NULL;
	size_t i;

	for (i = 0; i < v->n_cps; i++) {
		if (!v->cp_seen[i] && !purge_holding(v, v->cps[i].eventid) &&
		    v->cps[i].eventid <= v->r->last_id)
			problem(v, "event %" PRIu64 ", signed in a checkpoint, is missing",
				v->cps[i].eventid);
		if (!last || v->cps[i].eventid > last->eventid)
			last = &v->cps[i];
	}
	if (!last)
		return;
	v->r->last_checkpoint_id = last->eventid;
	if (last->eventid > v->r->last_id) {
		v->r->truncated = true;
		problem(v, "truncated: the chain ends at event %" PRIu64
			   ", before the last signed checkpoint (event %" PRIu64 ")",
			v->r->last_id, last->eventid);
	}
}

static int count_after(void *arg, const struct verify_row *row)
{
	struct verifier *v = arg;

	if (sensor_matches(v, row) && row->f.eventid > v->r->last_checkpoint_id)
		v->r->after_checkpoint++;
	return 0;
}

static int load_checkpoints(struct verifier *v, char *err, size_t err_size)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	struct checkpoint c;
	int rc;

	if (!v->o->checkpoint_log)
		return 0;
	if (!v->o->key) {
		snprintf(err, err_size, "checking %s needs the public key (--key)", v->o->checkpoint_log);
		return -1;
	}
	f = fopen(v->o->checkpoint_log, "re");
	if (!f) {
		snprintf(err, err_size, "%s: cannot open", v->o->checkpoint_log);
		return -1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		rc = checkpoint_parse(line, v->o->key, &c);
		if (rc < 0) {
			problem(v, "%s:%lu: not a checkpoint line", v->o->checkpoint_log, lineno);
			continue;
		}
		if (rc == 0) {
			problem(v, "%s:%lu: the signature does not verify", v->o->checkpoint_log, lineno);
			continue;
		}
		if (strcmp(c.sink, v->kind) != 0 || strcmp(c.sensor, v->sensor[0] ? v->sensor : "-") != 0)
			continue;
		if (v->n_cps < MAX_CHECKPOINTS)
			v->cps[v->n_cps++] = c;
	}
	free(line);
	fclose(f);
	v->r->checkpoints = v->n_cps;
	return 0;
}

int verify_store(const struct verify_source *src, const struct verify_options *o,
		 struct verify_result *r, char *err, size_t err_size)
{
	struct verifier v;
	int rc = -1;
	size_t i;

	memset(r, 0, sizeof(*r));
	memset(&v, 0, sizeof(v));
	v.o = o;
	v.r = r;
	v.kind = src->kind;
	if (o->sensor) {
		snprintf(v.sensor, sizeof(v.sensor), "%s", o->sensor);
		v.have_sensor = true;
	}
	v.purges = calloc(MAX_PURGES, sizeof(*v.purges));
	v.cps = calloc(MAX_CHECKPOINTS, sizeof(*v.cps));
	v.cp_seen = calloc(MAX_CHECKPOINTS, sizeof(*v.cp_seen));
	if (!v.purges || !v.cps || !v.cp_seen) {
		snprintf(err, err_size, "out of memory");
		goto out;
	}
	if (src->each(src->ctx, collect_purge, &v, err, err_size) < 0)
		goto out;
	r->purges = v.n_purges;
	if (load_checkpoints(&v, err, err_size) < 0)
		goto out;
	if (src->each(src->ctx, check_row, &v, err, err_size) < 0)
		goto out;
	resolve_pending(&v, NULL);
	check_purges(&v);
	check_checkpoint_ends(&v);
	if (r->last_checkpoint_id && src->each(src->ctx, count_after, &v, err, err_size) < 0)
		goto out;
	memcpy(r->last_hash, v.last_hash, CHAIN_HASH_LEN);
	snprintf(r->sensor, sizeof(r->sensor), "%s", v.sensor);
	rc = r->problems ? 1 : 0;
out:
	for (i = 0; v.purges && i < v.n_purges; i++)
		free(v.purges[i].text);
	free(v.purges);
	free(v.cps);
	free(v.cp_seen);
	return rc;
}
