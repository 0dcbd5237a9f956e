#include "event/event.h"

#include <stdlib.h>
#include <string.h>

#include "util/text.h"

void event_init(struct im_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->content_type = "text/plain";
}

void event_free(struct im_event *ev)
{
	free(ev->local);
	free(ev->remote);
	free(ev->client);
	free(ev->remote_address);
	free(ev->route_to);
	free(ev->text);
	free(ev->file_name);
	free(ev->file.mime);
	free(ev->file.stored);
	free(ev->file.signature);
	free(ev->remote_name);
	free(ev->notice_from);
	free(ev->notice_prefix);
	free(ev->notice_postfix);
	event_init(ev);
}

bool event_set(char **field, const char *p, size_t n)
{
	char *s = text_dup(p, n);

	if (!s)
		return false;
	free(*field);
	*field = s;
	return true;
}

bool event_set_str(char **field, const char *s)
{
	return event_set(field, s ? s : "", s ? strlen(s) : 0);
}

bool event_copy(struct im_event *dst, const struct im_event *src)
{
	*dst = *src;
	dst->local = dst->remote = dst->client = dst->text = dst->file_name = NULL;
	dst->remote_address = dst->route_to = dst->remote_name = dst->notice_from = NULL;
	dst->file.mime = dst->file.stored = dst->file.signature = NULL;
	dst->notice_prefix = dst->notice_postfix = NULL;
	dst->pdu_data = NULL; /* transient: valid only during the emit callback */
	if ((src->local && !event_set_str(&dst->local, src->local)) ||
	    (src->remote && !event_set_str(&dst->remote, src->remote)) ||
	    (src->client && !event_set_str(&dst->client, src->client)) ||
	    (src->remote_address && !event_set_str(&dst->remote_address, src->remote_address)) ||
	    (src->route_to && !event_set_str(&dst->route_to, src->route_to)) ||
	    (src->text && !event_set_str(&dst->text, src->text)) ||
	    (src->file_name && !event_set_str(&dst->file_name, src->file_name)) ||
	    (src->file.mime && !event_set_str(&dst->file.mime, src->file.mime)) ||
	    (src->file.stored && !event_set_str(&dst->file.stored, src->file.stored)) ||
	    (src->file.signature && !event_set_str(&dst->file.signature, src->file.signature)) ||
	    (src->remote_name && !event_set_str(&dst->remote_name, src->remote_name)) ||
	    (src->notice_from && !event_set_str(&dst->notice_from, src->notice_from)) ||
	    (src->notice_prefix && !event_set_str(&dst->notice_prefix, src->notice_prefix)) ||
	    (src->notice_postfix && !event_set_str(&dst->notice_postfix, src->notice_postfix))) {
		event_free(dst);
		return false;
	}
	return true;
}

static const char *const kind_names[IM_KIND_COUNT] = {
	[IM_KIND_MESSAGE] = "message",
	[IM_KIND_TYPING] = "typing",
	[IM_KIND_FILE] = "file",
	[IM_KIND_WEBCAM] = "webcam",
	[IM_KIND_PRESENCE] = "presence",
	[IM_KIND_LOGIN] = "login",
	[IM_KIND_LOGOUT] = "logout",
	[IM_KIND_JOIN] = "join",
	[IM_KIND_PART] = "part",
	[IM_KIND_CONTACTS] = "contacts",
	[IM_KIND_ENCRYPTED] = "encrypted",
	[IM_KIND_ERROR] = "error",
	[IM_KIND_RENDEZVOUS] = "rendezvous",
	[IM_KIND_TOPIC] = "topic",
};

const char *event_kind_name(enum im_kind kind)
{
	if ((unsigned)kind >= IM_KIND_COUNT)
		return "unknown";
	return kind_names[kind];
}

static const char *const file_state_names[IM_FILE_STATE_COUNT] = {
	[IM_FILE_OFFERED] = "offered",
	[IM_FILE_COMPLETE] = "complete",
	[IM_FILE_INCOMPLETE] = "incomplete",
	[IM_FILE_CUT] = "cut",
};

