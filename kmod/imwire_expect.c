// SPDX-License-Identifier: GPL-2.0
/* Expected connections (file transfers, #20): the kernel module's copy
 * of the BPF classifier's expect map (include/imwire/bpf_maps.h). The
 * daemon writes one line to /sys/kernel/imwire/expect:
 *	add LISTEN-ADDR PORT PROTO SECONDS [PEER-ADDR]
 *	del LISTEN-ADDR PORT [PEER-ADDR]
 * and a new flow to a live entry is steered as its protocol, from any
 * source port (and from PEER-ADDR only, when given); reading the file
 * lists the entries. A fixed table: past it, the entry that expires
 * first gives way. */
#include <linux/inet.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "imwire.h"

#define IMW_KMOD_EXPECT_SLOTS 256

struct imw_kexpect {
	bool used;
	u8 listen[16];
	u8 peer[16]; /* zeros: any */
	u16 port;
	enum imw_proto proto;
	unsigned long expires; /* jiffies */
};

static struct imw_kexpect expects[IMW_KMOD_EXPECT_SLOTS];
static DEFINE_SPINLOCK(expect_lock);

/* A numeric IPv4 or IPv6 address, IPv4 v4-mapped as the flow table keeps it. */
static bool parse_addr(const char *s, u8 out[16])
{
	memset(out, 0, 16);
	if (in4_pton(s, -1, out + 12, -1, NULL)) {
		out[10] = out[11] = 0xff;
		return true;
	}
	return in6_pton(s, -1, out, -1, NULL) == 1;
}

static enum imw_proto proto_by_name(const char *name)
{
	unsigned int i;

	for (i = IMW_PROTO_NONE + 1; i < IMW_PROTO_MAX; i++)
		if (imw_protos[i].name && strcmp(imw_protos[i].name, name) == 0)
			return i;
	return IMW_PROTO_NONE;
}

static bool same_place(const struct imw_kexpect *e, const u8 *listen, u16 port, const u8 *peer)
{
	return e->used && e->port == port && !memcmp(e->listen, listen, 16) &&
	       !memcmp(e->peer, peer, 16);
}

/* Where a new entry goes: its own place, a free or dead one, else the one
 * that expires first. Under expect_lock. */
static struct imw_kexpect *slot_for(const u8 *listen, u16 port, const u8 *peer)
{
	struct imw_kexpect *first = &expects[0];
	unsigned int i;

	for (i = 0; i < IMW_KMOD_EXPECT_SLOTS; i++)
		if (same_place(&expects[i], listen, port, peer))
			return &expects[i];
	for (i = 0; i < IMW_KMOD_EXPECT_SLOTS; i++) {
		if (!expects[i].used || time_after_eq(jiffies, expects[i].expires))
			return &expects[i];
		if (time_before(expects[i].expires, first->expires))
			first = &expects[i];
	}
	return first;
}

ssize_t imw_expect_store(const char *buf, size_t count)
{
	char op[8], listen_s[64], proto_s[16], peer_s[64] = "";
	u8 listen[16], peer[16];
	unsigned int port, secs = 0, i;
	struct imw_kexpect *e;
	enum imw_proto proto = IMW_PROTO_NONE;
	int n;

	n = sscanf(buf, "%7s %63s %u", op, listen_s, &port);
	if (n != 3 || port == 0 || port > 65535 || !parse_addr(listen_s, listen))
		return -EINVAL;
	memset(peer, 0, sizeof(peer));
	if (!strcmp(op, "add")) {
		n = sscanf(buf, "%7s %63s %u %15s %u %63s", op, listen_s, &port, proto_s, &secs,
			   peer_s);
		proto = n >= 5 ? proto_by_name(proto_s) : IMW_PROTO_NONE;
		if (proto == IMW_PROTO_NONE || secs == 0 || secs > 86400 ||
		    (n == 6 && !parse_addr(peer_s, peer)))
			return -EINVAL;
		spin_lock_bh(&expect_lock);
		e = slot_for(listen, (u16)port, peer);
		e->used = true;
		memcpy(e->listen, listen, 16);
		memcpy(e->peer, peer, 16);
		e->port = (u16)port;
		e->proto = proto;
		e->expires = jiffies + secs * HZ;
		spin_unlock_bh(&expect_lock);
		return count;
	}
	if (strcmp(op, "del"))
		return -EINVAL;
	if (sscanf(buf, "%7s %63s %u %63s", op, listen_s, &port, peer_s) == 4 &&
	    !parse_addr(peer_s, peer))
		return -EINVAL;
	spin_lock_bh(&expect_lock);
	for (i = 0; i < IMW_KMOD_EXPECT_SLOTS; i++)
		if (same_place(&expects[i], listen, (u16)port, peer))
			expects[i].used = false;
	spin_unlock_bh(&expect_lock);
	return count;
}

ssize_t imw_expect_show(char *buf)
{
	ssize_t n = 0;
	unsigned int i;

	spin_lock_bh(&expect_lock);
	for (i = 0; i < IMW_KMOD_EXPECT_SLOTS; i++) {
		const struct imw_kexpect *e = &expects[i];

		if (!e->used || time_after_eq(jiffies, e->expires))
			continue;
		n += sysfs_emit_at(buf, n, "%pI6c %u %s %u %pI6c\n", e->listen, e->port,
				   imw_protos[e->proto].name,
				   jiffies_to_msecs(e->expires - jiffies) / 1000, e->peer);
	}
	spin_unlock_bh(&expect_lock);
	return n;
}

static enum imw_proto lookup(const u8 *listen, u16 port, const u8 *peer)
{
	static const u8 any[16];
	enum imw_proto found = IMW_PROTO_NONE;
	unsigned int i;

	for (i = 0; i < IMW_KMOD_EXPECT_SLOTS && found == IMW_PROTO_NONE; i++) {
		const struct imw_kexpect *e = &expects[i];

		if (e->used && e->port == port && !memcmp(e->listen, listen, 16) &&
		    (!memcmp(e->peer, peer, 16) || !memcmp(e->peer, any, 16)) &&
		    time_before(jiffies, e->expires))
			found = e->proto;
	}
	return found;
}

enum imw_proto imw_expect_proto(const u8 *src, u16 sport, const u8 *dst, u16 dport)
{
	enum imw_proto proto;

	spin_lock_bh(&expect_lock);
	proto = lookup(dst, dport, src);
	if (proto == IMW_PROTO_NONE)
		proto = lookup(src, sport, dst);
	spin_unlock_bh(&expect_lock);
	return proto;
}
