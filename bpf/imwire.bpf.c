// SPDX-License-Identifier: GPL-2.0
/* The tc classifier: decides per TCP flow whether the daemon must see it,
 * and marks its packets so that the steering rule queues them.
 *
 * A flow is decided once (well-known port, or payload signature of its
 * first data packets) and remembered in an LRU hash, so every later
 * packet costs one lookup. A flow whose protocol is switched off is no
 * longer marked.
 *
 * Flows the daemon edited have one entry per edited direction in the
 * xlate hash: a base offset and the edits the receiver has not
 * acknowledged yet. While the daemon's socket is in the liveness sockmap
 * their packets go to the daemon; from the first packet after it is gone
 * (the kernel unlinks a closed socket from every sockmap, so a crash or
 * an exit empties it at once) or with the protocol off, the classifier
 * maps seq, ack and SACK blocks itself exactly as the daemon's seqmap
 * does, folds edits into the base offset as the receiver acknowledges
 * them, and drops segments carrying bytes of a live edit (it has no
 * replacement bytes): the sender retransmits them until a successor
 * daemon rebuilds them. Map layouts: include/imwire/bpf_maps.h. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "imwire/bpf_maps.h"
#include "imwire/marks.h"
#include "imwire/signatures.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_NUM 6
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10
#define TCP_SEQ_OFF 4
#define TCP_ACK_OFF 8
#define TCP_CSUM_OFF 16
#define TCP_OPTS_OFF 20
#define TCP_MAX_OPTS 40
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_SACK 5
#define SACK_MAX_BLOCKS 4

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IMW_PROTO_MAX);
	__type(key, __u32);
	__type(value, struct imw_proto_conf);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} protocols SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IMW_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IMW_MAX_FLOWS);
	__type(key, struct imw_flow_key);
	__type(value, struct imw_flow_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IMW_MAX_XLATE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct imw_xlate_key);
	__type(value, struct imw_xlate);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xlate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IMW_PROTO_MAX);
	__type(key, __u32);
	__type(value, struct imw_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} liveness SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct imw_owner);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} owner SEC(".maps");

/* The payload window the signatures look at: too big for the stack. */
struct window {
	__u8 bytes[IMW_SIG_WINDOW];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct window);
} scratch SEC(".maps");

/* Copies of a packet's two xlate directions, taken under their locks:
 * its own (the bytes it carries) and its peer's (what it acknowledges). */
struct xlate_pair {
	struct imw_xlate_dir own;
	struct imw_xlate_dir peer;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlate_pair);
} pair_scratch SEC(".maps");

/* What the parser learned about one packet. */
struct tcp_packet {
	struct imw_flow_key key;
	__u32 tcp_off;     /* offset of the TCP header in the frame */
	__u32 payload_off;
	__u32 payload_len;
	__u32 seq;         /* host order */
	__u32 ack;
	__u8 flags;
	__u8 dir; /* 0: sent by side a of the canonical key, 1: by side b */
	__u8 doff; /* TCP header length in bytes */
};

static __always_inline struct imw_counters *counters_of(__u32 proto)
{
	return bpf_map_lookup_elem(&counters, &proto);
}

/* Canonical order: the (address, port) that compares lower is side a. */
static __always_inline void key_order(struct tcp_packet *t, const __u8 *src, const __u8 *dst,
				      __u16 sport, __u16 dport)
{
	int i, cmp = 0;

#pragma unroll
	for (i = 0; i < 16; i++) {
		if (cmp == 0 && src[i] != dst[i])
			cmp = src[i] < dst[i] ? -1 : 1;
	}
	if (cmp == 0)
		cmp = sport < dport ? -1 : (sport > dport ? 1 : 0);
	if (cmp <= 0) {
		__builtin_memcpy(t->key.addr_a, src, 16);
		__builtin_memcpy(t->key.addr_b, dst, 16);
		t->key.port_a = sport;
		t->key.port_b = dport;
		t->dir = 0;
	} else {
		__builtin_memcpy(t->key.addr_a, dst, 16);
		__builtin_memcpy(t->key.addr_b, src, 16);
		t->key.port_a = dport;
		t->key.port_b = sport;
		t->dir = 1;
	}
}

