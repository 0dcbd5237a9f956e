#include "inline/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEADER_SIZE 4096
#define FILE_MAGIC "IMWSTAT1"
#define FILE_VERSION 1
#define REC_LIVE 0x31525749u /* "IWR1" */
#define REC_FREE 0x46525749u /* "IWRF" */

struct file_header {
	char magic[8];
	uint32_t version;
	uint32_t block;
	uint64_t n_blocks;
	uint64_t key;
	uint64_t check;
};

struct rec_header {
	uint32_t magic; /* written last, freed alone */
	uint32_t blocks;
	uint64_t serial;
	uint32_t len;
	uint32_t pad;
	uint64_t check;
};

_Static_assert(sizeof(struct rec_header) == 32, "record header is 32 bytes");
_Static_assert(sizeof(struct file_header) <= HEADER_SIZE, "file header fits its page");

/* ---- checksums ---------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* Keyed, over the header's fields and the payload, 8 bytes a step: it
 * tells a torn record from a whole one (and, with a key nobody else
 * knows, a record's bytes from text that merely looks like one). */
static uint64_t rec_check(uint64_t key, const struct rec_header *h, const uint8_t *p)
{
	uint64_t v = mix(key, (uint64_t)h->blocks | (uint64_t)h->len << 32), w;
	size_t i;

	v = mix(v, h->serial);
	for (i = 0; i + 8 <= h->len; i += 8) {
		memcpy(&w, p + i, 8);
		v = mix(v, w);
	}
	if (i < h->len) {
		w = 0;
		memcpy(&w, p + i, h->len - i);
		v = mix(v, w);
	}
	return mix(v, 0x5bd1e995u) ^ (v >> 31);
}

static uint64_t header_check(const struct file_header *fh)
{
	uint64_t v = mix(fh->key, fh->n_blocks);

	return mix(v, (uint64_t)fh->version << 32 | fh->block);
}

/* ---- blocks -------------------------------------------------------------- */

static struct rec_header *rec_at(const struct state_file *sf, uint32_t idx)
{
	return (struct rec_header *)(sf->map + HEADER_SIZE + (size_t)idx * STATE_FILE_BLOCK);
}

static size_t rec_room(uint32_t blocks)
{
	return (size_t)blocks * STATE_FILE_BLOCK - sizeof(struct rec_header);
}

/* A valid record at idx: its length in blocks, else 0. */
static uint32_t valid_at(const struct state_file *sf, uint32_t idx)
{
	const struct rec_header *h = rec_at(sf, idx);
	uint32_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);

	if (magic != REC_LIVE || h->blocks == 0 || h->blocks > sf->n_blocks - idx ||
	    h->len > rec_room(h->blocks))
		return 0;
	return rec_check(sf->key, h, (const uint8_t *)(h + 1)) == h->check ? h->blocks : 0;
}

static bool bit(const struct state_file *sf, uint32_t i)
{
	return (sf->used[i / 64] >> (i % 64)) & 1;
}

static void set_bits(struct state_file *sf, uint32_t from, uint32_t n, bool on)
{
	uint32_t i;

	for (i = from; i < from + n; i++) {
		if (on)
			sf->used[i / 64] |= 1ull << (i % 64);
		else
			sf->used[i / 64] &= ~(1ull << (i % 64));
	}
	sf->stats.used_blocks += on ? n : -(uint64_t)n;
}

/* need free blocks in a row, next-fit from the cursor; -1 when none. */
static long find_run(const struct state_file *sf, uint32_t need)
{
	uint32_t i = sf->cursor, run = 0;
	uint64_t scanned;

	for (scanned = 0; scanned < (uint64_t)sf->n_blocks + need; scanned++, i++) {
		if (i >= sf->n_blocks) {
			i = 0;
			run = 0;
		}
		if (i % 64 == 0 && sf->used[i / 64] == ~0ull) {
			i += 63;
			scanned += 63;
			run = 0;
			continue;
		}
		if (bit(sf, i)) {
			run = 0;
			continue;
		}
		if (++run == need)
			return (long)(i + 1 - need);
	}
	return -1;
}

/* ---- open ------------------------------------------------------------------ */

