/* The policy chain. Order: the global blocks (IMSpector applies them
 * "regardless of the outcome of ACL processing"), the ACLs (0.5's lists,
 * 0.9's rules), the DB filter (IMSpector leaves their combination open:
 * here an event must pass both, and the ACL goes first so an event it
 * blocks adds no AWL row), then the content rules on messages: bad words,
 * then regex rules. Notices are decided last, once the fate of the event
 * is known: imwire's (notice_text, blocked_notice_text, to the
 * local user) and IMSpector 0.9's responder (to both parties). */
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
#define SECONDS_PER_MINUTE 60.0
#define POLICY_STEPS 5

/* The responder's texts when the configuration gives none (IMSpector
 * 0.9's notice reads "Message from IMSpector: -=Your activities are being
 * logged=-"; imwire names itself). The prefix and postfix also mark every
 * other notice where a protocol sends it in somebody's name. */
#define DEFAULT_RESPONSE_PREFIX IMW_NOTICE_PREFIX
#define DEFAULT_RESPONSE_POSTFIX IMW_NOTICE_POSTFIX
#define DEFAULT_NOTICE_RESPONSE "Your activities are being logged"
#define DEFAULT_FILTERED_RESPONSE "Blocked by policy"

/* Remote notices waiting for the local user's next outgoing PDU. */
#define MAX_OWED_NOTICES 1024

struct owed_notice {
	char *conversation; /* conversation_key() of the event that owed it */
	char *userid;       /* the remote, as the responder remembers it */
	enum responder_type type;
	char *text;
};

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
	/* Flag-only rules (regex_flag=; badwords_flag=, acl_flag=: those
	 * lists' category, and they then flag instead of censoring or
	 * blocking): categories on the event, traffic unchanged. */
	struct regex_rules flags;
	char *badwords_flag;
	char *acl_flag;
	struct event_blocks blocks;
	char *notice_text;
	double notice_period;
	char *blocked_notice_text;
	double blocked_notice_interval;
	struct notice_book notices;
	struct notice_book blocked_notices;
	/* IMSpector 0.9's responder: periods of 0 mean never. */
	bool have_responder;
	struct responder responder;
	double responder_notice_period;
	double responder_filtered_period;
	char *notice_response;
	char *filtered_response;
	char *response_prefix;
	char *response_postfix;
	struct owed_notice *owed;
	size_t n_owed;
	/* notice_sender=, per protocol; NULL: the protocol's own. */
	char *notice_from[IMW_PROTO_MAX];
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

static void owed_free(struct owed_notice *o)
{
	free(o->conversation);
	free(o->userid);
	free(o->text);
}

