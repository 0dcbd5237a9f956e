#include "runtime/paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "stats/stats_file.h"

void runtime_paths_init(struct runtime_paths *ps)
{
	memset(ps, 0, sizeof(*ps));
}

void runtime_paths_free(struct runtime_paths *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free(ps->p[i].key);
		free(ps->p[i].path);
	}
	free(ps->p);
	runtime_paths_init(ps);
}

bool runtime_paths_add(struct runtime_paths *ps, const char *key, const char *path,
		       enum runtime_path_use use)
{
	struct runtime_path *p;

	if (!path || !*path)
		return true;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;

		p = realloc(ps->p, cap * sizeof(*p));
		if (!p)
			return false;
		ps->p = p;
		ps->cap = cap;
	}
	p = &ps->p[ps->n];
	p->key = strdup(key);
	p->path = strdup(path);
	p->use = use;
	if (!p->key || !p->path) {
		free(p->key);
		free(p->path);
		return false;
	}
	ps->n++;
	return true;
}

/* Keys naming a file, and how the daemon uses it. */
static const struct {
	const char *key;
	enum runtime_path_use use;
} keyed[] = {
	/* retention rewrites it beside and renames it over, and removes
	 * old rotated files */
	{ "jsonl_file", PATH_RETAINED },
	{ "alerts_file", PATH_APPEND },
	{ "checkpoint_log", PATH_APPEND },
	{ "checkpoint_key", PATH_READ },
	{ "files_dir", PATH_TREE },
	{ "log_file", PATH_APPEND },
	{ "sqlite_file", PATH_DATABASE },
	{ "responder_filename", PATH_DATABASE },
	{ "db_filter_filename", PATH_DATABASE },
	{ "file_logging_dir", PATH_TREE },
	{ "metrics_textfile", PATH_REPLACED },
	{ "badwords_filename", PATH_READ },
	{ "whitelist_filename", PATH_READ },
	{ "blacklist_filename", PATH_READ },
	{ "acl_filename", PATH_READ },
	{ "address_map", PATH_READ },
};

bool runtime_paths_of(struct runtime_paths *ps, const struct imw_config *cfg, const char *pidfile)
{
	char path[4096];
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++)
		if (!runtime_paths_add(ps, keyed[i].key, config_get(cfg, keyed[i].key),
				       keyed[i].use))
			return false;
	/* legal_hold names ids, or the file of them (a path): read again at
	 * each reload, where a hold is added by editing it */
	v = config_get(cfg, "legal_hold");
	if (v && v[0] == '/' && !runtime_paths_add(ps, "legal_hold", v, PATH_READ))
		return false;
	stats_path_of(cfg, path, sizeof(path));
	if (!runtime_paths_add(ps, "stats_file", path, PATH_REPLACED))
		return false;
	control_path_of(cfg, path, sizeof(path));
	if (!runtime_paths_add(ps, "control_socket", path, PATH_REMOVED))
		return false;
	return runtime_paths_add(ps, "configuration", cfg->path, PATH_READ) &&
	       runtime_paths_add(ps, "pid file", pidfile, PATH_REMOVED);
}

static int prepare_one(const struct runtime_path *p, const struct fs_owner *o, char *err,
		       size_t err_size)
{
	switch (p->use) {
	case PATH_TREE:
		return fs_make_dirs(p->path, 0750, o, NULL, err, err_size);
	case PATH_APPEND:
	case PATH_DATABASE:
	case PATH_RETAINED:
		/* Made now and handed over, a rotated or journalled file keeps
		 * one owner: logrotate's create copies it, SQLite gives its
		 * journals the database's. */
		if (fs_make_parent(p->path, 0750, o, err, err_size) < 0)
			return -1;
		return fs_make_file(p->path, 0640, o, err, err_size);
	case PATH_REPLACED:
	case PATH_REMOVED:
		return fs_make_parent(p->path, 0755, o, err, err_size);
	case PATH_READ:
		return 0;
	}
	return 0;
}

void runtime_paths_prepare(const struct runtime_paths *ps, const struct fs_owner *o,
			   struct config_report *r)
{
	char why[512];
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (prepare_one(&ps->p[i], o, why, sizeof(why)) < 0)
			config_report_warning(r, "%s: %s", ps->p[i].key, why);
}
