// SPDX-License-Identifier: GPL-2.0
/* imwire.ko: marks the packets of IM flows for the steering rule, like
 * the tc BPF classifier (bpf/imwire.bpf.c) does, from a netfilter hook
 * at PRE_ROUTING ahead of the raw table, so that `-j CT --notrack` and
 * the NFQUEUE rule can match the mark. The port map and payload
 * signatures decide a flow once; the protocol switches are read on every
 * packet, so switching a protocol off takes effect at once. */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/net_namespace.h>

#include "imwire.h"
#include "imwire/marks.h"
#include "imwire/signatures.h"

#define IMW_SIG_BYTES 256

DEFINE_SPINLOCK(imw_conf_lock);

#define PROTO_ROW(ID, num, nm, ims, cfg, alt, sig, ...)                                  \
	[IMW_PROTO_##ID] = { .name = #nm, .id = IMW_PROTO_##ID, .enabled = true,          \
			     .ports = { __VA_ARGS__ },                                       \
			     .n_ports = sizeof((u16[]){ __VA_ARGS__ }) / sizeof(u16) },

/* The protocol table's rows (include/imwire/protocols.h), with their
 * well-known ports. */
struct imw_kproto imw_protos[IMW_PROTO_MAX] = {
	[IMW_PROTO_NONE] = { .name = "other", .id = IMW_PROTO_NONE },
	IMW_PROTOCOLS(PROTO_ROW)
};

/* Is port in the list of a protocol numbered below id? */
static bool __init imw_port_listed_below(unsigned int id, u16 port)
{
	unsigned int i, j;

	for (i = IMW_PROTO_NONE + 1; i < id; i++)
		for (j = 0; j < imw_protos[i].n_ports; j++)
			if (imw_protos[i].ports[j] == port)
				return true;
	return false;
}

/* A port two protocols list (5190: OSCAR and TOC) goes to the lower
 * number, the one imw_port_proto finds first: drop it from the other's
 * list, so that sysfs shows each port once. */
static void __init imw_ports_dedup(void)
{
	unsigned int i, j, n;

	for (i = IMW_PROTO_NONE + 1; i < IMW_PROTO_MAX; i++) {
		struct imw_kproto *p = &imw_protos[i];

		for (j = 0, n = 0; j < p->n_ports; j++)
			if (!imw_port_listed_below(i, p->ports[j]))
				p->ports[n++] = p->ports[j];
		p->n_ports = n;
	}
}

enum imw_proto imw_port_proto(u16 a, u16 b)
{
	enum imw_proto found = IMW_PROTO_NONE;
	unsigned int i, j;

	spin_lock_bh(&imw_conf_lock);
	for (i = IMW_PROTO_NONE + 1; i < IMW_PROTO_MAX && found == IMW_PROTO_NONE; i++)
		for (j = 0; j < imw_protos[i].n_ports; j++)
			if (imw_protos[i].ports[j] == a || imw_protos[i].ports[j] == b) {
				found = i;
				break;
			}
	spin_unlock_bh(&imw_conf_lock);
	return found;
}

/* Canonical order, as the BPF classifier keys its flows. */
static void tuple_order(struct imw_flow_tuple *t, const u8 *src, const u8 *dst, u16 sport,
			u16 dport)
{
	int cmp = memcmp(src, dst, 16);

	if (cmp == 0)
		cmp = sport < dport ? -1 : (sport > dport ? 1 : 0);
	if (cmp <= 0) {
		memcpy(t->addr_a, src, 16);
		memcpy(t->addr_b, dst, 16);
		t->port_a = sport;
		t->port_b = dport;
	} else {
		memcpy(t->addr_a, dst, 16);
		memcpy(t->addr_b, src, 16);
		t->port_a = dport;
		t->port_b = sport;
	}
}

static void count_passed(enum imw_proto proto)
{
	atomic64_inc(&imw_protos[proto].passed);
}

/* tcp_off: offset of the TCP header from skb->data; tcp_len: TCP header
 * and payload bytes as the IP header tells. */
