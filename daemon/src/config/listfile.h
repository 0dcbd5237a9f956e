/* The line-oriented files a configuration names (IMSpector's filter
 * lists, the address map): one entry a line, '#' comments, blank lines
 * ignored. */
#ifndef IMW_CONFIG_LISTFILE_H
#define IMW_CONFIG_LISTFILE_H

#include <stddef.h>

#include "config/config.h"

/* Calls fn for every line that is not empty or a '#' comment, trimmed;
 * stops at the first non-zero return. Lines and files are bounded.
 * Returns 0, or -1 with "FILE:LINE: reason" or "FILE: reason" in err. */
typedef int (*listfile_line_fn)(void *arg, const char *path, unsigned line, char *text,
				char *err, size_t err_size);
int listfile_read(const char *path, listfile_line_fn fn, void *arg, char *err, size_t err_size);
/* The same, going on past a line fn refused: every problem of the file
 * goes to r, as an error. 0 when there was none, else -1. */
int listfile_read_report(const char *path, listfile_line_fn fn, void *arg,
			 struct config_report *r);

#endif
