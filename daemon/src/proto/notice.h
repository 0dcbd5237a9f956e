/* System notices (im_event.notice) where a protocol has no sender that is
 * visibly the system (MSN, YMSG, OSCAR, TOC, Gadu-Gadu, IMIP): the notice
 * goes as an ordinary message of the conversation, in the peer's name
 * towards the local client (in the local user's towards the remote), so
 * its text is what says who wrote it: it is marked, the event's
 * notice_prefix before it and notice_postfix after it (response_prefix
 * and response_postfix; IMW_NOTICE_PREFIX/POSTFIX when unset).
 *
 * A text that carries the mark already stays as it is: IMSpector 0.9's
 * responder marks its own texts, on every protocol. In a group
 * conversation towards the local client the notice is said by a member
 * named notice_from (notice_sender=), else "imwire", so that no member
 * is made its author.
 *
 * IRC and XMPP send notices from a system sender (their encoders) and do
 * not use this. */
#ifndef IMW_PROTO_NOTICE_H
#define IMW_PROTO_NOTICE_H

#include "event/event.h"

/* Who says a notice in a group conversation when notice_sender= is unset. */
#define NOTICE_GROUP_SENDER "imwire"

/* The text of a notice as the receiver reads it; malloc'd, NULL when out
 * of memory. */
char *notice_wire_text(const struct im_event *ev, enum im_dir dir);

/* ev itself when it is no notice; else *tmp, a shallow copy of ev whose
 * text is notice_wire_text (in *owned: free it once tmp is used), for the
 * module's ordinary message encoder. NULL when out of memory. */
const struct im_event *notice_as_message(const struct im_event *ev, enum im_dir dir,
					 struct im_event *tmp, char **owned);

#endif
