/* IMSpector's file-backed ACLs, in both formats it had.
 *
 * 0.5: a whitelist and a blacklist, each a list of lines "local: remote
 * remote ...". Order, as IMSpector documents it: the whitelist first, and
 * a pair it lists passes without looking at the blacklist; a pair the
 * blacklist lists is blocked; a local id that has a whitelist line may
 * talk to the remotes on it "but none else"; anything no list mentions
 * passes, unless block_unlisted=on.
 *
 * 0.9 (acl_filename): one file of rules "allow|deny LOCAL|all [REMOTE
 * ...]", read top to bottom, the first rule that matches decides. "all"
 * as the local id matches every local id; no remote ids match every
 * remote; the remote id "groupchat" matches every group conversation
 * (channel, room); a listed id without a user part ("example.com" or
 * "@example.com") matches everyone at that domain. When no rule matches
 * the event passes ("deny all" at the end says otherwise).
 *
 * Both may be configured: an event must pass both. Ids compare
 * case-insensitively, a listed bare XMPP JID matching every resource of it
 * (see struct parties). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/filters.h"

static int add_line(void *arg, const char *path, unsigned line, char *text, char *err,
		    size_t err_size)
{
	struct acl_list *l = arg;
	char *colon = strchr(text, ':'), *tok, *save = NULL, *local_end;
	struct acl_entry *grown, *e;
	char **remotes;

	if (!colon) {
		snprintf(err, err_size, "%s:%u: expected \"local: remote remote ...\", got \"%.80s\"",
			 path, line, text);
		return -1;
	}
	local_end = colon;
	while (local_end > text && (local_end[-1] == ' ' || local_end[-1] == '\t'))
		local_end--;
	if (local_end == text) {
		snprintf(err, err_size, "%s:%u: missing local id before ':'", path, line);
		return -1;
	}
	*local_end = '\0';
	grown = realloc(l->v, (l->n + 1) * sizeof(*grown));
	if (!grown)
		goto oom;
	l->v = grown;
	e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	e->local = strdup(text);
	if (!e->local)
		goto oom;
	l->n++;
	for (tok = strtok_r(colon + 1, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		remotes = realloc(e->remotes, (e->n_remotes + 1) * sizeof(*remotes));
		if (!remotes)
			goto oom;
		e->remotes = remotes;
		e->remotes[e->n_remotes] = strdup(tok);
		if (!e->remotes[e->n_remotes])
			goto oom;
		e->n_remotes++;
	}
	return 0;
oom:
	snprintf(err, err_size, "%s: out of memory", path);
	return -1;
}

int acl_list_load(struct acl_list *l, const char *path, char *err, size_t err_size)
{
	return listfile_read(path, add_line, l, err, err_size);
}

int acl_list_load_report(struct acl_list *l, const char *path, struct config_report *r)
{
	return listfile_read_report(path, add_line, l, r);
}

static bool add_remote(struct acl_rule *rule, const char *tok)
{
	char **grown = realloc(rule->remotes, (rule->n_remotes + 1) * sizeof(*grown));

	if (!grown)
		return false;
	rule->remotes = grown;
	rule->remotes[rule->n_remotes] = strdup(tok);
	if (!rule->remotes[rule->n_remotes])
		return false;
	rule->n_remotes++;
	return true;
}

static void rule_free(struct acl_rule *rule)
{
	size_t i;

	for (i = 0; i < rule->n_remotes; i++)
		free(rule->remotes[i]);
	free(rule->remotes);
	free(rule->local);
	free(rule->text);
	memset(rule, 0, sizeof(*rule));
}

static int add_rule(void *arg, const char *path, unsigned line, char *text, char *err,
		    size_t err_size)
{
	struct acl_rules *rules = arg;
	struct acl_rule rule, *grown;
	char *whole = strdup(text), *save = NULL, *action = strtok_r(text, " \t", &save);
	char *local = strtok_r(NULL, " \t", &save), *tok;

	memset(&rule, 0, sizeof(rule));
	rule.text = whole; /* freed with the rule */
	if (!whole)
		goto oom;
	if (strcmp(action, "allow") == 0) {
		rule.allow = true;
	} else if (strcmp(action, "deny") != 0) {
		snprintf(err, err_size, "%s:%u: expected \"allow\" or \"deny\" first, got \"%.80s\"",
			 path, line, action);
		rule_free(&rule);
		return -1;
	}
	if (!local) {
		snprintf(err, err_size, "%s:%u: %s: missing the local id (or \"all\")", path, line,
			 action);
		rule_free(&rule);
		return -1;
	}
	if (strcmp(local, "all") != 0 && !(rule.local = strdup(local)))
		goto oom;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		if (strcmp(tok, "groupchat") == 0)
			rule.groupchat = true;
		else if (strcmp(tok, "all") == 0)
			rule.any_remote = true;
		else if (!add_remote(&rule, tok))
			goto oom;
	}
	grown = realloc(rules->v, (rules->n + 1) * sizeof(*grown));
	if (!grown)
		goto oom;
	rules->v = grown;
	rules->v[rules->n++] = rule;
	return 0;
