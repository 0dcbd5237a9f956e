/* The protocol table: every protocol's identity, once, for the BPF
 * classifier, the kernel module and the daemon. Each expands
 * IMW_PROTOCOLS(X) into what it needs (the enum below, the signature
 * checks in order, the kernel module's sysfs entries, the daemon's module
 * registry, event names, configuration keys, port hints); nothing else
 * names a protocol. Adding one: docs/adding-a-protocol.md.
 *
 * One row per protocol, rows in detection order: the classifiers try the
 * signatures (include/imwire/signatures.h) and the daemon asks its
 * modules in this order, so a stricter check comes before a looser one
 * that would also match: TOC before OSCAR (FLAPON and TOC's text frames
 * ride OSCAR's FLAP framing), IMIP and MSN before IRC ("VER 1 MSNP8" and
 * IMIP's block lines pass IRC's loose check), IRC last. The columns:
 *
 *   ID    enum imw_proto IMW_PROTO_<ID>
 *   num   its number: part of the pinned-map, mark and sysfs contract;
 *         append, never renumber (1..count, no holes; a number used
 *         twice fails the build: -Woverride-init in daemon/src/proto/registry.c)
 *   nm    lower-case name: JSON lines, sysfs directory, `imwire proto`,
 *         the daemon's module proto_<nm> in daemon/src/proto/<nm>/
 *   ims   IMSpector's name for it: its log directory and `protocolname`
 *   cfg   IMSpector's configuration name: the key is <cfg>_protocol
 *   alt   one more accepted name in protocol lists, or nothing
 *   sig   the payload signature of a flow's first bytes (signatures.h)
 *   ...   well-known server ports (hints: detection is by payload). A
 *         port two rows list is steered, before any payload, as the
 *         first of them in detection order by the BPF classifier
 *         (daemon/src/classifier/) and as the lower number by the
 *         kernel module (kmod/imwire_main.c). */
#ifndef IMWIRE_PROTOCOLS_H
#define IMWIRE_PROTOCOLS_H

/*	ID	num	nm	ims		cfg	alt	sig			ports */
#define IMW_PROTOCOLS(X)                                                                     \
	X(TOC,   4, toc,   "ICQ-AIM", toc,    ,    imw_sig_toc,        9898, 5190)        \
	X(OSCAR, 3, oscar, "ICQ-AIM", icq,    aim, imw_sig_oscar_flap, 5190)              \
	X(YMSG,  6, ymsg,  "Yahoo",   yahoo,  ,    imw_sig_ymsg,       5050)              \
	X(IMIP,  2, imip,  "IMIP",    imip,   ,    imw_sig_imip,       11319)             \
	X(XMPP,  7, xmpp,  "Jabber",  jabber, ,    imw_sig_xmpp,       5222, 5269)        \
	X(GG,    8, gg,    "GG",      gg,     ,    imw_sig_gg,         8074)              \
	X(MSN,   5, msn,   "MSN",     msn,    ,    imw_sig_msn,        1863)              \
	X(IRC,   1, irc,   "IRC",     irc,    ,    imw_sig_irc_start,  6667, 6668, 6669, 6697, 7000)

#define IMW_PROTO_ENUM_ROW(ID, num, ...) IMW_PROTO_##ID = num,
#define IMW_PROTO_COUNT_ROW(...) +1

enum imw_proto {
	IMW_PROTO_NONE = 0,
	IMW_PROTOCOLS(IMW_PROTO_ENUM_ROW)
	IMW_PROTO_MAX = 1 IMW_PROTOCOLS(IMW_PROTO_COUNT_ROW)
};

/* Expand IMW_PROTOCOLS rows into string literals. */
#define IMW_PROTO_STR(tok) IMW_PROTO_STR_(tok)
#define IMW_PROTO_STR_(tok) #tok

#endif
