/* The line-oriented files IMSpector's filters and the address map read:
 * one entry a line, '#' comments, blank lines ignored. */
#ifndef IMW_UTIL_LISTFILE_H
#define IMW_UTIL_LISTFILE_H

#include <stddef.h>

/* Calls fn for every line that is not empty or a '#' comment, trimmed;
 * stops at the first non-zero return. Lines and files are bounded.
 * Returns 0, or -1 with "FILE:LINE: reason" or "FILE: reason" in err. */
typedef int (*listfile_line_fn)(void *arg, const char *path, unsigned line, char *text,
				char *err, size_t err_size);
int listfile_read(const char *path, listfile_line_fn fn, void *arg, char *err, size_t err_size);

#endif