static void classify_tcp(struct sk_buff *skb, unsigned int tcp_off, unsigned int tcp_len,
			 const u8 *src, const u8 *dst)
{
	u8 window[IMW_SIG_BYTES];
	struct imw_flow_tuple t;
	struct tcphdr _th;
	const struct tcphdr *th;
	struct imw_kflow st, seen;
	unsigned int hlen, plen;
	const u8 *payload;
	enum imw_proto proto;

	th = skb_header_pointer(skb, tcp_off, sizeof(_th), &_th);
	if (!th)
		return;
	hlen = th->doff * 4;
	if (hlen < sizeof(*th) || hlen > tcp_len)
		return;
	plen = tcp_len - hlen;
	memset(&t, 0, sizeof(t));
	tuple_order(&t, src, dst, ntohs(th->source), ntohs(th->dest));
	imw_flows_get(&t, &st);
	if (st.verdict == IMW_KFLOW_UNDECIDED && st.data_packets == 0) {
		proto = imw_expect_proto(src, ntohs(th->source), dst, ntohs(th->dest));
		if (proto == IMW_PROTO_NONE)
			proto = imw_port_proto(t.port_a, t.port_b);
		if (proto != IMW_PROTO_NONE) {
			seen = st;
			st.verdict = IMW_KFLOW_STEER;
			st.proto = proto;
			/* counted by the CPU whose decision stands */
			if (imw_flows_update(&t, &seen, &st))
				atomic64_inc(&imw_protos[proto].flows);
		}
	}
	if (st.verdict == IMW_KFLOW_UNDECIDED && plen > 0) {
		plen = min_t(unsigned int, plen, sizeof(window));
		payload = skb_header_pointer(skb, tcp_off + hlen, plen, window);
		proto = payload ? imw_sig_classify(payload, plen) : IMW_PROTO_NONE;
		seen = st;
		if (proto != IMW_PROTO_NONE) {
			st.verdict = IMW_KFLOW_STEER;
			st.proto = proto;
		} else if (++st.data_packets >= IMW_KMOD_CLASSIFY_PACKETS) {
			st.verdict = IMW_KFLOW_IGNORE;
		}
		if (imw_flows_update(&t, &seen, &st) && st.verdict != IMW_KFLOW_UNDECIDED)
			atomic64_inc(&imw_protos[st.verdict == IMW_KFLOW_STEER ? st.proto :
								    IMW_PROTO_NONE].flows);
	}
	if (st.verdict != IMW_KFLOW_STEER || st.proto >= IMW_PROTO_MAX) {
		count_passed(IMW_PROTO_NONE);
		return;
	}
	if (!READ_ONCE(imw_protos[st.proto].enabled)) {
		count_passed(st.proto);
		return;
	}
	skb->mark = imw_mark_steer(skb->mark, st.proto);
	atomic64_inc(&imw_protos[st.proto].marked);
}

static unsigned int imw_hook_ipv4(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	u8 src[16] = { [10] = 0xff, [11] = 0xff }, dst[16] = { [10] = 0xff, [11] = 0xff };
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int ihl, total;

	if (!iph || iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
		return NF_ACCEPT;
	ihl = iph->ihl * 4;
	total = ntohs(iph->tot_len);
	if (ihl < sizeof(*iph) || total < ihl)
		return NF_ACCEPT;
	memcpy(src + 12, &iph->saddr, 4);
	memcpy(dst + 12, &iph->daddr, 4);
	classify_tcp(skb, skb_network_offset(skb) + ihl, total - ihl, src, dst);
	return NF_ACCEPT;
}

static unsigned int imw_hook_ipv6(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);

	if (!ip6h || ip6h->nexthdr != IPPROTO_TCP)
		return NF_ACCEPT;
	classify_tcp(skb, skb_network_offset(skb) + sizeof(*ip6h), ntohs(ip6h->payload_len),
		     ip6h->saddr.s6_addr, ip6h->daddr.s6_addr);
	return NF_ACCEPT;
}

static const struct nf_hook_ops imw_nf_ops[] = {
	{
		.hook = imw_hook_ipv4,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_RAW - 1,
	},
	{
		.hook = imw_hook_ipv6,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP6_PRI_RAW - 1,
	},
};

static int __net_init imw_net_init(struct net *net)
{
	return nf_register_net_hooks(net, imw_nf_ops, ARRAY_SIZE(imw_nf_ops));
}

static void __net_exit imw_net_exit(struct net *net)
{
	nf_unregister_net_hooks(net, imw_nf_ops, ARRAY_SIZE(imw_nf_ops));
}

static struct pernet_operations imw_net_ops = {
	.init = imw_net_init,
	.exit = imw_net_exit,
};

static int __init imw_init(void)
{
	int err;

	imw_ports_dedup();
	err = imw_flows_init();
	if (err)
		return err;
	err = imw_sysfs_init();
	if (err)
		goto fail_flows;
	err = register_pernet_subsys(&imw_net_ops);
	if (err)
		goto fail_sysfs;
	pr_info("imwire: classifier loaded\n");
	return 0;
fail_sysfs:
	imw_sysfs_exit();
fail_flows:
	imw_flows_exit();
	return err;
}

static void __exit imw_exit(void)
{
	unregister_pernet_subsys(&imw_net_ops);
	imw_sysfs_exit();
	imw_flows_exit();
	pr_info("imwire: classifier unloaded\n");
}

module_init(imw_init);
module_exit(imw_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("imwire: IM flow classifier with sysfs protocol switches");
