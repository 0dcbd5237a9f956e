/* Expectations: the data connections and in-stream transfers that file
 * offers announce, remembered until their data show up (after the
 * kernel's nf_conntrack_expect: an expected tuple, a timeout, and the
 * master's context, here the offer event itself).
 *
 * Fed with every event going down the flow (expect_offer keeps those
 * whose xfer announces a path); asked by the flow table when a connection
 * starts (expect_connection) and by the file stage when a module opens a
 * transfer inside its own stream or a SOCKS5 handshake names its
 * destination (expect_token). It decides nothing about the bytes.
 *
 * One table serves every worker: a DCC connection between two clients
 * need not land on the queue of the IRC session that offered it. Every
 * call takes the table's lock and nothing else; none blocks. Bounded:
 * the oldest entry gives way to a new one past max_entries, and each
 * lives for `timeout` seconds unless taken. */
#ifndef IMW_EXPECT_H
#define IMW_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

#define EXPECT_DEFAULT_MAX 1024
#define EXPECT_DEFAULT_TIMEOUT 300.0

struct expect_table;

/* What an expectation was when it was matched; offer is the caller's. */
struct expect_match {
	uint64_t id;
	enum imw_proto proto;
	struct im_xfer xfer;
	struct im_event offer; /* the announcing event (or the offer it completed) */
	/* expect_connection: the side of the connection that listens, as
	 * given (0: the first endpoint, 1: the second). */
	int listener;
};

struct expect_stats {
	uint64_t offered; /* events that announced something to expect */
	uint64_t matched; /* connections or transfers that found theirs */
	uint64_t expired; /* timed out unmatched */
	uint64_t pushed_out; /* the oldest, dropped for a new one past the bound */
	uint64_t alloc_failures;
	uint64_t now;     /* entries held now */
};

/* An entry as the kernel classifier is told of it (the steering of step
 * "inline"): the listening side, and the other side when it is known. */
struct expect_tuple {
	uint64_t id;
	enum imw_proto proto;
	uint8_t ip_version;
	uint8_t listen_addr[16];
	uint16_t listen_port;
	double expires;
	double ttl; /* seconds it lives from when it came */
};

/* Told of every tuple entry that comes (added true) and goes (taken,
 * expired, pushed out: false), under the table's lock: it must not call
 * back into the table. */
typedef void (*expect_watch_fn)(void *arg, const struct expect_tuple *t, bool added);

struct expect_table *expect_table_new(size_t max_entries, double timeout);
void expect_table_free(struct expect_table *t);
void expect_table_watch(struct expect_table *t, expect_watch_fn fn, void *arg);

/* Remember what ev announces (ev->xfer.path != IM_XFER_NONE), with a copy
 * of ev. An announcement of a path already expected (same protocol, path,
 * address and port, or same token) refreshes it instead. An event that
 * completes an offer (xfer.offer_id) takes that offer's event as its own.
 * 1: remembered, 0: nothing to expect, -1: out of memory (counted). */
int expect_offer(struct expect_table *t, const struct im_event *ev, double now);

enum expect_hit {
	EXPECT_NONE,
	EXPECT_TAKEN, /* a TCP or FRAMED expectation: *m filled, the entry gone */
	EXPECT_SOCKS5, /* some SOCKS5 expectation listens there: its handshake will tell */
	EXPECT_HTTP,   /* some HTTP expectation: its request's URL will tell */
};

/* A connection between (a, a_port) and (b, b_port) starts (ip_version 4:
 * the first 4 bytes of a and b). Either side may be the listener; a flow
 * seen from its SYN passes the server as b, and b is tried first. */
enum expect_hit expect_connection(struct expect_table *t, uint8_t ip_version, const uint8_t *a,
				  uint16_t a_port, const uint8_t *b, uint16_t b_port, double now,
				  struct expect_match *m);

/* The expectation of protocol proto (IMW_PROTO_NONE: any) and path
 * carrying token. take: remove it (a SOCKS5 destination is used once);
 * else leave it for others (both XMPP sessions of a transfer between two
 * local users see the same in-band stream). false when none. */
bool expect_token(struct expect_table *t, enum imw_proto proto, enum im_xfer_path path,
		  const uint8_t *token, size_t token_len, bool take, double now,
		  struct expect_match *m);

/* Drop every entry (the end of one of several unrelated captures). */
void expect_clear(struct expect_table *t);

/* Drop what timed out. Called now and then by each worker. */
void expect_expire(struct expect_table *t, double now);

void expect_stats_get(struct expect_table *t, struct expect_stats *out);

/* Parse "a.b.c.d:port" or "[v6]:port" (an event's client field) into an
 * address; false when it is neither. */
bool expect_parse_endpoint(const char *s, uint8_t *ip_version, uint8_t addr[16],
			   uint16_t *port);

#endif
