/* Reading packets from capture files: pcap through libpcap, pcapng
 * through our own block reader (capture/pcapng.h: a file merged from
 * captures of different link types), either of them gzip-compressed or
 * on standard input (capture/input.h). */
#ifndef IMW_PCAP_SOURCE_H
#define IMW_PCAP_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/input.h"
#include "capture/pcap_records.h"
#include "capture/pcapng.h"
#include "packet/packet.h"

struct pcap_source_stats {
	uint64_t packets;
	uint64_t not_ip;
	uint64_t not_tcp;
	uint64_t fragments;
	uint64_t malformed;
	uint64_t first_malformed_packet; /* 1-based packet number */
	const char *first_malformed_reason;
	/* pcapng: packets of an interface whose link type imwire does not read */
	uint64_t unsupported_link;
	int first_unsupported_dlt;
};

struct pcap_source {
	void *handle; /* pcap_t, for a pcap file */
	/* A plain pcap file's records, read by us until libpcap takes over. */
	bool fast;
	struct pcap_records records;
	struct capture_input input;
	bool pcapng;
	struct pcapng_reader ng;
	char *path; /* as given; "-" is standard input */
	int dlt;    /* a pcap file's link type; pcapng has one per interface */
	long long size; /* file size in bytes, -1 if unknown (a pipe) */
	struct pcap_source_stats stats;
};

/* 0, or -1 with a one-line reason in err (file not found, not a capture,
 * a damaged gzip stream, unsupported link type). path "-": standard
 * input. */
int pcap_source_open(struct pcap_source *src, const char *path, char *err, size_t err_size);
void pcap_source_close(struct pcap_source *src);

/* The next TCP packet: 1, 0 at the end, -1 on a read error (truncated
 * record, damaged block) with the reason in err. Non-TCP and malformed
 * frames are counted and skipped. */
int pcap_source_next_tcp(struct pcap_source *src, struct packet *pkt, char *err, size_t err_size);

/* Bytes of the file read so far (compressed bytes for a gzip file), for
 * progress; -1 if unknown. */
long long pcap_source_position(const struct pcap_source *src);

#endif
