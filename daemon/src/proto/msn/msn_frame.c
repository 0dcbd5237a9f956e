/* MSNP framing (a line, and the payload its length announces), resync
 * at the next line of a known command, and detection. */
#include <string.h>

#include "imwire/signatures.h"
#include "proto/msn/msn_internal.h"
#include "util/text.h"

enum proto_frame msn_frame(struct proto_session *s, enum im_dir dir, const uint8_t *data,
			   size_t len, size_t *pdu_len)
{
	size_t line_len = 0, payload = 0;
	bool has_payload;

	(void)s;
	(void)dir;
	switch (msn_scan_frame(data, len, &line_len, &has_payload, &payload)) {
	case MSN_SCAN_SHORT:
		return PROTO_FRAME_NEED_MORE;
	case MSN_SCAN_BAD:
		return PROTO_FRAME_GARBAGE;
	case MSN_SCAN_OK:
		break;
	}
	if (!has_payload)
		payload = 0;
	else if (payload > MSN_MAX_PDU - line_len)
		return PROTO_FRAME_GARBAGE;
	else if (len - line_len < payload)
		return PROTO_FRAME_NEED_MORE;
	*pdu_len = line_len + payload;
	return PROTO_FRAME_PDU;
}

/* A complete line that only MSNP would send (for mid-stream pick-up). */
static bool line_is_msnp(const uint8_t *p, size_t n)
{
	static const char *const with_trid[] = { "VER", "CVR", "USR", "ANS", "CAL", "IRO",
						 "XFR", "CHG", "SYN", "ILN", "UUX", "ADL", "QNG" };
	struct msn_line l;
	size_t i, payload;

	if (msn_scan_line(p, n, &l) != MSN_SCAN_OK)
		return false;
	for (i = 0; i < sizeof(with_trid) / sizeof(with_trid[0]); i++)
		if (msn_cmd_is(&l, with_trid[i]))
			return msn_span_digits(msn_arg(&l, 0), 10);
	if (msn_cmd_is(&l, "JOI") || msn_cmd_is(&l, "BYE"))
		return msn_span_has(msn_arg(&l, 0), '@');
	if (msn_cmd_is(&l, "MSG") && l.n_args == 3 && msn_line_payload(&l, &payload))
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

	if (n >= 3 && !msn_cmd_known(p) && !(line_start && p[0] >= '0' && p[0] <= '9'))
		return false;
	r = msn_scan_line(p, n, &l);
	if (r == MSN_SCAN_SHORT)
		return n >= 3 || line_start;
	if (r != MSN_SCAN_OK)
		return false;
	if (line_start || line_is_msnp(p, n))
		return true;
	/* A MSG line whose MIME header has not arrived yet: wait and see. */
	return msn_cmd_is(&l, "MSG") && l.n_args == 3 && msn_line_payload(&l, &payload) &&
	       n - l.line_len < strlen("MIME-Version:");
}

size_t msn_resync(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len)
{
	size_t pos;

	(void)s;
	(void)dir;
	for (pos = 0; pos < len; pos++)
		if (resync_candidate(data + pos, len - pos, pos == 0 || data[pos - 1] == '\n'))
			return pos;
	return len;
}

enum proto_detect msn_detect(const uint8_t *data, size_t len, enum im_dir dir)
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
