#include "test_packet.h"

#include <string.h>

#include "imwire/byteorder.h"
#include "packet/tcp_edit.h"

size_t test_tcp4_build(uint8_t *p, const struct test_tcp4 *t)
{
	size_t total = 40 + t->options_len + t->payload_len;

	memset(p, 0, 40);
	p[0] = 0x45;
	imw_store_be16(p + 2, (uint16_t)total);
	p[8] = 64;
	p[9] = 6;
	p[12] = 10, p[15] = t->src;
	p[16] = 10, p[19] = t->dst;
	imw_store_be16(p + 20, t->sport);
	imw_store_be16(p + 22, t->dport);
	imw_store_be32(p + 24, t->seq);
	imw_store_be32(p + 28, t->ack);
	p[32] = (uint8_t)((5 + t->options_len / 4) << 4);
	p[33] = t->flags;
	imw_store_be16(p + 34, 65535);
	if (t->options_len)
		memcpy(p + 40, t->options, t->options_len);
	if (t->payload_len)
		memcpy(p + 40 + t->options_len, t->payload, t->payload_len);
	tcp_edit_fix_checksums(p, total, 4, 20);
	return total;
}

void test_mss_option(uint8_t opt[4], uint16_t mss)
{
	opt[0] = 2;
	opt[1] = 4;
	imw_store_be16(opt + 2, mss);
}
