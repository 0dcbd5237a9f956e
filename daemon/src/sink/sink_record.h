/* An event as the write-ahead log keeps it (sink_wal.h): every field a
 * sink writes, in one flat record that a reader decodes without copying
 * (the decoded event's strings point into the record). The producer
 * writes the record once; the same bytes are the in-memory queue entry
 * and the on-disk copy, so an event is handed to the writer with one
 * copy instead of a deep one. A new event field for the sinks is one
 * line in the tables of sink_record.c.
 *
 * Record: [u32 length][version u8][fields...], little-endian; a string is
 * [u32 length, 0xFFFFFFFF for NULL][bytes][0]. */
#ifndef IMW_SINK_RECORD_H
#define IMW_SINK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "util/bytebuf.h"

#define SINK_RECORD_MAX (64u * 1024 * 1024)

/* Append ev's record to b; false on allocation failure or a record over
 * SINK_RECORD_MAX (b unchanged then). */
bool sink_record_encode(struct bytebuf *b, const struct im_event *ev);

/* The record at p[0..n) (its length prefix included) as an event whose
 * strings point into p; *used is the record's size. false when the
 * record is damaged. The event is a view: never event_free() it. */
bool sink_record_decode(const uint8_t *p, size_t n, struct im_event *ev, size_t *used);
/* The same for a record this process encoded (a frame still in memory):
 * its strings' lengths came from strlen, so they are not searched for a
 * NUL again (once per sink, every string of every event). The record's
 * structure is checked as above. */
bool sink_record_decode_ours(const uint8_t *p, size_t n, struct im_event *ev, size_t *used);

#endif
