/* capture/pcap_records.c: the records of a plain pcap file read straight
 * from it, and pcap_source handing the file to libpcap at the first record
 * the fast reader does not take. Each file is also read by libpcap alone
 * (pcap_open_offline, pcap_next_ex): pcap_source must give the same
 * packets, time stamps and lengths, the same count, and the same error. */
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/pcap_records.h"
#include "capture/pcap_source.h"
#include "test_packet.h"
#include "testlib.h"

#define MAGIC_USEC 0xA1B2C3D4u
#define MAGIC_NSEC 0xA1B23C4Du
#define MAX_RECS 8

struct rec {
	uint32_t sec, frac, caplen, len;
	uint8_t data[128];
};

struct file {
	uint32_t magic;
	bool big_endian;
	uint16_t minor;
	uint32_t snaplen;
	struct rec r[MAX_RECS];
	size_t n;
	size_t cut; /* bytes dropped from the end */
};

static char path[64];

static int open_read(const char *name)
{
	return open(name, O_RDONLY | O_CLOEXEC);
}

static void put32(FILE *f, bool be, uint32_t v)
{
	uint8_t b[4];

	if (be) {
		b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8),
		b[3] = (uint8_t)v;
	} else {
		b[0] = (uint8_t)v, b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)(v >> 16),
		b[3] = (uint8_t)(v >> 24);
	}
	fwrite(b, 1, 4, f);
}

static void put16(FILE *f, bool be, uint16_t v)
{
	uint8_t b[2] = { be ? (uint8_t)(v >> 8) : (uint8_t)v, be ? (uint8_t)v : (uint8_t)(v >> 8) };

	fwrite(b, 1, 2, f);
}

/* An Ethernet frame with a TCP segment from 10.0.0.1:40000 to
 * 10.0.0.2:6667 carrying `i` in its payload. */
static uint32_t frame(uint8_t *out, unsigned i)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	char text[32];
	struct test_tcp4 t = { .src = 1, .dst = 2, .sport = 40000, .dport = 6667,
			       .seq = 1000 + i * 16, .ack = 1, .flags = 0x18 };

	snprintf(text, sizeof(text), "PING :%08u\r\n", i);
	t.payload = text;
	t.payload_len = strlen(text);
	memcpy(out, eth, sizeof(eth));
	return (uint32_t)(sizeof(eth) + test_tcp4_build(out + sizeof(eth), &t));
}

static void file_init(struct file *f, uint32_t magic, size_t n)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	f->magic = magic;
	f->minor = 4;
	f->snaplen = 65535;
	f->n = n;
	for (i = 0; i < n; i++) {
		f->r[i].sec = 1700000000u + (uint32_t)i;
		f->r[i].frac = magic == MAGIC_NSEC ? 123456789u + (uint32_t)i : 654321u + (uint32_t)i;
		f->r[i].caplen = f->r[i].len = frame(f->r[i].data, (unsigned)i);
	}
}

static void file_write(const struct file *f)
{
	FILE *out = fopen(path, "wb");
	long size;
	size_t i;

	if (!out)
		abort();
	put32(out, f->big_endian, f->magic);
	put16(out, f->big_endian, 2);
	put16(out, f->big_endian, f->minor);
	put32(out, f->big_endian, 0);
	put32(out, f->big_endian, 0);
	put32(out, f->big_endian, f->snaplen);
	put32(out, f->big_endian, 1); /* Ethernet */
	for (i = 0; i < f->n; i++) {
		const struct rec *r = &f->r[i];
		uint32_t have = r->caplen < sizeof(r->data) ? r->caplen : (uint32_t)sizeof(r->data);

		put32(out, f->big_endian, r->sec);
		put32(out, f->big_endian, r->frac);
		put32(out, f->big_endian, r->caplen);
		put32(out, f->big_endian, r->len);
		fwrite(r->data, 1, have, out);
	}
	size = ftell(out);
	fclose(out);
	if (f->cut && truncate(path, size - (long)f->cut) != 0)
		abort();
}

/* The file by libpcap alone and by pcap_source: the same frames, time
 * stamps and lengths, as many, and the same end (error text or none). */
