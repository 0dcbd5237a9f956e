#include "event/event.h"

#include <stdlib.h>
#include <string.h>

#include "util/text.h"

/* The strings event_set_brief and its kind made, while their events
 * live: a bump allocator that starts over when the last of them is
 * released (after every emitted event, as a decoder makes them one at a
 * time). One per thread, so no lock: a decoder's event is made, emitted
 * and released on one thread. Static storage: nothing to free. */
#define EVENT_SCRATCH_BYTES 4096

struct event_scratch {
	size_t used; /* bytes of mem handed out since it was last empty */
	size_t live; /* strings handed out and not released yet */
	char mem[EVENT_SCRATCH_BYTES];
};

static _Thread_local struct event_scratch scratch;

static bool in_scratch(const char *p)
{
	return (uintptr_t)p - (uintptr_t)scratch.mem < EVENT_SCRATCH_BYTES;
}

/* n bytes of the scratch block, or of the heap when they do not fit
 * there; NULL only on allocation failure. */
static char *scratch_get(size_t n)
{
	char *p;

	if (n > EVENT_SCRATCH_BYTES - scratch.used)
		return malloc(n);
	p = scratch.mem + scratch.used;
	scratch.used += n;
	scratch.live++;
	return p;
}

/* Give back a string of an event field: a scratch string is counted
 * off (the block starts over when none is left), any other freed. */
static void string_release(char *p)
{
	if (!in_scratch(p)) {
		free(p);
		return;
	}
	if (--scratch.live == 0)
		scratch.used = 0;
}

void event_init(struct im_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->content_type = "text/plain";
}

/* Every owned string field of an event, freed by event_free and
 * packed by event_copy_packed: a field added to struct im_event is added
 * here. */
#define EVENT_STRING_FIELDS(X)                                                                 \
	X(local) X(remote) X(client) X(remote_address) X(route_to) X(text) X(file_name)       \
	X(remote_name) X(notice_from) X(server) X(session) X(community_id) X(rule)           \
	X(categories) X(delivered_text) X(notice_prefix) X(notice_postfix) X(file.mime)      \
	X(file.stored) X(file.signature)

#define EVENT_COUNT_ONE(f) +1
#define EVENT_STRINGS (0 EVENT_STRING_FIELDS(EVENT_COUNT_ONE))

static void string_fields(struct im_event *ev, char **f[EVENT_STRINGS])
{
	size_t i = 0;

#define EVENT_FIELD_PTR(name) f[i++] = &ev->name;
	EVENT_STRING_FIELDS(EVENT_FIELD_PTR)
#undef EVENT_FIELD_PTR
}

void event_release_strings(struct im_event *ev)
{
	/* Field by field rather than through string_fields' table: this runs
	 * for every event, and most fields are unset on most events. */
#define EVENT_FREE_FIELD(name)           \
	if (ev->name) {                  \
		string_release(ev->name); \
		ev->name = NULL;         \
	}
	EVENT_STRING_FIELDS(EVENT_FREE_FIELD)
#undef EVENT_FREE_FIELD
}

void event_free(struct im_event *ev)
{
	event_release_strings(ev);
	event_init(ev);
}

bool event_set(char **field, const char *p, size_t n)
{
	char *s = text_dup(p, n);

	if (!s)
		return false;
	if (*field)
		string_release(*field);
	*field = s;
	return true;
}

bool event_set_str(char **field, const char *s)
{
	return event_set(field, s ? s : "", s ? strlen(s) : 0);
}

void event_take(char **field, char *s)
{
	if (*field)
		string_release(*field);
	*field = s;
}

bool event_set_brief(char **field, const char *p, size_t n)
{
	char *s = scratch_get(n + 1);

	if (!s)
		return false;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	event_take(field, s);
	return true;
}

bool event_set_str_brief(char **field, const char *s)
{
	return event_set_brief(field, s ? s : "", s ? strlen(s) : 0);
}

bool event_set_text_brief(char **field, const uint8_t *p, size_t n)
{
	char *s = scratch_get(n + 1);

	if (!s)
		return false;
	if (text_copy_valid_utf8(s, p, n) != n) {
		/* Not UTF-8 throughout (rare): the Latin-1 conversion, on the heap. */
		string_release(s);
		s = text_utf8_or_latin1(p, n);
		if (!s)
			return false;
	} else {
		s[n] = '\0';
	}
	event_take(field, s);
	return true;
}

bool event_copy(struct im_event *dst, const struct im_event *src)
{
	struct im_event orig = *src; /* its string pointers, read only */
	char **from[EVENT_STRINGS], **to[EVENT_STRINGS];
	size_t i;

	*dst = *src;
	dst->pdu_data = NULL; /* transient: valid only during the emit callback */
	string_fields(&orig, from);
	string_fields(dst, to);
	for (i = 0; i < EVENT_STRINGS; i++)
		*to[i] = NULL;
	for (i = 0; i < EVENT_STRINGS; i++) {
		if (*from[i] && !event_set_str(to[i], *from[i])) {
			event_free(dst);
			return false;
		}
	}
	return true;
}

/* Copy n bytes (a string and its terminator, n >= 1) from s to d. Most of
 * an event's strings are short (an "ip:port", a user id): up to 32 bytes
 * they go as two overlapping fixed-size moves, which the compiler makes
 * plain loads and stores, rather than through a call to memcpy. */
static inline void copy_string_bytes(char *d, const char *s, size_t n)
{
	if (n <= 3) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	} else if (n <= 8) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else if (n <= 16) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n <= 32) {
		memcpy(d, s, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else {
		memcpy(d, s, n);
	}
}

/* Field by field, like event_free: most fields are unset on most events. */
bool event_pack(struct im_event *dst, const struct im_event *src, char *mem, size_t room,
		size_t *used)
{
	size_t n, left = room;

	*dst = *src;
	dst->pdu_data = NULL; /* transient: valid only during the emit callback */
#define EVENT_PACK_FIELD(name)                          \
	if (src->name) {                                \
		n = strlen(src->name) + 1;              \
		if (n > left)                           \
			return false;                   \
		copy_string_bytes(mem, src->name, n);   \
		dst->name = mem;                        \
		mem += n;                               \
		left -= n;                              \
	}
	EVENT_STRING_FIELDS(EVENT_PACK_FIELD)
#undef EVENT_PACK_FIELD
	*used = room - left;
	return true;
}

/* The bytes event_pack needs for src's strings. */
static size_t packed_size(const struct im_event *src)
{
	size_t total = 0;

#define EVENT_SIZE_FIELD(name)                     \
	if (src->name)                             \
		total += strlen(src->name) + 1;
	EVENT_STRING_FIELDS(EVENT_SIZE_FIELD)
#undef EVENT_SIZE_FIELD
	return total;
}

bool event_copy_packed(struct im_event *dst, const struct im_event *src, void **block)
{
	size_t total = packed_size(src), used;

	*block = malloc(total ? total : 1);
	if (!*block || !event_pack(dst, src, *block, total, &used)) {
		/* the pack cannot fail with room for every string */
		free(*block);
		*block = NULL;
		event_init(dst);
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
	[IM_KIND_AUDIT] = "audit",
	[IM_KIND_POLICY_FAILURE] = "policy_failure",
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
