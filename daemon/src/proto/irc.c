/* IRC (RFC 1459, RFC 2812, IRCv3 message tags).
 *
 * One line is one PDU: "[@tags ][:prefix ]COMMAND params[ :trailer]\n",
 * with an optional "\r" before the "\n". Real clients and servers put runs
 * of spaces between fields and before the command, so every separator is
 * "one or more spaces".
 *
 * Event conventions (IMSpector compatible where IMSpector had one):
 * - The text of PRIVMSG and NOTICE is the IRC trailer exactly as sent,
 *   including freenode's identify-msg "+"/"-" marker, so it can be
 *   compared with what tshark shows as irc.*.trailer.
 * - An incoming channel message is prefixed with "<sender>: ", because a
 *   channel event's remote is the channel and the sender would be lost.
 * - CTCP: a trailer that starts with \x01 (after an optional +/- marker) is
 *   a CTCP request. ACTION and DCC SEND are logged as messages whose text
 *   is the trailer with every \x01 removed ("ACTION waves"): the log keeps
 *   what was on the wire minus control bytes, and the encoder can restore
 *   them. DCC SEND adds a file event, DCC CHAT is a rendezvous, every
 *   other CTCP (VERSION, PING, CTCP replies in NOTICE) is not a message.
 * - Messages from a server (a prefix without "!" or "@", or no prefix at
 *   all) and messages to "*" or "AUTH" are connection notices, not IM. */
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "proto/proto.h"
#include "util/bytebuf.h"
#include "util/text.h"

/* Real captures hold lines of several KB (IRCv3 tags, bots); anything
 * past this is not a line of text. */
#define IRC_MAX_PDU 65536u
/* RFC 2812: at most 14 middle parameters; whatever follows is the last. */
#define IRC_MAX_PARAMS 15u
/* detect() decides on a couple of lines; more would only cost time. */
#define IRC_DETECT_MAX_LINES 8u
#define IRC_TLS_RECORD_HEADER 5u

static const uint16_t irc_ports[] = { 6667, 6668, 6669, 6697, 7000 };

/* Offsets into the line, so events can point at their text in the PDU. */
struct irc_span {
	size_t off;
	size_t len;
};

struct irc_line {
	const uint8_t *p;
	size_t len; /* without the line ending */
	struct irc_span tags;
	struct irc_span prefix; /* without the ':' */
	struct irc_span command;
	struct irc_span params[IRC_MAX_PARAMS];
	size_t n_params;
	bool has_trailer; /* the last parameter was introduced by ':' */
};

enum irc_parse {
	IRC_PARSE_OK,
	IRC_PARSE_EMPTY, /* blank line: servers ignore these */
	IRC_PARSE_BAD,
};

enum irc_ctcp {
	IRC_CTCP_NONE,
	IRC_CTCP_ACTION,
	IRC_CTCP_DCC_SEND,
	IRC_CTCP_DCC_CHAT,
	IRC_CTCP_OTHER,
};

/* Where the CTCP markers sit in a trailer, to log and to rebuild it. */
struct irc_ctcp_info {
	enum irc_ctcp kind;
	size_t marker_len;     /* identify-msg "+"/"-" before the first \x01 */
	struct irc_span body;  /* between the \x01 delimiters */
	struct irc_span word;  /* the CTCP command ("ACTION", "DCC") */
};

struct irc_dcc_offer {
	struct irc_span name;
	bool has_size;
	uint64_t size;
};

struct irc_state {
	bool registered;  /* the server accepted a nick: a client NICK is a request now */
	bool login_sent;
	bool logout_sent;
	bool encrypted_sent;
	bool echo_message; /* IRCv3 echo-message: our own lines come back */
	bool after_garbage[2];
};

static struct irc_state *state_of(struct proto_session *s)
{
	return s ? s->state : NULL;
}

/* ---- lexing ---------------------------------------------------------- */

