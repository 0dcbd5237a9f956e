/* The web console's front-end files, compiled into the binary: one
 * style sheet and one small script (the live tail), served as files so
 * the Content-Security-Policy can forbid every inline script and style. */
#ifndef IMW_REVIEW_ASSETS_H
#define IMW_REVIEW_ASSETS_H

#include <stddef.h>

struct asset {
	const char *path; /* "/static/style.css" */
	const char *type;
	const char *data;
	size_t len;
};

/* The asset at a path, or NULL. */
const struct asset *asset_find(const char *path);

#endif
