/* The web console's server: libmicrohttpd with a thread per connection
 * (the live tail holds its connection open), sessions, CSRF, the
 * security headers of every response, and the audit of every request. */
#include "review/web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "review/assets.h"
#include "review/export.h"
#include "review/web_internal.h"

#define SESSION_COOKIE "imw_session"
#define LOGIN_COOKIE "imw_login"
#define POST_FIELD_MAX 1024
#define SSE_POLL_S 1
#define SSE_KEEPALIVE_S 15
#define SSE_BATCH 200

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
			  "img-src 'self'; connect-src 'self'; form-action 'self'; "
			  "frame-ancestors 'none'; base-uri 'none'";

/* Per-connection state: the POST fields of a form. */
struct post_state {
	struct MHD_PostProcessor *pp;
	char user[POST_FIELD_MAX], password[POST_FIELD_MAX], csrf[POST_FIELD_MAX];
	bool too_long;
	bool is_post;
};

const char *web_arg(struct web_request *rq, const char *name)
{
	const char *v = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);

	return v && *v ? v : NULL;
}

static void client_addr(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, size, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)size);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
			  (socklen_t)size);
}

struct query_acc {
	struct bytebuf b;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct bytebuf *b = cls;

	(void)kind;
	/* The CSRF token is a secret of the session: never in the audit. */
	if (strcmp(key, "csrf") == 0)
		return MHD_YES;
	if (b->len)
		bytebuf_append_byte(b, '&');
	bytebuf_append_str(b, key);
	bytebuf_append_byte(b, '=');
	bytebuf_append_str(b, value ? value : "");
	return MHD_YES;
}

static void add_security_headers(struct web_server *s, struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", csp);
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (s->tls)
		MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
}

static void cookie(struct web_server *s, struct MHD_Response *r, const char *name,
		   const char *value, bool clear)
{
	char c[256];

	snprintf(c, sizeof(c), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", name, value,
		 s->tls ? "; Secure" : "", clear ? "; Max-Age=0" : "");
	MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, c);
}

/* Audit first; a request that cannot be audited is not served. */
static bool audit(struct web_request *rq, int status)
{
	struct audit_entry e = {
		.user = rq->has_session ? rq->session.user : "",
		.role = rq->has_session ? user_role_name(rq->session.role) : "",
		.addr = rq->addr,
		.method = rq->method,
		.path = rq->path,
		.query = rq->query,
		.status = status,
		.what = rq->what,
	};

	if (audit_write(&rq->srv->audit, &e) == 0)
		return true;
	fprintf(stderr, "imwire web: cannot write the access-audit log: %s\n", strerror(errno));
	return false;
}

