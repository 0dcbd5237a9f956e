/* IMSpector 0.9's responder keeps who was told what, and when, in a
 * SQLite file (responder_filename), so that the notice that a
 * conversation is logged (notice_days) and the one that something was
 * blocked (filtered_mins) reach each user once per period, across
 * restarts. One row per user and type: (protocolname, userid, type,
 * timestamp), the protocol by IMSpector's name, the time in seconds since
 * the epoch. Rows someone else adds or deletes while the daemon runs
 * count at once: every question asks the file.
 *
 * What the texts say and who gets them is policy.c's business; this file
 * only remembers. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/filters.h"

#define RESPONDER_BUSY_TIMEOUT_MS 500

#define RESPONDER_TABLE "responder"
#define RESPONDER_OWN_TABLE "imwire_responder"

/* The columns every statement below needs: a table that lacks one is not
 * the layout we know. */
#define COLUMNS_SQL(t) "SELECT protocolname, userid, type, timestamp FROM " t " LIMIT 0"

#define CREATE_SQL(t)                                                                 \
	"CREATE TABLE IF NOT EXISTS " t " (id integer PRIMARY KEY AUTOINCREMENT, "        \
	"protocolname text NOT NULL, userid text NOT NULL, type integer NOT NULL, " \
	"timestamp integer NOT NULL)"

#define LAST_SQL(t)                                                          \
	"SELECT MAX(timestamp) FROM " t " WHERE protocolname = ?1 AND " \
	"userid = ?2 COLLATE NOCASE AND type = ?3"

#define FORGET_SQL(t) \
	"DELETE FROM " t " WHERE protocolname = ?1 AND userid = ?2 COLLATE NOCASE AND type = ?3"

#define REMEMBER_SQL(t) \
	"INSERT INTO " t " (protocolname, userid, type, timestamp) VALUES (?1, ?2, ?3, ?4)"

struct layout {
	const char *name;
	const char *columns, *create, *last, *forget, *remember;
};

static const struct layout layouts[] = {
	{ RESPONDER_TABLE, COLUMNS_SQL(RESPONDER_TABLE), CREATE_SQL(RESPONDER_TABLE),
	  LAST_SQL(RESPONDER_TABLE), FORGET_SQL(RESPONDER_TABLE), REMEMBER_SQL(RESPONDER_TABLE) },
	{ RESPONDER_OWN_TABLE, COLUMNS_SQL(RESPONDER_OWN_TABLE), CREATE_SQL(RESPONDER_OWN_TABLE),
	  LAST_SQL(RESPONDER_OWN_TABLE), FORGET_SQL(RESPONDER_OWN_TABLE),
	  REMEMBER_SQL(RESPONDER_OWN_TABLE) },
};

static bool table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) == SQLITE_OK)
		found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static bool has_columns(sqlite3 *db, const struct layout *l)
{
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(db, l->columns, -1, &st, NULL) == SQLITE_OK;

	sqlite3_finalize(st);
	return ok;
}

/* The table to use: IMSpector's own when it is absent (created) or has
 * our columns, else imwire's beside it; NULL when neither will do. */
static const struct layout *pick_layout(sqlite3 *db, const char *path, bool dry_run,
					struct config_report *report)
{
	const struct layout *l = &layouts[0];

	if (table_exists(db, l->name) && !has_columns(db, l)) {
		config_report_warning(report,
				      "%s: table %s has columns other than protocolname, userid, "
				      "type and timestamp: left alone, imwire keeps its state in "
				      "table %s of the same file",
				      path, l->name, layouts[1].name);
		l = &layouts[1];
	}
	if (table_exists(db, l->name))
		return has_columns(db, l) ? l : NULL;
	if (dry_run)
		return NULL; /* no table yet: nobody was told anything */
	return sqlite3_exec(db, l->create, NULL, NULL, NULL) == SQLITE_OK ? l : NULL;
}

int responder_open(struct responder *r, const char *path, bool dry_run,
		   struct config_report *report)
{
	int flags = dry_run ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	const struct layout *l;
	sqlite3 *db = NULL;

