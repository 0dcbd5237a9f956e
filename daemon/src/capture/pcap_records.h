/* The records of a classic pcap file read straight from the file, for the
 * common case only: libpcap opens the file and checks its header, and
 * takes over again at the first record this reader does not take.
 *
 * Why: on message-heavy captures (one small segment a packet) libpcap's
 * per-record path, two stdio fread calls and its own bookkeeping, was
 * about 480 instructions a record, 5 % of `imwire read` (callgrind,
 * bench/message_bench.sh's capture). Here a record is a bounds check on a
 * large buffer filled by pread.
 *
 * What it takes: a regular, uncompressed file in the byte order of this
 * machine (libpcap does not swap it, so it leaves the packet bytes as they
 * are), magic a1b2c3d4 (microseconds) or a1b23c4d (nanoseconds), version
 * 2.4 (caplen and len never interchanged), and of the records each one
 * whose header and captured bytes are whole and whose caplen is at most
 * the snapshot length libpcap settled on. Everything else, the end of the
 * file included, is left to libpcap from that record's offset, so errors,
 * their messages and odd records are exactly libpcap's. A record gives
 * what pcap_next_ex would: the time stamp as struct timeval (signed 32-bit
 * fields; nanoseconds divided down to microseconds), caplen, len, bytes. */
#ifndef IMW_CAPTURE_PCAP_RECORDS_H
#define IMW_CAPTURE_PCAP_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAP_RECORDS_FILE_HEADER 24u
#define PCAP_RECORDS_HEADER 16u

struct pcap_records {
	int fd;            /* read with pread: its offset is libpcap's too */
	bool big_endian;   /* the file's byte order */
	bool nsec;         /* nanosecond time stamps */
	uint32_t snapshot; /* libpcap's snapshot length for the file */
	uint8_t *buf;
	size_t cap, pos, end; /* buf[pos..end) holds file bytes from off */
	uint64_t off;         /* file offset of buf[pos] */
	bool eof;             /* pread found the end (or failed) */
};

struct pcap_record {
	int64_t sec;
	int64_t usec;
	uint32_t caplen, len;
	const uint8_t *data; /* valid until the next call */
};

/* Whether a file with these first four bytes, version and byte order (as
 * libpcap reports them) is one this reader takes. */
bool pcap_records_suits(const uint8_t magic[4], int major, int minor, bool swapped);

/* Ready to read the records after the file header; false (nothing held)
 * when the buffer cannot be allocated: libpcap reads the file. */
bool pcap_records_init(struct pcap_records *r, int fd, const uint8_t magic[4],
		       uint32_t snapshot);
void pcap_records_free(struct pcap_records *r);

/* The next record: true; false when libpcap must take over at
 * pcap_records_offset (the end of the file, a read error, a record cut
 * short, one longer than the snapshot length or than the buffer). */
bool pcap_records_next(struct pcap_records *r, struct pcap_record *rec);

/* File offset of the next record not yet handed out. */
uint64_t pcap_records_offset(const struct pcap_records *r);

#endif
