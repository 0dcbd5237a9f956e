/* pcapng blocks (see pcapng.h for why we read them ourselves). */
#include "capture/pcapng.h"

#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cursor.h"

#define BLOCK_SHB 0x0A0D0D0Au
#define BLOCK_IDB 1u
#define BLOCK_PB 2u /* obsolete Packet Block */
#define BLOCK_SPB 3u
#define BLOCK_EPB 6u

#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define OPT_END 0
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14

/* Bounds: no real block comes near them (libpcap's own limit is the same
 * 16 MiB); a larger one means a damaged file, not a big packet. */
#define MAX_BLOCK_BYTES (16u * 1024u * 1024u)
#define MAX_INTERFACES 4096u
#define MIN_BLOCK_BYTES 12u /* type, length, length again */

void pcapng_reader_init(struct pcapng_reader *r, struct capture_input *in)
{
	memset(r, 0, sizeof(*r));
	r->in = in;
}

void pcapng_reader_free(struct pcapng_reader *r)
{
	free(r->ifaces);
	free(r->block);
	memset(r, 0, sizeof(*r));
}

static uint32_t load32(const struct pcapng_reader *r, const uint8_t *p)
{
	return r->big_endian ? imw_load_be32(p) : imw_load_le32(p);
}

static bool get16(const struct pcapng_reader *r, struct cursor *c, uint16_t *v)
{
	return r->big_endian ? cursor_be16(c, v) : cursor_le16(c, v);
}

static bool get32(const struct pcapng_reader *r, struct cursor *c, uint32_t *v)
{
	return r->big_endian ? cursor_be32(c, v) : cursor_le32(c, v);
}

static bool get64(const struct pcapng_reader *r, struct cursor *c, uint64_t *v)
{
	uint32_t a, b;

	if (!get32(r, c, &a) || !get32(r, c, &b))
		return false;
	*v = r->big_endian ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a;
	return true;
}

/* Exactly n bytes, or why not: 1, 0 (nothing at all: the end), -1. */
static int read_exact(struct pcapng_reader *r, void *buf, size_t n, const char **why)
{
	long got = capture_input_read(r->in, buf, n);

	if (got < 0) {
		*why = r->in->error;
		return -1;
	}
	if (got == 0)
		return 0;
	if ((size_t)got < n) {
		*why = "the file ends inside a block";
		return -1;
	}
	return 1;
}

/* pcapng's link types are libpcap's DLT_ values but for raw IP. */
static int dlt_of_linktype(uint16_t linktype)
{
	return linktype == 101 ? DLT_RAW : (int)linktype;
}

/* if_tsresol: 10^-v seconds, or 2^-v with the top bit set. */
static bool ticks_of_tsresol(uint8_t v, uint64_t *ticks)
{
	unsigned e = v & 0x7f, i;

	if (v & 0x80) {
		if (e > 63)
			return false;
		*ticks = (uint64_t)1 << e;
		return true;
	}
	if (e > 19)
		return false;
	for (*ticks = 1, i = 0; i < e; i++)
		*ticks *= 10;
	return true;
}

static const char *parse_idb(struct pcapng_reader *r, struct cursor *c,
			     struct pcapng_iface *out)
{
	struct pcapng_iface iface = { 0 };
	uint16_t linktype, reserved, code, len;
	const uint8_t *v;
	uint64_t off;

	if (!get16(r, c, &linktype) || !get16(r, c, &reserved) || !get32(r, c, &iface.snaplen))
		return "Interface Description Block too short";
	iface.dlt = dlt_of_linktype(linktype);
	iface.ticks_per_sec = 1000000;
	while (cursor_remaining(c) >= 4) {
		if (!get16(r, c, &code) || !get16(r, c, &len) || !(v = cursor_take(c, len)) ||
		    !cursor_skip(c, (4 - len % 4) % 4))
			return "interface option runs past its block";
		if (code == OPT_END)
			break;
		if (code == OPT_IF_TSRESOL && (len != 1 || !ticks_of_tsresol(v[0], &iface.ticks_per_sec)))
			return "unsupported if_tsresol";
		if (code == OPT_IF_TSOFFSET) {
			struct cursor oc;

			cursor_init(&oc, v, len);
			if (len != 8 || !get64(r, &oc, &off))
				return "if_tsoffset is not 8 bytes";
			iface.ts_offset = (int64_t)off;
		}
	}
	*out = iface;
	return NULL;
}

