/* MSN Messenger (MSNP), notification server and switchboard sessions.
 *
 * Every command is one CRLF-terminated line: a three-character command
 * (or a three-digit error code), usually a transaction id, then
 * space-separated arguments. Payload commands (MSG, UUX, ADL, NOT...)
 * end their line with a byte count, and exactly that many bytes of
 * payload follow: for MSG a MIME message whose Content-Type says what it
 * is (text, typing, invitation, P2P).
 *
 * Identities: the local id comes from USR (both server kinds) or ANS; the
 * peers of a switchboard from CAL, JOI and IRO, with the MSNP15+
 * ";{endpoint GUID}" suffix dropped so several endpoints of one user count
 * once. A switchboard becomes a group conversation when it holds more
 * than one other participant. Its group id is "groupchat-" followed by
 * the switchboard session id (from "CAL n RINGING id" or ANS) when known,
 * else by 16 hex digits of a 64-bit FNV-1a hash over the sorted,
 * lower-cased ids of everyone present (local id included) at the moment
 * the group formed. The id is then frozen for the switchboard's life, so
 * people leaving or joining later never split one conversation's log.
 * Messages from others in a group carry "sender: " before their text, as
 * IMSpector logs group chats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imwire/signatures.h"
#include "proto/msn/msn.h"
#include "proto/msn/msn_p2p.h"
#include "proto/proto.h"
#include "util/text.h"

/* The largest payloads are contact lists (ADL, GCF): well under this. */
#define MSN_MAX_PDU (1024u * 1024u)
/* Long lines exist (ILN with an MSN object); a line longer than this is not MSNP. */
#define MSN_MAX_LINE 16384u
#define MSN_MAX_ARGS 24u
#define MSN_MAX_LEN_DIGITS 7u
/* An MSNSLP message split over P2P chunks is reassembled up to this. */
#define MSN_MAX_SLP (64u * 1024u)
/* Switchboards are small; a roster larger than this is not believable. */
#define MSN_MAX_PEERS 64u
#define MSN_DEFAULT_FORMAT "FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0"

struct span {
	const uint8_t *p;
	size_t len;
};

struct msn_line {
	char cmd[4];
	struct span args[MSN_MAX_ARGS]; /* the first MSN_MAX_ARGS arguments */
	size_t n_args;                  /* all arguments, even those not kept */
	struct span last;               /* the last argument */
	size_t line_len;                /* including the line terminator */
};

enum msn_scan {
	MSN_SCAN_OK,
	MSN_SCAN_SHORT,
	MSN_SCAN_BAD,
};

enum msn_role {
	MSN_ROLE_UNKNOWN,
	MSN_ROLE_NS, /* notification server: login, presence, contact lists */
	MSN_ROLE_SB, /* switchboard: one conversation */
};

struct msn_peer {
	char *id;
};

/* An MSNSLP message being reassembled from P2P chunks. */
struct msn_slp_buf {
	struct bytebuf buf;
	uint32_t id;
	uint64_t total;
	bool active;
};

struct msn_state {
	enum msn_role role;
	char *sb_session;
	struct msn_peer *peers;
	size_t n_peers;
	size_t cap_peers;
	char *group_id; /* set once, when the switchboard becomes a group */
	char *called;   /* CAL target before anyone joined */
	char *format[2]; /* last X-MMS-IM-Format per direction, for injection */
	unsigned long trid; /* last client transaction id */
	bool logged_in;
	struct msn_slp_buf slp[2];
};

/* Payload commands and how many arguments their line has at least, so
 * that the server's "QRY 12" (no payload) is not read as 12 bytes. */
static const struct {
	const char *cmd;
	size_t min_args;
} payload_cmds[] = {
	{ "MSG", 2 }, { "UUX", 2 }, { "UBX", 2 }, { "QRY", 2 }, { "NOT", 1 }, { "GCF", 2 },
	{ "ADL", 2 }, { "RML", 2 }, { "UUN", 2 }, { "UBN", 2 }, { "FQY", 2 }, { "IPG", 1 },
	{ "UUM", 2 }, { "UBM", 2 }, { "SDG", 2 }, { "NFY", 2 }, { "PUT", 2 }, { "PAG", 2 },
};

/* Commands resync accepts as a line start. */
static const char *const known_cmds[] = {
	"VER", "CVR", "USR", "XFR", "ANS", "CAL", "JOI", "IRO", "MSG", "ACK", "NAK", "BYE",
	"OUT", "CHG", "ILN", "NLN", "FLN", "PNG", "QNG", "QRY", "CHL", "SYN", "LST", "LSG",
	"GTC", "BLP", "PRP", "ADC", "ADD", "REM", "REA", "RNG", "UUX", "UBX", "GCF", "ADL",
	"RML", "FQY", "UUN", "UBN", "NOT", "IPG", "SBS", "URL", "BPR", "UUM", "UBM", "SDG",
	"NFY", "PUT", "PAG",
};

static struct msn_state *state_of(struct proto_session *s)
{
	return s->state;
}

