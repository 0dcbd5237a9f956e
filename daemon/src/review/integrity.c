#include "review/integrity.h"

#include <stdio.h>
#include <string.h>

#include "util/bytebuf.h"

/* verify_source_db's MariaDB spec: "[user[:password]@]server/database". */
static int mysql_spec(const struct archive_spec *s, struct bytebuf *b)
{
	bool ok = true;

	if (s->user) {
		ok = ok && bytebuf_append_str(b, s->user);
		if (s->password)
			ok = ok && bytebuf_append_str(b, ":") && bytebuf_append_str(b, s->password);
		ok = ok && bytebuf_append_str(b, "@");
	}
	ok = ok && bytebuf_append_str(b, s->server ? s->server : "localhost") &&
	     bytebuf_append_str(b, "/") && bytebuf_append_str(b, s->database ? s->database : "") &&
	     bytebuf_terminate(b);
	return ok ? 0 : -1;
}

static int open_source(const struct archive_spec *s, struct verify_source *src, char *err,
		       size_t err_size)
{
	struct bytebuf b;
	int rc;

	switch (s->kind) {
	case ARCHIVE_JSONL:
		return verify_source_jsonl(src, s->path, err, err_size);
	case ARCHIVE_SQLITE:
		return verify_source_db(src, "sqlite", s->path, NULL, err, err_size);
	case ARCHIVE_PGSQL:
		return verify_source_db(src, "pgsql", s->conninfo ? s->conninfo : "", NULL, err,
					err_size);
	case ARCHIVE_MYSQL:
		bytebuf_init(&b);
		if (mysql_spec(s, &b) < 0) {
			snprintf(err, err_size, "out of memory");
			bytebuf_free(&b);
			return -1;
		}
		rc = verify_source_db(src, "mysql", (const char *)b.data, NULL, err, err_size);
		bytebuf_free(&b);
		return rc;
	case ARCHIVE_NONE:
		break;
	}
	snprintf(err, err_size, "no archive");
	return -1;
}

int review_integrity(const struct archive_spec *spec, struct verify_result *r, char *err,
		     size_t err_size)
{
	const struct verify_options o = { NULL, NULL, NULL };
	struct verify_source src;
	int rc;

	memset(r, 0, sizeof(*r));
	if (open_source(spec, &src, err, err_size) < 0)
		return -1;
	rc = verify_store(&src, &o, r, err, err_size);
	verify_source_close(&src);
	return rc;
}
