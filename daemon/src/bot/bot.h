/* Bots: modules that talk to local users without any server account.
 *
 * A bot answers to one or more addresses ("auditbot@irc",
 * "auditbot@example.org@xmpp"). A message a local user sends to one of
 * them is taken out of the user's server-bound stream by the routing
 * stage and handed to the bot; each reply the bot gives is encoded by the
 * user's protocol module and injected towards the user's client as if
 * the bot had written it through the server. Bots see only neutral
 * messages, so one bot works on every protocol. */
#ifndef IMW_BOT_H
#define IMW_BOT_H

#include <stdbool.h>
#include <stddef.h>

#include "imwire/protocols.h"

struct bot_message {
	enum imw_proto proto;
	const char *from;          /* the local user */
	const char *to;            /* the bot address as the user wrote it */
	const char *text;
	double ts;
	const char *policy_notice; /* notice_text of the policy in force, NULL when unset */
};

typedef void (*bot_reply_fn)(void *arg, const char *text);

struct bot;

struct bot_ops {
	const char *name; /* config key bot_<name>= */
	int (*init)(struct bot *b);
	/* Answer through reply (any number of times, before returning). */
	void (*on_message)(struct bot *b, const struct bot_message *m, bot_reply_fn reply,
			   void *reply_arg);
	void (*free)(struct bot *b);
};

struct bot_address {
	enum imw_proto proto;
	char *id;
};

struct bot {
	const struct bot_ops *ops;
	void *state;
	struct bot_address *addresses;
	size_t n_addresses;
};

/* The built-in bots, by config name; NULL when there is none. */
const struct bot_ops *bot_ops_by_name(const char *name);

/* A bot for addresses ("id@proto, id@proto"); NULL with a reason in err. */
struct bot *bot_new(const struct bot_ops *ops, const char *addresses, char *err, size_t err_size);
void bot_free(struct bot *b);
/* True when (proto, id) is one of the bot's addresses: ids compare
 * without case, and an XMPP id also by its bare form. */
bool bot_answers_to(const struct bot *b, enum imw_proto proto, const char *id);

extern const struct bot_ops auditbot_ops;

#endif
