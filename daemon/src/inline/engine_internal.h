/* The inline engine's private state, shared by its files: engine.c
 * (verdicts, holding, edits, policy) and inject.c (segments the engine
 * originates: local deliveries, bot replies, receipts). */
#ifndef IMW_INLINE_ENGINE_INTERNAL_H
#define IMW_INLINE_ENGINE_INTERNAL_H

#include "inline/engine.h"
#include "seqmap/seqmap.h"

struct held_packet {
	struct held_packet *next;
	uint32_t id;
	uint8_t *data; /* the IP packet; owned unless it is the packet in hand */
	size_t len;
	bool owned;
	bool gso;
	struct packet pkt; /* payload points into data */
	uint64_t in_start;
	uint64_t in_end;
	double since;
};

/* What a direction's own packets tell about sending in that direction:
 * the last ack, window and timestamps the sender put on the wire (as we
 * sent them on), its addresses, and the bridge port and MAC it used. */
struct origin_template {
	bool valid;
	uint8_t ip_version;
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint32_t ack;
	uint16_t window;
	uint8_t ttl;
	uint8_t tos;
	bool has_timestamp;
	uint32_t tsval;
	uint32_t tsecr;
	bool have_snd_nxt;
	uint32_t snd_nxt; /* past the last byte sent on in this direction */
	uint32_t ifindex; /* bridge port the packets leave through, 0 when routed */
	bool has_mac;
	uint8_t mac[6];   /* the sender's source MAC */
};

/* Data we originated in a direction, kept until the receiver acks it. */
struct origin_seg {
	struct origin_seg *next;
	uint64_t out_start;
	size_t len;
	uint8_t *bytes;
	double sent_at;
	double rto;
	unsigned tries;
};

struct inline_dir {
	bool started;
	uint64_t peer_acked_out; /* highest output offset the receiver acknowledged */
	struct seqmap map;
	uint64_t released_end; /* input offset past the last byte sent on */
	struct held_packet *head;
	struct held_packet *tail;
	size_t n_held;
	size_t held_bytes;
	uint16_t peer_mss; /* what the receiver of this direction announced */
	size_t max_payload_seen;
	struct origin_template tmpl;
	struct origin_seg *origins; /* in output order */
	uint16_t ip_id;
};

struct inline_flow {
	struct flow *flow;
	bool adoption_checked;
	struct inline_dir dir[2];
	struct inline_flow *hold_prev;
	struct inline_flow *hold_next;
	bool in_hold_list;
	/* IM sessions the router knows, and flows with originated data. */
	struct inline_flow *sess_prev;
	struct inline_flow *sess_next;
	bool in_sess_list;
	bool registered;
	bool reg_injectable;
	char *reg_local;
	char *reg_address;
	char *reg_service;
};

struct pending_edit {
	uint64_t flow_id;
	enum im_dir dir;
	uint64_t start;
	uint64_t end;
	uint8_t *bytes;
	size_t len;
	int pdu_delta; /* -1 whole PDU deleted, +1 PDU inserted, 0 otherwise */
};

/* engine.c */
void engine_defer_insertion(struct engine *e, uint64_t flow_id, const uint8_t *bytes, size_t len,
			    int pdus);

/* inject.c */
/* A packet of dir went on with seq_sent, ack_sent and len_sent bytes. */
void inject_learn(struct engine *e, struct inline_flow *ifl, enum im_dir dir, const uint8_t *ip,
		  const struct packet *pkt, uint32_t seq_sent, uint32_t ack_sent, size_t len_sent);
/* The sender of dir sent bytes we deleted whole: acknowledge them to it
 * in the receiver's name once the receiver has everything before them. */
void inject_ack_deleted(struct engine *e, struct inline_flow *ifl, enum im_dir dir,
			struct engine_outq *out);
/* Send bytes (pdus whole PDUs) to the receiver of dir: at once, in
 * segments of our own, when the direction is idle at a PDU boundary;
 * else after the next PDU in that direction. 1: sent, 0: waits, -1: lost. */
int inject_bytes(struct engine *e, struct inline_flow *ifl, enum im_dir dir, const uint8_t *bytes,
		 size_t len, int pdus, double now, struct engine_outq *out);
void inject_acked(struct engine *e, struct inline_flow *ifl, enum im_dir dir);
void inject_tick(struct engine *e, double now, struct engine_outq *out);
void inject_session_sync(struct engine *e, struct inline_flow *ifl);
void inject_flow_gone(struct engine *e, struct inline_flow *ifl);
struct inline_flow *inject_find_flow(struct engine *e, uint64_t flow_id);
/* Keep the flow findable for deliveries and retransmissions. */
void inject_track(struct engine *e, struct inline_flow *ifl);

#endif