/* Ethernet, then IPv4 (unfragmented) or IPv6 (TCP right after the fixed
 * header), then TCP. Returns 0 for a TCP packet, -1 for anything else. */
static __always_inline int parse(struct __sk_buff *skb, struct tcp_packet *t)
{
	__u8 src[16] = {}, dst[16] = {};
	struct tcphdr tcp;
	__u32 l3 = ETH_HLEN, l3_len, ip_total;
	__u16 eth_proto;

	if (bpf_skb_load_bytes(skb, 12, &eth_proto, 2) < 0)
		return -1;
	if (eth_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, l3, &ip, sizeof(ip)) < 0)
			return -1;
		if (ip.protocol != IPPROTO_TCP_NUM || (ip.frag_off & bpf_htons(0x3fff)))
			return -1;
		l3_len = (__u32)ip.ihl * 4;
		ip_total = bpf_ntohs(ip.tot_len);
		if (l3_len < 20 || ip_total < l3_len)
			return -1;
		src[10] = dst[10] = 0xff;
		src[11] = dst[11] = 0xff;
		__builtin_memcpy(src + 12, &ip.saddr, 4);
		__builtin_memcpy(dst + 12, &ip.daddr, 4);
	} else if (eth_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, l3, &ip6, sizeof(ip6)) < 0)
			return -1;
		if (ip6.nexthdr != IPPROTO_TCP_NUM)
			return -1;
		l3_len = sizeof(ip6);
		ip_total = l3_len + bpf_ntohs(ip6.payload_len);
		__builtin_memcpy(src, &ip6.saddr, 16);
		__builtin_memcpy(dst, &ip6.daddr, 16);
	} else {
		return -1;
	}
	t->tcp_off = l3 + l3_len;
	if (bpf_skb_load_bytes(skb, t->tcp_off, &tcp, sizeof(tcp)) < 0)
		return -1;
	if (tcp.doff < 5 || ip_total < l3_len + (__u32)tcp.doff * 4)
		return -1;
	t->payload_off = t->tcp_off + (__u32)tcp.doff * 4;
	t->payload_len = ip_total - l3_len - (__u32)tcp.doff * 4;
	t->flags = ((__u8 *)&tcp)[13];
	t->doff = (__u8)(tcp.doff * 4);
	t->seq = bpf_ntohl(tcp.seq);
	t->ack = bpf_ntohl(tcp.ack_seq);
	key_order(t, src, dst, bpf_ntohs(tcp.source), bpf_ntohs(tcp.dest));
	return 0;
}

static __always_inline __u32 port_proto(const struct tcp_packet *t)
{
	__u16 port = t->key.port_b;
	__u32 *proto = bpf_map_lookup_elem(&ports, &port);

	if (proto)
		return *proto;
	port = t->key.port_a;
	proto = bpf_map_lookup_elem(&ports, &port);
	return proto ? *proto : IMW_PROTO_NONE;
}

/* Each signature is a global function, so the verifier checks it once on
 * its own instead of once for every way the checks before it can end.
 * The window is zero-padded and the checks are handed its full size: the
 * verifier then knows every bound, and zeros match nothing a check looks
 * for. */
#define SIG_FN(name, check)                                          \
	__noinline int name(struct window *w)                        \
	{                                                            \
		return w ? check(w->bytes, IMW_SIG_WINDOW) : 0;      \
	}

/* One verified function per row of the protocol table, tried in the
 * table's order as imw_sig_classify does. */
#define SIG_FN_ROW(ID, num, nm, ims, cfg, alt, sig, ...) SIG_FN(sig_##nm, sig)
IMW_PROTOCOLS(SIG_FN_ROW)

