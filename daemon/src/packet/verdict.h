/* What becomes of a queued packet: the one word the queue (nfq/) and the
 * inline engine share. A verdict names the packet by its queue id; a
 * modified packet's new bytes live in a buffer the verdict's owner keeps,
 * at [offset, offset + len). */
#ifndef IMW_PACKET_VERDICT_H
#define IMW_PACKET_VERDICT_H

#include <stddef.h>
#include <stdint.h>

enum verdict_kind {
	VERDICT_ACCEPT,          /* on, unchanged */
	VERDICT_ACCEPT_MODIFIED, /* on, with new bytes */
	VERDICT_DROP,
};

struct verdict {
	uint32_t id;
	enum verdict_kind kind;
	size_t offset; /* VERDICT_ACCEPT_MODIFIED: the new packet's bytes */
	size_t len;
};

#endif
