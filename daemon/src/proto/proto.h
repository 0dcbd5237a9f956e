/* The protocol-module interface. One file per protocol, one ops table.
 *
 * The application layer (app/) owns framing buffers and detection; a
 * module sees complete PDUs only. Modules never touch packets: decode
 * turns a PDU into events, encode turns an event back into PDU bytes. */
#ifndef IMW_PROTO_H
#define IMW_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "imwire/protocols.h"
#include "proto/directory.h"
#include "util/bytebuf.h"

struct proto_session;

/* Called for every decoded event; the callee copies what it keeps. */
typedef void (*proto_emit_fn)(void *arg, const struct im_event *ev);

/* A file's bytes inside a session's own stream (OSCAR's OFT2 data, XMPP
 * in-band bytestreams), handed by the module to the file stage (files/)
 * as it decodes them; the module keeps nothing. One transfer is named by
 * its token within the session; OPEN comes first, CLOSE last. */
enum proto_file_op {
	PROTO_FILE_OPEN,  /* name, size (when known), the way it travels */
	PROTO_FILE_DATA,  /* the next bytes of the file, in order */
	PROTO_FILE_GAP,   /* len bytes of the file are lost */
	PROTO_FILE_CLOSE, /* the end; complete when the protocol says all was sent */
};

struct proto_file_piece {
	enum proto_file_op op;
	enum im_dir dir; /* the way the file travels */
	const uint8_t *token;
	size_t token_len;
	const uint8_t *data; /* DATA */
	size_t len;          /* DATA, GAP */
	/* DATA: where data lies in dir's stream, when it lies there as is
	 * (OFT2 raw data), for the inline hold; 0 with has_stream_offset
	 * false when the bytes were decoded from the stream (base64). */
	bool has_stream_offset;
	uint64_t stream_offset;
	const char *name; /* OPEN, may be NULL */
	bool has_size;    /* OPEN */
	uint64_t size;
	bool complete;    /* CLOSE */
};

typedef void (*proto_file_fn)(void *arg, const struct proto_session *s,
			      const struct proto_file_piece *p);

enum proto_detect {
	PROTO_DETECT_NO = 0,
	PROTO_DETECT_MAYBE = 1, /* could be, need more bytes to tell */
	PROTO_DETECT_YES = 2,
};

enum proto_frame {
	PROTO_FRAME_PDU,       /* the next *pdu_len bytes are one PDU */
	PROTO_FRAME_NEED_MORE, /* the buffer holds only part of a PDU */
	PROTO_FRAME_GARBAGE,   /* no PDU starts here: the caller resyncs */
};

/* A protocol's identity: its row in the table of include/imwire/
 * protocols.h, expanded into proto_infos[] (indexed by id). */
struct proto_info {
	enum imw_proto id;
	const char *name;       /* "irc": as event_proto_name(id) */
	const char *imspector;  /* "IRC": IMSpector's log directory */
	const char *config_key; /* "irc_protocol" */
	const char *also;       /* one more accepted name ("aim"), or "" */
	const uint16_t *ports;  /* well-known ports: hints only, never required */
	size_t n_ports;
};

extern const struct proto_info proto_infos[IMW_PROTO_MAX];

/* A built-in module's identity: `PROTO_IDENTITY(IRC),` in its ops table.
 * A module outside the table (the template, registered by tests) points
 * at its own proto_info with id IMW_PROTO_NONE. */
#define PROTO_IDENTITY(ID) .id = IMW_PROTO_##ID, .info = &proto_infos[IMW_PROTO_##ID]

struct proto_module {
	enum imw_proto id;
	const struct proto_info *info;
	size_t max_pdu; /* a PDU claimed longer than this is garbage */

	/* Look at the first bytes of one direction (from the stream start, or
	 * from wherever a mid-stream pick-up began: the window may then start
	 * in the middle of a PDU). */
	enum proto_detect (*detect)(const uint8_t *data, size_t len, enum im_dir dir);

	/* Length of the PDU at the start of data. */
	enum proto_frame (*frame)(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				  size_t len, size_t *pdu_len);

	/* Decode one complete PDU and emit its events. Returns 0, or -1 for a
	 * malformed PDU (after proto_session_malformed said why). */
	int (*decode)(struct proto_session *s, enum im_dir dir, const uint8_t *pdu, size_t len);

	/* After a gap or garbage: offset in data of the first plausible PDU
	 * start, or len when there is none in the buffer yet. */
	size_t (*resync)(struct proto_session *s, enum im_dir dir, const uint8_t *data, size_t len);

	/* Optional per-session private state. */
	int (*session_init)(struct proto_session *s);
	void (*session_free)(struct proto_session *s);