static enum MHD_Result send_reply(struct web_request *rq, struct web_reply *rp,
				  const char *set_session, bool clear_session, const char *login)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!audit(rq, rp->status)) {
		bytebuf_clear(&rp->body);
		page_error(rp, 500, "the access-audit log cannot be written");
	}
	r = MHD_create_response_from_buffer(rp->body.len, rp->body.data, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	add_security_headers(rq->srv, r);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				rp->type ? rp->type : "text/html; charset=utf-8");
	if (rp->disposition[0])
		MHD_add_response_header(r, "Content-Disposition", rp->disposition);
	if (rp->location[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, rp->location);
	if (set_session)
		cookie(rq->srv, r, SESSION_COOKIE, set_session, false);
	if (clear_session)
		cookie(rq->srv, r, SESSION_COOKIE, "", true);
	if (login)
		cookie(rq->srv, r, LOGIN_COOKIE, login, false);
	ret = MHD_queue_response(rq->conn, (unsigned)rp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static void redirect(struct web_reply *rp, const char *to)
{
	rp->status = 303;
	snprintf(rp->location, sizeof(rp->location), "%s", to);
	bytebuf_append_str(&rp->body, "see other\n");
	rp->type = "text/plain; charset=utf-8";
}

static enum MHD_Result serve_asset(struct web_request *rq, const struct asset *a)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(a->len, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	add_security_headers(rq->srv, r);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
	ret = MHD_queue_response(rq->conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- the live tail: Server-Sent Events polling the archive ---- */

struct sse {
	struct web_server *srv;
	struct archive archive;
	int64_t last_id;
	struct bytebuf pending;
	size_t sent;
	time_t last_write;
	bool failed;
};

static int sse_row(const struct review_row *r, void *arg)
{
	struct sse *s = arg;
	struct bytebuf line;
	bool ok;

	bytebuf_init(&line);
	/* A JSON line has no raw newline, so it is one data: field. */
	ok = export_json_row(&line, r) && line.len > 0;
	if (ok)
		line.len--; /* its newline */
	ok = ok && bytebuf_printf(&s->pending, "id: %lld\ndata: ", (long long)r->id) &&
	     bytebuf_append(&s->pending, line.data, line.len) && bytebuf_append_str(&s->pending, "\n\n");
	bytebuf_free(&line);
	if (r->id > s->last_id)
		s->last_id = r->id;
	return ok ? 0 : -1;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *s = cls;
	struct review_query q;
	size_t n;

	(void)pos;
	while (s->sent == s->pending.len) {
		bytebuf_clear(&s->pending);
		s->sent = 0;
		if (atomic_load(&s->srv->stopping) || s->failed)
			return MHD_CONTENT_READER_END_OF_STREAM;
		review_query_init(&q);
		q.after_id = s->last_id;
		q.limit = SSE_BATCH;
		if (archive_scan(&s->archive, &q, sse_row, s) < 0) {
			bytebuf_clear(&s->pending);
			bytebuf_printf(&s->pending, "event: error\ndata: archive unavailable\n\n");
			s->failed = true;
			break;
		}
		if (s->pending.len)
			break;
		if (time(NULL) - s->last_write >= SSE_KEEPALIVE_S) {
			bytebuf_append_str(&s->pending, ": keepalive\n\n");
			break;
		}
		sleep(SSE_POLL_S);
	}
	n = s->pending.len - s->sent;
	if (n > max)
		n = max;
	memcpy(buf, s->pending.data + s->sent, n);
	s->sent += n;
	s->last_write = time(NULL);
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct sse *s = cls;

	archive_close(&s->archive);
	bytebuf_free(&s->pending);
	free(s);
}

static enum MHD_Result serve_events(struct web_request *rq)
{
	struct sse *s = calloc(1, sizeof(*s));
	struct MHD_Response *r;
	struct web_reply rp = { 0 };
	const char *after = web_arg(rq, "after");
	enum MHD_Result ret;

	bytebuf_init(&rp.body);
	if (!s || archive_open(&s->archive, rq->srv->opt->archive) < 0) {
		if (s)
			snprintf(rq->what, sizeof(rq->what), "live tail: %s", s->archive.err);
		free(s);
		page_error(&rp, 503, "the archive is not available");
		ret = send_reply(rq, &rp, NULL, false, NULL);
		bytebuf_free(&rp.body);
		return ret;
	}
	s->srv = rq->srv;
	s->last_id = after ? strtoll(after, NULL, 10) : archive_max_id(&s->archive);
	if (s->last_id < 0)
		s->last_id = 0;
	s->last_write = time(NULL);
	bytebuf_init(&s->pending);
	bytebuf_append_str(&s->pending, "retry: 3000\n\n");
	snprintf(rq->what, sizeof(rq->what), "live tail after %lld", (long long)s->last_id);
	if (!audit(rq, 200)) {
		sse_free(s);
		return MHD_NO;
	}
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
	if (!r) {
		sse_free(s);
		return MHD_NO;
	}
	add_security_headers(rq->srv, r);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
	ret = MHD_queue_response(rq->conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- routing ---- */

static enum MHD_Result post_field(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *filename, const char *content_type,
				  const char *transfer_encoding, const char *data, uint64_t off,
				  size_t size)
{
	struct post_state *ps = cls;
	char *field = strcmp(key, "user") == 0	   ? ps->user
		      : strcmp(key, "password") == 0 ? ps->password
		      : strcmp(key, "csrf") == 0     ? ps->csrf
						     : NULL;

	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	if (!field)
		return MHD_YES;
	if (off + size >= POST_FIELD_MAX) {
		ps->too_long = true;
		return MHD_YES;
	}
	memcpy(field + off, data, size);
	field[off + size] = '\0';
	return MHD_YES;
}

static bool csrf_ok(struct web_request *rq, const char *given)
{
	return rq->has_session && given && auth_token_equal(rq->session.csrf, given);
}

static enum MHD_Result handle_login(struct web_request *rq, struct post_state *ps)
{
	struct web_reply rp = { 0 };
	const char *cookie_token =
		MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, LOGIN_COOKIE);
	char fresh[AUTH_TOKEN_HEX], err[256];
	enum user_role role = ROLE_NONE;
	struct auth_session s;
	enum MHD_Result ret;

	bytebuf_init(&rp.body);
	/* One token per browser: a second login page (another tab, a
	 * redirected favicon request) must not void the first one's form. */
	if (cookie_token && strlen(cookie_token) == AUTH_TOKEN_HEX - 1 &&
	    strspn(cookie_token, "0123456789abcdef") == AUTH_TOKEN_HEX - 1)
		memcpy(fresh, cookie_token, AUTH_TOKEN_HEX);
	else
		auth_random_token(fresh);
	if (strcmp(rq->method, "GET") == 0) {
		snprintf(rq->what, sizeof(rq->what), "login page");
		page_login(rq, &rp, fresh, NULL);
		ret = send_reply(rq, &rp, NULL, false, fresh);
		bytebuf_free(&rp.body);
		return ret;
	}
	/* The login form's token must equal its cookie (double submit). */
	if (ps->too_long || !cookie_token || !auth_token_equal(cookie_token, ps->csrf)) {
		snprintf(rq->what, sizeof(rq->what), "login refused: bad CSRF token");
		page_login(rq, &rp, fresh, "The form expired; try again.");
		rp.status = 403;
	} else if (!auth_login_allowed(&rq->srv->auth, rq->addr, ps->user)) {
		snprintf(rq->what, sizeof(rq->what), "login refused: rate limit (%.64s)", ps->user);
		page_login(rq, &rp, fresh, "Too many failed logins; wait a few minutes.");
		rp.status = 429;
	} else if (users_check(rq->srv->opt->users_file, ps->user, ps->password, &role, err,
			       sizeof(err)) < 0) {
		snprintf(rq->what, sizeof(rq->what), "login failed: %s", err);
		page_login(rq, &rp, fresh, "Login is not possible now.");
		rp.status = 500;
	} else if (role == ROLE_NONE) {
		auth_login_failed(&rq->srv->auth, rq->addr, ps->user);
		snprintf(rq->what, sizeof(rq->what), "login failed for %.64s", ps->user);
		page_login(rq, &rp, fresh, "Wrong user or password.");
		rp.status = 401;
	} else {
		auth_login_succeeded(&rq->srv->auth, rq->addr, ps->user);
		auth_session_create(&rq->srv->auth, ps->user, role, &s);
		rq->session = s;
		rq->has_session = true;
		snprintf(rq->what, sizeof(rq->what), "login");
		redirect(&rp, "/");
		ret = send_reply(rq, &rp, s.token, false, NULL);
		bytebuf_free(&rp.body);
		return ret;
	}
	ret = send_reply(rq, &rp, NULL, false, fresh);
	bytebuf_free(&rp.body);
	return ret;
}

struct route {
	const char *path;
	bool (*page)(struct web_request *, struct web_reply *);
	bool admin;
	bool csrf; /* the request must carry the session's CSRF token */
};

static const struct route routes[] = {
	{ "/", page_overview, false, false },
	{ "/conversations", page_conversations, false, false },
	{ "/thread", page_thread, false, false },
	{ "/search", page_search, false, false },
	{ "/export", page_export, false, true },
	{ "/tail", page_tail, false, false },
	{ "/admin", page_admin, true, false },
};

/* An empty 200 reply. */
static void reply_begin(struct web_reply *rp)
{
	memset(rp, 0, sizeof(*rp));
	bytebuf_init(&rp->body);
	rp->status = 200;
}

/* Sends rp, then frees its body. */
static enum MHD_Result reply_once(struct web_request *rq, struct web_reply *rp,
				  bool clear_session)
{
	enum MHD_Result ret = send_reply(rq, rp, NULL, clear_session, NULL);

	bytebuf_free(&rp->body);
	return ret;
}

/* An error page; what is the audit log's word for the request. */
static enum MHD_Result reply_error(struct web_request *rq, int status, const char *msg,
				   const char *what)
{
	struct web_reply rp;

	reply_begin(&rp);
	snprintf(rq->what, sizeof(rq->what), "%s", what);
	page_error(&rp, status, msg);
	return reply_once(rq, &rp, false);
}

/* No session: a browser's GET of a page goes to the login form, anything
 * else (the event stream, an export, a POST) is refused. */
static enum MHD_Result refuse_no_session(struct web_request *rq)
{
	struct web_reply rp;

	reply_begin(&rp);
	snprintf(rq->what, sizeof(rq->what), "refused: no session");
	if (strcmp(rq->method, "GET") == 0 && strcmp(rq->path, "/events") != 0 &&
	    strcmp(rq->path, "/export") != 0)
		redirect(&rp, "/login");
	else
		page_error(&rp, 401, "sign in first");
	return reply_once(rq, &rp, false);
}

static enum MHD_Result handle_logout(struct web_request *rq, struct post_state *ps,
				     const char *token)
{
	struct web_reply rp;

	if (!csrf_ok(rq, ps->csrf))
		return reply_error(rq, 403, "bad CSRF token", "logout refused: bad CSRF token");
	reply_begin(&rp);
	auth_session_end(&rq->srv->auth, token);
	snprintf(rq->what, sizeof(rq->what), "logout");
	redirect(&rp, "/login");
	return reply_once(rq, &rp, true);
}

/* A page of the routing table, for a signed-in GET. */
static enum MHD_Result serve_page(struct web_request *rq)
{
	struct web_reply rp;
	size_t i;
	bool ok;

	reply_begin(&rp);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, rq->path) == 0)
			break;
	if (i == sizeof(routes) / sizeof(routes[0])) {
		snprintf(rq->what, sizeof(rq->what), "not found");
		ok = page_error(&rp, 404, "no such page");
	} else if (routes[i].admin && rq->session.role != ROLE_ADMIN) {
		snprintf(rq->what, sizeof(rq->what), "refused: admin page for a %s",
			 user_role_name(rq->session.role));
		ok = page_error(&rp, 403, "this page is for admins");
	} else if (routes[i].csrf && !csrf_ok(rq, web_arg(rq, "csrf"))) {
		snprintf(rq->what, sizeof(rq->what), "refused: bad CSRF token");
		ok = page_error(&rp, 403, "bad CSRF token");
	} else {
		snprintf(rq->what, sizeof(rq->what), "view");
		ok = routes[i].page(rq, &rp);
	}
	if (!ok) {
		bytebuf_clear(&rp.body);
		page_error(&rp, 500, "out of memory");
	}
	return reply_once(rq, &rp, false);
}

/* Assets and the login form need no session; the rest does, and is
 * read-only but for logging out. */
static enum MHD_Result handle(struct web_request *rq, struct post_state *ps)
{
	const char *token = MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, SESSION_COOKIE);
	const struct asset *asset;

	if (strcmp(rq->method, "GET") == 0 && (asset = asset_find(rq->path)))
		return serve_asset(rq, asset);
	if (strcmp(rq->path, "/login") == 0)
		return handle_login(rq, ps);
	if (strcmp(rq->path, "/favicon.ico") == 0)
		return reply_error(rq, 404, "no icon", "not found");
	rq->has_session = auth_session_find(&rq->srv->auth, token, &rq->session);
	if (!rq->has_session)
		return refuse_no_session(rq);
	if (strcmp(rq->path, "/logout") == 0 && strcmp(rq->method, "POST") == 0)
		return handle_logout(rq, ps, token);
	if (strcmp(rq->method, "GET") != 0)
		return reply_error(rq, 405, "the console is read-only", "refused: method");
	if (strcmp(rq->path, "/events") == 0)
		return serve_events(rq);
	return serve_page(rq);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct web_server *srv = cls;
	struct post_state *ps = *con_cls;
	struct web_request rq;
	struct bytebuf q;

	(void)version;
	if (!ps) {
		ps = calloc(1, sizeof(*ps));
		if (!ps)
			return MHD_NO;
		ps->is_post = strcmp(method, "POST") == 0;
		if (ps->is_post) {
			ps->pp = MHD_create_post_processor(conn, 4096, post_field, ps);
			if (!ps->pp) {
				/* Not a form encoding MHD knows: no fields. */
				ps->too_long = true;
			}
		}
		*con_cls = ps;
		return MHD_YES;
	}
	if (ps->is_post && *upload_size) {
		if (ps->pp && MHD_post_process(ps->pp, upload, *upload_size) != MHD_YES)
			ps->too_long = true;
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&rq, 0, sizeof(rq));
	rq.srv = srv;
	rq.conn = conn;
	rq.method = method;
	rq.path = url;
	client_addr(conn, rq.addr, sizeof(rq.addr));
	bytebuf_init(&q);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
	snprintf(rq.query, sizeof(rq.query), "%.*s", (int)(q.len < 1000 ? q.len : 1000),
		 q.data ? (const char *)q.data : "");
	bytebuf_free(&q);
	return handle(&rq, ps);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct post_state *ps = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!ps)
		return;
	if (ps->pp)
		MHD_destroy_post_processor(ps->pp);
	/* Passwords do not linger in freed memory. */
	memset(ps->password, 0, sizeof(ps->password));
	free(ps);
	*con_cls = NULL;
}

static char *read_file(const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "r");
	struct bytebuf b;
	char chunk[4096];
	size_t n;

	if (!f) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return NULL;
	}
	bytebuf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (!bytebuf_append(&b, chunk, n))
			break;
	fclose(f);
	if (!bytebuf_terminate(&b)) {
		bytebuf_free(&b);
		snprintf(err, err_size, "%s: out of memory", path);
		return NULL;
	}
	return (char *)b.data;
}

