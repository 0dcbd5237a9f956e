/* The sinks a configuration file names, as the writer takes them. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "sink/sink_alert.h"
#include "sink/sink_writer.h"

void sink_writer_config_from(struct sink_writer_config *wc, const struct imw_config *cfg,
			     const char *default_spool_dir)
{
	const char *v;

	sink_writer_config_defaults(wc);
	wc->spool_dir = config_get(cfg, "spool_dir");
	if (!wc->spool_dir)
		wc->spool_dir = default_spool_dir;
	if ((v = config_get(cfg, "spool_max_bytes")))
		wc->spool_max_bytes = strtoull(v, NULL, 10);
	if ((v = config_get(cfg, "fsync"))) {
		if (strcmp(v, "interval") == 0)
			wc->fsync = SINK_FSYNC_INTERVAL;
		else if (strcmp(v, "off") == 0)
			wc->fsync = SINK_FSYNC_OFF;
		else
			wc->fsync = SINK_FSYNC_BATCH; /* checked by sink_writer_check_config */
	}
	wc->sensor = config_get(cfg, "sensor_name");
	wc->checkpoint_key = config_get(cfg, "checkpoint_key");
	wc->checkpoint_log = config_get(cfg, "checkpoint_log");
	if ((v = config_get(cfg, "checkpoint_interval")))
		wc->checkpoint_interval_s = (unsigned)strtoul(v, NULL, 10);
	if ((v = config_get(cfg, "retention_days")))
		wc->retention_days = (unsigned)strtoul(v, NULL, 10);
	if ((v = config_get(cfg, "retention_interval")))
		wc->retention_interval_s = (unsigned)strtoul(v, NULL, 10);
	wc->legal_hold = config_get(cfg, "legal_hold");
	wc->compress_after_days = 1;
	if ((v = config_get(cfg, "compress_after_days")))
		wc->compress_after_days = (unsigned)strtoul(v, NULL, 10);
	if ((v = config_get(cfg, "fsync_interval_ms")) && strtoul(v, NULL, 10) > 0)
		wc->fsync_interval_ms = (unsigned)strtoul(v, NULL, 10);
	/* The daemon becomes user= after set-up: the spool it makes is
	 * that user's, or the writer could not add a segment. */
	if ((v = config_get(cfg, "user"))) {
		struct passwd *pw = getpwnam(v);

		if (pw) {
			wc->owner_uid = (int)pw->pw_uid;
			wc->owner_gid = (int)pw->pw_gid;
		}
		if (pw && (v = config_get(cfg, "group"))) {
			struct group *gr = getgrnam(v);

			if (gr)
				wc->owner_gid = (int)gr->gr_gid;
		}
	}
}

