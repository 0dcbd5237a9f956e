/* The protocol-neutral IM event (after timps and IMSpector).
 * Every decoder produces these; every sink and policy consumes them.
 * All strings are owned by the event (heap, NUL-terminated, UTF-8). */
#ifndef IMW_EVENT_H
#define IMW_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imwire/protocols.h"

enum im_dir {
	IM_DIR_OUT = 0, /* from the local client */
	IM_DIR_IN = 1,  /* towards the local client */
};

/* The names (event_kind_name) are a contract used by tests and sinks. */
enum im_kind {
	IM_KIND_MESSAGE,
	IM_KIND_TYPING,
	IM_KIND_FILE,
	IM_KIND_WEBCAM,
	IM_KIND_PRESENCE,
	IM_KIND_LOGIN,
	IM_KIND_LOGOUT,
	IM_KIND_JOIN,
	IM_KIND_PART,
	IM_KIND_CONTACTS,
	IM_KIND_ENCRYPTED,
	IM_KIND_ERROR,      /* a protocol-level error reply (IMIP ACK 8xx...) */
	IM_KIND_RENDEZVOUS, /* other peer-to-peer proposals (direct IM, chat invites) */
	IM_KIND_TOPIC,      /* a room's topic (IRC TOPIC, an XMPP <subject>) */
	IM_KIND_AUDIT,      /* the archive's own records (a retention purge), no protocol's */
	/* imwired could not enforce a policy on a message as configured (an
	 * edit refused): what it did instead, and the message (inline/engine.h) */
	IM_KIND_POLICY_FAILURE,
	IM_KIND_COUNT
};

/* How the data of a file offer travel (file events, and the rendezvous
 * events that complete an offer): what the expectation stage (expect/)
 * needs to find them. The module fills it; everyone else only reads it. */
enum im_xfer_path {
	IM_XFER_NONE = 0, /* nothing announced (or nothing this module follows) */
	IM_XFER_TCP,      /* a connection to addr:port carries the file raw (IRC DCC) */
	IM_XFER_FRAMED,   /* a connection to addr:port the module frames (OSCAR OFT2) */
	IM_XFER_SOCKS5,   /* a SOCKS5 connect to addr:port naming token, then raw (XMPP) */
	IM_XFER_HTTP,     /* an HTTP request to addr:port with token in its URL: the
			   * body of a POST, or of the answer to a GET (Yahoo's relay) */
	IM_XFER_INBAND,   /* inside the session's own stream (XMPP in-band bytestreams) */
};

#define IM_XFER_TOKEN_MAX 64

struct im_xfer {
	enum im_xfer_path path;
	/* The file travels from the side at addr:port (a DCC SEND's sender
	 * listens) rather than towards it (reverse DCC); SOCKS5 data may go
	 * either way through a proxy, the first bytes after the handshake
	 * tell. */
	bool from_listener;
	uint8_t ip_version; /* 4 or 6; 0: no address announced (yet) */
	uint8_t addr[16];   /* the listening side, network order */
	uint16_t port;
	/* IM_XFER_TCP: bytes each side sends before the file (GG DCC7: the
	 * connection id, 8 bytes, both ways). */
	uint8_t preamble;
	/* What the data path shows of the offer: a DCC token, an OFT2
	 * cookie, an IBB sid, the SOCKS5 destination (hex SHA-1). */
	uint8_t token[IM_XFER_TOKEN_MAX];
	uint8_t token_len;
	/* The offer this completes, when the event is not the offer itself
	 * (XMPP: the stream id of an SI offer whose streamhost this names). */
	uint8_t offer_id[IM_XFER_TOKEN_MAX];
	uint8_t offer_id_len;
};

/* What came of a transfer: on the file event the file stage (files/)
 * emits once the data ended, a copy of the offer with these filled.
 * IM_FILE_OFFERED (zero) on every other event. */
enum im_file_state {
	IM_FILE_OFFERED = 0, /* the offer itself: no content seen */
	IM_FILE_COMPLETE,    /* every announced byte, no gap */
	IM_FILE_INCOMPLETE,  /* ended short, with gaps, or past its announced size */
	IM_FILE_CUT,         /* stopped inline: infected, or no verdict and scan_fail=closed */
	IM_FILE_STATE_COUNT
};

enum im_scan {
	IM_SCAN_NONE = 0, /* not scanned */
	IM_SCAN_CLEAN,
	IM_SCAN_INFECTED,
	IM_SCAN_ERROR,   /* the scanner failed or refused (size limit...) */
	IM_SCAN_TIMEOUT, /* no answer within scan_timeout_ms */
	IM_SCAN_COUNT
};

/* Categories a file result falls into, for alerting (bits, named by
 * event_category_names into the event's categories string). */
#define IM_CAT_MALWARE 0x1u   /* a file the virus scanner found infected */
#define IM_CAT_UNSCANNED 0x2u /* a file that should have been scanned and was not */