static void policy_free(struct policy *p)
{
	size_t i;

	if (p->have_responder)
		responder_close(&p->responder);
	free(p->notice_response);
	free(p->filtered_response);
	free(p->response_prefix);
	free(p->response_postfix);
	for (i = 0; i < p->n_owed; i++)
		owed_free(&p->owed[i]);
	free(p->owed);
	for (i = 0; i < IMW_PROTO_MAX; i++)
		free(p->notice_from[i]);
	badwords_free(&p->badwords);
	acl_free(&p->acl);
	if (p->have_db)
		dbfilter_close(&p->db);
	regex_rules_free(&p->regex);
	regex_rules_free(&p->flags);
	free(p->badwords_flag);
	free(p->acl_flag);
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

/* Each loader reports its own problems and the next one runs all the
 * same: check-config names every problem of a configuration at once. */
static void load_lists(struct policy *p, const struct imw_config *cfg, struct config_report *r)
{
	const char *v;
	char sub[512];

	if ((v = config_get(cfg, "badwords_filename"))) {
		if (badwords_load(&p->badwords, v, sub, sizeof(sub)) < 0)
			config_report_error(r, "%s", sub);
		p->have_badwords = true;
		if ((v = config_get(cfg, "badwords_replace_character")))
			p->badwords.replace = v[0];
		if (config_get(cfg, "badwords_block_count")) {
			p->badwords.has_block_count = true;
			p->badwords.block_count = (unsigned)number(cfg, "badwords_block_count", 0);
		}
	}
	if ((v = config_get(cfg, "whitelist_filename"))) {
		acl_list_load_report(&p->acl.white, v, r);
		p->acl.have_lists = p->have_acl = true;
	}
	if ((v = config_get(cfg, "blacklist_filename"))) {
		acl_list_load_report(&p->acl.black, v, r);
		p->acl.have_lists = p->have_acl = true;
	}
	p->acl.block_unlisted = flag(cfg, "block_unlisted");
	if ((v = config_get(cfg, "acl_filename"))) {
		acl_rules_load(&p->acl.rules, v, r);
		p->have_acl = true;
	}
	if ((v = config_get(cfg, "db_filter_filename"))) {
		if (dbfilter_open(&p->db, v, p->mode == POLICY_DRY_RUN, sub, sizeof(sub)) < 0)
			config_report_error(r, "%s", sub);
		else
			p->have_db = true;
	}
	if ((v = config_get(cfg, "block_encrypted")) &&
	    event_blocks_parse_encrypted(&p->blocks, v, sub, sizeof(sub)) < 0)
		config_report_error(r, "%s:%u: block_encrypted: %s", cfg_name(cfg),
				    config_line_of(cfg, "block_encrypted"), sub);
	/* encrypted=refuse: block_encrypted for every protocol. */
	if ((v = config_get(cfg, "encrypted")) && strcmp(v, "refuse") == 0) {
		int i;

		for (i = 1; i < IMW_PROTO_MAX; i++)
			p->blocks.encrypted[i] = true;
	}
	p->blocks.files = flag(cfg, "block_files");
	p->blocks.webcams = flag(cfg, "block_webcams");
}

static bool dup_setting(const struct imw_config *cfg, const char *key, const char *dflt,
			char **out)
{
	const char *v = config_get(cfg, key);

	if (!v)
		v = dflt;
	*out = v ? strdup(v) : NULL;
	return !v || *out;
}

/* notice_sender=NAME (every protocol) or "irc:NAME jabber:JID ..." */
static void load_notice_sender(struct policy *p, const struct imw_config *cfg,
			       struct config_report *r)
{
	const char *v = config_get(cfg, "notice_sender");
	char *copy, *tok, *save = NULL, *colon;
	enum imw_proto proto;
	int i;

	if (!v)
		return;
	if (!(copy = strdup(v)))
		goto oom;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		colon = strchr(tok, ':');
		proto = colon ? (*colon = '\0', event_proto_from_name(tok)) : IMW_PROTO_NONE;
		if (colon && proto == IMW_PROTO_NONE) {
			config_report_error(r, "%s:%u: notice_sender: unknown protocol \"%s\"",
					    cfg_name(cfg), config_line_of(cfg, "notice_sender"), tok);
			continue;
		}
		for (i = colon ? (int)proto : 1; i < (colon ? (int)proto + 1 : IMW_PROTO_MAX); i++) {
			free(p->notice_from[i]);
			if (!(p->notice_from[i] = strdup(colon ? colon + 1 : tok))) {
				free(copy);
				goto oom;
			}
		}
	}
	free(copy);
	return;
oom:
	config_report_error(r, "out of memory");
}

/* IMSpector 0.9's responder: responder_filename switches it on;
 * notice_days and filtered_mins say how often, never when absent. */
static void load_responder(struct policy *p, const struct imw_config *cfg,
			   struct config_report *r)
{
	const char *v = config_get(cfg, "responder_filename");

	if (!v)
		return;
	if (responder_open(&p->responder, v, p->mode == POLICY_DRY_RUN, r) < 0)
		return;
	p->have_responder = true;
	p->responder_notice_period = (double)number(cfg, "notice_days", 0) * SECONDS_PER_DAY;
	p->responder_filtered_period =
		(double)number(cfg, "filtered_mins", 0) * SECONDS_PER_MINUTE;
	if (!dup_setting(cfg, "notice_response", DEFAULT_NOTICE_RESPONSE, &p->notice_response) ||
	    !dup_setting(cfg, "filtered_response", DEFAULT_FILTERED_RESPONSE,
			 &p->filtered_response))
		config_report_error(r, "out of memory");
	if (!p->responder_notice_period && !p->responder_filtered_period)
		config_report_warning(r,
				      "%s:%u: responder_filename: neither notice_days nor "
				      "filtered_mins is set, so nobody is ever told anything",
				      cfg_name(cfg), config_line_of(cfg, "responder_filename"));
}

