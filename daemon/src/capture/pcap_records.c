#include "capture/pcap_records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cursor.h"

#define MAGIC_USEC 0xA1B2C3D4u
#define MAGIC_NSEC 0xA1B23C4Du
#define BUFFER_BYTES (1024u * 1024u)

/* The magic as the file's first four bytes in either byte order: which
 * order, and whether the time stamps are nanoseconds; false if neither. */
static bool magic_order(const uint8_t magic[4], bool *big_endian, bool *nsec)
{
	uint32_t le = imw_load_le32(magic), be = imw_load_be32(magic);

	if (le == MAGIC_USEC || le == MAGIC_NSEC) {
		*big_endian = false;
		*nsec = le == MAGIC_NSEC;
		return true;
	}
	if (be == MAGIC_USEC || be == MAGIC_NSEC) {
		*big_endian = true;
		*nsec = be == MAGIC_NSEC;
		return true;
	}
	return false;
}

bool pcap_records_suits(const uint8_t magic[4], int major, int minor, bool swapped)
{
	bool big_endian, nsec;

	/* swapped: libpcap would rewrite some link types' pseudo-headers */
	return magic_order(magic, &big_endian, &nsec) && major == 2 && minor == 4 && !swapped;
}

bool pcap_records_init(struct pcap_records *r, int fd, const uint8_t magic[4],
		       uint32_t snapshot)
{
	memset(r, 0, sizeof(*r));
	if (!magic_order(magic, &r->big_endian, &r->nsec))
		return false;
	r->buf = malloc(BUFFER_BYTES);
	if (!r->buf)
		return false;
	r->fd = fd;
	r->cap = BUFFER_BYTES;
	r->snapshot = snapshot;
	r->off = PCAP_RECORDS_FILE_HEADER;
	return true;
}

void pcap_records_free(struct pcap_records *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* At least `need` bytes from r->off in the buffer: true; false at the end
 * of the file or on a read error (libpcap, reading the same bytes, says
 * which). */
static bool fill(struct pcap_records *r, size_t need)
{
	if (r->end - r->pos >= need)
		return true;
	if (need > r->cap || r->eof)
		return false;
	memmove(r->buf, r->buf + r->pos, r->end - r->pos);
	r->end -= r->pos;
	r->pos = 0;
	while (r->end < need) {
		ssize_t got = pread(r->fd, r->buf + r->end, r->cap - r->end,
				    (off_t)(r->off + r->end));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r->eof = true;
			return false;
		}
		r->end += (size_t)got;
	}
	return true;
}

static uint32_t load32(const struct pcap_records *r, const uint8_t *p)
{
	return r->big_endian ? imw_load_be32(p) : imw_load_le32(p);
}

bool pcap_records_next(struct pcap_records *r, struct pcap_record *rec)
{
	const uint8_t *h;
	uint32_t sec, frac, caplen;

	if (!r->buf || !fill(r, PCAP_RECORDS_HEADER))
		return false;
	h = r->buf + r->pos;
	sec = load32(r, h);
	frac = load32(r, h + 4);
	caplen = load32(r, h + 8);
	/* Only values libpcap's signed 32-bit fields read the same way. */
	if (caplen > r->snapshot || sec > INT32_MAX || frac > INT32_MAX ||
	    !fill(r, PCAP_RECORDS_HEADER + (size_t)caplen))
		return false;
	h = r->buf + r->pos; /* fill may have moved the bytes */
	rec->sec = sec;
	rec->usec = r->nsec ? frac / 1000 : frac;
	rec->caplen = caplen;
	rec->len = load32(r, h + 12);
	rec->data = h + PCAP_RECORDS_HEADER;
	r->pos += PCAP_RECORDS_HEADER + (size_t)caplen;
	r->off += PCAP_RECORDS_HEADER + (size_t)caplen;
	return true;
}

uint64_t pcap_records_offset(const struct pcap_records *r)
{
	return r->off;
}
