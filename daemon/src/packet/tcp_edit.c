#include "packet/tcp_edit.h"

#include <string.h>

#include "imwire/byteorder.h"

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_SACK 5
#define MSS_FLOOR 536

/* The Internet checksum is a ones' complement sum, which does not care in
 * which byte order the words are added as long as the result is swapped
 * back: so add native 32-bit words (a GSO packet's 64 KiB costs a few
 * thousand additions, not 32 thousand), fold, and convert once. */
static uint64_t sum_native(const uint8_t *p, size_t n, uint64_t acc)
{
	uint32_t w;
	uint16_t h;

	while (n >= 4) {
		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = { p[0], 0 };

		memcpy(&h, last, 2);
		acc += h;
	}
	return acc;
}

/* Copy n bytes and add them to the sum as sum_native does (native 32-bit
 * words, the last odd bytes padded), in the same pass. */
static uint64_t copy_sum_native(uint8_t *dst, const uint8_t *src, size_t n, uint64_t acc)
{
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, src, 8);
		memcpy(dst, &w, 8);
		acc += (w & 0xFFFFFFFFu) + (w >> 32);
		src += 8;
		dst += 8;
		n -= 8;
	}
	if (!n) /* src may be NULL for an empty payload: no memcpy of it */
		return acc;
	memcpy(dst, src, n);
	return sum_native(src, n, acc);
}

/* Folded and complemented, as the 16-bit value to store big-endian. */
static uint16_t finish(uint64_t acc)
{
	uint8_t bytes[2];
	uint16_t folded;

	while (acc >> 16)
		acc = (acc & 0xFFFF) + (acc >> 16);
	folded = (uint16_t)~acc;
	memcpy(bytes, &folded, 2); /* native order back to wire order */
	return (uint16_t)(bytes[0] << 8 | bytes[1]);
}

void tcp_edit_fix_checksums(uint8_t *ip, size_t len, uint8_t ip_version, size_t l4_offset)
{
	uint8_t pseudo[8]; /* 32-bit length, 3 zero bytes, protocol */
	size_t l4_len = len - l4_offset;
	uint64_t acc;

	if (ip_version == 4) {
		size_t ihl = (size_t)(ip[0] & 0x0F) * 4;

		imw_store_be16(ip + 10, 0);
		imw_store_be16(ip + 10, finish(sum_native(ip, ihl, 0)));
		acc = sum_native(ip + 12, 8, 0);
	} else {
		acc = sum_native(ip + 8, 32, 0);
	}
	imw_store_be32(pseudo, (uint32_t)l4_len);
	imw_store_be32(pseudo + 4, 6);
	acc = sum_native(pseudo, sizeof(pseudo), acc);
	imw_store_be16(ip + l4_offset + 16, 0);
	imw_store_be16(ip + l4_offset + 16, finish(sum_native(ip + l4_offset, l4_len, acc)));
}

/* Walk TCP options; calls visit for each option with kind, pointer and
 * length. Stops at EOL or at a malformed length. */
static void map_sack_options(uint8_t *opt, size_t n, tcp_sack_map_fn map, void *arg)
{
	size_t i = 0, len, j;

	while (i < n) {
		uint8_t kind = opt[i];

		if (kind == TCPOPT_EOL)
			return;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			return;
		len = opt[i + 1];
		if (len < 2 || i + len > n)
			return;
		if (kind == TCPOPT_SACK && (len - 2) % 8 == 0) {
			for (j = i + 2; j + 8 <= i + len; j += 8) {
				uint32_t l = imw_load_be32(opt + j), r = imw_load_be32(opt + j + 4);
				uint32_t nl = map(arg, l, true), nr = map(arg, r, false);

				/* A block that maps to nothing claims nothing. */
				if ((int32_t)(nr - nl) <= 0)
					nl = nr;
				imw_store_be32(opt + j, nl);
				imw_store_be32(opt + j + 4, nr);
			}
		}
		i += len;
	}
}

