/* YMSG packets: the 20-byte header, the key/value pairs checked as far
 * as the bytes go (so a wrong length is caught before it swallows the
 * next packet), and lookups of pairs by key. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imwire/signatures.h"
#include "proto/ymsg/ymsg_internal.h"
#include "util/cursor.h"
#include "util/text.h"

static void header_read(const uint8_t *p, struct ymsg_header *h)
{
	struct cursor c;

	cursor_init(&c, p + 4, YMSG_HEADER_LEN - 4);
	cursor_be16(&c, &h->version);
	cursor_be16(&c, &h->vendor);
	cursor_be16(&c, &h->length);
	cursor_be16(&c, &h->service);
	cursor_be32(&c, &h->status);
	cursor_be32(&c, &h->session);
}

static bool is_separator(const uint8_t *p, size_t i, size_t n)
{
	return i + 1 < n && p[i] == 0xC0 && p[i + 1] == 0x80;
}

/* Check the pairs of a payload of `total` bytes of which `avail` are here.
 * BAD as soon as a key is not a short decimal number, or (when the whole
 * payload is here) when it does not end right after a value. */
static enum ymsg_scan pairs_check(const uint8_t *p, size_t avail, size_t total)
{
	size_t i = 0, key_len = 0;
	bool in_key = true;
	size_t n = avail < total ? avail : total;

	while (i < n) {
		if (p[i] == 0xC0 && i + 1 == n && n < total)
			return YMSG_SCAN_SHORT;
		if (is_separator(p, i, n)) {
			if (in_key && key_len == 0)
				return YMSG_SCAN_BAD;
			in_key = !in_key;
			key_len = 0;
			i += 2;
			continue;
		}
		if (in_key) {
			if (p[i] < '0' || p[i] > '9' || ++key_len > YMSG_MAX_KEY_DIGITS)
				return YMSG_SCAN_BAD;
		}
		i++;
	}
	if (avail < total)
		return YMSG_SCAN_SHORT;
	return in_key && key_len == 0 ? YMSG_SCAN_OK : YMSG_SCAN_BAD;
}

enum ymsg_scan ymsg_scan_packet(const uint8_t *data, size_t len, size_t *pdu_len)
{
	struct ymsg_header h;
	enum ymsg_scan r;

	if (len < 4)
		return memcmp(data, "YMSG", len) == 0 ? YMSG_SCAN_SHORT : YMSG_SCAN_BAD;
	if (memcmp(data, "YMSG", 4) != 0)
		return YMSG_SCAN_BAD;
	if (len < 12)
		return len > 4 && data[4] != 0 ? YMSG_SCAN_BAD : YMSG_SCAN_SHORT;
	if (!imw_sig_ymsg(data, len))
		return YMSG_SCAN_BAD;
	if (len < YMSG_HEADER_LEN)
		return YMSG_SCAN_SHORT;
	header_read(data, &h);
	r = pairs_check(data + YMSG_HEADER_LEN, len - YMSG_HEADER_LEN, h.length);
	if (r == YMSG_SCAN_OK)
		*pdu_len = YMSG_HEADER_LEN + h.length;
	return r;
}

int ymsg_packet_parse(const uint8_t *pdu, size_t len, struct ymsg_packet *pk)
{
	size_t pdu_len = 0, i, n_sep = 0, start;

	memset(pk, 0, sizeof(*pk));
	if (ymsg_scan_packet(pdu, len, &pdu_len) != YMSG_SCAN_OK || pdu_len != len)
		return -1;
	header_read(pdu, &pk->h);
	pk->pdu = pdu;
	for (i = YMSG_HEADER_LEN; i < len; i++)
		if (is_separator(pdu, i, len)) {
			n_sep++;
			i++;
		}
	if (n_sep == 0)
		return 0;
	pk->pairs = calloc(n_sep / 2, sizeof(*pk->pairs));
	if (!pk->pairs)
		return -1;
	start = YMSG_HEADER_LEN;
	while (start < len) {
		struct ymsg_pair *pr = &pk->pairs[pk->n_pairs];
		unsigned key = 0;

		for (i = start; !is_separator(pdu, i, len); i++)
			key = key * 10 + (unsigned)(pdu[i] - '0');
		pr->key = key;
		pr->off = i + 2;
		for (i = pr->off; !is_separator(pdu, i, len); i++)
			;
		pr->len = i - pr->off;
		start = i + 2;
		pk->n_pairs++;
	}
	return 0;
}

void ymsg_packet_free(struct ymsg_packet *pk)
{
	free(pk->pairs);
	pk->pairs = NULL;
}

const struct ymsg_pair *ymsg_pair_nth(const struct ymsg_packet *pk, unsigned key, size_t nth)
{
	size_t i;

	for (i = 0; i < pk->n_pairs; i++)
		if (pk->pairs[i].key == key && nth-- == 0)
			return &pk->pairs[i];
	return NULL;
}

const struct ymsg_pair *ymsg_pair_get(const struct ymsg_packet *pk, unsigned key)
{
	return ymsg_pair_nth(pk, key, 0);
}

bool ymsg_pair_is(const struct ymsg_packet *pk, const struct ymsg_pair *pr, const char *lit)
{
	return pr && pr->len == strlen(lit) && memcmp(pk->pdu + pr->off, lit, pr->len) == 0;
}

char *ymsg_pair_text(const struct ymsg_packet *pk, const struct ymsg_pair *pr)
{
	if (!pr)
		return text_dup("", 0);
	return text_utf8_or_latin1(pk->pdu + pr->off, pr->len);
}

bool ymsg_pair_number(const struct ymsg_packet *pk, const struct ymsg_pair *pr, uint64_t *v)
{
	size_t i;

	if (!pr || pr->len == 0 || pr->len > 19)
		return false;
	*v = 0;
	for (i = 0; i < pr->len; i++) {
		uint8_t c = pk->pdu[pr->off + i];

		if (c < '0' || c > '9')
			return false;
		*v = *v * 10 + (uint64_t)(c - '0');
	}
	return true;
}

bool ymsg_pair_is_local(struct proto_session *s, const struct ymsg_packet *pk,
			const struct ymsg_pair *pr)
{
	return pr && s->local_id && strlen(s->local_id) == pr->len &&
	       strncasecmp(s->local_id, (const char *)pk->pdu + pr->off, pr->len) == 0;
}