static bool parse_listen(const char *s, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return false;
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1;
	}
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return inet_pton(AF_INET, host, &a4->sin_addr) == 1;
	}
}

/* What can be checked before anything starts: 0, or the exit status. */
static int check_options(const struct web_options *o, const char *listen_at,
			 struct sockaddr_storage *ss)
{
	struct archive probe;

	if (!o->users_file || !o->audit_log) {
		fprintf(stderr, "imwire web: --users FILE and --audit-log FILE are needed\n");
		return 2;
	}
	if (!parse_listen(listen_at, ss)) {
		fprintf(stderr, "imwire web: --listen %s: ADDR:PORT or [V6]:PORT\n", listen_at);
		return 2;
	}
	if ((o->tls_cert != NULL) != (o->tls_key != NULL)) {
		fprintf(stderr, "imwire web: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (access(o->users_file, R_OK) != 0) {
		fprintf(stderr, "imwire web: %s: %s (add users with imwire web-user add)\n",
			o->users_file, strerror(errno));
		return 1;
	}
	/* Fail at the start, not at the first page, when the archive is wrong. */
	if (archive_open(&probe, o->archive) < 0) {
		fprintf(stderr, "imwire web: %s\n", probe.err);
		return 1;
	}
	archive_close(&probe);
	return 0;
}

/* The certificate and key in memory (MHD takes them so); false, said
 * on stderr, when one cannot be read. */
static bool load_tls(const struct web_options *o, char **cert, char **key)
{
	char err[512];

	*cert = read_file(o->tls_cert, err, sizeof(err));
	*key = *cert ? read_file(o->tls_key, err, sizeof(err)) : NULL;
	if (!*key) {
		fprintf(stderr, "imwire web: %s\n", err);
		return false;
	}
	return true;
}

static struct MHD_Daemon *start_server(struct web_server *srv, unsigned flags,
				       const struct sockaddr_storage *ss, const char *cert,
				       const char *key)
{
	if (srv->tls)
		return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
					ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
					MHD_OPTION_CONNECTION_LIMIT, 64u,
					MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_HTTPS_MEM_KEY,
					key, MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_END);
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, ss,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
				MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT,
				120u, MHD_OPTION_END);
}