oom:
	rule_free(&rule);
	snprintf(err, err_size, "%s: out of memory", path);
	return -1;
}

int acl_rules_load(struct acl_rules *rules, const char *path, struct config_report *r)
{
	return listfile_read_report(path, add_rule, rules, r);
}

static void list_free(struct acl_list *l)
{
	size_t i, j;

	for (i = 0; i < l->n; i++) {
		for (j = 0; j < l->v[i].n_remotes; j++)
			free(l->v[i].remotes[j]);
		free(l->v[i].remotes);
		free(l->v[i].local);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void acl_free(struct acl *a)
{
	size_t i;

	list_free(&a->white);
	list_free(&a->black);
	for (i = 0; i < a->rules.n; i++)
		rule_free(&a->rules.v[i]);
	free(a->rules.v);
	a->rules.v = NULL;
	a->rules.n = 0;
}

bool acl_id_matches(const char *listed, const char *id, const char *bare)
{
	const char *domain = listed[0] == '@' ? listed + 1 : listed, *at;

	if (party_matches(listed, id, bare))
		return true;
	/* A domain names everyone there; a listed user@domain only that one. */
	if (!*domain || strchr(domain, '@') || !(at = strrchr(bare ? bare : id, '@')))
		return false;
	return ids_equal(domain, at + 1);
}

static bool rule_matches(const struct acl_rule *rule, const struct parties *who)
{
	size_t i;

	if (rule->local && !acl_id_matches(rule->local, who->local, who->local_bare))
		return false;
	if (rule->any_remote || (!rule->n_remotes && !rule->groupchat))
		return true;
	if (rule->groupchat && who->group)
		return true;
	for (i = 0; i < rule->n_remotes; i++)
		if (acl_id_matches(rule->remotes[i], who->remote, who->remote_bare))
			return true;
	return false;
}

/* 0.9: the first rule that matches decides; none, the event passes. */
static const struct acl_rule *rules_decide(const struct acl_rules *rules,
					   const struct parties *who)
{
	size_t i;

	for (i = 0; i < rules->n; i++)
		if (rule_matches(&rules->v[i], who))
			return &rules->v[i];
	return NULL;
}

/* 1: the pair is listed; 0: the local id has a line without the remote;
 * -1: the local id has no line. */
static int lookup(const struct acl_list *l, const struct parties *who)
{
	size_t i, j;
	int found = -1;

	for (i = 0; i < l->n; i++) {
		if (!party_matches(l->v[i].local, who->local, who->local_bare))
			continue;
		found = 0;
		for (j = 0; j < l->v[i].n_remotes; j++)
			if (party_matches(l->v[i].remotes[j], who->remote, who->remote_bare))
				return 1;
	}
	return found;
}

/* 0.5's white and black lists; *key says which decided a block. */
static bool lists_block(const struct acl *a, const struct parties *who, const char **key)
{
	int white = lookup(&a->white, who);

	if (white == 1)
		return false;
	if (lookup(&a->black, who) == 1) {
		*key = "blacklist_filename";
		return true;
	}
	if (white == 0) {
		*key = "whitelist_filename";
		return true;
	}
	*key = "block_unlisted";
	return a->block_unlisted;
}

bool acl_blocks_why(const struct acl *a, const struct parties *who, const char **key,
		    const char **entry)
{
	const struct acl_rule *rule;

	*entry = "";
	if (a->have_lists && lists_block(a, who, key)) {
		if (strcmp(*key, "block_unlisted") != 0)
			*entry = who->local;
		return true;
	}
	rule = rules_decide(&a->rules, who);
	if (!rule || rule->allow)
		return false;
	*key = "acl_filename";
	*entry = rule->text ? rule->text : "";
	return true;
}

bool acl_blocks(const struct acl *a, const struct parties *who)
{
	const char *key, *entry;

	return acl_blocks_why(a, who, &key, &entry);
}
