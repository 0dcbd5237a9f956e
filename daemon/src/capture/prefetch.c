/* The capture read ahead on a thread of its own (prefetch.h). One mutex,
 * two condition variables, the batch being filled the reader's alone, the
 * ready ones the caller's; the same shape as pipeline/event_ring.c, the
 * other way round (here the thread produces). */
#include "capture/prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCHES 8
#define DEFAULT_BATCH_PACKETS 128
#define DEFAULT_BATCH_BYTES (64u * 1024)
#define ERR_MAX 1024

struct prefetch_slot {
	struct packet pkt; /* payload in the batch's mem, or in own */
	void *own;
};

struct prefetch_batch {
	struct prefetch_slot *slots;
	size_t n;
	uint8_t *mem;
	size_t used;
	long long position;
	/* The source's end follows the last packet: its result and text. */
	bool end;
	int end_rc;
	char err[ERR_MAX];
};

struct pcap_prefetch {
	struct pcap_prefetch_config cfg;
	struct pcap_source *src;
	struct prefetch_batch *batches;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t reader_cv, caller_cv;
	/* Under lock: the ready batches are batches[read_idx ..], ready of
	 * them (the one the caller reads included); write_idx is the
	 * reader's (only the reader moves it). */
	size_t ready;
	size_t read_idx;
	size_t write_idx;
	bool caller_waiting; /* for a ready batch */
	bool reader_waiting; /* for ready to drop to half the ring */
	bool stopping;       /* the caller stops: the reader ends at once */
	/* The caller's own: its place in batches[read_idx]. */
	bool holding; /* it reads batches[read_idx] */
	size_t next;  /* the next slot there */
	long long position;
};

void pcap_prefetch_config_defaults(struct pcap_prefetch_config *cfg)
{
	cfg->batches = DEFAULT_BATCHES;
	cfg->batch_packets = DEFAULT_BATCH_PACKETS;
	cfg->batch_bytes = DEFAULT_BATCH_BYTES;
}

static size_t half_ring(const struct pcap_prefetch *p)
{
	return p->cfg.batches / 2;
}

/* Reader: hand the batch over and take the next free one. false: the
 * caller stops, the reader ends. */
static bool publish(struct pcap_prefetch *p, bool last)
{
	bool go_on;

	pthread_mutex_lock(&p->lock);
	p->ready++;
	p->write_idx = (p->write_idx + 1) % p->cfg.batches;
	if (p->caller_waiting && (p->ready >= half_ring(p) || last))
		pthread_cond_signal(&p->caller_cv);
	while (!last && !p->stopping && p->ready == p->cfg.batches) {
		p->reader_waiting = true;
		pthread_cond_wait(&p->reader_cv, &p->lock);
	}
	p->reader_waiting = false;
	go_on = !p->stopping && !last;
	pthread_mutex_unlock(&p->lock);
	return go_on;
}

/* Reader: pkt into the batch, its payload copied. false: no memory for
 * a payload larger than a batch (the caller is told so). */
static bool add_packet(struct pcap_prefetch *p, struct prefetch_batch *b, const struct packet *pkt)
{
	struct prefetch_slot *slot = &b->slots[b->n];

	slot->pkt = *pkt;
	slot->own = NULL;
	if (pkt->payload_len > p->cfg.batch_bytes - b->used) {
		slot->own = malloc(pkt->payload_len);
		if (!slot->own)
			return false;
		memcpy(slot->own, pkt->payload, pkt->payload_len);
		slot->pkt.payload = slot->own;
	} else if (pkt->payload_len) {
		memcpy(b->mem + b->used, pkt->payload, pkt->payload_len);
		slot->pkt.payload = b->mem + b->used;
		b->used += pkt->payload_len;
	}
	b->n++;
	return true;
}

