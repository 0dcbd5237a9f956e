/* Reading packets from pcap and pcapng files through libpcap. */
#ifndef IMW_PCAP_SOURCE_H
#define IMW_PCAP_SOURCE_H

#include <stdint.h>
#include <stdio.h>

#include "packet/packet.h"

struct pcap_source_stats {
	uint64_t packets;
	uint64_t not_ip;
	uint64_t not_tcp;
	uint64_t fragments;
	uint64_t malformed;
	uint64_t first_malformed_packet; /* 1-based packet number */
	const char *first_malformed_reason;
};

struct pcap_source {
	void *handle; /* pcap_t */
	char *path;
	int dlt;
	long long size; /* file size in bytes, -1 if unknown */
	struct pcap_source_stats stats;
};

/* 0, or -1 with a one-line reason in err (file not found, not a capture,
 * unsupported link type). */
int pcap_source_open(struct pcap_source *src, const char *path, char *err, size_t err_size);
void pcap_source_close(struct pcap_source *src);

/* The next TCP packet: 1, 0 at the end, -1 on a read error (truncated
 * record) with the reason in err. Non-TCP and malformed frames are
 * counted and skipped. */
int pcap_source_next_tcp(struct pcap_source *src, struct packet *pkt, char *err, size_t err_size);

/* Bytes of the file read so far, for progress; -1 if unknown. */
long long pcap_source_position(const struct pcap_source *src);

#endif
