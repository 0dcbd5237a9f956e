/* The file stage: what file transfers carried. Downstream of the flow
 * table, beside the application layer: a connection an offer announced
 * (expect/) brings its bytes here instead of to a protocol module, and a
 * module that finds a file inside its own stream hands the pieces here
 * (proto_file_piece). Each transfer's content is counted, hashed
 * (SHA-256), typed by content (libmagic), optionally stored under
 * files_dir by its hash and scanned by clamd, and comes out as one more
 * file event: a copy of the offer with the content fields filled
 * (event.h, struct im_file_content).
 *
 * Gaps are recorded, never guessed: content with a hole has no hash and
 * is never stored or scanned. A transfer ends when all its announced
 * bytes arrived (so the scan starts while the last segment may still be
 * held inline), when the protocol says so, or when its connection ends.
 *
 * Shared by the workers of one process (struct files_shared): the
 * expectation table, the store and its size accounting, and the scanner
 * threads. Per worker (struct files): its transfers, the libmagic
 * handle, and the verdicts the scanner posted back; a result event is
 * emitted by the worker that owns the transfer, from files_poll. */
#ifndef IMW_FILES_H
#define IMW_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expect/expect.h"
#include "proto/proto.h"

struct files_config {
	bool follow;            /* files=on: follow offers to their data (default on) */
	const char *dir;        /* files_dir=: store content here; NULL: nowhere */
	uint64_t max_file;      /* files_max_file_bytes=: larger files are not stored */
	uint64_t max_total;     /* files_max_total_mb=: the store stops growing here */
	size_t magic_bytes;     /* the file's first bytes given to libmagic */
	const char *clamd_socket; /* clamd_socket=: scan completed files; NULL: do not */
	unsigned scan_timeout_ms; /* scan_timeout_ms=: a verdict later than this is a timeout */
	uint64_t scan_max_bytes;  /* larger files are not sent (clamd's StreamMaxLength) */
	unsigned scan_threads;
	/* Where content waits for the scanner when it is not stored:
	 * spool_dir, else files_dir, else $TMPDIR or /tmp. */
	const char *spool_dir;
	size_t expect_max;      /* expectations held at once */
	double expect_timeout;  /* seconds an expectation waits for its data */
	/* Inline (the engine's hold unit reads these): hold a transfer's last
	 * segment until clamd judged it; without a verdict in time, let it
	 * go (scan_fail=open, the default) or cut it. Held bytes are bounded
	 * per worker by hold_max_bytes. */
	bool scan_hold;
	bool scan_fail_open;
	uint64_t hold_max_bytes;
	/* What the user of the offering session is told when a transfer is
	 * cut (blocked_notice_text=); NULL: imwire's own words. */
	const char *notice_text;
};

void files_config_defaults(struct files_config *cfg);

struct files_stats {
	uint64_t transfers;        /* started: data seen for an offer or in a stream */
	uint64_t completed;        /* every announced byte, no gap */
	uint64_t incomplete;
	uint64_t bytes;            /* content bytes seen */
	uint64_t gap_bytes;
	uint64_t stored;           /* files written to files_dir (new content) */
	uint64_t store_duplicates; /* content already in files_dir */
	uint64_t store_refused;    /* over max_file or max_total, or I/O failure */
	uint64_t scanned;          /* verdicts: clean + infected */
	uint64_t infected;
	uint64_t scan_errors;
	uint64_t scan_timeouts;
	uint64_t scan_skipped;     /* not sent: a gap, too large, or spooling failed */
	uint64_t late_verdicts;    /* came after the timeout had decided */
	uint64_t spool_failures;
	uint64_t alloc_failures;
	uint64_t conns_claimed;    /* data connections that an offer announced */
	uint64_t fronts_unmatched; /* SOCKS5 or HTTP handshakes naming no expected transfer */
	uint64_t pending_scans;    /* now: transfers waiting for a verdict */
	uint64_t holds;            /* transfer ends held inline for a verdict */
	uint64_t holds_released;   /* clean (or no verdict, scan_fail=open) */
	uint64_t holds_cut;        /* infected (or no verdict, scan_fail=closed) */
	uint64_t hold_overflows;   /* decided early: held bytes at hold_max_bytes */
	/* files_dir's retention (shared by the workers: reported by one) */
	uint64_t store_expired;       /* files removed: last referred to before retention_days */
	uint64_t store_expired_bytes;
	uint64_t store_held;          /* expired, kept: an id that referred to it is on legal hold */
	uint64_t store_retain_failures; /* expired, kept: sidecar unreadable or unlink failed */
	uint64_t store_ref_failures;  /* references whose time or id could not be recorded */
};

struct files_shared;
struct files;

/* Everything the workers share, from cfg (copied; strings too). NULL
 * with err set when files_dir cannot be made or read. */
struct files_shared *files_shared_new(const struct files_config *cfg, char *err, size_t err_size);
/* Stops the scanner threads (after the jobs they hold) and frees. */
void files_shared_free(struct files_shared *sh);
struct expect_table *files_shared_expect(struct files_shared *sh);

/* One worker's stage; result events go to emit. NULL on allocation
 * failure or when libmagic cannot load its database (err). */
struct files *files_new(struct files_shared *sh, proto_emit_fn emit, void *emit_arg, char *err,
			size_t err_size);
/* Every transfer still open ends (incomplete), every scan still pending
 * is waited for (within the timeout), their events are emitted. */
