/* imwired's control socket: a Unix stream socket (mode 0600, and only
 * root's or the daemon's own uid are answered, checked with SO_PEERCRED)
 * that speaks lines. A client sends one request line and reads the answer;
 * the server closes the connection after it (a tail goes on until the
 * client closes):
 *
 *   sessions          the live IM sessions, one tab-separated line each:
 *                     proto, local id, remote peer, client, since, events
 *   sessions json     the same as JSON lines
 *   tail [proto=P] [kind=K] [user=U]
 *                     every later event that matches, as JSON lines
 *   reload            "ok ..." or "error ...": the configuration re-read
 *   stats             the stats document (JSON)
 *   version           imwired's version
 *
 * Anything else is answered "error ...". The server has its own thread;
 * what it shows comes from the daemon through control_ops (each may
 * block, bounded) and from the event tap (control/tap.h). */
#ifndef IMW_CONTROL_H
#define IMW_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/tap.h"

#define CONTROL_DEFAULT_PATH "/run/imwire/imwired.sock"
#define CONTROL_RUN_DIR "/run/imwire"
#define CONTROL_MAX_CLIENTS 32

struct imw_config;
/* The control socket of a configuration: control_socket=, else
 * CONTROL_DEFAULT_PATH for the default instance, else
 * CONTROL_RUN_DIR/INSTANCE.sock; "" when control_socket=off. */
void control_path_of(const struct imw_config *cfg, char *out, size_t size);

/* One live IM session. Strings are owned by the list. */
struct control_session {
	const char *proto;   /* static: "irc", "xmpp", ... */
	char *local;         /* "" until the protocol reveals it */
	char *peer;          /* the server end, "ip:port" */
	char *client;        /* the local client, "ip:port" */
	double since;        /* seconds since the epoch: the flow's first packet */
	uint64_t flow_id;
	uint64_t events;     /* filled by the server from the tap */
};

struct control_session_list {
	struct control_session *v;
	size_t n;
	size_t cap;
	bool partial; /* a worker did not answer in time */
};

bool control_session_add(struct control_session_list *l, const char *proto, const char *local,
			 const char *peer, const char *client, double since, uint64_t flow_id);
void control_session_list_free(struct control_session_list *l);

struct control_ops {
	/* The live sessions; 0, or -1 when they cannot be had. */
	int (*sessions)(void *arg, struct control_session_list *out);
	/* Re-read the configuration: 0 when it was taken, -1 when refused;
	 * msg says what happened either way. */
	int (*reload)(void *arg, char *msg, size_t msg_size);
	/* The stats document; 0, or -1. */
	int (*stats)(void *arg, FILE *out);
	void *arg;
};

typedef void (*control_log_fn)(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Listen on path (a stale socket there is replaced; a live one, another
 * daemon's, is an error) and serve on a thread of its own. tap may be
 * NULL (no tail, no event counts). NULL with a reason in err. */
struct control;
struct control *control_start(const char *path, const struct control_ops *ops,
			      struct event_tap *tap, control_log_fn log, char *err,
			      size_t err_size);
/* Stop serving, close every client, remove the socket. */
void control_stop(struct control *c);

/* ---- the client side, for imwire sessions|tail|reload ---- */

/* Connect to path; -1 with a reason in err. */
int control_connect(const char *path, char *err, size_t err_size);
/* Send one request line and copy the answer to out until the server
 * closes (or, with max_lines > 0, after that many lines). -1 with err. */
int control_request(int fd, const char *request, FILE *out, unsigned long max_lines, char *err,
		    size_t err_size);

#endif
