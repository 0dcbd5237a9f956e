/* The control socket's server: one thread, poll over the listening
 * socket, the clients and the tail subscriptions' eventfds. Every client
 * socket is non-blocking with an output buffer; a one-shot answer is
 * queued whole and the connection closes once it is sent. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "control/control.h"
#include "util/bytebuf.h"
#include "util/version.h"

#define REQUEST_MAX 512
#define REQUEST_TIMEOUT_S 5.0
#define SESSIONS_TIMEOUT_MS 2000
#define OUT_MAX (4 * 1024 * 1024) /* a tail client this far behind is cut off */

enum client_state {
	CLIENT_READING, /* waiting for the request line */
	CLIENT_ANSWER,  /* sending the answer, then closing */
	CLIENT_TAIL,    /* sending events until the client goes */
};

struct client {
	int fd;
	enum client_state state;
	char request[REQUEST_MAX];
	size_t request_len;
	double since;
	struct bytebuf out;
	struct tap_sub *sub;
};

struct control {
	pthread_t thread;
	int listen_fd;
	int stop_pipe[2];
	char *path;
	struct control_ops ops;
	struct event_tap *tap;
	control_log_fn log;
	struct client clients[CONTROL_MAX_CLIENTS];
	size_t n_clients;
};

void control_path_of(const struct imw_config *cfg, char *out, size_t size)
{
	const char *v = config_get(cfg, "control_socket");
	char inst[256];
	bool off;

	if (v && config_parse_bool(v, &off) && !off) {
		out[0] = '\0';
		return;
	}
	if (v) {
		snprintf(out, size, "%s", v);
		return;
	}
	config_instance(cfg->path, inst, sizeof(inst));
	if (strcmp(inst, "imwire") == 0)
		snprintf(out, size, "%s", CONTROL_DEFAULT_PATH);
	else
		snprintf(out, size, CONTROL_RUN_DIR "/%s.sock", inst);
}

bool control_session_add(struct control_session_list *l, const char *proto, const char *local,
			 const char *peer, const char *client, double since, uint64_t flow_id)
{
	struct control_session *s;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct control_session *g = realloc(l->v, cap * sizeof(*g));

		if (!g)
			return false;
		l->v = g;
		l->cap = cap;
	}
	s = &l->v[l->n];
	memset(s, 0, sizeof(*s));
	s->proto = proto;
	s->local = strdup(local);
	s->peer = strdup(peer);
	s->client = strdup(client);
	s->since = since;
	s->flow_id = flow_id;
	if (!s->local || !s->peer || !s->client) {
		free(s->local);
		free(s->peer);
		free(s->client);
		return false;
	}
	l->n++;
	return true;
}

void control_session_list_free(struct control_session_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].local);
		free(l->v[i].peer);
		free(l->v[i].client);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void client_close(struct control *c, size_t i)
{
	struct client *cl = &c->clients[i];

	if (cl->sub)
		event_tap_unsubscribe(c->tap, cl->sub);
	close(cl->fd);
	bytebuf_free(&cl->out);
	c->clients[i] = c->clients[--c->n_clients];
}

/* JSON string body (no quotes) of s. */
static void put_json(struct bytebuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			bytebuf_printf(b, "\\%c", ch);
		else if (ch < 0x20)
			bytebuf_printf(b, "\\u%04x", ch);
		else
			bytebuf_append_byte(b, ch);
	}
}

/* A field for the tab-separated form: tabs and newlines would split it. */
static void put_field(struct bytebuf *b, const char *s)
{
	if (!*s) {
		bytebuf_append_byte(b, '-');
		return;
	}
	for (; *s; s++)
		bytebuf_append_byte(b, *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : (uint8_t)*s);
}