#define SIG_TRY_ROW(ID, num, nm, ...) \
	if (sig_##nm(w))               \
		return IMW_PROTO_##ID;

static __always_inline __u32 classify_window(struct window *w)
{
	IMW_PROTOCOLS(SIG_TRY_ROW)
	return IMW_PROTO_NONE;
}

static __always_inline __u32 payload_proto(struct __sk_buff *skb, const struct tcp_packet *t)
{
	__u32 zero = 0, n = t->payload_len, i;
	struct window *w = bpf_map_lookup_elem(&scratch, &zero);

	if (!w)
		return IMW_PROTO_NONE;
	if (n > IMW_SIG_WINDOW)
		n = IMW_SIG_WINDOW;
	for (i = 0; i < IMW_SIG_WINDOW / 8; i++)
		((__u64 *)w->bytes)[i] = 0;
	/* a packet shorter than its headers claim is not classified */
	if (n == 0 || bpf_skb_load_bytes(skb, t->payload_off, w->bytes, n) < 0)
		return IMW_PROTO_NONE;
	return classify_window(w);
}

/* A flow's state as one 64-bit word (the width BPF's compare-and-swap
 * has below -mcpu=v3), so that deciding is one compare-and-swap: packets
 * of one flow reach the classifier on several CPUs at once (its two
 * directions, or one sender's packets sent from process and from softirq
 * context), and with plain stores two of them could both take the flow
 * past IMW_CLASSIFY_PACKETS and count it twice, or one could overwrite
 * the other's decision. */
union flow_word {
	__u64 word;
	struct imw_flow_state f;
};

_Static_assert(sizeof(struct imw_flow_state) == sizeof(__u64), "a flow's state is one word");

/* Tries at the swap: each failed one means another CPU moved the state on
 * (and counted its own packet), so giving up after a few loses nothing. */
#define CLASSIFY_TRIES 4

/* Decide an undecided flow on this packet when it can; whoever makes the
 * decision, and only it, counts the flow. */
static __always_inline void classify(struct __sk_buff *skb, const struct tcp_packet *t,
				     struct imw_flow_state *st)
{
	union flow_word was, now;
	struct imw_counters *c;
	__u32 proto, i;

	if (t->payload_len == 0)
		return;
	proto = payload_proto(skb, t);
	for (i = 0; i < CLASSIFY_TRIES; i++) {
		was.word = *(volatile __u64 *)st;
		if (was.f.verdict != IMW_FLOW_UNDECIDED)
			return; /* another CPU decided it */
		now = was;
		if (proto != IMW_PROTO_NONE && proto < IMW_PROTO_MAX) {
			now.f.verdict = IMW_FLOW_STEER;
			now.f.proto = (__u8)proto;
		} else if (++now.f.data_packets >= IMW_CLASSIFY_PACKETS) {
			now.f.verdict = IMW_FLOW_IGNORE;
		}
		if (__sync_val_compare_and_swap((__u64 *)st, was.word, now.word) != was.word)
			continue;
		if (now.f.verdict == IMW_FLOW_UNDECIDED)
			return;
		c = counters_of(now.f.verdict == IMW_FLOW_STEER ? now.f.proto : IMW_PROTO_NONE);
		if (c)
			c->flows++;
		return;
	}
}

/* ---- the decision ---------------------------------------------------- */

/* Wrap-safe sequence comparisons, as the kernel's before()/after(). */
static __always_inline int seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static __always_inline int seq_after(__u32 a, __u32 b)
{
	return (__s32)(b - a) < 0;
}

static __always_inline struct imw_xlate *xlate_of(const struct tcp_packet *t, __u32 side)
{
	struct imw_xlate_key k = {};

	__builtin_memcpy(&k.flow, &t->key, sizeof(k.flow));
	k.side = side;
	return bpf_map_lookup_elem(&xlate, &k);
}

/* An edited flow whose decision the LRU dropped keeps its protocol in
 * its xlate entries. */
static __always_inline __u32 xlate_proto(const struct tcp_packet *t)
{
	struct imw_xlate *x = xlate_of(t, 0);

	if (!x)
		x = xlate_of(t, 1);
	return x ? x->d.proto : IMW_PROTO_NONE;
}

/* ---- expected connections (file transfers, #20; bpf_maps.h) ---- */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IMW_MAX_EXPECT);
	__type(key, struct imw_expect_key);
	__type(value, struct imw_expect_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} expect SEC(".maps");

