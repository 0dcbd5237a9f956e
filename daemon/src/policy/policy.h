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
 * The decision says what should happen to the PDU that carried the
 * event; the inline engine turns it into stream edits, `imwire replay`
 * does the same on a capture, and `imwire read --config` only logs it. */
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
	uint8_t *pdu;    /* POLICY_REPLACE_PDU */
	size_t pdu_len;
	/* A message with this text right after the PDU, same direction and
	 * conversation (inject_test). */
	char *inject_after;
	/* Notices to the local user (notice_text, blocked_notice_text, the
	 * responder's notice_response and filtered_response), in this order. */
	char *notices[POLICY_MAX_NOTICES];
	size_t n_notices;
	/* Notices to the remote party (IMSpector 0.9's responder tells both
	 * sides, and the sender of what it blocked): sent in the local user's
	 * name, towards the remote, right after this PDU, which is outgoing
	 * (a notice owed for an incoming event waits for the local user's
	 * next outgoing PDU of the conversation). response_prefix and
	 * response_postfix mark their text. */
	char *remote_notices[POLICY_MAX_NOTICES];
	size_t n_remote_notices;
	/* Every notice is a system notice, written by nobody: encoders send it
	 * from a sender visibly the system (im_event.notice). This is who,
	 * notice_sender= for the event's protocol; NULL: the protocol's own
	 * (the server). Points into the policy, which outlives the decision. */
	const char *notice_from;
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
/* A policy with only the inline engine's test rules (tests). */
struct policy *policy_new_test_rules(const char *rewrite_from, const char *rewrite_to,
				     const char *drop_word, const char *inject_word,
				     const char *inject_text);
struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p);

/* True when the policy can change nothing (every event passes). */
bool policy_is_empty(const struct policy *p);

/* Keep the older policy's memory of notices across a reload. */
void policy_take_history(struct policy *to, struct policy *from);

/* The decision for one event. Thread-safe. Free with
 * policy_decision_free. */
struct policy_decision policy_decide(struct policy *p, const struct im_event *ev);
void policy_decision_free(struct policy_decision *d);

void policy_get_stats(struct policy *p, struct policy_stats *out);

/* The chain as steps, for the routing pipeline (route/): the filters are
 * pre-routing handlers, the notices a post-routing one; position is a
 * step's place in its stage. policy_decide runs them all in order. */
enum policy_stage {
	POLICY_STAGE_PRE,
	POLICY_STAGE_POST,
};

struct policy_step {
	const char *name; /* the config keys it stands for */
	enum policy_stage stage;
	int position;
	bool only_while_passing; /* skipped once an earlier step blocked or rewrote */
};

const struct policy_step *policy_steps(size_t *count);
void policy_decision_init(struct policy_decision *d);
/* Step `step` (an index into policy_steps) for ev, updating d. Thread-safe. */
void policy_run_step(struct policy *p, size_t step, const struct im_event *ev,
		     struct policy_decision *d);
/* Count the decision once every step ran. */
void policy_account(struct policy *p, const struct policy_decision *d);
/* A copy of notice_text (the auditbot's answer to !policy), NULL when unset. */
char *policy_notice_copy(struct policy *p);


#endif
