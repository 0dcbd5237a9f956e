/* The write-ahead log's format (sink/sink_wal.c), its records
 * (sink_record.c) and the sinks' cursors (sink_cursor.c): frames read
 * back in order across segments and restarts; a torn last frame cut off;
 * a damaged frame ends its segment; sequence numbers only grow (also when
 * the log is removed); locating a sequence number; trimming and dropping
 * segments; the lock; a cursor's two slots surviving a torn write; an
 * event's every field through a record. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/wait.h>

#include "imwire/byteorder.h"
#include "sink/sink_cursor.h"
#include "sink/sink_record.h"
#include "sink/sink_wal.h"
#include "sinktest.h"
#include "testlib.h"

/* A frame of n events numbered from k (their texts). */
static void build_frame(struct bytebuf *b, unsigned k, unsigned n)
{
	static const uint8_t zero[WAL_FRAME_HEADER];
	struct im_event ev;
	unsigned i;

	bytebuf_clear(b);
	bytebuf_append(b, zero, sizeof(zero));
	for (i = 0; i < n; i++) {
		make_event(&ev, k + i, IM_KIND_MESSAGE);
		sink_record_encode(b, &ev);
		event_free(&ev);
	}
	wal_frame_seal(b->data, b->len, n);
}

/* Reads the whole log from its start: the message numbers in order. */
static size_t read_all(struct wal *w, unsigned *out, size_t max, uint64_t *seqs)
{
	struct wal_reader r;
	struct wal_read_limit lim;
	struct wal_pos pos = { w->segs[0].first_seq, WAL_SEGMENT_HEADER };
	size_t n = 0, k;
	int guard;

	wal_reader_init(&r);
	for (guard = 0; guard < 10000; guard++) {
		struct wal_pos before = pos;

		wal_read_limit_of(w, pos.seg, &lim);
		if (wal_read(&r, w, &lim, &pos, 0, 100) < 0)
			break;
		for (k = 0; k < r.n_frames; k++) {
			const uint8_t *p = r.buf.data + r.frames[k].body;
			size_t left = r.frames[k].body_len, used;
			uint32_t i;

			for (i = 0; i < r.frames[k].count; i++) {
				struct im_event ev;
				unsigned v;

				if (!sink_record_decode(p, left, &ev, &used))
					break;
				if (n < max && sscanf(ev.text, "message %u", &v) == 1) {
					seqs[n] = r.frames[k].first_seq + i;
					out[n++] = v;
				}
				p += used;
				left -= used;
			}
		}
		if (!r.n_frames && pos.seg == before.seg && pos.off == before.off)
			break;
	}
	wal_reader_free(&r);
	return n;
}

static void test_append_reopen_segments(void)
{
	struct wal w;
	struct bytebuf b;
	struct wal_pos pos;
	char dir[128], err[256];
	unsigned got[2000], k;
	uint64_t seqs[2000], first, last_seq;
	size_t n, i;

	path_in_tmp(dir, sizeof(dir), "wal1");
	bytebuf_init(&b);
	CHECK(wal_open(&w, dir, 0, 8192, NULL, err, sizeof(err)) == 0);
	for (k = 0; k < 1000; k += 10) {
		build_frame(&b, k, 10);
		CHECK(wal_append(&w, b.data, b.len, 10, 1, &first, &pos) == 0);
	}
	CHECK(w.n_segs > 5); /* rolled over at 8 KiB */
	last_seq = w.next_seq;
	wal_close(&w);
	CHECK(wal_open(&w, dir, 0, 8192, NULL, err, sizeof(err)) == 0);
	CHECK(w.next_seq >= last_seq);
	CHECK_INT_EQ(w.events_at_open, 1000);
	n = read_all(&w, got, 2000, seqs);
	CHECK_INT_EQ(n, 1000);
	for (i = 0; i < n; i++) {
		CHECK_INT_EQ(got[i], i);
		if (i)
			CHECK(seqs[i] == seqs[i - 1] + 1);
	}
	/* locate: the frame holding a number, and the one after a gap. */
	CHECK(wal_locate(&w, seqs[555], &pos) == 0);
	{
		struct wal_reader r;
		struct wal_read_limit lim;

		wal_reader_init(&r);
		wal_read_limit_of(&w, pos.seg, &lim);
		CHECK(wal_read(&r, &w, &lim, &pos, seqs[555], 1) == 0);
		CHECK(r.n_frames == 1);
		CHECK(r.n_frames && r.frames[0].first_seq <= seqs[555] &&
		      r.frames[0].first_seq + r.frames[0].count > seqs[555]);
		wal_reader_free(&r);
	}
	CHECK_INT_EQ(wal_count_events(&w, w.segs[1].first_seq, 0), w.segs[1].events);
	/* trim: whole segments below a number go, never the last. */
	{
		uint64_t before = w.total_bytes, freed = wal_trim(&w, seqs[500]);

		CHECK(freed > 0);
		CHECK_INT_EQ(w.total_bytes, before - freed);
		CHECK(w.segs[0].first_seq <= seqs[500]);
		n = read_all(&w, got, 2000, seqs);
		CHECK(n < 1000 && n >= 500);
		CHECK_INT_EQ(got[n - 1], 999);
		freed = wal_trim(&w, UINT64_MAX);
		CHECK_INT_EQ(w.n_segs, 1);
	}
	wal_close(&w);
	bytebuf_free(&b);
}

