/* The file stage's pieces, private to daemon/src/files/: one transfer's
 * content (content.c), the store under files_dir (store.c), the clamd
 * client and its threads (scan.c), SOCKS5 handshakes in front of data
 * (socks5.c). files.c puts them together. */
#ifndef IMW_FILES_INTERNAL_H
#define IMW_FILES_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <magic.h>

#include "event/event.h"
#include "files/files.h"

/* ---- content.c: one transfer's bytes ---- */

struct content {
	void *sha;          /* EVP_MD_CTX: SHA-256 of the bytes so far */
	bool contiguous;    /* no gap yet: the hash is the content's */
	uint64_t bytes;     /* received */
	uint64_t gap_bytes; /* lost */
	uint8_t *head;      /* the first bytes, for libmagic */
	size_t head_len;
	size_t head_max;
	/* A copy on disk, for the store and the scanner; -1: none. Writing
	 * stops (and the copy is dropped) at spool_limit or on an error. */
	int fd;
	char *path; /* a named copy (in the store's directory), or NULL */
	uint64_t spool_limit;
	bool spool_failed;
};

int content_init(struct content *c, size_t head_max);
/* Keep a copy in fd (path: its name, owned by c from now on, or NULL
 * for an unlinked file) up to limit bytes. */
void content_spool(struct content *c, int fd, char *path, uint64_t limit);
/* false on an allocation failure (counted by the caller; the bytes still
 * count, the hash is given up). */
bool content_add(struct content *c, const uint8_t *data, size_t len);
void content_gap(struct content *c, uint64_t len);
/* The hash, when the content is contiguous; false otherwise. */
bool content_sha256(struct content *c, char hex[65]);
/* Drop the copy (closing and, when named, unlinking it). */
void content_unspool(struct content *c);
void content_free(struct content *c);

/* ---- store.c: files_dir, content-addressed ---- */

struct store;

/* NULL with err set when dir cannot be made. The bytes already stored
 * are summed (regular files in its subdirectories); leftovers of an
 * interrupted run (.partial/) are removed. */
struct store *store_open(const char *dir, uint64_t max_file, uint64_t max_total, char *err,
			 size_t err_size);
void store_close(struct store *st);
/* A new file to write content into, in dir/.partial: its fd and name. */
int store_spool(struct store *st, char **path);
uint64_t store_max_file(const struct store *st);
/* Put the written file path (bytes long, hash hex) in its place,
 * dir/hh/hex. 1: stored (*final: its name, owned), 0: the same content
 * was there (path removed, *final: that name), -1: refused (over a cap,
 * or an I/O error; path removed). Stored or there: the event of local
 * (NULL or "": none) refers to it, so its mtime becomes now and
 * dir/hh/hex.refs lists local (each id once, one a line); a failure of
 * either is counted (store_counts_get), the file stays stored. */
int store_keep(struct store *st, const char *path, uint64_t bytes, const char *hex,
	       const char *local, char **final);
struct purge_hold;
/* One retention pass: every stored file whose mtime (its last reference)
 * is before before_us goes with its sidecar, and its size leaves the
 * total, unless an id of its sidecar is on hold (purge_hold_matches).
 * Safe beside store_keep: a file referred to during the pass stays.
 * This pass's counts in *pass; -1 when dir cannot be listed. */
int store_retain(struct store *st, int64_t before_us, const struct purge_hold *hold,
		 struct files_retention *pass);
/* Every pass's counts, the references not recorded, and the bytes stored. */
void store_counts_get(struct store *st, struct files_retention *retained, uint64_t *ref_failures,
		      uint64_t *total);
/* An unlinked temporary file in dir, for content only the scanner needs. */
int spool_tmpfile(const char *dir);

/* ---- scan.c: clamd, INSTREAM, on threads of their own ---- */

struct scan_reply {
	uint64_t id;
	enum im_scan verdict;
	char signature[128];
};

/* Where a worker's verdicts come back. Counted references: the worker
 * and every job in flight hold one. */
struct scan_box {
	pthread_mutex_t lock;
	unsigned refs;
	struct scan_reply *replies;
	size_t n, cap;
	uint64_t lost; /* replies that did not fit (allocation failure) */
};

struct scan_box *scan_box_new(void);
void scan_box_put(struct scan_box *b);
/* Move the replies out (*out: owned, *n of them). */
void scan_box_take(struct scan_box *b, struct scan_reply **out, size_t *n);

struct scanner;

struct scanner *scanner_new(const char *socket_path, unsigned threads, unsigned timeout_ms,
			    char *err, size_t err_size);
/* Stop the threads once the jobs queued are done (each bounded by the
 * timeout), and free. */
void scanner_free(struct scanner *sc);
/* Scan size bytes of fd (the scanner closes it); the verdict goes to box
 * under id. false when the job cannot be queued (fd closed). */
bool scanner_submit(struct scanner *sc, int fd, uint64_t size, uint64_t id, struct scan_box *box);
/* The clamd dialogue for one file, on the calling thread: the verdict,
 * and the signature name when infected (or clamd's error text). */
enum im_scan scan_fd(const char *socket_path, unsigned timeout_ms, int fd, uint64_t size,
		     char *signature, size_t sig_size);

/* ---- socks5.c: the handshake in front of a bytestream ---- */

#define SOCKS5_MAX_ADDR 255

