/* NFQUEUE I/O through libmnl and libnetfilter_queue: one queue, copy-
 * packet mode with GSO super-packets, a large receive buffer, and verdicts
 * sent in order, batched where that is safe. It knows packets and
 * verdicts (packet/verdict.h), nothing of what decides them.
 *
 * A packet the kernel cannot queue to us (the queue is full, or our
 * socket's buffer: ENOBUFS) is dropped, so its sender resends it, unless
 * the queue is opened fail-open: then it goes on unseen. */
#ifndef IMW_NFQ_H
#define IMW_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet/verdict.h"

struct nfqueue_stats {
	uint64_t received;
	uint64_t verdicts;       /* verdict messages sent (a batch counts once) */
	uint64_t batch_verdicts;
	uint64_t truncated;      /* longer than the copy range: cannot be rewritten */
	uint64_t enobufs;        /* the kernel dropped queue messages: we were too slow */
	uint64_t receive_errors;
	uint64_t send_errors;
};

/* A verdict whose packet is sent from the caller's bytes: its headers
 * are tx[off, off + hdr_len), the packet follows by an iovec. */
struct nfqueue_tx_payload {
	size_t off;
	size_t hdr_len;
	const uint8_t *bytes;
	size_t len;
};

struct nfqueue {
	struct mnl_socket *nl;
	uint16_t num;
	bool fail_open;
	unsigned portid;
	char *rx;
	size_t rx_size;
	char *tx;
	size_t tx_size;
	size_t tx_len;
	/* The packets of the batch in tx, gathered by sendmsg rather than
	 * copied into tx (valid until the batch is flushed). */
	struct nfqueue_tx_payload *payloads;
	size_t n_payloads;
	size_t payload_bytes;
	/* nfqueue_send_verdicts' scratch (kept: one allocation per burst
	 * would be one per wake-up). */
	uint32_t *suffix_min;
	size_t suffix_cap;
	struct nfqueue_stats stats;
};

/* Link-layer facts of a queued packet, for originating packets on the
 * same path (egress/): which ports it came in and goes out by, and the
 * source MAC of its frame. */
struct nfqueue_meta {
	uint32_t indev, outdev;         /* NFQA_IFINDEX_INDEV / OUTDEV, 0 when absent */
	uint32_t physindev, physoutdev; /* bridge ports (br_netfilter), 0 when absent */
	uint8_t hwaddr[8];              /* NFQA_HWADDR: the frame's source MAC */
	uint16_t hwaddr_len;            /* 0 when absent */
};

typedef void (*nfqueue_packet_fn)(void *arg, uint32_t id, const uint8_t *ip, size_t len, bool gso,
				  const struct nfqueue_meta *meta);

/* Bind queue `num` (at most max_len packets waiting; fail_open: see
 * above). Returns 0, or -1 with a reason in err. */
int nfqueue_open(struct nfqueue *q, uint16_t num, uint32_t max_len, bool fail_open, char *err,
		 size_t err_size);
void nfqueue_close(struct nfqueue *q);
int nfqueue_fd(const struct nfqueue *q);

/* Read every message waiting (non-blocking) and hand each packet to fn.
 * Returns the number of packets, or -1 on a fatal socket error. */
int nfqueue_receive(struct nfqueue *q, nfqueue_packet_fn fn, void *arg);

/* Send n verdicts in order (new packet bytes of modified ones in bytes).
 * Runs of plain accepts become one batch verdict when no packet below the
 * run's last id is still waiting (held by the caller: have_held and
 * lowest_held, or later in v). */
int nfqueue_send_verdicts(struct nfqueue *q, const struct verdict *v, size_t n,
			  const uint8_t *bytes, bool have_held, uint32_t lowest_held);

#endif