/* A crash in the middle of an append: the torn frame is cut off at the
 * next open and the next frame follows the last whole one. */
static void test_torn_tail(void)
{
	struct wal w;
	struct bytebuf b;
	struct wal_pos pos;
	char dir[128], err[256], seg[300];
	unsigned got[100];
	uint64_t seqs[100], first;
	struct stat st;
	int fd;

	path_in_tmp(dir, sizeof(dir), "wal2");
	bytebuf_init(&b);
	CHECK(wal_open(&w, dir, 0, 0, NULL, err, sizeof(err)) == 0);
	build_frame(&b, 0, 3);
	CHECK(wal_append(&w, b.data, b.len, 3, 1, &first, &pos) == 0);
	build_frame(&b, 3, 3);
	CHECK(wal_append(&w, b.data, b.len, 3, 1, &first, &pos) == 0);
	snprintf(seg, sizeof(seg), "%s/wal/%016" PRIx64 ".wal", dir, w.segs[0].first_seq);
	wal_close(&w);
	CHECK(stat(seg, &st) == 0);
	fd = open(seg, O_WRONLY);
	CHECK(fd >= 0 && ftruncate(fd, st.st_size - 7) == 0);
	close(fd);
	CHECK(wal_open(&w, dir, 0, 0, NULL, err, sizeof(err)) == 0);
	CHECK(w.torn_bytes > 0);
	CHECK_INT_EQ(read_all(&w, got, 100, seqs), 3);
	build_frame(&b, 6, 2);
	CHECK(wal_append(&w, b.data, b.len, 2, 1, &first, &pos) == 0);
	wal_close(&w);
	CHECK(wal_open(&w, dir, 0, 0, NULL, err, sizeof(err)) == 0);
	CHECK_INT_EQ(read_all(&w, got, 100, seqs), 5);
	CHECK_INT_EQ(got[3], 6);
	wal_close(&w);
	bytebuf_free(&b);
}

/* A flipped byte in a frame's body: reading stops there with EBADMSG. */
static void test_damaged_frame(void)
{
	struct wal w;
	struct bytebuf b;
	struct wal_pos pos, p2;
	struct wal_reader r;
	struct wal_read_limit lim;
	char dir[128], err[256], seg[300];
	uint64_t first;
	uint8_t x;
	int fd;

	path_in_tmp(dir, sizeof(dir), "wal3");
	bytebuf_init(&b);
	CHECK(wal_open(&w, dir, 0, 0, NULL, err, sizeof(err)) == 0);
	build_frame(&b, 0, 4);
	CHECK(wal_append(&w, b.data, b.len, 4, 1, &first, &pos) == 0);
	snprintf(seg, sizeof(seg), "%s/wal/%016" PRIx64 ".wal", dir, pos.seg);
	fd = open(seg, O_RDWR);
	CHECK(pread(fd, &x, 1, (off_t)(pos.off + WAL_FRAME_HEADER + 30)) == 1);
	x ^= 0x40;
	CHECK(pwrite(fd, &x, 1, (off_t)(pos.off + WAL_FRAME_HEADER + 30)) == 1);
	close(fd);
	wal_reader_init(&r);
	p2 = pos;
	wal_read_limit_of(&w, p2.seg, &lim);
	errno = 0;
	CHECK(wal_read(&r, &w, &lim, &p2, 0, 100) == -1);
	CHECK_INT_EQ(errno, EBADMSG);
	wal_reader_free(&r);
	wal_close(&w);
	bytebuf_free(&b);
}

