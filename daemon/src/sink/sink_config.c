/* The sinks a configuration file names, as the writer takes them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
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
}

static int add_db(struct sink *w, struct sink_db *db, const struct imw_config *cfg,
		  size_t *added, char *err, size_t err_size)
{
	const char *v = config_get(cfg, "db_timeout");

	if (v && strtoul(v, NULL, 10) > 0)
		db->timeout_s = (unsigned)strtoul(v, NULL, 10);
	if (sink_writer_add_db(w, db, err, err_size) < 0) {
		sink_db_free(db);
		return -1;
	}
	(*added)++;
	return 0;
}

int sink_writer_add_configured(struct sink *w, const struct imw_config *cfg, size_t *added,
			       char *err, size_t err_size)
{
	const char *sensor = config_get(cfg, "sensor_name"), *v;
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
	if ((v = config_get(cfg, "sqlite_file"))) {
		if (sink_db_sqlite_init(&db, v, sensor) < 0 ||
		    add_db(w, &db, cfg, added, err, err_size) < 0)
			goto failed;
	}
	if ((v = config_get(cfg, "pgsql_connect"))) {
		if (sink_db_pgsql_init(&db, v, sensor) < 0 ||
		    add_db(w, &db, cfg, added, err, err_size) < 0)
			goto failed;
	}
	if ((v = config_get(cfg, "mysql_server")) || config_get(cfg, "mysql_database")) {
		if (sink_db_mysql_init(&db, v, config_get(cfg, "mysql_database"),
				       config_get(cfg, "mysql_username"),
				       config_get(cfg, "mysql_password"), sensor) < 0 ||
		    add_db(w, &db, cfg, added, err, err_size) < 0)
			goto failed;
	}
	if ((v = config_get(cfg, "syslog_events")) && config_parse_bool(v, &on) && on) {
		struct sink s;

		if (sink_syslog_open(&s, config_get(cfg, "syslog_socket")) < 0) {
			snprintf(err, err_size, "syslog: %s", strerror(errno));
			return -1;
		}
		if (sink_writer_add_sink(w, &s) < 0) {
			sink_close(&s);
			snprintf(err, err_size, "syslog: too many sinks");
			return -1;
		}
		(*added)++;
	}
	return 0;
failed:
	if (!err[0])
		snprintf(err, err_size, "out of memory");
	return -1;
}
