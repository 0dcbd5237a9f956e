/* The first TLS record of a connection that starts with TLS (direct-TLS
 * IM: XMPP on 5223, IRC on 6697, OSCAR over TLS on 443 and 5190): a
 * ClientHello, and the service it names (server_name, RFC 6066 3).
 * Parsed with a bounded cursor; nothing is decrypted. */
#ifndef IMW_APP_TLS_HELLO_H
#define IMW_APP_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_hello_parse {
	TLS_HELLO_NO,        /* not a TLS ClientHello */
	TLS_HELLO_NEED_MORE, /* the record is not complete yet */
	TLS_HELLO_YES,
};

/* The SNI host name (not NUL-terminated, in the record) in *sni and
 * *sni_len, or *sni_len 0 when the hello names none. */
enum tls_hello_parse tls_hello_sni(const uint8_t *p, size_t len, const uint8_t **sni,
				   size_t *sni_len);

#endif
