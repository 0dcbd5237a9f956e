/* HTML output that is safe with attacker-controlled text: every string
 * from the archive goes through html_escape (text and attribute values
 * alike), so message text can never become markup. */
#ifndef IMW_REVIEW_HTML_H
#define IMW_REVIEW_HTML_H

#include <stdbool.h>

#include "util/bytebuf.h"

/* Append s with & < > " ' as entities and NUL and C0 controls other than
 * tab, LF and CR as U+FFFD; false on allocation failure. */
bool html_escape(struct bytebuf *b, const char *s);
/* Append s escaped for a URL query component (RFC 3986 unreserved kept). */
bool html_url_escape(struct bytebuf *b, const char *s);

#endif
