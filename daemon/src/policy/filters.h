/* The filters behind policy.h, one file each. Each loads from its own
 * config keys or list file and answers one question about an event; the
 * order they run in and what their answers mean for the stream are
 * policy.c's business. None of them locks: policy.c serialises calls. */
#ifndef IMW_POLICY_FILTERS_H
#define IMW_POLICY_FILTERS_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "event/event.h"
#include "util/bytebuf.h"
#include "config/listfile.h"

/* ---- parties.c: who an event is between ---- */

/* ASCII case-insensitive equality: IM ids are compared the way their
 * services compare them (nicks, e-mail style ids). */
bool ids_equal(const char *a, const char *b);

/* The two parties of an event as the ACL and the DB filter match them.
 * An XMPP event names a session (local is the bound full JID, a remote
 * that wrote to us is user@domain/resource) while lists name accounts,
 * and a reply comes from a full JID when the message went to a bare one:
 * so a listed id matches the id itself or its bare form, which is the id
 * itself for every other protocol. A listed full JID still names only
 * that session. */
struct parties {
	const char *local;
	const char *local_bare;
	const char *remote;
	const char *remote_bare;
	bool group; /* remote is a channel, room or conference */
};

/* True when listed names id: equal to it or to its bare form. */
bool party_matches(const char *listed, const char *id, const char *bare);

/* ---- badwords.c: IMSpector's content manipulation ---- */

struct badwords {
	char **words;
	size_t n;
	char replace;         /* badwords_replace_character (default '*') */
	bool has_block_count; /* badwords_block_count given */
	unsigned block_count; /* more than this many bad words: block */
};

int badwords_load(struct badwords *bw, const char *path, char *err, size_t err_size);
void badwords_free(struct badwords *bw);
/* Counts the bad words in text (every occurrence, case-insensitive) and
 * sets *censored to a same-length copy with each one's bytes replaced, or
 * NULL when there is none. Returns the count, or -1 on allocation failure. */
long badwords_censor(const struct badwords *bw, const char *text, char **censored);
/* The first listed word found in text (any case), NULL when none: the
 * entry an archived event names as its rule. */
const char *badwords_first(const struct badwords *bw, const char *text);

/* ---- acl.c: IMSpector's file-backed ACLs: 0.5's white and black lists,
 * 0.9's rule file ---- */

struct acl_entry {
	char *local;
	char **remotes;
	size_t n_remotes;
};

struct acl_list {
	struct acl_entry *v;
	size_t n;
};

/* One line of 0.9's acl_filename: "allow|deny LOCAL|all [REMOTE...]". */
struct acl_rule {
	bool allow;
	char *local; /* NULL for "all" */
	char **remotes;
	size_t n_remotes;  /* with groupchat and any_remote unset, 0 means every remote */
	bool groupchat;    /* "groupchat" was listed: every group conversation */
	bool any_remote;   /* "all" was listed (pfSense writes "allow all all") */
	char *text;        /* the line as written (the archive's rule) */
};

struct acl_rules {
	struct acl_rule *v;
	size_t n;
};

struct acl {
	bool have_lists; /* whitelist_filename or blacklist_filename given */
	struct acl_list white;
	struct acl_list black;
	bool block_unlisted; /* 0.5's: applies to the lists only */
	struct acl_rules rules;
};

/* One list file in IMSpector 0.5's format: "local: remote remote ...". */
int acl_list_load(struct acl_list *l, const char *path, char *err, size_t err_size);
int acl_list_load_report(struct acl_list *l, const char *path, struct config_report *r);
/* IMSpector 0.9's rule file; every bad line goes to r. */
int acl_rules_load(struct acl_rules *rules, const char *path, struct config_report *r);
void acl_free(struct acl *a);
/* True when the pair may not talk (see acl.c for the order). */
bool acl_blocks(const struct acl *a, const struct parties *who);
/* The same, saying what decided: *key the config key (acl_filename,
 * whitelist_filename, blacklist_filename, block_unlisted) and *entry the
 * rule line or the listed local id ("" when none). */
bool acl_blocks_why(const struct acl *a, const struct parties *who, const char **key,
		    const char **entry);
/* True when listed names the party: party_matches, or listed is a domain
 * ("example.com" or "@example.com") and id is user@that domain. */
bool acl_id_matches(const char *listed, const char *id, const char *bare);

/* ---- dbfilter.c: IMSpector's SQLite `lists` filter with auto-whitelist ---- */

enum dbfilter_action {
	DBFILTER_ACCEPT = 1,
	DBFILTER_BLOCK = 2,
	DBFILTER_AWL = 3,
};

enum dbfilter_type {
	DBFILTER_MANUAL = 1,
	DBFILTER_AUTO = 2,
};

struct dbfilter_pair {
	char *local;
	char *remote;
};

struct dbfilter {
	void *db; /* sqlite3 */
	void *match;  /* sqlite3_stmt: any row with this action for the pair */
	void *insert; /* sqlite3_stmt: an AUTO ACCEPT row */
	bool dry_run; /* never write: AWL rows are kept in memory instead */
	struct dbfilter_pair *remembered;
	size_t n_remembered;
	unsigned long long errors;
};

