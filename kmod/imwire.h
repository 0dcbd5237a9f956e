/* SPDX-License-Identifier: GPL-2.0 */
/* imwire.ko: a netfilter classifier with the BPF program's contract
 * (include/imwire/: protocol ids, payload signatures, mark bits), for
 * hosts where tc BPF is not allowed. Switches and counters live in sysfs
 * under /sys/kernel/imwire/protocols/<name>/. */
#ifndef IMWIRE_KMOD_H
#define IMWIRE_KMOD_H

#include <linux/atomic.h>
#include <linux/kobject.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "imwire/protocols.h"

#define IMW_KMOD_MAX_PORTS 16
#define IMW_KMOD_CLASSIFY_PACKETS 4

struct imw_kproto {
	const char *name;
	enum imw_proto id;
	bool enabled;
	u16 ports[IMW_KMOD_MAX_PORTS];
	unsigned int n_ports;
	atomic64_t flows;  /* classified as this protocol */
	atomic64_t marked; /* packets given the steer mark */
	atomic64_t passed; /* packets let by unmarked while switched off */
	struct kobject *kobj;
};

/* Indexed by enum imw_proto; [IMW_PROTO_NONE] counts everything else. */
extern struct imw_kproto imw_protos[IMW_PROTO_MAX];
/* Guards enabled and ports of every protocol. */
extern spinlock_t imw_conf_lock;

enum imw_proto imw_port_proto(u16 a, u16 b);

/* Flow memory: a fixed table, a newer flow replaces an older one in
 * its slot (the classifier then decides that flow again). */
struct imw_flow_tuple {
	u8 addr_a[16];
	u8 addr_b[16];
	u16 port_a;
	u16 port_b;
};

enum imw_kflow_verdict {
	IMW_KFLOW_UNDECIDED,
	IMW_KFLOW_STEER,
	IMW_KFLOW_IGNORE,
};

struct imw_kflow {
	enum imw_kflow_verdict verdict;
	enum imw_proto proto;
	unsigned int data_packets;
};

int imw_flows_init(void);
void imw_flows_exit(void);
/* Find or create the flow; *found = its state copied out. */
void imw_flows_get(const struct imw_flow_tuple *t, struct imw_kflow *found);
/*
 * Store *state for the flow if it still holds *seen (what imw_flows_get
 * gave): two CPUs classifying one flow at once must not both count it,
 * nor one undo the other's decision. Returns true when stored; false
 * when another CPU changed it first (*state is then the flow's state as
 * that CPU left it) or the slot went to another flow (*state unchanged).
 */
bool imw_flows_update(const struct imw_flow_tuple *t, const struct imw_kflow *seen,
		      struct imw_kflow *state);

/* Expected connections (imwire_expect.c): a new flow's protocol when a
 * file offer announced it, else IMW_PROTO_NONE; the sysfs file's I/O. */
enum imw_proto imw_expect_proto(const u8 *src, u16 sport, const u8 *dst, u16 dport);
ssize_t imw_expect_store(const char *buf, size_t count);
ssize_t imw_expect_show(char *buf);

int imw_sysfs_init(void);
void imw_sysfs_exit(void);

#endif