static bool is_letter(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool bytes_eq_ci(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	size_t i;

	if (a_len != b_len)
		return false;
	for (i = 0; i < a_len; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

static bool bytes_is_ci(const uint8_t *a, size_t a_len, const char *lit)
{
	return bytes_eq_ci(a, a_len, (const uint8_t *)lit, strlen(lit));
}

static const uint8_t *span_ptr(const struct irc_line *l, struct irc_span sp)
{
	return l->p + sp.off;
}

static bool span_is(const struct irc_line *l, struct irc_span sp, const char *lit)
{
	return bytes_is_ci(span_ptr(l, sp), sp.len, lit);
}

static size_t skip_spaces(const uint8_t *p, size_t len, size_t pos)
{
	while (pos < len && p[pos] == ' ')
		pos++;
	return pos;
}

static size_t token_end(const uint8_t *p, size_t len, size_t pos)
{
	while (pos < len && p[pos] != ' ')
		pos++;
	return pos;
}

/* Length of a PDU without its "\n" or "\r\n". */
static size_t line_content_len(const uint8_t *p, size_t len)
{
	if (len && p[len - 1] == '\n')
		len--;
	if (len && p[len - 1] == '\r')
		len--;
	return len;
}

static bool command_valid(const uint8_t *p, size_t len)
{
	size_t i;

	if (len == 3 && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]))
		return true;
	for (i = 0; i < len; i++)
		if (!is_letter(p[i]))
			return false;
	return len > 0;
}

static enum irc_parse parse_line(struct irc_line *l, const uint8_t *p, size_t len,
				 const char **why)
{
	size_t pos, end;

	memset(l, 0, sizeof(*l));
	l->p = p;
	l->len = len;
	if (len && memchr(p, '\0', len)) {
		*why = "NUL byte in IRC line";
		return IRC_PARSE_BAD;
	}
	pos = skip_spaces(p, len, 0);
	if (pos == len)
		return IRC_PARSE_EMPTY;
	if (p[pos] == '@') {
		end = token_end(p, len, pos);
		l->tags = (struct irc_span){ pos + 1, end - pos - 1 };
		pos = skip_spaces(p, len, end);
	}
	if (pos < len && p[pos] == ':') {
		end = token_end(p, len, pos);
		if (end == pos + 1) {
			*why = "empty IRC prefix";
			return IRC_PARSE_BAD;
		}
		l->prefix = (struct irc_span){ pos + 1, end - pos - 1 };
		pos = skip_spaces(p, len, end);
	}
	if (pos == len) {
		*why = "IRC line without a command";
		return IRC_PARSE_BAD;
	}
	end = token_end(p, len, pos);
	if (!command_valid(p + pos, end - pos)) {
		*why = "IRC command is neither a word nor a numeric";
		return IRC_PARSE_BAD;
	}
	l->command = (struct irc_span){ pos, end - pos };
	pos = end;
	for (;;) {
		pos = skip_spaces(p, len, pos);
		if (pos == len)
			break;
		if (p[pos] == ':' || l->n_params == IRC_MAX_PARAMS - 1) {
			if (p[pos] == ':') {
				pos++;
				l->has_trailer = true;
			}
			l->params[l->n_params++] = (struct irc_span){ pos, len - pos };
			break;
		}
		end = token_end(p, len, pos);
		l->params[l->n_params++] = (struct irc_span){ pos, end - pos };
		pos = end;
	}
	return IRC_PARSE_OK;
}

static bool line_is_numeric(const struct irc_line *l)
{
	return l->command.len == 3 && is_digit(l->p[l->command.off]);
}

static unsigned line_numeric(const struct irc_line *l)
{
	const uint8_t *c = span_ptr(l, l->command);

	return (unsigned)(c[0] - '0') * 100 + (unsigned)(c[1] - '0') * 10 + (unsigned)(c[2] - '0');
}

/* Is parameter i a plain word (not the ':' trailer)? */
static bool param_is_middle(const struct irc_line *l, size_t i)
{
	return i < l->n_params && !(l->has_trailer && i == l->n_params - 1);
}

/* The nick of a user prefix ("nick!user@host", "nick@host"); false for a
 * server name or no prefix at all. */
static bool prefix_user_nick(const struct irc_line *l, struct irc_span *nick)
{
	const uint8_t *p = span_ptr(l, l->prefix);
	size_t i;

	for (i = 0; i < l->prefix.len; i++) {
		if (p[i] == '!' || p[i] == '@') {
			if (i == 0)
				return false;
			*nick = (struct irc_span){ l->prefix.off, i };
			return true;
		}
	}
	return false;
}

static bool nick_valid(const uint8_t *p, size_t len)
{
	size_t i;

	if (len == 0 || p[0] == '#' || p[0] == '&' || p[0] == '$' || p[0] == ':')
		return false;
	for (i = 0; i < len; i++)
		if (p[i] <= ' ' || p[i] == ',' || p[i] == '!' || p[i] == '@' || p[i] == '*' ||
		    p[i] == '.' || p[i] == ':' || p[i] == 0x7f)
			return false;
	return true;
}

/* Channel prefixes "#&+!"; a STATUSMSG target ("@#chan") is a channel too. */
static bool target_is_channel(const uint8_t *p, size_t len)
{
	static const char channel_types[] = "#&+!";
	size_t i = 0;

	if (len >= 2 && (p[0] == '@' || p[0] == '%' || p[0] == '~'))
		i = 1;
	return i < len && strchr(channel_types, p[i]) != NULL && p[i] != '\0';
}

static bool local_is(const struct proto_session *s, const uint8_t *p, size_t len)
{
	return s->local_id && bytes_eq_ci((const uint8_t *)s->local_id, strlen(s->local_id), p, len);
}

/* The nick's length in a full address "nick!user@host", or 0 when p is
 * not one (a server name, "nick@host", a bare nick). Hosts may hold ':'
 * (IPv6) and '/' (cloaks), so only what would end or split a prefix is
 * refused after the nick. */
static size_t full_address_nick_len(const uint8_t *p, size_t len)
{
	const uint8_t *bang = memchr(p, '!', len);
	size_t nick_len, i, at = 0;

	if (!bang)
		return 0;
	nick_len = (size_t)(bang - p);
	if (!nick_valid(p, nick_len))
		return 0;
	for (i = nick_len + 1; i < len; i++) {
		if (p[i] <= ' ' || p[i] == 0x7f || p[i] == '!' || p[i] == ',')
			return 0;
		if (p[i] == '@') {
			if (at)
				return 0;
			at = i;
		}
	}
	return at > nick_len + 1 && at + 1 < len ? nick_len : 0;
}

/* Is addr a full address whose nick is nick? */
static bool address_of(const char *addr, const char *nick, size_t nick_len)
{
	size_t n;

	if (!addr)
		return false;
	n = full_address_nick_len((const uint8_t *)addr, strlen(addr));
	return n && bytes_eq_ci((const uint8_t *)addr, n, (const uint8_t *)nick, nick_len);
}

/* A line whose prefix is our own full address ("JOIN", an echoed
 * message) shows how the server presents us to others. */
static bool note_own_prefix(struct proto_session *s, const struct irc_line *l)
{
	const uint8_t *p = span_ptr(l, l->prefix);
	size_t n = full_address_nick_len(p, l->prefix.len);

	if (!n || !local_is(s, p, n))
		return true;
	if (s->local_address && strlen(s->local_address) == l->prefix.len &&
	    memcmp(s->local_address, p, l->prefix.len) == 0)
		return true;
	return proto_session_set_local_address(s, (const char *)p, l->prefix.len);
}

/* ---- CTCP ------------------------------------------------------------ */

static bool body_word_is(const uint8_t *p, size_t len, size_t *pos, const char *word)
{
	size_t n = strlen(word), end;

	end = token_end(p, len, *pos);
	if (!bytes_is_ci(p + *pos, end - *pos, word) || end - *pos != n)
		return false;
	*pos = skip_spaces(p, len, end);
	return true;
}

static void ctcp_classify(const struct irc_line *l, struct irc_span text, struct irc_ctcp_info *ci)
{
	const uint8_t *t = span_ptr(l, text);
	const uint8_t *close;
	size_t start, end, pos;

	memset(ci, 0, sizeof(*ci));
	if (text.len >= 2 && (t[0] == '+' || t[0] == '-') && t[1] == 0x01)
		ci->marker_len = 1;
	if (ci->marker_len >= text.len || t[ci->marker_len] != 0x01) {
		ci->marker_len = 0;
		return;
	}
	start = ci->marker_len + 1;
	close = memchr(t + start, 0x01, text.len - start);
	end = close ? (size_t)(close - t) : text.len;
	ci->body = (struct irc_span){ text.off + start, end - start };
	ci->word = (struct irc_span){ text.off + start, token_end(t, end, start) - start };
	ci->kind = IRC_CTCP_OTHER;
	pos = start;
	if (body_word_is(t, end, &pos, "ACTION")) {
		ci->kind = IRC_CTCP_ACTION;
	} else if (body_word_is(t, end, &pos, "DCC")) {
		if (body_word_is(t, end, &pos, "SEND"))
			ci->kind = IRC_CTCP_DCC_SEND;
		else if (body_word_is(t, end, &pos, "CHAT"))
			ci->kind = IRC_CTCP_DCC_CHAT;
	}
}

static bool parse_u64(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!is_digit(p[i]) || v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/* "DCC SEND <name> <ip> <port> [<size>]", the name in double quotes when
 * it holds spaces. */
static bool dcc_send_parse(const struct irc_line *l, struct irc_span body,
			   struct irc_dcc_offer *offer)
{
	const uint8_t *b = span_ptr(l, body);
	const uint8_t *quote;
	size_t pos = 0, end, field;

	memset(offer, 0, sizeof(*offer));
	if (!body_word_is(b, body.len, &pos, "DCC") || !body_word_is(b, body.len, &pos, "SEND"))
		return false;
	if (pos < body.len && b[pos] == '"') {
		quote = memchr(b + pos + 1, '"', body.len - pos - 1);
		if (!quote)
			return false;
		end = (size_t)(quote - b);
		offer->name = (struct irc_span){ body.off + pos + 1, end - pos - 1 };
		end++;
	} else {
		end = token_end(b, body.len, pos);
		offer->name = (struct irc_span){ body.off + pos, end - pos };
	}
	if (offer->name.len == 0)
		return false;
	/* ip, port, size */
	for (field = 0; field < 3; field++) {
		pos = skip_spaces(b, body.len, end);
		end = token_end(b, body.len, pos);
		if (pos == end)
			break;
		if (field == 2)
			offer->has_size = parse_u64(b + pos, end - pos, &offer->size);
	}
	return true;
}

/* ---- events ---------------------------------------------------------- */

static int out_of_memory(struct proto_session *s, struct im_event *ev)
{
	event_free(ev);
	return proto_session_malformed(s, "out of memory");
}

static bool set_from_line(char **field, const struct irc_line *l, struct irc_span sp)
{
	char *v = text_utf8_or_latin1(span_ptr(l, sp), sp.len);

	if (!v)
		return false;
	free(*field);
	*field = v;
	return true;
}

static bool append_without_ctcp_marks(struct bytebuf *b, const uint8_t *p, size_t len,
				      bool strip)
{
	const uint8_t *mark;

	while (strip && len && (mark = memchr(p, 0x01, len)) != NULL) {
		if (!bytebuf_append(b, p, (size_t)(mark - p)))
			return false;
		len -= (size_t)(mark - p) + 1;
		p = mark + 1;
	}
	return bytebuf_append(b, p, len);
}

/* The logged text of a message line: "[sender: ]trailer", CTCP marks
 * removed. NULL on allocation failure. */
static char *message_text(const struct irc_line *l, const struct irc_span *sender,
			  struct irc_span text, bool strip_ctcp)
{
	struct bytebuf b;
	char *out = NULL;
	bool ok = true;

	bytebuf_init(&b);
	if (sender)
		ok = bytebuf_append(&b, span_ptr(l, *sender), sender->len) &&
		     bytebuf_append(&b, ": ", 2);
	ok = ok && append_without_ctcp_marks(&b, span_ptr(l, text), text.len, strip_ctcp);
	if (ok)
		out = text_utf8_or_latin1(b.data ? b.data : (const uint8_t *)"", b.len);
	bytebuf_free(&b);
	return out;
}

static int emit_simple(struct proto_session *s, enum im_dir dir, enum im_kind kind,
		       const struct irc_line *l, const struct irc_span *remote, bool group,
		       const char *text)
{
	struct im_event ev;

	proto_event_begin(s, &ev, dir, kind);
	ev.group = group;
	if ((remote && !set_from_line(&ev.remote, l, *remote)) ||
	    !event_set_str(&ev.text, text))
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static bool learn_local(struct proto_session *s, const struct irc_line *l, struct irc_span nick)
{
	return proto_session_set_local(s, (const char *)span_ptr(l, nick), nick.len);
}

/* ---- commands -------------------------------------------------------- */

static int emit_encrypted(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
			  const char *text)
{
	struct irc_state *st = state_of(s);

	s->opaque[IM_DIR_IN] = true;
	s->opaque[IM_DIR_OUT] = true;
	if (st->encrypted_sent)
		return 0;
	st->encrypted_sent = true;
	return emit_simple(s, dir, IM_KIND_ENCRYPTED, l, l && l->prefix.len ? &l->prefix : NULL,
			   false, text);
}

/* RFC 2812's welcome ends with the full address ("Welcome to the Internet
 * Relay Network nick!user@host", as ngircd and InspIRCd send it); others
 * end with the nick alone, and the address comes with our first JOIN. */
static bool learn_welcome_address(struct proto_session *s, const struct irc_line *l,
				  struct irc_span nick)
{
	struct irc_span last;
	const uint8_t *p;
	size_t start, n;

	if (l->n_params < 2 || !l->has_trailer)
		return true;
	last = l->params[l->n_params - 1];
	p = span_ptr(l, last);
	start = last.len;
	while (start > 0 && p[start - 1] != ' ')
		start--;
	n = full_address_nick_len(p + start, last.len - start);
	if (!n || !bytes_eq_ci(p + start, n, span_ptr(l, nick), nick.len))
		return true;
	return proto_session_set_local_address(s, (const char *)p + start, last.len - start);
}

/* The network's name (RPL_ISUPPORT NETWORK=) tells which users one
 * server can reach; without it, the welcoming server's name. */
static bool learn_network(struct proto_session *s, const struct irc_line *l)
{
	static const char key[] = "NETWORK=";
	const size_t key_len = sizeof(key) - 1;
	size_t i;

	for (i = 1; i < l->n_params; i++) {
		const uint8_t *p = span_ptr(l, l->params[i]);
		size_t n = l->params[i].len;

		if (!param_is_middle(l, i) || n <= key_len || memcmp(p, key, key_len) != 0)
			continue;
		return proto_session_set_service(s, (const char *)p + key_len, n - key_len);
	}
	return true;
}

static int on_numeric(struct proto_session *s, const struct irc_line *l)
{
	struct irc_state *st = state_of(s);
	unsigned code = line_numeric(l);
	struct irc_span first = l->params[0];
	bool first_is_nick = param_is_middle(l, 0) && nick_valid(span_ptr(l, first), first.len);

	switch (code) {
	case 1: /* RPL_WELCOME: the nick the server registered */
		if (first_is_nick && !learn_local(s, l, first))
			return proto_session_malformed(s, "out of memory");
		if (first_is_nick && !learn_welcome_address(s, l, first))
			return proto_session_malformed(s, "out of memory");
		if (l->prefix.len && !s->service &&
		    !proto_session_set_service(s, (const char *)span_ptr(l, l->prefix),
					       l->prefix.len))
			return proto_session_malformed(s, "out of memory");
		st->registered = true;
		if (st->login_sent)
			return 0;
		st->login_sent = true;
		return emit_simple(s, IM_DIR_IN, IM_KIND_LOGIN, l,
				   l->prefix.len ? &l->prefix : NULL, false, "");
	case 5: /* RPL_ISUPPORT */
		if (!learn_network(s, l))
			return proto_session_malformed(s, "out of memory");
		return 0;
	case 670: /* RPL_STARTTLS: TLS starts right after this line */
		return emit_encrypted(s, IM_DIR_IN, l, "STARTTLS");
	case 691: /* ERR_STARTTLS: the session stays in clear text */
		return 0;
	default:
		/* Picked up mid-session: every reply is addressed to us. */
		if (!s->local_id && first_is_nick) {
			if (!learn_local(s, l, first))
				return proto_session_malformed(s, "out of memory");
			st->registered = true;
		}
		return 0;
	}
}

/* ":old!user@host NICK new": the server confirmed our new nick, so others
 * now see us as new!user@host. */
static bool learn_renamed_address(struct proto_session *s, const struct irc_line *l,
				  struct irc_span old_nick, struct irc_span new_nick)
{
	const uint8_t *p = span_ptr(l, l->prefix);
	struct bytebuf b;
	bool ok;

	if (full_address_nick_len(p, l->prefix.len) != old_nick.len)
		return true;
	bytebuf_init(&b);
	ok = bytebuf_append(&b, span_ptr(l, new_nick), new_nick.len) &&
	     bytebuf_append(&b, p + old_nick.len, l->prefix.len - old_nick.len) &&
	     proto_session_set_local_address(s, (const char *)b.data, b.len);
	bytebuf_free(&b);
	return ok;
}

static int on_nick(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_state *st = state_of(s);
	struct irc_span nick, new_nick = l->params[0];

	if (l->n_params < 1 || !nick_valid(span_ptr(l, new_nick), new_nick.len))
		return 0;
	if (dir == IM_DIR_OUT) {
		/* After registration a NICK can still be refused (432, 433):
		 * wait for the server's ":old!u@h NICK new". */
		if (!st->registered && !learn_local(s, l, new_nick))
			return proto_session_malformed(s, "out of memory");
		return 0;
	}
	if (!prefix_user_nick(l, &nick) || !local_is(s, span_ptr(l, nick), nick.len))
		return 0;
	if (!learn_local(s, l, new_nick) || !learn_renamed_address(s, l, nick, new_nick))
		return proto_session_malformed(s, "out of memory");
	return 0;
}

/* Emit one event per comma-separated entry of a list parameter. */
static int emit_per_item(struct proto_session *s, enum im_dir dir, enum im_kind kind,
			 const struct irc_line *l, struct irc_span list, const char *text)
{
	const uint8_t *p = span_ptr(l, list);
	size_t pos = 0, end;
	struct irc_span item;

	while (pos < list.len) {
		end = pos;
		while (end < list.len && p[end] != ',')
			end++;
		item = (struct irc_span){ list.off + pos, end - pos };
		if (item.len && emit_simple(s, dir, kind, l, &item, true, text) < 0)
			return -1;
		pos = end + 1;
	}
	return 0;
}

/* JOIN and PART are taken from the server's confirmation, which names
 * the user, rather than from the client's request, which may fail. */
static int on_join_part(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
			enum im_kind kind)
{
	struct irc_span nick;
	char *who;
	int rc;

	if (dir != IM_DIR_IN || l->n_params < 1 || !prefix_user_nick(l, &nick))
		return 0;
	if (kind == IM_KIND_JOIN && !note_own_prefix(s, l))
		return proto_session_malformed(s, "out of memory");
	who = text_utf8_or_latin1(span_ptr(l, nick), nick.len);
	if (!who)
		return proto_session_malformed(s, "out of memory");
	rc = emit_per_item(s, dir, kind, l, l->params[0], who);
	free(who);
	return rc;
}

static int on_kick(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_span victim = l->params[1];
	char *who;
	int rc;

	if (dir != IM_DIR_IN || l->n_params < 2 || victim.len == 0)
		return 0;
	who = text_utf8_or_latin1(span_ptr(l, victim), victim.len);
	if (!who)
		return proto_session_malformed(s, "out of memory");
	rc = emit_per_item(s, dir, IM_KIND_PART, l, l->params[0], who);
	free(who);
	return rc;
}

static int on_quit(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_state *st = state_of(s);
	struct irc_span nick;
	char *reason;
	int rc;

	if (st->logout_sent)
		return 0;
	if (dir == IM_DIR_IN &&
	    !(prefix_user_nick(l, &nick) && local_is(s, span_ptr(l, nick), nick.len)))
		return 0;
	st->logout_sent = true;
	reason = l->n_params ? text_utf8_or_latin1(span_ptr(l, l->params[0]), l->params[0].len)
			     : text_dup("", 0);
	if (!reason)
		return proto_session_malformed(s, "out of memory");
	rc = emit_simple(s, dir, IM_KIND_LOGOUT, l, NULL, false, reason);
	free(reason);
	return rc;
}

/* "CAP * ACK :multi-prefix echo-message": whether the server will echo
 * our own messages back, which must not be logged twice. */
static void on_cap(struct proto_session *s, enum im_dir dir, const struct irc_line *l)
{
	struct irc_state *st = state_of(s);
	struct irc_span caps;
	const uint8_t *p;
	size_t pos = 0, end;

	if (dir != IM_DIR_IN || l->n_params < 3 || !span_is(l, l->params[1], "ACK"))
		return;
	caps = l->params[l->n_params - 1];
	p = span_ptr(l, caps);
	while ((pos = skip_spaces(p, caps.len, pos)) < caps.len) {
		end = token_end(p, caps.len, pos);
		if (bytes_is_ci(p + pos, end - pos, "echo-message"))
			st->echo_message = true;
		else if (bytes_is_ci(p + pos, end - pos, "-echo-message"))
			st->echo_message = false;
		pos = end;
	}
}

static int emit_file_offer(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
			   const struct irc_dcc_offer *offer, const char *remote, bool group,
			   struct irc_span text_span)
{
	struct im_event ev;
	struct bytebuf b;
	bool ok;

	proto_event_begin(s, &ev, dir, IM_KIND_FILE);
	ev.group = group;
	ev.has_file_size = offer->has_size;
	ev.file_size = offer->size;
	ev.has_text_span = true;
	ev.text_offset = text_span.off;
	ev.text_len = text_span.len;
	if (!event_set_str(&ev.remote, remote) || !set_from_line(&ev.file_name, l, offer->name))
		return out_of_memory(s, &ev);
	bytebuf_init(&b);
	ok = bytebuf_append_str(&b, ev.file_name);
	if (ok && offer->has_size)
		ok = bytebuf_printf(&b, " (%llu bytes)", (unsigned long long)offer->size);
	ok = ok && bytebuf_terminate(&b);
	if (ok)
		ok = event_set_str(&ev.text, (const char *)b.data);
	bytebuf_free(&b);
	if (!ok)
		return out_of_memory(s, &ev);
	proto_event_emit(s, &ev);
	return 0;
}

static bool target_is_notice_sink(const uint8_t *p, size_t len)
{
	return bytes_is_ci(p, len, "*") || bytes_is_ci(p, len, "AUTH");
}

static int emit_message_to(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
			   struct irc_span target, const struct irc_span *sender,
			   const struct irc_ctcp_info *ci, const struct irc_dcc_offer *offer)
{
	struct irc_span text = l->params[1];
	bool group = target_is_channel(span_ptr(l, target), target.len);
	const struct irc_span *remote_span = dir == IM_DIR_IN && !group ? sender : &target;
	struct im_event ev;
	char *remote;
	int rc;

	if (dir == IM_DIR_IN && !group && !s->local_id &&
	    nick_valid(span_ptr(l, target), target.len)) {
		if (!learn_local(s, l, target))
			return proto_session_malformed(s, "out of memory");
		state_of(s)->registered = true;
	}
	remote = text_utf8_or_latin1(span_ptr(l, *remote_span), remote_span->len);
	if (!remote)
		return proto_session_malformed(s, "out of memory");
	proto_event_begin(s, &ev, dir,
			  ci->kind == IRC_CTCP_DCC_CHAT ? IM_KIND_RENDEZVOUS : IM_KIND_MESSAGE);
	ev.group = group;
	ev.has_text_span = true;
	ev.text_offset = text.off;
	ev.text_len = text.len;
	ev.text = message_text(l, dir == IM_DIR_IN && group ? sender : NULL, text,
			       ci->kind != IRC_CTCP_NONE);
	if (!ev.text || !event_set_str(&ev.remote, remote)) {
		free(remote);
		return out_of_memory(s, &ev);
	}
	proto_event_emit(s, &ev);
	rc = 0;
	if (ci->kind == IRC_CTCP_DCC_SEND && offer)
		rc = emit_file_offer(s, dir, l, offer, remote, group, text);
	free(remote);
	return rc;
}

static int on_message(struct proto_session *s, enum im_dir dir, const struct irc_line *l,
		      bool notice)
{
	struct irc_state *st = state_of(s);
	struct irc_span sender = { 0, 0 }, targets = l->params[0], target;
	struct irc_ctcp_info ci;
	struct irc_dcc_offer offer;
	bool have_offer = false;
	const uint8_t *p;
	size_t pos, end;

	if (l->n_params < 2)
		return 0;
	if (dir == IM_DIR_IN) {
		if (!prefix_user_nick(l, &sender))
			return 0; /* a server notice */
		if (st->echo_message && local_is(s, span_ptr(l, sender), sender.len))
			return note_own_prefix(s, l) ? 0 /* already logged on its way out */
						     : proto_session_malformed(s, "out of memory");
	}
	ctcp_classify(l, l->params[1], &ci);
	if (ci.kind != IRC_CTCP_NONE && (notice || ci.kind == IRC_CTCP_OTHER))
		return 0; /* CTCP replies and queries are client chatter */
	if (ci.kind == IRC_CTCP_DCC_SEND)
		have_offer = dcc_send_parse(l, ci.body, &offer);
	p = span_ptr(l, targets);
	for (pos = 0; pos < targets.len; pos = end + 1) {
		end = pos;
		while (end < targets.len && p[end] != ',')
			end++;
		target = (struct irc_span){ targets.off + pos, end - pos };
		if (target.len == 0 || target_is_notice_sink(span_ptr(l, target), target.len))
			continue;
		if (emit_message_to(s, dir, l, target, dir == IM_DIR_IN ? &sender : NULL, &ci,
				    have_offer ? &offer : NULL) < 0)
			return -1;
	}
	return 0;
}

/* ---- module operations ----------------------------------------------- */

static bool is_tls_record(const uint8_t *p, size_t len)
{
	return len >= 2 && p[0] == 0x16 && p[1] == 0x03;
}

static int irc_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len)
{
	struct irc_state *st = state_of(s);
	struct irc_line l;
	const char *why = "malformed IRC line";
	enum irc_parse r;

	if (!st)
		return proto_session_malformed(s, "IRC session without state");
	/* A client that went to TLS without STARTTLS we saw (or on 6697). */
	if (is_tls_record(pdu, len))
		return emit_encrypted(s, dir, NULL, "TLS");
	r = parse_line(&l, pdu, line_content_len(pdu, len), &why);
	if (r == IRC_PARSE_EMPTY)
		return 0;
	if (r == IRC_PARSE_BAD)
		return proto_session_malformed(s, why);
	if (line_is_numeric(&l))
		return dir == IM_DIR_IN ? on_numeric(s, &l) : 0;
	if (span_is(&l, l.command, "PRIVMSG"))
		return on_message(s, dir, &l, false);
	if (span_is(&l, l.command, "NOTICE"))
		return on_message(s, dir, &l, true);
	if (span_is(&l, l.command, "NICK"))
		return on_nick(s, dir, &l);
	if (span_is(&l, l.command, "JOIN"))
		return on_join_part(s, dir, &l, IM_KIND_JOIN);
	if (span_is(&l, l.command, "PART"))
		return on_join_part(s, dir, &l, IM_KIND_PART);
	if (span_is(&l, l.command, "KICK"))
		return on_kick(s, dir, &l);
	if (span_is(&l, l.command, "QUIT"))
		return on_quit(s, dir, &l);
	if (span_is(&l, l.command, "CAP"))
		on_cap(s, dir, &l);
	return 0;
}

static enum proto_frame irc_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				  size_t len, size_t *pdu_len)
{
	struct irc_state *st = state_of(s);
	const uint8_t *nl;
	size_t record;

	/* After STARTTLS the next bytes are a TLS record, which may hold no
	 * "\n" for a long way: frame it by its own length. */
	if (is_tls_record(data, len)) {
		if (len < IRC_TLS_RECORD_HEADER)
			return PROTO_FRAME_NEED_MORE;
		record = IRC_TLS_RECORD_HEADER + imw_load_be16(data + 3);
		if (record > IRC_MAX_PDU)
			goto garbage;
		if (len < record)
			return PROTO_FRAME_NEED_MORE;
		*pdu_len = record;
		return PROTO_FRAME_PDU;
	}
	nl = memchr(data, '\n', len < IRC_MAX_PDU ? len : IRC_MAX_PDU);
	if (nl) {
		*pdu_len = (size_t)(nl - data) + 1;
		if (st)
			st->after_garbage[dir] = false;
		return PROTO_FRAME_PDU;
	}
	if (len < IRC_MAX_PDU)
		return PROTO_FRAME_NEED_MORE;
garbage:
	if (st)
		st->after_garbage[dir] = true;
	return PROTO_FRAME_GARBAGE;
}

static size_t skip_tags(const uint8_t *p, size_t len)
{
	size_t pos = skip_spaces(p, len, 0);

	if (pos < len && p[pos] == '@')
		pos = skip_spaces(p, len, token_end(p, len, pos));
	return pos;
}

static size_t irc_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	struct irc_state *st = state_of(s);
	const uint8_t *nl;
	size_t tags;

	/* After a gap that ended on a line boundary the first line is whole;
	 * after garbage we are inside the over-long line and must leave it. */
	if (!(st && st->after_garbage[dir])) {
		tags = skip_tags(data, len);
		if (imw_sig_irc(data + tags, len - tags))
			return 0;
	}
	nl = memchr(data, '\n', len);
	if (!nl)
		return len;
	if (st)
		st->after_garbage[dir] = false;
	return (size_t)(nl - data) + 1;
}

