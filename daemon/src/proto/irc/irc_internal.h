/* The IRC module's pieces, private to daemon/src/proto/irc/: the parsed
 * line (spans into the PDU), CTCP and DCC offers, the per-session state,
 * and what each file offers the others. */
#ifndef IMW_PROTO_IRC_INTERNAL_H
#define IMW_PROTO_IRC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/proto.h"
#include "util/bytebuf.h"

/* Real captures hold lines of several KB (IRCv3 tags, bots); anything
 * past this is not a line of text. */
#define IRC_MAX_PDU 65536u
/* RFC 2812: at most 14 middle parameters; whatever follows is the last. */
#define IRC_MAX_PARAMS 15u
/* detect() decides on a couple of lines; more would only cost time. */
#define IRC_DETECT_MAX_LINES 8u
#define IRC_TLS_RECORD_HEADER 5u

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
	struct irc_span addr;  /* the sender's address: a 32-bit number, or text */
	struct irc_span port;  /* "0" asks the receiver to listen (reverse DCC) */
	struct irc_span token; /* reverse DCC's token, when given */
};

struct irc_state {
	bool registered;  /* the server accepted a nick: a client NICK is a request now */
	bool login_sent;
	bool logout_sent;
	bool encrypted_sent;
	bool echo_message; /* IRCv3 echo-message: our own lines come back */
	bool after_garbage[2];
};

/* Kept in the session itself (proto_session's state_inline). */
_Static_assert(sizeof(struct irc_state) <= sizeof(((struct proto_session *)0)->state_inline),
	       "struct irc_state must fit in a session's inline state");

static inline struct irc_state *irc_state_of(struct proto_session *s)
{
	return s ? (struct irc_state *)(void *)s->state_inline : NULL;
}

/* ---- irc_line.c: lines, nicks, addresses, CTCP ---- */

