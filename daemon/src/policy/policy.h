/* The policy stage: IMSpector's filters (bad words, ACL white and black
 * lists, the SQLite DB filter with auto-whitelist, block_files,
 * block_webcams) and imwire's own (regex replacement, blocking encrypted
 * sessions, notices), behind one call per event.
 *
 * A policy is built from a configuration and is read-only afterwards
 * except for its bookkeeping (notices sent, AWL rows), which a lock
 * guards: several inline workers may share one. It is reference counted
 * so a reload can replace it while workers still finish an event with
 * the old one.
 *
 * The policy decides through the routing table's runner (route/): its
 * filters are handlers at their positions (policy_add_handlers). The
 * decision says what should happen to the PDU that carried the event; the
 * inline engine turns it into stream edits, `imwire replay` does the same
 * on a capture, and `imwire read --config` only logs it. */
#ifndef IMW_POLICY_H
#define IMW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "event/event.h"

enum policy_action {
	POLICY_PASS,         /* leave the PDU as it is */
	POLICY_REPLACE_TEXT, /* re-encode the PDU with decision.text */
	POLICY_BLOCK,        /* delete the PDU */
	POLICY_REPLACE_PDU,  /* put decision.pdu in its place (a protocol's refusal) */
};

/* notice_text, blocked_notice_text, and the responder's two. */
#define POLICY_MAX_NOTICES 4

struct policy_decision {
	enum policy_action action;
	bool filtered;   /* logged as filtered (IMSpector's column 5): blocked */
	const char *why; /* static: the filter that decided ("acl", "badwords"...) */
	char *text;      /* POLICY_REPLACE_TEXT */
	/* For the archive: the config key and the entry that decided
	 * ("badwords_filename=darn", "regex_replace=/a/b/", "acl_filename=deny
	 * all bob"), or flagged it when nothing else did; and the categories
	 * of the flag rules that matched, comma-separated. NULL: none. */
	char *rule;
	char *categories;
	uint8_t *pdu;    /* POLICY_REPLACE_PDU */
	size_t pdu_len;
	/* A message with this text right after the PDU, same direction and
	 * conversation: no filter of the policy asks for one; a handler of
	 * the route table may (route.h). */
	char *inject_after;
	/* Notices to the local user (notice_text, blocked_notice_text, the
	 * responder's notice_response and filtered_response), in this order. */
	char *notices[POLICY_MAX_NOTICES];
	const char *notice_keys[POLICY_MAX_NOTICES]; /* static: the key of each */
	size_t n_notices;
	/* Notices to the remote party (IMSpector 0.9's responder tells both
	 * sides, and the sender of what it blocked): sent in the local user's
	 * name, towards the remote, right after this PDU, which is outgoing
	 * (a notice owed for an incoming event waits for the local user's
	 * next outgoing PDU of the conversation). response_prefix and
	 * response_postfix mark their text, on every protocol. */
	char *remote_notices[POLICY_MAX_NOTICES];
	const char *remote_notice_keys[POLICY_MAX_NOTICES];
	size_t n_remote_notices;
	/* Every notice is a system notice, written by nobody: encoders send it
	 * from a sender visibly the system (im_event.notice). This is who,
	 * notice_sender= for the event's protocol; NULL: the protocol's own
	 * (the server). Points into the policy, which outlives the decision. */
	const char *notice_from;
	/* The mark of a notice's text where its protocol sends it as an
	 * ordinary message of the conversation (proto/notice.h):
	 * response_prefix and response_postfix, or their defaults
	 * (IMW_NOTICE_PREFIX, IMW_NOTICE_POSTFIX). Point into the policy. */
	const char *notice_prefix;
	const char *notice_postfix;
};

struct policy_stats {
	uint64_t events;
	uint64_t blocked;
	uint64_t replaced;
	uint64_t notices;
	uint64_t remote_notices_dropped; /* owed to a remote who was never written to again */
	uint64_t db_errors;
	uint64_t alloc_failures;
};

struct policy;
struct route_table;

enum policy_mode {
	POLICY_LIVE,    /* inline: may write the DB filter's AWL rows */
	POLICY_DRY_RUN, /* read --config: decides, writes nothing (AWL kept in memory) */
};

/* Builds the policy a configuration describes, reading its list files and
 * opening its databases. NULL with "FILE:LINE: reason" in err when
 * something is wrong (a reload then keeps the old policy). */
struct policy *policy_new(const struct imw_config *cfg, enum policy_mode mode, char *err,
			  size_t err_size);
/* The same, going on past a problem so every one reaches report (and
 * warnings too, which policy_new drops). NULL when there was an error. */
struct policy *policy_new_report(const struct imw_config *cfg, enum policy_mode mode,
				 struct config_report *report);
struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p);

/* True when the policy can change nothing (every event passes). */
bool policy_is_empty(const struct policy *p);

/* Keep the older policy's memory of notices across a reload. */
void policy_take_history(struct policy *to, struct policy *from);

/* The policy's filters as handlers of a routing table (route/route.h):
 * the blocks, the ACL and DB filter and the content rules in pre-routing
 * (positions 100, 200, 300), the notices in post-routing (100), where each
 * event is also counted. -1 when out of memory. */
int policy_add_handlers(struct policy *p, struct route_table *t);
void policy_decision_init(struct policy_decision *d);
void policy_decision_free(struct policy_decision *d);

void policy_get_stats(struct policy *p, struct policy_stats *out);

/* The archive's account of a decision on the event it logs: action
 * (blocked, modified with delivered_text, forwarded), rule, categories;
 * the strings are d's, borrowed (ev is a shallow copy made for logging). */
void policy_decision_mark(const struct policy_decision *d, struct im_event *ev);
/* A notice the decision sent, as an event of its own: action injected,
 * kind message, text the notice, the conversation of ev, rule its key;
 * borrowed strings, as above. to_remote: one of remote_notices. */
void policy_notice_event(const struct policy_decision *d, const struct im_event *ev,
			 size_t i, bool to_remote, struct im_event *out);

/* A copy of notice_text (the auditbot's answer to !policy), NULL when unset. */
char *policy_notice_copy(struct policy *p);


#endif