enum irc_line_class {
	IRC_LINE_IRC,
	IRC_LINE_OTHER,   /* a line start of some other protocol */
	IRC_LINE_UNKNOWN, /* could be the tail of a line cut by the window */
};

static bool line_ends_with(const uint8_t *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len >= n && memcmp(p + len - n, lit, n) == 0;
}

/* Command words of protocols that share IRC's "WORD args" line shape. */
static bool command_is_foreign(const uint8_t *p, size_t len)
{
	static const char *const foreign[] = {
		"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
		"EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "VRFY", "STAT", "RETR",
	};
	size_t i;

	for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		if (len == strlen(foreign[i]) && memcmp(p, foreign[i], len) == 0)
			return true;
	return false;
}

static enum irc_line_class classify_line(const uint8_t *p, size_t len)
{
	struct irc_line l;
	const char *why;
	size_t start = skip_tags(p, len);

	if (memchr(p, '\0', len))
		return IRC_LINE_OTHER;
	if (!imw_sig_irc(p + start, len - start))
		return IRC_LINE_UNKNOWN;
	if (parse_line(&l, p, len, &why) != IRC_PARSE_OK)
		return IRC_LINE_OTHER;
	if (!l.prefix.len && (line_is_numeric(&l) ||
			      command_is_foreign(span_ptr(&l, l.command), l.command.len) ||
			      line_ends_with(p, len, " HTTP/1.0") || line_ends_with(p, len, " HTTP/1.1")))
		return IRC_LINE_OTHER;
	return IRC_LINE_IRC;
}