int sink_writer_instance_dir(char *out, size_t size, const char *base, const char *config_path)
{
	char inst[256];
	int n;

	/* The instance's name, as its pid, stats and pin directory have it. */
	config_instance(config_path, inst, sizeof(inst));
	n = snprintf(out, size, "%s/%s", base, inst);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* A database sink's name: its kind, where it is, and the sensor; never a
 * password (it names the cursor file and shows in logs). */
static void db_id(char *out, size_t size, const char *kind, const char *where, const char *sensor)
{
	snprintf(out, size, "%s %s%s%s", kind, where, *sensor ? " sensor=" : "", sensor);
}

/* conninfo without its password= */
static void pg_where(char *out, size_t size, const char *conninfo)
{
	const char *p = conninfo;
	size_t n = 0;

	out[0] = '\0';
	while (*p && n + 1 < size) {
		size_t len = strcspn(p, " \t");

		if (strncmp(p, "password=", 9) != 0) {
			n += (size_t)snprintf(out + n, size - n, "%s%.*s", n ? " " : "", (int)len, p);
			if (n >= size)
				n = size - 1;
		}
		p += len;
		p += strspn(p, " \t");
	}
}

static int add_db(struct sink *w, struct sink_db *db, const char *id, const struct imw_config *cfg,
		  size_t *added, char *err, size_t err_size)
{
	const char *v = config_get(cfg, "db_timeout");
	struct sink s;

	if (v && strtoul(v, NULL, 10) > 0)
		db->timeout_s = (unsigned)strtoul(v, NULL, 10);
	if (sink_db_open(&s, db, id) < 0) {
		sink_db_free(db);
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if (sink_writer_add_sink(w, &s, err, err_size) < 0) {
		sink_close(&s);
		return -1;
	}
	(*added)++;
	return 0;
}

static int add_sink(struct sink *w, struct sink *s, size_t *added, char *err, size_t err_size)
{
	if (sink_writer_add_sink(w, s, err, err_size) < 0) {
		sink_close(s);
		return -1;
	}
	(*added)++;
	return 0;
}

static int add_files(struct sink *w, const struct imw_config *cfg, size_t *added, char *err,
		     size_t err_size)
{
	const char *v;
	struct sink s;

	if ((v = config_get(cfg, "file_logging_dir"))) {
		if (sink_imspector_open_dir(&s, v, 0) < 0) {
			snprintf(err, err_size, "%s: cannot use as log directory: %s", v, strerror(errno));
			return -1;
		}
		if (add_sink(w, &s, added, err, err_size) < 0)
			return -1;
	}
	if ((v = config_get(cfg, "jsonl_file"))) {
		if (sink_jsonl_open_path(&s, v, 0) < 0) {
			snprintf(err, err_size, "%s: cannot open: %s", v, strerror(errno));
			return -1;
		}
		if (add_sink(w, &s, added, err, err_size) < 0)
			return -1;
	}
	return 0;
}

static int add_syslog(struct sink *w, const struct imw_config *cfg,
		      const struct sink_alerts *alerts, size_t *added, char *err, size_t err_size)
{
	struct sink s;

	if (sink_syslog_open(&s, config_get(cfg, "syslog_socket"), alerts) < 0) {
		snprintf(err, err_size, "syslog: %s", strerror(errno));
		return -1;
	}
	return add_sink(w, &s, added, err, err_size);
}

/* The alert channels (sink_alert.h): a JSON lines file, a webhook. */
static int add_alerts(struct sink *w, const struct imw_config *cfg,
		      const struct sink_alerts *alerts, const char *sensor, size_t *added, char *err,
		      size_t err_size)
{
	const char *v;
	struct sink s;

	if ((v = config_get(cfg, "alerts_file"))) {
		if (sink_alerts_file_open(&s, v, alerts, sensor) < 0) {
			snprintf(err, err_size, "alerts_file %s: cannot open: %s", v, strerror(errno));
			return -1;
		}
		if (add_sink(w, &s, added, err, err_size) < 0)
			return -1;
	}
	if ((v = config_get(cfg, "alert_webhook"))) {
		const char *t = config_get(cfg, "db_timeout");

		if (sink_webhook_open(&s, v, alerts, sensor, t ? (unsigned)strtoul(t, NULL, 10) : 0,
				      err, err_size) < 0 ||
		    add_sink(w, &s, added, err, err_size) < 0)
			return -1;
	}
	return 0;
}

int sink_writer_add_configured(struct sink *w, const struct imw_config *cfg, size_t *added,
			       char *err, size_t err_size)
{
	const char *sensor = config_get(cfg, "sensor_name"), *v;
	char id[512], where[400];
	struct sink_alerts alerts;
	struct sink_db db;
	bool on = false;

	*added = 0;
	if (err_size)
		err[0] = '\0';
	if (!sensor)
		sensor = "";
	if (strlen(sensor) > SINK_DB_SENSOR_MAX) {
		snprintf(err, err_size, "sensor_name: longer than %d bytes", SINK_DB_SENSOR_MAX);
		return -1;
	}
	if ((v = config_get(cfg, "fsync")) && strcmp(v, "batch") != 0 && strcmp(v, "interval") != 0 &&
	    strcmp(v, "off") != 0) {
		snprintf(err, err_size, "fsync: \"%s\" is not batch, interval or off", v);
		return -1;
	}
	/* The files first: their names say where they went wrong at start. */
	if (add_files(w, cfg, added, err, err_size) < 0)
		return -1;
	if ((v = config_get(cfg, "sqlite_file"))) {
		db_id(id, sizeof(id), "sqlite", v, sensor);
		if (sink_db_sqlite_init(&db, v, sensor) < 0 ||
		    add_db(w, &db, id, cfg, added, err, err_size) < 0)
			goto failed;
	}
	if ((v = config_get(cfg, "pgsql_connect"))) {
		pg_where(where, sizeof(where), v);
		db_id(id, sizeof(id), "pgsql", where, sensor);
		if (sink_db_pgsql_init(&db, v, sensor) < 0)
			goto failed;
		if (sink_db_pgsql_partition(&db, config_get(cfg, "pgsql_partition"),
					    config_get(cfg, "pgsql_partitions_ahead")
						    ? (unsigned)strtoul(config_get(cfg, "pgsql_partitions_ahead"),
									NULL, 10)
						    : 0,
					    err, err_size) < 0) {
			sink_db_free(&db);
			return -1;
		}
		if (add_db(w, &db, id, cfg, added, err, err_size) < 0)
			goto failed;
	}
	if ((v = config_get(cfg, "mysql_server")) || config_get(cfg, "mysql_database")) {
		snprintf(where, sizeof(where), "%s@%s/%s",
			 config_get(cfg, "mysql_username") ? config_get(cfg, "mysql_username") : "",
			 v ? v : "localhost",
			 config_get(cfg, "mysql_database") ? config_get(cfg, "mysql_database") : "");
		db_id(id, sizeof(id), "mysql", where, sensor);
		if (sink_db_mysql_init(&db, v, config_get(cfg, "mysql_database"),
				       config_get(cfg, "mysql_username"),
				       config_get(cfg, "mysql_password"), sensor) < 0 ||
		    add_db(w, &db, id, cfg, added, err, err_size) < 0)
			goto failed;
	}
	if (sink_alerts_parse(&alerts, config_get(cfg, "alert_categories"),
			      config_get(cfg, "alert_syslog_priority"), err, err_size) < 0)
		return -1;
	if (((v = config_get(cfg, "syslog_events")) && config_parse_bool(v, &on) && on &&
	     add_syslog(w, cfg, &alerts, added, err, err_size) < 0) ||
	    add_alerts(w, cfg, &alerts, sensor, added, err, err_size) < 0) {
		sink_alerts_free(&alerts);
		return -1;
	}
	sink_alerts_free(&alerts);
	return 0;
failed:
	if (!err[0])
		snprintf(err, err_size, "out of memory");
	return -1;
}
