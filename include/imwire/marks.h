/* The packet mark contract between the kernel classifiers (tc BPF and
 * imwire.ko) and the daemon's steering rules.
 *
 * Bits 16..23 carry the protocol id (enum imw_proto), bit 24 tells the
 * steering rule to queue the packet, bit 25 says the daemon released the
 * flow so later packets skip the queue. The rest of the mark belongs to
 * whoever else uses marks on the host: classifiers change only
 * IMW_MARK_MASK. */
#ifndef IMWIRE_MARKS_H
#define IMWIRE_MARKS_H

#define IMW_MARK_PROTO_SHIFT 16
#define IMW_MARK_PROTO_MASK 0x00ff0000u
#define IMW_MARK_STEER 0x01000000u
#define IMW_MARK_RELEASED 0x02000000u
#define IMW_MARK_MASK (IMW_MARK_PROTO_MASK | IMW_MARK_STEER | IMW_MARK_RELEASED)

/* For iptables: -m mark --mark IMW_MARK_STEER_MATCH */
#define IMW_MARK_STEER_MATCH "0x1000000/0x1000000"

static inline unsigned int imw_mark_steer(unsigned int mark, unsigned int proto)
{
	return (mark & ~IMW_MARK_MASK) | IMW_MARK_STEER |
	       ((proto << IMW_MARK_PROTO_SHIFT) & IMW_MARK_PROTO_MASK);
}

static inline unsigned int imw_mark_proto(unsigned int mark)
{
	return (mark & IMW_MARK_PROTO_MASK) >> IMW_MARK_PROTO_SHIFT;
}

#endif
