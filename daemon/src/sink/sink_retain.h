/* Retention of the file sinks (archive/purge.h): the JSON lines file
 * purged in place by rewriting it whole (the kept lines, then the purge's
 * record, renamed over the file in one step), the files logrotate left
 * beside it and IMSpector's day files gzipped once old and removed once
 * expired (but never one holding a line of a user on legal hold).
 * Shared by sink_jsonl.c and sink_imspector.c; nothing here keeps state. */
#ifndef IMW_SINK_RETAIN_H
#define IMW_SINK_RETAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/purge.h"

/* The plan for request id over the JSON lines file at path: 1 with pl
 * made (its hold in *hold_copy, freed by the caller after the plan); 0
 * when there is nothing to record (nothing expired, all of it held, or
 * the file has the record of id already: the rewrite that stored it
 * removed the rows at once); -1 with err. */
int retain_jsonl_plan(const char *path, const struct purge_request *req, uint64_t id,
		      struct purge_plan *pl, char **hold_copy, char *err, size_t err_size);
/* Rewrites path without the plan's rows and with tail (the record's
 * line) at the end, through path.retention renamed over it (same mode
 * and owner), and opens it again for appending: the new descriptor in
 * *fd, and its size. 0, or -1 with err and errno (path unchanged). */
int retain_jsonl_rewrite(const char *path, const struct purge_plan *pl, const uint8_t *tail,
			 size_t tail_len, int *fd, uint64_t *size, char *err, size_t err_size);
/* Files logrotate left beside path ("path.1", "path-20240101", either
 * with ".gz"): gzipped when older than req->compress_us, removed when
 * older than req->before_us unless a line names a held user. Counts in
 * *gzipped and *removed. 0, or -1 with err (what was done stays done). */
int retain_rotated(const char *path, const struct purge_request *req, unsigned *gzipped,
		   unsigned *removed, char *err, size_t err_size);
/* IMSpector's layout under dir: DIR/PROTO/LOCAL/REMOTE/YYYY-MM-DD[.gz]; a
 * day ended before req->compress_us is gzipped, one ended before
 * req->before_us removed unless LOCAL is held (then emptied directories
 * go too). 0, or -1 with err. */
int retain_imspector(const char *dir, const struct purge_request *req, unsigned *gzipped,
		     unsigned *removed, char *err, size_t err_size);
/* path -> path.gz (mode and times kept), then path removed. 0, or -1
 * with err (path unchanged, no half .gz left). */
int retain_gzip(const char *path, char *err, size_t err_size);

#endif