static void load_rules(struct policy *p, const struct imw_config *cfg, struct config_report *r)
{
	char sub[512];
	size_t i;
	const char *v;

	/* Every regex_replace and regex_flag line counts, in file order. */
	for (i = 0; i < cfg->n_entries; i++) {
		if (strcmp(cfg->entries[i].key, "regex_replace") == 0 &&
		    regex_rules_add(&p->regex, cfg->entries[i].value, sub, sizeof(sub)) < 0)
			config_report_error(r, "%s:%u: regex_replace: %s", cfg_name(cfg),
					    cfg->entries[i].line, sub);
		if (strcmp(cfg->entries[i].key, "regex_flag") == 0 &&
		    regex_flag_add(&p->flags, cfg->entries[i].value, sub, sizeof(sub)) < 0)
			config_report_error(r, "%s:%u: regex_flag: %s", cfg_name(cfg),
					    cfg->entries[i].line, sub);
	}
	if (((v = config_get(cfg, "badwords_flag")) && !(p->badwords_flag = strdup(v))) ||
	    ((v = config_get(cfg, "acl_flag")) && !(p->acl_flag = strdup(v))))
		config_report_error(r, "out of memory");
	if (((v = config_get(cfg, "notice_text")) && !(p->notice_text = strdup(v))) ||
	    ((v = config_get(cfg, "blocked_notice_text")) && !(p->blocked_notice_text = strdup(v))))
		config_report_error(r, "out of memory");
	p->notice_period = (double)number(cfg, "notice_days", DEFAULT_NOTICE_DAYS) * SECONDS_PER_DAY;
	p->blocked_notice_interval =
		(double)number(cfg, "blocked_notice_interval", DEFAULT_BLOCKED_NOTICE_INTERVAL);
	/* The mark of every notice sent in somebody's name, not only the
	 * responder's (proto/notice.h). */
	if (!dup_setting(cfg, "response_prefix", DEFAULT_RESPONSE_PREFIX, &p->response_prefix) ||
	    !dup_setting(cfg, "response_postfix", DEFAULT_RESPONSE_POSTFIX, &p->response_postfix))
		config_report_error(r, "out of memory");
	load_notice_sender(p, cfg, r);
	load_responder(p, cfg, r);
}

struct policy *policy_new_report(const struct imw_config *cfg, enum policy_mode mode,
				 struct config_report *report)
{
	struct policy *p = policy_alloc(mode);
	unsigned errors = report->errors;

	if (!p) {
		config_report_error(report, "out of memory");
		return NULL;
	}
	load_lists(p, cfg, report);
	load_rules(p, cfg, report);
	if (report->errors > errors) {
		policy_free(p);
		return NULL;
	}
	return p;
}

struct policy *policy_new(const struct imw_config *cfg, enum policy_mode mode, char *err,
			  size_t err_size)
{
	struct config_first_error fe;
	struct config_report r;

	config_report_first_error(&r, &fe, err, err_size, NULL);
	return policy_new_report(cfg, mode, &r);
}

bool policy_is_empty(const struct policy *p)
{
	size_t i;
	bool encrypted = false;

	for (i = 0; i < IMW_PROTO_MAX; i++)
		encrypted |= p->blocks.encrypted[i];
	return !p->have_badwords && !p->have_acl && !p->have_db && !p->regex.n &&
	       !p->blocks.files && !p->blocks.webcams && !encrypted && !p->notice_text &&
	       !p->blocked_notice_text && !p->have_responder;
}

void policy_take_history(struct policy *to, struct policy *from)
{
	if (!to || !from || to == from)
		return;
	pthread_mutex_lock(&from->lock);
	pthread_mutex_lock(&to->lock);
	notice_book_take(&to->notices, &from->notices);
	notice_book_take(&to->blocked_notices, &from->blocked_notices);
	/* Notices still owed to remote parties are owed by the new policy
	 * when it has a responder too (its file says who was told). */
	if (to->have_responder && !to->n_owed) {
		to->owed = from->owed;
		to->n_owed = from->n_owed;
		from->owed = NULL;
		from->n_owed = 0;
	}
	pthread_mutex_unlock(&to->lock);
	pthread_mutex_unlock(&from->lock);
}