/* An unexpired entry for (listen, port) from peer, or from anywhere. */
static __always_inline __u32 expect_lookup(const __u8 *listen, __u16 port, const __u8 *peer)
{
	struct imw_expect_key k = {};
	struct imw_expect_val *v;

	__builtin_memcpy(k.listen_addr, listen, 16);
	__builtin_memcpy(k.peer_addr, peer, 16);
	k.listen_port = port;
	v = bpf_map_lookup_elem(&expect, &k);
	if (!v) {
		__builtin_memset(k.peer_addr, 0, 16);
		v = bpf_map_lookup_elem(&expect, &k);
	}
	if (!v || bpf_ktime_get_ns() >= v->expires_ns || v->proto >= IMW_PROTO_MAX)
		return IMW_PROTO_NONE;
	return v->proto;
}

/* A new flow a file offer announced: to the listener (its SYN), or seen
 * first from it. */
static __always_inline __u32 expected_proto(const struct tcp_packet *t)
{
	const __u8 *src = t->dir ? t->key.addr_b : t->key.addr_a;
	const __u8 *dst = t->dir ? t->key.addr_a : t->key.addr_b;
	__u16 sport = t->dir ? t->key.port_b : t->key.port_a;
	__u16 dport = t->dir ? t->key.port_a : t->key.port_b;
	__u32 proto = expect_lookup(dst, dport, src);

	return proto != IMW_PROTO_NONE ? proto : expect_lookup(src, sport, dst);
}

static __always_inline struct imw_flow_state *flow_state(struct __sk_buff *skb,
							 const struct tcp_packet *t)
{
	struct imw_flow_state *st = bpf_map_lookup_elem(&flows, &t->key), fresh = {};
	struct imw_counters *c;
	__u32 proto;

	if (st)
		return st;
	proto = expected_proto(t);
	if (proto == IMW_PROTO_NONE)
		proto = port_proto(t);
	if (proto == IMW_PROTO_NONE)
		proto = xlate_proto(t);
	if (proto != IMW_PROTO_NONE && proto < IMW_PROTO_MAX) {
		fresh.verdict = IMW_FLOW_STEER;
		fresh.proto = (__u8)proto;
	}
	if (bpf_map_update_elem(&flows, &t->key, &fresh, BPF_NOEXIST) < 0)
		return bpf_map_lookup_elem(&flows, &t->key); /* another CPU won, and counted */
	if (fresh.verdict == IMW_FLOW_STEER) {
		c = counters_of(proto);
		if (c)
			c->flows++;
	}
	return bpf_map_lookup_elem(&flows, &t->key);
}

/* The daemon is alive while its socket is in the liveness map: the
 * kernel removes it when the socket closes, at exit or crash alike. */
static __always_inline int daemon_alive(void)
{
	__u32 zero = 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&liveness, &zero);

	if (!sk)
		return 0;
	bpf_sk_release(sk);
	return 1;
}

/* ---- sequence translation (seqmap.c's rules on 32-bit seq numbers) -- */

enum map_mode {
	MAP_ACK = 0,        /* seqmap_in_of_out: proportional inside a replacement */
	MAP_SACK_RIGHT = 1, /* seqmap_in_of_out_right */
	MAP_SACK_LEFT = 2,  /* seqmap_in_of_out_left */
};

static __always_inline __u32 live_edits(const struct imw_xlate_dir *x)
{
	return x->n_edits < IMW_XLATE_EDITS ? x->n_edits : IMW_XLATE_EDITS;
}

/* Output seq of input seq s (seqmap_out_of_in). Global functions are
 * verified once each, not once per caller's path. */
__noinline __u32 xl_out_of_in(struct imw_xlate_dir *x, __u32 s)
{
	__u32 delta, n, i;

	if (!x)
		return s;
	delta = (__u32)x->base_delta;
	n = live_edits(x);
	for (i = 0; i < IMW_XLATE_EDITS; i++) {
		struct imw_xlate_edit *e = &x->edits[i];

		if (i >= n)
			break;
		if (seq_before(s, e->in_seq))
			return s + delta;
		/* an insertion before s is counted; s inside a replaced range
		 * has no output of its own: where the replacement starts */
		if (e->in_len && seq_before(s, e->in_seq + e->in_len))
			return e->in_seq + delta;
		delta += e->out_len - e->in_len;
	}
	return s + delta;
}

