/* The file stage of one worker: transfers from their first byte to their
 * result event. files.h has the contract. */
#include "files/files.h"

#include <errno.h>
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive/purge.h"
#include "files/files_internal.h"
#include "util/text.h"

#define DEFAULT_MAX_FILE (100ull * 1024 * 1024)
#define DEFAULT_MAX_TOTAL (1024ull * 1024 * 1024)
#define DEFAULT_MAGIC_BYTES 16384
#define DEFAULT_SCAN_TIMEOUT_MS 5000
#define DEFAULT_SCAN_MAX (25ull * 1024 * 1024) /* clamd's StreamMaxLength default */
#define DEFAULT_SCAN_THREADS 2
#define DEFAULT_HOLD_MAX (16ull * 1024 * 1024)
/* Transfers one worker follows at once; more are counted, not followed. */
#define MAX_LIVE_TRANSFERS 1024

void files_config_defaults(struct files_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->follow = true;
	cfg->max_file = DEFAULT_MAX_FILE;
	cfg->max_total = DEFAULT_MAX_TOTAL;
	cfg->magic_bytes = DEFAULT_MAGIC_BYTES;
	cfg->scan_timeout_ms = DEFAULT_SCAN_TIMEOUT_MS;
	cfg->scan_max_bytes = DEFAULT_SCAN_MAX;
	cfg->scan_threads = DEFAULT_SCAN_THREADS;
	cfg->expect_max = EXPECT_DEFAULT_MAX;
	cfg->expect_timeout = EXPECT_DEFAULT_TIMEOUT;
	cfg->scan_fail_open = true;
	cfg->hold_max_bytes = DEFAULT_HOLD_MAX;
}

/* ---- shared ---- */

static char *dup_or_null(const char *s)
{
	return s && s[0] ? text_dup(s, strlen(s)) : NULL;
}

struct files_shared *files_shared_new(const struct files_config *cfg, char *err, size_t err_size)
{
	struct files_shared *sh = calloc(1, sizeof(*sh));
	const char *spool;

	if (!sh)
		goto oom;
	sh->cfg = *cfg;
	sh->cfg.dir = NULL;
	sh->cfg.clamd_socket = NULL;
	sh->cfg.spool_dir = NULL;
	sh->cfg.notice_text = NULL;
	if (cfg->notice_text && cfg->notice_text[0]) {
		sh->notice_text = dup_or_null(cfg->notice_text);
		if (!sh->notice_text)
			goto oom;
		sh->cfg.notice_text = sh->notice_text;
	}
	spool = cfg->spool_dir && cfg->spool_dir[0] ? cfg->spool_dir
		: cfg->dir && cfg->dir[0]	     ? cfg->dir
		: getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR")
							    : "/tmp";
	sh->spool_dir = text_dup(spool, strlen(spool));
	sh->expect = expect_table_new(cfg->expect_max, cfg->expect_timeout);
	if (!sh->spool_dir || !sh->expect)
		goto oom;
	if (cfg->dir && cfg->dir[0]) {
		sh->store = store_open(cfg->dir, cfg->max_file, cfg->max_total, err, err_size);
		if (!sh->store)
			goto fail;
	}
	if (cfg->clamd_socket && cfg->clamd_socket[0]) {
		sh->clamd_socket = dup_or_null(cfg->clamd_socket);
		if (!sh->clamd_socket)
			goto oom;
		sh->scanner = scanner_new(cfg->clamd_socket, cfg->scan_threads, cfg->scan_timeout_ms,
					  err, err_size);
		if (!sh->scanner)
			goto fail;
	}
	return sh;
oom:
	snprintf(err, err_size, "files: out of memory");
fail:
	files_shared_free(sh);
	return NULL;
}

void files_shared_free(struct files_shared *sh)
{
	if (!sh)
		return;
	scanner_free(sh->scanner);
	store_close(sh->store);
	expect_table_free(sh->expect);
	free(sh->spool_dir);
	free(sh->clamd_socket);
	free(sh->notice_text);
	free(sh);
}

struct expect_table *files_shared_expect(struct files_shared *sh)
{
	return sh->expect;
}

/* ---- one worker ---- */