struct socks5 {
	uint8_t buf[2][8 + SOCKS5_MAX_ADDR]; /* what each side sent so far of its part */
	size_t have[2];
	size_t need[2];     /* length of each side's part, once known */
	int stage[2];       /* client: greeting, request; server: choice, reply */
	bool done[2];
	uint64_t preamble[2]; /* bytes of each direction before the data */
	uint8_t dst[SOCKS5_MAX_ADDR]; /* the client's destination (a domain name) */
	size_t dst_len;
	bool failed;
};

enum socks5_result {
	SOCKS5_MORE,   /* the handshake goes on */
	SOCKS5_DATA,   /* this direction's handshake is over: *used bytes were it */
	SOCKS5_BROKEN, /* not SOCKS5 */
};

/* Feed dir's bytes (IM_DIR_OUT: the SOCKS5 client's); *used: how many
 * belonged to the handshake. */
enum socks5_result socks5_feed(struct socks5 *s, enum im_dir dir, const uint8_t *data, size_t len,
			       size_t *used);

/* ---- files.c: the stage's state ---- */

struct file_conn;
struct socks5;
struct http_relay;

struct files_shared {
	struct files_config cfg;
	char *spool_dir;
	char *clamd_socket;
	char *notice_text;
	struct expect_table *expect;
	struct store *store;
	struct scanner *scanner;
	/* The store's counts are the process's, not a worker's: the first
	 * worker made reports them, so a sum over workers counts them once. */
	atomic_bool store_reporter_taken;
};

enum xfer_kind {
	XFER_CONN,     /* a data connection of its own */
	XFER_INSTREAM, /* inside a session's stream */
	XFER_ATTACHED, /* an offer waiting for its framed connection's OPEN */
};

struct xfer {
	struct xfer *prev, *next;
	struct file_conn *conn; /* the data connection that feeds it, if any */
	uint64_t id;
	enum xfer_kind kind;
	uint64_t flow_id;
	bool dir_known;
	enum im_dir dir;
	uint8_t token[IM_XFER_TOKEN_MAX];
	size_t token_len;
	bool has_offer;
	struct im_event offer; /* what the result event starts from */
	bool has_size;
	uint64_t size;
	struct content content;
	double last_ts;   /* of the last bytes (or gap) */
	bool finished;    /* no more bytes: judged or waiting for the scanner */
	bool waiting;     /* for the scanner's verdict */
	double deadline_ms;
	struct im_event result;
	/* Where the file's bytes lie in its flow's input stream, for the
	 * inline hold: the next offset after them, and where the bytes that
	 * must wait for the verdict begin (its last byte, or the PDU that
	 * carries its last piece). */
	bool has_pos;
	uint64_t pos_next;
	uint64_t hold_from;
};

/* What comes before the file on a data connection. */
enum conn_front {
	FRONT_NONE,   /* the file from the first byte (after preamble bytes) */
	FRONT_SOCKS5, /* a SOCKS5 handshake naming the transfer */
	FRONT_HTTP,   /* an HTTP request naming the transfer, and its answer's head */
};

struct file_conn {
	struct xfer *x;
	enum conn_front front;
	struct socks5 *s5;
	struct http_relay *http;
	uint64_t skip[2]; /* fixed bytes each direction sends first (GG DCC7's id) */
	bool dead;        /* not a transfer after all: bytes are dropped */
};

struct files {
	struct files_shared *sh;
	proto_emit_fn emit;
	void *emit_arg;
	magic_t magic;
	struct scan_box *box;
	struct xfer *live; /* every transfer not yet emitted, newest first */
	size_t n_live;
	uint64_t next_id;
	struct files_stats stats;
	bool reports_store; /* files_shared's store_reporter_taken */
	struct file_hold *holds;             /* hold.c */
	struct files_decision *decisions;    /* for the engine, files_take_decisions */
	size_t n_decisions, cap_decisions;
};


/* The result event of x goes to the sinks and x is freed. */
void files_emit_result(struct files *fs, struct xfer *x);

/* ---- hold.c: inline holds of a transfer's end (scan_hold=on) ---- */

struct file_hold {
	struct file_hold *next;
	uint64_t flow_id; /* the flow the file's bytes travel on */
	enum im_dir dir;
	uint64_t from;    /* input offset of the first byte held */
	uint64_t xfer_id; /* the transfer waiting for its verdict; 0 once cut */
	bool cut;
};

/* x ended and went to the scanner (scanning) or could not (not): hold its
 * end while it waits, or decide at once by scan_fail. */
void hold_begin(struct files *fs, struct xfer *x, bool scanning);
/* x's verdict v: release its end, or cut it (x's result then says so). */
void hold_judged(struct files *fs, struct xfer *x, enum im_scan v);
/* The flow ended: its holds go. */
void hold_forget_flow(struct files *fs, uint64_t flow_id);
void hold_free_all(struct files *fs);

/* ---- http_relay.c: an HTTP request in front of a file ---- */

#define HTTP_MAX_HEAD 4096

struct http_relay {
	uint8_t head[2][HTTP_MAX_HEAD];
	size_t have[2];
	bool done[2]; /* this direction's head is over */
	bool post;    /* the client sends the file (else it gets it) */
	uint8_t token[IM_XFER_TOKEN_MAX];
	size_t token_len;
	bool failed;
};

enum http_result {
	HTTP_MORE,   /* the head goes on */
	HTTP_BODY,   /* this direction's head is over: *used bytes were it */
	HTTP_BROKEN, /* not a relay request */
};

enum http_result http_relay_feed(struct http_relay *h, enum im_dir dir, const uint8_t *data,
				 size_t len, size_t *used);

#endif