/* One more interface (dlt -1 when its block could not be read, so that
 * the numbering of the others stays right). */
static const char *add_iface(struct pcapng_reader *r, const struct pcapng_iface *iface)
{
	struct pcapng_iface *grown;

	if (r->n_ifaces == MAX_INTERFACES)
		return "more interfaces in one section than imwire reads";
	grown = realloc(r->ifaces, (r->n_ifaces + 1) * sizeof(*grown));
	if (!grown)
		return "out of memory";
	r->ifaces = grown;
	r->ifaces[r->n_ifaces++] = *iface;
	return NULL;
}

static void count_bad_block(struct pcapng_reader *r, const char *why, uint64_t at)
{
	if (!r->bad_blocks++) {
		r->first_bad_block = why;
		r->first_bad_block_at = at;
	}
}

static double timestamp(const struct pcapng_iface *iface, uint32_t hi, uint32_t lo)
{
	uint64_t ticks = (uint64_t)hi << 32 | lo;

	return (double)(ticks / iface->ticks_per_sec) +
	       (double)(ticks % iface->ticks_per_sec) / (double)iface->ticks_per_sec +
	       (double)iface->ts_offset;
}

/* The packet of an EPB, SPB or PB body; NULL, or why the block is bad. */
static const char *parse_packet(struct pcapng_reader *r, uint32_t type, struct cursor *c,
				struct pcapng_packet *pkt)
{
	uint32_t iface = 0, hi = 0, lo = 0, caplen, len;
	uint16_t iface16, drops;
	const struct pcapng_iface *ifc;

	if (type == BLOCK_EPB) {
		if (!get32(r, c, &iface) || !get32(r, c, &hi) || !get32(r, c, &lo) ||
		    !get32(r, c, &caplen) || !get32(r, c, &len))
			return "Enhanced Packet Block too short";
	} else if (type == BLOCK_PB) {
		if (!get16(r, c, &iface16) || !get16(r, c, &drops) || !get32(r, c, &hi) ||
		    !get32(r, c, &lo) || !get32(r, c, &caplen) || !get32(r, c, &len))
			return "Packet Block too short";
		iface = iface16;
	} else {
		if (!get32(r, c, &len))
			return "Simple Packet Block too short";
		/* Its data fill the block, padded; the snap length cuts it. */
		caplen = (uint32_t)cursor_remaining(c);
		if (caplen > len)
			caplen = len;
		if (r->n_ifaces && r->ifaces[0].snaplen && caplen > r->ifaces[0].snaplen)
			caplen = r->ifaces[0].snaplen;
	}
	if (iface >= r->n_ifaces)
		return "packet of an interface no Interface Description Block described";
	if (caplen > len)
		return "captured length above the packet's length";
	pkt->data = cursor_take(c, caplen);
	if (!pkt->data)
		return "packet data run past its block";
	ifc = &r->ifaces[iface];
	pkt->ts = type == BLOCK_SPB ? r->last_ts : timestamp(ifc, hi, lo);
	pkt->dlt = ifc->dlt;
	pkt->interface = iface;
	pkt->caplen = caplen;
	pkt->len = len;
	r->last_ts = pkt->ts;
	return NULL;
}

/* A new section: its byte order, and no interfaces yet. */
static const char *start_section(struct pcapng_reader *r, const uint8_t *bom)
{
	if (imw_load_le32(bom) == BYTE_ORDER_MAGIC)
		r->big_endian = false;
	else if (imw_load_be32(bom) == BYTE_ORDER_MAGIC)
		r->big_endian = true;
	else
		return "Section Header Block with an unknown byte-order magic";
	r->in_section = true;
	r->n_ifaces = 0;
	return NULL;
}

