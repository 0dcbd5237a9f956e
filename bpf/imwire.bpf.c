// SPDX-License-Identifier: GPL-2.0
/* The tc classifier: decides per TCP flow whether the daemon must see it,
 * and marks its packets so that the steering rule queues them.
 *
 * A flow is decided once (well-known port, or payload signature of its
 * first data packets) and remembered in an LRU hash, so every later
 * packet costs one lookup. A flow whose protocol is switched off, or
 * whose daemon stopped beating, is no longer marked; if the daemon had
 * changed its lengths, the published seq/ack deltas are applied here so
 * the connection keeps working. Map layouts: include/imwire/bpf_maps.h. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "imwire/bpf_maps.h"
#include "imwire/marks.h"
#include "imwire/signatures.h"

#define TC_ACT_OK 0
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_NUM 6
#define TCP_FLAG_ACK 0x10
#define TCP_SEQ_OFF 4
#define TCP_ACK_OFF 8
#define TCP_CSUM_OFF 16

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
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IMW_PROTO_MAX);
	__type(key, __u32);
	__type(value, struct imw_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct imw_heartbeat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} heartbeat SEC(".maps");

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

/* What the parser learned about one packet. */
struct tcp_packet {
	struct imw_flow_key key;
	__u32 tcp_off;     /* offset of the TCP header in the frame */
	__u32 payload_off;
	__u32 payload_len;
	__u8 flags;
	__u8 dir; /* 0: sent by side a of the canonical key, 1: by side b */
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

/* Decide an undecided flow on this packet when it can. */
static __always_inline void classify(struct __sk_buff *skb, const struct tcp_packet *t,
				     struct imw_flow_state *st)
{
	struct imw_counters *c;
	__u32 proto;

	if (t->payload_len == 0)
		return;
	proto = payload_proto(skb, t);
	if (proto != IMW_PROTO_NONE && proto < IMW_PROTO_MAX) {
		st->verdict = IMW_FLOW_STEER;
		st->proto = (__u8)proto;
	} else if (++st->data_packets >= IMW_CLASSIFY_PACKETS) {
		st->verdict = IMW_FLOW_IGNORE;
	} else {
		return;
	}
	c = counters_of(st->verdict == IMW_FLOW_STEER ? st->proto : IMW_PROTO_NONE);
	if (c)
		c->flows++;
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
	if (proto != IMW_PROTO_NONE && proto < IMW_PROTO_MAX) {
		fresh.verdict = IMW_FLOW_STEER;
		fresh.proto = (__u8)proto;
		c = counters_of(proto);
		if (c)
			c->flows++;
	}
	if (bpf_map_update_elem(&flows, &t->key, &fresh, BPF_NOEXIST) < 0)
		return bpf_map_lookup_elem(&flows, &t->key); /* another CPU won */
	return bpf_map_lookup_elem(&flows, &t->key);
}

static __always_inline int daemon_alive(void)
{
	__u32 zero = 0;
	struct imw_heartbeat *hb = bpf_map_lookup_elem(&heartbeat, &zero);
	__u64 timeout;

	if (!hb || hb->last_ns == 0)
		return 0;
	timeout = hb->timeout_ns ? hb->timeout_ns : IMW_HEARTBEAT_TIMEOUT_NS;
	return bpf_ktime_get_ns() - hb->last_ns < timeout;
}

/* Replace a 32-bit header field, keeping the TCP checksum right. */
static __always_inline int rewrite_u32(struct __sk_buff *skb, const struct tcp_packet *t,
				       __u32 field_off, __u32 delta, int add)
{
	__u32 old_be, new_be;

	if (bpf_skb_load_bytes(skb, t->tcp_off + field_off, &old_be, 4) < 0)
		return -1;
	new_be = bpf_htonl(add ? bpf_ntohl(old_be) + delta : bpf_ntohl(old_be) - delta);
	if (bpf_l4_csum_replace(skb, t->tcp_off + TCP_CSUM_OFF, old_be, new_be, 4) < 0)
		return -1;
	return bpf_skb_store_bytes(skb, t->tcp_off + field_off, &new_be, 4, 0);
}

/* The daemon's collapsed offsets, applied without it: seq of what this
 * side sends, ack of what the other side sent. */
static __always_inline void fix_up(struct __sk_buff *skb, const struct tcp_packet *t,
				   const struct imw_flow_state *st)
{
	__u32 own = (__u32)st->seq_delta[t->dir & 1];
	__u32 peer = (__u32)st->seq_delta[(t->dir ^ 1) & 1];

	if (own)
		rewrite_u32(skb, t, TCP_SEQ_OFF, own, 1);
	if (peer && (t->flags & TCP_FLAG_ACK))
		rewrite_u32(skb, t, TCP_ACK_OFF, peer, 0);
}

SEC("tc")
int imwire_classify(struct __sk_buff *skb)
{
	struct tcp_packet t = {};
	struct imw_flow_state *st;
	struct imw_proto_conf *conf;
	struct imw_counters *c;
	__u32 proto;

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
	proto = st->proto;
	if (proto >= IMW_PROTO_MAX)
		return TC_ACT_OK;
	conf = bpf_map_lookup_elem(&protocols, &proto);
	c = counters_of(proto);
	if (!conf || !conf->enabled || ((st->flags & IMW_FLOW_HAS_DELTA) && !daemon_alive())) {
		if (st->flags & IMW_FLOW_HAS_DELTA) {
			fix_up(skb, &t, st);
			if (c)
				c->fixed_up++;
		}
		if (c)
			c->not_steered++;
		return TC_ACT_OK;
	}
	skb->mark = imw_mark_steer(skb->mark, proto);
	if (c)
		c->steered++;
	return TC_ACT_OK;
}
