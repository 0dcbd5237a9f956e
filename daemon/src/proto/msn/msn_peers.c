/* Who is in a switchboard conversation, when it becomes a group and
 * under which id (the rules are in msn.c), and the remote an event of
 * this conversation names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/msn/msn_internal.h"
#include "util/text.h"

/* The same bytes, the common case, need no case folding. */
static bool id_equal_len(const char *a, size_t a_len, struct span b)
{
	return a_len == b.len &&
	       (memcmp(a, b.p, b.len) == 0 || strncasecmp(a, (const char *)b.p, b.len) == 0);
}

static bool id_equal(const char *a, struct span b)
{
	return a && id_equal_len(a, strlen(a), b);
}

static bool is_local(struct proto_session *s, struct span id)
{
	return id_equal(s->local_id, id);
}

struct msn_peer *msn_peer_find(struct msn_state *st, struct span id)
{
	size_t i;

	for (i = 0; i < st->n_peers; i++)
		if (id_equal_len(st->peers[i].id, st->peers[i].id_len, id))
			return &st->peers[i];
	return NULL;
}

static int compare_ids(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* FNV-1a over the sorted, lower-cased ids, each followed by a NUL. */
static bool group_id_from_roster(struct proto_session *s, struct msn_state *st, char **out)
{
	const char **ids = calloc(st->n_peers + 1, sizeof(*ids));
	uint64_t h = 0xcbf29ce484222325ull;
	size_t n = 0, i;
	const char *c;

	if (!ids)
		return false;
	if (s->local_id && s->local_id[0])
		ids[n++] = s->local_id;
	for (i = 0; i < st->n_peers; i++)
		ids[n++] = st->peers[i].id;
	qsort(ids, n, sizeof(*ids), compare_ids);
	for (i = 0; i < n; i++) {
		for (c = ids[i];; c++) {
			uint8_t ch = (uint8_t)*c;

			if (ch >= 'A' && ch <= 'Z')
				ch = (uint8_t)(ch + 'a' - 'A');
			h = (h ^ ch) * 0x100000001b3ull;
			if (!*c)
				break;
		}
	}
	free(ids);
	return asprintf(out, "groupchat-%016llx", (unsigned long long)h) >= 0;
}

static int maybe_form_group(struct proto_session *s, struct msn_state *st)
{
	char *id = NULL;

	if (st->group_id || st->n_peers < 2)
		return 0;
	if (st->sb_session) {
		if (asprintf(&id, "groupchat-%s", st->sb_session) < 0)
			id = NULL;
	} else if (!group_id_from_roster(s, st, &id)) {
		id = NULL;
	}
	if (!id)
		return -1;
	st->group_id = id;
	return 0;
}

int msn_peer_add(struct proto_session *s, struct span id)
{
	struct msn_peer *found;

	return msn_peer_add_find(s, id, &found);
}

int msn_peer_add_find(struct proto_session *s, struct span id, struct msn_peer **found)
{
	struct msn_state *st = msn_state_of(s);
	struct msn_peer *p;

	*found = NULL;
	id = msn_user_id(id);
	if (id.len == 0 || is_local(s, id))
		return 0;
	*found = msn_peer_find(st, id);
	if (*found)
		return 0;
	if (st->n_peers == MSN_MAX_PEERS)
		return -1;
	if (st->n_peers == st->cap_peers) {
		size_t cap = st->cap_peers ? st->cap_peers * 2 : 4;

		p = realloc(st->peers, cap * sizeof(*p));
		if (!p)
			return -1;
		st->peers = p;
		st->cap_peers = cap;
	}
	p = &st->peers[st->n_peers];
	p->id = text_utf8_or_latin1(id.p, id.len);
	if (!p->id)
		return -1;
	p->id_len = strlen(p->id);
	st->n_peers++;
	if (maybe_form_group(s, st) < 0)
		return -1;
	*found = p;
	return 1;
}

bool msn_peer_remove(struct msn_state *st, struct span id)
{
	struct msn_peer *p = msn_peer_find(st, msn_user_id(id));

	if (!p)
		return false;
	free(p->id);
	*p = st->peers[--st->n_peers];
	return true;
}

const char *msn_conversation_remote(struct msn_state *st)
{
	if (st->group_id)
		return st->group_id;
	if (st->n_peers == 1)
		return st->peers[0].id;
	if (st->n_peers == 0 && st->called)
		return st->called;
	return "";
}

bool msn_set_local(struct proto_session *s, struct span id)
{
	id = msn_user_id(id);
	if (id.len == 0 || is_local(s, id))
		return true;
	return proto_session_set_local(s, (const char *)id.p, id.len);
}

bool msn_set_str_span(char **field, struct span v)
{
	char *copy = text_utf8_or_latin1(v.p, v.len);

	if (!copy)
		return false;
	free(*field);
	*field = copy;
	return true;
}

int msn_out_of_memory(struct proto_session *s, struct im_event *ev)
{
	event_free(ev);
	return proto_session_malformed(s, "out of memory");
}

int msn_emit_about(struct proto_session *s, enum im_dir dir, enum im_kind kind, struct span who,
		   const char *text)
{
	struct msn_state *st = msn_state_of(s);
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	ev.group = st->group_id != NULL;
	if (ev.group ? !event_set_str_brief(&ev.remote, st->group_id) || !event_set_text_brief(&ev.text, who.p, who.len)
		     : !event_set_text_brief(&ev.remote, who.p, who.len) || !event_set_str_brief(&ev.text, text))
		return msn_out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}
