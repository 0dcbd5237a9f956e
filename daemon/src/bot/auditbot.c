/* auditbot: tells a user what the site's IM policy is. It answers
 * "!policy" with the notice the policy shows (notice_text), "!help" with
 * what it understands, and anything else with a pointer to "!help". */
#include <string.h>
#include <strings.h>

#include "bot/bot.h"

#define NO_NOTICE "No IM policy notice is configured here; messages may still be logged."
#define HELP "auditbot commands: !policy (the IM policy of this network), !help"

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static bool is_command(const char *text, const char *cmd)
{
	size_t n = strlen(cmd);
	const char *rest;

	text = skip_blanks(text);
	if (strncasecmp(text, cmd, n) != 0)
		return false;
	rest = skip_blanks(text + n);
	return *rest == '\0' || *rest == '\r' || *rest == '\n';
}

static void auditbot_on_message(struct bot *b, const struct bot_message *m, bot_reply_fn reply,
				void *reply_arg)
{
	(void)b;
	if (!m->text)
		return;
	if (is_command(m->text, "!policy"))
		reply(reply_arg, m->policy_notice && m->policy_notice[0] ? m->policy_notice
									  : NO_NOTICE);
	else if (is_command(m->text, "!help"))
		reply(reply_arg, HELP);
	else
		reply(reply_arg, "I am the audit bot of this network. Try !help.");
}

const struct bot_ops auditbot_ops = {
	.name = "auditbot",
	.on_message = auditbot_on_message,
};
