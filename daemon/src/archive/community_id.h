/* Community ID v1 (corelight's community-id-spec): the flow hash Zeek,
 * Suricata, Arkime and Wireshark share, so a SIEM can join imwire's
 * events with theirs by one string.
 *
 * The hash input, in network byte order: seed (2 bytes), the smaller
 * endpoint's address, the other's address, the IP protocol (1 byte), a
 * zero byte, then for TCP, UDP and SCTP the smaller endpoint's port and
 * the other's (2 bytes each). "Smaller" compares the addresses as bytes
 * and, when they are equal, the ports: both directions of a flow give the
 * same ID. The ID is "1:" and the base64 of the input's SHA-1.
 *
 * ICMP and ICMPv6 map type and code to ports in the spec; imwire sees
 * only TCP, so they are refused rather than computed wrongly. */
#ifndef IMW_ARCHIVE_COMMUNITY_ID_H
#define IMW_ARCHIVE_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

/* "1:" + 28 base64 characters + NUL */
#define COMMUNITY_ID_SIZE 31

struct community_flow {
	uint8_t ip_version;   /* 4 or 6 */
	const uint8_t *saddr; /* 4 or 16 bytes, network order */
	const uint8_t *daddr;
	uint16_t sport, dport; /* host order; ignored for portless protocols */
	uint8_t proto;         /* IP protocol number */
};

/* Writes the ID of flow f with the given seed (0 by default) to out.
 * 0, or -1 for an IP version other than 4 or 6, ICMP/ICMPv6, or a hash
 * failure (out is then ""). */
int community_id_v1(const struct community_flow *f, uint16_t seed, char out[COMMUNITY_ID_SIZE]);

/* SHA-1 looked up once for many IDs: OpenSSL 3 fetches the algorithm by
 * name on every digest that names it by EVP_sha1() (a lock and a table
 * lookup, and a context allocated), which was most of an ID's cost:
 * about 22 000 instructions, against one flow's whole set-up. One
 * hasher serves one thread (its context is reused). */
struct community_hasher;

/* NULL when OpenSSL has no SHA-1 or no memory: community_id_v1 then. */
struct community_hasher *community_hasher_new(void);
void community_hasher_free(struct community_hasher *h); /* NULL: no-op */
/* community_id_v1's contract and result, through h (NULL: the same as
 * community_id_v1). */
int community_id_v1_with(struct community_hasher *h, const struct community_flow *f,
			 uint16_t seed, char out[COMMUNITY_ID_SIZE]);

#endif
