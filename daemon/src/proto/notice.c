#include "proto/notice.h"

#include <stdlib.h>
#include <string.h>

#include "util/bytebuf.h"

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

char *notice_wire_text(const struct im_event *ev, enum im_dir dir)
{
	const char *prefix = ev->notice_prefix ? ev->notice_prefix : IMW_NOTICE_PREFIX;
	const char *postfix = ev->notice_postfix ? ev->notice_postfix : IMW_NOTICE_POSTFIX;
	const char *text = ev->text ? ev->text : "";
	const char *sender = ev->notice_from ? ev->notice_from : NOTICE_GROUP_SENDER;
	bool marked = strlen(text) >= strlen(prefix) + strlen(postfix) &&
		      starts_with(text, prefix) && ends_with(text, postfix);
	struct bytebuf b;

	bytebuf_init(&b);
	/* The modules read an incoming group text as "member: text". */
	if (ev->group && dir == IM_DIR_IN &&
	    (!bytebuf_append_str(&b, sender) || !bytebuf_append_str(&b, ": ")))
		goto oom;
	if (!(marked ? bytebuf_append_str(&b, text)
		     : bytebuf_append_str(&b, prefix) && bytebuf_append_str(&b, text) &&
			       bytebuf_append_str(&b, postfix)) ||
	    !bytebuf_terminate(&b))
		goto oom;
	return (char *)b.data;
oom:
	bytebuf_free(&b);
	return NULL;
}

const struct im_event *notice_as_message(const struct im_event *ev, enum im_dir dir,
					 struct im_event *tmp, char **owned)
{
	*owned = NULL;
	if (!ev->notice)
		return ev;
	if (!(*owned = notice_wire_text(ev, dir)))
		return NULL;
	*tmp = *ev;
	tmp->text = *owned;
	return tmp;
}