	memset(r, 0, sizeof(*r));
	r->dry_run = dry_run;
	if (dry_run && access(path, F_OK) != 0)
		return 0; /* nobody was told anything yet */
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		config_report_error(report, "%s: cannot open responder database: %s", path,
				    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, RESPONDER_BUSY_TIMEOUT_MS);
	l = pick_layout(db, path, dry_run, report);
	if (!l) {
		if (dry_run && !table_exists(db, layouts[0].name) &&
		    !table_exists(db, layouts[1].name)) {
			sqlite3_close(db);
			return 0;
		}
		config_report_error(report, "%s: not a responder database: %s", path,
				    sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_prepare_v2(db, l->last, -1, (sqlite3_stmt **)&r->last, NULL) != SQLITE_OK ||
	    (!dry_run &&
	     (sqlite3_prepare_v2(db, l->forget, -1, (sqlite3_stmt **)&r->forget, NULL) != SQLITE_OK ||
	      sqlite3_prepare_v2(db, l->remember, -1, (sqlite3_stmt **)&r->remember, NULL) !=
		      SQLITE_OK))) {
		config_report_error(report, "%s: table %s: %s", path, l->name, sqlite3_errmsg(db));
		r->db = db;
		responder_close(r);
		return -1;
	}
	r->db = db;
	return 0;
}

void responder_close(struct responder *r)
{
	sqlite3_finalize(r->last);
	sqlite3_finalize(r->forget);
	sqlite3_finalize(r->remember);
	sqlite3_close(r->db);
	notice_book_free(&r->told);
	memset(r, 0, sizeof(*r));
}

/* "proto\x1fuser\x1ftype", the user case-folded: the memory's key. */
static char *memory_key(const char *proto, const char *userid, enum responder_type type)
{
	size_t n = strlen(proto) + strlen(userid) + 16, i;
	char *k = malloc(n);

	if (!k)
		return NULL;
	snprintf(k, n, "%s\x1f%s\x1f%d", proto, userid, (int)type);
	for (i = 0; k[i]; i++)
		if (k[i] >= 'A' && k[i] <= 'Z')
			k[i] = (char)(k[i] - 'A' + 'a');
	return k;
}

static bool bind_user(sqlite3_stmt *st, const char *proto, const char *userid,
		      enum responder_type type)
{
	return sqlite3_bind_text(st, 1, proto, -1, SQLITE_STATIC) == SQLITE_OK &&
	       sqlite3_bind_text(st, 2, userid, -1, SQLITE_STATIC) == SQLITE_OK &&
	       sqlite3_bind_int(st, 3, (int)type) == SQLITE_OK;
}

/* The file's last time for the user: 1 with *when, 0 when none, -1 on error. */
static int last_told(struct responder *r, const char *proto, const char *userid,
		     enum responder_type type, double *when)
{
	sqlite3_stmt *st = r->last;
	int rc;

	if (!st)
		return 0;
	sqlite3_reset(st);
	if (!bind_user(st, proto, userid, type))
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*when = (double)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

bool responder_told(struct responder *r, const char *proto, const char *userid,
		    enum responder_type type, double now, double period)
{
	char *key = memory_key(proto, userid, type);
	double when;
	bool told;
	int rc;

	if (!key) {
		r->errors++;
		return true; /* better silent than repeating */
	}
	told = notice_book_recent(&r->told, key, now, period);
	if (!told) {
		rc = last_told(r, proto, userid, type, &when);
		if (rc < 0)
			r->errors++;
		/* A time ahead of ours is stale, as in the memory. */
		told = rc == 1 && now - when < period && now >= when;
	}
	free(key);
	return told;
}

static bool step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE;
}

void responder_mark(struct responder *r, const char *proto, const char *userid,
		    enum responder_type type, double now)
{
	sqlite3 *db = r->db;
	char *key = memory_key(proto, userid, type);
	bool ok;

	if (!key || !notice_book_mark(&r->told, key, now))
		r->errors++;
	free(key);
	if (r->dry_run || !r->forget || !r->remember)
		return;
	/* One row per user and type, replaced whole: a crash leaves the old
	 * row or the new one, never none. */
	ok = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_reset(r->forget);
		sqlite3_reset(r->remember);
		ok = bind_user(r->forget, proto, userid, type) && step_done(r->forget) &&
		     bind_user(r->remember, proto, userid, type) &&
		     sqlite3_bind_int64(r->remember, 4, (sqlite3_int64)now) == SQLITE_OK &&
		     step_done(r->remember);
		ok = sqlite3_exec(db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK && ok;
	}
	if (!ok)
		r->errors++;
}
