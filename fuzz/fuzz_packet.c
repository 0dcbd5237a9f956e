/* Frame parsing on every supported link type and from the IP header on.
 * Byte 0 picks the link type; a parsed packet's payload and header
 * offsets must lie inside the captured bytes, and its endpoints format
 * within their documented size. */
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

#include "packet/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int link_types[] = {
	DLT_EN10MB, DLT_NULL, DLT_LOOP, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_LINUX_SLL,
	DLT_LINUX_SLL2,
};

static void check(const struct packet *pkt, const uint8_t *frame, size_t caplen,
		  enum packet_status st, const char *why)
{
	char ep[64];

	if (st == PACKET_MALFORMED && (!why || !*why))
		abort();
	if (st != PACKET_OK)
		return;
	if (pkt->ip_version != 4 && pkt->ip_version != 6)
		abort();
	if (pkt->payload_len && (pkt->payload < frame || pkt->payload + pkt->payload_len > frame + caplen))
		abort();
	if (pkt->l3_offset > pkt->l4_offset || pkt->l4_offset + pkt->l4_header_len > caplen)
		abort();
	if (packet_format_endpoint(ep, sizeof(ep), pkt->ip_version, pkt->src, pkt->sport) >= sizeof(ep))
		abort();
	(void)packet_format_endpoint(ep, sizeof(ep), pkt->ip_version, pkt->dst, pkt->dport);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct packet pkt;
	const char *why = NULL;
	enum packet_status st;
	uint8_t *frame;
	size_t caplen, wirelen;
	int dlt;

	if (size < 2)
		return 0;
	dlt = link_types[data[0] % (sizeof(link_types) / sizeof(link_types[0]))];
	if (!packet_linktype_supported(dlt) || !packet_linktype_name(dlt))
		abort();
	/* a copy of exactly the captured length, so ASan sees any overread */
	caplen = size - 2;
	wirelen = (data[1] & 0x80) ? caplen + data[1] : caplen;
	frame = malloc(caplen ? caplen : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 2, caplen);
	memset(&pkt, 0, sizeof(pkt));
	st = packet_parse(dlt, frame, caplen, wirelen, &pkt, &why);
	check(&pkt, frame, caplen, st, why);
	memset(&pkt, 0, sizeof(pkt));
	why = NULL;
	st = packet_parse_ip(frame, caplen, wirelen, &pkt, &why);
	check(&pkt, frame, caplen, st, why);
	free(frame);
	return 0;
}