size_t tcp_edit_build_len(const struct packet *pkt, size_t payload_len)
{
	size_t hdr = pkt->l4_offset + pkt->l4_header_len;

	if (payload_len > 0xFFFF + (pkt->ip_version == 6 ? 40u : 0u) - hdr)
		return 0;
	return hdr + payload_len;
}

void tcp_edit_build_at(uint8_t *p, const uint8_t *ip, const struct packet *pkt, uint32_t seq,
		       uint32_t ack, tcp_sack_map_fn map_sack, void *sack_arg,
		       const uint8_t *payload, size_t payload_len)
{
	size_t hdr = pkt->l4_offset + pkt->l4_header_len, total = hdr + payload_len;
	uint8_t pseudo[8]; /* 32-bit TCP length, 3 zero bytes, protocol */
	uint8_t *tcp = p + pkt->l4_offset;
	uint64_t acc;

	memcpy(p, ip, hdr);
	if (pkt->ip_version == 4)
		imw_store_be16(p + 2, (uint16_t)total);
	else
		imw_store_be16(p + 4, (uint16_t)(total - 40));
	imw_store_be32(tcp + 4, seq);
	imw_store_be32(tcp + 8, ack);
	if (map_sack && pkt->l4_header_len > 20)
		map_sack_options(tcp + 20, pkt->l4_header_len - 20, map_sack, sack_arg);
	/* The header's words start at an even offset of the TCP segment (its
	 * length is a multiple of 4), so the payload's sum adds as it is. */
	acc = copy_sum_native(p + hdr, payload, payload_len, 0);
	if (pkt->ip_version == 4) {
		size_t ihl = (size_t)(p[0] & 0x0F) * 4;

		imw_store_be16(p + 10, 0);
		imw_store_be16(p + 10, finish(sum_native(p, ihl, 0)));
		acc = sum_native(p + 12, 8, acc);
	} else {
		acc = sum_native(p + 8, 32, acc);
	}
	imw_store_be32(pseudo, (uint32_t)(total - pkt->l4_offset));
	imw_store_be32(pseudo + 4, 6);
	acc = sum_native(pseudo, sizeof(pseudo), acc);
	imw_store_be16(tcp + 16, 0);
	imw_store_be16(tcp + 16, finish(sum_native(tcp, pkt->l4_header_len, acc)));
}

int tcp_edit_build(const uint8_t *ip, const struct packet *pkt, uint32_t seq, uint32_t ack,
		   tcp_sack_map_fn map_sack, void *sack_arg, const uint8_t *payload,
		   size_t payload_len, struct bytebuf *out)
{
	size_t total = tcp_edit_build_len(pkt, payload_len);

	if (!total)
		return -1;
	bytebuf_clear(out);
	if (!bytebuf_reserve(out, total))
		return -1;
	tcp_edit_build_at(out->data, ip, pkt, seq, ack, map_sack, sack_arg, payload, payload_len);
	out->len = total;
	return 0;
}

uint16_t tcp_edit_clamp_mss(uint8_t *ip, const struct packet *pkt, uint16_t headroom,
			    bool *changed)
{
	uint8_t *opt = ip + pkt->l4_offset + 20;
	size_t n = pkt->l4_header_len - 20, i = 0, len;
	uint16_t mss, clamped;

	*changed = false;
	while (i < n) {
		if (opt[i] == TCPOPT_EOL)
			break;
		if (opt[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			break;
		len = opt[i + 1];
		if (len < 2 || i + len > n)
			break;
		if (opt[i] == TCPOPT_MSS && len == 4) {
			mss = imw_load_be16(opt + i + 2);
			clamped = mss > headroom + MSS_FLOOR ? (uint16_t)(mss - headroom) : mss;
			if (clamped != mss) {
				imw_store_be16(opt + i + 2, clamped);
				*changed = true;
			}
			return mss;
		}
		i += len;
	}
	return 0;
}
