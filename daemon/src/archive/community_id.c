#include "archive/community_id.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "imwire/byteorder.h"

#define IPPROTO_NUM_ICMP 1
#define IPPROTO_NUM_TCP 6
#define IPPROTO_NUM_UDP 17
#define IPPROTO_NUM_ICMPV6 58
#define IPPROTO_NUM_SCTP 132

/* seed + two IPv6 addresses + proto + pad + two ports */
#define INPUT_MAX (2 + 16 + 16 + 1 + 1 + 2 + 2)
#define SHA1_LEN 20

static int has_ports(uint8_t proto)
{
	return proto == IPPROTO_NUM_TCP || proto == IPPROTO_NUM_UDP || proto == IPPROTO_NUM_SCTP;
}

/* True when (a, ap) is the endpoint to put first: the smaller one. */
static int first_is_smaller(const uint8_t *a, uint16_t ap, const uint8_t *b, uint16_t bp,
			    size_t alen, int ports)
{
	int c = memcmp(a, b, alen);

	if (c != 0)
		return c < 0;
	return !ports || ap <= bp;
}

struct community_hasher {
	EVP_MD *md;      /* SHA-1, fetched once */
	EVP_MD_CTX *ctx; /* reused for every ID */
};

struct community_hasher *community_hasher_new(void)
{
	struct community_hasher *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->md = EVP_MD_fetch(NULL, "SHA1", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx) {
		community_hasher_free(h);
		return NULL;
	}
	return h;
}

void community_hasher_free(struct community_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

/* SHA-1 of in[0, n) into md (SHA1_LEN bytes); false on failure. */
static int sha1(struct community_hasher *h, const uint8_t *in, size_t n, uint8_t *md)
{
	unsigned md_len = 0;

	if (!h)
		return EVP_Digest(in, n, md, &md_len, EVP_sha1(), NULL) == 1 && md_len == SHA1_LEN;
	return EVP_DigestInit_ex2(h->ctx, h->md, NULL) == 1 &&
	       EVP_DigestUpdate(h->ctx, in, n) == 1 &&
	       EVP_DigestFinal_ex(h->ctx, md, &md_len) == 1 && md_len == SHA1_LEN;
}

int community_id_v1(const struct community_flow *f, uint16_t seed, char out[COMMUNITY_ID_SIZE])
{
	return community_id_v1_with(NULL, f, seed, out);
}

int community_id_v1_with(struct community_hasher *h, const struct community_flow *f,
			 uint16_t seed, char out[COMMUNITY_ID_SIZE])
{
	uint8_t in[INPUT_MAX], md[EVP_MAX_MD_SIZE];
	size_t alen, n = 0;
	int ports = has_ports(f->proto);
	const uint8_t *a = f->saddr, *b = f->daddr;
	uint16_t ap = f->sport, bp = f->dport;

	out[0] = '\0';
	if (f->ip_version != 4 && f->ip_version != 6)
		return -1;
	if (f->proto == IPPROTO_NUM_ICMP || f->proto == IPPROTO_NUM_ICMPV6)
		return -1;
	alen = f->ip_version == 4 ? 4 : 16;
	if (!first_is_smaller(a, ap, b, bp, alen, ports)) {
		a = f->daddr;
		b = f->saddr;
		ap = f->dport;
		bp = f->sport;
	}
	imw_store_be16(in, seed);
	n = 2;
	memcpy(in + n, a, alen);
	n += alen;
	memcpy(in + n, b, alen);
	n += alen;
	in[n++] = f->proto;
	in[n++] = 0;
	if (ports) {
		imw_store_be16(in + n, ap);
		imw_store_be16(in + n + 2, bp);
		n += 4;
	}
	if (!sha1(h, in, n, md))
		return -1;
	out[0] = '1';
	out[1] = ':';
	/* 20 bytes are 28 base64 characters; EVP_EncodeBlock adds the NUL. */
	if (EVP_EncodeBlock((unsigned char *)out + 2, md, SHA1_LEN) != 28) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
