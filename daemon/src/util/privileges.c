#include "util/privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int set_capabilities(uint32_t mask)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	data[0].effective = mask;
	data[0].permitted = mask;
	return (int)syscall(SYS_capset, &hdr, data);
}

int privileges_drop(const char *user, const char *group, bool keep_net_admin, bool keep_net_raw,
		    char *err, size_t err_size)
{
	struct passwd *pw = getpwnam(user);
	struct group *gr = NULL;
	uint32_t mask = 0;
	gid_t gid;

	if (!pw) {
		snprintf(err, err_size, "user \"%s\" does not exist", user);
		return -1;
	}
	gid = pw->pw_gid;
	if (group) {
		gr = getgrnam(group);
		if (!gr) {
			snprintf(err, err_size, "group \"%s\" does not exist", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (keep_net_admin)
		mask |= 1u << CAP_NET_ADMIN;
	if (keep_net_raw)
		mask |= 1u << CAP_NET_RAW;
	/* Keep the permitted set across setuid, then trim it to the mask. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(1, &gid) < 0 || setgid(gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		snprintf(err, err_size, "cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (set_capabilities(mask) < 0) {
		snprintf(err, err_size, "cannot set capabilities: %s", strerror(errno));
		return -1;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* A process that changed identity may not regain root by exec. */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (setuid(0) == 0) {
		snprintf(err, err_size, "still able to become root after dropping privileges");
		return -1;
	}
	return 0;
}
