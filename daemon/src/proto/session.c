/* Session helpers shared by every protocol module. */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "util/text.h"

int proto_session_init(struct proto_session *s, const struct proto_module *m, uint64_t flow_id,
		       const char *client, const struct proto_host *host)
{
	memset(s, 0, sizeof(*s));
	s->module = m;
	s->flow_id = flow_id;
	s->host = host;
	s->log_typing = true;
	s->client = client ? client : "";
	if (m->session_init && m->session_init(s) < 0) {
		s->client = NULL;
		return -1;
	}
	return 0;
}

const char *proto_session_share(struct proto_session *s, const char *v, size_t n)
{
	struct proto_directory *dir = proto_session_directory(s);

	return dir ? proto_directory_intern(dir, v, n) : text_dup(v, n);
}

void proto_session_unshare(struct proto_session *s, const char *v)
{
	struct proto_directory *dir = proto_session_directory(s);

	if (!v)
		return;
	if (dir)
		proto_directory_release(dir, v);
	else
		free((char *)(uintptr_t)v);
}

void proto_session_free(struct proto_session *s)
{
	if (s->module && s->module->session_free)
		s->module->session_free(s);
	free(s->local_id);
	free(s->local_address);
	proto_session_unshare(s, s->service);
	proto_session_unshare(s, s->server);
	memset(s, 0, sizeof(*s));
}

/* The directory key under which a client host's user is known:
 * "local@" and the client's address without its port. */
static size_t local_key(const struct proto_session *s, char *key, size_t cap)
{
	const char *colon = s->client ? strrchr(s->client, ':') : NULL;
	size_t host = colon ? (size_t)(colon - s->client) : 0;
	static const char tag[] = "local@";

	if (!host || sizeof(tag) - 1 + host > cap)
		return 0;
	memcpy(key, tag, sizeof(tag) - 1);
	memcpy(key + sizeof(tag) - 1, s->client, host);
	return sizeof(tag) - 1 + host;
}

bool proto_session_set_local(struct proto_session *s, const char *id, size_t len)
{
	char *copy = text_dup(id, len), key[PROTO_DIRECTORY_KEY_MAX];
	struct proto_directory *dir = proto_session_directory(s);
	size_t key_len;

	if (!copy)
		return false;
	free(s->local_id);
	s->local_id = copy;
	/* Other connections of this client host (an MSN switchboard, an
	 * OSCAR chat or file connection) picked up mid-stream, whose own
	 * PDUs never name the user, can then say who it probably is. */
	if (dir && copy[0] && (key_len = local_key(s, key, sizeof(key))) > 0)
		proto_directory_put(dir, s->module->id, (const uint8_t *)key, key_len, copy);
	return true;
}

bool proto_session_set_local_address(struct proto_session *s, const char *addr, size_t len)
{
	char *copy = text_dup(addr, len);

	if (!copy)
		return false;
	free(s->local_address);
	s->local_address = copy;
	return true;
}

bool proto_session_set_service(struct proto_session *s, const char *name, size_t len)
{
	/* Sessions of one network name it alike. */
	const char *copy = proto_session_share(s, name, len);

	if (!copy)
		return false;
	proto_session_unshare(s, s->service);
	s->service = copy;
	return true;
}

void proto_event_begin(struct proto_session *s, struct im_event *ev, enum im_dir dir,
		       enum im_kind kind)
{
	event_init(ev);
	ev->proto = s->module->id;
	ev->dir = dir;
	ev->kind = kind;
	ev->flow_id = s->flow_id;
	if (s->pdu) {
		ev->ts = s->pdu->ts;
		ev->pdu_offset = s->pdu->offset;
		ev->pdu_len = s->pdu->len;
		ev->pdu_data = s->pdu->data;
	}
}

void proto_event_emit(struct proto_session *s, struct im_event *ev)
{
	/* "" and the session's own strings are lent to the event for the
	 * emit callback (which copies what it keeps), not copied into it:
	 * this runs for every event. */
	static const char empty[] = "";
	char *const none = (char *)empty;
	struct proto_directory *dir = proto_session_directory(s);
	bool lent_local = !ev->local, lent_remote = !ev->remote, lent_client = !ev->client,
	     lent_text = !ev->text, lent_server = true, lent_session = true,
	     lent_community = true;

	/* Fill the session-wide fields last so a module may override them. */
	if (!ev->local && !s->local_id && dir) {
		/* Not named on this connection: the user another connection of
		 * the same client host named, said to be inferred. */
		char key[PROTO_DIRECTORY_KEY_MAX];
		size_t key_len = local_key(s, key, sizeof(key));
		const char *known =
			key_len ? proto_directory_get(dir, s->module->id, (const uint8_t *)key, key_len)
				: NULL;

		if (known) {
			ev->local = (char *)known;
			ev->ids_inferred = true;
		}
	}
	if (!ev->local)
		ev->local = s->local_id ? s->local_id : none;
	if (!ev->remote)
		ev->remote = none;
	if (!ev->client)
		ev->client = s->client ? (char *)(uintptr_t)s->client : none;
	if (!ev->server && s->server)
		ev->server = (char *)(uintptr_t)s->server;
	else
		lent_server = false;
	if (!ev->session && s->session_id)
		ev->session = (char *)(uintptr_t)s->session_id;
	else
		lent_session = false;
	if (!ev->community_id && s->community_id)
		ev->community_id = (char *)(uintptr_t)s->community_id;
	else
		lent_community = false;
	if (!ev->text)
		ev->text = none;
	if (ev->kind != IM_KIND_TYPING || s->log_typing) {
		s->stats.events++;
		if (s->host && s->host->emit)
			s->host->emit(s->host->emit_arg, ev);
	}
	if (lent_local)
		ev->local = NULL;
	if (lent_remote)
		ev->remote = NULL;
	if (lent_client)
		ev->client = NULL;
	if (lent_text)
		ev->text = NULL;
	if (lent_server)
		ev->server = NULL;
	if (lent_session)
		ev->session = NULL;
	if (lent_community)
		ev->community_id = NULL;
	/* Done with: its strings freed, the rest left (no clear of the
	 * whole struct per event); the next event starts at
	 * proto_event_begin's event_init. */
	event_release_strings(ev);
}

void proto_file_piece(struct proto_session *s, const struct proto_file_piece *p)
{
	if (s->host && s->host->file)
		s->host->file(s->host->file_arg, s, p);
}

int proto_session_malformed(struct proto_session *s, const char *reason)
{
	s->stats.malformed++;
	s->last_error = reason;
	return -1;
}
