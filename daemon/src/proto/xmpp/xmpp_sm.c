/* The server's stream features, edited in place (blanks, same length):
 * the XEP-0198 stream management offer when the inline engine may delete
 * or insert stanzas, and under encrypted=strip a STARTTLS offer the server
 * does not require. */
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

/* Blank every <NAME ...> element of the features whose start tag names
 * the namespace ns (and, when keep_if is not NULL, that does not hold
 * it: <required/>). White space between elements is allowed there. */
static bool blank_feature(uint8_t *pdu, size_t len, const char *open, const char *close,
			  const char *ns, const char *keep_if)
{
	size_t i = 0, n = strlen(open), tag_end, end;
	bool changed = false;

	while ((i = find_bytes(pdu, i + 1, len, open)) < len) {
		if (i + n >= len ||
		    !(xmpp_is_ws(pdu[i + n]) || pdu[i + n] == '/' || pdu[i + n] == '>'))
			continue;
		tag_end = find_bytes(pdu, i, len, ">");
		if (tag_end == len)
			return changed;
		if (find_bytes(pdu, i, tag_end, ns) == tag_end)
			continue;
		if (pdu[tag_end - 1] == '/') {
			end = tag_end + 1;
		} else {
			end = find_bytes(pdu, tag_end, len, close);
			if (end == len)
				return changed;
			if (keep_if && find_bytes(pdu, tag_end, end, keep_if) < end)
				continue;
			end += strlen(close);
		}
		memset(pdu + i, ' ', end - i);
		changed = true;
		i = end - 1;
	}
	return changed;
}

bool xmpp_fixup_pdu(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len)
{
	size_t i = skip_ws(pdu, len, 0);
	bool changed = false;

	if (dir != IM_DIR_IN || !bytes_at(pdu, len, i, "<stream:features"))
		return false;
	if (s->edits_possible)
		changed |= blank_feature(pdu, len, "<sm", "</sm>", "urn:xmpp:sm:", NULL);
	if (s->strip_tls)
		changed |= blank_feature(pdu, len, "<starttls", "</starttls>", NS_TLS, "<required");
	return changed;
}
