/* `imwire web`: the read-only review console over HTTP(S), on
 * libmicrohttpd (TLS through its GnuTLS support, with the operator's
 * certificate and key). Every route but /login and /static/ needs a
 * session; /admin needs the admin role. Every page view, export, login
 * and refusal is written to the access-audit log first. */
#ifndef IMW_REVIEW_WEB_H
#define IMW_REVIEW_WEB_H

#include <stdint.h>

#include "review/archive.h"

#define WEB_DEFAULT_LISTEN "127.0.0.1:8080"
#define WEB_DEFAULT_CONTROL "/run/imwire/imwired.sock"

struct web_options {
	const struct archive_spec *archive;
	const char *users_file;
	const char *audit_log;
	const char *listen;         /* "ADDR:PORT", "[V6]:PORT" */
	const char *tls_cert;       /* PEM; with tls_key: HTTPS */
	const char *tls_key;
	const char *control_socket; /* imwired's, for live sessions */
	int64_t gap;
};

/* Serve until SIGINT or SIGTERM; the exit status. */
int web_run(const struct web_options *o);

#endif
