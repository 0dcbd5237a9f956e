#include "archive/chain.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "imwire/byteorder.h"
#include "util/numfmt.h"

#define N_STRINGS 16

static void strings_of(const struct chain_fields *f, const char *s[N_STRINGS])
{
	s[0] = f->sensor;
	s[1] = f->protocol;
	s[2] = f->kind;
	s[3] = f->local;
	s[4] = f->remote;
	s[5] = f->client;
	s[6] = f->server;
	s[7] = f->session;
	s[8] = f->community_id;
	s[9] = f->action;
	s[10] = f->rule;
	s[11] = f->categories;
	s[12] = f->text;
	s[13] = f->delivered_text;
	s[14] = f->route_to;
	s[15] = f->content_type;
}

/* The fixed head: tag, eventid, ts_us, outgoing, filtered. */
#define HEAD_LEN (sizeof(CHAIN_VERSION_TAG) + 8 + 8 + 1 + 1)

static void head_of(const struct chain_fields *f, uint8_t head[HEAD_LEN])
{
	uint8_t *p = head;

	memcpy(p, CHAIN_VERSION_TAG, sizeof(CHAIN_VERSION_TAG)); /* with its NUL */
	p += sizeof(CHAIN_VERSION_TAG);
	imw_store_be32(p, (uint32_t)(f->eventid >> 32));
	imw_store_be32(p + 4, (uint32_t)f->eventid);
	imw_store_be32(p + 8, (uint32_t)((uint64_t)f->ts_us >> 32));
	imw_store_be32(p + 12, (uint32_t)(uint64_t)f->ts_us);
	p[16] = f->outgoing ? 1 : 0;
	p[17] = f->filtered ? 1 : 0;
}

/* The same SHA-256 through OpenSSL, which uses the CPU's SHA extensions
 * where it has them: libsodium's portable one took most of a sink
 * thread's time on message bulk (about 4.7 us for a 1 KB event against
 * 1.7). False when OpenSSL could not (no memory): the caller hashes with
 * libsodium, to the same digest. */
static bool hash_openssl(const uint8_t prev[CHAIN_HASH_LEN], const uint8_t head[HEAD_LEN],
			 const char *const s[N_STRINGS], uint8_t out[CHAIN_HASH_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t len[4];
	unsigned olen = 0;
	bool ok;
	size_t i, n;

	if (!c)
		return false;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(c, prev, CHAIN_HASH_LEN) == 1 && EVP_DigestUpdate(c, head, HEAD_LEN) == 1;
	for (i = 0; ok && i < N_STRINGS; i++) {
		n = s[i] ? strlen(s[i]) : 0;
		imw_store_be32(len, (uint32_t)n);
		ok = EVP_DigestUpdate(c, len, 4) == 1 && (!n || EVP_DigestUpdate(c, s[i], n) == 1);
	}
	ok = ok && EVP_DigestFinal_ex(c, out, &olen) == 1 && olen == CHAIN_HASH_LEN;
	EVP_MD_CTX_free(c);
	return ok;
}

void chain_hash(const uint8_t prev[CHAIN_HASH_LEN], const struct chain_fields *f,
		uint8_t out[CHAIN_HASH_LEN])
{
	crypto_hash_sha256_state st;
	const char *s[N_STRINGS];
	uint8_t head[HEAD_LEN], len[4];
	size_t i, n;

	head_of(f, head);
	strings_of(f, s);
	if (hash_openssl(prev, head, s, out))
		return;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, prev, CHAIN_HASH_LEN);
	crypto_hash_sha256_update(&st, head, HEAD_LEN);
	for (i = 0; i < N_STRINGS; i++) {
		n = s[i] ? strlen(s[i]) : 0;
		imw_store_be32(len, (uint32_t)n);
		crypto_hash_sha256_update(&st, len, 4);
		if (n)
			crypto_hash_sha256_update(&st, (const uint8_t *)s[i], n);
	}
	crypto_hash_sha256_final(&st, out);
}

bool chain_encode(struct bytebuf *out, const struct chain_fields *f)
{
	const char *s[N_STRINGS];
	uint8_t head[HEAD_LEN], len[4];
	size_t i, n, start = out->len;

	head_of(f, head);
	strings_of(f, s);
	if (!bytebuf_append(out, head, HEAD_LEN))
		return false;
	for (i = 0; i < N_STRINGS; i++) {
		n = s[i] ? strlen(s[i]) : 0;
		imw_store_be32(len, (uint32_t)n);
		if (!bytebuf_append(out, len, 4) || !bytebuf_append(out, s[i] ? s[i] : "", n)) {
			out->len = start;
			return false;
		}
	}
	return true;
}

void chain_hasher_init(struct chain_hasher *h)
{
	h->md = NULL;
	h->ctx = NULL;
	h->failed = false;
	bytebuf_init(&h->buf);
}

void chain_hasher_free(struct chain_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	bytebuf_free(&h->buf);
	chain_hasher_init(h);
}

/* OpenSSL's part; false when it could not (the caller hashes the slow way). */
static bool hasher_run(struct chain_hasher *h, const uint8_t prev[CHAIN_HASH_LEN],
		       const struct chain_fields *f, uint8_t out[CHAIN_HASH_LEN])
{
	unsigned olen = 0;

	if (!h->md && !(h->md = EVP_MD_fetch(NULL, "SHA256", NULL)))
		return false;
	if (!h->ctx && !(h->ctx = EVP_MD_CTX_new()))
		return false;
	bytebuf_clear(&h->buf);
	/* the canonical encoding's bytes are the updates hash_openssl makes */
	return bytebuf_append(&h->buf, prev, CHAIN_HASH_LEN) && chain_encode(&h->buf, f) &&
	       EVP_DigestInit_ex2(h->ctx, h->md, NULL) == 1 &&
	       EVP_DigestUpdate(h->ctx, h->buf.data, h->buf.len) == 1 &&
	       EVP_DigestFinal_ex(h->ctx, out, &olen) == 1 && olen == CHAIN_HASH_LEN;
}

