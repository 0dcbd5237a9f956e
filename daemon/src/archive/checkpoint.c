#include "archive/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_TAG "imwire-ed25519-secret "
#define PUBLIC_TAG "imwire-ed25519-public "
#define KEY_LINE_MAX 256

static int write_file(const char *path, const char *text, mode_t mode, char *err,
		      size_t err_size)
{
	size_t n = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

int checkpoint_keygen(const char *path, char *err, size_t err_size)
{
	uint8_t seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
		sk[crypto_sign_SECRETKEYBYTES];
	char line[KEY_LINE_MAX], hex[2 * crypto_sign_PUBLICKEYBYTES + 1], *pub;
	int rc;

	if (sodium_init() < 0) {
		snprintf(err, err_size, "libsodium could not be initialised");
		return -1;
	}
	if (asprintf(&pub, "%s.pub", path) < 0) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_bin2hex(hex, sizeof(hex), seed, sizeof(seed));
	snprintf(line, sizeof(line), SECRET_TAG "%s\n", hex);
	rc = write_file(path, line, 0600, err, err_size);
	sodium_memzero(line, sizeof(line));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	if (rc == 0) {
		sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
		snprintf(line, sizeof(line), PUBLIC_TAG "%s\n", hex);
		rc = write_file(pub, line, 0644, err, err_size);
		if (rc < 0)
			unlink(path);
	}
	free(pub);
	return rc;
}

static bool unhex32(const char *s, uint8_t out[32])
{
	size_t bin_len = 0;
	const char *end = NULL;

	return sodium_hex2bin(out, 32, s, 64, NULL, &bin_len, &end) == 0 && bin_len == 32 &&
	       end == s + 64 && (*end == '\0' || *end == '\n');
}

int checkpoint_key_load(struct checkpoint_key *k, const char *path, char *err, size_t err_size)
{
	char line[KEY_LINE_MAX];
	uint8_t seed[crypto_sign_SEEDBYTES];
	FILE *f = fopen(path, "re");
	bool ok;

	memset(k, 0, sizeof(*k));
	if (!f) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (ok && strncmp(line, SECRET_TAG, strlen(SECRET_TAG)) == 0 &&
	    unhex32(line + strlen(SECRET_TAG), seed)) {
		crypto_sign_seed_keypair(k->pk, k->sk, seed);
		k->has_secret = true;
		sodium_memzero(seed, sizeof(seed));
		sodium_memzero(line, sizeof(line));
		return 0;
	}
	if (ok && strncmp(line, PUBLIC_TAG, strlen(PUBLIC_TAG)) == 0 &&
	    unhex32(line + strlen(PUBLIC_TAG), k->pk))
		return 0;
	sodium_memzero(line, sizeof(line));
	snprintf(err, err_size, "%s: not an imwire Ed25519 key file (imwire keygen makes one)",
		 path);
	return -1;
}

void checkpoint_key_wipe(struct checkpoint_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

static bool plain_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n < max && !strpbrk(s, " \t\r\n=");
}

bool checkpoint_format(struct bytebuf *out, const struct checkpoint *c,
		       const struct checkpoint_key *k)
{
	uint8_t sig[crypto_sign_BYTES];
	char hex[CHAIN_HEX_SIZE], sighex[2 * crypto_sign_BYTES + 1];
	size_t start = out->len;

	if (!k->has_secret || !plain_name(c->sensor, sizeof(c->sensor)) ||
	    !plain_name(c->sink, sizeof(c->sink)))
		return false;
	chain_hex(c->hash, hex);
	if (!bytebuf_printf(out, CHECKPOINT_TAG " sensor=%s sink=%s time=%" PRId64
			    " eventid=%" PRIu64 " hash=%s",
			    c->sensor, c->sink, c->time, c->eventid, hex))
		return false;
	crypto_sign_detached(sig, NULL, out->data + start, out->len - start, k->sk);
	sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));
	if (!bytebuf_printf(out, " sig=%s", sighex)) {
		out->len = start;
		return false;
	}
	return true;
}

/* Copies "key=VALUE" at *s (up to a space) into out; moves *s past it. */
static bool take(const char **s, const char *key, char *out, size_t size)
{
	size_t k = strlen(key), n;
	const char *v, *sp;

	if (strncmp(*s, key, k) != 0 || (*s)[k] != '=')
		return false;
	v = *s + k + 1;
	sp = strchr(v, ' ');
	n = sp ? (size_t)(sp - v) : strcspn(v, "\r\n");
	if (n == 0 || n >= size)
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	*s = sp ? sp + 1 : v + n;
	return true;
}

int checkpoint_parse(const char *line, const struct checkpoint_key *k, struct checkpoint *c)
{
	const char *s = line, *sig_at;
	char num[24], hex[CHAIN_HEX_SIZE], sighex[2 * crypto_sign_BYTES + 1], *end;
	uint8_t sig[crypto_sign_BYTES];
	size_t bin_len = 0;

	memset(c, 0, sizeof(*c));
	if (strncmp(s, CHECKPOINT_TAG " ", strlen(CHECKPOINT_TAG) + 1) != 0)
		return -1;
	s += strlen(CHECKPOINT_TAG) + 1;
	if (!take(&s, "sensor", c->sensor, sizeof(c->sensor)) ||
	    !take(&s, "sink", c->sink, sizeof(c->sink)) || !take(&s, "time", num, sizeof(num)))
		return -1;
	c->time = strtoll(num, &end, 10);
	if (*end || !take(&s, "eventid", num, sizeof(num)))
		return -1;
	c->eventid = strtoull(num, &end, 10);
	if (*end || !take(&s, "hash", hex, sizeof(hex)) || !chain_unhex(hex, c->hash))
		return -1;
	sig_at = s - 1; /* the space before "sig=" */
	if (!take(&s, "sig", sighex, sizeof(sighex)) ||
	    sodium_hex2bin(sig, sizeof(sig), sighex, strlen(sighex), NULL, &bin_len, NULL) != 0 ||
	    bin_len != sizeof(sig))
		return -1;
	return crypto_sign_verify_detached(sig, (const uint8_t *)line, (size_t)(sig_at - line),
					   k->pk) == 0;
}
