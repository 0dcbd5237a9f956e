/* MSN P2P chunks and MSNSLP invitations.
 *
 * A P2P chunk is a 48-byte little-endian header (session id, id, offset,
 * total size, chunk size, flags, three ack fields), the chunk data and a
 * 4-byte big-endian application id. Session 0 carries MSNSLP: SIP-like
 * text ("INVITE MSNMSGR:who MSNSLP/1.0", headers, blank line, body). An
 * INVITE body names the application by EUF-GUID; for a file transfer its
 * Context is base64 of a little-endian struct: header length, version,
 * 64-bit file size, type, then the name as 260 UTF-16LE units. */
#include "proto/msn/msn_p2p.h"

#include <stdlib.h>
#include <string.h>

#include "util/cursor.h"
#include "util/text.h"

/* Offsets into the file transfer context. */
#define CTX_SIZE_OFF 8u
#define CTX_NAME_OFF 20u
#define CTX_NAME_BYTES 520u
/* A context with a preview image is a few KB; more is not a context. */
#define CTX_MAX_BASE64 (64u * 1024u)

static bool cursor_le64(struct cursor *c, uint64_t *out)
{
	uint32_t lo = 0, hi = 0;

	if (!cursor_le32(c, &lo) || !cursor_le32(c, &hi))
		return false;
	*out = (uint64_t)hi << 32 | lo;
	return true;
}

int msn_p2p_parse_chunk(const uint8_t *p, size_t n, struct msn_p2p_chunk *c)
{
	struct cursor cur;

	cursor_init(&cur, p, n);
	memset(c, 0, sizeof(*c));
	cursor_le32(&cur, &c->session_id);
	cursor_le32(&cur, &c->id);
	cursor_le64(&cur, &c->offset);
	cursor_le64(&cur, &c->total);
	cursor_le32(&cur, &c->size);
	cursor_le32(&cur, &c->flags);
	cursor_skip(&cur, 16); /* ack id, ack unique id, ack size */
	if (!cursor_ok(&cur))
		return -1;
	c->data = cursor_take(&cur, c->size);
	if (!c->data || c->offset > c->total || c->size > c->total - c->offset)
		return -1;
	return 0;
}