struct im_file_content {
	enum im_file_state state;
	uint64_t bytes;     /* received (gaps not counted) */
	uint64_t gap_bytes; /* lost in the capture or the queue */
	bool has_sha256;    /* only for contiguous content (no gap) */
	char sha256[65];    /* lower-case hex */
	char *mime;         /* libmagic's MIME type, owned; NULL when unknown */
	char *stored;       /* path under files_dir, owned; NULL when not stored */
	enum im_scan scan;
	char *signature;    /* the scanner's name for what it found, owned */
	uint64_t data_flow; /* the flow that carried the data */
};

/* IMSpector's numeric event types (file log column 4, SQL `type`). */
enum imspector_type {
	IMSPECTOR_TYPE_OTHER = 0,
	IMSPECTOR_TYPE_MSG = 1,
	IMSPECTOR_TYPE_FILE = 2,
	IMSPECTOR_TYPE_TYPING = 3,
	IMSPECTOR_TYPE_WEBCAM = 4,
};

struct im_event {
	double ts; /* seconds since the epoch, of the packet that completed the PDU */
	enum imw_proto proto;
	enum im_dir dir;
	enum im_kind kind;
	bool group;    /* remote is a channel, room or conference */
	bool filtered; /* blocked by policy (IMSpector's column 5) */
	bool auto_response;
	char *local;        /* local user id, "" when not yet known */
	char *remote;       /* remote user, or group/channel id */
	char *client;       /* "ip:port" of the local client ("[v6]:port" for IPv6) */
	/* The remote's full address as its server shows it to others, when a
	 * module knows it (IRC "nick!user@host", an XMPP full JID); encoders
	 * prefer it to remote for the sender of an incoming PDU. */
	char *remote_address;
	/* What the routing pipeline did with the event: NULL until routed,
	 * then a static string: "forwarded", "local", "dropped", "delayed",
	 * "injected". */
	const char *route;
	char *route_to; /* owned: where a locally routed or injected message went ("bob@irc") */
	/* The remote's display name when the protocol carries one beside its
	 * id (IMIP's From: 12345 "nick"); NULL otherwise. */
	char *remote_name;
	/* When the sender's side stamped the message (IMIP's Time: header),
	 * seconds since the epoch, if has_sent_ts. */
	double sent_ts;
	bool has_sent_ts;
	/* local or remote were not named by this PDU or the session's login
	 * but inferred from later or other PDUs (a session picked up mid-stream). */
	bool ids_inferred;
	const char *content_type; /* static string: "text/plain", "text/html" */
	char *text;         /* UTF-8; for files "name (size bytes)" as IMSpector logs */
	char *file_name;    /* file events: the file name when known */
	uint64_t file_size; /* file events: size when has_file_size */
	bool has_file_size;
	struct im_xfer xfer;          /* file offers: where their data will travel */
	struct im_file_content file;  /* file results: what arrived */
	uint64_t flow_id;
	/* Where the PDU lies in its direction's byte stream (stream offsets),
	 * for the rewrite engine. text_offset/len locate the raw text bytes
	 * inside the PDU when the protocol stores them contiguously. */
	uint64_t pdu_offset;
	size_t pdu_len;
	bool has_text_span;
	size_t text_offset; /* relative to the PDU start */
	size_t text_len;
	/* The PDU's bytes, valid only during the emit callback (not copied):
	 * the rewrite engine re-encodes from them. */
	const uint8_t *pdu_data;
	/* A notice imwired makes up (policy: the conversation is logged,
	 * something was blocked), written by nobody in the conversation. An
	 * encoder sends it from a sender visibly the system where its
	 * protocol has one: towards the local client from notice_from when
	 * set (notice_sender=), else from the server (IRC: a NOTICE from the
	 * server, XMPP: a headline from the domain); towards the remote, or
	 * where a protocol has no such sender, as an ordinary message of the
	 * conversation whose text is marked (notice_prefix/postfix below;
	 * proto/notice.h). */
	bool notice;
	char *notice_from; /* owned; NULL: the protocol's own system sender */
	/* The mark of a notice's text where it goes as an ordinary message
	 * (response_prefix, response_postfix); owned, NULL: IMW_NOTICE_PREFIX
	 * and IMW_NOTICE_POSTFIX (proto/notice.h marks). */
	char *notice_prefix;
	char *notice_postfix;

	/* ---- What an auditor asks next (the archive, README) ----
	 * Set from the flow when the event is made: */
	char *server;       /* "ip:port" of the server side ("[v6]:port") */
	char *session;      /* one IM session (one connection) of this sensor */
	char *community_id; /* Community ID v1 of the flow (archive/community_id.h) */
	/* Set by whoever decided the event's fate: a static string of
	 * EVENT_ACTION_*, NULL for an event nothing decided (stored as
	 * "forwarded"). */
	const char *action;
	char *rule;           /* the config key and the entry that decided ("badwords=darn") */
	char *categories;     /* comma-separated categories of flag rules, NULL: none */
	char *delivered_text; /* what was delivered, when it differs from text */
	/* Set by the writer for the stores, never by a producer: the event's
	 * id (unique per sensor), the sensor's name, and the chain
	 * (archive/chain.h). chained: prev_hash and hash are set. */
	uint64_t eventid;
	const char *sensor;
	bool chained;
	uint8_t prev_hash[32];
	uint8_t hash[32];
};