static bool span_is(struct span s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static bool span_is_ci(struct span s, const char *lit)
{
	return s.len == strlen(lit) && text_has_prefix_ci((const char *)s.p, s.len, lit);
}

static bool span_digits(struct span s, size_t max_digits)
{
	size_t i;

	if (s.len == 0 || s.len > max_digits)
		return false;
	for (i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

static uint64_t span_number(struct span s)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < s.len && s.p[i] >= '0' && s.p[i] <= '9' && v < UINT64_MAX / 10; i++)
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	return v;
}

static bool span_has(struct span s, uint8_t c)
{
	return s.len && memchr(s.p, c, s.len) != NULL;
}

static struct span span_trim(struct span s)
{
	while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' ||
			 s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

/* "alice@example.com;{GUID}" -> "alice@example.com"; "1:bob@x" -> "bob@x". */
static struct span user_id(struct span s)
{
	size_t i;

	for (i = 0; i < s.len && s.p[i] != ';'; i++)
		;
	s.len = i;
	if (s.len > 2 && s.p[0] >= '0' && s.p[0] <= '9' && s.p[1] == ':') {
		s.p += 2;
		s.len -= 2;
	}
	return s;
}

static bool cmd_char_ok(uint8_t c, bool digits)
{
	return digits ? c >= '0' && c <= '9' : c >= 'A' && c <= 'Z';
}

static bool cmd_is(const struct msn_line *l, const char *cmd)
{
	return memcmp(l->cmd, cmd, 4) == 0;
}

static bool cmd_known(const uint8_t *p)
{
	size_t i;

	for (i = 0; i < sizeof(known_cmds) / sizeof(known_cmds[0]); i++)
		if (memcmp(p, known_cmds[i], 3) == 0)
			return true;
	return false;
}

/* Parse the command line at data. */
static enum msn_scan scan_line(const uint8_t *data, size_t len, struct msn_line *l)
{
	size_t i, end, pos;
	bool digits;

	memset(l, 0, sizeof(*l));
	if (len == 0)
		return MSN_SCAN_SHORT;
	digits = data[0] >= '0' && data[0] <= '9';
	for (i = 0; i < 3; i++) {
		if (i == len)
			return MSN_SCAN_SHORT;
		if (!cmd_char_ok(data[i], digits))
			return MSN_SCAN_BAD;
	}
	if (len == 3)
		return MSN_SCAN_SHORT;
	if (data[3] != ' ' && data[3] != '\r' && data[3] != '\n')
		return MSN_SCAN_BAD;
	for (i = 3; i < len && data[i] != '\n'; i++) {
		if (i >= MSN_MAX_LINE)
			return MSN_SCAN_BAD;
		if (data[i] == '\r' && i + 1 < len && data[i + 1] != '\n')
			return MSN_SCAN_BAD;
		if (data[i] < 0x20 && data[i] != '\t' && data[i] != '\r')
			return MSN_SCAN_BAD;
	}
	if (i == len)
		return MSN_SCAN_SHORT;
	l->line_len = i + 1;
	end = i > 0 && data[i - 1] == '\r' ? i - 1 : i;
	memcpy(l->cmd, data, 3);
	l->cmd[3] = '\0';
	pos = 3;
	while (pos < end) {
		size_t start;

		while (pos < end && data[pos] == ' ')
			pos++;
		if (pos == end)
			break;
		start = pos;
		while (pos < end && data[pos] != ' ')
			pos++;
		l->last.p = data + start;
		l->last.len = pos - start;
		if (l->n_args < MSN_MAX_ARGS)
			l->args[l->n_args] = l->last;
		l->n_args++;
	}
	return MSN_SCAN_OK;
}

/* Payload length announced by a line, or false when it has none. */
static bool line_payload(const struct msn_line *l, size_t *payload_len)
{
	size_t i;

	for (i = 0; i < sizeof(payload_cmds) / sizeof(payload_cmds[0]); i++) {
		if (!cmd_is(l, payload_cmds[i].cmd))
			continue;
		if (l->n_args < payload_cmds[i].min_args ||
		    !span_digits(l->last, MSN_MAX_LEN_DIGITS))
			return false;
		*payload_len = (size_t)span_number(l->last);
		return true;
	}
	return false;
}

static struct span no_span(void)
{
	struct span none = { (const uint8_t *)"", 0 };

	return none;
}

static struct span arg(const struct msn_line *l, size_t i)
{
	return i < l->n_args && i < MSN_MAX_ARGS ? l->args[i] : no_span();
}

/* --- MIME payloads of MSG --- */

struct msn_mime {
	struct span headers; /* all header lines */
	struct span body;
	size_t body_off; /* offset of the body in the payload */
};

static void mime_split(const uint8_t *p, size_t n, struct msn_mime *m)
{
	size_t i, blank_end = n;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n') {
			blank_end = i + 2;
			break;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			blank_end = i + 3;
			break;
		}
	}
	/* Without a blank line everything is headers and the body is empty. */
	m->headers.p = p;
	m->headers.len = blank_end;
	m->body_off = blank_end;
	m->body.p = p + blank_end;
	m->body.len = n - blank_end;
}

/* Value of a header (case-insensitive name) within a header block. */
static bool mime_header(struct span headers, const char *name, struct span *value)
{
	size_t pos = 0, nlen = strlen(name);

	while (pos < headers.len) {
		const uint8_t *line = headers.p + pos;
		const uint8_t *nl = memchr(line, '\n', headers.len - pos);
		size_t len = nl ? (size_t)(nl - line) : headers.len - pos;

		pos += len + 1;
		if (len > nlen && line[nlen] == ':' &&
		    text_has_prefix_ci((const char *)line, len, name)) {
			value->p = line + nlen + 1;
			value->len = len - nlen - 1;
			*value = span_trim(*value);
			return true;
		}
	}
	return false;
}

