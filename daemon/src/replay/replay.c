#include "replay/replay.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imwire/byteorder.h"
#include "packet/packet.h"
#include "packet/tcp_edit.h"

#define REPLAY_SNAPLEN 262144
#define REPLAY_MAP_POINTS 64
#define REPLAY_MAX_MAPS 65536

/* A recorded ack acknowledges the original stream; the receiver of an
 * edited stream would have acknowledged the edited one. So that the output
 * reads as one consistent conversation, each direction's shift (output
 * seq minus input seq, learnt from the verdicts at packet ends) is applied
 * to the other direction's recorded acks: the output shows every packet as
 * its receiver saw it. SACK blocks keep their recorded values. */
struct dir_map {
	uint8_t key[37]; /* version, source, destination, ports */
	uint32_t max_in_end; /* input seq past the last byte sent on */
	struct {
		uint32_t in_end;
		int32_t delta;
	} pts[REPLAY_MAP_POINTS]; /* where the shift changed, oldest first */
	size_t n;
};

/* A frame the engine has not decided on yet (held), by queue id. */
struct pending_frame {
	uint8_t *data;
	size_t caplen;
	size_t l3_offset;
	struct timeval ts;
	bool ack_override; /* write this ack (the receiver's view) */
	uint32_t ack;
};

struct replay {
	pcap_dumper_t *dumper;
	struct pending_frame *frames; /* indexed by id - base */
	size_t n_frames;
	size_t cap_frames;
	uint32_t base; /* id of frames[0] */
	struct timeval last_ts;
	struct replay_stats *st;
	proto_emit_fn log;
	void *log_arg;
	struct bytebuf out;
	int dlt;
	struct dir_map *maps;
	size_t n_maps;
};

static void map_key(uint8_t key[37], const struct packet *pkt, bool reverse)
{
	memset(key, 0, 37);
	key[0] = pkt->ip_version;
	memcpy(key + 1, reverse ? pkt->dst : pkt->src, 16);
	memcpy(key + 17, reverse ? pkt->src : pkt->dst, 16);
	imw_store_be16(key + 33, reverse ? pkt->dport : pkt->sport);
	imw_store_be16(key + 35, reverse ? pkt->sport : pkt->dport);
}

static struct dir_map *find_map(struct replay *r, const struct packet *pkt, bool reverse,
				bool create)
{
	uint8_t key[37];
	struct dir_map *grown;
	size_t i;

	map_key(key, pkt, reverse);
	for (i = r->n_maps; i-- > 0;)
		if (memcmp(r->maps[i].key, key, sizeof(key)) == 0)
			return &r->maps[i];
	if (!create || r->n_maps == REPLAY_MAX_MAPS)
		return NULL;
	grown = realloc(r->maps, (r->n_maps + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	r->maps = grown;
	memset(&r->maps[r->n_maps], 0, sizeof(*grown));
	memcpy(r->maps[r->n_maps].key, key, sizeof(key));
	return &r->maps[r->n_maps++];
}

static bool seq_after32(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static int32_t shift_at(const struct dir_map *m, uint32_t seq)
{
	int32_t delta = 0;
	uint32_t best = 0;
	bool found = false;
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (seq_after32(m->pts[i].in_end, seq))
			continue;
		if (!found || !seq_after32(best, m->pts[i].in_end)) {
			best = m->pts[i].in_end;
			delta = m->pts[i].delta;
			found = true;
		}
	}
	return delta;
}

/* Learn the shift at the end of a data packet from its verdict; a
 * dropped packet of new data had all its bytes deleted. */
static void learn(struct replay *r, const struct pending_frame *f, const uint8_t *out_ip,
		  size_t out_len, bool dropped)
{
	struct packet in, out;
	const char *why;
	struct dir_map *m;
	uint32_t in_end, out_end;
	int32_t delta;

	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	if (packet_parse(r->dlt, f->data, f->caplen, f->caplen, &in, &why) != PACKET_OK ||
	    (!in.payload_len && !(in.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN))))
		return;
	if (out_ip && packet_parse_ip(out_ip, out_len, out_len, &out, &why) != PACKET_OK)
		return;
	if (!out_ip)
		out = in;
	m = find_map(r, &in, false, true);
	if (!m)
		return;
	in_end = in.seq + (uint32_t)in.payload_len + ((in.tcp_flags & TCP_FLAG_SYN) ? 1 : 0);
	out_end = out.seq + (uint32_t)out.payload_len + ((out.tcp_flags & TCP_FLAG_SYN) ? 1 : 0);
	delta = (int32_t)(out_end - in_end);
	if (dropped) {
		if (m->n + (seq_after32(m->max_in_end, 0) ? 1 : 0) == 0 ||
		    !seq_after32(in_end, m->max_in_end))
			return; /* a duplicate of data still held */
		delta = shift_at(m, in.seq) - (int32_t)in.payload_len;
	}
	if (!m->n && !seq_after32(m->max_in_end, 0) && !delta) {
		m->max_in_end = in_end;
		return;
	}
	if (seq_after32(in_end, m->max_in_end) || !m->n)
		m->max_in_end = in_end;
	if (m->n && m->pts[m->n - 1].delta == delta)
		return;
	if (m->n == REPLAY_MAP_POINTS) {
		memmove(m->pts, m->pts + 1, (m->n - 1) * sizeof(m->pts[0]));
		m->n--;
	}
	m->pts[m->n].in_end = in_end;
	m->pts[m->n].delta = delta;
	m->n++;
}

static void set_ack(uint8_t *ip, size_t len, const struct packet *pkt, uint32_t ack)
{
	size_t l4 = pkt->l4_offset - pkt->l3_offset;

	imw_store_be32(ip + l4 + 8, ack);
	tcp_edit_fix_checksums(ip, len, pkt->ip_version, l4);
}


static bool tv_before(const struct timeval *a, const struct timeval *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_usec < b->tv_usec);
}

