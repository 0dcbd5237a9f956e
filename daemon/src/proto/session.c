/* Session helpers shared by every protocol module. */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "util/text.h"

int proto_session_init(struct proto_session *s, const struct proto_module *m, uint64_t flow_id,
		       const char *client, proto_emit_fn emit, void *emit_arg)
{
	memset(s, 0, sizeof(*s));
	s->module = m;
	s->flow_id = flow_id;
	s->emit = emit;
	s->emit_arg = emit_arg;
	s->log_typing = true;
	s->client = text_dup(client ? client : "", client ? strlen(client) : 0);
	if (!s->client)
		return -1;
	if (m->session_init && m->session_init(s) < 0) {
		free(s->client);
		s->client = NULL;
		return -1;
	}
	return 0;
}

void proto_session_free(struct proto_session *s)
{
	if (s->module && s->module->session_free)
		s->module->session_free(s);
	free(s->client);
	free(s->local_id);
	free(s->local_address);
	free(s->service);
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
	size_t key_len;

	if (!copy)
		return false;
	free(s->local_id);
	s->local_id = copy;
	/* Other connections of this client host (an MSN switchboard, an
	 * OSCAR chat or file connection) picked up mid-stream, whose own
	 * PDUs never name the user, can then say who it probably is. */
	if (s->directory && copy[0] && (key_len = local_key(s, key, sizeof(key))) > 0)
		proto_directory_put(s->directory, s->module->id, (const uint8_t *)key, key_len,
				    copy);
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
	char *copy = text_dup(name, len);

	if (!copy)
		return false;
	free(s->service);
	s->service = copy;
	return true;
}

void proto_event_begin(struct proto_session *s, struct im_event *ev, enum im_dir dir,
		       enum im_kind kind)
{
	event_init(ev);
	ev->ts = s->ts;
	ev->proto = s->module->id;
	ev->dir = dir;
	ev->kind = kind;
	ev->flow_id = s->flow_id;
	ev->pdu_offset = s->pdu_offset;
	ev->pdu_len = s->pdu_len;
	ev->pdu_data = s->pdu_data;
}

void proto_event_emit(struct proto_session *s, struct im_event *ev)
{
	/* Fill the session-wide fields last so a module may override them. */
	if (!ev->local && !s->local_id && s->directory) {
		/* Not named on this connection: the user another connection of
		 * the same client host named, said to be inferred. */
		char key[PROTO_DIRECTORY_KEY_MAX];
		size_t key_len = local_key(s, key, sizeof(key));
		const char *known = key_len ? proto_directory_get(s->directory, s->module->id,
								  (const uint8_t *)key, key_len)
					    : NULL;

		if (known && event_set_str(&ev->local, known))
			ev->ids_inferred = true;
	}
	if (!ev->local)
		event_set_str(&ev->local, s->local_id ? s->local_id : "");
	if (!ev->remote)
		event_set_str(&ev->remote, "");
	if (!ev->client)
		event_set_str(&ev->client, s->client);
	if (!ev->text)
		event_set_str(&ev->text, "");
	if (ev->local && ev->remote && ev->client && ev->text &&
	    (ev->kind != IM_KIND_TYPING || s->log_typing)) {
		s->stats.events++;
		if (s->emit)
			s->emit(s->emit_arg, ev);
	}
	event_free(ev);
}

void proto_file_piece(struct proto_session *s, const struct proto_file_piece *p)
{
	if (s->file)
		s->file(s->file_arg, s, p);
}

int proto_session_malformed(struct proto_session *s, const char *reason)
{
	s->stats.malformed++;
	s->last_error = reason;
	return -1;
}
