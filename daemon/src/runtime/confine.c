/* From root to what the running daemon needs: the configured user with
 * one capability (util/privileges.h), then the sandbox (sandbox/sandbox.h)
 * over the paths of the configuration (paths.h). */
#include "runtime/runtime.h"
#include "runtime/runtime_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "sandbox/sandbox.h"
#include "util/fs_owned.h"
#include "util/privileges.h"

/* Become user= (IMSpector's user=/group=), keeping only what the queue
 * (CAP_NET_ADMIN) or the tap (CAP_NET_RAW) still needs. */
static int drop_privileges(struct runtime *rt)
{
	const char *user = config_get(&rt->cfg, "user");
	char err[512];

	if (!user)
		return 0;
	if (privileges_drop(user, config_get(&rt->cfg, "group"), !rt->tap, rt->tap != NULL, err,
			    sizeof(err)) < 0) {
		rt->log(LOG_ERR, "%s", err);
		return -1;
	}
	rt->log(LOG_INFO, "running as user %s with %s only", user,
		rt->tap ? "CAP_NET_RAW" : "CAP_NET_ADMIN");
	return 0;
}

/* What each use of a path needs, on the path or on its directory. */
static void rule_of(const struct runtime_path *p, char *dir, size_t dir_size,
		    struct sandbox_rule *r)
{
	r->path = dir;
	if (!fs_dirname(p->path, dir, dir_size))
		dir[0] = '\0';
	switch (p->use) {
	case PATH_APPEND: /* a new file after a rotation; cut back after a failed batch */
		r->access = SANDBOX_READ | SANDBOX_WRITE | SANDBOX_CREATE;
		break;
	case PATH_DATABASE: /* and its journal, -wal and -shm come and go */
		r->access = SANDBOX_READ | SANDBOX_WRITE | SANDBOX_CREATE | SANDBOX_REMOVE;
		break;
	case PATH_RETAINED: /* and retention finds logrotate's files beside it */
		r->access = SANDBOX_READ | SANDBOX_WRITE | SANDBOX_CREATE | SANDBOX_REMOVE |
			    SANDBOX_LIST;
		break;
	case PATH_TREE:
		r->path = p->path;
		r->access = SANDBOX_READ | SANDBOX_WRITE | SANDBOX_CREATE | SANDBOX_REMOVE |
			    SANDBOX_MKDIR | SANDBOX_LIST;
		break;
	case PATH_REPLACED: /* written beside, renamed over */
		r->access = SANDBOX_WRITE | SANDBOX_CREATE | SANDBOX_REMOVE;
		break;
	case PATH_REMOVED:
		r->access = SANDBOX_REMOVE;
		break;
	case PATH_READ: /* the directory: an editor replaces a file by a new one */
		r->access = SANDBOX_READ;
		break;
	}
}

static int enter_sandbox(struct runtime *rt)
{
	struct sandbox_rule *rules = calloc(rt->paths.n ? rt->paths.n : 1, sizeof(*rules));
	char (*dirs)[4096] = calloc(rt->paths.n ? rt->paths.n : 1, sizeof(*dirs));
	struct sandbox_state st;
	char err[512];
	size_t i;
	int rc = -1;

	if (!rules || !dirs) {
		rt->log(LOG_ERR, "sandbox: out of memory");
		goto out;
	}
	for (i = 0; i < rt->paths.n; i++)
		rule_of(&rt->paths.p[i], dirs[i], sizeof(dirs[i]), &rules[i]);
	if (sandbox_enter(rules, rt->paths.n, &st, err, sizeof(err)) < 0) {
		rt->log(LOG_ERR, "sandbox: %s (sandbox=off starts without it)", err);
		goto out;
	}
	if (st.landlock_abi)
		rt->log(LOG_INFO,
			"sandbox: seccomp on (%u system calls allowed, EPERM for the rest), Landlock "
			"ABI %d on (%u paths of the configuration)",
			st.syscalls, st.landlock_abi, st.rules);
	else
		rt->log(LOG_WARNING,
			"sandbox: seccomp on (%u system calls allowed); this kernel has no Landlock: "
			"the file system is not restricted",
			st.syscalls);
	if (st.skipped)
		rt->log(LOG_WARNING, "sandbox: %u path(s) do not exist and are not allowed (%s)",
			st.skipped, st.skipped_path);
	rc = 0;
out:
	free(rules);
	free(dirs);
	return rc;
}

int runtime_confine(struct runtime *rt)
{
	const char *v = config_get(&rt->cfg, "sandbox");
	bool on = true;

	if (drop_privileges(rt) < 0)
		return -1;
	if (v)
		config_parse_bool(v, &on); /* checked when the file was read */
	if (!on) {
		rt->log(LOG_WARNING, "sandbox=off: no seccomp filter, no Landlock");
		return 0;
	}
	return enter_sandbox(rt);
}
