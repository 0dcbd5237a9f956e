/* `imwire replay`: the inline engine, with its policy, run on a capture.
 * Every frame is handed to engine_packet() in capture order with a
 * synthetic queue id and the capture's clock; the verdicts decide what is
 * written: accepted frames unchanged, modified ones with their new bytes
 * behind the original link header, dropped ones not at all, held ones
 * when the engine releases them. The output has the input's link type, so
 * a policy can be tried on recorded traffic before it goes live. */
#ifndef IMW_REPLAY_H
#define IMW_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "inline/engine.h"

struct replay_stats {
	uint64_t frames_in;
	uint64_t frames_out;
	uint64_t not_tcp; /* written unchanged, never seen by the engine */
	uint64_t accepted;
	uint64_t modified;
	uint64_t dropped;
	uint64_t events;
};

/* ec is the engine configuration (policy included); log, when set, gets
 * every event. Returns 0, or -1 with a one-line reason in err. */
int replay_capture(const char *in_path, const char *out_path, const struct engine_config *ec,
		   proto_emit_fn log, void *log_arg, struct replay_stats *st,
		   struct engine_stats *engine_st, char *err, size_t err_size);

#endif