void policy_decision_free(struct policy_decision *d)
{
	size_t i;

	free(d->text);
	free(d->pdu);
	free(d->inject_after);
	free(d->rule);
	free(d->categories);
	for (i = 0; i < d->n_notices; i++)
		free(d->notices[i]);
	for (i = 0; i < d->n_remote_notices; i++)
		free(d->remote_notices[i]);
	memset(d, 0, sizeof(*d));
}

void policy_get_stats(struct policy *p, struct policy_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->stats;
	out->db_errors = p->db.errors + p->responder.errors;
	pthread_mutex_unlock(&p->lock);
}

/* Events between two parties that IMSpector's filters judge. */
static bool judged_kind(enum im_kind k)
{
	return k == IM_KIND_MESSAGE || k == IM_KIND_TYPING || k == IM_KIND_FILE ||
	       k == IM_KIND_WEBCAM;
}

/* The rule that decided: "key=entry" ("key" alone without an entry); a
 * later decider (a block after a flag) replaces an earlier one. */
static void set_rule(struct policy *p, struct policy_decision *d, const char *key,
		     const char *entry)
{
	char *rule = NULL;

	if (asprintf(&rule, "%s%s%s", key, entry && *entry ? "=" : "", entry ? entry : "") < 0) {
		p->stats.alloc_failures++;
		return;
	}
	free(d->rule);
	d->rule = rule;
}

/* A flag: its category joins the event's (once each), its rule names it
 * unless something else decided. */
static void add_flag(struct policy *p, struct policy_decision *d, const char *category,
		     const char *key, const char *entry)
{
	const char *c = d->categories;
	size_t n = strlen(category);
	char *joined = NULL;

	while (c) {
		if (strncmp(c, category, n) == 0 && (c[n] == ',' || !c[n]))
			break;
		c = strchr(c, ',');
		c = c ? c + 1 : NULL;
	}
	if (!c) {
		if (asprintf(&joined, "%s%s%s", d->categories ? d->categories : "",
			     d->categories ? "," : "", category) < 0) {
			p->stats.alloc_failures++;
			return;
		}
		free(d->categories);
		d->categories = joined;
	}
	if (!d->rule)
		set_rule(p, d, key, entry);
}

static void block_rule(struct policy *p, struct policy_decision *d, const char *why,
		       const char *key, const char *entry)
{
	d->action = POLICY_BLOCK;
	d->filtered = true;
	d->why = why;
	set_rule(p, d, key, entry);
}

static void block(struct policy *p, struct policy_decision *d, const char *why)
{
	block_rule(p, d, why, why, NULL);
}

