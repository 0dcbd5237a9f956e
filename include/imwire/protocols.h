/* Protocol identifiers shared by the BPF classifier, the kernel module and
 * the daemon. The numbers are part of the pinned-map and sysfs contract:
 * append, never renumber. */
#ifndef IMWIRE_PROTOCOLS_H
#define IMWIRE_PROTOCOLS_H

enum imw_proto {
	IMW_PROTO_NONE = 0,
	IMW_PROTO_IRC = 1,
	IMW_PROTO_IMIP = 2,
	IMW_PROTO_OSCAR = 3,
	IMW_PROTO_TOC = 4,
	IMW_PROTO_MSN = 5,
	IMW_PROTO_YMSG = 6,
	IMW_PROTO_XMPP = 7,
	IMW_PROTO_GG = 8,
	IMW_PROTO_MAX
};

#endif