static int base64_value(uint8_t ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Decode base64, ignoring padding; NULL on a bad character or no memory. */
static uint8_t *base64_decode(const uint8_t *p, size_t n, size_t *out_len)
{
	uint8_t *out = malloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	size_t i, bits = 0, o = 0;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		int v;

		if (p[i] == '=')
			break;
		v = base64_value(p[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out_len = o;
	return out;
}

/* Next line of [*pos, n) without its CRLF; false at the end. */
static bool next_line(const uint8_t *p, size_t n, size_t *pos, const uint8_t **line,
		      size_t *len)
{
	size_t i = *pos;

	if (i >= n || p[i] == '\0')
		return false;
	while (i < n && p[i] != '\n' && p[i] != '\0')
		i++;
	*line = p + *pos;
	*len = i - *pos;
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	*pos = i < n && p[i] == '\n' ? i + 1 : i;
	return true;
}

/* "Name: value" with name matched case-insensitively; value trimmed. */
static bool header_value(const uint8_t *line, size_t len, const char *name, const uint8_t **v,
			 size_t *vlen)
{
	size_t nlen = strlen(name);

	if (len <= nlen || line[nlen] != ':' || !text_has_prefix_ci((const char *)line, len, name))
		return false;
	*v = line + nlen + 1;
	*vlen = len - nlen - 1;
	while (*vlen && ((*v)[0] == ' ' || (*v)[0] == '\t')) {
		(*v)++;
		(*vlen)--;
	}
	while (*vlen && ((*v)[*vlen - 1] == ' ' || (*v)[*vlen - 1] == '\t'))
		(*vlen)--;
	return true;
}

/* "<msnmsgr:bob@example.com>" or "<msnmsgr:bob@example.com;{guid}>". */
static char *slp_address(const uint8_t *v, size_t n)
{
	const char *scheme = "msnmsgr:";
	size_t i;

	if (n && v[0] == '<') {
		v++;
		n--;
	}
	if (n && v[n - 1] == '>')
		n--;
	if (text_has_prefix_ci((const char *)v, n, scheme)) {
		v += strlen(scheme);
		n -= strlen(scheme);
	}
	for (i = 0; i < n && v[i] != ';'; i++)
		;
	return text_utf8_or_latin1(v, i);
}

static bool span_is_ci(const uint8_t *v, size_t n, const char *lit)
{
	return n == strlen(lit) && text_has_prefix_ci((const char *)v, n, lit);
}

/* The file name and size out of a base64 file transfer context. */
static int parse_file_context(const uint8_t *b64, size_t n, struct msn_slp_offer *o)
{
	uint8_t *ctx;
	size_t len, name_len = 0, limit;

	if (n > CTX_MAX_BASE64)
		return -1;
	ctx = base64_decode(b64, n, &len);
	if (!ctx)
		return -1;
	if (len < CTX_NAME_OFF) {
		free(ctx);
		return -1;
	}
	o->file_size = imw_load_le32(ctx + CTX_SIZE_OFF) |
		       (uint64_t)imw_load_le32(ctx + CTX_SIZE_OFF + 4) << 32;
	o->has_file_size = true;
	limit = len - CTX_NAME_OFF < CTX_NAME_BYTES ? len - CTX_NAME_OFF : CTX_NAME_BYTES;
	while (name_len + 1 < limit &&
	       (ctx[CTX_NAME_OFF + name_len] || ctx[CTX_NAME_OFF + name_len + 1]))
		name_len += 2;
	o->file_name = text_utf16le_to_utf8(ctx + CTX_NAME_OFF, name_len);
	free(ctx);
	return o->file_name ? 0 : -1;
}

static bool slp_u32(const uint8_t *v, size_t n, uint32_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 10)
		return false;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > UINT32_MAX || x == 0)
		return false;
	*out = (uint32_t)x;
	return true;
}

int msn_slp_parse(const uint8_t *p, size_t n, struct msn_slp_offer *o, const char **why)
{
	const uint8_t *line, *v, *context = NULL;
	size_t pos = 0, len, vlen, context_len = 0;
	bool invite, in_body = false, is_file = false, is_webcam = false;

	memset(o, 0, sizeof(*o));
	if (!next_line(p, n, &pos, &line, &len) || len < 10 ||
	    !(text_has_prefix_ci((const char *)line, len, "INVITE ") ||
	      text_has_prefix_ci((const char *)line, len, "MSNSLP/") ||
	      text_has_prefix_ci((const char *)line, len, "BYE ") ||
	      text_has_prefix_ci((const char *)line, len, "ACK "))) {
		*why = "P2P signalling is not MSNSLP";
		return -1;
	}
	invite = text_has_prefix_ci((const char *)line, len, "INVITE ");
	o->kind = MSN_SLP_OTHER;
	while (next_line(p, n, &pos, &line, &len)) {
		if (len == 0) {
			in_body = true;
			continue;
		}
		if (!in_body) {
			if (header_value(line, len, "To", &v, &vlen) && !o->to)
				o->to = slp_address(v, vlen);
			else if (header_value(line, len, "From", &v, &vlen) && !o->from)
				o->from = slp_address(v, vlen);
			continue;
		}
		if (header_value(line, len, "EUF-GUID", &v, &vlen)) {
			is_file = span_is_ci(v, vlen, MSN_EUF_GUID_FILE);
			is_webcam = span_is_ci(v, vlen, MSN_EUF_GUID_WEBCAM_PUSH) ||
				    span_is_ci(v, vlen, MSN_EUF_GUID_WEBCAM_PULL);
		} else if (header_value(line, len, "Context", &v, &vlen)) {
			context = v;
			context_len = vlen;
		} else if (header_value(line, len, "SessionID", &v, &vlen)) {
			o->has_session_id = slp_u32(v, vlen, &o->session_id);
		}
	}
	if (!o->to || !o->from) {
		msn_slp_offer_free(o);
		*why = "MSNSLP without To or From";
		return -1;
	}
	if (!invite)
		return 0;
	if (is_webcam) {
		o->kind = MSN_SLP_WEBCAM;
	} else if (is_file) {
		o->kind = MSN_SLP_FILE;
		if (!context || parse_file_context(context, context_len, o) < 0) {
			msn_slp_offer_free(o);
			*why = "file transfer INVITE without a readable context";
			return -1;
		}
	}
	return 0;
}

void msn_slp_offer_free(struct msn_slp_offer *o)
{
	free(o->to);
	free(o->from);
	free(o->file_name);
	memset(o, 0, sizeof(*o));
}