static int fail(char *err, size_t err_size, const char *what, const char *path)
{
	int e = errno;

	snprintf(err, err_size, "%s %s: %s", what, path, strerror(e));
	errno = e;
	return -1;
}

/* Every missing directory above path, 0700. */
static int make_parents(const char *path, char *err, size_t err_size)
{
	char dir[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return fail(err, err_size, "state file", path);
	}
	memcpy(dir, path, n + 1);
	for (i = 1; i < n; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return fail(err, err_size, "cannot make", dir);
		dir[i] = '/';
	}
	return 0;
}

static uint64_t fresh_key(void)
{
	uint64_t k = 0;
	struct timespec ts;

	if (getrandom(&k, sizeof(k), GRND_NONBLOCK) == (ssize_t)sizeof(k) && k)
		return k;
	clock_gettime(CLOCK_REALTIME, &ts);
	return mix((uint64_t)ts.tv_nsec << 20 ^ (uint64_t)getpid(), (uint64_t)ts.tv_sec) | 1;
}

/* The geometry a file of ours records, or false for anything else. */
static bool read_header(int fd, size_t file_size, struct file_header *fh)
{
	if (file_size < HEADER_SIZE || pread(fd, fh, sizeof(*fh), 0) != (ssize_t)sizeof(*fh))
		return false;
	return memcmp(fh->magic, FILE_MAGIC, 8) == 0 && fh->version == FILE_VERSION &&
	       fh->block == STATE_FILE_BLOCK && fh->n_blocks && fh->n_blocks % 64 == 0 &&
	       fh->n_blocks <= UINT32_MAX - 1 &&
	       file_size >= HEADER_SIZE + fh->n_blocks * STATE_FILE_BLOCK &&
	       header_check(fh) == fh->check;
}

/* A new, empty file of size bytes. */
static int init_file(int fd, size_t size, struct file_header *fh)
{
	uint64_t blocks = (size > HEADER_SIZE ? size - HEADER_SIZE : 0) / STATE_FILE_BLOCK;

	blocks -= blocks % 64;
	if (!blocks)
		blocks = 64;
	memset(fh, 0, sizeof(*fh));
	memcpy(fh->magic, FILE_MAGIC, 8);
	fh->version = FILE_VERSION;
	fh->block = STATE_FILE_BLOCK;
	fh->n_blocks = blocks;
	fh->key = fresh_key();
	fh->check = header_check(fh);
	/* emptied first: no block of an older file is taken for a record */
	if (ftruncate(fd, 0) < 0 ||
	    ftruncate(fd, (off_t)(HEADER_SIZE + blocks * STATE_FILE_BLOCK)) < 0 ||
	    pwrite(fd, fh, sizeof(*fh), 0) != (ssize_t)sizeof(*fh))
		return -1;
	return 0;
}

/* Mark the valid records a predecessor left. */
static void scan(struct state_file *sf)
{
	uint32_t idx = 0, n;
	uint64_t top = 0;

	while (idx < sf->n_blocks) {
		n = valid_at(sf, idx);
		if (!n) {
			if (__atomic_load_n(&rec_at(sf, idx)->magic, __ATOMIC_RELAXED) == REC_LIVE)
				sf->stats.torn++;
			idx++;
			continue;
		}
		set_bits(sf, idx, n, true);
		sf->stats.loaded++;
		if (rec_at(sf, idx)->serial >= top)
			top = rec_at(sf, idx)->serial + 1;
		idx += n;
	}
	sf->serial = top;
}

int state_file_open(struct state_file *sf, const char *path, size_t size, char *err,
		    size_t err_size)
{
	struct file_header fh;
	struct stat st;

	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
	if (make_parents(path, err, err_size) < 0)
		return -1;
	sf->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sf->fd < 0)
		return fail(err, err_size, "cannot open", path);
	if (fstat(sf->fd, &st) < 0)
		goto failed;
	if (!read_header(sf->fd, (size_t)st.st_size, &fh) && init_file(sf->fd, size, &fh) < 0)
		goto failed;
	sf->n_blocks = (uint32_t)fh.n_blocks;
	sf->key = fh.key;
	sf->size = HEADER_SIZE + (size_t)sf->n_blocks * STATE_FILE_BLOCK;
	sf->map = mmap(NULL, sf->size, PROT_READ | PROT_WRITE, MAP_SHARED, sf->fd, 0);
	if (sf->map == MAP_FAILED) {
		sf->map = NULL;
		goto failed;
	}
	sf->used = calloc(sf->n_blocks / 64, sizeof(*sf->used));
	if (!sf->used) {
		errno = ENOMEM;
		goto failed;
	}
	pthread_mutex_init(&sf->lock, NULL);
	scan(sf);
	return 0;