bool irc_bytes_eq_ci(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* 0x20 in each byte of w (a word of n <= 8 bytes of ASCII) that is a
 * letter, else 0; no carry or borrow crosses a byte. */
static inline uint64_t irc_letter_bits(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t t = (w | ones * 0x20) & ~highs;

	return ((t + ones * (0x80 - 'a')) & (ones * (0x80 + 'z') - t) & highs) >> 2;
}

/* The n (1 to 8) bytes at a are those at lit, letters in either case. */
static inline bool irc_word_is_ci(const uint8_t *a, const char *lit, size_t n)
{
	uint64_t x = 0, y = 0, m;

	memcpy(&x, a, n);
	memcpy(&y, lit, n);
	m = irc_letter_bits(y);
	return (x | m) == (y | m);
}

/* Are the a_len bytes at a the literal lit, ASCII letters in either case
 * (as irc_bytes_eq_ci)? Inline: with a literal its length, its words and
 * their letter masks are constants, and another length costs nothing. */
static inline bool irc_bytes_is_ci(const uint8_t *a, size_t a_len, const char *lit)
{
	size_t n = strlen(lit);

	if (a_len != n)
		return false;
	if (n <= 8)
		return n == 0 || irc_word_is_ci(a, lit, n);
	return irc_bytes_eq_ci(a, a_len, (const uint8_t *)lit, n);
}

static inline const uint8_t *irc_span_ptr(const struct irc_line *l, struct irc_span sp)
{
	return l->p + sp.off;
}

static inline bool irc_span_is(const struct irc_line *l, struct irc_span sp, const char *lit)
{
	return irc_bytes_is_ci(irc_span_ptr(l, sp), sp.len, lit);
}

size_t irc_skip_spaces(const uint8_t *p, size_t len, size_t pos);
size_t irc_token_end(const uint8_t *p, size_t len, size_t pos);
/* Length of a PDU without its "\n" or "\r\n". */
static inline size_t irc_line_content_len(const uint8_t *p, size_t len)
{
	if (len && p[len - 1] == '\n')
		len--;
	if (len && p[len - 1] == '\r')
		len--;
	return len;
}
/* Parse a line (without its line break). Parameters from n_params on
 * are unset but for the first three, which are zero. */
enum irc_parse irc_parse_line(struct irc_line *l, const uint8_t *p, size_t len, const char **why);
static inline bool irc_line_is_numeric(const struct irc_line *l)
{
	return l->command.len == 3 && l->p[l->command.off] >= '0' && l->p[l->command.off] <= '9';
}
unsigned irc_line_numeric(const struct irc_line *l);
/* Is parameter i a plain word (not the ':' trailer)? */
bool irc_param_is_middle(const struct irc_line *l, size_t i);
/* The nick of a user prefix ("nick!user@host", "nick@host"); false for a
 * server name or no prefix at all. */
bool irc_prefix_user_nick(const struct irc_line *l, struct irc_span *nick);
bool irc_nick_valid(const uint8_t *p, size_t len);
/* Channel prefixes "#&+!"; a STATUSMSG target ("@#chan") is a channel too. */
bool irc_target_is_channel(const uint8_t *p, size_t len);
bool irc_local_is(const struct proto_session *s, const uint8_t *p, size_t len);
/* The nick's length in a full address "nick!user@host", or 0 when p is
 * not one (a server name, "nick@host", a bare nick). Hosts may hold ':'
 * (IPv6) and '/' (cloaks), so only what would end or split a prefix is
 * refused after the nick. */
size_t irc_full_address_nick_len(const uint8_t *p, size_t len);
/* Is addr a full address whose nick is nick? */
bool irc_address_of(const char *addr, const char *nick, size_t nick_len);
void irc_ctcp_classify(const struct irc_line *l, struct irc_span text, struct irc_ctcp_info *ci);
/* "DCC SEND <name> <ip> <port> [<size>]", the name in double quotes when
 * it holds spaces. */
bool irc_dcc_send_parse(const struct irc_line *l, struct irc_span body,
			struct irc_dcc_offer *offer);
/* ---- irc_xfer.c: where a DCC SEND's data will travel ---- */

/* Fill x from a parsed offer; x stays IM_XFER_NONE when the offer names
 * no usable address and port. */
void irc_dcc_xfer(const struct irc_line *l, const struct irc_dcc_offer *offer,
		  struct im_xfer *x);
static inline bool irc_is_tls_record(const uint8_t *p, size_t len)
{
	return len >= 2 && p[0] == 0x16 && p[1] == 0x03;
}

/* ---- irc_decode.c: lines to events ---- */

/* The logged text of a message line: "[sender: ]trailer", CTCP marks
 * removed. NULL on allocation failure. */
char *irc_message_text(const struct irc_line *l, const struct irc_span *sender,
		       struct irc_span text, bool strip_ctcp);
int irc_decode(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len);

/* ---- irc_frame.c: framing, resync, detection ---- */

enum proto_frame irc_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			   size_t len, size_t *pdu_len);
size_t irc_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len);
enum proto_detect irc_detect(const uint8_t *data, size_t len, enum im_dir dir);
/* Only PRIVMSG and NOTICE lines from users (or from the client) become
 * messages; a partial line that is already something else, such as a
 * server's NOTICE or numeric, can be sent on without waiting for its end. */
bool irc_partial_may_edit(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			  size_t len);

/* ---- irc_encode.c: events to lines ---- */

int irc_encode(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
	       const uint8_t *orig, size_t orig_len, struct bytebuf *out);

/* ---- irc_frame.c: encrypted=strip ---- */

/* The server's "CAP * LS|NEW|ACK :... tls ..." with the tls capability
 * blanked, in place, when the session strips the offer of TLS. */
bool irc_fixup_pdu(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len);

/* ---- irc_receipt.c: local delivery receipts ---- */

/* With IRCv3 echo-message the server sends a client's PRIVMSG or NOTICE
 * back to it from its own full address once delivered; without it the
 * server says nothing on success. */
int irc_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		      size_t orig_len, struct bytebuf *out);

#endif