static bool starts_with_registration(const uint8_t *p, size_t len)
{
	return IMW_SIG_PREFIX(p, len, "NICK ") || IMW_SIG_PREFIX(p, len, "USER ") ||
	       IMW_SIG_PREFIX(p, len, "PASS ") || IMW_SIG_PREFIX(p, len, "CAP ") ||
	       IMW_SIG_PREFIX(p, len, "STARTTLS\r\n") || IMW_SIG_PREFIX(p, len, "STARTTLS\n");
}

static enum proto_detect irc_detect(const uint8_t *data, size_t len, enum im_dir dir)
{
	const uint8_t *nl;
	size_t pos = 0, line_len, lines, irc_lines = 0;
	enum irc_line_class cls;

	(void)dir;
	if (len == 0)
		return PROTO_DETECT_MAYBE;
	if (is_tls_record(data, len) || imw_sig_imip(data, len) || memchr(data, '\0', len))
		return PROTO_DETECT_NO;
	if (starts_with_registration(data, len))
		return PROTO_DETECT_YES;
	for (lines = 0; lines < IRC_DETECT_MAX_LINES && pos < len; lines++) {
		nl = memchr(data + pos, '\n', len - pos);
		if (!nl)
			break;
		line_len = line_content_len(data + pos, (size_t)(nl - data) + 1 - pos);
		cls = skip_spaces(data + pos, line_len, 0) == line_len ? IRC_LINE_UNKNOWN
			: classify_line(data + pos, line_len);
		if (cls == IRC_LINE_OTHER)
			return PROTO_DETECT_NO;
		if (cls == IRC_LINE_IRC && ++irc_lines == 2)
			return PROTO_DETECT_YES;
		/* Only the first line may be a fragment (mid-stream pick-up). */
		if (cls == IRC_LINE_UNKNOWN && pos != 0)
			return PROTO_DETECT_NO;
		pos = (size_t)(nl - data) + 1;
	}
	if (irc_lines)
		return PROTO_DETECT_YES;
	return len >= IRC_MAX_PDU ? PROTO_DETECT_NO : PROTO_DETECT_MAYBE;
}