failed:
	fail(err, err_size, "state file", path);
	state_file_close(sf);
	return -1;
}

void state_file_close(struct state_file *sf)
{
	if (sf->map) {
		munmap(sf->map, sf->size);
		pthread_mutex_destroy(&sf->lock);
	}
	if (sf->fd >= 0)
		close(sf->fd);
	free(sf->used);
	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
}

void state_file_each(struct state_file *sf, state_file_each_fn fn, void *arg)
{
	uint32_t idx = 0, n;
	const struct rec_header *h;

	while (idx < sf->n_blocks) {
		if (!bit(sf, idx) || !(n = valid_at(sf, idx))) {
			idx++;
			continue;
		}
		h = rec_at(sf, idx);
		fn(arg, idx + 1, h->serial, (const uint8_t *)(h + 1), h->len);
		idx += n;
	}
}

/* ---- records ----------------------------------------------------------------- */

state_ref state_file_write(struct state_file *sf, const void *payload, size_t len)
{
	struct rec_header *h, hdr;
	uint64_t blocks = (sizeof(hdr) + (uint64_t)len + STATE_FILE_BLOCK - 1) / STATE_FILE_BLOCK;
	long idx = -1;

	if (!sf->map)
		return 0;
	pthread_mutex_lock(&sf->lock);
	if (blocks <= sf->n_blocks)
		idx = find_run(sf, (uint32_t)blocks);
	if (idx < 0) {
		sf->stats.full++;
		pthread_mutex_unlock(&sf->lock);
		return 0;
	}
	set_bits(sf, (uint32_t)idx, (uint32_t)blocks, true);
	sf->cursor = (uint32_t)(idx + (long)blocks) % sf->n_blocks;
	hdr.serial = sf->serial++;
	sf->stats.written++;
	pthread_mutex_unlock(&sf->lock);
	/* The blocks are ours now: the bytes, then the header, the magic last. */
	h = rec_at(sf, (uint32_t)idx);
	memcpy(h + 1, payload, len);
	hdr.magic = REC_FREE;
	hdr.blocks = (uint32_t)blocks;
	hdr.len = (uint32_t)len;
	hdr.pad = 0;
	hdr.check = rec_check(sf->key, &hdr, (const uint8_t *)(h + 1));
	h->blocks = hdr.blocks;
	h->serial = hdr.serial;
	h->len = hdr.len;
	h->pad = 0;
	h->check = hdr.check;
	__atomic_store_n(&h->magic, REC_LIVE, __ATOMIC_RELEASE);
	return (state_ref)idx + 1;
}

void state_file_free(struct state_file *sf, state_ref ref)
{
	struct rec_header *h;
	uint32_t blocks;

	if (!ref || !sf->map || ref > sf->n_blocks)
		return;
	h = rec_at(sf, ref - 1);
	blocks = h->blocks;
	__atomic_store_n(&h->magic, REC_FREE, __ATOMIC_RELEASE);
	if (!blocks || blocks > sf->n_blocks - (ref - 1))
		return;
	pthread_mutex_lock(&sf->lock);
	set_bits(sf, ref - 1, blocks, false);
	sf->stats.freed++;
	pthread_mutex_unlock(&sf->lock);
}

const uint8_t *state_file_read(struct state_file *sf, state_ref ref, size_t *len)
{
	if (!ref || !sf->map || ref > sf->n_blocks || !valid_at(sf, ref - 1))
		return NULL;
	*len = rec_at(sf, ref - 1)->len;
	return (const uint8_t *)(rec_at(sf, ref - 1) + 1);
}

void state_file_stats(struct state_file *sf, struct state_file_stats *out)
{
	if (!sf->map) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&sf->lock);
	*out = sf->stats;
	pthread_mutex_unlock(&sf->lock);
}
