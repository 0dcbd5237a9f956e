/* The review console's query model: what one archived event looks like to
 * a reader (a row of IMSpector's `messages` table, or a JSON line, plus
 * whatever richer columns the archive has), and what a reader asks for.
 *
 * Columns beyond IMSpector's are found at run time (PRAGMA table_info,
 * information_schema): an IMSpector database, today's imwire table and a
 * richer one (action, rule, categories, delivered_text, session, kind,
 * group) are all read; a filter on a column the archive lacks is refused
 * with a message naming it, never silently ignored. */
#ifndef IMW_REVIEW_QUERY_H
#define IMW_REVIEW_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Optional columns, as bits of review_columns. */
enum review_column {
	REVIEW_COL_SENSOR = 1u << 0,
	REVIEW_COL_EVENTID = 1u << 1,
	REVIEW_COL_ACTION = 1u << 2,
	REVIEW_COL_RULE = 1u << 3,
	REVIEW_COL_CATEGORIES = 1u << 4,
	REVIEW_COL_DELIVERED = 1u << 5, /* delivered_text */
	REVIEW_COL_SESSION = 1u << 6,
	REVIEW_COL_KIND = 1u << 7,
	REVIEW_COL_GROUP = 1u << 8, /* "group" or is_group */
	REVIEW_COL_FTS = 1u << 9,   /* a full-text index the reader can use */
};

/* The names of the optional columns, in bit order (for PRAGMA matching). */
const char *review_column_name(enum review_column c);
/* The bit for a column name, 0 when it is not one we read. */
unsigned review_column_from_name(const char *name);

/* One archived event. Strings are owned (heap); optional ones NULL when
 * the archive has no such column. */
struct review_row {
	int64_t id; /* row id, or line number of a JSON-lines file */
	int64_t ts; /* seconds since the epoch */
	char *proto; /* as stored: "IRC", "Jabber" (SQL) or "irc" (JSON lines) */
	char *client;
	char *local;
	char *remote;
	char *text;
	int outgoing;
	int type;    /* IMSpector's: 1 message, 2 file, 3 typing, 4 webcam, 0 other */
	int filtered;
	int group;   /* 1, 0, or -1 when the archive does not say */
	char *sensor;
	char *kind; /* imwire's kind name when stored */
	char *action;
	char *rule;
	char *categories;
	char *delivered_text;
	char *session;
};

void review_row_free(struct review_row *r);
/* Deep copy; false on allocation failure (dst is then empty). */
bool review_row_copy(struct review_row *dst, const struct review_row *src);

/* The kind a reader sees: the stored kind, else the IMSpector type's name
 * ("message", "file", "typing", "webcam", "other"). */
const char *review_row_kind(const struct review_row *r);
/* The imwire protocol name ("irc", "xmpp", "oscar") of a stored name,
 * or the stored name itself when it is not one we know. */
const char *review_proto_display(const char *stored);
/* True when the event is a group chat: the stored flag, else the room
 * naming conventions of the protocols (IRC #chan, MSN groupchat-N, XMPP
 * MUC domains conference./muc./chat.). */
bool review_row_is_group(const struct review_row *r);
/* A policy hit: filtered, or an action other than forwarded, or categories. */
bool review_row_is_hit(const struct review_row *r);

#define REVIEW_DIR_ANY (-1)

struct review_query {
	const char *local;  /* exact, or the bare id of "id/resource" */
	const char *remote;
	const char *proto;  /* "irc", "xmpp", "IRC", "Jabber"... */
	const char *kind;   /* "message", "file", ... */
	int dir;            /* REVIEW_DIR_ANY, 1 outgoing, 0 incoming */
	int64_t since;      /* 0: no bound; else ts >= since */
	int64_t until;      /* 0: no bound; else ts < until */
	int64_t after_id;   /* rows with id > after_id (live tail) */
	const char *action;
	const char *rule;
	const char *category;
	const char *text;   /* words, all required, case-insensitive */
	bool hits_only;     /* only policy hits */
	bool threads_only;  /* only kinds that make conversations (message, file, webcam) */
	size_t limit;       /* 0: no limit */
	bool newest_first;  /* ORDER BY id DESC (with limit: the newest N) */
	bool by_time;       /* ORDER BY timestamp, id (threading) instead of id */
};

void review_query_init(struct review_query *q);

/* Both stored spellings of a protocol the user named ("xmpp", "jabber",
 * "Jabber"): imwire's and IMSpector's; false when unknown. */
bool review_proto_names(const char *user, const char **imwire_name, const char **imspector_name);
/* IMSpector's type number of a kind name; -1 when unknown. Kinds that
 * IMSpector did not have map to 0. */
int review_kind_type(const char *kind);
/* A time given as Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] (UTC,
 * optional trailing Z); false when it is none of these. */
bool review_parse_time(const char *s, int64_t *out);
/* ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void review_format_time(int64_t ts, char *buf, size_t size);

/* Whether a text contains every word of words (case-insensitive ASCII,
 * whole words; bytes >= 0x80 count as word characters). */
bool review_text_matches(const char *text, const char *words);
/* The next word of a search text at *p (advanced past it): its start and
 * length in *len; NULL when there is none left. Words are runs of ASCII
 * letters, digits, '_' and bytes >= 0x80. */
const char *review_next_word(const char **p, size_t *len);
/* Whether a row passes the whole query (the JSON-lines backend, and the
 * check the SQL backends' results are held to in tests). */
bool review_row_matches(const struct review_row *r, const struct review_query *q);

/* Why a query cannot run on an archive with columns cols (a filter on a
 * column it lacks); NULL when it can. */
const char *review_query_unsupported(const struct review_query *q, unsigned cols);

#endif