void chain_hash_with(struct chain_hasher *h, const uint8_t prev[CHAIN_HASH_LEN],
		     const struct chain_fields *f, uint8_t out[CHAIN_HASH_LEN])
{
	if (!h->failed && hasher_run(h, prev, f, out))
		return;
	/* A failed allocation of the buffer may pass; OpenSSL's own failure
	 * would repeat: not asked again. */
	if (!h->md || !h->ctx)
		h->failed = true;
	chain_hash(prev, f, out);
}

void chain_hex(const uint8_t h[CHAIN_HASH_LEN], char out[CHAIN_HEX_SIZE])
{
	numfmt_hex(out, h, CHAIN_HASH_LEN);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool chain_unhex(const char *s, uint8_t out[CHAIN_HASH_LEN])
{
	size_t i;
	int hi, lo;

	if (!s)
		return false;
	for (i = 0; i < CHAIN_HASH_LEN; i++) {
		hi = hexval(s[2 * i]);
		lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2 * CHAIN_HASH_LEN] == '\0';
}

bool chain_is_zero(const uint8_t h[CHAIN_HASH_LEN])
{
	return sodium_is_zero(h, CHAIN_HASH_LEN) == 1;
}

int64_t chain_ts_us(double ts)
{
	char buf[64];
	char *dot, *end;
	size_t n;
	long long sec;
	long frac;
	bool neg;

	/* The digits "%.6f" prints, which is what JSON lines store (numfmt
	 * prints them without the printf family: this runs for every event). */
	n = numfmt_fixed6(buf, ts);
	if (n)
		buf[n] = '\0'; /* numfmt does not end its digits */
	else
		snprintf(buf, sizeof(buf), "%.6f", ts);
	neg = buf[0] == '-';
	sec = strtoll(buf, &dot, 10);
	if (*dot != '.')
		return (int64_t)sec * 1000000;
	frac = strtol(dot + 1, &end, 10);
	return neg ? (int64_t)sec * 1000000 - frac : (int64_t)sec * 1000000 + frac;
}

void chain_digest_init(struct chain_digest *d)
{
	crypto_hash_sha256_init(&d->st);
	d->n = 0;
}

void chain_digest_add(struct chain_digest *d, uint64_t eventid, const uint8_t h[CHAIN_HASH_LEN])
{
	uint8_t id[8];

	imw_store_be32(id, (uint32_t)(eventid >> 32));
	imw_store_be32(id + 4, (uint32_t)eventid);
	crypto_hash_sha256_update(&d->st, id, sizeof(id));
	crypto_hash_sha256_update(&d->st, h, CHAIN_HASH_LEN);
	d->n++;
}

void chain_digest_final(struct chain_digest *d, uint8_t out[CHAIN_HASH_LEN])
{
	crypto_hash_sha256_final(&d->st, out);
}

bool chain_purge_format(struct bytebuf *out, const struct chain_purge *p)
{
	char kd[CHAIN_HEX_SIZE], co[CHAIN_HEX_SIZE];

	chain_hex(p->kept_digest, kd);
	chain_hex(p->cont, co);
	return bytebuf_printf(out,
			      "purge from=%" PRIu64 " to=%" PRIu64 " before=%" PRId64
			      " removed=%" PRIu64 " kept=%" PRIu64 " kept_digest=%s continue=%s hold=%s",
			      p->from, p->to, p->before_us, p->removed, p->kept, kd, co,
			      p->hold ? p->hold : "");
}

/* "key=" at *s: the value's start, *s moved past the value and a space. */
static const char *field(const char **s, const char *key, size_t *len)
{
	size_t k = strlen(key);
	const char *v, *sp;

	if (strncmp(*s, key, k) != 0 || (*s)[k] != '=')
		return NULL;
	v = *s + k + 1;
	sp = strchr(v, ' ');
	*len = sp ? (size_t)(sp - v) : strlen(v);
	*s = sp ? sp + 1 : v + *len;
	return v;
}

static bool number(const char **s, const char *key, bool sign, uint64_t *out)
{
	size_t len;
	const char *v = field(s, key, &len);
	char buf[24], *end;

	if (!v || len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (sign)
		*out = (uint64_t)strtoll(buf, &end, 10);
	else
		*out = strtoull(buf, &end, 10);
	return *end == '\0' && (sign || buf[0] != '-');
}

static bool hash_field(const char **s, const char *key, uint8_t out[CHAIN_HASH_LEN])
{
	size_t len;
	const char *v = field(s, key, &len);
	char buf[CHAIN_HEX_SIZE];

	if (!v || len != CHAIN_HEX_SIZE - 1)
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return chain_unhex(buf, out);
}

bool chain_purge_parse(const char *text, struct chain_purge *p)
{
	const char *s = text;
	uint64_t before;

	if (!s || strncmp(s, "purge ", 6) != 0)
		return false;
	s += 6;
	if (!number(&s, "from", false, &p->from) || !number(&s, "to", false, &p->to) ||
	    !number(&s, "before", true, &before) || !number(&s, "removed", false, &p->removed) ||
	    !number(&s, "kept", false, &p->kept) || !hash_field(&s, "kept_digest", p->kept_digest) ||
	    !hash_field(&s, "continue", p->cont))
		return false;
	p->before_us = (int64_t)before;
	if (strncmp(s, "hold=", 5) != 0)
		return false;
	p->hold = s + 5;
	return p->to >= p->from;
}
