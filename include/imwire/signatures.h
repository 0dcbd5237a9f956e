/* Payload signatures: does the first data of a flow look like protocol X?
 * Shared by BPF (bounded loops only, no library calls), the kernel module
 * and the daemon, hence plain static inline C over a byte window.
 * Each check looks only at the first `len` bytes it is given and must be
 * cheap; the daemon confirms with the full decoder. */
#ifndef IMWIRE_SIGNATURES_H
#define IMWIRE_SIGNATURES_H

#ifdef __KERNEL__
#include <linux/types.h>
#elif defined(__bpf__)
/* types come from vmlinux.h, included first by the BPF program */
#else
#include <stddef.h>
#include <stdint.h>
#endif

#include "protocols.h"

static inline int imw_sig_prefix(const uint8_t *p, size_t len, const char *lit, size_t lit_len)
{
	size_t i;

	if (len < lit_len)
		return 0;
	for (i = 0; i < lit_len; i++)
		if (p[i] != (uint8_t)lit[i])
			return 0;
	return 1;
}

#define IMW_SIG_PREFIX(p, len, lit) imw_sig_prefix((p), (len), (lit), sizeof(lit) - 1)

static inline int imw_sig_is_upper(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

/* IRC from the client's first bytes (registration) or any IRC line seen
 * mid-session: optional leading spaces, an optional ":prefix ", then an
 * upper-case command word or a three-digit numeric, then a space. */
static inline int imw_sig_irc(const uint8_t *p, size_t len)
{
	size_t i = 0, word = 0, digits = 0;

	if (IMW_SIG_PREFIX(p, len, "NICK ") || IMW_SIG_PREFIX(p, len, "USER ") ||
	    IMW_SIG_PREFIX(p, len, "PASS ") || IMW_SIG_PREFIX(p, len, "CAP LS") ||
	    IMW_SIG_PREFIX(p, len, "CAP REQ") || IMW_SIG_PREFIX(p, len, "NOTICE AUTH "))
		return 1;
	if (len < 4)
		return 0;
	while (i < len && i < 8 && p[i] == ' ')
		i++;
	if (i < len && p[i] == ':') {
		i++;
		while (i < len && i < 200 && p[i] != ' ') {
			if (p[i] < 0x21 || p[i] > 0x7e)
				return 0;
			i++;
		}
		if (i >= len || i >= 200)
			return 0;
		while (i < len && i < 216 && p[i] == ' ')
			i++;
	}
	while (i < len && word < 16 && imw_sig_is_upper(p[i])) {
		i++;
		word++;
	}
	while (word == 0 && i < len && digits < 3 && p[i] >= '0' && p[i] <= '9') {
		i++;
		digits++;
	}
	if (!((word >= 3 && word < 16) || digits == 3))
		return 0;
	return i < len && p[i] == ' ';
}

/* IMIP (IMUnified): a block type line we know, CRLF, then the decimal
 * size line. The size line tells it apart from IRC's LIST and from SMTP. */
static inline int imw_sig_imip(const uint8_t *p, size_t len)
{
	size_t i, digits = 0;

	if (!(IMW_SIG_PREFIX(p, len, "HELO\r\n") || IMW_SIG_PREFIX(p, len, "LOGN ") ||
	      IMW_SIG_PREFIX(p, len, "LOGIN ") || IMW_SIG_PREFIX(p, len, "STAT ") ||
	      IMW_SIG_PREFIX(p, len, "MESG\r\n") || IMW_SIG_PREFIX(p, len, "PING\r\n") ||
	      IMW_SIG_PREFIX(p, len, "ACK ") || IMW_SIG_PREFIX(p, len, "LIST ") ||
	      IMW_SIG_PREFIX(p, len, "DISC\r\n")))
		return 0;
	for (i = 0; i + 1 < len && i < 96; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			break;
	if (i + 1 >= len || i >= 96)
		return 0;
	for (i += 2; i < len && digits < 10 && p[i] >= '0' && p[i] <= '9'; i++)
		digits++;
	return digits > 0 && i + 1 < len && p[i] == '\r' && p[i + 1] == '\n';
}

/* MSN Messenger (MSNP): the client's first line on a notification server
 * ("VER 1 MSNP8 CVR0", echoed by the server) or a switchboard login
 * ("USR 1 alice@example.com cookie", "ANS 1 ..."), or "CVR 2 ...": a
 * command, a space, a decimal transaction id and a space. VER must name
 * an MSNP version on the same line. */
static inline int imw_sig_msn(const uint8_t *p, size_t len)
{
	size_t i, digits = 0;
	int ver = IMW_SIG_PREFIX(p, len, "VER ");

	if (!(ver || IMW_SIG_PREFIX(p, len, "USR ") || IMW_SIG_PREFIX(p, len, "ANS ") ||
	      IMW_SIG_PREFIX(p, len, "CVR ")))
		return 0;
	for (i = 4; i < len && digits < 10 && p[i] >= '0' && p[i] <= '9'; i++)
		digits++;
	if (digits == 0 || i >= len || p[i] != ' ')
		return 0;
	if (!ver)
		return 1;
	for (; i + 4 <= len && i < 96 && p[i] != '\r' && p[i] != '\n'; i++)
		if (p[i] == 'M' && p[i + 1] == 'S' && p[i + 2] == 'N' && p[i + 3] == 'P')
			return 1;
	return 0;
}

/* Yahoo Messenger (YMSG): "YMSG", a 16-bit version, a 16-bit vendor id,
 * the 16-bit payload length, a 16-bit service. The version of every
 * client that spoke YMSG is below 0x100 and the service below 0x1000. */
static inline int imw_sig_ymsg(const uint8_t *p, size_t len)
{
	if (!IMW_SIG_PREFIX(p, len, "YMSG") || len < 12)
		return 0;
	return p[4] == 0 && p[10] < 0x10;
}

/* OSCAR FLAP: '*', a channel 1..5, a sequence number and a length. */
static inline int imw_sig_flap_channel_ok(uint8_t ch)
{
	return ch >= 1 && ch <= 5;
}

static inline int imw_sig_flap_header(const uint8_t *p, size_t len)
{
	return len >= 6 && p[0] == '*' && imw_sig_flap_channel_ok(p[1]);
}

/* A FLAP that only OSCAR sends: the channel-1 sign-on (version 1, then
 * TLVs) or a channel-2 SNAC with a small binary family and subtype. TOC's
 * channel-2 text frames have a printable first byte, so they never pass. */
static inline int imw_sig_oscar_flap(const uint8_t *p, size_t len)
{
	size_t body;

	if (!imw_sig_flap_header(p, len))
		return 0;
	body = ((size_t)p[4] << 8) | p[5];
	if (p[1] == 1)
		return body >= 4 && len >= 10 && p[6] == 0 && p[7] == 0 && p[8] == 0 && p[9] == 1;
	if (p[1] == 2)
		return body >= 10 && len >= 10 && p[6] == 0 && p[7] >= 1 && p[7] <= 0x50 &&
		       p[8] == 0 && p[9] >= 1 && p[9] < 0x40;
	return 0;
}

/* AIM TOC: the client's "FLAPON", or a channel-2 FLAP carrying a TOC
 * command ("toc_send_im ...", "toc2_signon ...") or server message
 * ("IM_IN:...", "SIGN_ON:..."). */
static inline int imw_sig_toc(const uint8_t *p, size_t len)
{
	size_t i, upper = 0;

	if (IMW_SIG_PREFIX(p, len, "FLAPON\r\n\r\n"))
		return 1;
	if (!imw_sig_flap_header(p, len) || p[1] != 2 || len < 10)
		return 0;
	if (p[6] == 't' && p[7] == 'o' && p[8] == 'c' && (p[9] == '_' || p[9] == '2'))
		return 1;
	for (i = 6; i < len && i < 6 + 24; i++) {
		if (imw_sig_is_upper(p[i]) || p[i] == '_' || (p[i] >= '0' && p[i] <= '9'))
			upper++;
		else
			break;
	}
	return upper >= 2 && i < len && p[i] == ':' && imw_sig_is_upper(p[6]);
}

/* OSCAR peer file transfer (OFT2): magic, header length, a known type. */
static inline int imw_sig_oft(const uint8_t *p, size_t len)
{
	unsigned hlen, type;

	if (!IMW_SIG_PREFIX(p, len, "OFT2") || len < 8)
		return 0;
	hlen = ((unsigned)p[4] << 8) | p[5];
	type = ((unsigned)p[6] << 8) | p[7];
	return hlen >= 256 && (type == 0x0101 || type == 0x0202 || type == 0x0204 ||
			       type == 0x0205 || type == 0x0106 || type == 0x0207);
}

static inline int imw_sig_is_xml_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Does lit (at most 16 bytes) start at p[at]? */
static inline int imw_sig_at(const uint8_t *p, size_t len, size_t at, const char *lit,
			     size_t lit_len)
{
	size_t i;

	if (at > len || len - at < lit_len || lit_len > 16)
		return 0;
	for (i = 0; i < lit_len && i < 16; i++)
		if (p[at + i] != (uint8_t)lit[i])
			return 0;
	return 1;
}

#define IMW_SIG_AT(p, len, at, lit) imw_sig_at((p), (len), (at), (lit), sizeof(lit) - 1)

/* XMPP (Jabber): a stream header, "<stream:stream", after optional white
 * space and an optional XML declaration "<?xml ... ?>" that ends within
 * the first 128 bytes. Stanzas picked up mid-stream are left to the
 * daemon, which sees them through the port map. */
static inline int imw_sig_xmpp(const uint8_t *p, size_t len)
{
	size_t i = 0, j;

	while (i < len && i < 16 && imw_sig_is_xml_space(p[i]))
		i++;
	if (IMW_SIG_AT(p, len, i, "<stream:stream"))
		return 1;
	if (!IMW_SIG_AT(p, len, i, "<?xml"))
		return 0;
	for (j = i + 5; j + 1 < len && j < 128; j++)
		if (p[j] == '?' && p[j + 1] == '>')
			break;
	if (j + 1 >= len || j >= 128)
		return 0;
	for (j += 2; j < len && j < 144 && imw_sig_is_xml_space(p[j]); j++)
		;
	return IMW_SIG_AT(p, len, j, "<stream:stream");
}

/* Gadu-Gadu: the server speaks first with GG_WELCOME (type 1, length 4,
 * a 32-bit seed); the client's first packet is a login (types 0x0c,
 * 0x13, 0x15, 0x19, 0x29, 0x31, 0x83) of 16..4096 bytes whose first
 * field, the UIN, is not zero (GG 11's protobuf login excepted). Header
 * integers are little-endian. */
static inline int imw_sig_gg(const uint8_t *p, size_t len)
{
	uint32_t type, plen;

	if (len < 12)
		return 0;
	type = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	plen = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	if (type == 0x01)
		return plen == 4 && (len == 12 || len >= 20);
	if (!(type == 0x0c || type == 0x13 || type == 0x15 || type == 0x19 || type == 0x29 ||
	      type == 0x31 || type == 0x83))
		return 0;
	if (plen < 16 || plen > 4096)
		return 0;
	return type == 0x83 || (p[8] | p[9] | p[10] | p[11]) != 0;
}

/* HTTP requests and responses: their method words would pass the loose
 * IRC check ("GET / HTTP/1.1" looks like a command line). */
static inline int imw_sig_http(const uint8_t *p, size_t len)
{
	return IMW_SIG_PREFIX(p, len, "GET ") || IMW_SIG_PREFIX(p, len, "POST ") ||
	       IMW_SIG_PREFIX(p, len, "HEAD ") || IMW_SIG_PREFIX(p, len, "PUT ") ||
	       IMW_SIG_PREFIX(p, len, "DELETE ") || IMW_SIG_PREFIX(p, len, "OPTIONS ") ||
	       IMW_SIG_PREFIX(p, len, "CONNECT ") || IMW_SIG_PREFIX(p, len, "PATCH ") ||
	       IMW_SIG_PREFIX(p, len, "HTTP/1.");
}

/* IRC as the first bytes of a flow: the loose check above, once HTTP is
 * ruled out (its method words would pass) and numeric banners too: SMTP
 * and FTP servers start with "220 ...", while an IRC server's first line
 * always has a prefix. */
static inline int imw_sig_irc_start(const uint8_t *p, size_t len)
{
	if (imw_sig_http(p, len) || (len > 0 && p[0] >= '0' && p[0] <= '9'))
		return 0;
	return imw_sig_irc(p, len);
}

/* The protocol whose signature the first payload bytes of a flow match,
 * or IMW_PROTO_NONE: the table's rows in their order (protocols.h), so
 * binary framings come first and IRC, the loosest text check, last. */
#define IMW_SIG_TRY_ROW(ID, num, nm, ims, cfg, alt, sig, ...) \
	if (sig(p, len))                                          \
		return IMW_PROTO_##ID;

static inline enum imw_proto imw_sig_classify(const uint8_t *p, size_t len)
{
	IMW_PROTOCOLS(IMW_SIG_TRY_ROW)
	return IMW_PROTO_NONE;
}

#endif
