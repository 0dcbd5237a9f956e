/* The application layer of one flow: protocol detection on the first
 * bytes of either direction, then framing of the reassembled byte streams
 * into PDUs for the chosen protocol module, resync after gaps and garbage.
 * It sees only in-order bytes (from stream/) and produces events (to the
 * emit callback); it never sees packets. */
#ifndef IMW_APP_H
#define IMW_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct app_flow;

struct app_config {
	/* The modules asked in detection, in order: the built-in registry,
	 * unless app_config_set_modules registered others. */
	const struct proto_module *const *modules;
	size_t n_modules;
	bool enabled[IMW_PROTO_MAX]; /* protocols to decode, by module id */
	/* Optional: sees every complete PDU after it was decoded (the inline
	 * engine renumbers stateful protocols there). */
	void (*pdu_seen)(void *arg, struct app_flow *af, enum im_dir dir, uint64_t offset,
			 const uint8_t *pdu, size_t len);
	void *pdu_seen_arg;
	bool log_typing;             /* IMSpector's log_typing_events */
	bool strip_tls[IMW_PROTO_MAX]; /* encrypted=strip: by module id */
	size_t detect_window;        /* bytes per direction to look at before giving up */
};

void app_config_defaults(struct app_config *cfg);

/* Register the modules detection asks, in that order, instead of the
 * built-in ones (tests: one module alone, or the template). Each is
 * checked first (proto_module_check); an inconsistent one is refused, -1
 * with the reason in err, and the configuration is left as it was. */
int app_config_set_modules(struct app_config *cfg, const struct proto_module *const *mods,
			   size_t n, char *err, size_t err_size);

/* An HTTP proxy's CONNECT tunnel at the start of a flow (app/http_tunnel.c):
 * the request and the proxy's answer are skipped, and the bytes after
 * them are detected and decoded as if the flow went to the target port. */
enum app_tunnel {
	APP_TUNNEL_UNKNOWN, /* not told yet: the first bytes may be a CONNECT */
	APP_TUNNEL_NONE,    /* not a tunnel */
	APP_TUNNEL_ASKED,   /* CONNECT seen, waiting for the proxy's answer */
	APP_TUNNEL_OPEN,    /* 2xx: the tunnel carries the target's protocol */
};

enum app_state {
	APP_DETECTING,
	APP_DECODING,
	APP_IGNORED, /* not IM: bytes are dropped unread */
};

/* Why bytes were dropped without decoding. Global counters (statistics). */
struct app_stats {
	uint64_t sessions[IMW_PROTO_MAX]; /* IM sessions detected per protocol */
	uint64_t flows_ignored;
	uint64_t pdus;
	uint64_t malformed_pdus;
	uint64_t garbage_resyncs;   /* framing found no PDU: skipped to the next boundary */
	uint64_t gap_resyncs;       /* a reassembly gap forced a resync */
	uint64_t bytes_skipped;     /* bytes dropped by resync */
	uint64_t bytes_opaque;      /* bytes after STARTTLS and the like */
	uint64_t alloc_failures;
	uint64_t shed_flows;        /* flows whose buffers memory pressure dropped */
	uint64_t tunnels;           /* HTTP CONNECT tunnels opened (decoded inside) */
	uint64_t tunnels_refused;   /* CONNECTs the proxy answered with other than 2xx */
};

struct app_buf; /* bytes waiting for more (app.c) */

/* The time of a direction's latest bytes is kept in its buffer: it is
 * read only when buffered bytes are decoded, and an idle session keeps
 * no buffer (issue 23: 512 bytes a flow). */
struct app_dir {
	struct app_buf *buf; /* the unconsumed bytes; NULL while there are none */
	uint64_t offset;   /* stream offset of the first unconsumed byte */
};

/* A direction's flags (struct app_flow's dir_flags), kept beside the
 * flow's other small fields rather than padded out in each app_dir. */
#define APP_DIR_RESYNC 1u  /* after a gap or garbage */
#define APP_DIR_SEEN 2u    /* data seen: offset is valid */
#define APP_DIR_SAID_NO 4u /* every module rejected this direction */

/* What every flow of a flow table shares: its configuration, the counters
 * they add to, the directory their sessions share (may be NULL), and
 * where events go. */
struct app_context {
	const struct app_config *cfg;
	struct app_stats *stats;
	struct proto_host host; /* every session refers to it */
};