static double monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct files *files_new(struct files_shared *sh, proto_emit_fn emit, void *emit_arg, char *err,
			size_t err_size)
{
	struct files *fs = calloc(1, sizeof(*fs));

	if (!fs) {
		snprintf(err, err_size, "files: out of memory");
		return NULL;
	}
	fs->sh = sh;
	fs->emit = emit;
	fs->emit_arg = emit_arg;
	fs->next_id = 1;
	fs->magic = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
	if (!fs->magic || magic_load(fs->magic, NULL) != 0) {
		snprintf(err, err_size, "libmagic: %s",
			 fs->magic ? magic_error(fs->magic) : "cannot open");
		goto fail;
	}
	fs->box = scan_box_new();
	if (!fs->box) {
		snprintf(err, err_size, "files: out of memory");
		goto fail;
	}
	fs->reports_store = !atomic_exchange(&sh->store_reporter_taken, true);
	return fs;
fail:
	if (fs->magic)
		magic_close(fs->magic);
	free(fs);
	return NULL;
}

static void unlink_xfer(struct files *fs, struct xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		fs->live = x->next;
	if (x->next)
		x->next->prev = x->prev;
	fs->n_live--;
}

static void free_xfer(struct files *fs, struct xfer *x)
{
	unlink_xfer(fs, x);
	if (x->conn)
		x->conn->x = NULL; /* its connection's later bytes are nobody's */
	if (x->waiting)
		fs->stats.pending_scans--;
	content_free(&x->content);
	event_free(&x->offer);
	event_free(&x->result);
	free(x);
}

static struct xfer *new_xfer(struct files *fs, enum xfer_kind kind, uint64_t flow_id)
{
	struct xfer *x;

	if (fs->n_live >= MAX_LIVE_TRANSFERS) {
		fs->stats.alloc_failures++;
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x || content_init(&x->content, fs->sh->cfg.magic_bytes) < 0) {
		free(x);
		fs->stats.alloc_failures++;
		return NULL;
	}
	event_init(&x->offer);
	event_init(&x->result);
	x->id = fs->next_id++;
	x->kind = kind;
	x->flow_id = flow_id;
	x->next = fs->live;
	if (fs->live)
		fs->live->prev = x;
	fs->live = x;
	fs->n_live++;
	return x;
}

/* Keep a copy of the content on disk when the store or the scanner will
 * want it. */
static void start_spool(struct files *fs, struct xfer *x)
{
	const struct files_config *cfg = &fs->sh->cfg;
	uint64_t limit = 0;
	char *path = NULL;
	int fd = -1;

	if (fs->sh->store)
		limit = store_max_file(fs->sh->store);
	if (fs->sh->scanner && cfg->scan_max_bytes > limit)
		limit = cfg->scan_max_bytes;
	if (x->has_size && x->size > limit)
		return; /* too large for either: not copied */
	if (fs->sh->store)
		fd = store_spool(fs->sh->store, &path);
	else if (fs->sh->scanner)
		fd = spool_tmpfile(fs->sh->spool_dir);
	else
		return;
	if (fd < 0) {
		fs->stats.spool_failures++;
		return;
	}
	content_spool(&x->content, fd, path, limit);
}

static void take_offer(struct xfer *x, struct expect_match *m)
{
	event_free(&x->offer);
	x->offer = m->offer;
	event_init(&m->offer);
	x->has_offer = true;
	if (x->offer.has_file_size && !x->has_size) {
		x->has_size = true;
		x->size = x->offer.file_size;
	}
}

/* ---- results ---- */

static void set_mime(struct files *fs, struct xfer *x)
{
	const char *m;

	if (!x->content.bytes && x->content.gap_bytes)
		return;
	m = magic_buffer(fs->magic, x->content.head ? x->content.head : (const uint8_t *)"",
			 x->content.head_len);
	if (m)
		x->result.file.mime = text_dup(m, strlen(m));
}

/* The result event: the offer (or what the session knew), then what came. */
static bool build_result(struct xfer *x, bool said_complete, double ts)
{
	struct im_event *ev = &x->result;
	struct content *c = &x->content;

	if (!event_copy(ev, &x->offer))
		return false;
	ev->ts = ts;
	ev->kind = IM_KIND_FILE;
	ev->filtered = false;
	ev->route = NULL;
	memset(&ev->xfer, 0, sizeof(ev->xfer));
	ev->file.bytes = c->bytes;
	ev->file.gap_bytes = c->gap_bytes;
	ev->file.data_flow = x->flow_id;
	if (x->has_size)
		ev->file.state = c->bytes == x->size && !c->gap_bytes ? IM_FILE_COMPLETE
								       : IM_FILE_INCOMPLETE;
	else
		ev->file.state = said_complete && !c->gap_bytes ? IM_FILE_COMPLETE
								: IM_FILE_INCOMPLETE;
	ev->file.has_sha256 = content_sha256(c, ev->file.sha256);
	return true;
}

