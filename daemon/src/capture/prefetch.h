/* A capture read ahead on a thread of its own: the offline reader's first
 * stage (reading records from the file and parsing their headers, about
 * a tenth of its decoding thread's time on message-heavy traffic) off
 * the thread that decodes.
 *
 * The reader thread calls pcap_source_next_tcp and copies each packet
 * (the struct and its payload) into a batch; full batches are handed
 * over whole, through a bounded ring (util/batch_ring.h: a lock per
 * batch, a sleeping side woken when half the ring is ready for it, or at
 * the end). The caller
 * takes the packets in the order the source gave them, then the source's
 * own end: 0, or -1 with its error text, exactly where
 * pcap_source_next_tcp would have said it.
 *
 * The source belongs to the reader thread from pcap_prefetch_start until
 * pcap_prefetch_stop returns: only then may the caller read its stats or
 * close it. */
#ifndef IMW_CAPTURE_PREFETCH_H
#define IMW_CAPTURE_PREFETCH_H

#include <stddef.h>

#include "capture/pcap_source.h"

struct pcap_prefetch_config {
	size_t batches;       /* at least 2 */
	size_t batch_packets; /* at least 1 */
	size_t batch_bytes;   /* of payload a batch holds; a larger payload
			       * travels in a block of its own */
};

/* 8 batches of 128 packets and 64 KiB of payload (about 0.6 MiB). */
void pcap_prefetch_config_defaults(struct pcap_prefetch_config *cfg);

struct pcap_prefetch;

/* The reader thread started on src (opened, nothing read from it yet or
 * some: it goes on from there). NULL with errno (EINVAL, ENOMEM or
 * pthread_create's): nothing to free, src untouched; read it directly. */
struct pcap_prefetch *pcap_prefetch_start(struct pcap_source *src,
					  const struct pcap_prefetch_config *cfg);

/* pcap_source_next_tcp's contract: 1 with the next TCP packet in pkt
 * (its payload valid until the next call), 0 at the end, -1 with the
 * source's error text in err; once 0 or -1, every further call says the
 * same. Also -1 (ENOMEM in err) when the reader thread found no memory
 * for a payload larger than a batch. */
int pcap_prefetch_next(struct pcap_prefetch *p, struct packet *pkt, char *err, size_t err_size);

/* Where the reader stood when it handed over the batch being read (for
 * progress): pcap_source_position's value then. */
long long pcap_prefetch_position(const struct pcap_prefetch *p);

/* End the reader thread (at once, even before the end of the capture)
 * and free everything; the source is the caller's again. NULL: no-op. */
void pcap_prefetch_stop(struct pcap_prefetch *p);

#endif
