/* Segments the engine sends on its own: a message routed to a local user,
 * a bot's reply, a receipt the sender's client expects from its server, a
 * notice, an ack of bytes we deleted.
 *
 * Data becomes an insertion in the direction's sequence map at the point
 * where everything the real sender sent so far ends, so every later
 * segment of the real sender is shifted past it and every ack of the
 * receiver is shifted back. It goes out at once, in segments built from
 * the last ack, window and timestamps the sender put on the wire, but only
 * when the direction is idle at a PDU boundary; otherwise the caller lets
 * it ride after the next whole PDU instead (notices.h). Nobody else will
 * ever retransmit it, so we do, until the receiver acknowledges it.
 *
 * Everything here works on one flow's state (flow_state.h) and appends
 * packets to the caller's output queue. */
#ifndef IMW_INLINE_ORIGIN_H
#define IMW_INLINE_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "egress/egress.h"
#include "inline/flow_state.h"
#include "inline/outq.h"

/* Where built packets go, a buffer to build them in, and the counters. */
struct origin_io {
	struct engine_outq *out;
	struct bytebuf *scratch;
	struct engine_stats *st;
};

/* A packet of d went on with seq_sent, ack_sent and len_sent bytes: keep
 * what building a segment of that direction needs. */
void origin_learn(struct flow_dir_state *d, const uint8_t *ip, const struct packet *pkt,
		  uint32_t seq_sent, uint32_t ack_sent, size_t len_sent,
		  const struct engine_packet_link *link);

/* Where a segment towards the receiver of dir leaves; false when we do
 * not know enough to send one. */
bool origin_link(const struct flow_state *fs, enum im_dir dir, struct egress_link *link);

/* The sender of dir sent bytes we deleted whole: acknowledge them to it in
 * the receiver's name once the receiver has everything before them. */
void origin_ack_deleted(struct flow_state *fs, enum im_dir dir, const struct origin_io *io);

enum origin_sent {
	ORIGIN_LOST = -1, /* the direction ended, or no memory */
	ORIGIN_BUSY = 0,  /* not idle at a PDU boundary: nothing done */
	ORIGIN_SENT = 1,
};

/* Send len bytes (whole PDUs) to the receiver of dir now, in segments of
 * our own, and keep them until acknowledged. */
enum origin_sent origin_send(struct flow_state *fs, enum im_dir dir, const uint8_t *bytes,
			     size_t len, double now, const struct origin_io *io);

/* The rest of a segment of dir whose rebuilt payload outgrew its path
 * (translate.h: capped): len bytes from seq on, after the packet's own
 * verdict, as segments of at most mss bytes built from the packet's own
 * header (ip, pkt) with its translated ack: the same addresses, ports,
 * window, TTL, TOS and timestamps, PSH on the last when the packet had
 * it. They are not kept: their bytes are part of an edit the receiver
 * has not acknowledged, so a lost one comes back in its sender's
 * retransmission, rebuilt. False when nothing was sent (no link towards
 * the receiver yet, a packet without ACK or with SYN, FIN, RST or URG,
 * or no memory): the sender's retransmission then brings all of it. */
bool origin_send_rest(struct flow_state *fs, enum im_dir dir, const uint8_t *ip,
		      const struct packet *pkt, uint32_t seq, uint32_t ack, const uint8_t *bytes,
		      size_t len, size_t mss, const struct origin_io *io);

/* A reset towards the receiver of dir, in its sender's name, at the next
 * sequence number the receiver expects (a transfer cut, #20). 0 when sent,
 * -1 when we do not know enough of the direction to build one. */
int origin_reset(struct flow_state *fs, enum im_dir dir, const struct origin_io *io);

/* An insertion of ours a predecessor sent (adopt.h): len bytes at output
 * offset out_start, resent from the next retransmission tick on until
 * acknowledged. False when out of memory. */
bool origin_adopt(struct flow_dir_state *d, uint64_t out_start, const uint8_t *bytes, size_t len,
		  double now);

/* The receiver of d acknowledged more (d->peer_acked_out): forget what it has. */
void origin_acked(struct flow_dir_state *d);

/* Resend what the receivers did not acknowledge in time; give up after
 * ten tries. */
void origin_retransmit(struct flow_state *fs, double now, const struct origin_io *io);

#endif
