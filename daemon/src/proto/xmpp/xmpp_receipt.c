/* What a client expects once a message it sent was delivered, for when
 * imwire delivers it itself. */
#include <stdio.h>
#include <stdlib.h>

#include "proto/xmpp/xmpp_internal.h"

int xmpp_local_receipt(struct proto_session *s, const struct im_event *ev, const uint8_t *orig,
		       size_t orig_len, struct bytebuf *out)
{
	struct xmpp_state *st = xmpp_state_of(s);
	size_t start = out->len;
	bool failed = false, ok;
	struct xtree t;
	char *id = NULL, own[32];
	int rc = 0;

	if (!orig || !ev->remote || !s->local_id)
		return -1;
	if (xmpp_tree_parse(&t, orig, orig_len) < 0 || !t.n_nodes ||
	    !xmpp_node_is(&t, 0, "message")) {
		rc = -1;
		goto out;
	}
	if (xmpp_child(&t, 0, "request", "urn:xmpp:receipts") < 0)
		goto out; /* none asked for */
	id = xmpp_attr_text(&t, 0, "id", &failed);
	if (failed) {
		rc = -1;
		goto out;
	}
	if (!id)
		goto out; /* XEP-0184: no id, no receipt */
	snprintf(own, sizeof(own), "imwire-%llu", (unsigned long long)++st->injected);
	ok = bytebuf_append_str(out, "<message") && xmpp_append_attr(out, "from", ev->remote) &&
	     xmpp_append_attr(out, "to", s->local_id) && xmpp_append_attr(out, "id", own) &&
	     bytebuf_append_str(out, "><received xmlns='urn:xmpp:receipts'") &&
	     xmpp_append_attr(out, "id", id) && bytebuf_append_str(out, "/></message>");
	if (!ok) {
		out->len = start;
		rc = -1;
	} else {
		rc = 1;
	}
out:
	free(id);
	xmpp_tree_free(&t);
	return rc;
}