	/* Encode ev as PDU bytes appended to out. With orig (the PDU the event
	 * was decoded from) only the text changes and everything else is kept
	 * byte for byte; without, build a PDU from the neutral fields alone.
	 * Returns 0, or -1 if this event cannot be encoded. May be NULL. */
	int (*encode)(struct proto_session *s, enum im_dir dir, const struct im_event *ev,
		      const uint8_t *orig, size_t orig_len, struct bytebuf *out);

	/* Rewriting of stateful protocols (both optional, may be NULL). The
	 * rewrite engine calls pdu_count_changed after it deleted (delta -1)
	 * or inserted (+1) a whole PDU in dir, and fixup_pdu on every later
	 * PDU of dir before it is forwarded, so a module can renumber
	 * same-length fields the peer checks (OSCAR's FLAP sequence numbers).
	 * fixup_pdu edits in place without changing the length and returns
	 * true when it changed a byte. */
	void (*pdu_count_changed)(struct proto_session *s, enum im_dir dir, int delta);

	/* Optional: can the incomplete PDU starting at data still become an
	 * event that policy may change? false lets the inline engine send its
	 * packets on at once instead of holding them (bulk server output).
	 * NULL means "maybe". */
	bool (*partial_may_edit)(struct proto_session *s, enum im_dir dir, const uint8_t *data,
				 size_t len);
	bool (*fixup_pdu)(struct proto_session *s, enum im_dir dir, uint8_t *pdu, size_t len);

	/* Optional: the PDUs the sender's client expects from its server once
	 * a message it sent was delivered (IRC echo-message, MSN's ACK to a
	 * MSG sent with acknowledgement mode A or D, OSCAR's SNAC(04,0C) host
	 * ack when the ICBM asked for one), for when imwire delivers the
	 * message itself and deletes it from the server-bound stream. ev is
	 * the outgoing message event, orig/orig_len the PDU it came from.
	 * Appends to out and returns how many PDUs it appended (0: none is
	 * expected), or -1 when it cannot build them. */
	int (*local_receipt)(struct proto_session *s, const struct im_event *ev,
			     const uint8_t *orig, size_t orig_len, struct bytebuf *out);
};

/* A session's own counts (tests and debugging read them; the totals
 * that statistics show are the app layer's and the sinks'). */
struct proto_session_stats {
	uint32_t pdus;
	uint32_t malformed;
	uint32_t events;
};

/* What the sessions of one flow table share, set up by their owner (the
 * app layer's context) and referenced by each session: where events go,
 * and the directory (may be NULL) of what one connection of a user learnt
 * that another needs, and of the strings they hold alike; where file
 * content found in a stream goes (file may be NULL: no file stage). */
struct proto_host {
	struct proto_directory *directory;
	proto_emit_fn emit;
	void *emit_arg;
	proto_file_fn file;
	void *file_arg;
};

/* The PDU being decoded, which events and file pieces point at: the
 * caller's of decode (the app layer keeps it on its stack), not kept in
 * every session (issue 23: 512 bytes an idle flow). */
struct proto_pdu {
	double ts;           /* timestamp of the packet that completed the PDU */
	uint64_t offset;     /* stream offset of the PDU in its direction */
	size_t len;
	const uint8_t *data; /* the PDU's bytes */
};

struct proto_session {
	const struct proto_module *module;
	/* Module-private: what session_init made, or, for a module whose
	 * state fits here (IRC's flags), the state itself, zeroed by
	 * proto_session_init: an idle session then allocates none. */
	union {
		void *state;
		unsigned char state_inline[sizeof(void *)];
	};
	uint64_t flow_id;
	/* "ip:port" of the local client: lent by the session's owner (the
	 * app layer keeps it in the flow's own block), never freed here. */
	const char *client;
	/* The flow's server "ip:port" (the archive): shared
	 * (proto_session_share) by its owner's doing, given back by
	 * proto_session_free; NULL when the flow gave none. */
	const char *server;
	/* The flow's session id and Community ID (the archive): lent like
	 * client; NULL when the flow gave none. */
	const char *session_id;
	const char *community_id;
	char *local_id; /* owned; NULL until the protocol reveals it */
	/* The local user's full address as the server shows it to others
	 * (IRC "nick!user@host" from the welcome numeric, XMPP the bound full
	 * JID); owned, NULL until known. */
	char *local_address;
	/* Which network the session is on, as the protocol names it (an IRC
	 * network's ISUPPORT NETWORK=, else the name of the server that
	 * welcomed us); NULL until known. Local routing pairs only sessions
	 * of one service. Shared (proto_session_share). */
	const char *service;
	/* The current PDU while a module decodes it (and while its owner
	 * makes an event of its own), NULL otherwise: an event made then has
	 * no time and no PDU location. */
	const struct proto_pdu *pdu;
	bool opaque[2]; /* set by a module: the rest of that direction is not
			 * decodable (TLS after STARTTLS); the app layer skips it */
	bool log_typing; /* emit typing events (IMSpector's log_typing_events) */
	/* encrypted=strip: blank the server's offer of TLS where it is not
	 * required (XMPP <starttls/>, IRC's tls capability), same length, so
	 * the client goes on in clear text; the module's fixup_pdu does it. */
	bool strip_tls;
	/* Set by the inline engine once it may delete or insert whole PDUs in
	 * this session (a policy or routing that can): a module then turns
	 * off features that count PDUs end to end (XMPP stream management),
	 * which such edits would break. */
	bool edits_possible;
	/* Shared by the sessions of one table (may be NULL: no events, no
	 * directory, no file stage). Set at proto_session_init, never
	 * changed after. */
	const struct proto_host *host;
	struct proto_session_stats stats;
	const char *last_error; /* static string: the last malformed reason */
};

