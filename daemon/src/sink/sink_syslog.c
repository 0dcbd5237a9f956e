/* Events to syslog, one JSON object a message (LOG_DAEMON, LOG_INFO).
 * With a socket path the datagrams go there directly ("<pri>ident[pid]:
 * text", what syslog(3) sends to /dev/log), for a syslog daemon listening
 * elsewhere (a chroot, a container, a test). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "sink/sink.h"
#include "util/bytebuf.h"

/* Datagram sockets to syslog daemons take at least this much. */
#define SYSLOG_MESSAGE_MAX 8192

struct syslog_ctx {
	int fd; /* -1: syslog(3) */
	struct sockaddr_un addr;
	struct bytebuf msg;
};

static int syslog_write(struct sink *s, const struct im_event *ev)
{
	struct syslog_ctx *c = s->ctx;

	bytebuf_clear(&c->msg);
	if (c->fd >= 0 &&
	    !bytebuf_printf(&c->msg, "<%d>imwire[%ld]: ", LOG_DAEMON | LOG_INFO, (long)getpid()))
		return -1;
	if (!bytebuf_append_str(&c->msg, "event ") || !sink_format_json(&c->msg, ev))
		return -1;
	if (c->msg.len > SYSLOG_MESSAGE_MAX)
		c->msg.len = SYSLOG_MESSAGE_MAX; /* what a daemon would cut anyway */
	if (!bytebuf_terminate(&c->msg))
		return -1;
	if (c->fd < 0) {
		syslog(LOG_DAEMON | LOG_INFO, "%s", (const char *)c->msg.data);
		return 0;
	}
	if (sendto(c->fd, c->msg.data, c->msg.len, MSG_NOSIGNAL, (struct sockaddr *)&c->addr,
		   sizeof(c->addr)) < 0)
		return -1;
	return 0;
}

static int syslog_flush(struct sink *s)
{
	(void)s;
	return 0;
}

static void syslog_close(struct sink *s)
{
	struct syslog_ctx *c = s->ctx;

	if (c->fd >= 0)
		close(c->fd);
	bytebuf_free(&c->msg);
	free(c);
}

static const struct sink_ops syslog_ops = {
	.name = "syslog",
	.write = syslog_write,
	.flush = syslog_flush,
	.close = syslog_close,
};

int sink_syslog_open(struct sink *s, const char *socket_path)
{
	struct syslog_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->fd = -1;
	bytebuf_init(&c->msg);
	if (socket_path) {
		if (strlen(socket_path) >= sizeof(c->addr.sun_path)) {
			free(c);
			errno = ENAMETOOLONG;
			return -1;
		}
		c->addr.sun_family = AF_UNIX;
		strcpy(c->addr.sun_path, socket_path);
		c->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			free(c);
			return -1;
		}
	}
	memset(s, 0, sizeof(*s));
	s->ops = &syslog_ops;
	s->ctx = c;
	return 0;
}