/* Output time never goes backwards: a held frame leaves when released. */
static void write_frame(struct replay *r, const struct timeval *ts, const uint8_t *data,
			size_t len)
{
	struct pcap_pkthdr h;

	memset(&h, 0, sizeof(h));
	h.ts = tv_before(ts, &r->last_ts) ? r->last_ts : *ts;
	r->last_ts = h.ts;
	h.caplen = (bpf_u_int32)len;
	h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)r->dumper, &h, data);
	r->st->frames_out++;
}

static struct pending_frame *frame_of(struct replay *r, uint32_t id)
{
	size_t i = (size_t)(id - r->base);

	return i < r->n_frames && r->frames[i].data ? &r->frames[i] : NULL;
}

/* Frames are freed as verdicts come; the table's front moves past them. */
static void trim_front(struct replay *r)
{
	size_t k = 0;

	while (k < r->n_frames && !r->frames[k].data)
		k++;
	if (!k)
		return;
	memmove(r->frames, r->frames + k, (r->n_frames - k) * sizeof(*r->frames));
	r->n_frames -= k;
	r->base += (uint32_t)k;
}

static void drain(struct replay *r, struct engine_outq *q)
{
	size_t i;

	for (i = 0; i < q->n; i++) {
		const struct verdict *o = &q->v[i];
		struct pending_frame *f = frame_of(r, o->id);

		if (!f)
			continue;
		switch (o->kind) {
		case VERDICT_ACCEPT:
			r->st->accepted++;
			learn(r, f, NULL, 0, false);
			write_frame(r, &f->ts, f->data, f->caplen);
			break;
		case VERDICT_ACCEPT_MODIFIED:
			r->st->modified++;
			learn(r, f, q->bytes.data + o->offset, o->len, false);
			bytebuf_clear(&r->out);
			if (bytebuf_append(&r->out, f->data, f->l3_offset) &&
			    bytebuf_append(&r->out, q->bytes.data + o->offset, o->len)) {
				if (f->ack_override) {
					struct packet op;
					const char *why;
					uint8_t *ip = r->out.data + f->l3_offset;

					memset(&op, 0, sizeof(op));
					if (packet_parse_ip(ip, o->len, o->len, &op, &why) == PACKET_OK) {
						op.l4_offset -= op.l3_offset;
						op.l3_offset = 0;
						set_ack(ip, o->len, &op, f->ack);
					}
				}
				write_frame(r, &f->ts, r->out.data, r->out.len);
			}
			break;
		case VERDICT_DROP:
			r->st->dropped++;
			learn(r, f, NULL, 0, true);
			break;
		}
		free(f->data);
		f->data = NULL;
	}
	engine_outq_clear(q);
	trim_front(r);
}

static int keep_frame(struct replay *r, uint32_t id, const struct pcap_pkthdr *h,
		      const uint8_t *data, size_t l3_offset)
{
	struct pending_frame *f;

	if (r->n_frames == 0)
		r->base = id;
	if (r->n_frames == r->cap_frames) {
		size_t cap = r->cap_frames ? r->cap_frames * 2 : 1024;
		struct pending_frame *g = realloc(r->frames, cap * sizeof(*g));

		if (!g)
			return -1;
		r->frames = g;
		r->cap_frames = cap;
	}
	f = &r->frames[r->n_frames];
	f->data = malloc(h->caplen ? h->caplen : 1);
	if (!f->data)
		return -1;
	memcpy(f->data, data, h->caplen);
	f->caplen = h->caplen;
	f->l3_offset = l3_offset;
	f->ts = h->ts;
	f->ack_override = false;
	r->n_frames++;
	return 0;
}

static void count_event(void *arg, const struct im_event *ev)
{
	struct replay *r = arg;

	r->st->events++;
	if (r->log)
		r->log(r->log_arg, ev);
}

/* The capture to read and the one to write (same link type). -1 with err;
 * nothing is left open then. */