static void decide_blocks(struct policy *p, const struct im_event *ev, struct policy_decision *d)
{
	struct bytebuf refusal;

	if (!event_blocks_match(&p->blocks, ev))
		return;
	switch (ev->kind) {
	case IM_KIND_FILE:
		block(p, d, "block_files");
		return;
	case IM_KIND_WEBCAM:
		block(p, d, "block_webcams");
		return;
	default:
		break;
	}
	block(p, d, "block_encrypted");
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
	const char *key, *entry;

	if (!judged_kind(ev->kind) || !ev->remote)
		return;
	who.local = ev->local ? ev->local : "";
	who.remote = ev->remote;
	who.local_bare = bare_id(p, ev, who.local, &local_owned);
	who.remote_bare = bare_id(p, ev, who.remote, &remote_owned);
	who.group = ev->group;
	if (p->have_acl && acl_blocks_why(&p->acl, &who, &key, &entry)) {
		if (p->acl_flag)
			add_flag(p, d, p->acl_flag, key, entry);
		else
			block_rule(p, d, "acl", key, entry);
	} else if (p->have_db && dbfilter_blocks(&p->db, &who, ev->dir == IM_DIR_OUT, ev->ts)) {
		block_rule(p, d, "dbfilter", "db_filter_filename", NULL);
	}
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
	const struct regex_rule *why = NULL;
	const char *word = NULL, *rule_key = NULL, *rule_entry = NULL;
	char *cur = ev->text, *next;
	long bad;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return;
	if (p->have_badwords)
		word = badwords_first(&p->badwords, ev->text);
	if (word && p->badwords_flag) {
		add_flag(p, d, p->badwords_flag, "badwords_filename", word);
	} else if (word) {
		bad = badwords_censor(&p->badwords, cur, &next);
		if (bad < 0)
			p->stats.alloc_failures++;
		if (p->badwords.has_block_count && bad > (long)p->badwords.block_count) {
			free(next);
			block_rule(p, d, "badwords", "badwords_filename", word);
			return;
		}
		if (next) {
			adopt(&cur, ev->text, next);
			rule_key = "badwords_filename", rule_entry = word;
		}
	}
	if (p->regex.n) {
		rc = regex_rules_apply_why(&p->regex, cur, &next, &why);
		if (rc < 0)
			p->stats.alloc_failures++;
		if (rc == 2) {
			adopt(&cur, ev->text, ev->text);
			block_rule(p, d, "regex", "regex_replace", why ? why->spec : NULL);
			return;
		}
		if (rc == 1) {
			adopt(&cur, ev->text, next);
			if (!rule_key)
				rule_key = "regex_replace", rule_entry = why ? why->spec : NULL;
		}
	}
	if (cur != ev->text) {
		d->action = POLICY_REPLACE_TEXT;
		d->text = cur;
		d->why = "content";
		set_rule(p, d, rule_key ? rule_key : "content", rule_entry);
	}
}

/* regex_flag=: every rule that matches the original text adds its
 * category; whatever else happens to the event. */