static void answer_sessions(struct control *c, struct client *cl, bool json)
{
	struct control_session_list l;
	char since[32];
	size_t i;

	memset(&l, 0, sizeof(l));
	if (!c->ops.sessions || c->ops.sessions(c->ops.arg, &l) < 0) {
		bytebuf_append_str(&cl->out, "error sessions are not available\n");
		return;
	}
	if (!json)
		bytebuf_append_str(&cl->out, "proto\tlocal\tpeer\tclient\tsince\tevents\n");
	for (i = 0; i < l.n; i++) {
		struct control_session *s = &l.v[i];
		time_t t = (time_t)s->since;
		struct tm tm;

		s->events = c->tap ? event_tap_flow_events(c->tap, s->flow_id, s->client) : 0;
		gmtime_r(&t, &tm);
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (json) {
			bytebuf_printf(&cl->out, "{\"proto\": \"%s\", \"local\": \"", s->proto);
			put_json(&cl->out, s->local);
			bytebuf_append_str(&cl->out, "\", \"peer\": \"");
			put_json(&cl->out, s->peer);
			bytebuf_append_str(&cl->out, "\", \"client\": \"");
			put_json(&cl->out, s->client);
			bytebuf_printf(&cl->out, "\", \"since\": \"%s\", \"events\": %llu, \"flow\": %llu}\n",
				       since, (unsigned long long)s->events,
				       (unsigned long long)s->flow_id);
		} else {
			bytebuf_printf(&cl->out, "%s\t", s->proto);
			put_field(&cl->out, s->local);
			bytebuf_append_byte(&cl->out, '\t');
			put_field(&cl->out, s->peer);
			bytebuf_append_byte(&cl->out, '\t');
			put_field(&cl->out, s->client);
			bytebuf_printf(&cl->out, "\t%s\t%llu\n", since, (unsigned long long)s->events);
		}
	}
	if (l.partial)
		bytebuf_append_str(&cl->out, json ? "{\"partial\": true}\n"
						  : "# partial: a worker did not answer in time\n");
	control_session_list_free(&l);
}

static void answer_stats(struct control *c, struct client *cl)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc = -1;

	if (mem && c->ops.stats)
		rc = c->ops.stats(c->ops.arg, mem);
	if (mem)
		fclose(mem);
	if (rc == 0)
		bytebuf_append(&cl->out, text, len);
	else
		bytebuf_append_str(&cl->out, "error statistics are not available\n");
	free(text);
}