static void *reader_main(void *arg)
{
	struct pcap_prefetch *p = arg;
	struct prefetch_batch *b = &p->batches[p->write_idx];
	struct packet pkt;
	int rc;

	for (;;) {
		rc = pcap_source_next_tcp(p->src, &pkt, b->err, sizeof(b->err));
		if (rc == 1 && pkt.payload_len > p->cfg.batch_bytes - b->used && b->n &&
		    pkt.payload_len <= p->cfg.batch_bytes) {
			/* fits an empty batch: hand this one over first */
			b->position = pcap_source_position(p->src);
			if (!publish(p, false))
				return NULL;
			b = &p->batches[p->write_idx];
		}
		if (rc == 1 && !add_packet(p, b, &pkt)) {
			rc = -1;
			snprintf(b->err, sizeof(b->err), "%s: out of memory for a packet of %zu bytes",
				 p->src->path, pkt.payload_len);
		}
		if (rc != 1) {
			b->position = pcap_source_position(p->src);
			b->end = true;
			b->end_rc = rc;
			publish(p, true);
			return NULL;
		}
		if (b->n == p->cfg.batch_packets) {
			b->position = pcap_source_position(p->src);
			if (!publish(p, false))
				return NULL;
			b = &p->batches[p->write_idx];
		}
	}
}

/* Caller: the batch it read given back, emptied. */
static void release(struct pcap_prefetch *p)
{
	struct prefetch_batch *b = &p->batches[p->read_idx];
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->slots[i].own);
		b->slots[i].own = NULL;
	}
	b->n = 0;
	b->used = 0;
	b->end = false;
	pthread_mutex_lock(&p->lock);
	p->read_idx = (p->read_idx + 1) % p->cfg.batches;
	p->ready--;
	if (p->reader_waiting && p->ready <= half_ring(p))
		pthread_cond_signal(&p->reader_cv);
	pthread_mutex_unlock(&p->lock);
	p->holding = false;
}

/* Caller: wait for the next ready batch. */
static void take(struct pcap_prefetch *p)
{
	pthread_mutex_lock(&p->lock);
	while (!p->ready) {
		p->caller_waiting = true;
		pthread_cond_wait(&p->caller_cv, &p->lock);
	}
	p->caller_waiting = false;
	pthread_mutex_unlock(&p->lock);
	p->holding = true;
	p->next = 0;
	p->position = p->batches[p->read_idx].position;
}

int pcap_prefetch_next(struct pcap_prefetch *p, struct packet *pkt, char *err, size_t err_size)
{
	struct prefetch_batch *b;

	for (;;) {
		if (!p->holding)
			take(p);
		b = &p->batches[p->read_idx];
		if (p->next < b->n) {
			*pkt = b->slots[p->next++].pkt;
			return 1;
		}
		if (b->end) {
			/* stays held: every later call ends here too */
			if (b->end_rc < 0)
				snprintf(err, err_size, "%s", b->err);
			return b->end_rc;
		}
		release(p);
	}
}

long long pcap_prefetch_position(const struct pcap_prefetch *p)
{
	return p->position;
}

static void free_batches(struct pcap_prefetch *p)
{
	size_t i, j;

	for (i = 0; p->batches && i < p->cfg.batches; i++) {
		for (j = 0; p->batches[i].slots && j < p->batches[i].n; j++)
			free(p->batches[i].slots[j].own);
		free(p->batches[i].slots);
		free(p->batches[i].mem);
	}
	free(p->batches);
}

void pcap_prefetch_stop(struct pcap_prefetch *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->reader_cv);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	free_batches(p);
	free(p);
}

static bool alloc_batches(struct pcap_prefetch *p)
{
	size_t i;

	p->batches = calloc(p->cfg.batches, sizeof(*p->batches));
	if (!p->batches)
		return false;
	for (i = 0; i < p->cfg.batches; i++) {
		p->batches[i].slots = calloc(p->cfg.batch_packets, sizeof(struct prefetch_slot));
		p->batches[i].mem = malloc(p->cfg.batch_bytes ? p->cfg.batch_bytes : 1);
		if (!p->batches[i].slots || !p->batches[i].mem)
			return false;
	}
	return true;
}

struct pcap_prefetch *pcap_prefetch_start(struct pcap_source *src,
					  const struct pcap_prefetch_config *cfg)
{
	struct pcap_prefetch *p;
	int e;

	if (cfg->batches < 2 || cfg->batch_packets < 1) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->src = src;
	/* The static initializers: nothing to fail, nothing to check. */
	p->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	p->reader_cv = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	p->caller_cv = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	p->position = pcap_source_position(src);
	if (!alloc_batches(p)) {
		free_batches(p);
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	e = pthread_create(&p->thread, NULL, reader_main, p);
	if (e) {
		free_batches(p);
		free(p);
		errno = e;
		return NULL;
	}
	return p;
}
