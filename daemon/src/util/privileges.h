/* Dropping root after set-up: become the configured user and group and
 * keep only the capabilities the work still needs (CAP_NET_ADMIN for the
 * NFQUEUE, CAP_NET_RAW for a tap). Capabilities are per thread: call this
 * before starting workers, which inherit them. */
#ifndef IMW_UTIL_PRIVILEGES_H
#define IMW_UTIL_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>

/* user may not be NULL; group NULL means the user's primary group.
 * Returns 0, or -1 with a one-line reason in err. */
int privileges_drop(const char *user, const char *group, bool keep_net_admin, bool keep_net_raw,
		    char *err, size_t err_size);

#endif
