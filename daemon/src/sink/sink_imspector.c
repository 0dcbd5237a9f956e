/* IMSpector's file log layout, so existing log readers keep working. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sink/sink.h"
#include "util/bytebuf.h"

struct imspector_ctx {
	char *dir;        /* NULL: stream mode */
	FILE *stream;     /* stream mode output */
	char *open_path;  /* the file kept open, if any */
	FILE *open_file;
	struct bytebuf path;
	struct bytebuf line;
};

/* A path element from an id: never empty, never "." or "..", no '/'. */
static bool append_component(struct bytebuf *b, const char *id)
{
	const char *p;
	bool ok = true;

	if (!id || !*id)
		return bytebuf_append_str(b, "unknown");
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		ok = bytebuf_append_byte(b, '_');
	for (p = id; ok && *p; p++)
		ok = bytebuf_append_byte(b, *p == '/' ? '_' : (uint8_t)*p);
	return ok;
}

static bool format_relative_path(struct bytebuf *b, const struct im_event *ev)
{
	time_t t = (time_t)ev->ts;
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return false;
	return bytebuf_append_str(b, event_proto_imspector_name(ev->proto)) &&
	       bytebuf_append_byte(b, '/') && append_component(b, ev->local) &&
	       bytebuf_append_byte(b, '/') && append_component(b, ev->remote) &&
	       bytebuf_printf(b, "/%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

bool sink_format_imspector_line(struct bytebuf *b, const struct im_event *ev)
{
	enum imspector_type type = event_imspector_type(ev->kind);
	const char *p;
	bool ok = bytebuf_printf(b, "%s,%lld,%d,%d,%d,", ev->client ? ev->client : "",
				 (long long)ev->ts, ev->dir == IM_DIR_OUT ? 1 : 0, (int)type,
				 ev->filtered ? 1 : 0);

	/* IMSpector leaves the data empty for typing and webcam events. */
	if (type == IMSPECTOR_TYPE_TYPING || type == IMSPECTOR_TYPE_WEBCAM)
		return ok;
	for (p = ev->text ? ev->text : ""; ok && *p; p++) {
		if (*p == '\n')
			ok = bytebuf_append_str(b, "\\n");
		else if (*p == '\r')
			ok = bytebuf_append_str(b, "\\r");
		else
			ok = bytebuf_append_byte(b, (uint8_t)*p);
	}
	return ok;
}

static int mkdir_parents(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int imspector_write(struct sink *s, const struct im_event *ev)
{
	struct imspector_ctx *c = s->ctx;

	/* IMSpector's log readers know four event types; the other kinds
	 * (login, presence, join...) go to the sinks that can say what they
	 * are. */
	if (event_imspector_type(ev->kind) == IMSPECTOR_TYPE_OTHER)
		return 0;

	bytebuf_clear(&c->line);
	bytebuf_clear(&c->path);
	if (!sink_format_imspector_line(&c->line, ev) || !bytebuf_append_byte(&c->line, '\n'))
		return -1;
	if (!c->dir) {
		if (!format_relative_path(&c->path, ev) || !bytebuf_terminate(&c->path))
			return -1;
		if (fprintf(c->stream, "%s: ", (char *)c->path.data) < 0 ||
		    fwrite(c->line.data, 1, c->line.len, c->stream) != c->line.len)
			return -1;
		return 0;
	}
	if (!bytebuf_append_str(&c->path, c->dir) || !bytebuf_append_byte(&c->path, '/') ||
	    !format_relative_path(&c->path, ev) || !bytebuf_terminate(&c->path))
		return -1;
	if (!c->open_path || strcmp(c->open_path, (char *)c->path.data) != 0) {
		if (c->open_file)
			fclose(c->open_file);
		free(c->open_path);
		c->open_file = NULL;
		c->open_path = strdup((char *)c->path.data);
		if (!c->open_path || mkdir_parents(c->open_path) < 0)
			return -1;
		c->open_file = fopen(c->open_path, "a");
		if (!c->open_file)
			return -1;
	}
	if (fwrite(c->line.data, 1, c->line.len, c->open_file) != c->line.len ||
	    fflush(c->open_file) != 0)
		return -1;
	return 0;
}

static int imspector_flush(struct sink *s)
{
	struct imspector_ctx *c = s->ctx;

	return fflush(c->dir ? c->open_file : c->stream) == 0 ? 0 : -1;
}

static void imspector_close(struct sink *s)
{
	struct imspector_ctx *c = s->ctx;

	if (c->open_file)
		fclose(c->open_file);
	if (c->stream)
		fflush(c->stream);
	free(c->open_path);
	free(c->dir);
	bytebuf_free(&c->path);
	bytebuf_free(&c->line);
	free(c);
}

static const struct sink_ops imspector_ops = {
	.name = "imspector",
	.write = imspector_write,
	.flush = imspector_flush,
	.close = imspector_close,
};

static struct imspector_ctx *ctx_new(struct sink *s)
{
	struct imspector_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	bytebuf_init(&c->path);
	bytebuf_init(&c->line);
	memset(s, 0, sizeof(*s));
	s->ops = &imspector_ops;
	s->ctx = c;
	return c;
}

int sink_imspector_open_dir(struct sink *s, const char *dir)
{
	struct imspector_ctx *c;
	struct stat st;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -1;
	if (stat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	c = ctx_new(s);
	if (!c)
		return -1;
	c->dir = strdup(dir);
	if (!c->dir) {
		imspector_close(s);
		return -1;
	}
	return 0;
}

int sink_imspector_open_stream(struct sink *s, FILE *out)
{
	struct imspector_ctx *c = ctx_new(s);

	if (!c)
		return -1;
	c->stream = out;
	return 0;
}