/* ---- encoding -------------------------------------------------------- */

/* Line breaks in text would start a new IRC line: an injected command. */
static bool append_sanitized(struct bytebuf *out, const char *text, size_t len, bool strip_ctcp)
{
	size_t i;
	uint8_t c;

	if (!bytebuf_reserve(out, len))
		return false;
	for (i = 0; i < len; i++) {
		c = (uint8_t)text[i];
		if (c == 0x01 && strip_ctcp)
			continue;
		if (c == '\r' || c == '\n' || c == '\0')
			c = ' ';
		if (!bytebuf_append_byte(out, c))
			return false;
	}
	return true;
}

/* "nick: rest" as logged for incoming channel lines. */
static bool split_sender(const char *text, size_t *nick_len, const char **rest)
{
	const char *colon = strstr(text, ": ");

	if (!colon || !nick_valid((const uint8_t *)text, (size_t)(colon - text)))
		return false;
	*nick_len = (size_t)(colon - text);
	*rest = colon + 2;
	return true;
}

/* Put the new text where the old one was, restoring CTCP marks when the
 * text still reads as the same CTCP command. */
static bool append_message_text(struct bytebuf *out, const struct irc_line *l,
				const struct irc_ctcp_info *ci, const char *text)
{
	size_t len = strlen(text);
	const uint8_t *marker = span_ptr(l, l->params[1]);

	if (ci->kind == IRC_CTCP_NONE)
		return append_sanitized(out, text, len, false);
	if (ci->marker_len) {
		if (len < 1 || (uint8_t)text[0] != marker[0])
			return append_sanitized(out, text, len, false);
		if (!bytebuf_append(out, marker, 1))
			return false;
		text++;
		len--;
	}
	if (len < ci->word.len || !bytes_eq_ci((const uint8_t *)text, ci->word.len,
					       span_ptr(l, ci->word), ci->word.len) ||
	    (len > ci->word.len && text[ci->word.len] != ' '))
		return append_sanitized(out, text, len, false);
	return bytebuf_append_byte(out, 0x01) && append_sanitized(out, text, len, true) &&
	       bytebuf_append_byte(out, 0x01);
}