void files_free(struct files *fs);

/* An event on its way down: offers become expectations. */
void files_event(struct files *fs, const struct im_event *ev, double now);

/* ---- data connections ---- */

struct file_conn;

/* A connection starts between the client (the SYN's sender, or the guess
 * of a flow picked up mid-stream) and the server. When an offer announced
 * it: a handle its bytes go to (files_conn_data), or NULL with
 * *decode_as set to the module that frames it (OSCAR's OFT2), whose
 * in-stream pieces then belong to this flow's offer. NULL and
 * IMW_PROTO_NONE: not a file connection. */
struct file_conn *files_conn_start(struct files *fs, uint64_t flow_id, uint8_t ip_version,
				   const uint8_t *client, uint16_t client_port,
				   const uint8_t *server, uint16_t server_port, double now,
				   enum imw_proto *decode_as);
/* In-order bytes of dir (IM_DIR_OUT: client to server) at stream offset. */
void files_conn_data(struct files *fs, struct file_conn *c, enum im_dir dir, const uint8_t *data,
		     size_t len, uint64_t offset, double ts);
void files_conn_gap(struct files *fs, struct file_conn *c, enum im_dir dir, uint64_t offset,
		    uint64_t len);
/* The connection ended: its transfer ends; c is freed. */
void files_conn_end(struct files *fs, struct file_conn *c, double ts);

/* ---- in-stream transfers ---- */

/* A piece a module handed over (proto_file_fn's contract) from the
 * session s of flow flow_id. */
void files_piece(struct files *fs, uint64_t flow_id, const struct proto_session *s,
		 const struct proto_file_piece *p, double ts);
/* The flow ended: its in-stream transfers end. */
void files_flow_end(struct files *fs, uint64_t flow_id, double ts);

/* ---- results ---- */

/* Take the scanner's verdicts, time out what waited too long, and emit
 * the finished transfers' events. Cheap when nothing is pending. */
void files_poll(struct files *fs);
/* Wait (each within the scan timeout) until no scan is pending, then
 * poll: the end of a capture. */
void files_drain(struct files *fs);

/* ---- inline holds (scan_hold=on) ---- */

/* With scan_hold on and a scanner, the bytes of a transfer's end (its
 * last byte on a data connection, the PDU that carries its last piece in
 * a stream) wait for the verdict: the inline engine keeps them held,
 * releases them once the file is clean, or cuts the transfer when it is
 * infected (or when no verdict came in time and scan_fail=closed). */
enum files_hold {
	FILES_HOLD_NONE, /* nothing of this direction waits */
	FILES_HOLD_WAIT, /* keep the input bytes from *from held */
	FILES_HOLD_CUT,  /* cut: the bytes from *from never go on */
};

enum files_hold files_hold_state(const struct files *fs, uint64_t flow_id, enum im_dir dir,
				 uint64_t *from);

/* What the engine is to do, decided since it last asked. */
struct files_decision {
	uint64_t flow_id; /* the flow the file travels on */
	enum im_dir dir;
	bool cut;         /* else release what waited */
	uint64_t offer_flow; /* the session that offered the file: its user is told */
	char *notice;     /* owned: what the user is told (cut only), or NULL */
	char *remote;     /* owned: the other party of that session (cut only), or NULL */
};

/* Moves the decisions out (*n of them; free each notice, then the array). */
struct files_decision *files_take_decisions(struct files *fs, size_t *n);
void files_decisions_free(struct files_decision *d, size_t n);

/* The engine holds too many bytes for transfers of this worker
 * (hold_max_bytes): this transfer's end is decided now, by scan_fail. */
void files_hold_overflow(struct files *fs, uint64_t flow_id, enum im_dir dir);
/* hold_max_bytes, and whether holding is on at all. */
uint64_t files_hold_budget(const struct files *fs);
bool files_holding(const struct files *fs);

/* The end of one of several unrelated captures: what it offered is no
 * longer expected, and its scans are waited for. */
void files_forget(struct files *fs);

void files_stats_get(const struct files *fs, struct files_stats *out);

/* ---- retention of files_dir ---- */

/* Each event that refers to a stored file (stored now, or the same
 * content already there) sets the file's mtime to now and adds its local
 * id to the file's sidecar, dir/hh/<sha256>.refs (one id a line, each
 * once). A pass removes each file last referred to before the request's
 * cutoff, with its sidecar, unless an id of the sidecar is on the
 * request's legal hold; a file without a sidecar (stored by an older
 * imwire) is held by nobody. Removed sizes leave files_max_total_mb's
 * count. */
struct files_retention {
	uint64_t removed;
	uint64_t removed_bytes;
	uint64_t held;   /* expired, kept for legal hold */
	uint64_t failed; /* expired, kept: a sidecar unreadable, an unlink refused */
};

struct purge_request;
/* One pass over files_dir with req's cutoff and hold (archive/purge.h),
 * from any thread, beside the workers. 0 with *pass (all zero without
 * files_dir); -1 when the hold cannot be parsed (out of memory: nothing
 * removed) or the directory cannot be listed. */
int files_shared_retain(struct files_shared *sh, const struct purge_request *req,
			struct files_retention *pass);
/* The same in the shape of the writer's retention hook
 * (sink_writer_set_retention_hook; arg: the struct files_shared): the
 * pass's line for the log in msg (none without files_dir). */
void files_retain_logged(void *arg, const struct purge_request *req, char *msg, size_t msg_size);

#endif
