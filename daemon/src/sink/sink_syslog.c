/* Events to syslog, one JSON object a message (LOG_DAEMON, LOG_INFO, or
 * the priority alert_syslog_priority= gives its categories), as
 * datagrams "<pri>imwire[pid]: event {...}" to a syslog daemon's socket:
 * /dev/log, or syslog_socket= for one listening elsewhere (a chroot, a
 * container, a test). Our own socket rather than syslog(3), which drops a
 * message silently when the daemon is away: here a send that fails is a
 * failed write, kept in the write-ahead log and tried again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "sink/sink.h"
#include "sink/sink_alert.h"
#include "util/bytebuf.h"
#include "util/numfmt.h"

/* Datagram sockets to syslog daemons take at least this much. */
#define SYSLOG_MESSAGE_MAX 8192
#define SYSLOG_DEFAULT_SOCKET "/dev/log"

struct syslog_ctx {
	int fd;
	struct sockaddr_un addr;
	struct bytebuf msg;
	bool has_alerts;
	struct sink_alerts alerts; /* alert_syslog_priority= (sink_alert.h) */
};

/* "<pri>imwire[pid]: event ": the pid at each message, as the sink is
 * opened before the daemon detaches; the priority by the event's
 * categories (alerts), else LOG_INFO. */
static bool make_header(struct syslog_ctx *c, int level)
{
	char num[NUMFMT_I64_MAX];
	size_t n = numfmt_i64(num, LOG_DAEMON | level);

	bytebuf_clear(&c->msg);
	if (!bytebuf_append_byte(&c->msg, '<') || !bytebuf_append(&c->msg, num, n) ||
	    !bytebuf_append_str(&c->msg, ">imwire["))
		return false;
	n = numfmt_i64(num, (int64_t)getpid());
	return bytebuf_append(&c->msg, num, n) && bytebuf_append_str(&c->msg, "]: event ");
}

static int syslog_write(struct sink *s, const struct im_event *ev, uint64_t eventid)
{
	struct syslog_ctx *c = s->ctx;
	int level = c->has_alerts ? sink_alerts_level(&c->alerts, ev->categories) : LOG_INFO;

	(void)eventid;
	if (!make_header(c, level) || !sink_format_json(&c->msg, ev))
		return sink_fail(s, ENOMEM, "syslog: formatting an event");
	if (c->msg.len > SYSLOG_MESSAGE_MAX)
		c->msg.len = SYSLOG_MESSAGE_MAX; /* what a daemon would cut anyway */
	/* Never blocks: a daemon that does not read is a failure (EAGAIN),
	 * tried again later, not a writer stuck forever. */
	while (sendto(c->fd, c->msg.data, c->msg.len, MSG_NOSIGNAL | MSG_DONTWAIT,
		      (struct sockaddr *)&c->addr, sizeof(c->addr)) < 0) {
		if (errno != EINTR)
			return sink_fail(s, errno, "syslog %s: send", c->addr.sun_path);
	}
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
	sink_alerts_free(&c->alerts);
	free(c);
}

static const struct sink_ops syslog_ops = {
	.name = "syslog",
	.write = syslog_write,
	.flush = syslog_flush,
	.close = syslog_close,
};

int sink_syslog_open(struct sink *s, const char *socket_path, const struct sink_alerts *alerts)
{
	struct syslog_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	if (alerts && !(c->has_alerts = sink_alerts_copy(&c->alerts, alerts))) {
		free(c);
		errno = ENOMEM;
		return -1;
	}
	if (!socket_path)
		socket_path = SYSLOG_DEFAULT_SOCKET;
	c->fd = -1;
	bytebuf_init(&c->msg);
	if (strlen(socket_path) >= sizeof(c->addr.sun_path)) {
		sink_alerts_free(&c->alerts);
		free(c);
		errno = ENAMETOOLONG;
		return -1;
	}
	c->addr.sun_family = AF_UNIX;
	strcpy(c->addr.sun_path, socket_path);
	c->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		sink_alerts_free(&c->alerts);
		free(c);
		return -1;
	}
	memset(s, 0, sizeof(*s));
	s->ops = &syslog_ops;
	s->ctx = c;
	s->id = malloc(strlen(socket_path) + sizeof("syslog "));
	if (!s->id) {
		syslog_close(s);
		errno = ENOMEM;
		return -1;
	}
	strcpy(s->id, "syslog ");
	strcat(s->id, socket_path);
	return 0;
}
