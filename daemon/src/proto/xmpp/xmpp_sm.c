/* XEP-0198 stream management against whole-stanza edits: the server's
 * offer is blanked when the inline engine may delete or insert stanzas. */
#include <string.h>

#include "proto/xmpp/xmpp_internal.h"

static size_t skip_ws(const uint8_t *p, size_t len, size_t i)
{
	while (i < len && xmpp_is_ws(p[i]))
		i++;
	return i;
}

static bool bytes_at(const uint8_t *p, size_t len, size_t i, const char *s)
{
	size_t n = strlen(s);

	return i <= len && len - i >= n && memcmp(p + i, s, n) == 0;
}

/* Offset of the first occurrence of s in p[from, to), or to. */
static size_t find_bytes(const uint8_t *p, size_t from, size_t to, const char *s)
{
	size_t i;

	for (i = from; i < to; i++)
		if (bytes_at(p, to, i, s))
			return i;
	return to;
}

bool xmpp_fixup_pdu(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len)
{
	size_t i = skip_ws(pdu, len, 0), tag_end, end;
	bool changed = false;

	if (dir != IM_DIR_IN || !s->edits_possible || !bytes_at(pdu, len, i, "<stream:features"))
		return false;
	while ((i = find_bytes(pdu, i + 1, len, "<sm")) < len) {
		if (i + 3 >= len ||
		    !(xmpp_is_ws(pdu[i + 3]) || pdu[i + 3] == '/' || pdu[i + 3] == '>'))
			continue;
		tag_end = find_bytes(pdu, i, len, ">");
		if (tag_end == len)
			return changed;
		if (find_bytes(pdu, i, tag_end, "urn:xmpp:sm:") == tag_end)
			continue;
		if (pdu[tag_end - 1] == '/') {
			end = tag_end + 1;
		} else {
			end = find_bytes(pdu, tag_end, len, "</sm>");
			if (end == len)
				return changed;
			end += 5;
		}
		memset(pdu + i, ' ', end - i);
		changed = true;
		i = end - 1;
	}
	return changed;
}
