#include "review/html.h"

#include <string.h>

bool html_escape(struct bytebuf *b, const char *s)
{
	const char *run = s ? s : "", *p;
	bool ok = true;

	for (p = run; ok && *p; p++) {
		const char *rep = NULL;
		unsigned char c = (unsigned char)*p;

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				rep = "\xEF\xBF\xBD";
		}
		if (!rep)
			continue;
		ok = bytebuf_append(b, run, (size_t)(p - run)) && bytebuf_append_str(b, rep);
		run = p + 1;
	}
	return ok && bytebuf_append(b, run, strlen(run));
}

bool html_url_escape(struct bytebuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	bool ok = true;

	for (p = (const unsigned char *)(s ? s : ""); ok && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			ok = bytebuf_append_byte(b, *p);
		} else {
			uint8_t e[3] = { '%', (uint8_t)hex[*p >> 4], (uint8_t)hex[*p & 15] };

			ok = bytebuf_append(b, e, 3);
		}
	}
	return ok;
}
