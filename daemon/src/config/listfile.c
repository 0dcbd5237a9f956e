#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/listfile.h"

#define LISTFILE_MAX_LINE 4096
#define LISTFILE_MAX_LINES 1000000

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*end = '\0';
	return s;
}

/* Reads the file line by line; a line fn refuses is reported to r (as
 * an error) and, unless all is set, ends the reading. */
static int read_lines(const char *path, listfile_line_fn fn, void *arg, struct config_report *r,
		      bool all)
{
	FILE *f = fopen(path, "r");
	char buf[LISTFILE_MAX_LINE + 2], *text, msg[512];
	unsigned line = 0, errors = r->errors;

	if (!f) {
		config_report_error(r, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		if (++line > LISTFILE_MAX_LINES) {
			config_report_error(r, "%s: more than %u lines", path, LISTFILE_MAX_LINES);
			break;
		}
		if (!strchr(buf, '\n') && !feof(f)) {
			/* The rest of an over-long line is no line of its own. */
			config_report_error(r, "%s:%u: line longer than %u bytes", path, line,
					    LISTFILE_MAX_LINE);
			break;
		}
		text = trim(buf);
		if (!*text || *text == '#')
			continue;
		msg[0] = '\0';
		if (fn(arg, path, line, text, msg, sizeof(msg)) != 0) {
			config_report_error(r, "%s", msg[0] ? msg : "bad line");
			if (!all)
				break;
		}
	}
	if (ferror(f))
		config_report_error(r, "%s: read error", path);
	fclose(f);
	return r->errors > errors ? -1 : 0;
}

int listfile_read(const char *path, listfile_line_fn fn, void *arg, char *err, size_t err_size)
{
	struct config_first_error fe;
	struct config_report r;

	config_report_first_error(&r, &fe, err, err_size, NULL);
	return read_lines(path, fn, arg, &r, false);
}

int listfile_read_report(const char *path, listfile_line_fn fn, void *arg,
			 struct config_report *r)
{
	return read_lines(path, fn, arg, r, true);
}