/* Input seq of output seq a, for an ack or a SACK edge (seqmap's
 * in_of_out, in_of_out_right and in_of_out_left). */
__noinline __u32 xl_in_of_out(struct imw_xlate_dir *x, __u32 a, __u32 mode)
{
	__u32 delta, n, i, out_start, k;

	if (!x)
		return a;
	delta = (__u32)x->base_delta;
	n = live_edits(x);
	for (i = 0; i < IMW_XLATE_EDITS; i++) {
		struct imw_xlate_edit *e = &x->edits[i];

		if (i >= n)
			break;
		out_start = e->in_seq + delta;
		if (mode == MAP_SACK_LEFT) {
			if (!seq_after(a, out_start))
				return a - delta;
			if (seq_before(a, out_start + e->out_len))
				return e->in_seq + e->in_len; /* claim only what follows */
		} else {
			if (seq_before(a, out_start))
				return a - delta;
			if (seq_before(a, out_start + e->out_len)) {
				k = a - out_start;
				if (!e->in_len)
					return (e->flags & IMW_XLATE_ACK_AT_START) ? e->in_seq
										   : e->in_seq - 1;
				if (mode != MAP_ACK || !k)
					return e->in_seq;
				/* the sender sees progress but keeps a byte outstanding */
				return e->in_seq + (__u32)((__u64)k * e->in_len / e->out_len);
			}
		}
		delta += e->out_len - e->in_len;
	}
	return a - delta;
}

/* Does a segment carrying input [s, s + len) need bytes of a live edit
 * (a replaced range it overlaps, or an insertion it would carry: one at
 * p rides on the segment (x, p])? */
__noinline int xl_overlaps(struct imw_xlate_dir *x, __u32 s, __u32 len)
{
	__u32 n, i, end = s + len;

	if (!x)
		return 0;
	n = live_edits(x);
	for (i = 0; i < IMW_XLATE_EDITS; i++) {
		struct imw_xlate_edit *e = &x->edits[i];

		if (i >= n)
			break;
		if (e->in_len) {
			if (seq_before(s, e->in_seq + e->in_len) && seq_after(end, e->in_seq))
				return 1;
		} else if (seq_after(e->in_seq, s) && !seq_after(e->in_seq, end)) {
			return 1;
		}
	}
	return 0;
}

/* seqmap_acknowledge on the map entry itself, under its lock: the edits
 * the receiver has wholly received (an ack of output `ack`) fold into
 * the base offset. No helper may be called here. */
static __always_inline __u32 fold_locked(struct imw_xlate_dir *d, __u32 ack)
{
	__u32 n = d->n_edits, delta = (__u32)d->base_delta, done = 0, i, j;

	if (n > IMW_XLATE_EDITS)
		n = IMW_XLATE_EDITS;
	for (i = 0; i < IMW_XLATE_EDITS; i++) {
		struct imw_xlate_edit *e = &d->edits[i];
		__u32 out_start;

		if (i >= n)
			break;
		out_start = e->in_seq + delta;
		if (seq_after(out_start + e->out_len, ack) || !seq_before(out_start, ack))
			break;
		delta += e->out_len - e->in_len;
		done++;
	}
	if (!done)
		return 0;
	for (i = 0; i < IMW_XLATE_EDITS; i++) {
		j = i + done;
		if (j >= n || j >= IMW_XLATE_EDITS)
			break;
		d->edits[i] = d->edits[j];
	}
	d->base_delta = (__s32)delta;
	d->n_edits = (__u16)(n - done);
	return done;
}

/* Copy an entry's direction out under its lock, folding first when the
 * packet acknowledges its output. Returns the edits folded. */
static __always_inline __u32 take_dir(struct imw_xlate *x, struct imw_xlate_dir *copy, int fold,
				      __u32 ack, __u64 now)
{
	__u32 folded = 0;

	bpf_spin_lock(&x->lock);
	if (fold)
		folded = fold_locked(&x->d, ack);
	x->stamp_ns = now;
	__builtin_memcpy(copy, &x->d, sizeof(*copy));
	bpf_spin_unlock(&x->lock);
	return folded;
}

