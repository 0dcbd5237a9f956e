/* Conversation threading: which archived events a reader sees as one
 * conversation. A one-to-one conversation is the events between one local
 * and one remote id (protocol, case and XMPP resources aside) with no
 * pause longer than the gap; a group chat is the events of one room, with
 * every local user in it, with the same gap rule. Only messages, files and
 * webcam events make conversations (typing, presence and logins do not).
 * A conversation is named by the id of its first event, so a listing and
 * `imwire show ID` agree without any stored thread table. */
#ifndef IMW_REVIEW_THREAD_H
#define IMW_REVIEW_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "review/archive.h"

#define THREAD_DEFAULT_GAP 1800 /* seconds */

struct conversation {
	int64_t id;   /* the first event's row id */
	char *proto;  /* imwire's name ("irc") */
	char *local;  /* "" for a group chat with several local users */
	char *remote; /* the peer, or the room */
	bool group;
	int64_t start, end;
	size_t n_hits;
	char **participants;
	size_t n_participants;
	size_t *rows; /* indices into the row list, in time order */
	size_t n_rows;
};

struct conversation_set {
	struct conversation *conv;
	size_t n;
};

/* The grouping key of a row (caller frees); NULL on allocation failure. */
char *thread_key(const struct review_row *r);
/* An id as threading compares it: ASCII lower case, XMPP resource and
 * OSCAR spaces dropped (caller frees). */
char *thread_normalize_id(const char *proto, const char *id);

/* Threads of rows (any order); conversations sorted by start time, then
 * id. 0, or -1 on allocation failure. */
int thread_build(const struct row_list *rows, int64_t gap, struct conversation_set *out);
void conversation_set_free(struct conversation_set *set);

/* The conversation that starts at row id: its rows (time order) into
 * rows, and its summary into out (rows indices into *rows). 0, 1 when
 * there is no such thread event, -1 on an error (a->err). */
int thread_load(struct archive *a, int64_t id, int64_t gap, struct row_list *rows,
		struct conversation *out);
void conversation_free(struct conversation *c);

#endif
