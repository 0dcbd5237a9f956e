/* What one protocol session learns that another session of the same user
 * needs: a small, bounded map shared by the flows of one flow table (one
 * worker). OSCAR's authorizer connection hands out a cookie with the
 * screen name; the BOS connection shows only the cookie.
 *
 * Also the strings many sessions of the table hold alike (the network a
 * session is on, a client's message format, the server a stream names):
 * one shared, counted copy each, so an idle session does not pay for its
 * own. */
#ifndef IMW_PROTO_DIRECTORY_H
#define IMW_PROTO_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imwire/protocols.h"

#define PROTO_DIRECTORY_SLOTS 1024 /* oldest entries give way beyond this */
#define PROTO_DIRECTORY_KEY_MAX 512

struct proto_directory_entry {
	enum imw_proto proto;
	uint8_t *key;
	size_t key_len;
	char *value;
};

#define PROTO_STRINGS_BUCKETS 256

struct proto_string; /* directory.c */

struct proto_directory {
	struct proto_directory_entry slots[PROTO_DIRECTORY_SLOTS];
	size_t next; /* the slot the next new entry takes */
	uint64_t replaced; /* entries pushed out by newer ones */
	struct proto_string *strings[PROTO_STRINGS_BUCKETS];
};

void proto_directory_init(struct proto_directory *d);
void proto_directory_free(struct proto_directory *d);
/* false on allocation failure or an over-long key. */
bool proto_directory_put(struct proto_directory *d, enum imw_proto proto, const uint8_t *key,
			 size_t key_len, const char *value);
/* NULL when unknown; valid until the next put. */
const char *proto_directory_get(const struct proto_directory *d, enum imw_proto proto,
				const uint8_t *key, size_t key_len);

/* The shared copy of s[0, n) (NUL-terminated; made on first use), with one
 * more reference; NULL on allocation failure. The directory must outlive
 * every reference (a flow table releases its flows first). */
const char *proto_directory_intern(struct proto_directory *d, const char *s, size_t n);
/* Give back one reference to what proto_directory_intern returned; the
 * copy goes with the last. */
void proto_directory_release(struct proto_directory *d, const char *s);

#endif
