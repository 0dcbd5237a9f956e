/* One protocol module driven through the real app layer (daemon/src/app/),
 * for the protocol unit tests: bytes go in by direction through
 * app_flow_data and app_flow_gap, so framing, max_pdu, resync after
 * garbage and gaps, and opaque directions are app.c's own; the events the
 * session emits are copied out. The flow is decoded as the module from its
 * first byte (app_flow_decode_as): detection has its own tests
 * (test_app.c and each module's detect cases).
 *
 * Test-only: built by the Makefile into the test binaries, never into
 * libimwire.a. */
#ifndef IMW_TEST_HARNESS_H
#define IMW_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/app.h"
#include "proto/proto.h"

#define HARNESS_MAX_EVENTS 64

struct harness_events {
	struct im_event ev[HARNESS_MAX_EVENTS];
	size_t n;
	size_t dropped; /* past HARNESS_MAX_EVENTS, or a copy failed */
};

/* What happened per direction while its bytes were fed. */
struct harness_dir {
	uint64_t offset;   /* stream offset of the next byte */
	uint64_t pdus;
	uint64_t garbage;  /* framing found no PDU: app.c skipped and resynced */
	uint64_t decode_errors; /* PDUs the module called malformed */
	/* A copy of the last complete PDU (app_config's pdu_seen), so that
	 * an event's text_offset can be checked against its bytes. */
	uint8_t *last_pdu;
	size_t last_len;
};

/* The file pieces the session handed to the file stage (proto_file_piece). */
struct harness_files {
	unsigned opens, datas, gaps, closes;
	bool complete;       /* said by the last CLOSE */
	enum im_dir dir;     /* of the last piece */
	char token[IM_XFER_TOKEN_MAX + 1]; /* of the last piece */
	char name[256];      /* of the last OPEN */
	bool has_size;
	uint64_t size;
	uint64_t gap_bytes;
	uint8_t *data;       /* every DATA piece's bytes, in order */
	size_t len;
	bool has_stream_offset; /* of the first DATA piece */
	uint64_t stream_offset;
};

struct harness {
	struct app_config cfg;
	struct app_stats stats;
	struct app_context ctx;
	struct app_flow *af;
	const struct proto_module *modules[1];
	struct proto_session *s; /* the module's session, live from init */
	struct harness_events c;
	struct harness_dir dir[2];
	unsigned feeds; /* timestamps: 1000.0 + feeds */
	struct harness_files files;
};

/* A flow decoded as m (the local client at client, "ip:port"). Aborts the
 * test binary when the app layer refuses: nothing could be tested. */
void harness_init(struct harness *h, const struct proto_module *m, uint64_t flow_id,
		  const char *client);
void harness_free(struct harness *h);

/* In-order bytes of one direction. Returns -1 when the module called a
 * PDU of them malformed, else 0. */
int harness_feed(struct harness *h, enum im_dir dir, const void *data, size_t len);
int harness_feed_str(struct harness *h, enum im_dir dir, const char *s);
/* len bytes of dir lost for good (a reassembly hole). */
void harness_gap(struct harness *h, enum im_dir dir, uint64_t len);

/* Bytes the app layer holds for dir: a PDU not complete yet, or bytes
 * waiting for resync to find a boundary. */
size_t harness_buffered(const struct harness *h, enum im_dir dir);

/* Event i, or an empty one and a failed check (testlib.h's counter of
 * the calling test) when there are fewer. */
#define harness_event(h, i) harness_event_or_fail((h), (i), &testlib_failures_in_test)
const struct im_event *harness_event_or_fail(struct harness *h, size_t i, int *failures);
void harness_clear_events(struct harness *h);

#endif
