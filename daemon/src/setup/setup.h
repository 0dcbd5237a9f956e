/* Steering rules: the rules that send IM traffic crossing a bridge to
 * imwired's queue(s), and that exempt those flows from conntrack
 * (rewritten packets would look INVALID to it). Two backends: iptables
 * and ip6tables (every rule carries the comment "imwire"), or one
 * nftables table per bridge ("inet imwire_BRIDGE") where the kernel has
 * `nft queue`. Before installing, the bridge is checked: it must exist
 * and br_netfilter must hand its packets to the IP hooks. */
#ifndef IMW_SETUP_H
#define IMW_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SETUP_MAX_PORTS 15 /* iptables multiport's limit */
#define SETUP_COMMENT "imwire"
#define SETUP_NFT_TABLE_PREFIX "imwire_"

enum setup_backend {
	SETUP_BACKEND_AUTO,     /* nftables when `nft queue` works here, else iptables */
	SETUP_BACKEND_IPTABLES,
	SETUP_BACKEND_NFTABLES,
};

struct setup_options {
	const char *bridge;
	unsigned queue_first;
	unsigned queue_last;
	uint16_t ports[SETUP_MAX_PORTS];
	size_t n_ports;
	bool dry_run;
	/* Steer what the kernel classifier marked (IMW_MARK_STEER) instead of
	 * matching ports. */
	bool by_mark;
	enum setup_backend backend;
	/* Set net.bridge.bridge-nf-call-ip{,6}tables=1 (loading br_netfilter
	 * first) instead of refusing when it is off. */
	bool fix;
};

/* Default ports: every protocol module's well-known ports. */
void setup_default_ports(struct setup_options *o);
/* Parse "6667,5222,7000-7002"; false with a message on error. */
bool setup_parse_ports(struct setup_options *o, const char *text, char *err, size_t err_size);
/* "auto", "iptables", "nftables"; false when none. */
bool setup_parse_backend(const char *text, enum setup_backend *out);
const char *setup_backend_name(enum setup_backend b);

/* The bridge exists, is a bridge, and br_netfilter passes its IPv4 and
 * IPv6 packets to the IP hooks (with fix: made so). Messages for each
 * change go to log. 0, or -1 with the reason in err. */
int setup_check_bridge(const char *bridge, bool fix, bool dry_run, FILE *log, char *err,
		       size_t err_size);
/* The interfaces enslaved to bridge, each a malloc'd name in a malloc'd
 * array (free with setup_free_names). -1 with err when bridge is not a
 * bridge here. */
int setup_bridge_ports(const char *bridge, char ***names, size_t *n, char *err, size_t err_size);
void setup_free_names(char **names, size_t n);

/* Whether nftables can queue here: nft is installed and the kernel takes
 * a queue statement (CONFIG_NFT_QUEUE), tried in a table that is added
 * and deleted in one transaction. false with the reason in why. */
bool setup_nft_queue_works(char *why, size_t why_size);

/* Install (idempotent) or remove our rules; check the bridge first
 * (setup_check_bridge). Commands are echoed to `log` (in dry-run mode
 * only echoed; the nftables backend's are a script for `nft -f`). The
 * backend used is said on `note` (one line). Returns 0, or -1 with err
 * when a command failed. */
int setup_install(const struct setup_options *o, FILE *log, FILE *note, char *err,
		  size_t err_size);
/* Remove the rules of both backends: of bridge only, or (NULL) every
 * rule and table of ours. */
int setup_remove(const char *bridge, bool dry_run, FILE *log);

/* The backends, for setup_install/remove. */
int setup_iptables_install(const struct setup_options *o, FILE *log);
int setup_iptables_remove(const char *bridge, bool dry_run, FILE *log);
/* The nftables script for o (add table, chains and rules), to out. */
int setup_nft_write_script(const struct setup_options *o, FILE *out);
int setup_nft_install(const struct setup_options *o, FILE *log);
int setup_nft_remove(const char *bridge, bool dry_run, FILE *log);

#endif