/* Opens (creating the file and table unless dry_run). In dry run a
 * missing file is an empty table. */
int dbfilter_open(struct dbfilter *f, const char *path, bool dry_run, char *err, size_t err_size);
void dbfilter_close(struct dbfilter *f);
/* IMSpector's matching order: ACCEPT, then AWL for outgoing events (adding
 * an ACCEPT row of type AUTO, with the bare ids: a resource changes with
 * every login), then BLOCK, then allow. True: block. A database error
 * allows the event and is counted in f->errors. */
bool dbfilter_blocks(struct dbfilter *f, const struct parties *who, bool outgoing, double now);

/* ---- regex_rules.c: replacement rules beyond IMSpector ---- */

struct regex_rule {
	regex_t re;
	char *replacement; /* sed-like: & is the match, \1..\9 groups */
	bool block;        /* flag b: a match blocks the message */
	bool flag;         /* regex_flag=: a match only flags (replacement: the category) */
	char *spec;
};

struct regex_rules {
	struct regex_rule *v;
	size_t n;
};

/* spec: "/PATTERN/REPLACEMENT/FLAGS", any punctuation as the delimiter;
 * POSIX extended syntax; flags i (ignore case) and b (block). */
int regex_rules_add(struct regex_rules *r, const char *spec, char *err, size_t err_size);
void regex_rules_free(struct regex_rules *r);
/* 0: no rule matched; 1: *out is the rewritten text; 2: a blocking rule
 * matched; -1: allocation failure. Rules apply in order, each to the
 * previous one's result, every match replaced. */
int regex_rules_apply(const struct regex_rules *r, const char *text, char **out);
/* The same, with the rule that decided: the blocking one, or the first
 * that changed the text (NULL when none did). */
int regex_rules_apply_why(const struct regex_rules *r, const char *text, char **out,
			  const struct regex_rule **why);
/* regex_flag=: "/PATTERN/CATEGORY/FLAGS" (flag i only); a category is
 * letters, digits, '_', '-' or '.'. */
int regex_flag_add(struct regex_rules *r, const char *spec, char *err, size_t err_size);

/* ---- blocks.c: block_files, block_webcams, encrypted sessions ---- */

struct event_blocks {
	bool files;
	bool webcams;
	bool encrypted[IMW_PROTO_MAX];
};

/* "irc,jabber" (the <name>_protocol names, imwire's names, or "all"). */
int event_blocks_parse_encrypted(struct event_blocks *b, const char *list, char *err,
				 size_t err_size);
bool event_blocks_match(const struct event_blocks *b, const struct im_event *ev);
/* The PDU to put in place of a server's STARTTLS go-ahead so the client
 * gives up on TLS (IRC 691, XMPP <failure/>); false when the protocol has
 * none and the PDU is only deleted. */
bool starttls_refusal(const struct im_event *ev, struct bytebuf *out);

/* ---- notice.c: once per conversation and period ---- */

struct notice_entry {
	char *key;
	double last;
};

struct notice_book {
	struct notice_entry *v;
	size_t n;
	size_t cap;
};

/* True (and remembered) when key had nothing within `period` seconds
 * before now. The book is bounded: the stalest entry makes room. */
bool notice_book_due(struct notice_book *b, const char *key, double now, double period);
/* The two halves of it: was key told within period before now; key was
 * told at `when` (false: out of memory). */
bool notice_book_recent(struct notice_book *b, const char *key, double now, double period);
bool notice_book_mark(struct notice_book *b, const char *key, double when);
void notice_book_free(struct notice_book *b);
/* Move from's entries into to (a reload keeps who was told when). */
void notice_book_take(struct notice_book *to, struct notice_book *from);

/* ---- responder.c: IMSpector 0.9's responder state (responder_filename) ---- */

/* The `type` column: what a user was told. */
enum responder_type {
	RESPONDER_NOTICE = 1,   /* notice_response: the conversation is logged */
	RESPONDER_FILTERED = 2, /* filtered_response: what they sent was blocked */
};

struct responder {
	void *db;       /* sqlite3; NULL in a dry run without the file */
	void *last;     /* sqlite3_stmt: when was this user last told this */
	void *forget;   /* sqlite3_stmt: drop the user's older row */
	void *remember; /* sqlite3_stmt: the user was told now */
	bool dry_run;   /* never write: what was told is kept in memory */
	struct notice_book told; /* what this process told (the file's cache) */
	unsigned long long errors;
};

/* Opens the file (creating it and its table unless dry_run; in a dry run
 * a missing file is an empty one). An existing table `responder` of
 * another layout is left alone, with a warning, for a table of imwire's
 * own in the same file. -1 after reporting why. */
int responder_open(struct responder *r, const char *path, bool dry_run,
		   struct config_report *report);
void responder_close(struct responder *r);
/* Was userid (case-insensitive) of protocol proto (IMSpector's name)
 * told type within period seconds before now? A database error counts in
 * r->errors and leaves the answer to what this process told. */
bool responder_told(struct responder *r, const char *proto, const char *userid,
		    enum responder_type type, double now, double period);
/* userid was told type at now: into the file (memory in a dry run). */
void responder_mark(struct responder *r, const char *proto, const char *userid,
		    enum responder_type type, double now);

#endif