#define EVENT_ACTION_FORWARDED "forwarded" /* passed unchanged */
#define EVENT_ACTION_MODIFIED "modified"   /* passed with delivered_text */
#define EVENT_ACTION_BLOCKED "blocked"     /* not delivered, filtered */
#define EVENT_ACTION_DROPPED "dropped"     /* not delivered by routing */
#define EVENT_ACTION_ROUTED "routed"       /* delivered elsewhere (local routing) */
#define EVENT_ACTION_INJECTED "injected"   /* made up by imwired (notices, bots) */
#define EVENT_ACTION_PURGE "purge"         /* a retention purge (archive/chain.h) */

/* The default mark of a notice's text: it names imwire, as IMSpector
 * 0.9's "Message from IMSpector: -=...=-" named IMSpector. */
#define IMW_NOTICE_PREFIX "Message from imwire: -="
#define IMW_NOTICE_POSTFIX "=-"

void event_init(struct im_event *ev);
void event_free(struct im_event *ev);
/* Free ev's owned strings and set those fields NULL, leaving every other
 * field as it was: event_free without clearing the whole struct again,
 * for an event done with (proto_event_emit's, once per event; the clear
 * was a 656-byte memset each time). ev may be given to event_free again
 * (a no-op for its strings); event_init before it is filled anew. */
void event_release_strings(struct im_event *ev);
/* Deep copy; false on allocation failure (dst is then freed and empty). */
bool event_copy(struct im_event *dst, const struct im_event *src);
/* A copy whose strings all live in one block (*block, heap, the caller
 * frees it): one allocation instead of one a string, for an event that
 * is kept a while and then only read. dst's strings are not its own:
 * never give dst to event_free or event_set; free *block instead. False
 * on allocation failure (dst is then empty, *block NULL). */
bool event_copy_packed(struct im_event *dst, const struct im_event *src, void **block);
/* The same packing into memory the caller provides (a batch's arena):
 * dst becomes src with its strings copied to mem, under the same rules
 * as event_copy_packed's dst, and *used says how many bytes of mem they
 * took. false when they need more than room bytes: dst is then only
 * partly set (neither a copy nor freeable: discard it). One pass, each
 * string measured once: this runs for every event handed to another
 * thread. */
bool event_pack(struct im_event *dst, const struct im_event *src, char *mem, size_t room,
		size_t *used);
/* Replace a string field with a copy of p[0..n); false on allocation failure. */
bool event_set(char **field, const char *p, size_t n);
bool event_set_str(char **field, const char *s);
/* Replace a string field with s itself (heap, NUL-terminated): the event
 * owns it from now on. A decoder that built a string for the event hands
 * it over this way instead of copying it. */
void event_take(char **field, char *s);
/* event_set, event_set_str and text_utf8_or_latin1 into a field, for an
 * event a decoder fills and then gives to proto_event_emit (or
 * event_free) on the same thread before long: the copy is made in a small
 * scratch block of the calling thread when it fits there, on the heap
 * otherwise (issue 23: no malloc and free per string of every message).
 * The field is released like any other (event_set, event_take,
 * event_release_strings, event_free replace or free it), on the thread
 * that set it; it must never be given to free() itself, nor kept beyond
 * the event, nor the event moved to another thread before it is
 * released. The scratch block is used again from its start whenever
 * every string it holds has been released. false on allocation failure
 * (the field unchanged). */
bool event_set_brief(char **field, const char *p, size_t n);
bool event_set_str_brief(char **field, const char *s);
bool event_set_text_brief(char **field, const uint8_t *p, size_t n);

const char *event_kind_name(enum im_kind kind);
/* "complete", "incomplete", "cut"; "offered" for IM_FILE_OFFERED. */
const char *event_file_state_name(enum im_file_state state);
/* "clean", "infected", "error", "timeout"; "" for IM_SCAN_NONE. */
const char *event_scan_name(enum im_scan scan);
/* The names of the bits of categories, lowest first, joined by commas
 * ("malware,unscanned"), into buf; "" when none. */
const char *event_category_names(uint32_t categories, char *buf, size_t size);
/* Short lower-case name used in JSON lines ("irc", "oscar", "xmpp"). */
const char *event_proto_name(enum imw_proto proto);
/* IMSpector's name ("IRC", "ICQ-AIM", "MSN"): its file-log directory. */
const char *event_proto_imspector_name(enum imw_proto proto);
/* Parse a protocol name ("irc"); IMW_PROTO_NONE when unknown. */
enum imw_proto event_proto_from_name(const char *name);
enum imspector_type event_imspector_type(enum im_kind kind);

#endif