/* Data of this direction went through as its sender wrote it: a
 * successor must not decode it again (bpf_maps.h, passed_end). */
static __always_inline void note_passed(struct imw_xlate *x, __u32 end)
{
	bpf_spin_lock(&x->lock);
	if (!(x->d.flags & IMW_XLATE_PASSED) || seq_after(end, x->d.passed_end)) {
		x->d.passed_end = end;
		x->d.flags |= IMW_XLATE_PASSED;
	}
	bpf_spin_unlock(&x->lock);
}

/* Only a daemon can send this segment right: it carries bytes of a live
 * edit, or reaches the first edit an overflowed list left out (a segment
 * ending there may have to carry an insertion). */
static __always_inline int must_hold(struct imw_xlate_dir *own, const struct tcp_packet *t)
{
	__u32 span = t->payload_len + ((t->flags & TCP_FLAG_FIN) ? 1 : 0);

	if (t->payload_len && xl_overlaps(own, t->seq, t->payload_len))
		return 1;
	if (own->flags & IMW_XLATE_OVERFLOW)
		return seq_after(t->seq, own->limit_seq) ||
		       (span && !seq_before(t->seq + span, own->limit_seq));
	return 0;
}

/* An ack or SACK edge of the peer's output, clamped to what the list
 * can vouch for when it overflowed. */
static __always_inline __u32 map_out(struct imw_xlate_dir *peer, __u32 a, __u32 mode)
{
	if ((peer->flags & IMW_XLATE_OVERFLOW) &&
	    seq_after(a, xl_out_of_in(peer, peer->limit_seq)))
		return peer->limit_seq;
	return xl_in_of_out(peer, a, mode);
}

/* Write the 4 bytes at off (network order), keeping the TCP checksum
 * right. The checksum sums 16-bit words: a field at an odd offset is
 * summed in the 8-byte window [off - 3, off + 5), which lies inside the
 * header (options end on a 4-byte boundary). */
__noinline int store_u32(struct __sk_buff *skb, __u32 csum_off, __u32 off, __u32 val_be)
{
	__u32 old_be;

	if (!skb)
		return -1;
	if (!(off & 1)) {
		if (bpf_skb_load_bytes(skb, off, &old_be, 4) < 0)
			return -1;
		if (bpf_l4_csum_replace(skb, csum_off, old_be, val_be, 4) < 0)
			return -1;
	} else {
		__u8 was[8], now[8];
		__s64 diff;

		if (bpf_skb_load_bytes(skb, off - 3, was, 8) < 0)
			return -1;
		__builtin_memcpy(now, was, 8);
		__builtin_memcpy(now + 3, &val_be, 4);
		diff = bpf_csum_diff((__be32 *)was, 8, (__be32 *)now, 8, 0);
		if (diff < 0 || bpf_l4_csum_replace(skb, csum_off, 0, (__u32)diff, 0) < 0)
			return -1;
	}
	return bpf_skb_store_bytes(skb, off, &val_be, 4, 0);
}

/* Walking the options one bpf_loop step at a time: each step is
 * verified once, whatever the options before it were. */
struct opt_walk {
	__u32 i;     /* offset of the next option */
	__u32 len;   /* bytes of options, in the scratch window */
	__u32 found; /* offset of the SACK blocks in the options << 8 | blocks */
};

static long opt_step(__u32 step, void *arg)
{
	struct opt_walk *ow = arg;
	__u32 zero = 0, i = ow->i, kind, olen;
	struct window *w = bpf_map_lookup_elem(&scratch, &zero);

	if (!w || i >= ow->len || i >= TCP_MAX_OPTS - 1)
		return 1;
	kind = w->bytes[i & 63];
	if (kind == TCPOPT_EOL)
		return 1;
	if (kind == TCPOPT_NOP) {
		ow->i = i + 1;
		return 0;
	}
	olen = w->bytes[(i + 1) & 63];
	if (olen < 2 || i + olen > ow->len)
		return 1;
	if (kind == TCPOPT_SACK) {
		olen = (olen - 2) / 8;
		ow->found = (i + 2) << 8 | (olen < SACK_MAX_BLOCKS ? olen : SACK_MAX_BLOCKS);
		return 1;
	}
	ow->i = i + olen;
	return 0;
}