const char *event_file_state_name(enum im_file_state state)
{
	return (unsigned)state < IM_FILE_STATE_COUNT ? file_state_names[state] : "unknown";
}

static const char *const scan_names[IM_SCAN_COUNT] = {
	[IM_SCAN_NONE] = "",
	[IM_SCAN_CLEAN] = "clean",
	[IM_SCAN_INFECTED] = "infected",
	[IM_SCAN_ERROR] = "error",
	[IM_SCAN_TIMEOUT] = "timeout",
};

const char *event_scan_name(enum im_scan scan)
{
	return (unsigned)scan < IM_SCAN_COUNT ? scan_names[scan] : "unknown";
}

const char *event_category_names(uint32_t categories, char *buf, size_t size)
{
	static const char *const names[] = { "malware", "unscanned" };
	size_t i, used = 0, n;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(categories & (1u << i)))
			continue;
		n = strlen(names[i]);
		if (used + (used ? 1 : 0) + n + 1 > size)
			break; /* the caller's buffer holds every name (64 bytes do) */
		if (used)
			buf[used++] = ',';
		memcpy(buf + used, names[i], n + 1);
		used += n;
	}
	return buf;
}

/* Both name tables and the accepted names, from the protocol table
 * (include/imwire/protocols.h). */
#define NAME_ROW(ID, num, nm, ...) [IMW_PROTO_##ID] = #nm,
#define IMSPECTOR_ROW(ID, num, nm, ims, ...) [IMW_PROTO_##ID] = ims,
#define CONFIG_NAME_ROW(ID, num, nm, ims, cfg, ...) [IMW_PROTO_##ID] = IMW_PROTO_STR(cfg),
#define ALSO_ROW(ID, num, nm, ims, cfg, alt, ...) [IMW_PROTO_##ID] = IMW_PROTO_STR(alt),

static const char *const proto_names[IMW_PROTO_MAX] = {
	[IMW_PROTO_NONE] = "none",
	IMW_PROTOCOLS(NAME_ROW)
};

/* IMSpector's own protocol names, the first path element of its file logs. */
static const char *const imspector_names[IMW_PROTO_MAX] = {
	[IMW_PROTO_NONE] = "none",
	IMW_PROTOCOLS(IMSPECTOR_ROW)
};

/* IMSpector's configuration names (`icq_protocol=on`, `jabber_protocol=on`)
 * and one more accepted name ("aim"), "" when there is none. */
static const char *const config_names[IMW_PROTO_MAX] = {
	[IMW_PROTO_NONE] = "",
	IMW_PROTOCOLS(CONFIG_NAME_ROW)
};

static const char *const also_names[IMW_PROTO_MAX] = {
	[IMW_PROTO_NONE] = "",
	IMW_PROTOCOLS(ALSO_ROW)
};

const char *event_proto_name(enum imw_proto proto)
{
	if ((unsigned)proto >= IMW_PROTO_MAX)
		return "unknown";
	return proto_names[proto];
}

const char *event_proto_imspector_name(enum imw_proto proto)
{
	if ((unsigned)proto >= IMW_PROTO_MAX)
		return "unknown";
	return imspector_names[proto];
}

enum imw_proto event_proto_from_name(const char *name)
{
	int i;

	for (i = 1; i < IMW_PROTO_MAX; i++)
		if (strcmp(proto_names[i], name) == 0 || strcmp(config_names[i], name) == 0 ||
		    (*also_names[i] && strcmp(also_names[i], name) == 0))
			return (enum imw_proto)i;
	return IMW_PROTO_NONE;
}

enum imspector_type event_imspector_type(enum im_kind kind)
{
	switch (kind) {
	case IM_KIND_MESSAGE:
		return IMSPECTOR_TYPE_MSG;
	case IM_KIND_FILE:
		return IMSPECTOR_TYPE_FILE;
	case IM_KIND_TYPING:
		return IMSPECTOR_TYPE_TYPING;
	case IM_KIND_WEBCAM:
		return IMSPECTOR_TYPE_WEBCAM;
	default:
		return IMSPECTOR_TYPE_OTHER;
	}
}