static int encode_with_orig(enum im_dir dir, const struct im_event *ev, const uint8_t *orig,
			    size_t orig_len, struct bytebuf *out)
{
	struct irc_line l;
	struct irc_span sender, text_span;
	struct irc_ctcp_info ci;
	const char *why, *text = ev->text;
	size_t content_len = line_content_len(orig, orig_len), tail_off;
	bool has_sender = false, in_channel, same, ok;
	char *old;

	if (parse_line(&l, orig, content_len, &why) != IRC_PARSE_OK || l.n_params < 2 ||
	    !(span_is(&l, l.command, "PRIVMSG") || span_is(&l, l.command, "NOTICE")))
		return -1;
	text_span = l.params[1];
	if (dir == IM_DIR_IN) {
		has_sender = prefix_user_nick(&l, &sender);
		if (!has_sender)
			return -1;
	}
	in_channel = dir == IM_DIR_IN && ev->group;
	ctcp_classify(&l, text_span, &ci);
	old = message_text(&l, in_channel ? &sender : NULL, text_span, ci.kind != IRC_CTCP_NONE);
	if (!old)
		return -1;
	same = strcmp(old, text) == 0;
	free(old);
	if (same)
		return bytebuf_append(out, orig, orig_len) ? 0 : -1;

	if (in_channel && strlen(text) >= sender.len + 2 &&
	    memcmp(text, span_ptr(&l, sender), sender.len) == 0 &&
	    memcmp(text + sender.len, ": ", 2) == 0)
		text += sender.len + 2;
	/* A one-word text without ':' must become a trailer to hold spaces;
	 * any stray words after it would otherwise join the new text. */
	ok = bytebuf_append(out, orig, text_span.off);
	if (!(l.has_trailer && l.n_params == 2))
		ok = ok && bytebuf_append_byte(out, ':');
	ok = ok && append_message_text(out, &l, &ci, text);
	tail_off = l.n_params == 2 ? text_span.off + text_span.len : content_len;
	if (ok && tail_off == orig_len)
		ok = bytebuf_append(out, "\r\n", 2);
	else
		ok = ok && bytebuf_append(out, orig + tail_off, orig_len - tail_off);
	return ok ? 0 : -1;
}

