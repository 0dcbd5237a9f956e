/* One transfer's content: counted, hashed while it streams by (OpenSSL's
 * EVP SHA-256), its first bytes kept for libmagic, and, when the store or
 * the scanner needs it, copied to a file. A gap ends the hash (content
 * with a hole has none) and the copy (nobody stores or scans a file with
 * a hole), never the count. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files/files_internal.h"

int content_init(struct content *c, size_t head_max)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->contiguous = true;
	c->head_max = head_max;
	c->sha = EVP_MD_CTX_new();
	if (!c->sha || EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c->sha);
		c->sha = NULL;
		return -1;
	}
	return 0;
}

void content_spool(struct content *c, int fd, char *path, uint64_t limit)
{
	content_unspool(c);
	c->fd = fd;
	c->path = path;
	c->spool_limit = limit;
}

void content_unspool(struct content *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->path) {
		unlink(c->path);
		free(c->path);
	}
	c->fd = -1;
	c->path = NULL;
}

static void spool_write(struct content *c, const uint8_t *data, size_t len)
{
	if (c->bytes + len > c->spool_limit) {
		content_unspool(c); /* too large to keep: not an error */
		return;
	}
	while (len) {
		ssize_t w = write(c->fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			c->spool_failed = true;
			content_unspool(c);
			return;
		}
		data += w;
		len -= (size_t)w;
	}
}

static bool keep_head(struct content *c, const uint8_t *data, size_t len)
{
	size_t n = c->head_max - c->head_len;

	if (n > len)
		n = len;
	if (!c->head) {
		c->head = malloc(c->head_max);
		if (!c->head)
			return false;
	}
	memcpy(c->head + c->head_len, data, n);
	c->head_len += n;
	return true;
}

bool content_add(struct content *c, const uint8_t *data, size_t len)
{
	bool ok = true;

	if (!len)
		return true;
	if (c->contiguous) {
		if (c->head_len < c->head_max && c->bytes == c->head_len)
			ok = keep_head(c, data, len);
		if (c->fd >= 0)
			spool_write(c, data, len);
		if (c->sha && EVP_DigestUpdate(c->sha, data, len) != 1) {
			EVP_MD_CTX_free(c->sha);
			c->sha = NULL;
			ok = false;
		}
	}
	c->bytes += len;
	return ok;
}

void content_gap(struct content *c, uint64_t len)
{
	if (!len)
		return;
	c->gap_bytes += len;
	c->contiguous = false;
	content_unspool(c);
}

bool content_sha256(struct content *c, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (!c->contiguous || !c->sha || EVP_DigestFinal_ex(c->sha, md, &n) != 1 || n != 32)
		return false;
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	EVP_MD_CTX_free(c->sha);
	c->sha = NULL;
	return true;
}

void content_free(struct content *c)
{
	content_unspool(c);
	EVP_MD_CTX_free(c->sha);
	free(c->head);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
