#include "capture/pcap_source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cursor.h"

/* The records of a plain pcap file read by capture/pcap_records.h when
 * it takes the file, libpcap having checked the header; else nothing. */
static void start_fast(struct pcap_source *src, const uint8_t magic[4])
{
	pcap_t *p = src->handle;
	int snap = pcap_snapshot(p);

	if (!src->input.direct || snap <= 0 ||
	    !pcap_records_suits(magic, pcap_major_version(p), pcap_minor_version(p),
				pcap_is_swapped(p)))
		return;
	src->fast = pcap_records_init(&src->records, src->input.fd, magic, (uint32_t)snap);
}

/* libpcap reads on from the record the fast reader did not take. */
static int hand_over(struct pcap_source *src, char *err, size_t err_size)
{
	uint64_t at = pcap_records_offset(&src->records);

	src->fast = false;
	pcap_records_free(&src->records);
	if (fseeko(pcap_file(src->handle), (off_t)at, SEEK_SET) != 0) {
		snprintf(err, err_size, "%s: cannot seek to offset %llu: %s", src->path,
			 (unsigned long long)at, strerror(errno));
		return -1;
	}
	return 0;
}

/* A pcap file to libpcap, through the input's FILE (decompressed). */
static int open_pcap(struct pcap_source *src, const char *path, char *err, size_t err_size)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	FILE *f = capture_input_file(&src->input);
	pcap_t *p;

	if (!f) {
		snprintf(err, err_size, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	p = pcap_fopen_offline(f, errbuf);
	if (!p) {
		if (src->input.error[0])
			snprintf(err, err_size, "%s: cannot read capture: %s", path, src->input.error);
		/* libpcap says "unknown file format" for anything not pcap/pcapng. */
		else if (strstr(errbuf, "unknown file format") || strstr(errbuf, "bad dump file format"))
			snprintf(err, err_size, "%s: not a pcap or pcapng file (%s)", path, errbuf);
		else if (strstr(errbuf, "truncated"))
			snprintf(err, err_size, "%s: truncated capture file header (%s)", path, errbuf);
		else
			snprintf(err, err_size, "%s: cannot read capture: %s", path, errbuf);
		return -1;
	}
	src->handle = p;
	src->dlt = pcap_datalink(p);
	if (!packet_linktype_supported(src->dlt)) {
		snprintf(err, err_size, "%s: unsupported link type %d (%s)", path, src->dlt,
			 packet_linktype_name(src->dlt));
		return -1;
	}
	return 0;
}

int pcap_source_open(struct pcap_source *src, const char *path, char *err, size_t err_size)
{
	const uint8_t *magic;
	struct stat st;
	long n;

	memset(src, 0, sizeof(*src));
	src->size = -1;
	if (capture_input_open(&src->input, path, err, err_size) < 0)
		return -1;
	src->path = strdup(path);
	if (!src->path) {
		snprintf(err, err_size, "%s: out of memory", path);
		goto fail;
	}
	n = capture_input_peek(&src->input, 4, &magic);
	if (n < 0) {
		snprintf(err, err_size, "%s: cannot read: %s", path, src->input.error);
		goto fail;
	}
	if (n == 4 && imw_load_le32(magic) == PCAPNG_MAGIC) {
		src->pcapng = true;
		pcapng_reader_init(&src->ng, &src->input);
	} else if (open_pcap(src, path, err, err_size) < 0) {
		goto fail;
	} else if (n == 4) {
		start_fast(src, magic);
	}
	if (!src->input.is_stdin && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		src->size = (long long)st.st_size;
	return 0;
fail:
	pcap_source_close(src);
	return -1;
}

void pcap_source_close(struct pcap_source *src)
{
	if (src->handle) {
		pcap_close(src->handle); /* closes the FILE it was given */
		src->input.file = NULL;
	}
	if (src->pcapng)
		pcapng_reader_free(&src->ng);
	if (src->fast)
		pcap_records_free(&src->records);
	src->fast = false;
	capture_input_close(&src->input);
	free(src->path);
	src->handle = NULL;
	src->path = NULL;
}

/* The next frame, from libpcap or the pcapng reader: 1, 0 at the end, -1. */
static int next_frame(struct pcap_source *src, int *dlt, const uint8_t **data, size_t *caplen,
		      size_t *len, double *ts, char *err, size_t err_size)
{
	struct pcap_pkthdr *hdr;
	struct pcapng_packet np;
	int rc;

	if (src->pcapng) {
		rc = pcapng_next(&src->ng, &np, err, err_size);
		if (rc < 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, err_size, "%s: bad pcapng block after packet %llu: %s", src->path,
				 (unsigned long long)src->stats.packets, why);
			return -1;
		}
		if (rc == 0)
			return 0;
		*dlt = np.dlt;
		*data = np.data;
		*caplen = np.caplen;
		*len = np.len;
		*ts = np.ts;
		return 1;
	}
	if (src->fast) {
		struct pcap_record rec;

		if (pcap_records_next(&src->records, &rec)) {
			*dlt = src->dlt;
			*data = rec.data;
			*caplen = rec.caplen;
			*len = rec.len;
			/* as below, from pcap_next_ex's struct timeval */
			*ts = (double)rec.sec + (double)rec.usec / 1e6;
			return 1;
		}
		if (hand_over(src, err, err_size) < 0)
			return -1;
	}
	for (;;) {
		rc = pcap_next_ex(src->handle, &hdr, data);
		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc == PCAP_ERROR) {
			snprintf(err, err_size, "%s: bad record after packet %llu: %s", src->path,
				 (unsigned long long)src->stats.packets,
				 src->input.error[0] ? src->input.error : pcap_geterr(src->handle));
			return -1;
		}
		if (rc != 1)
			continue;
		*dlt = src->dlt;
		*caplen = hdr->caplen;
		*len = hdr->len;
		*ts = (double)hdr->ts.tv_sec + (double)hdr->ts.tv_usec / 1e6;
		return 1;
	}
}

int pcap_source_next_tcp(struct pcap_source *src, struct packet *pkt, char *err, size_t err_size)
{
	const uint8_t *data;
	size_t caplen, len;
	const char *why;
	double ts;
	int rc, dlt;

	for (;;) {
		rc = next_frame(src, &dlt, &data, &caplen, &len, &ts, err, err_size);
		if (rc <= 0)
			return rc;
		src->stats.packets++;
		if (!packet_linktype_supported(dlt)) {
			if (!src->stats.unsupported_link++)
				src->stats.first_unsupported_dlt = dlt;
			continue;
		}
		memset(pkt, 0, sizeof(*pkt));
		pkt->ts = ts;
		switch (packet_parse(dlt, data, caplen, len, pkt, &why)) {
		case PACKET_OK:
			return 1;
		case PACKET_NOT_IP:
			src->stats.not_ip++;
			break;
		case PACKET_NOT_TCP:
			src->stats.not_tcp++;
			break;
		case PACKET_FRAGMENT:
			src->stats.fragments++;
			break;
		case PACKET_MALFORMED:
			if (!src->stats.malformed) {
				src->stats.first_malformed_packet = src->stats.packets;
				src->stats.first_malformed_reason = why;
			}
			src->stats.malformed++;
			break;
		}
	}
}

long long pcap_source_position(const struct pcap_source *src)
{
	if (src->fast)
		return (long long)pcap_records_offset(&src->records);
	return capture_input_offset(&src->input);
}