/* A block's first 8 bytes (12 for a Section Header Block, whose byte
 * order comes after them): its type and how many bytes were read. 1, 0 at
 * the end of the file, -1 with why. */
static int read_block_head(struct pcapng_reader *r, uint8_t head[12], uint32_t *type,
			   size_t *have, const char **why)
{
	int rc = read_exact(r, head, 8, why);

	if (rc <= 0)
		return rc;
	*type = imw_load_le32(head); /* the SHB's type reads the same either way */
	*have = 8;
	if (*type == BLOCK_SHB) {
		if (read_exact(r, head + 8, 4, why) <= 0) {
			*why = *why ? *why : "the file ends inside a block";
			return -1;
		}
		*have = 12;
		return (*why = start_section(r, head + 8)) ? -1 : 1;
	}
	if (!r->in_section) {
		*why = "no Section Header Block first";
		return -1;
	}
	*type = load32(r, head);
	return 1;
}

/* The whole block of length len into r->block, its head already read;
 * NULL, or why not. */
static const char *read_block_rest(struct pcapng_reader *r, const uint8_t *head, size_t have,
				   uint32_t len)
{
	const char *why = NULL;

	if (len < MIN_BLOCK_BYTES + (have - 8) || len % 4 || len > MAX_BLOCK_BYTES)
		return len > MAX_BLOCK_BYTES ? "block longer than 16 MiB" : "bad block length";
	if (r->block_cap < len) {
		uint8_t *grown = realloc(r->block, len);

		if (!grown)
			return "out of memory";
		r->block = grown;
		r->block_cap = len;
	}
	memcpy(r->block, head, have);
	if (read_exact(r, r->block + have, len - have, &why) <= 0)
		return why ? why : "the file ends inside a block";
	r->offset += len;
	if (load32(r, r->block + len - 4) != len)
		return "block lengths at its start and end differ";
	return NULL;
}

/* One block's body: 1 with a packet in pkt, 0 for a block that holds
 * none (or a bad packet block, counted: the block's own length was
 * right, so only it is lost), -1 with why. */
static int take_block(struct pcapng_reader *r, uint32_t type, struct cursor *c, uint64_t at,
		      struct pcapng_packet *pkt, const char **why)
{
	struct pcapng_iface iface = { .dlt = -1, .ticks_per_sec = 1000000 };
	const char *bad;
	uint16_t major;

	switch (type) {
	case BLOCK_SHB:
		cursor_skip(c, 4);
		if (!get16(r, c, &major) || major != 1) {
			*why = "Section Header Block of a version other than 1";
			return -1;
		}
		return 0;
	case BLOCK_IDB:
		if ((bad = parse_idb(r, c, &iface))) {
			iface.dlt = -1;
			count_bad_block(r, bad, at);
		}
		return (*why = add_iface(r, &iface)) ? -1 : 0;
	case BLOCK_EPB:
	case BLOCK_SPB:
	case BLOCK_PB:
		if (!(bad = parse_packet(r, type, c, pkt)))
			return 1;
		count_bad_block(r, bad, at);
		return 0;
	default:
		return 0; /* name resolution, statistics, custom... */
	}
}

int pcapng_next(struct pcapng_reader *r, struct pcapng_packet *pkt, char *err, size_t err_size)
{
	uint8_t head[12];
	const char *why;
	uint32_t type, len;
	size_t have;
	struct cursor c;
	uint64_t at;
	int rc;

	do {
		at = r->offset;
		why = NULL;
		rc = read_block_head(r, head, &type, &have, &why);
		if (rc == 0)
			return 0;
		if (rc < 0)
			break;
		len = load32(r, head + 4);
		if ((why = read_block_rest(r, head, have, len))) {
			rc = -1;
			break;
		}
		cursor_init(&c, r->block + 8, len - MIN_BLOCK_BYTES);
		rc = take_block(r, type, &c, at, pkt, &why);
	} while (rc == 0);
	if (rc > 0)
		return 1;
	snprintf(err, err_size, "%s at byte %llu", why ? why : "read error", (unsigned long long)at);
	return -1;
}
