/* GET /metrics over HTTP, with libmicrohttpd's own thread: each request
 * collects a fresh view, renders it into memory and hands the buffer to
 * libmicrohttpd, which frees it after sending. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "metrics/metrics.h"

struct metrics_server {
	struct MHD_Daemon *mhd;
	metrics_collect_fn collect;
	metrics_release_fn release;
	void *arg;
};

bool metrics_parse_listen(const char *text, struct sockaddr_storage *ss, char *err,
			  size_t err_size)
{
	char host[64];
	const char *colon, *port_text;
	unsigned long port;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			goto bad;
		hl = (size_t)(close - text - 1);
		port_text = close + 2;
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, hl);
		host[hl] = '\0';
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			goto bad;
		hl = (size_t)(colon - text);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, text, hl);
		host[hl] = '\0';
		port_text = colon + 1;
	}
	port = strtoul(port_text, &end, 10);
	if (!*port_text || *end || port == 0 || port > 65535)
		goto bad;
	if (!host[0] || strchr(host, '.')) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (host[0] && inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto bad;
		if (!host[0])
			in->sin_addr.s_addr = htonl(INADDR_ANY);
		return true;
	}
	{
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto bad;
		return true;
	}
bad:
	snprintf(err, err_size,
		 "metrics_listen: expected ADDRESS:PORT (127.0.0.1:9477, [::1]:9477, :9477), got \"%s\"",
		 text);
	return false;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, char *body, size_t len,
			      const char *type)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, body, body ? MHD_RESPMEM_MUST_FREE
								: MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **state)
{
	struct metrics_server *s = cls;
	struct metrics_view view;
	char *body = NULL, *msg;
	size_t len = 0;
	FILE *mem;
	int rc;

	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		msg = strdup("only GET /metrics\n");
		return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, msg, msg ? strlen(msg) : 0,
			      "text/plain; charset=utf-8");
	}
	if (strcmp(url, "/metrics") != 0) {
		msg = strdup("not found: imwired serves /metrics\n");
		return answer(c, MHD_HTTP_NOT_FOUND, msg, msg ? strlen(msg) : 0,
			      "text/plain; charset=utf-8");
	}
	memset(&view, 0, sizeof(view));
	if (s->collect(s->arg, &view) < 0) {
		msg = strdup("statistics unavailable\n");
		return answer(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg, msg ? strlen(msg) : 0,
			      "text/plain; charset=utf-8");
	}
	mem = open_memstream(&body, &len);
	rc = mem ? metrics_render(mem, &view) : -1;
	if (mem && fclose(mem) != 0)
		rc = -1;
	s->release(s->arg, &view);
	if (rc < 0) {
		free(body);
		msg = strdup("out of memory\n");
		return answer(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg, msg ? strlen(msg) : 0,
			      "text/plain; charset=utf-8");
	}
	return answer(c, MHD_HTTP_OK, body, len, "text/plain; version=0.0.4; charset=utf-8");
}

struct metrics_server *metrics_server_start(const char *listen, metrics_collect_fn collect,
					    metrics_release_fn release, void *arg, char *err,
					    size_t err_size)
{
	struct sockaddr_storage ss;
	struct metrics_server *s;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;

	if (!metrics_parse_listen(listen, &ss, err, err_size))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	s->collect = collect;
	s->release = release;
	s->arg = arg;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &ss,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, err_size, "metrics_listen=%s: cannot listen (address in use?)", listen);
		free(s);
		return NULL;
	}
	return s;
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
}
