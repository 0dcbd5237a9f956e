/* Steering rules: the iptables/ip6tables rules that send IM traffic
 * crossing a bridge to imwired's queue(s), and that exempt those flows
 * from conntrack (rewritten packets would look INVALID to it). Every rule
 * carries the comment "imwire" so that removal takes exactly ours. */
#ifndef IMW_SETUP_H
#define IMW_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SETUP_MAX_PORTS 15 /* iptables multiport's limit */
#define SETUP_COMMENT "imwire"

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
};

/* Default ports: every protocol module's well-known ports. */
void setup_default_ports(struct setup_options *o);
/* Parse "6667,5222,7000-7002"; false with a message on error. */
bool setup_parse_ports(struct setup_options *o, const char *text, char *err, size_t err_size);

/* Install (idempotent) or remove our rules. Commands are echoed to `log`
 * (always in dry-run mode). Returns 0, or -1 when a command failed. */
int setup_install(const struct setup_options *o, FILE *log);
int setup_remove(bool dry_run, FILE *log);

#endif
