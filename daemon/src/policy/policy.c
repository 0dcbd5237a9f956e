/* The policy chain. Order: the global blocks (IMSpector applies them
 * "regardless of the outcome of ACL processing"), the ACL, the DB filter
 * (IMSpector leaves their combination open: here an event must pass both,
 * and the ACL goes first so an event it blocks adds no AWL row), then the
 * content rules on messages: bad words, then regex rules.
 * Notices are decided last, once the fate of the event is known. */
#include "policy/policy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/filters.h"
#include "route/route.h"

#define DEFAULT_NOTICE_DAYS 1
#define DEFAULT_BLOCKED_NOTICE_INTERVAL 60
#define SECONDS_PER_DAY 86400.0
#define POLICY_STEPS 4

struct policy;

/* What a handler of the routing table gets: the policy and its step. */
struct policy_handler {
	struct policy *policy;
	size_t step;
};

struct policy {
	atomic_int refs;
	pthread_mutex_t lock;
	enum policy_mode mode;
	bool have_badwords;
	struct badwords badwords;
	bool have_acl;
	struct acl acl;
	bool have_db;
	struct dbfilter db;
	struct regex_rules regex;
	struct event_blocks blocks;
	char *notice_text;
	double notice_period;
	char *blocked_notice_text;
	double blocked_notice_interval;
	struct notice_book notices;
	struct notice_book blocked_notices;
	struct policy_stats stats;
	struct policy_handler handlers[POLICY_STEPS];
};

static struct policy *policy_alloc(enum policy_mode mode)
{
	struct policy *p = calloc(1, sizeof(*p));
	size_t i;

	if (!p)
		return NULL;
	atomic_init(&p->refs, 1);
	pthread_mutex_init(&p->lock, NULL);
	p->mode = mode;
	p->badwords.replace = '*';
	p->notice_period = DEFAULT_NOTICE_DAYS * SECONDS_PER_DAY;
	p->blocked_notice_interval = DEFAULT_BLOCKED_NOTICE_INTERVAL;
	for (i = 0; i < POLICY_STEPS; i++) {
		p->handlers[i].policy = p;
		p->handlers[i].step = i;
	}
	return p;
}

