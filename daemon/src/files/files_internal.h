/* The file stage's pieces, private to daemon/src/files/: one transfer's
 * content (content.c), the store under files_dir (store.c), the clamd
 * client and its threads (scan.c), SOCKS5 handshakes in front of data
 * (socks5.c). files.c puts them together. */
#ifndef IMW_FILES_INTERNAL_H
#define IMW_FILES_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

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
 * or an I/O error; path removed). */
int store_keep(struct store *st, const char *path, uint64_t bytes, const char *hex,
	       char **final);
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
