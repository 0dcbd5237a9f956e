/* IMSpector's database-backed filter: a SQLite table `lists` of
 * (localid, remoteid, action, type, timestamp) rows, NULL ids matching
 * anything. Every event queries the table afresh, so rows added or
 * removed by someone else while the daemon runs take effect at once
 * (IMSpector's note 1): SQLite's file locking makes that safe. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/filters.h"

#define DBFILTER_BUSY_TIMEOUT_MS 500
#define DBFILTER_MAX_REMEMBERED 65536

static const char create_sql[] = "CREATE TABLE IF NOT EXISTS lists ("
				 "id integer PRIMARY KEY AUTOINCREMENT, "
				 "localid text, "
				 "remoteid text, "
				 "action integer NOT NULL, "
				 "type integer NOT NULL, "
				 "timestamp integer NOT NULL)";

/* Ids compare as the ACL compares them: case-insensitively, a row naming
 * the id itself or its bare form (?4, ?5; see struct parties). */
static const char match_sql[] = "SELECT 1 FROM lists WHERE action = ?1 "
				"AND (localid IS NULL OR localid = ?2 COLLATE NOCASE "
				"OR localid = ?4 COLLATE NOCASE) "
				"AND (remoteid IS NULL OR remoteid = ?3 COLLATE NOCASE "
				"OR remoteid = ?5 COLLATE NOCASE) LIMIT 1";

static const char insert_sql[] = "INSERT INTO lists (localid, remoteid, action, type, timestamp) "
				 "VALUES (?1, ?2, 1, 2, ?3)";

int dbfilter_open(struct dbfilter *f, const char *path, bool dry_run, char *err, size_t err_size)
{
	sqlite3 *db = NULL;
	int flags = dry_run ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	char *msg = NULL;

	memset(f, 0, sizeof(*f));
	f->dry_run = dry_run;
	if (dry_run && access(path, F_OK) != 0)
		return 0; /* nothing listed: everything passes */
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, err_size, "%s: cannot open database: %s", path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, DBFILTER_BUSY_TIMEOUT_MS);
	if (!dry_run && sqlite3_exec(db, create_sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, err_size, "%s: cannot create table lists: %s", path,
			 msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_prepare_v2(db, match_sql, -1, (sqlite3_stmt **)&f->match, NULL) != SQLITE_OK ||
	    (!dry_run && sqlite3_prepare_v2(db, insert_sql, -1, (sqlite3_stmt **)&f->insert, NULL) !=
				 SQLITE_OK)) {
		snprintf(err, err_size, "%s: not an IMSpector filter database: %s", path,
			 sqlite3_errmsg(db));
		sqlite3_finalize(f->match);
		sqlite3_close(db);
		f->match = NULL;
		return -1;
	}
	f->db = db;
	return 0;
}

void dbfilter_close(struct dbfilter *f)
{
	size_t i;

	sqlite3_finalize(f->match);
	sqlite3_finalize(f->insert);
	sqlite3_close(f->db);
	for (i = 0; i < f->n_remembered; i++) {
		free(f->remembered[i].local);
		free(f->remembered[i].remote);
	}
	free(f->remembered);
	memset(f, 0, sizeof(*f));
}

/* 1 when a row with this action matches, 0 when none, -1 on error. */
static int has_match(struct dbfilter *f, enum dbfilter_action action, const struct parties *who)
{
	sqlite3_stmt *st = f->match;
	int rc;

	if (!st)
		return 0;
	sqlite3_reset(st);
	if (sqlite3_bind_int(st, 1, action) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, who->local, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, who->remote, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, who->local_bare, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 5, who->remote_bare, -1, SQLITE_STATIC) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static bool remembered(const struct dbfilter *f, const struct parties *who)
{
	size_t i;

	for (i = 0; i < f->n_remembered; i++)
		if (party_matches(f->remembered[i].local, who->local, who->local_bare) &&
		    party_matches(f->remembered[i].remote, who->remote, who->remote_bare))
			return true;
	return false;
}

/* A dry run writes nothing but must answer later events as if the AUTO
 * row existed. */
static void remember(struct dbfilter *f, const char *local, const char *remote)
{
	struct dbfilter_pair *grown;
	char *l, *r;

	if (f->n_remembered >= DBFILTER_MAX_REMEMBERED)
		return;
	grown = realloc(f->remembered, (f->n_remembered + 1) * sizeof(*grown));
	if (!grown)
		return;
	f->remembered = grown;
	l = strdup(local);
	r = strdup(remote);
	if (!l || !r) {
		free(l);
		free(r);
		return;
	}
	f->remembered[f->n_remembered].local = l;
	f->remembered[f->n_remembered].remote = r;
	f->n_remembered++;
}

static int insert_auto(struct dbfilter *f, const char *local, const char *remote, double now)
{
	sqlite3_stmt *st = f->insert;
	int rc;

	if (f->dry_run || !st) {
		remember(f, local, remote);
		return 0;
	}
	sqlite3_reset(st);
	if (sqlite3_bind_text(st, 1, local, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, remote, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)now) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

bool dbfilter_blocks(struct dbfilter *f, const struct parties *who, bool outgoing, double now)
{
	int m;

	if (!f->match)
		return false;
	m = has_match(f, DBFILTER_ACCEPT, who);
	if (m == 1 || (m == 0 && f->dry_run && remembered(f, who)))
		return false;
	if (m < 0)
		goto error;
	if (outgoing) {
		m = has_match(f, DBFILTER_AWL, who);
		if (m < 0)
			goto error;
		if (m == 1) {
			if (insert_auto(f, who->local_bare, who->remote_bare, now) < 0)
				f->errors++;
			return false;
		}
	}
	m = has_match(f, DBFILTER_BLOCK, who);
	if (m < 0)
		goto error;
	return m == 1;
error:
	f->errors++;
	return false;
}
