/* Builds the large capture bench/read_bench.sh reads: the given captures
 * repeated with fresh addresses until the output reaches a size, as one
 * Ethernet pcap. Copy k XORs the last two bytes of every IPv4 address (the
 * last two of every IPv6 address) with k, so each copy's connections are
 * new 5-tuples with the same ports, and shifts time so copies follow each
 * other. Only TCP packets are kept; checksums are recomputed.
 *
 * Usage: make_capture OUT.pcap MEGABYTES CAPTURE... */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "packet/packet.h"
#include "packet/tcp_edit.h"

#define MAX_FRAME 65536

struct writer {
	pcap_dumper_t *dump;
	double clock;      /* where the next capture starts */
	uint64_t bytes;
	uint64_t packets;
};

static void fresh_addresses(uint8_t *ip, uint8_t version, unsigned k)
{
	uint8_t hi = (uint8_t)(k >> 8), lo = (uint8_t)k;

	if (version == 4) {
		ip[14] ^= hi, ip[15] ^= lo; /* source */
		ip[18] ^= hi, ip[19] ^= lo; /* destination */
	} else {
		ip[22] ^= hi, ip[23] ^= lo;
		ip[38] ^= hi, ip[39] ^= lo;
	}
}

/* One capture, copy k; returns its duration, -1 on a read error. */
static double copy_capture(struct writer *w, const char *path, unsigned k)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, errbuf);
	struct pcap_pkthdr *h;
	const u_char *bytes;
	static uint8_t frame[14 + MAX_FRAME];
	double first = -1, last = 0;
	int dlt, rc;

	if (!p) {
		fprintf(stderr, "make_capture: %s\n", errbuf);
		return -1;
	}
	dlt = pcap_datalink(p);
	while ((rc = pcap_next_ex(p, &h, &bytes)) == 1) {
		struct packet pkt;
		struct pcap_pkthdr out;
		const char *why;
		double ts = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
		size_t ip_len, wire_ip_len;

		if (packet_parse(dlt, bytes, h->caplen, h->len, &pkt, &why) != PACKET_OK)
			continue;
		ip_len = h->caplen - pkt.l3_offset;
		wire_ip_len = h->len - pkt.l3_offset;
		if (ip_len > MAX_FRAME)
			continue;
		if (first < 0)
			first = ts;
		last = ts;
		memset(frame, 0, 12);
		frame[5] = 1, frame[11] = 2;
		imw_store_be16(frame + 12, pkt.ip_version == 4 ? 0x0800 : 0x86DD);
		memcpy(frame + 14, bytes + pkt.l3_offset, ip_len);
		fresh_addresses(frame + 14, pkt.ip_version, k);
		if (ip_len == wire_ip_len)
			tcp_edit_fix_checksums(frame + 14, ip_len, pkt.ip_version, pkt.l4_offset - pkt.l3_offset);
		ts = w->clock + (ts - first);
		out.ts.tv_sec = (time_t)ts;
		out.ts.tv_usec = (suseconds_t)((ts - (double)out.ts.tv_sec) * 1e6);
		out.caplen = (bpf_u_int32)(14 + ip_len);
		out.len = (bpf_u_int32)(14 + wire_ip_len);
		pcap_dump((u_char *)w->dump, &out, frame);
		w->bytes += 16 + out.caplen;
		w->packets++;
	}
	pcap_close(p);
	if (rc == -1)
		return -1;
	return first < 0 ? 0 : last - first;
}

int main(int argc, char **argv)
{
	struct writer w = { NULL, 1262304000.0, 24, 0 };
	pcap_t *dead;
	uint64_t target;
	unsigned k;
	int i;

	if (argc < 4) {
		fprintf(stderr, "usage: %s OUT.pcap MEGABYTES CAPTURE...\n", argv[0]);
		return 2;
	}
	target = strtoull(argv[2], NULL, 10) * 1024 * 1024;
	dead = pcap_open_dead(DLT_EN10MB, MAX_FRAME + 14);
	if (!dead || !(w.dump = pcap_dump_open(dead, argv[1]))) {
		fprintf(stderr, "make_capture: %s: %s\n", argv[1], dead ? pcap_geterr(dead) : "?");
		return 1;
	}
	for (k = 0; w.bytes < target && k < 65536; k++) {
		uint64_t before = w.bytes;

		for (i = 3; i < argc; i++) {
			double d = copy_capture(&w, argv[i], k);

			if (d < 0)
				return 1;
			w.clock += d + 1.0;
		}
		if (w.bytes == before) {
			fprintf(stderr, "make_capture: no TCP packets in the inputs\n");
			return 1;
		}
	}
	pcap_dump_close(w.dump);
	pcap_close(dead);
	printf("%s: %u copies, %llu packets, %llu bytes\n", argv[1], k,
	       (unsigned long long)w.packets, (unsigned long long)w.bytes);
	return 0;
}
