#include "capture/pcap_source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int pcap_source_open(struct pcap_source *src, const char *path, char *err, size_t err_size)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct stat st;
	pcap_t *p;

	memset(src, 0, sizeof(*src));
	src->size = -1;
	if (stat(path, &st) < 0) {
		snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, err_size, "%s: is a directory, not a capture file", path);
		return -1;
	}
	p = pcap_open_offline(path, errbuf);
	if (!p) {
		/* libpcap says "unknown file format" for anything not pcap/pcapng. */
		if (strstr(errbuf, "unknown file format") || strstr(errbuf, "bad dump file format"))
			snprintf(err, err_size, "%s: not a pcap or pcapng file (%s)", path, errbuf);
		else if (strstr(errbuf, "truncated"))
			snprintf(err, err_size, "%s: truncated capture file header (%s)", path, errbuf);
		else
			snprintf(err, err_size, "%s: cannot read capture: %s", path, errbuf);
		return -1;
	}
	src->dlt = pcap_datalink(p);
	if (!packet_linktype_supported(src->dlt)) {
		snprintf(err, err_size, "%s: unsupported link type %d (%s)", path, src->dlt,
			 packet_linktype_name(src->dlt));
		pcap_close(p);
		return -1;
	}
	src->path = strdup(path);
	if (!src->path) {
		snprintf(err, err_size, "%s: out of memory", path);
		pcap_close(p);
		return -1;
	}
	src->handle = p;
	src->size = (long long)st.st_size;
	return 0;
}

void pcap_source_close(struct pcap_source *src)
{
	if (src->handle)
		pcap_close(src->handle);
	free(src->path);
	src->handle = NULL;
	src->path = NULL;
}

int pcap_source_next_tcp(struct pcap_source *src, struct packet *pkt, char *err, size_t err_size)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	const char *why;
	int rc;

	for (;;) {
		rc = pcap_next_ex(src->handle, &hdr, &data);
		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc == PCAP_ERROR) {
			snprintf(err, err_size, "%s: bad record after packet %llu: %s", src->path,
				 (unsigned long long)src->stats.packets, pcap_geterr(src->handle));
			return -1;
		}
		if (rc != 1)
			continue;
		src->stats.packets++;
		memset(pkt, 0, sizeof(*pkt));
		pkt->ts = (double)hdr->ts.tv_sec + (double)hdr->ts.tv_usec / 1e6;
		switch (packet_parse(src->dlt, data, hdr->caplen, hdr->len, pkt, &why)) {
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
	FILE *f = src->handle ? pcap_file(src->handle) : NULL;

	return f ? (long long)ftell(f) : -1;
}