/* The media type of a Content-Type value, without parameters. */
static struct span media_type(struct span ct)
{
	size_t i;

	for (i = 0; i < ct.len && ct.p[i] != ';'; i++)
		;
	ct.len = i;
	return span_trim(ct);
}

static bool charset_is_latin1(struct span ct)
{
	static const char *const latin1[] = { "iso-8859-1", "latin1", "windows-1252", "us-ascii" };
	size_t i, j;

	for (i = 0; i + 8 <= ct.len; i++) {
		struct span cs;

		if (!text_has_prefix_ci((const char *)ct.p + i, ct.len - i, "charset="))
			continue;
		cs.p = ct.p + i + 8;
		cs.len = 0;
		while (cs.len < ct.len - i - 8 && cs.p[cs.len] != ';' && cs.p[cs.len] != ' ')
			cs.len++;
		if (cs.len >= 2 && cs.p[0] == '"' && cs.p[cs.len - 1] == '"') {
			cs.p++;
			cs.len -= 2;
		}
		for (j = 0; j < sizeof(latin1) / sizeof(latin1[0]); j++)
			if (span_is_ci(cs, latin1[j]))
				return true;
		return false;
	}
	return false;
}

static char *decode_body(struct span ct, struct span body)
{
	if (charset_is_latin1(ct))
		return text_latin1_to_utf8(body.p, body.len);
	return text_utf8_or_latin1(body.p, body.len);
}

/* --- participants and the group id --- */

static bool id_equal(const char *a, struct span b)
{
	return a && strlen(a) == b.len && strncasecmp(a, (const char *)b.p, b.len) == 0;
}

static bool is_local(struct proto_session *s, struct span id)
{
	return id_equal(s->local_id, id);
}

static struct msn_peer *peer_find(struct msn_state *st, struct span id)
{
	size_t i;

