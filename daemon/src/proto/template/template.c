/* The template module (TPL, a made-up protocol: template_internal.h): a
 * complete module to copy when adding a protocol, compiled and tested
 * (tests/unit/test_template.c) but built only into the test binaries.
 * docs/adding-a-protocol.md walks through the copy.
 *
 * A module is one ops table. The app layer (daemon/src/app/) owns the
 * byte buffers and calls, per direction: detect on a flow's first bytes,
 * then frame for the length of the next PDU, decode with each complete
 * PDU, resync after a gap or garbage; the inline engine calls encode to
 * rewrite or build a message and local_receipt when it delivers one
 * itself. A module never sees packets and never writes them.
 *
 * Event conventions (write them down for a real protocol, here, as the
 * other modules do):
 * - HELLO is a login; its name is the session's local id.
 * - SEND is an outgoing message to its recipient, DELIVER an incoming
 *   one from its sender; text_offset/len locate the text in the PDU, so
 *   a same-length edit of those bytes is an edit of the text. */
#include <stdlib.h>

#include "proto/template/template.h"
#include "proto/template/template_internal.h"

static int tpl_session_init(struct proto_session *s)
{
	s->state = calloc(1, sizeof(struct tpl_state));
	return s->state ? 0 : -1;
}

static void tpl_session_free(struct proto_session *s)
{
	free(s->state);
	s->state = NULL;
}

/* A built-in module takes its identity from its row of the protocol
 * table: `PROTO_IDENTITY(TPL),` instead of the two lines and the
 * proto_info below, which the template needs only because it has no
 * row (its id is IMW_PROTO_NONE). */
static const uint16_t tpl_ports[] = { 5999 };

static const struct proto_info tpl_info = {
	.id = IMW_PROTO_NONE,
	.name = "template",
	.imspector = "TEMPLATE",
	.config_key = "",
	.also = "",
	.ports = tpl_ports,
	.n_ports = sizeof(tpl_ports) / sizeof(tpl_ports[0]),
};

/* Required: detect, frame, decode, resync, max_pdu. Optional, checked at
 * registration (proto_module_check): session_init with session_free,
 * local_receipt only with encode, pdu_count_changed only with fixup_pdu. */
const struct proto_module proto_template = {
	.id = IMW_PROTO_NONE,
	.info = &tpl_info,
	.max_pdu = TPL_MAX_PDU,
	.detect = tpl_detect,
	.frame = tpl_frame,
	.decode = tpl_decode,
	.resync = tpl_resync,
	.session_init = tpl_session_init,
	.session_free = tpl_session_free,
	.encode = tpl_encode,
	.local_receipt = tpl_local_receipt,
};
