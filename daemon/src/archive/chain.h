/* Tamper evidence for stored events: each store's events form a chain.
 * Every stored event carries prev_hash, the hash of the event stored
 * before it (32 zero bytes for the first one), and its own hash:
 *
 *     hash = SHA-256(prev_hash || canonical encoding of the event)
 *
 * The canonical encoding (version 1) covers exactly the fields every
 * chained store keeps in full (JSON lines and the SQL tables), so that
 * `imwire verify` can recompute it from any of them:
 *
 *     "imwire-chain-1" NUL
 *     eventid   u64 big-endian
 *     ts_us     i64 big-endian (microseconds since the epoch)
 *     outgoing  u8 (1 from the local client, 0 towards it)
 *     filtered  u8
 *     then 16 strings, each u32 big-endian length + bytes (NULL is empty):
 *     sensor, protocol (IMSpector's name: "IRC", "ICQ-AIM"), kind, local,
 *     remote, client, server, session, community_id, action, rule,
 *     categories, text, delivered_text, route_to, content_type
 *
 * Any change of a covered field changes the hash; removing, inserting or
 * moving an event breaks the link of the one after it. A store's chain
 * may also hold purge records (retention, chain_purge below): the chain
 * goes on past the events a purge removed from the hash it names.
 *
 * SHA-256 is OpenSSL's (the CPU's SHA extensions), libsodium's when
 * OpenSSL cannot; the digest is the same. */
#ifndef IMW_ARCHIVE_CHAIN_H
#define IMW_ARCHIVE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "util/bytebuf.h"

#define CHAIN_HASH_LEN 32
#define CHAIN_HEX_SIZE (2 * CHAIN_HASH_LEN + 1)
#define CHAIN_VERSION_TAG "imwire-chain-1"

struct chain_fields {
	uint64_t eventid;
	int64_t ts_us;
	bool outgoing;
	bool filtered;
	const char *sensor;
	const char *protocol;
	const char *kind;
	const char *local;
	const char *remote;
	const char *client;
	const char *server;
	const char *session;
	const char *community_id;
	const char *action;
	const char *rule;
	const char *categories;
	const char *text;
	const char *delivered_text;
	const char *route_to;
	const char *content_type;
};

/* hash = SHA-256(prev || canonical(f)). */
void chain_hash(const uint8_t prev[CHAIN_HASH_LEN], const struct chain_fields *f,
		uint8_t out[CHAIN_HASH_LEN]);

/* The same hash for a run of events (a sink's thread, one event after
 * another): SHA-256 is fetched from OpenSSL once and one context reused,
 * and each event's encoding is gathered into one buffer, so that an
 * event costs one digest update instead of an algorithm fetch (a lock
 * and a lookup in OpenSSL 3), an allocation and 34 updates. Owned by one
 * thread. Without memory it hashes as chain_hash does. */
struct chain_hasher {
	struct evp_md_st *md;      /* OpenSSL's EVP_MD, fetched at the first hash */
	struct evp_md_ctx_st *ctx; /* OpenSSL's EVP_MD_CTX */
	bool failed;               /* OpenSSL could not: chain_hash's way from then on */
	struct bytebuf buf;        /* prev || canonical(f) */
};

void chain_hasher_init(struct chain_hasher *h);
void chain_hasher_free(struct chain_hasher *h);
void chain_hash_with(struct chain_hasher *h, const uint8_t prev[CHAIN_HASH_LEN],
		     const struct chain_fields *f, uint8_t out[CHAIN_HASH_LEN]);
/* The canonical encoding itself (documentation, tests); false on
 * allocation failure. */
bool chain_encode(struct bytebuf *out, const struct chain_fields *f);

/* Lower-case hex; chain_unhex takes exactly 64 hex digits. */
void chain_hex(const uint8_t h[CHAIN_HASH_LEN], char out[CHAIN_HEX_SIZE]);
bool chain_unhex(const char *s, uint8_t out[CHAIN_HASH_LEN]);
bool chain_is_zero(const uint8_t h[CHAIN_HASH_LEN]);

/* The timestamp as the chain and the stores keep it: microseconds, the
 * same digits JSON lines print ("%.6f" of ts). */
int64_t chain_ts_us(double ts);

/* Running digest of the hashes of the events a purge kept inside its
 * range (legal hold, or newer than the cutoff), in id order. */
struct chain_digest {
	crypto_hash_sha256_state st;
	uint64_t n;
};
void chain_digest_init(struct chain_digest *d);
void chain_digest_add(struct chain_digest *d, uint64_t eventid, const uint8_t h[CHAIN_HASH_LEN]);
void chain_digest_final(struct chain_digest *d, uint8_t out[CHAIN_HASH_LEN]);

/* A retention purge, stored as an event of its own in the chain (action
 * "purge", its text the line chain_purge_format makes):
 *   purge from=A to=B before=T removed=N kept=K kept_digest=HEX
 *   continue=HEX hold=id,id,...
 * Events with ids in (from, to] older than before (microseconds) were
 * removed unless their local id was on hold; the kept ones, K of them,
 * digest to kept_digest; the first event after `to` carries continue as
 * its prev_hash. imwire's purges have from 0 (archive/purge.h): a later
 * purge whose range holds an earlier one's speaks for its rows. */
struct chain_purge {
	uint64_t from, to;
	int64_t before_us;
	uint64_t removed, kept;
	uint8_t kept_digest[CHAIN_HASH_LEN];
	uint8_t cont[CHAIN_HASH_LEN];
	const char *hold; /* comma-separated; "" for none */
};

bool chain_purge_format(struct bytebuf *out, const struct chain_purge *p);
/* Parses text (as stored); p->hold points into text. false when it is
 * not a well-formed purge line. */
bool chain_purge_parse(const char *text, struct chain_purge *p);

#endif