static void policy_free(struct policy *p)
{
	badwords_free(&p->badwords);
	acl_free(&p->acl);
	if (p->have_db)
		dbfilter_close(&p->db);
	regex_rules_free(&p->regex);
	free(p->notice_text);
	free(p->blocked_notice_text);
	notice_book_free(&p->notices);
	notice_book_free(&p->blocked_notices);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct policy *policy_ref(struct policy *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void policy_unref(struct policy *p)
{
	if (p && atomic_fetch_sub(&p->refs, 1) == 1)
		policy_free(p);
}

static const char *cfg_name(const struct imw_config *cfg)
{
	return cfg->path ? cfg->path : "config";
}

static bool flag(const struct imw_config *cfg, const char *key)
{
	const char *v = config_get(cfg, key);
	bool b = false;

	return v && config_parse_bool(v, &b) && b;
}

static unsigned long number(const struct imw_config *cfg, const char *key, unsigned long dflt)
{
	const char *v = config_get(cfg, key);

	return v ? strtoul(v, NULL, 10) : dflt;
}

static int load_lists(struct policy *p, const struct imw_config *cfg, char *err, size_t err_size)
{
	const char *v;
	char sub[512];

	if ((v = config_get(cfg, "badwords_filename"))) {
		if (badwords_load(&p->badwords, v, err, err_size) < 0)
			return -1;
		p->have_badwords = true;
		if ((v = config_get(cfg, "badwords_replace_character")))
			p->badwords.replace = v[0];
		if (config_get(cfg, "badwords_block_count")) {
			p->badwords.has_block_count = true;
			p->badwords.block_count = (unsigned)number(cfg, "badwords_block_count", 0);
		}
	}
	if ((v = config_get(cfg, "whitelist_filename"))) {
		if (acl_list_load(&p->acl.white, v, err, err_size) < 0)
			return -1;
		p->have_acl = true;
	}
	if ((v = config_get(cfg, "blacklist_filename"))) {
		if (acl_list_load(&p->acl.black, v, err, err_size) < 0)
			return -1;
		p->have_acl = true;
	}
	p->acl.block_unlisted = flag(cfg, "block_unlisted");
	if ((v = config_get(cfg, "db_filter_filename"))) {
		if (dbfilter_open(&p->db, v, p->mode == POLICY_DRY_RUN, err, err_size) < 0)
			return -1;
		p->have_db = true;
	}
	if ((v = config_get(cfg, "block_encrypted")) &&
	    event_blocks_parse_encrypted(&p->blocks, v, sub, sizeof(sub)) < 0) {
		snprintf(err, err_size, "%s:%u: block_encrypted: %s", cfg_name(cfg),
			 config_line_of(cfg, "block_encrypted"), sub);
		return -1;
	}
	p->blocks.files = flag(cfg, "block_files");
	p->blocks.webcams = flag(cfg, "block_webcams");
	return 0;
}

static int load_rules(struct policy *p, const struct imw_config *cfg, char *err, size_t err_size)
{
	char sub[512];
	size_t i;
	const char *v;

	/* Every regex_replace line counts, in file order. */
	for (i = 0; i < cfg->n_entries; i++) {
		if (strcmp(cfg->entries[i].key, "regex_replace") != 0)
			continue;
		if (regex_rules_add(&p->regex, cfg->entries[i].value, sub, sizeof(sub)) < 0) {
			snprintf(err, err_size, "%s:%u: regex_replace: %s", cfg_name(cfg),
				 cfg->entries[i].line, sub);
			return -1;
		}
	}
	if ((v = config_get(cfg, "notice_text")) && !(p->notice_text = strdup(v)))
		goto oom;
	if ((v = config_get(cfg, "blocked_notice_text")) && !(p->blocked_notice_text = strdup(v)))
		goto oom;
	p->notice_period = (double)number(cfg, "notice_days", DEFAULT_NOTICE_DAYS) * SECONDS_PER_DAY;
	p->blocked_notice_interval =
		(double)number(cfg, "blocked_notice_interval", DEFAULT_BLOCKED_NOTICE_INTERVAL);
	return 0;
oom:
	snprintf(err, err_size, "out of memory");
	return -1;
}

struct policy *policy_new(const struct imw_config *cfg, enum policy_mode mode, char *err,
			  size_t err_size)
{
	struct policy *p = policy_alloc(mode);

	if (!p) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	if (load_lists(p, cfg, err, err_size) < 0 || load_rules(p, cfg, err, err_size) < 0) {
		policy_free(p);
		return NULL;
	}
	return p;
}

bool policy_is_empty(const struct policy *p)
{
	size_t i;
	bool encrypted = false;

	for (i = 0; i < IMW_PROTO_MAX; i++)
		encrypted |= p->blocks.encrypted[i];
	return !p->have_badwords && !p->have_acl && !p->have_db && !p->regex.n &&
	       !p->blocks.files && !p->blocks.webcams && !encrypted && !p->notice_text &&
	       !p->blocked_notice_text;
}

void policy_take_history(struct policy *to, struct policy *from)
{
	if (!to || !from || to == from)
		return;
	pthread_mutex_lock(&from->lock);
	pthread_mutex_lock(&to->lock);
	notice_book_take(&to->notices, &from->notices);
	notice_book_take(&to->blocked_notices, &from->blocked_notices);
	pthread_mutex_unlock(&to->lock);
	pthread_mutex_unlock(&from->lock);
}

void policy_decision_free(struct policy_decision *d)
{
	size_t i;

	free(d->text);
	free(d->pdu);
	free(d->inject_after);
	for (i = 0; i < d->n_notices; i++)
		free(d->notices[i]);
	memset(d, 0, sizeof(*d));
}

void policy_get_stats(struct policy *p, struct policy_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	out->db_errors = p->db.errors;
	pthread_mutex_unlock(&p->lock);
}

/* Events between two parties that IMSpector's filters judge. */
static bool judged_kind(enum im_kind k)
{
	return k == IM_KIND_MESSAGE || k == IM_KIND_TYPING || k == IM_KIND_FILE ||
	       k == IM_KIND_WEBCAM;
}

static void block(struct policy_decision *d, const char *why)
{
	d->action = POLICY_BLOCK;
	d->filtered = true;
	d->why = why;
}

static void decide_blocks(struct policy *p, const struct im_event *ev, struct policy_decision *d)
{
	struct bytebuf refusal;

	if (!event_blocks_match(&p->blocks, ev))
		return;
	switch (ev->kind) {
	case IM_KIND_FILE:
		block(d, "block_files");
		return;
	case IM_KIND_WEBCAM:
		block(d, "block_webcams");
		return;
	default:
		break;
	}
	block(d, "block_encrypted");
	bytebuf_init(&refusal);
	if (starttls_refusal(ev, &refusal)) {
		d->action = POLICY_REPLACE_PDU;
		d->pdu = refusal.data;
		d->pdu_len = refusal.len;
	} else {
		bytebuf_free(&refusal);
	}
}

/* An XMPP id without its "/resource" (RFC 7622: the first '/' starts it;
 * neither the localpart nor the domain may hold one); any other
 * protocol's id as it is. *owned is set when the result was allocated. */
static const char *bare_id(struct policy *p, const struct im_event *ev, const char *id,
			   char **owned)
{
	const char *slash;

	*owned = NULL;
	if (ev->proto != IMW_PROTO_XMPP || !(slash = strchr(id, '/')))
		return id;
	*owned = strndup(id, (size_t)(slash - id));
	if (!*owned) {
		p->stats.alloc_failures++;
		return id;
	}
	return *owned;
}

static void decide_parties(struct policy *p, const struct im_event *ev, struct policy_decision *d)
{
	struct parties who;
	char *local_owned, *remote_owned;

	if (!judged_kind(ev->kind) || !ev->remote)
		return;
	who.local = ev->local ? ev->local : "";
	who.remote = ev->remote;
	who.local_bare = bare_id(p, ev, who.local, &local_owned);
	who.remote_bare = bare_id(p, ev, who.remote, &remote_owned);
	if (p->have_acl && acl_blocks(&p->acl, &who))
		block(d, "acl");
	else if (p->have_db && dbfilter_blocks(&p->db, &who, ev->dir == IM_DIR_OUT, ev->ts))
		block(d, "dbfilter");
	free(local_owned);
	free(remote_owned);
}

/* Each content rule works on the previous one's result; *cur is owned
 * when it is not ev->text. */
static void adopt(char **cur, const char *orig, char *next)
{
	if (*cur != orig)
		free(*cur);
	*cur = next;
}

static void decide_content(struct policy *p, const struct im_event *ev, struct policy_decision *d)
{
	char *cur = ev->text, *next;
	long bad;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return;
	if (p->have_badwords) {
		bad = badwords_censor(&p->badwords, cur, &next);
		if (bad < 0)
			p->stats.alloc_failures++;
		if (p->badwords.has_block_count && bad > (long)p->badwords.block_count) {
			free(next);
			block(d, "badwords");
			return;
		}
		if (next)
			adopt(&cur, ev->text, next);
	}
	if (p->regex.n) {
		rc = regex_rules_apply(&p->regex, cur, &next);
		if (rc < 0)
			p->stats.alloc_failures++;
		if (rc == 2) {
			adopt(&cur, ev->text, ev->text);
			block(d, "regex");
			return;
		}
		if (rc == 1)
			adopt(&cur, ev->text, next);
	}
	if (cur != ev->text) {
		d->action = POLICY_REPLACE_TEXT;
		d->text = cur;
		d->why = "content";
	}
}

/* "proto local remote", case-folded: one conversation. */
static char *conversation_key(const struct im_event *ev)
{
	const char *local = ev->local ? ev->local : "", *remote = ev->remote ? ev->remote : "";
	size_t n = strlen(local) + strlen(remote) + 16, i;
	char *k = malloc(n);

	if (!k)
		return NULL;
	snprintf(k, n, "%d\x1f%s\x1f%s", (int)ev->proto, local, remote);
	for (i = 0; k[i]; i++)
		if (k[i] >= 'A' && k[i] <= 'Z')
			k[i] = (char)(k[i] - 'A' + 'a');
	return k;
}

static void add_notice(struct policy *p, struct policy_decision *d, const char *text)
{
	char *copy;

	if (d->n_notices == POLICY_MAX_NOTICES)
		return;
	copy = strdup(text);
	if (!copy) {
		p->stats.alloc_failures++;
		return;
	}
	d->notices[d->n_notices++] = copy;
	p->stats.notices++;
}

static void decide_notices(struct policy *p, const struct im_event *ev, struct policy_decision *d)
{
	char *key;

	if (!p->notice_text && !p->blocked_notice_text)
		return;
	if (!judged_kind(ev->kind) || ev->kind == IM_KIND_TYPING || !ev->remote || !ev->remote[0] ||
	    !ev->local || !ev->local[0])
		return;
	key = conversation_key(ev);
	if (!key) {
		p->stats.alloc_failures++;
		return;
	}
	if (p->notice_text && ev->kind == IM_KIND_MESSAGE &&
	    notice_book_due(&p->notices, key, ev->ts, p->notice_period))
		add_notice(p, d, p->notice_text);
	if (p->blocked_notice_text && d->filtered &&
	    notice_book_due(&p->blocked_notices, key, ev->ts, p->blocked_notice_interval))
		add_notice(p, d, p->blocked_notice_text);
	free(key);
}

typedef void (*policy_step_fn)(struct policy *p, const struct im_event *ev,
			       struct policy_decision *d);

/* The chain as handlers of the routing table (route/): the filters run
 * in pre-routing, in this order, each only while the event still passes;
 * the notices in post-routing, once the event's fate is known. */
static const struct policy_step {
	const char *name; /* the config keys it stands for */
	enum route_stage stage;
	int position;
	bool only_while_passing; /* skipped once an earlier step blocked or rewrote */
	policy_step_fn fn;
} steps[POLICY_STEPS] = {
	{ "policy:block_files,block_webcams,block_encrypted", ROUTE_STAGE_PRE, 100, true,
	  decide_blocks },
	{ "policy:acl,db_filter", ROUTE_STAGE_PRE, 200, true, decide_parties },
	{ "policy:badwords,regex_replace", ROUTE_STAGE_PRE, 300, true, decide_content },
	{ "policy:notices", ROUTE_STAGE_POST, 100, false, decide_notices },
};

static void account(struct policy *p, const struct policy_decision *d)
{
	p->stats.events++;
	if (d->filtered)
		p->stats.blocked++;
	else if (d->action == POLICY_REPLACE_TEXT)
		p->stats.replaced++;
}

/* One step as a handler. The notices come last of the policy's steps and
 * see the decision whole: the event is counted there. */
static bool run_step(void *arg, struct route_ctx *ctx)
{
	struct policy_handler *h = arg;
	struct policy *p = h->policy;
	const struct policy_step *st = &steps[h->step];

	if (st->only_while_passing && ctx->decision.action != POLICY_PASS)
		return false;
	pthread_mutex_lock(&p->lock);
	st->fn(p, ctx->ev, &ctx->decision);
	if (st->fn == decide_notices)
		account(p, &ctx->decision);
	pthread_mutex_unlock(&p->lock);
	return false;
}

int policy_add_handlers(struct policy *p, struct route_table *t)
{
	size_t i;

	for (i = 0; i < POLICY_STEPS; i++) {
		if (route_table_add(t, steps[i].stage, steps[i].position, steps[i].name, run_step,
				    &p->handlers[i]) < 0)
			return -1;
	}
	return 0;
}

void policy_decision_init(struct policy_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->action = POLICY_PASS;
}

char *policy_notice_copy(struct policy *p)
{
	char *copy = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->notice_text && !(copy = strdup(p->notice_text)))
		p->stats.alloc_failures++;
	pthread_mutex_unlock(&p->lock);
	return copy;
}