/* The SACK option of the options at opts_off (len bytes): the offset
 * of its first block << 8 | its number of blocks, 0 when there is no
 * well-formed one. */
static __always_inline __u32 find_sack(struct __sk_buff *skb, __u32 opts_off, __u64 len)
{
	struct opt_walk ow = { .len = (__u32)len };
	__u32 zero = 0;
	struct window *w = bpf_map_lookup_elem(&scratch, &zero);

	if (!w || len > TCP_MAX_OPTS)
		return 0;
	if (len < 1)
		return 0;
	if (bpf_skb_load_bytes(skb, opts_off, w->bytes, len) < 0)
		return 0;
	bpf_loop(TCP_MAX_OPTS, opt_step, &ow, 0);
	return ow.found ? ow.found + (opts_off << 8) : 0;
}

/* Map every SACK block of the TCP header at tcp_off (doff bytes long)
 * back into the peer's input. */
__noinline int translate_sack(struct __sk_buff *skb, struct imw_xlate_dir *peer, __u32 tcp_off,
			      __u32 doff)
{
	__u32 found, off, n, b, edge[2], mapped, csum_off = tcp_off + TCP_CSUM_OFF;

	if (!skb || !peer || doff <= TCP_OPTS_OFF)
		return 0;
	found = find_sack(skb, tcp_off + TCP_OPTS_OFF, (__u64)doff - TCP_OPTS_OFF);
	off = found >> 8;
	n = found & 0xff;
	for (b = 0; b < SACK_MAX_BLOCKS; b++) {
		if (b >= n)
			break;
		if (bpf_skb_load_bytes(skb, off + b * 8, edge, 8) < 0)
			return -1;
		mapped = map_out(peer, bpf_ntohl(edge[0]), MAP_SACK_LEFT);
		if (mapped != bpf_ntohl(edge[0]))
			store_u32(skb, csum_off, off + b * 8, bpf_htonl(mapped));
		mapped = map_out(peer, bpf_ntohl(edge[1]), MAP_SACK_RIGHT);
		if (mapped != bpf_ntohl(edge[1]))
			store_u32(skb, csum_off, off + b * 8 + 4, bpf_htonl(mapped));
	}
	return 0;
}

#define HAVE_OWN 1u
#define HAVE_PEER 2u

/* Translate the packet with the copies in p (which of them exist: has),
 * as the daemon would have. Returns 1 when only a daemon can send it. */
__noinline int translate_packet(struct __sk_buff *skb, struct xlate_pair *p,
				struct tcp_packet *t, __u32 has)
{
	__u32 csum_off, mapped;

	if (!skb || !p || !t)
		return 0;
	csum_off = t->tcp_off + TCP_CSUM_OFF;
	if (has & HAVE_OWN) {
		if (must_hold(&p->own, t))
			return 1;
		mapped = xl_out_of_in(&p->own, t->seq);
		if (mapped != t->seq)
			store_u32(skb, csum_off, t->tcp_off + TCP_SEQ_OFF, bpf_htonl(mapped));
	}
	if ((has & HAVE_PEER) && (t->flags & TCP_FLAG_ACK)) {
		mapped = map_out(&p->peer, t->ack, MAP_ACK);
		if (mapped != t->ack)
			store_u32(skb, csum_off, t->tcp_off + TCP_ACK_OFF, bpf_htonl(mapped));
		if (t->doff > TCP_OPTS_OFF)
			translate_sack(skb, &p->peer, t->tcp_off, t->doff);
	}
	return 0;
}

/* The daemon is gone (or the protocol off): copy the flow's directions
 * out under their locks (folding what this packet acknowledges), then
 * translate, or drop what only a daemon can send. */
