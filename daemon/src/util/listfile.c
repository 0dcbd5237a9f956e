#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/listfile.h"

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

int listfile_read(const char *path, listfile_line_fn fn, void *arg, char *err, size_t err_size)
{
	FILE *f = fopen(path, "r");
	char buf[LISTFILE_MAX_LINE + 2], *text;
	unsigned line = 0;
	int rc = 0;

	if (!f) {
		snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		if (++line > LISTFILE_MAX_LINES) {
			snprintf(err, err_size, "%s: more than %u lines", path, LISTFILE_MAX_LINES);
			rc = -1;
			break;
		}
		if (!strchr(buf, '\n') && !feof(f)) {
			snprintf(err, err_size, "%s:%u: line longer than %u bytes", path, line,
				 LISTFILE_MAX_LINE);
			rc = -1;
			break;
		}
		text = trim(buf);
		if (!*text || *text == '#')
			continue;
		rc = fn(arg, path, line, text, err, err_size);
		if (rc)
			break;
	}
	if (!rc && ferror(f)) {
		snprintf(err, err_size, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}