static void store_content(struct files *fs, struct xfer *x)
{
	struct im_file_content *f = &x->result.file;
	char *final = NULL;
	int rc;

	if (!fs->sh->store || !x->content.path)
		return;
	if (!f->has_sha256 || f->state != IM_FILE_COMPLETE) {
		unlink(x->content.path);
		free(x->content.path);
		x->content.path = NULL;
		return;
	}
	/* the result event refers to the file: its local id may hold it */
	rc = store_keep(fs->sh->store, x->content.path, f->bytes, f->sha256, x->result.local,
			&final);
	free(x->content.path);
	x->content.path = NULL; /* renamed or removed: the fd stays for the scanner */
	if (rc == 1)
		fs->stats.stored++;
	else if (rc == 0)
		fs->stats.store_duplicates++;
	else
		fs->stats.store_refused++;
	f->stored = final;
}

void files_emit_result(struct files *fs, struct xfer *x)
{
	struct im_file_content *f = &x->result.file;
	uint32_t cats = 0;
	char names[64];

	if (f->scan == IM_SCAN_INFECTED)
		cats |= IM_CAT_MALWARE;
	else if (f->scan == IM_SCAN_ERROR || f->scan == IM_SCAN_TIMEOUT)
		cats |= IM_CAT_UNSCANNED;
	/* the archive's categories column and field, as flag rules' are */
	if (cats && !event_set_str(&x->result.categories,
				   event_category_names(cats, names, sizeof(names))))
		fs->stats.alloc_failures++;
	if (f->state == IM_FILE_COMPLETE)
		fs->stats.completed++;
	else
		fs->stats.incomplete++;
	if (fs->emit)
		fs->emit(fs->emit_arg, &x->result);
	free_xfer(fs, x);
}

static void set_signature(struct im_event *ev, const char *why)
{
	free(ev->file.signature);
	ev->file.signature = text_dup(why, strlen(why));
}

/* Send the content to the scanner when there is one; false when the
 * result can go out now. */