static __always_inline int translate(struct __sk_buff *skb, struct tcp_packet *t,
				     struct imw_xlate *own_x, struct imw_xlate *peer_x,
				     struct imw_counters *c)
{
	__u32 zero = 0, folded = 0, has = 0;
	struct xlate_pair *p = bpf_map_lookup_elem(&pair_scratch, &zero);
	__u64 now = bpf_ktime_get_ns();

	if (!p)
		return TC_ACT_OK;
	if (own_x) {
		take_dir(own_x, &p->own, 0, 0, now);
		has |= HAVE_OWN;
	}
	if (peer_x) {
		folded = take_dir(peer_x, &p->peer, t->flags & TCP_FLAG_ACK, t->ack, now);
		has |= HAVE_PEER;
	}
	if (c)
		c->folded += folded;
	if (translate_packet(skb, p, t, has)) {
		if (c)
			c->held_for_successor++;
		return TC_ACT_SHOT;
	}
	if (own_x && t->payload_len)
		note_passed(own_x, t->seq + t->payload_len);
	if (c)
		c->fixed_up++;
	return TC_ACT_OK;
}

/* A new connection on a 4-tuple whose entries a dead daemon left. */
static __always_inline void clear_stale(const struct tcp_packet *t, struct imw_counters *c)
{
	struct imw_xlate_key k = {};
	__u32 side;

	__builtin_memcpy(&k.flow, &t->key, sizeof(k.flow));
	for (side = 0; side < 2; side++) {
		k.side = side;
		if (bpf_map_delete_elem(&xlate, &k) == 0 && c)
			c->stale_cleared++;
	}
}

/* A steered flow's packet: marked for the daemon, or, for an edited
 * flow while the daemon is gone or the protocol off, translated here.
 * A global function, verified once rather than once per way the
 * classification before it can end. */
__noinline int handle_steered(struct __sk_buff *skb, struct tcp_packet *t, __u32 proto)
{
	struct imw_xlate *own_x, *peer_x;
	struct imw_proto_conf *conf;
	struct imw_counters *c;
	int on, edited;

	if (!skb || !t || proto >= IMW_PROTO_MAX)
		return TC_ACT_OK;
	conf = bpf_map_lookup_elem(&protocols, &proto);
	c = counters_of(proto);
	on = conf && conf->enabled;
	/* the barriers keep clang from testing both pointers in one OR,
	 * which the verifier refuses */
	own_x = xlate_of(t, t->dir);
	edited = own_x ? 1 : 0;
	barrier_var(edited);
	peer_x = xlate_of(t, t->dir ^ 1);
	if (peer_x)
		edited = 1;
	barrier_var(edited);
	if (edited && (t->flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN) {
		clear_stale(t, c);
		own_x = peer_x = NULL;
		edited = 0;
	}
	if (edited && !(on && daemon_alive())) {
		if (c)
			c->not_steered++;
		return translate(skb, t, own_x, peer_x, c);
	}
	if (!on) {
		if (c)
			c->not_steered++;
		return TC_ACT_OK;
	}
	if (edited) {
		/* the flow is alive (what an idle reaper compares): a plain
		 * store, the lock guards the edit list only */
		__u64 now = bpf_ktime_get_ns();

		if (own_x)
			own_x->stamp_ns = now;
		if (peer_x)
			peer_x->stamp_ns = now;
	}
	skb->mark = imw_mark_steer(skb->mark, proto);
	if (c)
		c->steered++;
	return TC_ACT_OK;
}

SEC("tc")
int imwire_classify(struct __sk_buff *skb)
{
	struct tcp_packet t = {};
	struct imw_flow_state *st;
	struct imw_counters *c;

	if (parse(skb, &t) < 0)
		return TC_ACT_OK;
	st = flow_state(skb, &t);
	if (!st)
		return TC_ACT_OK;
	if (st->verdict == IMW_FLOW_UNDECIDED)
		classify(skb, &t, st);
	if (st->verdict != IMW_FLOW_STEER) {
		c = counters_of(IMW_PROTO_NONE);
		if (c)
			c->not_steered++;
		return TC_ACT_OK;
	}
	return handle_steered(skb, &t, st->proto);
}