static void same_as_libpcap(bool fast)
{
	char errbuf[PCAP_ERRBUF_SIZE], err[1024] = "";
	struct pcap_source src;
	struct pcap_pkthdr *h;
	const u_char *d;
	struct packet pkt;
	pcap_t *p = pcap_open_offline(path, errbuf);
	int rc_ref, rc;
	uint64_t n_ref = 0;

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_INT_EQ(pcap_source_open(&src, path, err, sizeof(err)), 0);
	CHECK_INT_EQ(src.fast, fast); /* whether the fast reader took the file */
	for (;;) {
		rc_ref = pcap_next_ex(p, &h, &d);
		rc = pcap_source_next_tcp(&src, &pkt, err, sizeof(err));
		if (rc_ref != 1)
			break;
		n_ref++;
		CHECK_INT_EQ(rc, 1);
		if (rc != 1)
			break;
		CHECK(pkt.ts == (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6);
		/* the same frame: its payload where libpcap's frame has it */
		CHECK(pkt.l4_offset + pkt.l4_header_len + pkt.payload_len <= h->caplen);
		if (pkt.l4_offset + pkt.l4_header_len + pkt.payload_len <= h->caplen)
			CHECK_MEM_EQ(pkt.payload, d + pkt.l4_offset + pkt.l4_header_len,
				     pkt.payload_len);
	}
	CHECK_INT_EQ(src.stats.packets, n_ref);
	if (rc_ref == PCAP_ERROR_BREAK) {
		CHECK_INT_EQ(rc, 0);
	} else {
		CHECK_INT_EQ(rc, -1);
		CHECK(strstr(err, pcap_geterr(p)) != NULL);
	}
	pcap_source_close(&src);
	pcap_close(p);
}

static void test_plain_records(void)
{
	struct file f;
	struct pcap_records r;
	struct pcap_record rec;
	uint8_t magic[4] = { 0xD4, 0xC3, 0xB2, 0xA1 };
	uint64_t off = PCAP_RECORDS_FILE_HEADER;
	int fd;
	size_t i;

	file_init(&f, MAGIC_USEC, 5);
	file_write(&f);
	CHECK(pcap_records_suits(magic, 2, 4, false));
	CHECK(!pcap_records_suits(magic, 2, 3, false));
	CHECK(!pcap_records_suits(magic, 2, 4, true));
	fd = open_read(path);
	CHECK(pcap_records_init(&r, fd, magic, 65535));
	for (i = 0; i < f.n; i++) {
		CHECK(pcap_records_next(&r, &rec));
		CHECK_INT_EQ(rec.sec, f.r[i].sec);
		CHECK_INT_EQ(rec.usec, f.r[i].frac);
		CHECK_INT_EQ(rec.caplen, f.r[i].caplen);
		CHECK_INT_EQ(rec.len, f.r[i].len);
		CHECK_MEM_EQ(rec.data, f.r[i].data, f.r[i].caplen);
		off += PCAP_RECORDS_HEADER + f.r[i].caplen;
		CHECK_INT_EQ(pcap_records_offset(&r), off);
	}
	/* the end: left to libpcap at the end of the file */
	CHECK(!pcap_records_next(&r, &rec));
	CHECK_INT_EQ(pcap_records_offset(&r), off);
	pcap_records_free(&r);
	close(fd);
	same_as_libpcap(true);
}

/* Nanoseconds come out as libpcap's microseconds (divided down). */
static void test_nanoseconds(void)
{
	struct file f;
	struct pcap_records r;
	struct pcap_record rec;
	uint8_t magic[4] = { 0x4D, 0x3C, 0xB2, 0xA1 };
	int fd;

	file_init(&f, MAGIC_NSEC, 3);
	file_write(&f);
	fd = open_read(path);
	CHECK(pcap_records_init(&r, fd, magic, 65535));
	CHECK(pcap_records_next(&r, &rec));
	CHECK_INT_EQ(rec.usec, 123456);
	pcap_records_free(&r);
	close(fd);
	same_as_libpcap(true);
}

/* The reader stops before the record it does not take, at its offset;
 * keep: that record is the last and only its first `keep` bytes are
 * in the file (0: whole). */
static void test_stops_before(uint32_t caplen, uint32_t sec, uint32_t frac, size_t keep)
{
	struct file f;
	struct pcap_records r;
	struct pcap_record rec;
	uint8_t magic[4] = { 0xD4, 0xC3, 0xB2, 0xA1 };
	uint64_t at;
	int fd;

	file_init(&f, MAGIC_USEC, 4);
	if (caplen)
		f.r[2].caplen = caplen;
	if (sec)
		f.r[2].sec = sec;
	if (frac)
		f.r[2].frac = frac;
	if (keep) {
		f.n = 3;
		f.cut = PCAP_RECORDS_HEADER + f.r[2].caplen - keep;
	}
	file_write(&f);
	at = PCAP_RECORDS_FILE_HEADER + 2 * PCAP_RECORDS_HEADER + f.r[0].caplen + f.r[1].caplen;
	fd = open_read(path);
	CHECK(pcap_records_init(&r, fd, magic, f.snaplen));
	CHECK(pcap_records_next(&r, &rec));
	CHECK(pcap_records_next(&r, &rec));
	CHECK(!pcap_records_next(&r, &rec));
	CHECK_INT_EQ(pcap_records_offset(&r), at);
	pcap_records_free(&r);
	close(fd);
	same_as_libpcap(true);
}

static void test_hands_over(void)
{
	test_stops_before(300000, 0, 0, 0); /* beyond any snapshot: libpcap's error */
	test_stops_before(0, 0x80000001u, 0, 0); /* seconds libpcap reads as negative */
	test_stops_before(0, 0, 0xFFFFFFF0u, 0); /* so are these microseconds */
	test_stops_before(0, 0, 0, PCAP_RECORDS_HEADER + 20); /* its bytes cut short */
	test_stops_before(0, 0, 0, 5); /* its header cut short */
}

/* Files the fast reader does not take at all read as libpcap reads them. */
static void test_left_to_libpcap(void)
{
	struct file f;

	file_init(&f, MAGIC_USEC, 4);
	f.big_endian = true;
	file_write(&f);
	same_as_libpcap(false);
	file_init(&f, MAGIC_USEC, 4);
	f.minor = 3;
	f.r[1].len += 100; /* 2.3: caplen <= len, so libpcap does not swap them */
	file_write(&f);
	same_as_libpcap(false);
	file_init(&f, MAGIC_USEC, 4);
	f.snaplen = 60; /* records longer than it are cut by libpcap */
	file_write(&f);
	same_as_libpcap(true); /* taken, and handed over at the first record */
}

int main(void)
{
	snprintf(path, sizeof(path), "/tmp/test_pcap_records.%ld.pcap", (long)getpid());
	RUN_TEST(test_plain_records);
	RUN_TEST(test_nanoseconds);
	RUN_TEST(test_hands_over);
	RUN_TEST(test_left_to_libpcap);
	unlink(path);
	TEST_MAIN_END();
}