/* Sequence numbers only grow: across a restart, above what the caller
 * says is taken, and above the clock when the log was removed. */
static void test_sequence_numbers_grow(void)
{
	struct wal w;
	struct bytebuf b;
	struct wal_pos pos;
	char dir[128], err[256], cmd[300];
	uint64_t first, a, big = 9000000000000000000ull;

	path_in_tmp(dir, sizeof(dir), "wal4");
	bytebuf_init(&b);
	CHECK(wal_open(&w, dir, 0, 0, NULL, err, sizeof(err)) == 0);
	build_frame(&b, 0, 5);
	CHECK(wal_append(&w, b.data, b.len, 5, 1, &a, &pos) == 0);
	CHECK(a > 1600000000000000ull); /* microseconds of the clock */
	wal_close(&w);
	CHECK(wal_open(&w, dir, 0, 0, NULL, err, sizeof(err)) == 0);
	CHECK(wal_append(&w, b.data, b.len, 5, 1, &first, &pos) == 0);
	CHECK(first >= a + 5);
	wal_close(&w);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/wal'", dir);
	CHECK(system(cmd) == 0);
	CHECK(wal_open(&w, dir, big, 0, NULL, err, sizeof(err)) == 0);
	CHECK(wal_append(&w, b.data, b.len, 5, 1, &first, &pos) == 0);
	CHECK(first >= big);
	/* A refused append still takes its numbers: nothing reuses them. */
	CHECK(wal_drop_oldest(&w, &a, &first) == false);
	wal_close(&w);
	bytebuf_free(&b);
}

