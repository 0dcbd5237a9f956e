/* IPv4/TCP packets for tests of the inline engine (linked into unit tests
 * and fuzz targets only): 10.0.0.src -> 10.0.0.dst, TTL 64, window 65535,
 * checksums right. options must be a multiple of 4 bytes. */
#ifndef IMW_TEST_PACKET_H
#define IMW_TEST_PACKET_H

#include <stddef.h>
#include <stdint.h>

struct test_tcp4 {
	uint8_t src;
	uint8_t dst;
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	const uint8_t *options;
	size_t options_len;
	const void *payload;
	size_t payload_len;
};

/* The packet into p (room for 40 + options + payload bytes); its length. */
size_t test_tcp4_build(uint8_t *p, const struct test_tcp4 *t);

/* The 4 bytes of an MSS option. */
void test_mss_option(uint8_t opt[4], uint16_t mss);

#endif