	for (i = 0; i < st->n_peers; i++)
		if (id_equal(st->peers[i].id, id))
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

/* 1 when added, 0 when already there (or the local user), -1 on failure. */
static int peer_add(struct proto_session *s, struct span id)
{
	struct msn_state *st = state_of(s);
	struct msn_peer *p;

	id = user_id(id);
	if (id.len == 0 || is_local(s, id) || peer_find(st, id))
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
	st->n_peers++;
	if (maybe_form_group(s, st) < 0)
		return -1;
	return 1;
}

static bool peer_remove(struct msn_state *st, struct span id)
{
	struct msn_peer *p = peer_find(st, user_id(id));

	if (!p)
		return false;
	free(p->id);
	*p = st->peers[--st->n_peers];
	return true;
}

/* Whom a message of this switchboard is with. */
static const char *conversation_remote(struct msn_state *st)
{
	if (st->group_id)
		return st->group_id;
	if (st->n_peers == 1)
		return st->peers[0].id;
	if (st->n_peers == 0 && st->called)
		return st->called;
	return "";
}

static bool set_local(struct proto_session *s, struct span id)
{
	id = user_id(id);
	if (id.len == 0 || is_local(s, id))
		return true;
	return proto_session_set_local(s, (const char *)id.p, id.len);
}

static bool set_str_span(char **field, struct span v)
{
	char *copy = text_utf8_or_latin1(v.p, v.len);

	if (!copy)
		return false;
	free(*field);
	*field = copy;
	return true;
}

static int out_of_memory(struct proto_session *s, struct im_event *ev)
{
	event_free(ev);
	return proto_session_malformed(s, "out of memory");
}

/* An event whose remote is a user or this switchboard's group. */
static int emit_about(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		      struct span who, const char *text)
{
	struct msn_state *st = state_of(s);
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	ev.group = st->group_id != NULL;
	if (ev.group ? !event_set_str(&ev.remote, st->group_id) || !set_str_span(&ev.text, who)
		     : !set_str_span(&ev.remote, who) || !event_set_str(&ev.text, text))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

/* --- commands --- */

static int on_usr(struct proto_session *s, enum im_dir dir, const struct msn_line *l)
{
	struct msn_state *st = state_of(s);
	struct im_event ev;

	if (dir == IM_DIR_OUT) {
		struct span mech = arg(l, 1);

		if ((span_is(mech, "TWN") || span_is(mech, "SSO") || span_is(mech, "MD5")) &&
		    span_is(arg(l, 2), "I") && l->n_args >= 4) {
			st->role = MSN_ROLE_NS;
			return set_local(s, arg(l, 3)) ? 0 : proto_session_malformed(s, "out of memory");
		}
		if (span_has(mech, '@')) {
			st->role = MSN_ROLE_SB;
			return set_local(s, mech) ? 0 : proto_session_malformed(s, "out of memory");
		}
		return 0;
	}
	if (!span_is(arg(l, 1), "OK") || l->n_args < 3)
		return 0;
	if (!s->local_id && !set_local(s, arg(l, 2)))
		return proto_session_malformed(s, "out of memory");
	if (st->role != MSN_ROLE_NS || st->logged_in)
		return 0;
	st->logged_in = true;
	proto_event_begin(s, &ev, dir, IM_KIND_LOGIN);
	proto_event_emit(s, &ev);
	return 0;
}

static int on_joi(struct proto_session *s, enum im_dir dir, const struct msn_line *l)
{
	struct span who = user_id(arg(l, 0));
	int added;

	if (dir != IM_DIR_IN || who.len == 0)
		return 0;
	state_of(s)->role = MSN_ROLE_SB;
	added = peer_add(s, who);
	if (added < 0)
		return proto_session_malformed(s, "out of memory or too many participants");
	if (added == 0)
		return 0;
	return emit_about(s, dir, IM_KIND_JOIN, who, "");
}

static int on_bye(struct proto_session *s, enum im_dir dir, const struct msn_line *l)
{
	struct msn_state *st = state_of(s);
	struct span who = user_id(arg(l, 0));
	int rc;

	if (dir != IM_DIR_IN || who.len == 0 || !peer_find(st, who))
		return 0;
	/* The event names the group (or the peer) before the peer is gone. */
	rc = emit_about(s, dir, IM_KIND_PART, who, "");
	peer_remove(st, who);
	return rc;
}

/* NLN/ILN/FLN: a contact's presence. */
static int on_presence_in(struct proto_session *s, const struct msn_line *l)
{
	struct span status, who;
	struct im_event ev;

	if (cmd_is(l, "FLN")) {
		who = arg(l, 0);
		status.p = (const uint8_t *)"FLN";
		status.len = 3;
	} else if (cmd_is(l, "ILN")) {
		status = arg(l, 1);
		who = arg(l, 2);
	} else {
		status = arg(l, 0);
		who = arg(l, 1);
	}
	who = user_id(who);
	if (who.len == 0 || status.len == 0)
		return proto_session_malformed(s, "presence line without a user");
	proto_event_begin(s, &ev, IM_DIR_IN, IM_KIND_PRESENCE);
	if (!set_str_span(&ev.remote, who) || !set_str_span(&ev.text, status))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int emit_simple(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		       struct span remote, struct span text)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	if (!set_str_span(&ev.remote, remote) || !set_str_span(&ev.text, text))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

/* --- MSG bodies --- */

struct msg_ctx {
	enum im_dir dir;
	struct span sender; /* incoming: the user id of the command line */
	struct msn_mime mime;
	size_t payload_off; /* of the MIME message in the PDU */
	struct span content_type;
};

static int emit_text(struct proto_session *s, const struct msg_ctx *m)
{
	struct msn_state *st = state_of(s);
	struct span fmt;
	struct im_event ev;
	char *body;
	bool ok;

	if (mime_header(m->mime.headers, "X-MMS-IM-Format", &fmt) &&
	    !set_str_span(&st->format[m->dir], fmt))
		return proto_session_malformed(s, "out of memory");
	body = decode_body(m->content_type, m->mime.body);
	if (!body)
		return proto_session_malformed(s, "out of memory");
	proto_event_begin(s, &ev, m->dir, IM_KIND_MESSAGE);
	ev.content_type = "text/plain";
	ev.has_text_span = true;
	ev.text_offset = m->payload_off + m->mime.body_off;
	ev.text_len = m->mime.body.len;
	ev.group = st->group_id != NULL;
	if (m->dir == IM_DIR_IN && !ev.group) {
		ok = set_str_span(&ev.remote, m->sender) && event_set_str(&ev.text, body);
	} else if (m->dir == IM_DIR_IN) {
		struct bytebuf b;

		bytebuf_init(&b);
		ok = bytebuf_append(&b, m->sender.p, m->sender.len) &&
		     bytebuf_append_str(&b, ": ") && bytebuf_append_str(&b, body) &&
		     bytebuf_terminate(&b);
		ok = ok && event_set_str(&ev.remote, st->group_id) &&
		     event_set_str(&ev.text, (const char *)b.data);
		bytebuf_free(&b);
	} else {
		ok = event_set_str(&ev.remote, conversation_remote(st)) &&
		     event_set_str(&ev.text, body);
	}
	free(body);
	if (!ok)
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int emit_typing(struct proto_session *s, const struct msg_ctx *m)
{
	struct msn_state *st = state_of(s);
	struct span typist;
	struct im_event ev;
	bool ok;

	if (!mime_header(m->mime.headers, "TypingUser", &typist))
		return 0; /* other control messages carry nothing to log */
	typist = user_id(typist);
	proto_event_begin(s, &ev, m->dir, IM_KIND_TYPING);
	ev.group = st->group_id != NULL;
	if (m->dir == IM_DIR_IN && !ev.group)
		ok = set_str_span(&ev.remote, m->sender);
	else if (m->dir == IM_DIR_IN)
		ok = event_set_str(&ev.remote, st->group_id) && set_str_span(&ev.text, typist);
	else
		ok = event_set_str(&ev.remote, conversation_remote(st));
	if (!ok)
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static int emit_file(struct proto_session *s, enum im_dir dir, const char *remote, bool group,
		     const char *name, bool has_size, uint64_t size)
{
	struct im_event ev;
	struct bytebuf b;
	bool ok;

	proto_event_begin(s, &ev, dir, IM_KIND_FILE);
	ev.group = group;
	ev.has_file_size = has_size;
	ev.file_size = size;
	bytebuf_init(&b);
	ok = bytebuf_append_str(&b, name);
	if (ok && has_size)
		ok = bytebuf_printf(&b, " (%llu bytes)", (unsigned long long)size);
	ok = ok && bytebuf_terminate(&b) && event_set_str(&ev.text, (const char *)b.data) &&
	     event_set_str(&ev.file_name, name) && event_set_str(&ev.remote, remote);
	bytebuf_free(&b);
	if (!ok)
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

/* The peer of an offer: the sender when incoming, else the conversation. */
static int offer_remote(struct proto_session *s, const struct msg_ctx *m, char **remote,
			bool *group)
{
	struct msn_state *st = state_of(s);

	*group = false;
	if (m->dir == IM_DIR_IN)
		*remote = text_utf8_or_latin1(m->sender.p, m->sender.len);
	else {
		*group = st->group_id != NULL;
		*remote = text_dup(conversation_remote(st), strlen(conversation_remote(st)));
	}
	return *remote ? 0 : -1;
}

/* text/x-msmsgsinvite: the pre-P2P invitation, "Name: value" lines. */
static int emit_invite(struct proto_session *s, const struct msg_ctx *m)
{
	struct span cmd, file, size_v;
	char *name, *remote;
	bool group, has_size;
	int rc;

	if (!mime_header(m->mime.body, "Invitation-Command", &cmd) || !span_is_ci(cmd, "INVITE") ||
	    !mime_header(m->mime.body, "Application-File", &file))
		return 0; /* ACCEPT, CANCEL and other applications */
	has_size = mime_header(m->mime.body, "Application-FileSize", &size_v) &&
		   span_digits(size_v, 20);
	name = text_utf8_or_latin1(file.p, file.len);
	if (!name || offer_remote(s, m, &remote, &group) < 0) {
		free(name);
		return proto_session_malformed(s, "out of memory");
	}
	rc = emit_file(s, m->dir, remote, group, name, has_size, has_size ? span_number(size_v) : 0);
	free(name);
	free(remote);
	return rc;
}

static int emit_slp(struct proto_session *s, const struct msg_ctx *m, const uint8_t *p, size_t n)
{
	struct msn_slp_offer o;
	struct im_event ev;
	char *remote;
	const char *why = "bad MSNSLP";
	bool group;
	int rc = 0;

	if (msn_slp_parse(p, n, &o, &why) < 0)
		return proto_session_malformed(s, why);
	if (o.kind == MSN_SLP_OTHER) {
		msn_slp_offer_free(&o);
		return 0;
	}
	if (offer_remote(s, m, &remote, &group) < 0) {
		msn_slp_offer_free(&o);
		return proto_session_malformed(s, "out of memory");
	}
	/* P2P goes to one user even in a group: the SLP header names whom. */
	if (m->dir == IM_DIR_OUT && o.to && o.to[0]) {
		free(remote);
		remote = text_dup(o.to, strlen(o.to));
		group = false;
		if (!remote) {
			msn_slp_offer_free(&o);
			return proto_session_malformed(s, "out of memory");
		}
	}
	if (o.kind == MSN_SLP_FILE) {
		rc = emit_file(s, m->dir, remote, group, o.file_name, o.has_file_size, o.file_size);
	} else {
		proto_event_begin(s, &ev, m->dir, IM_KIND_WEBCAM);
		ev.group = group;
		if (!event_set_str(&ev.remote, remote))
			rc = out_of_memory(s, &ev);
		else
			proto_event_emit(s, &ev);
	}
	free(remote);
	msn_slp_offer_free(&o);
	return rc;
}

/* P2P chunks of session 0 carry MSNSLP, possibly over several chunks. */
static int on_p2p(struct proto_session *s, const struct msg_ctx *m)
{
	struct msn_slp_buf *sb = &state_of(s)->slp[m->dir];
	struct msn_p2p_chunk c;

	if (msn_p2p_parse_chunk(m->mime.body.p, m->mime.body.len, &c) < 0)
		return proto_session_malformed(s, "P2P chunk shorter than its header says");
	if (c.session_id != 0 || c.size == 0)
		return 0; /* data of an accepted session: file bytes, webcam frames */
	if (c.offset == 0 && c.size == c.total) {
		sb->active = false;
		return emit_slp(s, m, c.data, c.size);
	}
	if (c.offset == 0) {
		if (c.total > MSN_MAX_SLP)
			return proto_session_malformed(s, "MSNSLP message too large");
		bytebuf_clear(&sb->buf);
		sb->id = c.id;
		sb->total = c.total;
		sb->active = true;
	} else if (!sb->active || c.id != sb->id || c.total != sb->total ||
		   c.offset != sb->buf.len) {
		sb->active = false;
		return proto_session_malformed(s, "P2P chunk out of sequence");
	}
	if (!bytebuf_append(&sb->buf, c.data, c.size)) {
		sb->active = false;
		return proto_session_malformed(s, "out of memory");
	}
	if (sb->buf.len < sb->total)
		return 0;
	sb->active = false;
	return emit_slp(s, m, sb->buf.data, sb->buf.len);
}

static int on_msg(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len,
		  const struct msn_line *l)
{
	struct msn_state *st = state_of(s);
	struct msg_ctx m;
	struct span ct, type;

	memset(&m, 0, sizeof(m));
	m.dir = dir;
	m.payload_off = l->line_len;
	mime_split(pdu + l->line_len, len - l->line_len, &m.mime);
	if (!mime_header(m.mime.headers, "Content-Type", &ct))
		return proto_session_malformed(s, "MSG without Content-Type");
	m.content_type = ct;
	type = media_type(ct);
	if (dir == IM_DIR_IN) {
		if (l->n_args < 3)
			return proto_session_malformed(s, "incoming MSG without a sender");
		m.sender = user_id(arg(l, 0));
		/* The notification server's own messages (profile, mail) are not chat. */
		if (st->role == MSN_ROLE_NS || span_is(m.sender, "Hotmail"))
			return 0;
		if (peer_add(s, m.sender) < 0)
			return proto_session_malformed(s, "out of memory or too many participants");
	}
	if (span_is_ci(type, "text/plain"))
		return emit_text(s, &m);
	if (span_is_ci(type, "text/x-msmsgscontrol"))
		return emit_typing(s, &m);
	if (span_is_ci(type, "text/x-msmsgsinvite"))
		return emit_invite(s, &m);
	if (span_is_ci(type, "application/x-msnmsgrp2p"))
		return on_p2p(s, &m);
	return 0; /* emoticons, ink, nudges (datacast), profile... */
}

static int msn_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct msn_state *st = state_of(s);
	struct msn_line l;
	size_t payload = 0;
	bool has_payload;

	if (scan_line(pdu, len, &l) != MSN_SCAN_OK)
		return proto_session_malformed(s, "bad command line");
	has_payload = line_payload(&l, &payload);
	if (l.line_len + (has_payload ? payload : 0) != len)
		return proto_session_malformed(s, "PDU length does not match its command");
	if (dir == IM_DIR_OUT && span_digits(arg(&l, 0), 10))
		st->trid = (unsigned long)span_number(arg(&l, 0));

	if (cmd_is(&l, "VER") || cmd_is(&l, "CVR")) {
		st->role = MSN_ROLE_NS;
		return 0;
	}
	if (cmd_is(&l, "USR"))
		return on_usr(s, dir, &l);
	if (cmd_is(&l, "ANS") && dir == IM_DIR_OUT) {
		st->role = MSN_ROLE_SB;
		if (l.n_args >= 4 && !set_str_span(&st->sb_session, arg(&l, 3)))
			return proto_session_malformed(s, "out of memory");
		return set_local(s, arg(&l, 1)) ? 0 : proto_session_malformed(s, "out of memory");
	}
	if (cmd_is(&l, "CAL")) {
		st->role = MSN_ROLE_SB;
		if (dir == IM_DIR_OUT && l.n_args >= 2 && !st->called &&
		    !set_str_span(&st->called, user_id(arg(&l, 1))))
			return proto_session_malformed(s, "out of memory");
		if (dir == IM_DIR_IN && span_is(arg(&l, 1), "RINGING") && l.n_args >= 3 &&
		    !st->sb_session && !set_str_span(&st->sb_session, arg(&l, 2)))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (cmd_is(&l, "JOI"))
		return on_joi(s, dir, &l);
	if (cmd_is(&l, "IRO") && dir == IM_DIR_IN) {
		st->role = MSN_ROLE_SB;
		if (peer_add(s, arg(&l, 3)) < 0)
			return proto_session_malformed(s, "out of memory or too many participants");
		return 0;
	}
	if (cmd_is(&l, "BYE"))
		return on_bye(s, dir, &l);
	if (cmd_is(&l, "MSG"))
		return has_payload ? on_msg(s, dir, pdu, len, &l)
				   : proto_session_malformed(s, "MSG without a length");
	if (dir == IM_DIR_IN && (cmd_is(&l, "NLN") || cmd_is(&l, "ILN") || cmd_is(&l, "FLN")))
		return on_presence_in(s, &l);
	if (dir == IM_DIR_OUT && cmd_is(&l, "CHG") && l.n_args >= 2)
		return emit_simple(s, dir, IM_KIND_PRESENCE, no_span(), arg(&l, 1));
	if (dir == IM_DIR_IN && cmd_is(&l, "RNG") && l.n_args >= 5)
		/* A contact asks us into a switchboard: "RNG id addr CKI cookie user name". */
		return emit_simple(s, dir, IM_KIND_RENDEZVOUS, user_id(arg(&l, 4)), no_span());
	if (dir == IM_DIR_OUT && cmd_is(&l, "OUT") && st->role == MSN_ROLE_NS)
		return emit_simple(s, dir, IM_KIND_LOGOUT, no_span(), no_span());
	return 0;
}

static enum proto_frame msn_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				  size_t len, size_t *pdu_len)
{
	struct msn_line l;
	size_t payload = 0;

	(void)s;
	(void)dir;
	switch (scan_line(data, len, &l)) {
	case MSN_SCAN_SHORT:
		return PROTO_FRAME_NEED_MORE;
	case MSN_SCAN_BAD:
		return PROTO_FRAME_GARBAGE;
	case MSN_SCAN_OK:
		break;
	}
	if (line_payload(&l, &payload)) {
		if (payload > MSN_MAX_PDU - l.line_len)
			return PROTO_FRAME_GARBAGE;
		if (len - l.line_len < payload)
			return PROTO_FRAME_NEED_MORE;
	}
	*pdu_len = l.line_len + payload;
	return PROTO_FRAME_PDU;
}

/* A complete line that only MSNP would send (for mid-stream pick-up). */
static bool line_is_msnp(const uint8_t *p, size_t n)
{
	static const char *const with_trid[] = { "VER", "CVR", "USR", "ANS", "CAL", "IRO",
						 "XFR", "CHG", "SYN", "ILN", "UUX", "ADL", "QNG" };
	struct msn_line l;
	size_t i, payload;

	if (scan_line(p, n, &l) != MSN_SCAN_OK)
		return false;
	for (i = 0; i < sizeof(with_trid) / sizeof(with_trid[0]); i++)
		if (cmd_is(&l, with_trid[i]))
			return span_digits(arg(&l, 0), 10);
	if (cmd_is(&l, "JOI") || cmd_is(&l, "BYE"))
		return span_has(arg(&l, 0), '@');
	if (cmd_is(&l, "MSG") && l.n_args == 3 && line_payload(&l, &payload))
		return text_has_prefix_ci((const char *)p + l.line_len, n - l.line_len,
					  "MIME-Version:");
	return false;
}

/* Could the next PDU start here? At a line start, a known command whole
 * or still arriving will do. Elsewhere only a line that MSNP alone would
 * send (or one still arriving): a MSG payload ends without a line break,
 * so the next command may follow its last byte directly, while message
 * text could hold a command word anywhere. A wrong pick costs one
 * misread line, then framing is back in step. */
static bool resync_candidate(const uint8_t *p, size_t n, bool line_start)
{
	struct msn_line l;
	enum msn_scan r;
	size_t payload;

	if (n >= 3 && !cmd_known(p) && !(line_start && p[0] >= '0' && p[0] <= '9'))
		return false;
	r = scan_line(p, n, &l);
	if (r == MSN_SCAN_SHORT)
		return n >= 3 || line_start;
	if (r != MSN_SCAN_OK)
		return false;
	if (line_start || line_is_msnp(p, n))
		return true;
	/* A MSG line whose MIME header has not arrived yet: wait and see. */
	return cmd_is(&l, "MSG") && l.n_args == 3 && line_payload(&l, &payload) &&
	       n - l.line_len < strlen("MIME-Version:");
}

static size_t msn_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t pos;

	(void)s;
	(void)dir;
	for (pos = 0; pos < len; pos++)
		if (resync_candidate(data + pos, len - pos, pos == 0 || data[pos - 1] == '\n'))
			return pos;
	return len;
}

static enum proto_detect msn_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	static const char *const starts[] = { "VER ", "USR ", "ANS ", "CVR " };
	size_t pos = 0, i;
	bool complete_line = false;

	(void)dir;
	if (imw_sig_msn(data, len))
		return PROTO_DETECT_YES;
	while (pos < len) {
		const uint8_t *nl = memchr(data + pos, '\n', len - pos);

		if (!nl)
			break;
		complete_line = true;
		if (line_is_msnp(data + pos, len - pos))
			return PROTO_DETECT_YES;
		pos = (size_t)(nl - data) + 1;
	}
	/* A payload ends without a line break: the next MSG may follow it directly. */
	for (pos = 1; pos + 4 < len; pos++)
		if (memcmp(data + pos, "MSG ", 4) == 0 && line_is_msnp(data + pos, len - pos))
			return PROTO_DETECT_YES;
	if (complete_line)
		return PROTO_DETECT_NO;
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if (len < 16 && memcmp(data, starts[i], len < 4 ? len : 4) == 0)
			return PROTO_DETECT_MAYBE;
	return PROTO_DETECT_NO;
}

/* --- encode --- */

/* UTF-8 into Latin-1, '?' for what it cannot hold. */
static bool append_latin1(struct bytebuf *out, const char *text)
{
	const uint8_t *p = (const uint8_t *)text;

	while (*p) {
		uint32_t cp;
		size_t n;

		if (p[0] < 0x80) {
			cp = p[0];
			n = 1;
		} else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
			cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
			n = 2;
		} else {
			cp = '?';
			n = 1;
			while ((p[n] & 0xC0) == 0x80)
				n++;
		}
		if (!bytebuf_append_byte(out, cp <= 0xFF ? (uint8_t)cp : '?'))
			return false;
		p += n;
	}
	return true;
}

/* "sender: text" back to text for an incoming group message. */
static const char *strip_sender(const char *text, struct span sender)
{
	if (strlen(text) >= sender.len + 2 && strncmp(text, (const char *)sender.p, sender.len) == 0 &&
	    memcmp(text + sender.len, ": ", 2) == 0)
		return text + sender.len + 2;
	return text;
}

static int encode_with_orig(enum im_dir dir, const struct im_event *ev, const uint8_t *orig,
			    size_t orig_len, struct bytebuf *out)
{
	struct msn_line l;
	struct msn_mime mime;
	struct span ct;
	struct bytebuf body;
	size_t payload = 0, start = out->len;
	const char *text = ev->text;
	char *old;
	bool same, ok;

	if (scan_line(orig, orig_len, &l) != MSN_SCAN_OK || !cmd_is(&l, "MSG") ||
	    !line_payload(&l, &payload) || l.line_len + payload != orig_len)
		return -1;
	mime_split(orig + l.line_len, payload, &mime);
	if (!mime_header(mime.headers, "Content-Type", &ct) ||
	    !span_is_ci(media_type(ct), "text/plain"))
		return -1;
	if (dir == IM_DIR_IN && ev->group)
		text = strip_sender(text, user_id(arg(&l, 0)));
	old = decode_body(ct, mime.body);
	if (!old)
		return -1;
	same = strcmp(old, text) == 0;
	free(old);
	if (same)
		return bytebuf_append(out, orig, orig_len) ? 0 : -1;

	bytebuf_init(&body);
	ok = charset_is_latin1(ct) ? append_latin1(&body, text) : bytebuf_append_str(&body, text);
	ok = ok && bytebuf_append(out, orig, (size_t)(l.last.p - orig)) &&
	     bytebuf_printf(out, "%zu", mime.body_off + body.len) &&
	     bytebuf_append(out, l.last.p + l.last.len,
			    l.line_len - (size_t)(l.last.p + l.last.len - orig)) &&
	     bytebuf_append(out, orig + l.line_len, mime.body_off) &&
	     bytebuf_append(out, body.data, body.len);
	bytebuf_free(&body);
	if (!ok) {
		out->len = start;
		return -1;
	}
	return 0;
}

static bool word_ok(const char *w)
{
	size_t i;

	if (!w || !w[0])
		return false;
	for (i = 0; w[i]; i++)
		if ((uint8_t)w[i] <= ' ')
			return false;
	return true;
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	struct msn_state *st = s ? state_of(s) : NULL;
	const char *format = st && st->format[dir] ? st->format[dir] : MSN_DEFAULT_FORMAT;
	const char *text = ev->text;
	struct bytebuf mime;
	char *sender = NULL;
	bool ok;

	if (strchr(format, '\r') || strchr(format, '\n'))
		format = MSN_DEFAULT_FORMAT;
	bytebuf_init(&mime);
	ok = bytebuf_printf(&mime,
			    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
			    "X-MMS-IM-Format: %s\r\n\r\n",
			    format);
	if (dir == IM_DIR_OUT) {
		/* Ack type U: the server sends no ACK the client never asked for. */
		ok = ok && bytebuf_append_str(&mime, text) &&
		     bytebuf_printf(out, "MSG %lu U %zu\r\n", st ? st->trid : 1ul, mime.len);
	} else {
		const char *colon = ev->group ? strstr(text, ": ") : NULL;

		if (colon) {
			sender = text_dup(text, (size_t)(colon - text));
			text = colon + 2;
		} else {
			sender = text_dup(ev->remote ? ev->remote : "", ev->remote ? strlen(ev->remote) : 0);
		}
		ok = ok && sender && word_ok(sender) && bytebuf_append_str(&mime, text) &&
		     bytebuf_printf(out, "MSG %s %s %zu\r\n", sender, sender, mime.len);
	}
	ok = ok && bytebuf_append(out, mime.data, mime.len);
	bytebuf_free(&mime);
	free(sender);
	return ok ? 0 : -1;
}

static int msn_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		      const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	size_t mark = out->len;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	rc = orig ? encode_with_orig(dir, ev, orig, orig_len, out) : encode_fresh(s, dir, ev, out);
	if (rc < 0)
		out->len = mark;
	return rc;
}

/* A client's "MSG TrID ack-type length" asks the switchboard for a reply
 * by its ack type (MSNP2+, msnp-wiki commands/msg.md, ack.md, nak.md):
 * U none; N a "NAK TrID" only if delivery failed; A an "ACK TrID" once
 * delivered; D (MSNP9+) like A, or error 282 for a malformed payload.
 * A message imwire delivered itself was delivered: A and D get their ACK. */
static int msn_local_receipt(struct proto_session *s, const struct im_event *ev,
			     const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct msn_line l;
	struct span trid, type;
	size_t payload, mark = out->len;

	(void)s;
	if (!ev || ev->dir != IM_DIR_OUT || !orig ||
	    scan_line(orig, orig_len, &l) != MSN_SCAN_OK || !cmd_is(&l, "MSG") ||
	    l.n_args != 3 || !line_payload(&l, &payload))
		return -1;
	trid = arg(&l, 0);
	type = arg(&l, 1);
	if (!span_digits(trid, 10))
		return -1;
	if (span_is(type, "U") || span_is(type, "N"))
		return 0;
	if (!span_is(type, "A") && !span_is(type, "D"))
		return -1;
	if (!bytebuf_append_str(out, "ACK ") || !bytebuf_append(out, trid.p, trid.len) ||
	    !bytebuf_append(out, "\r\n", 2)) {
		out->len = mark;
		return -1;
	}
	return 1;
}

static int msn_session_init(struct proto_session *s)
{
	struct msn_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -1;
	bytebuf_init(&st->slp[0].buf);
	bytebuf_init(&st->slp[1].buf);
	s->state = st;
	return 0;
}

static void msn_session_free(struct proto_session *s)
{
	struct msn_state *st = state_of(s);
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->n_peers; i++)
		free(st->peers[i].id);
	free(st->peers);
	free(st->sb_session);
	free(st->group_id);
	free(st->called);
	free(st->format[0]);
	free(st->format[1]);
	bytebuf_free(&st->slp[0].buf);
	bytebuf_free(&st->slp[1].buf);
	free(st);
	s->state = NULL;
}

const struct proto_module proto_msn = {
	PROTO_IDENTITY(MSN),
	.max_pdu = MSN_MAX_PDU,
	.detect = msn_detect,
	.frame = msn_frame,
	.decode = msn_decode,
	.resync = msn_resync,
	.session_init = msn_session_init,
	.session_free = msn_session_free,
	.encode = msn_encode,
	.local_receipt = msn_local_receipt,
};
