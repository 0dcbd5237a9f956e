/* The configuration file: IMSpector's `key=value` format and keys, plus
 * imwire's own. Parsing validates every line; interpretation of policy
 * keys belongs to the stages that use them (they read them with
 * config_get). */
#ifndef IMW_CONFIG_H
#define IMW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "imwire/protocols.h"
#include "util/net_prefix.h"

struct config_entry {
	char *key;
	char *value;
	unsigned line;
};

struct imw_config {
	char *path;
	struct config_entry *entries;
	size_t n_entries;
	/* interpreted */
	bool protocol_listed; /* some <proto>_protocol key was given */
	bool protocol_on[IMW_PROTO_MAX];
	bool log_typing_events;
	struct net_prefix *local_nets;
	size_t n_local_nets;
};

/* Callback for warnings (accepted keys that do nothing here). */
typedef void (*config_warn_fn)(const char *msg);

/* Where loading a configuration, and the lists and databases it names,
 * reports what it finds: every problem, one line each ("FILE:LINE: key:
 * reason"), in the order found, and the count of errors. check-config
 * prints them all; imwired stops at the first error. Either callback may
 * be NULL. */
struct config_report {
	void (*warning)(void *arg, const char *msg);
	void (*error)(void *arg, const char *msg);
	void *arg;
	unsigned errors;
	unsigned warnings;
};

/* A report that keeps the first error as one line in err and hands each
 * warning to warn (may be NULL): what config_load has always offered, for
 * every loader that has a report variant. fe holds the state. */
struct config_first_error {
	char *err;
	size_t err_size;
	bool have;
	config_warn_fn warn;
};
void config_report_first_error(struct config_report *r, struct config_first_error *fe, char *err,
			       size_t err_size, config_warn_fn warn);

void config_report_error(struct config_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void config_report_warning(struct config_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void config_init(struct imw_config *cfg);
/* Returns 0, or -1 with a one-line message "FILE:LINE: key: reason" (or
 * "FILE: reason") in err. */
int config_load(struct imw_config *cfg, const char *path, char *err, size_t err_size,
		config_warn_fn warn);
/* Parse text as if it were a file called `name` (tests). */
int config_parse(struct imw_config *cfg, const char *name, const char *text, size_t len,
		 char *err, size_t err_size, config_warn_fn warn);
/* The same two, going on past a bad line (which is left out) so that
 * every problem of the file reaches r; 0 when there was none, else -1. */
int config_load_report(struct imw_config *cfg, const char *path, struct config_report *r);
int config_parse_report(struct imw_config *cfg, const char *name, const char *text, size_t len,
			struct config_report *r);
void config_free(struct imw_config *cfg);

/* The keys a configuration may set, i = 0, 1, ... until NULL (for
 * `imwire check-config --list-keys` and the manual's coverage test);
 * "bot_NAME" stands for the bot_ keys. */
const char *config_key_name(size_t i);

/* "N" or "N-M" (at most CONFIG_MAX_QUEUES queues): the queues= key and
 * the --queue options. */
#define CONFIG_MAX_QUEUES 64
bool config_parse_queues(const char *v, unsigned *first, unsigned *last);

/* Last value given for key, or NULL. */
const char *config_get(const struct imw_config *cfg, const char *key);

/* "on"/"yes"/"true"/"1" and their negatives; false if neither. */
bool config_parse_bool(const char *v, bool *out);

/* The instance a configuration file stands for: its file name without
 * ".conf" ("imwire" for imwire.conf and for no file). Instances other
 * than "imwire" get their own default run-time paths (stats file,
 * control socket), so that imwired@.service instances never share one. */
void config_instance(const char *path, char *out, size_t size);

/* The line of the last setting of key (0 when unset), for messages. */
unsigned config_line_of(const struct imw_config *cfg, const char *key);

/* A list of protocols, "irc, jabber" (IMSpector's <name>_protocol names
 * or imwire's) or "all", marked in set (indexed by enum imw_proto).
 * -1 with the unknown name in err. */
int config_parse_protocols(const char *list, bool set[IMW_PROTO_MAX], char *err,
			   size_t err_size);

#endif
