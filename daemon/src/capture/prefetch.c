/* The capture read ahead on a thread of its own (prefetch.h): the reader
 * thread is util/batch_ring.h's producer, the caller its consumer. What
 * is a packet's alone is here: copying its payload into the batch's
 * arena, and the source's end riding on the last batch. */
#include "capture/prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/batch_ring.h"

#define DEFAULT_BATCHES 8
#define DEFAULT_BATCH_PACKETS 128
#define DEFAULT_BATCH_BYTES (64u * 1024)
#define ERR_MAX 1024

/* Per batch, beside its packets (batch->records, struct packet, each
 * payload in the arena or in its own block). */
struct prefetch_mark {
	long long position; /* pcap_source_position when handed over */
	/* The source's end follows the batch's last packet: its result and
	 * text. */
	bool end;
	int end_rc;
	char err[ERR_MAX];
};

struct pcap_prefetch {
	struct batch_ring ring;
	struct prefetch_mark *marks; /* one per batch, by batch->index */
	struct pcap_source *src;
	pthread_t thread;
	/* The caller's own: the batch it reads and its next packet there. */
	struct batch *held;
	size_t next;
	long long position;
};

void pcap_prefetch_config_defaults(struct pcap_prefetch_config *cfg)
{
	cfg->batches = DEFAULT_BATCHES;
	cfg->batch_packets = DEFAULT_BATCH_PACKETS;
	cfg->batch_bytes = DEFAULT_BATCH_BYTES;
}

/* Reader: hand b over, the source's position with it; the next batch to
 * fill, or NULL when the caller stops (the reader ends). */
static struct batch *publish(struct pcap_prefetch *p, struct batch *b)
{
	p->marks[b->index].position = pcap_source_position(p->src);
	if (!batch_ring_publish(&p->ring))
		return NULL;
	return batch_ring_filling(&p->ring);
}

/* Reader: pkt into the batch, its payload copied. false: no memory for
 * a payload larger than what is left of the arena (the caller is told). */
static bool add_packet(struct pcap_prefetch *p, struct batch *b, const struct packet *pkt)
{
	struct packet *slot = (struct packet *)b->records + b->n;

	*slot = *pkt;
	if (pkt->payload_len > batch_ring_room(&p->ring, b)) {
		b->own[b->n] = malloc(pkt->payload_len);
		if (!b->own[b->n])
			return false;
		memcpy(b->own[b->n], pkt->payload, pkt->payload_len);
		slot->payload = b->own[b->n];
	} else if (pkt->payload_len) {
		memcpy(b->mem + b->used, pkt->payload, pkt->payload_len);
		slot->payload = b->mem + b->used;
		b->used += pkt->payload_len;
	}
	b->n++;
	return true;
}

/* Reader: the source's end (rc 0 or -1, its text in the mark) after b's
 * packets, handed over as the last batch. */
static void publish_end(struct pcap_prefetch *p, struct batch *b, int rc)
{
	struct prefetch_mark *m = &p->marks[b->index];

	m->position = pcap_source_position(p->src);
	m->end = true;
	m->end_rc = rc;
	batch_ring_publish_last(&p->ring);
}

static void *reader_main(void *arg)
{
	struct pcap_prefetch *p = arg;
	struct batch *b = batch_ring_filling(&p->ring);
	char *err = p->marks[b->index].err; /* b's: the source's error text */
	struct packet pkt;
	int rc;

	for (;;) {
		rc = pcap_source_next_tcp(p->src, &pkt, err, ERR_MAX);
		if (rc == 1 && pkt.payload_len > batch_ring_room(&p->ring, b) && b->n &&
		    pkt.payload_len <= p->ring.cfg.batch_bytes) {
			/* fits an empty batch: hand this one over first */
			if (!(b = publish(p, b)))
				return NULL;
			err = p->marks[b->index].err;
		}
		if (rc == 1 && !add_packet(p, b, &pkt)) {
			rc = -1;
			snprintf(err, ERR_MAX, "%s: out of memory for a packet of %zu bytes",
				 p->src->path, pkt.payload_len);
		}
		if (rc != 1) {
			publish_end(p, b, rc);
			return NULL;
		}
		if (batch_ring_batch_full(&p->ring, b)) {
			if (!(b = publish(p, b)))
				return NULL;
			err = p->marks[b->index].err;
		}
	}
}

/* Caller: wait for the next batch (there always is one: the reader's
 * last batch carries the end and is never given back). */
static bool take(struct pcap_prefetch *p)
{
	p->held = batch_ring_take(&p->ring);
	if (!p->held)
		return false;
	p->next = 0;
	p->position = p->marks[p->held->index].position;
	return true;
}

/* Caller: the batch read given back for filling. */
static void release(struct pcap_prefetch *p)
{
	p->marks[p->held->index].end = false;
	batch_ring_release(&p->ring, p->held);
	p->held = NULL;
}

int pcap_prefetch_next(struct pcap_prefetch *p, struct packet *pkt, char *err, size_t err_size)
{
	const struct prefetch_mark *m;

	for (;;) {
		if (!p->held && !take(p)) {
			snprintf(err, err_size, "%s: the read-ahead thread ended early",
				 p->src->path);
			return -1;
		}
		if (p->next < p->held->n) {
			*pkt = ((const struct packet *)p->held->records)[p->next++];
			return 1;
		}
		m = &p->marks[p->held->index];
		if (m->end) {
			/* stays held: every later call ends here too */
			if (m->end_rc < 0)
				snprintf(err, err_size, "%s", m->err);
			return m->end_rc;
		}
		release(p);
	}
}

long long pcap_prefetch_position(const struct pcap_prefetch *p)
{
	return p->position;
}

static void prefetch_free(struct pcap_prefetch *p)
{
	batch_ring_destroy(&p->ring);
	free(p->marks);
	free(p);
}

void pcap_prefetch_stop(struct pcap_prefetch *p)
{
	if (!p)
		return;
	batch_ring_abort(&p->ring);
	pthread_join(p->thread, NULL);
	prefetch_free(p);
}

struct pcap_prefetch *pcap_prefetch_start(struct pcap_source *src,
					  const struct pcap_prefetch_config *cfg)
{
	struct batch_ring_config rc = { .batches = cfg->batches,
					.batch_records = cfg->batch_packets,
					.batch_bytes = cfg->batch_bytes };
	struct pcap_prefetch *p;
	int e;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (batch_ring_init(&p->ring, &rc, sizeof(struct packet)) < 0) {
		e = errno; /* EINVAL or ENOMEM */
		free(p);
		errno = e;
		return NULL;
	}
	p->marks = calloc(cfg->batches, sizeof(*p->marks));
	if (!p->marks) {
		prefetch_free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->src = src;
	p->position = pcap_source_position(src);
	e = pthread_create(&p->thread, NULL, reader_main, p);
	if (e) {
		prefetch_free(p);
		errno = e;
		return NULL;
	}
	return p;
}