static bool remote_valid(const char *remote)
{
	size_t i;

	if (!remote || !remote[0] || remote[0] == ':')
		return false;
	for (i = 0; remote[i]; i++)
		if ((uint8_t)remote[i] <= ' ' || remote[i] == ',')
			return false;
	return true;
}

/* ":nick!user@host " for the sender of an incoming line: its real
 * address when the event carries one for this nick (a locally routed
 * message from a user the recipient may /whois), else nick!nick@imwire. */
static bool append_sender_prefix(struct bytebuf *out, const struct im_event *ev,
				 const char *nick, size_t nick_len)
{
	if (address_of(ev->remote_address, nick, nick_len))
		return bytebuf_append_byte(out, ':') &&
		       bytebuf_append_str(out, ev->remote_address) && bytebuf_append_byte(out, ' ');
	return bytebuf_append_byte(out, ':') && bytebuf_append(out, nick, nick_len) &&
	       bytebuf_append_byte(out, '!') && bytebuf_append(out, nick, nick_len) &&
	       bytebuf_append_str(out, "@imwire ");
}

/* An IRC line is at most 512 bytes with its CRLF. A line a client sends
 * reaches others with the sender's prefix put in front by the server, so
 * it keeps room for one. */
#define IRC_LINE_MAX 510
#define IRC_RELAY_PREFIX_ROOM 110
#define IRC_MIN_TEXT_ROOM 64

/* How much of text (len bytes, no line break) goes on one line of room
 * bytes: all of it if it fits, else up to the last blank in the second
 * half of the room, else as much as fits without cutting a UTF-8
 * sequence. */
