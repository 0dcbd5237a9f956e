/* What web.c (server, routing, sessions) and web_pages.c (the pages)
 * share. Not a stage interface: only these two files include it. */
#ifndef IMW_REVIEW_WEB_INTERNAL_H
#define IMW_REVIEW_WEB_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "review/archive.h"
#include "review/audit.h"
#include "review/auth.h"
#include "review/web.h"
#include "util/bytebuf.h"

struct MHD_Connection;

struct web_server {
	const struct web_options *opt;
	struct auth auth;
	struct audit_log audit;
	bool tls;
	atomic_bool stopping;
};

/* One request as the pages see it. */
struct web_request {
	struct web_server *srv;
	struct MHD_Connection *conn;
	const char *method, *path;
	char addr[64];
	struct auth_session session; /* valid when has_session */
	bool has_session;
	char query[1024]; /* the query string as received, for the audit */
	/* What the page wants to say in the audit line. */
	char what[512];
};

/* A GET argument, or NULL (empty strings count as absent). */
const char *web_arg(struct web_request *rq, const char *name);

/* What a page handler produces. */
struct web_reply {
	int status;
	const char *type; /* Content-Type */
	struct bytebuf body;
	char disposition[160]; /* Content-Disposition, for downloads */
	char location[160];    /* for redirects */
};

/* The pages (web_pages.c): each fills reply; false on allocation failure. */
bool page_overview(struct web_request *rq, struct web_reply *rp);
bool page_conversations(struct web_request *rq, struct web_reply *rp);
bool page_thread(struct web_request *rq, struct web_reply *rp);
bool page_search(struct web_request *rq, struct web_reply *rp);
bool page_export(struct web_request *rq, struct web_reply *rp);
bool page_tail(struct web_request *rq, struct web_reply *rp);
bool page_admin(struct web_request *rq, struct web_reply *rp);
bool page_login(struct web_request *rq, struct web_reply *rp, const char *csrf, const char *msg);
bool page_error(struct web_reply *rp, int status, const char *msg);

/* The top of every signed-in page, and its end. */
bool page_begin(struct web_request *rq, struct bytebuf *b, const char *title);
bool page_end(struct bytebuf *b);

#endif