static int open_captures(struct replay *r, const char *in_path, const char *out_path,
			 pcap_t **in, pcap_t **dead, char *err, size_t err_size)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";

	*in = pcap_open_offline(in_path, errbuf);
	if (!*in) {
		snprintf(err, err_size, "%s: %s", in_path, errbuf);
		return -1;
	}
	r->dlt = pcap_datalink(*in);
	if (!packet_linktype_supported(r->dlt)) {
		snprintf(err, err_size, "%s: unsupported link type %d", in_path, r->dlt);
		pcap_close(*in);
		return -1;
	}
	*dead = pcap_open_dead(r->dlt, REPLAY_SNAPLEN);
	r->dumper = *dead ? pcap_dump_open(*dead, out_path) : NULL;
	if (!r->dumper) {
		snprintf(err, err_size, "%s: cannot write: %s", out_path,
			 *dead ? pcap_geterr(*dead) : "out of memory");
		if (*dead)
			pcap_close(*dead);
		pcap_close(*in);
		return -1;
	}
	return 0;
}

/* One frame of the capture through the engine, as the queue would hand it
 * over; what the engine decides is written as it comes. -1 when out of
 * memory. */
static int replay_frame(struct replay *r, struct engine *e, struct engine_outq *q,
			const struct pcap_pkthdr *h, const u_char *data, uint32_t id)
{
	double now = (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6;
	struct pending_frame *f;
	struct dir_map *m;
	struct packet pkt;
	const char *why;

	r->st->frames_in++;
	memset(&pkt, 0, sizeof(pkt));
	if (packet_parse(r->dlt, data, h->caplen, h->len, &pkt, &why) != PACKET_OK ||
	    h->caplen != h->len) {
		/* Not TCP, or cut by the snaplen: nothing the engine may edit. */
		r->st->not_tcp++;
		write_frame(r, &h->ts, data, h->caplen);
		return 0;
	}
	engine_tick(e, now, q);
	drain(r, q);
	if ((pkt.tcp_flags & TCP_FLAG_ACK) && (m = find_map(r, &pkt, true, false)) &&
	    seq_after32(pkt.ack, m->max_in_end)) {
		/* The receiver had the data: whatever still waits for it went
		 * out before this ack. */
		engine_tick(e, now + e->cfg.hold_deadline + 0.001, q);
		drain(r, q);
	}
	if (keep_frame(r, id, h, data, pkt.l3_offset) < 0)
		return -1;
	f = &r->frames[r->n_frames - 1];
	if ((pkt.tcp_flags & TCP_FLAG_ACK) && (m = find_map(r, &pkt, true, false)) &&
	    shift_at(m, pkt.ack)) {
		f->ack_override = true;
		f->ack = pkt.ack + (uint32_t)shift_at(m, pkt.ack);
		set_ack(f->data + pkt.l3_offset, h->caplen - pkt.l3_offset, &pkt, f->ack);
	}
	engine_packet(e, id, f->data + pkt.l3_offset, h->caplen - pkt.l3_offset, false, now, q);
	drain(r, q);
	return 0;
}

int replay_capture(const char *in_path, const char *out_path, const struct engine_config *ec,
		   proto_emit_fn log, void *log_arg, struct replay_stats *st,
		   struct engine_stats *engine_st, char *err, size_t err_size)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	struct replay r;
	struct engine e;
	struct engine_outq q;
	pcap_t *in, *dead;
	uint32_t id = 0;
	int rc, status = 0;
	size_t i;

	memset(st, 0, sizeof(*st));
	memset(&r, 0, sizeof(r));
	r.st = st;
	r.log = log;
	r.log_arg = log_arg;
	bytebuf_init(&r.out);
	if (open_captures(&r, in_path, out_path, &in, &dead, err, err_size) < 0)
		return -1;
	engine_outq_init(&q);
	if (engine_init(&e, ec, count_event, &r) < 0) {
		snprintf(err, err_size, "out of memory");
		status = -1;
		goto out;
	}
	while ((rc = pcap_next_ex(in, &h, &data)) >= 0) {
		if (rc == 0)
			continue;
		if (replay_frame(&r, &e, &q, h, data, id++) < 0) {
			snprintf(err, err_size, "out of memory");
			status = -1;
			break;
		}
	}
	if (rc == PCAP_ERROR) {
		snprintf(err, err_size, "%s: %s", in_path, pcap_geterr(in));
		status = -1;
	}
	engine_release_all(&e, &q);
	drain(&r, &q);
	engine_destroy(&e, &q);
	drain(&r, &q);
	if (engine_st)
		*engine_st = e.stats;
out:
	engine_outq_free(&q);
	for (i = 0; i < r.n_frames; i++)
		free(r.frames[i].data);
	free(r.frames);
	free(r.maps);
	bytebuf_free(&r.out);
	pcap_dump_close(r.dumper);
	pcap_close(dead);
	pcap_close(in);
	return status;
}