static bool start_scan(struct files *fs, struct xfer *x)
{
	struct im_file_content *f = &x->result.file;
	int fd = x->content.fd;

	if (!fs->sh->scanner)
		return false;
	x->content.fd = -1;
	if (!f->has_sha256 || fd < 0 || f->bytes > fs->sh->cfg.scan_max_bytes) {
		f->scan = IM_SCAN_ERROR;
		set_signature(&x->result, !f->has_sha256 ? "not scanned: the content has gaps"
					  : f->bytes > fs->sh->cfg.scan_max_bytes
						  ? "not scanned: larger than scan_max_bytes"
						  : "not scanned: no copy to send");
		fs->stats.scan_skipped++;
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (!scanner_submit(fs->sh->scanner, fd, f->bytes, x->id, fs->box)) {
		f->scan = IM_SCAN_ERROR;
		set_signature(&x->result, "not scanned: out of memory");
		fs->stats.scan_skipped++;
		return false;
	}
	x->waiting = true;
	x->deadline_ms = monotonic_ms() + fs->sh->cfg.scan_timeout_ms;
	fs->stats.pending_scans++;
	return true;
}

/* No more bytes come: judge what came. */
static void finish(struct files *fs, struct xfer *x, bool said_complete, double ts)
{
	if (x->finished)
		return;
	x->finished = true;
	if (!build_result(x, said_complete, ts)) {
		fs->stats.alloc_failures++;
		free_xfer(fs, x);
		return;
	}
	set_mime(fs, x);
	store_content(fs, x);
	if (start_scan(fs, x)) {
		hold_begin(fs, x, true);
		return;
	}
	hold_begin(fs, x, false);
	files_emit_result(fs, x);
}

static void maybe_done(struct files *fs, struct xfer *x, double ts)
{
	if (x->has_size && x->content.bytes + x->content.gap_bytes >= x->size)
		finish(fs, x, true, ts);
}

void files_event(struct files *fs, const struct im_event *ev, double now)
{
	if (!fs->sh->cfg.follow || ev->xfer.path == IM_XFER_NONE ||
	    ev->file.state != IM_FILE_OFFERED)
		return;
	expect_offer(fs->sh->expect, ev, now);
}

/* ---- data connections ---- */

struct file_conn *files_conn_start(struct files *fs, uint64_t flow_id, uint8_t ip_version,
				   const uint8_t *client, uint16_t client_port,
				   const uint8_t *server, uint16_t server_port, double now,
				   enum imw_proto *decode_as)
{
	struct expect_match m;
	struct file_conn *c;
	struct xfer *x;
	enum expect_hit hit;

	*decode_as = IMW_PROTO_NONE;
	if (!fs->sh->cfg.follow)
		return NULL;
	memset(&m, 0, sizeof(m));
	hit = expect_connection(fs->sh->expect, ip_version, client, client_port, server, server_port,
				now, &m);
	if (hit == EXPECT_NONE)
		return NULL;
	fs->stats.conns_claimed++;
	if (hit == EXPECT_TAKEN && m.xfer.path == IM_XFER_FRAMED) {
		/* The module frames it; its OPEN finds this offer. */
		*decode_as = m.proto;
		x = new_xfer(fs, XFER_ATTACHED, flow_id);
		if (x)
			take_offer(x, &m);
		event_free(&m.offer);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	x = c ? new_xfer(fs, XFER_CONN, flow_id) : NULL;
	if (c && hit == EXPECT_SOCKS5)
		c->s5 = calloc(1, sizeof(*c->s5));
	if (c && hit == EXPECT_HTTP)
		c->http = calloc(1, sizeof(*c->http));
	if (!x || (hit == EXPECT_SOCKS5 && !c->s5) || (hit == EXPECT_HTTP && !c->http)) {
		if (!c || x) /* new_xfer counts its own failure */
			fs->stats.alloc_failures++;
		if (x)
			free_xfer(fs, x);
		if (c) {
			free(c->s5);
			free(c->http);
		}
		free(c);
		event_free(&m.offer);
		return NULL;
	}
	c->x = x;
	x->conn = c;
	fs->stats.transfers++;
	if (hit != EXPECT_TAKEN) {
		c->front = hit == EXPECT_SOCKS5 ? FRONT_SOCKS5 : FRONT_HTTP;
		return c;
	}
	take_offer(x, &m);
	c->skip[0] = c->skip[1] = m.xfer.preamble;
	/* The listener is the server (b) unless it was the client's side. */
	x->dir_known = true;
	x->dir = (m.listener == 1) == m.xfer.from_listener ? IM_DIR_IN : IM_DIR_OUT;
	start_spool(fs, x);
	return c;
}

/* The handshake named its transfer: is it an expected one? */
static bool claim_by_token(struct files *fs, struct file_conn *c, enum im_xfer_path path,
			   const uint8_t *token, size_t len, double now)
{
	struct expect_match m;

	memset(&m, 0, sizeof(m));
	if (!expect_token(fs->sh->expect, IMW_PROTO_NONE, path, token, len, true, now, &m)) {
		fs->stats.fronts_unmatched++;
		return false;
	}
	take_offer(c->x, &m);
	start_spool(fs, c->x);
	return true;
}

/* How many of dir's bytes (at the start of data) come before the file:
 * all of them while a handshake lasts. */
static size_t front_bytes(struct files *fs, struct file_conn *c, enum im_dir dir,
			  const uint8_t *data, size_t len, double ts)
{
	size_t used = 0;

	if (c->skip[dir]) {
		used = len < c->skip[dir] ? len : (size_t)c->skip[dir];
		c->skip[dir] -= used;
		return used;
	}
	if (c->front == FRONT_SOCKS5 && !c->s5->done[dir]) {
		enum socks5_result r = socks5_feed(c->s5, dir, data, len, &used);

		if (r == SOCKS5_BROKEN)
			c->dead = true;
		else if (r == SOCKS5_DATA && dir == IM_DIR_OUT &&
			 !claim_by_token(fs, c, IM_XFER_SOCKS5, c->s5->dst, c->s5->dst_len, ts))
			c->dead = true;
		return r == SOCKS5_DATA ? used : len;
	}
	if (c->front == FRONT_HTTP && !c->http->done[dir]) {
		enum http_result r = http_relay_feed(c->http, dir, data, len, &used);

		if (r == HTTP_BROKEN) {
			c->dead = true;
		} else if (r == HTTP_BODY && dir == IM_DIR_OUT) {
			if (!claim_by_token(fs, c, IM_XFER_HTTP, c->http->token, c->http->token_len,
					    ts))
				c->dead = true;
			c->x->dir_known = true;
			c->x->dir = c->http->post ? IM_DIR_OUT : IM_DIR_IN;
		}
		return r == HTTP_BODY ? used : len;
	}
	return 0;
}

void files_conn_data(struct files *fs, struct file_conn *c, enum im_dir dir, const uint8_t *data,
		     size_t len, uint64_t offset, double ts)
{
	struct xfer *x = c->x;
	size_t skip;

	if (c->dead || !x || x->finished)
		return;
	skip = front_bytes(fs, c, dir, data, len, ts);
	if (c->dead || skip == len || !x->has_offer)
		return;
	data += skip;
	len -= skip;
	if (!x->dir_known) {
		x->dir_known = true; /* SOCKS5: the first bytes after the handshake */
		x->dir = dir;
	}
	if (dir != x->dir)
		return; /* the receiver's acknowledgements */
	x->last_ts = ts;
	x->has_pos = true;
	x->pos_next = offset + skip + len;
	x->hold_from = x->pos_next - 1;
	fs->stats.bytes += len;
	if (!content_add(&x->content, data, len))
		fs->stats.alloc_failures++;
	maybe_done(fs, x, ts);
}

void files_conn_gap(struct files *fs, struct file_conn *c, enum im_dir dir, uint64_t offset,
		    uint64_t len)
{
	struct xfer *x = c->x;

	(void)offset;
	if (c->dead || !x || x->finished)
		return;
	if (!x->has_offer || c->skip[dir] || (c->s5 && !c->s5->done[dir]) ||
	    (c->http && !c->http->done[dir])) {
		c->dead = true; /* a hole before the file starts: nothing to follow */
		return;
	}
	if (!x->dir_known || dir != x->dir)
		return;
	fs->stats.gap_bytes += len;
	content_gap(&x->content, len);
	maybe_done(fs, x, x->last_ts);
}

void files_conn_end(struct files *fs, struct file_conn *c, double ts)
{
	struct xfer *x = c->x;

	if (x && !x->finished) {
		if (c->dead || !x->has_offer)
			free_xfer(fs, x); /* never a transfer: nothing to say */
		else
			finish(fs, x, true, ts);
	}
	if (c->x)
		c->x->conn = NULL; /* waiting for its verdict, without its connection */
	free(c->s5);
	free(c->http);
	free(c);
}

/* ---- in-stream transfers ---- */

static struct xfer *find_instream(struct files *fs, uint64_t flow_id, enum im_dir dir,
				  const uint8_t *token, size_t token_len)
{
	struct xfer *x;

	for (x = fs->live; x; x = x->next)
		if (x->kind == XFER_INSTREAM && !x->finished && x->flow_id == flow_id &&
		    x->dir == dir && x->token_len == token_len &&
		    memcmp(x->token, token, token_len) == 0)
			return x;
	return NULL;
}

static struct xfer *find_attached(struct files *fs, uint64_t flow_id)
{
	struct xfer *x;

	for (x = fs->live; x; x = x->next)
		if (x->kind == XFER_ATTACHED && x->flow_id == flow_id)
			return x;
	return NULL;
}

/* "name (size bytes)", as the modules write an offer's text. */
static bool set_offer_text(struct im_event *ev, const struct proto_file_piece *p)
{
	const char *name = p->name ? p->name : "";
	size_t n = strlen(name);
	char *t = malloc(n + 40);

	if (!t)
		return false;
	if (p->has_size)
		snprintf(t, n + 40, "%s (%llu bytes)", name, (unsigned long long)p->size);
	else
		memcpy(t, name, n + 1);
	free(ev->text);
	ev->text = t;
	return true;
}

/* The offer a module's OPEN belongs to: the one that announced this
 * flow, else one expected by token, else what the session knows. */
static bool open_offer(struct files *fs, struct xfer *x, uint64_t flow_id,
		       const struct proto_session *s, const struct proto_file_piece *p, double ts)
{
	struct xfer *att = find_attached(fs, flow_id);
	struct expect_match m;
	struct im_event *ev = &x->offer;

	memset(&m, 0, sizeof(m));
	if (att) {
		*ev = att->offer;
		event_init(&att->offer);
		x->has_offer = true;
		free_xfer(fs, att);
	} else if (expect_token(fs->sh->expect, s->module->id, IM_XFER_FRAMED, p->token, p->token_len,
				true, ts, &m) ||
		   expect_token(fs->sh->expect, s->module->id, IM_XFER_INBAND, p->token, p->token_len,
				false, ts, &m)) {
		take_offer(x, &m);
	}
	if (x->has_offer) {
		ev->flow_id = ev->flow_id ? ev->flow_id : flow_id;
		return true;
	}
	ev->ts = ts;
	ev->proto = s->module->id;
	ev->dir = p->dir;
	ev->kind = IM_KIND_FILE;
	ev->flow_id = flow_id;
	x->has_offer = event_set_str(&ev->local, s->local_id ? s->local_id : "") &&
		       event_set_str(&ev->remote, "") && event_set_str(&ev->client, s->client) &&
		       event_set_str(&ev->file_name, p->name ? p->name : "") &&
		       set_offer_text(ev, p);
	ev->has_file_size = p->has_size;
	ev->file_size = p->size;
	return x->has_offer;
}

static void piece_open(struct files *fs, uint64_t flow_id, const struct proto_session *s,
		       const struct proto_file_piece *p, double ts)
{
	struct xfer *x = find_instream(fs, flow_id, p->dir, p->token, p->token_len);

	if (x)
		finish(fs, x, false, ts); /* opened again: the first went no further */
	if (!fs->sh->cfg.follow || p->token_len > IM_XFER_TOKEN_MAX)
		return;
	x = new_xfer(fs, XFER_INSTREAM, flow_id);
	if (!x)
		return;
	fs->stats.transfers++;
	x->dir_known = true;
	x->dir = p->dir;
	memcpy(x->token, p->token, p->token_len);
	x->token_len = p->token_len;
	if (p->has_size) {
		x->has_size = true;
		x->size = p->size;
	}
	if (!open_offer(fs, x, flow_id, s, p, ts)) {
		fs->stats.alloc_failures++;
		free_xfer(fs, x);
		return;
	}
	start_spool(fs, x);
}

void files_piece(struct files *fs, uint64_t flow_id, const struct proto_session *s,
		 const struct proto_file_piece *p, double ts)
{
	struct xfer *x;

	if (p->op == PROTO_FILE_OPEN) {
		piece_open(fs, flow_id, s, p, ts);
		return;
	}
	x = find_instream(fs, flow_id, p->dir, p->token, p->token_len);
	if (!x)
		return;
	x->last_ts = ts;
	switch (p->op) {
	case PROTO_FILE_DATA:
		/* The bytes as they lie in the stream, or the PDU they came in. */
		x->has_pos = true;
		x->pos_next = p->has_stream_offset ? p->stream_offset + p->len
						     : proto_session_pdu_offset(s);
		x->hold_from = p->has_stream_offset ? x->pos_next - 1 : proto_session_pdu_offset(s);
		fs->stats.bytes += p->len;
		if (!content_add(&x->content, p->data, p->len))
			fs->stats.alloc_failures++;
		maybe_done(fs, x, ts);
		break;
	case PROTO_FILE_GAP:
		fs->stats.gap_bytes += p->len;
		content_gap(&x->content, p->len);
		maybe_done(fs, x, ts);
		break;
	case PROTO_FILE_CLOSE:
		finish(fs, x, p->complete, ts);
		break;
	case PROTO_FILE_OPEN:
		break;
	}
}

void files_flow_end(struct files *fs, uint64_t flow_id, double ts)
{
	struct xfer *x, *next;

	hold_forget_flow(fs, flow_id);
	for (x = fs->live; x; x = next) {
		next = x->next;
		if (x->flow_id != flow_id || x->finished)
			continue;
		if (x->kind == XFER_ATTACHED)
			free_xfer(fs, x); /* the connection never opened a file */
		else if (x->kind == XFER_INSTREAM)
			finish(fs, x, false, ts);
	}
}

/* ---- verdicts ---- */

static struct xfer *find_waiting(struct files *fs, uint64_t id)
{
	struct xfer *x;

	for (x = fs->live; x; x = x->next)
		if (x->id == id && x->waiting)
			return x;
	return NULL;
}

static void judged(struct files *fs, struct xfer *x, enum im_scan v, const char *signature)
{
	x->waiting = false;
	fs->stats.pending_scans--;
	x->result.file.scan = v;
	if (signature && signature[0])
		set_signature(&x->result, signature);
	if (v == IM_SCAN_CLEAN || v == IM_SCAN_INFECTED)
		fs->stats.scanned++;
	if (v == IM_SCAN_INFECTED)
		fs->stats.infected++;
	else if (v == IM_SCAN_ERROR)
		fs->stats.scan_errors++;
	else if (v == IM_SCAN_TIMEOUT)
		fs->stats.scan_timeouts++;
	hold_judged(fs, x, v);
	files_emit_result(fs, x);
}

void files_poll(struct files *fs)
{
	struct scan_reply *r = NULL;
	struct xfer *x, *next;
	size_t n = 0, i;
	double now;

	if (!fs->stats.pending_scans)
		return;
	scan_box_take(fs->box, &r, &n);
	for (i = 0; i < n; i++) {
		x = find_waiting(fs, r[i].id);
		if (x)
			judged(fs, x, r[i].verdict, r[i].signature);
		else
			fs->stats.late_verdicts++;
	}
	free(r);
	now = monotonic_ms();
	for (x = fs->live; x; x = next) {
		next = x->next;
		if (x->waiting && now >= x->deadline_ms)
			judged(fs, x, IM_SCAN_TIMEOUT, "no verdict within scan_timeout_ms");
	}
}

void files_drain(struct files *fs)
{
	while (fs && fs->stats.pending_scans) {
		files_poll(fs);
		if (fs->stats.pending_scans)
			usleep(2000);
	}
}

void files_free(struct files *fs)
{
	struct xfer *x;

	if (!fs)
		return;
	struct xfer *next;

	for (x = fs->live; x; x = next) {
		next = x->next;
		if (!x->finished && x->kind != XFER_ATTACHED)
			finish(fs, x, false, x->last_ts); /* may free x, never next */
	}
	files_drain(fs);
	while (fs->live)
		free_xfer(fs, fs->live);
	hold_free_all(fs);
	scan_box_put(fs->box);
	magic_close(fs->magic);
	free(fs);
}

void files_forget(struct files *fs)
{
	files_drain(fs);
	expect_clear(fs->sh->expect);
}

void files_stats_get(const struct files *fs, struct files_stats *out)
{
	struct files_retention r;
	uint64_t total;

	*out = fs->stats;
	if (!fs->reports_store || !fs->sh->store)
		return;
	store_counts_get(fs->sh->store, &r, &out->store_ref_failures, &total);
	out->store_expired = r.removed;
	out->store_expired_bytes = r.removed_bytes;
	out->store_held = r.held;
	out->store_retain_failures = r.failed;
}

int files_shared_retain(struct files_shared *sh, const struct purge_request *req,
			struct files_retention *pass)
{
	struct purge_hold hold;
	int rc;

	memset(pass, 0, sizeof(*pass));
	if (!sh->store)
		return 0;
	/* the request's list, canonical already (purge_hold_load): parsed
	 * the way every sink's purge parses it */
	if (!purge_hold_parse(&hold, req->hold))
		return -1;
	rc = store_retain(sh->store, req->before_us, &hold, pass);
	purge_hold_free(&hold);
	return rc;
}

void files_retain_logged(void *arg, const struct purge_request *req, char *msg, size_t msg_size)
{
	const struct files_shared *sh = arg;
	struct files_retention pass;

	if (!sh->store)
		return; /* no files_dir: nothing to say */
	if (files_shared_retain(arg, req, &pass) < 0) {
		snprintf(msg, msg_size, "files_dir: retention: %s; nothing removed",
			 errno == ENOMEM ? "out of memory" : strerror(errno));
		return;
	}
	snprintf(msg, msg_size,
		 "files_dir: retention: %llu files (%llu bytes) removed, %llu kept for legal hold, "
		 "%llu could not be removed (hold: %s)",
		 (unsigned long long)pass.removed, (unsigned long long)pass.removed_bytes,
		 (unsigned long long)pass.held, (unsigned long long)pass.failed,
		 req->hold && *req->hold ? req->hold : "none");
}
