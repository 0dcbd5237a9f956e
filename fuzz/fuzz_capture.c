/* Capture files on arbitrary bytes: pcap through libpcap, pcapng through
 * our block reader, either of them gzip-compressed. Opening either fails
 * with a reason or succeeds; reading ends (every block consumes bytes),
 * fails with a reason, or yields TCP packets whose payload lies inside
 * what was captured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/pcap_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcap_source src;
	struct packet pkt;
	char path[64], err[512];
	int fd = memfd_create("capture", MFD_CLOEXEC), rc;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	if (pcap_source_open(&src, path, err, sizeof(err)) < 0) {
		if (!err[0])
			abort(); /* a refusal always says why */
		close(fd);
		return 0;
	}
	while ((rc = pcap_source_next_tcp(&src, &pkt, err, sizeof(err))) == 1)
		if (pkt.payload_len && !pkt.payload)
			abort();
	if (rc < 0 && !err[0])
		abort();
	pcap_source_close(&src);
	close(fd);
	return 0;
}