int web_run(const struct web_options *o)
{
	struct web_server *srv;
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;
	char err[512], *cert = NULL, *key = NULL;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ERROR_LOG;
	const char *listen_at = o->listen ? o->listen : WEB_DEFAULT_LISTEN;
	sigset_t set;
	int sig, rc;

	if (!(srv = calloc(1, sizeof(*srv))))
		return 1;
	if ((rc = check_options(o, listen_at, &ss)) != 0) {
		free(srv);
		return rc;
	}
	rc = 1;
	srv->opt = o;
	atomic_init(&srv->stopping, false);
	if (auth_init(&srv->auth) < 0) {
		free(srv);
		return 1;
	}
	if (audit_open(&srv->audit, o->audit_log, err, sizeof(err)) < 0) {
		fprintf(stderr, "imwire web: %s\n", err);
		goto out_auth;
	}
	if (o->tls_cert) {
		if (!load_tls(o, &cert, &key))
			goto out_audit;
		flags |= MHD_USE_TLS;
		srv->tls = true;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* Signals are taken by sigwait below, not by the server's threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!(d = start_server(srv, flags, &ss, cert, key))) {
		fprintf(stderr, "imwire web: cannot listen on %s%s\n", listen_at,
			srv->tls ? " (or the certificate and key were refused)" : "");
		goto out_audit;
	}
	fprintf(stderr, "imwire web: listening on %s://%s\n", srv->tls ? "https" : "http", listen_at);
	while (sigwait(&set, &sig) == 0 && sig != SIGINT && sig != SIGTERM)
		;
	atomic_store(&srv->stopping, true);
	MHD_stop_daemon(d);
	fprintf(stderr, "imwire web: stopped\n");
	rc = 0;
out_audit:
	audit_close(&srv->audit);
out_auth:
	auth_destroy(&srv->auth);
	free(cert);
	free(key);
	free(srv);
	return rc;
}