static void decide_flags(struct policy *p, const struct im_event *ev, struct policy_decision *d)
{
	size_t i;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return;
	for (i = 0; i < p->flags.n; i++)
		if (regexec(&p->flags.v[i].re, ev->text, 0, NULL, 0) == 0)
			add_flag(p, d, p->flags.v[i].replacement, "regex_flag", p->flags.v[i].spec);
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

static char *take_text(struct policy *p, const char *text)
{
	char *copy = strdup(text);

	if (!copy)
		p->stats.alloc_failures++;
	return copy;
}

static void add_notice(struct policy *p, struct policy_decision *d, char *text, const char *key)
{
	if (!text)
		return;
	if (d->n_notices == POLICY_MAX_NOTICES) {
		free(text);
		return;
	}
	d->notice_keys[d->n_notices] = key;
	d->notices[d->n_notices++] = text;
	p->stats.notices++;
}

static void add_remote_notice(struct policy *p, struct policy_decision *d, char *text,
			      const char *key)
{
	if (!text)
		return;
	if (d->n_remote_notices == POLICY_MAX_NOTICES) {
		free(text);
		return;
	}
	d->remote_notice_keys[d->n_remote_notices] = key;
	d->remote_notices[d->n_remote_notices++] = text;
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
		add_notice(p, d, take_text(p, p->notice_text), "notice_text");
	if (p->blocked_notice_text && d->filtered &&
	    notice_book_due(&p->blocked_notices, key, ev->ts, p->blocked_notice_interval))
		add_notice(p, d, take_text(p, p->blocked_notice_text), "blocked_notice_text");
	free(key);
}

/* ---- IMSpector 0.9's responder ---------------------------------------- */

/* prefix + body [+ ": " + what] + postfix: the prefix and postfix mark a
 * text nobody in the conversation wrote. */
static char *response_text(struct policy *p, const char *body, const char *what)
{
	char *text = NULL;

	if (asprintf(&text, "%s%s%s%s%s", p->response_prefix, body, what ? ": " : "",
		     what ? what : "", p->response_postfix) < 0) {
		p->stats.alloc_failures++;
		return NULL;
	}
	return text;
}

static bool told(struct policy *p, const struct im_event *ev, const char *userid,
		 enum responder_type type)
{
	double period = type == RESPONDER_NOTICE ? p->responder_notice_period
						 : p->responder_filtered_period;

	return responder_told(&p->responder, event_proto_imspector_name(ev->proto), userid, type,
			      ev->ts, period);
}

static const char *responder_key(enum responder_type type)
{
	return type == RESPONDER_NOTICE ? "notice_response" : "filtered_response";
}

static void tell_local(struct policy *p, const struct im_event *ev, struct policy_decision *d,
		       const char *userid, enum responder_type type, char *text)
{
	if (!text)
		return;
	responder_mark(&p->responder, event_proto_imspector_name(ev->proto), userid, type, ev->ts);
	add_notice(p, d, text, responder_key(type));
}

/* The remote party hears it in the local user's name, on the local
 * user's server-bound stream: now when this PDU is outgoing, else with
 * the local user's next outgoing PDU of the conversation. */
static void tell_remote(struct policy *p, const struct im_event *ev, struct policy_decision *d,
			const char *userid, enum responder_type type, char *text)
{
	struct owed_notice *o;
	size_t i;

	if (!text)
		return;
	if (ev->dir == IM_DIR_OUT) {
		responder_mark(&p->responder, event_proto_imspector_name(ev->proto), userid, type,
			       ev->ts);
		add_remote_notice(p, d, text, responder_key(type));
		return;
	}
	for (i = 0; i < p->n_owed; i++) {
		if (p->owed[i].type == type && ids_equal(p->owed[i].userid, userid)) {
			free(text); /* owed already, in this or another conversation */
			return;
		}
	}
	if (!p->owed && !(p->owed = calloc(MAX_OWED_NOTICES, sizeof(*p->owed)))) {
		p->stats.alloc_failures++;
		free(text);
		return;
	}
	if (p->n_owed == MAX_OWED_NOTICES) {
		/* The oldest waited longest for a reply that never came. */
		owed_free(&p->owed[0]);
		memmove(p->owed, p->owed + 1, (p->n_owed - 1) * sizeof(*p->owed));
		p->n_owed--;
		p->stats.remote_notices_dropped++;
	}
	o = &p->owed[p->n_owed];
	o->type = type;
	o->text = text;
	o->conversation = conversation_key(ev);
	o->userid = strdup(userid);
	if (!o->conversation || !o->userid) {
		owed_free(o);
		p->stats.alloc_failures++;
		return;
	}
	p->n_owed++;
}

/* An outgoing PDU pays what its conversation owes the remote party. */
static void pay_owed(struct policy *p, const struct im_event *ev, struct policy_decision *d)
{
	char *key = conversation_key(ev);
	struct owed_notice o;
	size_t i = 0;

	if (!key) {
		p->stats.alloc_failures++;
		return;
	}
	while (i < p->n_owed) {
		if (strcmp(p->owed[i].conversation, key) != 0) {
			i++;
			continue;
		}
		o = p->owed[i];
		memmove(p->owed + i, p->owed + i + 1, (p->n_owed - i - 1) * sizeof(*p->owed));
		p->n_owed--;
		/* Someone may have told them meanwhile (another conversation). */
		if (!told(p, ev, o.userid, o.type)) {
			tell_remote(p, ev, d, o.userid, o.type, o.text);
			o.text = NULL;
		}
		owed_free(&o);
	}
	free(key);
}

/* IMSpector 0.9: every party of a conversation hears notice_response once
 * per notice_days; whoever sent what was blocked (a message or a file)
 * hears filtered_response and what it was, once per filtered_mins. A
 * group conversation's remote is a room, not a party: only the local
 * user is told there, and a blocked message tells its remote nothing
 * but that it was blocked when the remote sent it. Users are remembered
 * by their bare ids. */
static void decide_responder(struct policy *p, const struct im_event *ev,
			     struct policy_decision *d)
{
	char *local_owned, *remote_owned;
	const char *local, *remote, *what;
	bool out = ev->dir == IM_DIR_OUT;

	if (!p->have_responder || !ev->local || !ev->local[0] || !ev->remote || !ev->remote[0])
		return;
	local = bare_id(p, ev, ev->local, &local_owned);
	remote = bare_id(p, ev, ev->remote, &remote_owned);
	if (out && p->n_owed && ev->kind == IM_KIND_MESSAGE && d->action != POLICY_BLOCK)
		pay_owed(p, ev, d);
	if (ev->kind == IM_KIND_MESSAGE && p->responder_notice_period > 0) {
		if (!told(p, ev, local, RESPONDER_NOTICE))
			tell_local(p, ev, d, local, RESPONDER_NOTICE,
				   response_text(p, p->notice_response, NULL));
		/* What was blocked started no conversation with the remote. */
		if (!ev->group && !d->filtered && !told(p, ev, remote, RESPONDER_NOTICE))
			tell_remote(p, ev, d, remote, RESPONDER_NOTICE,
				    response_text(p, p->notice_response, NULL));
	}
	if (d->filtered && p->responder_filtered_period > 0 &&
	    (ev->kind == IM_KIND_MESSAGE || ev->kind == IM_KIND_FILE) && (out || !ev->group)) {
		what = ev->kind == IM_KIND_FILE && ev->file_name ? ev->file_name : ev->text;
		if (out && !told(p, ev, local, RESPONDER_FILTERED))
			tell_local(p, ev, d, local, RESPONDER_FILTERED,
				   response_text(p, p->filtered_response, what));
		else if (!out && !told(p, ev, remote, RESPONDER_FILTERED))
			tell_remote(p, ev, d, remote, RESPONDER_FILTERED,
				    response_text(p, p->filtered_response, what));
	}
	free(local_owned);
	free(remote_owned);
}

static void decide_all_notices(struct policy *p, const struct im_event *ev,
			       struct policy_decision *d)
{
	decide_notices(p, ev, d);
	decide_responder(p, ev, d);
	if ((d->n_notices || d->n_remote_notices) && (unsigned)ev->proto < IMW_PROTO_MAX)
		d->notice_from = p->notice_from[ev->proto];
	if (d->n_notices || d->n_remote_notices) {
		d->notice_prefix = p->response_prefix;
		d->notice_postfix = p->response_postfix;
	}
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
	{ "policy:regex_flag", ROUTE_STAGE_PRE, 50, false, decide_flags },
	{ "policy:block_files,block_webcams,block_encrypted", ROUTE_STAGE_PRE, 100, true,
	  decide_blocks },
	{ "policy:acl,db_filter", ROUTE_STAGE_PRE, 200, true, decide_parties },
	{ "policy:badwords,regex_replace", ROUTE_STAGE_PRE, 300, true, decide_content },
	/* and IMSpector 0.9's responder */
	{ "policy:notices", ROUTE_STAGE_POST, 100, false, decide_all_notices },
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
	if (st->fn == decide_all_notices)
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


void policy_decision_mark(const struct policy_decision *d, struct im_event *ev)
{
	ev->filtered = d->filtered;
	if (d->action == POLICY_BLOCK || d->action == POLICY_REPLACE_PDU)
		ev->action = EVENT_ACTION_BLOCKED;
	else if (d->action == POLICY_REPLACE_TEXT && d->text) {
		ev->action = EVENT_ACTION_MODIFIED;
		ev->delivered_text = d->text;
	}
	if (d->rule)
		ev->rule = d->rule;
	if (d->categories)
		ev->categories = d->categories;
}

void policy_notice_event(const struct policy_decision *d, const struct im_event *ev,
			 size_t i, bool to_remote, struct im_event *out)
{
	*out = *ev;
	/* towards the local client, or from it towards the remote */
	out->dir = to_remote ? IM_DIR_OUT : IM_DIR_IN;
	out->kind = IM_KIND_MESSAGE;
	out->content_type = "text/plain";
	out->text = to_remote ? d->remote_notices[i] : d->notices[i];
	out->rule = (char *)(to_remote ? d->remote_notice_keys[i] : d->notice_keys[i]);
	out->action = EVENT_ACTION_INJECTED;
	out->notice = true;
	out->filtered = false;
	out->categories = NULL;
	out->delivered_text = NULL;
	out->file_name = NULL;
	out->file_size = 0;
	out->has_file_size = false;
	out->auto_response = false;
	out->remote_address = NULL;
	out->remote_name = NULL;
	out->has_sent_ts = false;
	out->route = NULL;
	out->route_to = NULL;
	out->pdu_data = NULL;
	out->pdu_len = 0;
	out->has_text_span = false;
}
