/* OFT2: the OSCAR peer-to-peer file transfer connection.
 *
 * After a rendezvous proposal on the BOS connection, the receiver
 * connects to the sender (or both to a proxy). Each side sends
 * fixed-layout headers: "OFT2", header length (256 or more), type, the
 * ICBM cookie, counts and sizes, and the file name at offset 192. The
 * sender's prompt (0x0101) names the file; the receiver's ack (0x0202)
 * starts the raw file data from the sender, `size` bytes with no framing;
 * the receiver's done (0x0204) ends it.
 *
 * One file event per transfer (cookie and name), in the sender's
 * direction: a prompt, or an ack when the prompt was not seen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "imwire/signatures.h"
#include "proto/oscar/oscar_internal.h"
#include "util/cursor.h"
#include "util/text.h"

#define OFT_OFF_TYPE 6u
#define OFT_OFF_COOKIE 8u
#define OFT_OFF_SIZE 32u
#define OFT_OFF_RECEIVED 60u
#define OFT_OFF_ENCODING 188u

enum proto_detect oft_detect(const uint8_t *data, size_t len)
{
	static const char magic[] = "OFT2";
	size_t i;

	for (i = 0; i < len && i < OFT_MAGIC_LEN; i++)
		if (data[i] != (uint8_t)magic[i])
			return PROTO_DETECT_NO;
	if (len < 8)
		return PROTO_DETECT_MAYBE;
	return imw_sig_oft(data, len) ? PROTO_DETECT_YES : PROTO_DETECT_NO;
}

enum proto_frame oft_frame_header(const uint8_t *data, size_t len, size_t *pdu_len)
{
	size_t hlen;

	switch (oft_detect(data, len)) {
	case PROTO_DETECT_NO:
		return PROTO_FRAME_GARBAGE;
	case PROTO_DETECT_MAYBE:
		return PROTO_FRAME_NEED_MORE;
	case PROTO_DETECT_YES:
		break;
	}
	hlen = imw_load_be16(data + 4);
	if (len < hlen)
		return PROTO_FRAME_NEED_MORE;
	*pdu_len = hlen;
	return PROTO_FRAME_PDU;
}

size_t oft_resync(const uint8_t *data, size_t len)
{
	size_t pos;

	for (pos = 0; pos < len; pos++)
		if (data[pos] == 'O' && oft_detect(data + pos, len - pos) != PROTO_DETECT_NO)
			return pos;
	return len;
}

int oft_parse(const uint8_t *pdu, size_t len, struct oft_header *h, const char **why)
{
	size_t n;

	memset(h, 0, sizeof(*h));
	if (len < OFT_MIN_HEADER || !imw_sig_oft(pdu, len) || imw_load_be16(pdu + 4) != len) {
		*why = "OFT2 header shorter than 256 bytes or length mismatch";
		return -1;
	}
	h->header_len = (uint16_t)len;
	h->type = imw_load_be16(pdu + OFT_OFF_TYPE);
	h->cookie = pdu + OFT_OFF_COOKIE;
	h->size = imw_load_be32(pdu + OFT_OFF_SIZE);
	h->received = imw_load_be32(pdu + OFT_OFF_RECEIVED);
	h->name_encoding = imw_load_be16(pdu + OFT_OFF_ENCODING);
	h->name = pdu + OFT_NAME_OFF;
	n = len - OFT_NAME_OFF;
	if (h->name_encoding == ICBM_CHARSET_UCS2BE) {
		size_t i;

		for (i = 0; i + 1 < n; i += 2)
			if (h->name[i] == 0 && h->name[i + 1] == 0)
				break;
		h->name_len = i < n ? i : n & ~(size_t)1;
	} else {
		const uint8_t *nul = memchr(h->name, '\0', n);

		h->name_len = nul ? (size_t)(nul - h->name) : n;
	}
	return 0;
}

static bool cookie_is_zero(const uint8_t *cookie)
{
	size_t i;

	for (i = 0; i < ICBM_COOKIE_LEN; i++)
		if (cookie[i])
			return false;
	return true;
}

static int emit_transfer(struct proto_session *s, struct oscar_state *st, enum im_dir sender,
			 const struct oft_header *h)
{
	struct im_event ev;
	char *name = icbm_decode_charset(h->name_encoding, h->name, h->name_len);

	if (!name)
		return proto_session_malformed(s, "out of memory");
	/* The sender's prompt may leave the cookie zero; the ack fills it in. */
	if (st->oft_name && strcmp(st->oft_name, name) == 0 &&
	    (memcmp(st->oft_cookie, h->cookie, ICBM_COOKIE_LEN) == 0 ||
	     cookie_is_zero(st->oft_cookie) || cookie_is_zero(h->cookie))) {
		free(name);
		return 0;
	}
	free(st->oft_name);
	st->oft_name = name;
	memcpy(st->oft_cookie, h->cookie, ICBM_COOKIE_LEN);
	proto_event_begin(s, &ev, sender, IM_KIND_FILE);
	ev.file_size = h->size;
	ev.has_file_size = true;
	if (!event_set_str(&ev.file_name, name))
		goto oom;
	if (asprintf(&ev.text, "%s (%lu bytes)", name, (unsigned long)h->size) < 0) {
		ev.text = NULL;
		goto oom;
	}
	proto_event_emit(s, &ev);
	return 0;
oom:
	event_free(&ev);
	return proto_session_malformed(s, "out of memory");
}

/* The raw data of the sender's file start: tell the file stage, with
 * the name as the header gives it. */
static void open_data(struct proto_session *s, struct oscar_state *st, enum im_dir sender,
		      const struct oft_header *h)
{
	char *name = icbm_decode_charset(h->name_encoding, h->name, h->name_len);

	oscar_oft_open(s, st, sender, h, name);
	free(name);
}

int oscar_decode_oft(struct proto_session *s, struct oscar_state *st, enum im_dir dir,
		     const uint8_t *pdu, size_t len)
{
	struct oft_header h;
	const char *why;
	enum im_dir other = dir == IM_DIR_OUT ? IM_DIR_IN : IM_DIR_OUT;
	int rc;

	if (st->oft_raw_left[dir]) {
		/* Raw file data (oscar_frame cut it from oft_raw_left), whatever
		 * it looks like. */
		oscar_oft_data(s, st, dir, pdu, len);
		st->oft_raw_left[dir] -= len < st->oft_raw_left[dir] ? len : st->oft_raw_left[dir];
		if (!st->oft_raw_left[dir])
			oscar_oft_close(s, st, dir, true);
		return 0;
	}
	if (oft_parse(pdu, len, &h, &why) < 0)
		return proto_session_malformed(s, why);
	switch (h.type) {
	case OFT_TYPE_PROMPT:
		return emit_transfer(s, st, dir, &h);
	case OFT_TYPE_ACK:
		st->oft_raw_left[other] = h.size;
		rc = emit_transfer(s, st, other, &h);
		if (h.size)
			open_data(s, st, other, &h);
		return rc;
	case OFT_TYPE_RESUME_ACK:
		st->oft_raw_left[other] = h.received < h.size ? h.size - h.received : 0;
		if (st->oft_raw_left[other]) {
			struct proto_file_piece gap = { .op = PROTO_FILE_GAP, .dir = other };

			open_data(s, st, other, &h);
			gap.token = h.cookie;
			gap.token_len = ICBM_COOKIE_LEN;
			gap.len = h.received;
			proto_file_piece(s, &gap);
		}
		return 0;
	case OFT_TYPE_DONE:
		st->oft_raw_left[other] = 0;
		oscar_oft_close(s, st, other, false);
		return 0;
	default:
		return 0;
	}
}