/* An idle IM flow is paid in these (issue 23: 512 bytes a flow, all
 * included): small fields packed, the flow's id kept once (the
 * session's, set before a session starts too), and so is the context:
 * session.host is its host from app_flow_init on, before a session
 * starts too (app.c's ctx_of). */
struct app_flow {
	uint8_t state;        /* enum app_state */
	uint8_t tunnel;       /* enum app_tunnel */
	uint16_t server_port; /* the target's, once a CONNECT tunnel is open */
	uint8_t dir_flags[2]; /* APP_DIR_*, by direction */
	/* "ip:port" of the local side, until a session starts (which then
	 * refers to it); the copy is in the flow's own block, just after
	 * the struct (app_flow_size). */
	const char *client;
	struct app_dir dir[2];
	struct proto_session session;
};

/* Is port a well-known server port of one of the configured modules? A
 * hint for telling client from server in a flow picked up mid-stream. */
bool app_server_port(const struct app_config *cfg, uint16_t port);

/* client is "ip:port" of the local side; server_port orders the port
 * hints. ctx is referenced: it must outlive the flow. Returns NULL on
 * allocation failure. */
struct app_flow *app_flow_new(const struct app_context *ctx, uint64_t flow_id,
			      const char *client, uint16_t server_port);
void app_flow_free(struct app_flow *af);
/* What every event of a flow carries besides the client (the archive):
 * the server's "ip:port", the session id and the Community ID; any may be
 * NULL. */
struct app_ends {
	const char *server;
	const char *session_id;
	const char *community_id;
};

/* The same in a block of the caller's (the flow table keeps a flow's
 * reassemblers and its app_flow in one allocation):
 * app_flow_size(client, ends) bytes at af, 8-byte aligned: the struct,
 * then client, session id and Community ID, each NUL-terminated ("" for
 * one not given), which the session refers to once it starts. The
 * server, which the flows of a table often have alike, is the session's
 * shared copy (proto_session_share: one per table with a directory)
 * from here on; when it cannot be made it is counted
 * (app_stats.alloc_failures) and the events go without one. ends may be
 * NULL. app_flow_release frees what the flow holds, not the block. */
size_t app_flow_size(const char *client, const struct app_ends *ends);
void app_flow_init(struct app_flow *af, const struct app_context *ctx, uint64_t flow_id,
		   const char *client, const struct app_ends *ends, uint16_t server_port);
void app_flow_release(struct app_flow *af);

/* Decode the flow as m without detection, from its next byte on (and
 * whatever detection buffered so far): for a flow whose protocol is known
 * before it speaks, such as a connection one session announced for
 * another, or one module driven alone through this layer. m must be one
 * of the configured modules and enabled. False when the flow is no longer
 * being detected, m is not configured, or the session cannot start. */
bool app_flow_decode_as(struct app_flow *af, const struct proto_module *m);

/* In-order bytes of one direction at stream offset `offset`. */
void app_flow_data(struct app_flow *af, enum im_dir dir, const uint8_t *data, size_t len,
		   uint64_t offset, double ts);
/* `len` bytes at `offset` are lost for good. */
void app_flow_gap(struct app_flow *af, enum im_dir dir, uint64_t offset, uint64_t len);

/* True when a decoded direction holds the beginning of a PDU that is not
 * complete yet; *start is its stream offset. The inline engine holds the
 * packets carrying those bytes, because policy may change the PDU. */
bool app_flow_partial_pdu(const struct app_flow *af, enum im_dir dir, uint64_t *start);
/* True when a direction holds bytes of a PDU that is not complete yet,
 * whether or not policy could change it: nothing may be inserted there. */
bool app_flow_mid_pdu(const struct app_flow *af, enum im_dir dir);

/* Bytes this flow's framing buffers hold allocated (memory accounting). */
size_t app_flow_buffered(const struct app_flow *af);
/* Bytes of a direction not consumed yet: a PDU not complete, or bytes
 * waiting for resync or detection. */
size_t app_flow_pending(const struct app_flow *af, enum im_dir dir);

/* Memory pressure: give up the partial PDUs this flow buffers, as if their
 * bytes were lost (a gap: decoding resyncs at the next PDU), and free the
 * buffers. A flow still being detected stops being looked at (ignored). */
void app_flow_shed(struct app_flow *af);

/* True when nothing more of this flow needs to be read (not IM, or both
 * directions opaque): the caller may stop reassembling it. */
bool app_flow_done(const struct app_flow *af);

#endif
