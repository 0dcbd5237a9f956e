/* What a client expects once a message it sent was delivered, for when
 * imwire delivers it itself: the switchboard's ACK. */
#include "proto/msn/msn_internal.h"

int msn_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		      size_t orig_len, struct bytebuf *out)
{
	struct msn_line l;
	struct span trid, type;
	size_t payload, mark = out->len;

	(void)s;
	if (!ev || ev->dir != IM_DIR_OUT || !orig ||
	    msn_scan_line(orig, orig_len, &l) != MSN_SCAN_OK || !msn_cmd_is(&l, "MSG") ||
	    l.n_args != 3 || !msn_line_payload(&l, &payload))
		return -1;
	trid = msn_arg(&l, 0);
	type = msn_arg(&l, 1);
	if (!msn_span_digits(trid, 10))
		return -1;
	if (msn_span_is(type, "U") || msn_span_is(type, "N"))
		return 0;
	if (!msn_span_is(type, "A") && !msn_span_is(type, "D"))
		return -1;
	if (!bytebuf_append_str(out, "ACK ") || !bytebuf_append(out, trid.p, trid.len) ||
	    !bytebuf_append(out, "\r\n", 2)) {
		out->len = mark;
		return -1;
	}
	return 1;
}
