#include "app/tls_hello.h"

#include "util/cursor.h"

#define TLS_HANDSHAKE 22
#define TLS_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_MAX_RECORD 16384u

/* Skip a vector with a length prefix of n bytes (1 or 2). */
static bool skip_vector(struct cursor *c, int n)
{
	uint8_t l8;
	uint16_t l16;

	if (n == 1)
		return cursor_u8(c, &l8) && cursor_skip(c, l8);
	return cursor_be16(c, &l16) && cursor_skip(c, l16);
}

/* server_name extension: list length, then entries of type (0: host
 * name), length, name; the first host name is the one. */
static void find_host_name(struct cursor *ext, const uint8_t **sni, size_t *sni_len)
{
	struct cursor list;
	uint16_t list_len, name_len;
	uint8_t type;

	if (!cursor_be16(ext, &list_len) || !cursor_sub(ext, list_len, &list))
		return;
	while (cursor_u8(&list, &type) && cursor_be16(&list, &name_len)) {
		const uint8_t *name = cursor_take(&list, name_len);

		if (!name)
			return;
		if (type == 0 && name_len) {
			*sni = name;
			*sni_len = name_len;
			return;
		}
	}
}

enum tls_hello_parse tls_hello_sni(const uint8_t *p, size_t len, const uint8_t **sni,
				   size_t *sni_len)
{
	struct cursor rec, hs, exts, ext;
	uint16_t version, rec_len, ext_type, ext_len, exts_len;
	uint8_t type, hs_type;

	*sni = NULL;
	*sni_len = 0;
	if (len < 5)
		return len && p[0] != TLS_HANDSHAKE ? TLS_HELLO_NO : TLS_HELLO_NEED_MORE;
	cursor_init(&rec, p, len);
	if (!cursor_u8(&rec, &type) || !cursor_be16(&rec, &version) ||
	    !cursor_be16(&rec, &rec_len) || type != TLS_HANDSHAKE || (version >> 8) != 3 ||
	    rec_len < 4 || rec_len > TLS_MAX_RECORD)
		return TLS_HELLO_NO;
	if (cursor_remaining(&rec) < rec_len)
		return TLS_HELLO_NEED_MORE;
	cursor_init(&hs, cursor_here(&rec), rec_len);
	/* type, then a 24-bit length (the record bounds it anyway) */
	if (!cursor_u8(&hs, &hs_type) || hs_type != TLS_CLIENT_HELLO || !cursor_skip(&hs, 3))
		return TLS_HELLO_NO;
	/* version, random, session id, cipher suites, compression methods */
	if (!cursor_skip(&hs, 2 + 32) || !skip_vector(&hs, 1) || !skip_vector(&hs, 2) ||
	    !skip_vector(&hs, 1))
		return TLS_HELLO_NO;
	if (!cursor_remaining(&hs))
		return TLS_HELLO_YES; /* no extensions */
	if (!cursor_be16(&hs, &exts_len) || !cursor_sub(&hs, exts_len, &exts))
		return TLS_HELLO_NO;
	while (cursor_be16(&exts, &ext_type) && cursor_be16(&exts, &ext_len)) {
		if (!cursor_sub(&exts, ext_len, &ext))
			return TLS_HELLO_NO;
		if (ext_type == TLS_EXT_SERVER_NAME) {
			find_host_name(&ext, sni, sni_len);
			break;
		}
	}
	return TLS_HELLO_YES;
}
