/* Every protocol module on hostile byte streams.
 *
 * Input: byte 0 picks the module (index into proto_modules()); the rest is
 * a list of chunks, each a control byte (bit 0: direction, bit 1: a gap
 * comes before this chunk), a length byte and that many bytes. Each
 * direction is run the way app/ runs it: detect on the first bytes, then
 * frame, decode, and resync after garbage or a gap, with the module's
 * max_pdu bound. Every decoded event is encoded back, with and without
 * its original PDU, and the result is framed and decoded again in a fresh
 * session (decode(encode(event))). */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "util/bytebuf.h"

#define MAX_COLLECTED 16

struct collector {
	struct im_event ev[MAX_COLLECTED];
	const uint8_t *pdu[MAX_COLLECTED];
	size_t pdu_len[MAX_COLLECTED];
	enum im_dir dir[MAX_COLLECTED];
	size_t n;
};

struct fuzz_dir {
	struct bytebuf buf; /* unconsumed bytes */
	bool need_resync;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void collect(void *arg, const struct im_event *ev)
{
	struct collector *c = arg;

	if (c->n < MAX_COLLECTED && event_copy(&c->ev[c->n], ev)) {
		c->dir[c->n] = ev->dir;
		c->n++;
	}
}

static void discard(void *arg, const struct im_event *ev)
{
	(void)arg;
	/* Touch every string the way a sink would. */
	if (ev->text && strlen(ev->text) > (size_t)1 << 40)
		abort();
}

/* Frame and decode what buf holds, as app/decode_dir does. */
static void run_dir(struct proto_session *s, enum im_dir dir, struct fuzz_dir *d,
		    void (*after_pdu)(void *, const uint8_t *, size_t), void *arg)
{
	const struct proto_module *m = s->module;
	size_t head = 0, pdu_len, skip;
	unsigned rounds = 0;
	struct proto_pdu pdu;

	while (head < d->buf.len && rounds++ < 100000) {
		const uint8_t *p = d->buf.data + head;
		size_t pending = d->buf.len - head;
		enum proto_frame fr;

		if (s->opaque[dir]) {
			head = d->buf.len;
			break;
		}
		if (d->need_resync) {
			skip = m->resync(s, dir, p, pending);
			if (skip > pending)
				abort(); /* the contract: at most len */
			head += skip;
			if (skip == pending)
				break;
			d->need_resync = false;
			continue;
		}
		pdu_len = 0;
		fr = m->frame(s, dir, p, pending, &pdu_len);
		if (fr == PROTO_FRAME_PDU && (pdu_len == 0 || pdu_len > pending))
			abort(); /* a framer that claims bytes it was not given */
		if (fr == PROTO_FRAME_NEED_MORE) {
			if (pending <= m->max_pdu)
				break;
			fr = PROTO_FRAME_GARBAGE;
		}
		if (fr == PROTO_FRAME_GARBAGE) {
			head++;
			d->need_resync = true;
			continue;
		}
		if (m->partial_may_edit && pdu_len > 1)
			(void)m->partial_may_edit(s, dir, p, pdu_len - 1);
		pdu = (struct proto_pdu){ .offset = head, .len = pdu_len, .data = p };
		s->pdu = &pdu;
		(void)m->decode(s, dir, p, pdu_len);
		s->pdu = NULL;
		if (after_pdu)
			after_pdu(arg, p, pdu_len);
		head += pdu_len;
	}
	bytebuf_consume(&d->buf, head);
}

/* decode(encode(ev)) in a session of its own. */
static void redecode(const struct proto_module *m, enum im_dir dir, const uint8_t *pdu,
		     size_t len)
{
	static const struct proto_host host = { NULL, discard, NULL, NULL, NULL };
	struct proto_session s;
	struct fuzz_dir d = { .need_resync = false };

	if (proto_session_init(&s, m, 2, "192.0.2.1:40000", &host) < 0)
		return;
	bytebuf_init(&d.buf);
	if (bytebuf_append(&d.buf, pdu, len))
		run_dir(&s, dir, &d, NULL, NULL);
	bytebuf_free(&d.buf);
	proto_session_free(&s);
}

struct roundtrip {
	struct proto_session *s;
	struct collector *c;
};

static void encode_collected(void *arg, const uint8_t *pdu, size_t pdu_len)
{
	struct roundtrip *rt = arg;
	const struct proto_module *m = rt->s->module;
	struct bytebuf out;
	size_t i;

	bytebuf_init(&out);
	for (i = 0; i < rt->c->n; i++) {
		struct im_event *ev = &rt->c->ev[i];

		if (m->encode) {
			bytebuf_clear(&out);
			if (m->encode(rt->s, rt->c->dir[i], ev, pdu, pdu_len, &out) == 0)
				redecode(m, rt->c->dir[i], out.data, out.len);
			bytebuf_clear(&out);
			if (m->encode(rt->s, rt->c->dir[i], ev, NULL, 0, &out) == 0)
				redecode(m, rt->c->dir[i], out.data, out.len);
			/* a changed text must be encodable the same way */
			if (ev->text && event_set_str(&ev->text, "r\xc3\xa9\xc3\xa9" "crit <&> 'q'")) {
				bytebuf_clear(&out);
				if (m->encode(rt->s, rt->c->dir[i], ev, pdu, pdu_len, &out) == 0)
					redecode(m, rt->c->dir[i], out.data, out.len);
			}
		}
		if (m->fixup_pdu && pdu_len) {
			uint8_t *copy = malloc(pdu_len);

			if (copy) {
				memcpy(copy, pdu, pdu_len);
				(void)m->fixup_pdu(rt->s, rt->c->dir[i], copy, pdu_len);
				free(copy);
			}
		}
		event_free(ev);
	}
	rt->c->n = 0;
	bytebuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct proto_module *const *mods;
	const struct proto_module *m;
	struct proto_session s;
	struct proto_host host;
	struct collector c;
	struct fuzz_dir dirs[2];
	struct roundtrip rt = { &s, &c };
	size_t n_mods, pos = 1, i;
	bool detected[2] = { false, false };

	if (size < 1)
		return 0;
	mods = proto_modules(&n_mods);
	m = mods[data[0] % n_mods];
	memset(&c, 0, sizeof(c));
	host = (struct proto_host){ NULL, collect, &c, NULL, NULL };
	if (proto_session_init(&s, m, 1, "192.0.2.1:40000", &host) < 0)
		return 0;
	s.log_typing = data[0] & 0x80;
	for (i = 0; i < 2; i++) {
		bytebuf_init(&dirs[i].buf);
		dirs[i].need_resync = false;
	}
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos];
		size_t len = data[pos + 1];
		enum im_dir dir = (ctl & 1) ? IM_DIR_IN : IM_DIR_OUT;
		struct fuzz_dir *d = &dirs[dir];

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		if (!detected[dir]) {
			(void)m->detect(data + pos, len, dir);
			detected[dir] = true;
		}
		if (ctl & 2) {
			bytebuf_clear(&d->buf);
			d->need_resync = true;
		}
		if (!bytebuf_append(&d->buf, data + pos, len))
			break;
		pos += len;
		run_dir(&s, dir, d, encode_collected, &rt);
		if (m->pdu_count_changed && (ctl & 4))
			m->pdu_count_changed(&s, dir, (ctl & 8) ? -1 : 1);
	}
	/* detection over the whole input as one window */
	(void)m->detect(data + 1, size - 1, IM_DIR_OUT);
	(void)m->detect(data + 1, size - 1, IM_DIR_IN);
	for (i = 0; i < c.n; i++)
		event_free(&c.ev[i]);
	for (i = 0; i < 2; i++)
		bytebuf_free(&dirs[i].buf);
	proto_session_free(&s);
	return 0;
}
