/* Deterministic pcap writer for test captures: TCP sessions over IPv4 or
 * IPv6, on Ethernet (optionally 802.1Q-tagged) or raw IP, with correct
 * sequence numbers and checksums, and the faults a reassembler must
 * survive (reordering, duplicates, holes, sequence wrap, mid-stream
 * pick-up). Timestamps are a base time plus a fixed step per packet, so
 * the same program always writes the same bytes.
 *
 * Typical use:
 *	struct pcapgen *g = pcapgen_open("x.pcap", PCAPGEN_LINK_ETHERNET);
 *	struct pcapgen_tcp t;
 *	pcapgen_tcp_open(&t, g, "192.0.2.10", 40001, "198.51.100.5", 11319, NULL);
 *	pcapgen_tcp_handshake(&t);
 *	pcapgen_tcp_send(&t, PCAPGEN_TO_SERVER, data, len, NULL);
 *	pcapgen_tcp_close(&t, PCAPGEN_TO_SERVER);
 *	pcapgen_close(g);
 *
 * Every function returns 0 or -1 (with a message on stderr); a failed
 * write is latched and reported again by pcapgen_close. */
#ifndef IMW_TESTS_PCAPGEN_H
#define IMW_TESTS_PCAPGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pcapgen_link {
	PCAPGEN_LINK_ETHERNET, /* DLT_EN10MB */
	PCAPGEN_LINK_RAW,      /* DLT_RAW: packets start with the IP header */
};

enum pcapgen_dir {
	PCAPGEN_TO_SERVER = 0, /* from the client: imwire's "out" */
	PCAPGEN_TO_CLIENT = 1,
};

/* Default clock: 2003-05-01 12:00:00 UTC, one millisecond per packet. */
#define PCAPGEN_DEFAULT_BASE_SEC 1051790400u
#define PCAPGEN_DEFAULT_STEP_USEC 1000u

struct pcapgen;

struct pcapgen *pcapgen_open(const char *path, enum pcapgen_link link);
/* Flush and close; -1 if any write failed. Frees g in any case. */
int pcapgen_close(struct pcapgen *g);

/* Clock control: the next packet is stamped base + step, and so on. */
void pcapgen_set_clock(struct pcapgen *g, uint64_t base_sec, uint32_t step_usec);
/* Let time pass (keep-alive intervals, a pause between sessions). */
void pcapgen_advance(struct pcapgen *g, uint64_t usec);

/* Write one link-layer frame as it is (for hand-made packets). */
int pcapgen_write_frame(struct pcapgen *g, const uint8_t *frame, size_t len);

struct pcapgen_tcp_opts {
	uint32_t client_isn; /* 0: a fixed default */
	uint32_t server_isn;
	uint16_t mss;        /* segment size for unsplit sends and the SYN option; 0: 1460 */
	uint16_t window;     /* 0: 65535 */
	bool vlan;           /* Ethernet only: add an 802.1Q tag */
	uint16_t vlan_id;
	bool no_auto_ack;    /* do not answer data with a pure ACK */
};

/* One TCP connection. Fields are private to pcapgen.c but public so a
 * session can live on the stack. */
struct pcapgen_tcp {
	struct pcapgen *g;
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[2][16]; /* [PCAPGEN_TO_SERVER] is the client's address */
	uint16_t port[2];
	uint32_t next_seq[2]; /* next sequence number each side sends */
	uint32_t rcv_next[2]; /* what each side has received in order, as it would ack */
	uint16_t ip_id[2];
	uint16_t mss;
	uint16_t window;
	bool vlan;
	uint16_t vlan_id;
	bool no_auto_ack;
};

/* Set a connection up (nothing is written yet). Addresses are numeric
 * IPv4 or IPv6 strings, both of the same family. */
int pcapgen_tcp_open(struct pcapgen_tcp *t, struct pcapgen *g, const char *client_ip,
		     uint16_t client_port, const char *server_ip, uint16_t server_port,
		     const struct pcapgen_tcp_opts *opts);

/* SYN, SYN-ACK (with MSS option), ACK. Skip it to start mid-stream. */
int pcapgen_tcp_handshake(struct pcapgen_tcp *t);

/* How one send is cut into segments and which faults hit them. Segment
 * numbers count from 0; faults apply to the first 32 segments. */
struct pcapgen_send {
	const size_t *split; /* segment sizes; what is left goes in further mss-sized segments */
	size_t n_split;
	uint32_t swap_mask;  /* bit i: segment i is written after segment i + 1 */
	uint32_t dup_mask;   /* bit i: segment i is written twice in a row */
	uint32_t drop_mask;  /* bit i: segment i is never written (a hole) */
};

/* Send data from one side, then (unless no_auto_ack) a pure ACK from the
 * other side for what it received in order. send may be NULL. */
int pcapgen_tcp_send(struct pcapgen_tcp *t, enum pcapgen_dir dir, const void *data, size_t len,
		     const struct pcapgen_send *send);
int pcapgen_tcp_send_str(struct pcapgen_tcp *t, enum pcapgen_dir dir, const char *s);

/* A segment exactly as given: sequence number relative to the side's next
 * sequence number, TCP flags (PCAPGEN_*), payload. State is not advanced:
 * for retransmissions, stray segments and other hand-made cases. */
#define PCAPGEN_FIN 0x01
#define PCAPGEN_SYN 0x02
#define PCAPGEN_RST 0x04
#define PCAPGEN_PSH 0x08
#define PCAPGEN_ACK 0x10
int pcapgen_tcp_segment(struct pcapgen_tcp *t, enum pcapgen_dir dir, int64_t seq_delta,
			uint8_t flags, const void *data, size_t len);

/* Pure ACK from one side for everything it has received in order. */
int pcapgen_tcp_ack(struct pcapgen_tcp *t, enum pcapgen_dir dir);

/* FIN from `first`, FIN-ACK from the other side, final ACK. */
int pcapgen_tcp_close(struct pcapgen_tcp *t, enum pcapgen_dir first);
/* RST from one side. */
int pcapgen_tcp_reset(struct pcapgen_tcp *t, enum pcapgen_dir dir);

#endif