static size_t line_chunk(const char *text, size_t len, size_t room)
{
	size_t n = room, i;

	if (len <= room)
		return len;
	for (i = room; i > room / 2; i--)
		if (text[i] == ' ')
			return i;
	while (n > 1 && ((uint8_t)text[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* The text on as many lines as it needs: one per line of the text, each
 * cut to fit, all after the same head ("[:prefix ]PRIVMSG target :"). */
static bool append_lines(struct bytebuf *out, const struct bytebuf *head, const char *text,
			 size_t room)
{
	const char *p = text, *nl;
	size_t len, n;
	bool any = false;

	while (*p || !any) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len && p[len - 1] == '\r')
			len--;
		while (len || !any) {
			n = line_chunk(p, len, room);
			if (!bytebuf_append(out, head->data, head->len) ||
			    !append_sanitized(out, p, n, false) || !bytebuf_append(out, "\r\n", 2))
				return false;
			any = true;
			p += n;
			len -= n;
			if (len && *p == ' ') { /* the blank the line was cut at */
				p++;
				len--;
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return true;
}

/* The head of a system notice (im_event.notice): a NOTICE, which no client
 * answers automatically; to the local user from notice_sender (a nick,
 * nick!user@host or a server name), else from the server; to the remote
 * in the local user's name, its text marking it. */
static bool append_notice_head(struct bytebuf *head, struct proto_session *s, enum im_dir dir,
			       const struct im_event *ev)
{
	const char *local = ev->local && ev->local[0] ? ev->local : s ? s->local_id : NULL;
	const char *from = ev->notice_from;
	bool ok;

	if (dir == IM_DIR_OUT)
		return bytebuf_append_str(head, "NOTICE ") && bytebuf_append_str(head, ev->remote) &&
		       bytebuf_append_str(head, " :");
	if (!remote_valid(local))
		return false;
	if (!from)
		from = s && s->service && strchr(s->service, '.') ? s->service : "imwire";
	ok = bytebuf_append_byte(head, ':') && bytebuf_append_str(head, from);
	if (ok && !strchr(from, '!') && !strchr(from, '.'))
		ok = bytebuf_append_byte(head, '!') && bytebuf_append_str(head, from) &&
		     bytebuf_append_str(head, "@imwire");
	return ok && bytebuf_append_str(head, " NOTICE ") && bytebuf_append_str(head, local) &&
	       bytebuf_append_str(head, " :");
}

static int encode_fresh(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
			struct bytebuf *out)
{
	const char *text = ev->text, *local, *sender = "imwire";
	size_t sender_len = strlen(sender), room;
	struct bytebuf head;
	bool ok;

	if (!remote_valid(ev->remote))
		return -1;
	bytebuf_init(&head);
	if (ev->notice) {
		ok = append_notice_head(&head, s, dir, ev);
	} else if (dir == IM_DIR_OUT) {
		ok = bytebuf_append_str(&head, "PRIVMSG ") && bytebuf_append_str(&head, ev->remote) &&
		     bytebuf_append_str(&head, " :");
	} else if (ev->group) {
		/* The sender comes back from the "nick: " IMSpector prefix. */
		if (split_sender(ev->text, &sender_len, &text))
			sender = ev->text;
		ok = append_sender_prefix(&head, ev, sender, sender_len) &&
		     bytebuf_append_str(&head, "PRIVMSG ") && bytebuf_append_str(&head, ev->remote) &&
		     bytebuf_append_str(&head, " :");
	} else {
		local = ev->local && ev->local[0] ? ev->local : s ? s->local_id : NULL;
		/* Our own decoder takes "*" for a server notice target. */
		if (!remote_valid(local) ||
		    !nick_valid((const uint8_t *)ev->remote, strlen(ev->remote))) {
			bytebuf_free(&head);
			return -1;
		}
		ok = append_sender_prefix(&head, ev, ev->remote, strlen(ev->remote)) &&
		     bytebuf_append_str(&head, "PRIVMSG ") && bytebuf_append_str(&head, local) &&
		     bytebuf_append_str(&head, " :");
	}
	room = IRC_LINE_MAX - (dir == IM_DIR_OUT ? IRC_RELAY_PREFIX_ROOM : 0);
	ok = ok && head.len + IRC_MIN_TEXT_ROOM <= room &&
	     append_lines(out, &head, text, room - head.len);
	bytebuf_free(&head);
	return ok ? 0 : -1;
}

static int irc_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		      const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	size_t mark = out->len;
	int rc;

	if (ev->kind != IM_KIND_MESSAGE || !ev->text)
		return -1;
	rc = orig ? encode_with_orig(dir, ev, orig, orig_len, out) : encode_fresh(s, dir, ev, out);
	if (rc < 0)
		out->len = mark; /* never leave half a line behind */
	return rc;
}

/* The tags a server echoes back with a client's own message: client-only
 * tags ("+typing") are relayed as sent, and labeled-response's "label"
 * lets the client match the echo to its request. */
static bool tag_is_echoed(const uint8_t *p, size_t len)
{
	const uint8_t *eq = memchr(p, '=', len);

	if (len && p[0] == '+')
		return true;
	return bytes_is_ci(p, eq ? (size_t)(eq - p) : len, "label");
}

static bool append_echo_tags(struct bytebuf *out, const struct irc_line *l)
{
	const uint8_t *p = span_ptr(l, l->tags);
	size_t pos = 0, end, n = 0;

	while (pos < l->tags.len) {
		end = pos;
		while (end < l->tags.len && p[end] != ';')
			end++;
		if (tag_is_echoed(p + pos, end - pos)) {
			if (!bytebuf_append(out, n ? ";" : "@", 1) ||
			    !bytebuf_append(out, p + pos, end - pos))
				return false;
			n++;
		}
		pos = end + 1;
	}
	return n == 0 || bytebuf_append_byte(out, ' ');
}

/* The target of l's target list that ev names (ev is one event per
 * target); the only one when there is just one. */
static bool echo_target(const struct irc_line *l, const struct im_event *ev,
			struct irc_span *target)
{
	const uint8_t *p = span_ptr(l, l->params[0]);
	size_t pos, end, len = l->params[0].len;

	if (!memchr(p, ',', len)) {
		*target = l->params[0];
		return len > 0;
	}
	for (pos = 0; pos < len; pos = end + 1) {
		end = pos;
		while (end < len && p[end] != ',')
			end++;
		if (ev->remote && bytes_eq_ci(p + pos, end - pos, (const uint8_t *)ev->remote,
					      strlen(ev->remote))) {
			*target = (struct irc_span){ l->params[0].off + pos, end - pos };
			return end > pos;
		}
	}
	return false;
}

/* With IRCv3 echo-message the server sends a client's PRIVMSG or NOTICE
 * back to it from its own full address once delivered; without it the
 * server says nothing on success. */
static int irc_local_receipt(struct proto_session *s, const struct im_event *ev,
			     const uint8_t *orig, size_t orig_len, struct bytebuf *out)
{
	struct irc_state *st = state_of(s);
	struct irc_line l;
	struct irc_span target;
	const char *why, *local, *command;
	size_t mark = out->len;
	bool ok;

	if (!st || !ev || ev->dir != IM_DIR_OUT || !orig)
		return -1;
	if (!st->echo_message)
		return 0;
	if (parse_line(&l, orig, line_content_len(orig, orig_len), &why) != IRC_PARSE_OK ||
	    l.n_params < 2 || !param_is_middle(&l, 0) || !echo_target(&l, ev, &target))
		return -1;
	if (span_is(&l, l.command, "PRIVMSG"))
		command = "PRIVMSG ";
	else if (span_is(&l, l.command, "NOTICE"))
		command = "NOTICE ";
	else
		return -1;
	local = s->local_id ? s->local_id : ev->local;
	if (!s->local_address && !(local && nick_valid((const uint8_t *)local, strlen(local))))
		return -1;
	ok = append_echo_tags(out, &l) && bytebuf_append_byte(out, ':');
	if (s->local_address)
		ok = ok && bytebuf_append_str(out, s->local_address);
	else
		ok = ok && bytebuf_append_str(out, local) && bytebuf_append_byte(out, '!') &&
		     bytebuf_append_str(out, local) && bytebuf_append_str(out, "@imwire");
	ok = ok && bytebuf_append_byte(out, ' ') && bytebuf_append_str(out, command) &&
	     bytebuf_append(out, span_ptr(&l, target), target.len) &&
	     bytebuf_append_str(out, " :") &&
	     bytebuf_append(out, span_ptr(&l, l.params[1]), l.params[1].len) &&
	     bytebuf_append(out, "\r\n", 2);
	if (!ok) {
		out->len = mark;
		return -1;
	}
	return 1;
}

/* Only PRIVMSG and NOTICE lines from users (or from the client) become
 * messages; a partial line that is already something else, such as a
 * server's NOTICE or numeric, can be sent on without waiting for its end. */
static bool irc_partial_may_edit(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				 size_t len)
{
	size_t pos, end, i;
	bool prefix_is_user = false;

	(void)s;
	pos = skip_spaces(data, len, 0);
	if (pos < len && data[pos] == '@') {
		end = token_end(data, len, pos);
		if (end == len)
			return true; /* tags still arriving */
		pos = skip_spaces(data, len, end);
	}
	if (pos < len && data[pos] == ':') {
		end = token_end(data, len, pos);
		if (end == len)
			return true;
		for (i = pos; i < end; i++)
			prefix_is_user |= data[i] == '!' || data[i] == '@';
		if (!prefix_is_user && dir == IM_DIR_IN)
			return false; /* a server speaking */
		pos = skip_spaces(data, len, end);
	}
	end = token_end(data, len, pos);
	if (end == len)
		return true; /* the command is not complete yet */
	return bytes_is_ci(data + pos, end - pos, "PRIVMSG") ||
	       bytes_is_ci(data + pos, end - pos, "NOTICE");
}

static int irc_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct irc_state));
	return s->state ? 0 : -1;
}

static void irc_session_free(struct proto_session *s)
{
	free(s->state);
	s->state = NULL;
}

const struct proto_module proto_irc = {
	.name = "irc",
	.id = IMW_PROTO_IRC,
	.ports = irc_ports,
	.n_ports = sizeof(irc_ports) / sizeof(irc_ports[0]),
	.max_pdu = IRC_MAX_PDU,
	.detect = irc_detect,
	.frame = irc_frame,
	.decode = irc_decode,
	.resync = irc_resync,
	.session_init = irc_session_init,
	.session_free = irc_session_free,
	.encode = irc_encode,
	.partial_may_edit = irc_partial_may_edit,
	.local_receipt = irc_local_receipt,
};
