/* IMSpector's file-backed ACL: a whitelist and a blacklist, each a list of
 * lines "local: remote remote ...".
 *
 * Order, as IMSpector documents it: the whitelist first, and a pair it
 * lists passes without looking at the blacklist; a pair the blacklist
 * lists is blocked; a local id that has a whitelist line may talk to the
 * remotes on it "but none else"; anything no list mentions passes, unless
 * block_unlisted=on. Ids compare case-insensitively, a listed bare XMPP
 * JID matching every resource of it (see struct parties). */
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
	list_free(&a->white);
	list_free(&a->black);
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

bool acl_blocks(const struct acl *a, const struct parties *who)
{
	int white = lookup(&a->white, who);

	if (white == 1)
		return false;
	if (lookup(&a->black, who) == 1)
		return true;
	if (white == 0)
		return true;
	return a->block_unlisted;
}