/* "tail [proto=P] [kind=K] [user=U]": false with a message in out. */
static bool start_tail(struct control *c, struct client *cl, char *args)
{
	struct tap_filter f = { IMW_PROTO_NONE, -1, NULL };
	char *tok, *save = NULL;
	int k;

	if (!c->tap) {
		bytebuf_append_str(&cl->out, "error no event tap in this daemon\n");
		return false;
	}
	for (tok = strtok_r(args, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (strncmp(tok, "proto=", 6) == 0) {
			f.proto = event_proto_from_name(tok + 6);
			if (f.proto == IMW_PROTO_NONE) {
				bytebuf_printf(&cl->out, "error unknown protocol \"%s\"\n", tok + 6);
				return false;
			}
		} else if (strncmp(tok, "kind=", 5) == 0) {
			for (k = 0; k < IM_KIND_COUNT; k++)
				if (strcmp(event_kind_name((enum im_kind)k), tok + 5) == 0)
					break;
			if (k == IM_KIND_COUNT) {
				bytebuf_printf(&cl->out, "error unknown kind \"%s\"\n", tok + 5);
				return false;
			}
			f.kind = k;
		} else if (strncmp(tok, "user=", 5) == 0 && tok[5]) {
			f.user = tok + 5;
		} else {
			bytebuf_printf(&cl->out, "error tail: unknown filter \"%s\"\n", tok);
			return false;
		}
	}
	cl->sub = event_tap_subscribe(c->tap, &f);
	if (!cl->sub) {
		bytebuf_append_str(&cl->out, "error out of memory\n");
		return false;
	}
	cl->state = CLIENT_TAIL;
	return true;
}

static void handle_request(struct control *c, struct client *cl)
{
	char *line = cl->request, msg[1024];
	int rc;

	cl->state = CLIENT_ANSWER;
	if (strcmp(line, "sessions") == 0) {
		answer_sessions(c, cl, false);
	} else if (strcmp(line, "sessions json") == 0) {
		answer_sessions(c, cl, true);
	} else if (strcmp(line, "tail") == 0 || strncmp(line, "tail ", 5) == 0) {
		start_tail(c, cl, line + 4);
	} else if (strcmp(line, "reload") == 0) {
		msg[0] = '\0';
		rc = c->ops.reload ? c->ops.reload(c->ops.arg, msg, sizeof(msg)) : -1;
		bytebuf_printf(&cl->out, "%s %s\n", rc == 0 ? "ok" : "error",
			       msg[0] ? msg : c->ops.reload ? "" : "reload is not available");
	} else if (strcmp(line, "stats") == 0) {
		answer_stats(c, cl);
	} else if (strcmp(line, "version") == 0) {
		bytebuf_printf(&cl->out, "imwired %s\n", imw_version());
	} else {
		bytebuf_append_str(&cl->out, "error unknown request (sessions, sessions json, tail, "
					     "reload, stats, version)\n");
	}
}

/* Read what the client sent; the first line is the request. */
static bool client_read(struct control *c, struct client *cl)
{
	ssize_t n;
	char *nl;

	if (cl->state != CLIENT_READING) {
		char scratch[256];

		/* a tail client's input is ignored; EOF ends it */
		n = read(cl->fd, scratch, sizeof(scratch));
		return n > 0 || (n < 0 && errno == EAGAIN);
	}
	n = read(cl->fd, cl->request + cl->request_len, sizeof(cl->request) - 1 - cl->request_len);
	if (n <= 0)
		return n < 0 && errno == EAGAIN;
	cl->request_len += (size_t)n;
	cl->request[cl->request_len] = '\0';
	nl = strchr(cl->request, '\n');
	if (!nl) {
		if (cl->request_len == sizeof(cl->request) - 1) {
			bytebuf_append_str(&cl->out, "error request too long\n");
			cl->state = CLIENT_ANSWER;
		}
		return true;
	}
	*nl = '\0';
	if (nl > cl->request && nl[-1] == '\r')
		nl[-1] = '\0';
	handle_request(c, cl);
	return true;
}

/* Send what is queued; false when the client is done or gone. */
static bool client_write(struct client *cl)
{
	ssize_t n;

	while (cl->out.len) {
		n = send(cl->fd, cl->out.data, cl->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		bytebuf_consume(&cl->out, (size_t)n);
	}
	return cl->state != CLIENT_ANSWER;
}

static void client_take_events(struct control *c, struct client *cl)
{
	uint64_t lost = tap_sub_take(c->tap, cl->sub, &cl->out);

	if (lost)
		bytebuf_printf(&cl->out, "{\"tail_lost\": %llu}\n", (unsigned long long)lost);
}

/* Only root and the daemon's own user. */
static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void accept_client(struct control *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct client *cl;

	if (fd < 0)
		return;
	if (c->n_clients == CONTROL_MAX_CLIENTS || !peer_allowed(fd)) {
		static const char busy[] = "error too many clients\n", denied[] = "error root only\n";
		bool full = c->n_clients == CONTROL_MAX_CLIENTS;

		if (send(fd, full ? busy : denied, full ? sizeof(busy) - 1 : sizeof(denied) - 1,
			 MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* it is being turned away either way */
		}
		close(fd);
		return;
	}
	cl = &c->clients[c->n_clients++];
	memset(cl, 0, sizeof(*cl));
	cl->fd = fd;
	cl->state = CLIENT_READING;
	cl->since = now_mono();
	bytebuf_init(&cl->out);
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	struct pollfd pfd[2 + 2 * CONTROL_MAX_CLIENTS];
	size_t i, n, owner[2 * CONTROL_MAX_CLIENTS];
	bool keep;

	for (;;) {
		pfd[0].fd = c->stop_pipe[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = c->listen_fd;
		pfd[1].events = POLLIN;
		n = 2;
		for (i = 0; i < c->n_clients; i++) {
			struct client *cl = &c->clients[i];

			pfd[n].fd = cl->fd;
			pfd[n].events = POLLIN | (cl->out.len ? POLLOUT : 0);
			owner[n - 2] = i;
			n++;
			if (cl->sub && cl->out.len < OUT_MAX) {
				pfd[n].fd = tap_sub_fd(cl->sub);
				pfd[n].events = POLLIN;
				owner[n - 2] = i;
				n++;
			}
		}
		if (poll(pfd, n, 500) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		/* clients from the last to the first: closing one moves the last */
		for (i = n; i-- > 2;) {
			struct client *cl;
			size_t k = owner[i - 2];

			if (!pfd[i].revents)
				continue;
			cl = &c->clients[k];
			keep = true;
			if (pfd[i].fd == cl->fd) {
				if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
					keep = client_read(c, cl);
			} else if (cl->sub && pfd[i].fd == tap_sub_fd(cl->sub)) {
				client_take_events(c, cl);
			} else {
				continue; /* this slot's client was closed and replaced */
			}
			if (keep && cl->out.len)
				keep = client_write(cl);
			else if (keep && cl->state == CLIENT_ANSWER)
				keep = false;
			if (!keep)
				client_close(c, k);
		}
		for (i = c->n_clients; i-- > 0;) {
			struct client *cl = &c->clients[i];

			if (cl->state == CLIENT_READING && now_mono() - cl->since > REQUEST_TIMEOUT_S)
				client_close(c, i);
		}
		if (pfd[1].revents & POLLIN)
			accept_client(c);
	}
	while (c->n_clients)
		client_close(c, c->n_clients - 1);
	return NULL;
}

/* A socket file there: another daemon's (it answers) or a stale one. */
static int clear_stale(const char *path, char *err, size_t err_size)
{
	char e[64];
	int fd = control_connect(path, e, sizeof(e));

	if (fd >= 0) {
		close(fd);
		snprintf(err, err_size, "%s: another imwired answers there (control_socket= of its own "
					"for a second instance)", path);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct control *control_start(const char *path, const struct control_ops *ops,
			      struct event_tap *tap, control_log_fn log, char *err,
			      size_t err_size)
{
	struct sockaddr_un sa;
	struct control *c;
	char dir[sizeof(sa.sun_path)], *slash;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_size, "%s: path too long for a socket", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path));
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			snprintf(err, err_size, "%s: %s", dir, strerror(errno));
			return NULL;
		}
	}
	if (clear_stale(path, err, err_size) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		free(c);
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	c->ops = *ops;
	c->log = log;
	c->stop_pipe[0] = c->stop_pipe[1] = -1;
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(c->listen_fd, 16) < 0 ||
	    pipe2(c->stop_pipe, O_CLOEXEC) < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		goto fail;
	}
	c->tap = tap;
	if (tap)
		event_tap_ref(tap);
	if (pthread_create(&c->thread, NULL, control_main, c) != 0) {
		snprintf(err, err_size, "cannot start the control thread");
		if (tap)
			event_tap_unref(tap);
		goto fail;
	}
	return c;
fail:
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(path);
	}
	if (c->stop_pipe[0] >= 0) {
		close(c->stop_pipe[0]);
		close(c->stop_pipe[1]);
	}
	free(c->path);
	free(c);
	return NULL;
}

void control_stop(struct control *c)
{
	char b = 1;

	if (!c)
		return;
	if (write(c->stop_pipe[1], &b, 1) < 0 && c->log)
		c->log(LOG_ERR, "control socket: cannot stop its thread: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	close(c->listen_fd);
	/* after a privilege drop the directory may refuse: the next start
	 * replaces a stale socket */
	unlink(c->path);
	close(c->stop_pipe[0]);
	close(c->stop_pipe[1]);
	event_tap_unref(c->tap);
	free(c->path);
	free(c);
}