/* Registry of all built-in modules, in detection order (the rows of the
 * protocol table). */
const struct proto_module *const *proto_modules(size_t *count);
const struct proto_module *proto_module_by_id(enum imw_proto id);

/* Is a module's ops table usable, as Suricata's ValidateParserProto asks
 * at registration: an identity (info, with id and name agreeing), every
 * callback the app layer calls unconditionally (detect, frame, decode,
 * resync) and a max_pdu, and the optional callbacks that only work
 * together: session_init with session_free, pdu_count_changed only with
 * fixup_pdu (counting PDUs nobody renumbers), local_receipt only with
 * encode (a message delivered locally is encoded for its recipient).
 * Returns 0, or -1 with "module NAME: what is wrong" in err. */
int proto_module_check(const struct proto_module *m, char *err, size_t err_size);

/* proto_module_check for every built-in module, and each against its row
 * of the protocol table: position (detection order), id, identity. The
 * mains refuse to start when it fails. */
int proto_registry_check(char *err, size_t err_size);

/* client and host are referenced (host may be NULL): they must outlive
 * the session. */
int proto_session_init(struct proto_session *s, const struct proto_module *m, uint64_t flow_id,
		       const char *client, const struct proto_host *host);

/* The current PDU's time and stream offset (proto_session's pdu), 0 when
 * none is being decoded. */
static inline double proto_session_ts(const struct proto_session *s)
{
	return s->pdu ? s->pdu->ts : 0;
}

static inline uint64_t proto_session_pdu_offset(const struct proto_session *s)
{
	return s->pdu ? s->pdu->offset : 0;
}

/* The directory the session's table shares, NULL when there is none. */
static inline struct proto_directory *proto_session_directory(const struct proto_session *s)
{
	return s->host ? s->host->directory : NULL;
}
void proto_session_free(struct proto_session *s);

/* Set the local id (NICK, LOGN...); false on allocation failure. */
bool proto_session_set_local(struct proto_session *s, const char *id, size_t len);
/* Set the local user's full address; false on allocation failure. */
bool proto_session_set_local_address(struct proto_session *s, const char *addr, size_t len);
bool proto_session_set_service(struct proto_session *s, const char *name, size_t len);

/* A copy of v[0, n) that many sessions hold alike (a network's name, a
 * client's message format, the server a stream names): the directory's
 * shared copy when the session has a directory, else its own; NULL on
 * allocation failure. Give it back with proto_session_unshare (NULL is
 * nothing). */
const char *proto_session_share(struct proto_session *s, const char *v, size_t n);
void proto_session_unshare(struct proto_session *s, const char *v);

/* Start an event carrying the session's common fields (ts, proto, dir,
 * flow, client, local, PDU location). The module fills the rest and calls
 * proto_event_emit, which hands it to the sink chain and frees its strings
 * (the other fields are left as they were: proto_event_begin again before
 * the struct makes another event). */
void proto_event_begin(struct proto_session *s, struct im_event *ev, enum im_dir dir,
		       enum im_kind kind);
void proto_event_emit(struct proto_session *s, struct im_event *ev);

/* Hand a piece of in-stream file content to the file stage (nothing
 * when the session has none). */
void proto_file_piece(struct proto_session *s, const struct proto_file_piece *p);

/* Count a malformed PDU with a short static reason; returns -1. */
int proto_session_malformed(struct proto_session *s, const char *reason);

#endif
