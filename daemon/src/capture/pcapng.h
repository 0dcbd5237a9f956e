/* pcapng, read block by block with a bounded cursor, each packet with the
 * link type of the interface it was captured on.
 *
 * Why not libpcap: a capture merged from several (mergecap of an Ethernet
 * capture and a Linux cooked one) has one Interface Description Block per
 * interface, with different link types. libpcap (1.10, Debian 12) keeps
 * one link type per file: it refuses such a file at the first packet of
 * the second interface ("an interface has a type ... different from the
 * type of the first interface"), and pcap_next_ex never says which
 * interface a packet came from. Splitting the file by interface first
 * (editcap, tshark) would need those tools at run time and would feed the
 * two halves of one flow, captured on two interfaces, out of time order.
 *
 * Blocks read: Section Header (either byte order, several sections),
 * Interface Description (link type, snap length, if_tsresol, if_tsoffset),
 * Enhanced Packet, Simple Packet and the obsolete Packet block; every
 * other block is skipped by its length. Every length is checked against
 * the block it lies in and blocks are bounded in size. */
#ifndef IMW_CAPTURE_PCAPNG_H
#define IMW_CAPTURE_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/input.h"

#define PCAPNG_MAGIC 0x0A0D0D0Au

struct pcapng_iface {
	int dlt;               /* libpcap's DLT_ value for its link type; -1: unreadable IDB */
	uint32_t snaplen;
	uint64_t ticks_per_sec; /* from if_tsresol: 10^6 unless said */
	int64_t ts_offset;     /* if_tsoffset, seconds */
};

struct pcapng_reader {
	struct capture_input *in;
	bool big_endian; /* this section's byte order */
	bool in_section;
	struct pcapng_iface *ifaces; /* of the current section */
	size_t n_ifaces;
	uint8_t *block; /* the block being read */
	size_t block_cap;
	uint64_t offset; /* of the next block in the (decompressed) file */
	double last_ts;  /* Simple Packet Blocks carry no time of their own */
	/* Blocks whose length was right but whose content was not: skipped
	 * (a packet), or an interface whose packets all are (dlt -1). */
	uint64_t bad_blocks;
	const char *first_bad_block; /* static reason */
	uint64_t first_bad_block_at; /* its byte offset */
};

struct pcapng_packet {
	double ts;
	int dlt;
	uint32_t interface;
	const uint8_t *data; /* into the reader's block: valid until the next call */
	size_t caplen;
	size_t len;
};

void pcapng_reader_init(struct pcapng_reader *r, struct capture_input *in);
void pcapng_reader_free(struct pcapng_reader *r);

/* The next packet: 1, 0 at the end of the file, -1 with "reason at byte
 * N" in err (a truncated or malformed block: nothing after it can be
 * trusted to be where it says). */
int pcapng_next(struct pcapng_reader *r, struct pcapng_packet *pkt, char *err, size_t err_size);

#endif