static void test_lock(void)
{
	struct wal w;
	char dir[128], err[512];
	int status = 1;

	path_in_tmp(dir, sizeof(dir), "wal5");
	CHECK(wal_open(&w, dir, 0, 0, NULL, err, sizeof(err)) == 0);
	if (fork() == 0) {
		struct wal w2;
		char e2[512];

		if (wal_open(&w2, dir, 0, 0, NULL, e2, sizeof(e2)) == 0)
			_exit(1);
		_exit(strstr(e2, "in use by another process (pid ") ? 0 : 2);
	}
	wait(&status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	wal_close(&w);
}

/* A cursor's last store wins; a torn store leaves the one before. */
static void test_cursor_slots(void)
{
	struct sink_cursor c;
	struct sink_undo u, got;
	struct sink_undo_entry e;
	char dir[128], err[256];
	bool found;
	uint64_t seq;
	int fd;

	path_in_tmp(dir, sizeof(dir), "cur");
	CHECK(mkdir(dir, 0700) == 0);
	sink_undo_init(&u);
	sink_undo_init(&got);
	CHECK(sink_cursor_open(&c, dir, "jsonl /x", &found, &seq, &got, err, sizeof(err)) == 0);
	CHECK(!found);
	CHECK(sink_cursor_store(&c, 100, NULL, true) == 0);
	CHECK(sink_undo_add(&u, "/x", 1, 2, 300));
	CHECK(sink_cursor_store(&c, 200, &u, true) == 0);
	sink_cursor_close(&c);
	CHECK(sink_cursor_open(&c, dir, "jsonl /x", &found, &seq, &got, err, sizeof(err)) == 0);
	CHECK(found);
	CHECK_INT_EQ(seq, 200);
	CHECK_INT_EQ(got.n, 1);
	CHECK(sink_undo_get(&got, 0, &e) && strcmp(e.path, "/x") == 0 && e.dev == 1 && e.ino == 2 &&
	      e.size == 300);
	/* Tear the next store: its slot is garbage; 200 stays. */
	CHECK(sink_cursor_store(&c, 300, NULL, true) == 0);
	fd = c.fd;
	{
		uint8_t junk[16];

		memset(junk, 0xA5, sizeof(junk));
		CHECK(pwrite(fd, junk, sizeof(junk), 30) == (ssize_t)sizeof(junk) ||
		      pwrite(fd, junk, sizeof(junk), 30 + 20480) == (ssize_t)sizeof(junk));
	}
	sink_cursor_close(&c);
	CHECK(sink_cursor_open(&c, dir, "jsonl /x", &found, &seq, &got, err, sizeof(err)) == 0);
	CHECK(found);
	CHECK(seq == 300 || seq == 200);
	sink_cursor_close(&c);
	CHECK(sink_cursor_max_seq(dir) >= 200);
	/* Another sink's cursor is another file. */
	CHECK(sink_cursor_open(&c, dir, "jsonl /y", &found, &seq, &got, err, sizeof(err)) == 0);
	CHECK(!found);
	sink_cursor_close(&c);
	sink_undo_free(&u);
	sink_undo_free(&got);
}

/* Every field an event carries to the sinks survives a record. */
static void test_record_fields(void)
{
	struct im_event ev, out;
	struct bytebuf b;
	size_t used;

	event_init(&ev);
	ev.ts = 1712345678.123456;
	ev.proto = IMW_PROTO_XMPP;
	ev.dir = IM_DIR_IN;
	ev.kind = IM_KIND_FILE;
	ev.group = true;
	ev.filtered = true;
	ev.auto_response = true;
	event_set_str(&ev.local, "alice@example.org");
	event_set_str(&ev.remote, "room@conf");
	event_set_str(&ev.client, "[fd00::1]:5222");
	event_set_str(&ev.remote_address, "room@conf/bob");
	ev.route = "local";
	event_set_str(&ev.route_to, "bob@irc");
	ev.content_type = "text/html";
	event_set_str(&ev.text, "r\xc3\xa9sum\xc3\xa9.pdf (12 bytes)");
	event_set_str(&ev.file_name, "r\xc3\xa9sum\xc3\xa9.pdf");
	ev.file_size = 12;
	ev.has_file_size = true;
	ev.flow_id = 77;
	event_set_str(&ev.remote_name, "Bob \"the\" builder");
	ev.sent_ts = 1712345600.5;
	ev.has_sent_ts = true;
	ev.ids_inferred = true;
	bytebuf_init(&b);
	CHECK(sink_record_encode(&b, &ev));
	CHECK(sink_record_decode(b.data, b.len, &out, &used));
	CHECK_INT_EQ(used, b.len);
	CHECK(out.ts == ev.ts && out.proto == ev.proto && out.dir == ev.dir && out.kind == ev.kind);
	CHECK(out.group && out.filtered && out.auto_response && out.has_file_size);
	CHECK(out.has_sent_ts && out.sent_ts == ev.sent_ts && out.ids_inferred);
	CHECK_STR_EQ(out.remote_name, ev.remote_name);
	CHECK_INT_EQ(out.file_size, 12);
	CHECK_INT_EQ(out.flow_id, 77);
	CHECK_STR_EQ(out.local, ev.local);
	CHECK_STR_EQ(out.remote, ev.remote);
	CHECK_STR_EQ(out.client, ev.client);
	CHECK_STR_EQ(out.remote_address, ev.remote_address);
	CHECK_STR_EQ(out.route, "local");
	CHECK_STR_EQ(out.route_to, ev.route_to);
	CHECK_STR_EQ(out.content_type, "text/html");
	CHECK_STR_EQ(out.text, ev.text);
	CHECK_STR_EQ(out.file_name, ev.file_name);
	/* NULL stays NULL (sinks tell absent from empty). */
	event_free(&ev);
	event_init(&ev);
	ev.content_type = NULL;
	bytebuf_clear(&b);
	CHECK(sink_record_encode(&b, &ev));
	CHECK(sink_record_decode(b.data, b.len, &out, &used));
	CHECK(out.content_type == NULL && out.text == NULL && out.route == NULL);
	/* Damage is refused, never read past. */
	CHECK(!sink_record_decode(b.data, b.len - 1, &out, &used));
	b.data[4] = 99; /* version */
	CHECK(!sink_record_decode(b.data, b.len, &out, &used));
	bytebuf_free(&b);
	event_free(&ev);
}

/* A file transfer's result (#20) survives a record: every field of its
 * content, the categories, and its strings; an offer carries none. */
static void test_record_file_result(void)
{
	static const char sha[] = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
	struct im_event ev, out;
	struct bytebuf b;
	size_t used, offer_len;

	event_init(&ev);
	ev.kind = IM_KIND_FILE;
	ev.proto = IMW_PROTO_IRC;
	event_set_str(&ev.file_name, "eicar.com");
	bytebuf_init(&b);
	CHECK(sink_record_encode(&b, &ev)); /* the offer */
	offer_len = b.len;
	ev.file.state = IM_FILE_CUT;
	ev.file.bytes = 68;
	ev.file.gap_bytes = 3;
	ev.file.data_flow = 12;
	ev.file.has_sha256 = true;
	memcpy(ev.file.sha256, sha, sizeof(sha));
	event_set_str(&ev.file.mime, "text/plain");
	event_set_str(&ev.file.stored, "/var/lib/imwire/files/27/275a");
	ev.file.scan = IM_SCAN_INFECTED;
	event_set_str(&ev.file.signature, "Eicar-Test-Signature");
	event_set_str(&ev.categories, "malware");
	event_set_str(&ev.server, "192.0.2.9:6667");
	CHECK(sink_record_encode(&b, &ev)); /* its result */
	CHECK(sink_record_decode(b.data, b.len, &out, &used));
	CHECK_INT_EQ(used, offer_len);
	CHECK_INT_EQ(out.file.state, IM_FILE_OFFERED);
	CHECK(out.file.mime == NULL && out.file.stored == NULL && out.file.signature == NULL);
	CHECK(!out.file.has_sha256 && out.categories == NULL);
	CHECK(sink_record_decode(b.data + offer_len, b.len - offer_len, &out, &used));
	CHECK_INT_EQ(used, b.len - offer_len);
	CHECK_INT_EQ(out.file.state, IM_FILE_CUT);
	CHECK_INT_EQ(out.file.bytes, 68);
	CHECK_INT_EQ(out.file.gap_bytes, 3);
	CHECK_INT_EQ(out.file.data_flow, 12);
	CHECK(out.file.has_sha256);
	CHECK_STR_EQ(out.file.sha256, sha);
	CHECK_STR_EQ(out.file.mime, "text/plain");
	CHECK_STR_EQ(out.file.stored, "/var/lib/imwire/files/27/275a");
	CHECK_INT_EQ(out.file.scan, IM_SCAN_INFECTED);
	CHECK_STR_EQ(out.file.signature, "Eicar-Test-Signature");
	CHECK_STR_EQ(out.categories, "malware");
	CHECK_STR_EQ(out.server, "192.0.2.9:6667");
	CHECK_STR_EQ(out.file_name, "eicar.com");
	/* a damaged file part is refused */
	b.data[offer_len + 5 + 36] = IM_FILE_STATE_COUNT; /* after the fixed part */
	CHECK(!sink_record_decode(b.data + offer_len, b.len - offer_len, &out, &used));
	bytebuf_free(&b);
	event_free(&ev);
}

/* Records of versions 1 (before the archive) and 2 (the archive's
 * strings, before the file part and strings) still decode: made here
 * from a version 3 record with the later strings all NULL, cut off. */
static void test_record_older_versions(void)
{
	struct im_event ev, out;
	struct bytebuf b;
	size_t used, cut[3] = { 0, 3 * 4, 10 * 4 };
	uint8_t version;

	for (version = 3; version >= 1; version--) {
		event_init(&ev);
		ev.ts = 1700000000.5;
		ev.kind = IM_KIND_MESSAGE;
		ev.proto = IMW_PROTO_IRC;
		event_set_str(&ev.local, "alice");
		event_set_str(&ev.text, "hello");
		if (version >= 2)
			event_set_str(&ev.session, "s-1");
		bytebuf_init(&b);
		CHECK(sink_record_encode(&b, &ev));
		CHECK(b.len > cut[3 - version]);
		b.len -= cut[3 - version];
		imw_store_le32(b.data, (uint32_t)b.len);
		b.data[4] = version;
		CHECK(sink_record_decode(b.data, b.len, &out, &used));
		CHECK_INT_EQ(used, b.len);
		CHECK_STR_EQ(out.local, "alice");
		CHECK_STR_EQ(out.text, "hello");
		CHECK(version < 2 ? out.session == NULL : strcmp(out.session, "s-1") == 0);
		/* a version 1 record with a version 3 length is refused */
		b.data[4] = version == 1 ? 3 : 1;
		CHECK(!sink_record_decode(b.data, b.len, &out, &used));
		bytebuf_free(&b);
		event_free(&ev);
	}
}

int main(void)
{
	if (make_tmpdir("wal") < 0) {
		printf("FAIL mkdtemp\n");
		return 1;
	}
	RUN_TEST(test_append_reopen_segments);
	RUN_TEST(test_torn_tail);
	RUN_TEST(test_damaged_frame);
	RUN_TEST(test_sequence_numbers_grow);
	RUN_TEST(test_lock);
	RUN_TEST(test_cursor_slots);
	RUN_TEST(test_record_fields);
	RUN_TEST(test_record_file_result);
	RUN_TEST(test_record_older_versions);
	remove_tmpdir();
	TEST_MAIN_END();
}
