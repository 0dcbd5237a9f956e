#include "review/users.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util/bytebuf.h"

#define NAME_MAX_LEN 64
#define PASSWORD_MAX 1024

const char *user_role_name(enum user_role r)
{
	return r == ROLE_ADMIN ? "admin" : r == ROLE_REVIEWER ? "reviewer" : "none";
}

static enum user_role role_parse(const char *s, size_t n)
{
	if (n == 5 && strncmp(s, "admin", 5) == 0)
		return ROLE_ADMIN;
	if (n == 8 && strncmp(s, "reviewer", 8) == 0)
		return ROLE_REVIEWER;
	return ROLE_NONE;
}

bool user_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= NAME_MAX_LEN &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") == n;
}

/* The whole file (empty when missing and missing_ok). */
static int read_all(const char *file, struct bytebuf *b, bool missing_ok, char *err,
		    size_t err_size)
{
	FILE *f = fopen(file, "r");
	char chunk[4096];
	size_t n;

	bytebuf_init(b);
	if (!f) {
		if (errno == ENOENT && missing_ok)
			return bytebuf_terminate(b) ? 0 : -1;
		snprintf(err, err_size, "%s: %s", file, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (!bytebuf_append(b, chunk, n)) {
			fclose(f);
			snprintf(err, err_size, "%s: out of memory", file);
			return -1;
		}
	fclose(f);
	if (!bytebuf_terminate(b)) {
		snprintf(err, err_size, "%s: out of memory", file);
		return -1;
	}
	return 0;
}

struct user_line {
	const char *name, *role, *hash;
	size_t name_len, role_len, hash_len;
};

/* The next "name:role:hash" line of *p; false at the end. Malformed
 * lines are skipped (and never match). */
static bool next_line(const char **p, struct user_line *u)
{
	while (**p) {
		const char *line = *p, *nl = strchr(line, '\n'), *c1, *c2;
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		*p = line + n + (nl ? 1 : 0);
		c1 = memchr(line, ':', n);
		c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
		if (!c2 || line[0] == '#')
			continue;
		u->name = line;
		u->name_len = (size_t)(c1 - line);
		u->role = c1 + 1;
		u->role_len = (size_t)(c2 - c1 - 1);
		u->hash = c2 + 1;
		u->hash_len = n - (size_t)(c2 + 1 - line);
		return true;
	}
	return false;
}

int users_check(const char *file, const char *name, const char *password, enum user_role *role,
		char *err, size_t err_size)
{
	/* A hash to spend the same time on when the user is unknown. */
	static const char dummy_pw[] = "imwire-no-such-user";
	char hash[crypto_pwhash_STRBYTES];
	struct bytebuf b;
	struct user_line u;
	const char *p;
	bool found = false;

	*role = ROLE_NONE;
	if (sodium_init() < 0) {
		snprintf(err, err_size, "libsodium: cannot initialise");
		return -1;
	}
	if (read_all(file, &b, false, err, err_size) < 0)
		return -1;
	p = (const char *)b.data;
	while (!found && next_line(&p, &u)) {
		if (u.name_len != strlen(name) || strncmp(u.name, name, u.name_len) != 0 ||
		    u.hash_len >= sizeof(hash))
			continue;
		memcpy(hash, u.hash, u.hash_len);
		hash[u.hash_len] = '\0';
		found = true;
		if (crypto_pwhash_str_verify(hash, password, strlen(password)) == 0)
			*role = role_parse(u.role, u.role_len);
	}
	if (!found &&
	    crypto_pwhash_str(hash, dummy_pw, sizeof(dummy_pw) - 1, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0)
		if (crypto_pwhash_str_verify(hash, password, strlen(password)) == 0)
			*role = ROLE_NONE; /* (never: the dummy has no user) */
	sodium_memzero(b.data, b.len);
	bytebuf_free(&b);
	return 0;
}

static int write_all(const char *file, const struct bytebuf *b, char *err, size_t err_size)
{
	char tmp[4096];
	int fd;
	size_t off = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", file) >= sizeof(tmp)) {
		snprintf(err, err_size, "%s: path too long", file);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < b->len) {
		ssize_t w = write(fd, b->data + off, b->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, err_size, "%s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, file) < 0) {
		snprintf(err, err_size, "%s: %s", file, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The file without name's line into out; *had says whether it was there. */
static int without_user(const char *file, const char *name, struct bytebuf *out, bool *had,
			char *err, size_t err_size)
{
	struct bytebuf b;
	const char *p, *line;

	*had = false;
	bytebuf_init(out);
	if (read_all(file, &b, true, err, err_size) < 0)
		return -1;
	p = (const char *)b.data;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p), k = strlen(name);

		line = p;
		p += n + (nl ? 1 : 0);
		if (n > k && line[k] == ':' && strncmp(line, name, k) == 0) {
			*had = true;
			continue;
		}
		if (n && (!bytebuf_append(out, line, n) || !bytebuf_append_byte(out, '\n'))) {
			bytebuf_free(&b);
			snprintf(err, err_size, "out of memory");
			return -1;
		}
	}
	bytebuf_free(&b);
	return 0;
}

static int read_password(FILE *in, char *pw, size_t size, char *err, size_t err_size)
{
	struct termios old, quiet;
	bool tty = isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0;
	size_t n;

	if (tty) {
		fputs("password: ", stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(in), TCSAFLUSH, &quiet);
	}
	if (!fgets(pw, (int)size, in))
		pw[0] = '\0';
	if (tty) {
		tcsetattr(fileno(in), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (n < 8) {
		snprintf(err, err_size, "the password must have at least 8 characters");
		return -1;
	}
	return 0;
}

int users_cmd_add(const char *file, const char *name, const char *role, FILE *in, char *err,
		  size_t err_size)
{
	char pw[PASSWORD_MAX], hash[crypto_pwhash_STRBYTES];
	struct bytebuf b;
	bool had;
	int rc = -1;

	if (!user_name_valid(name)) {
		snprintf(err, err_size, "%s: a name is 1 to 64 of A-Z a-z 0-9 . _ @ -", name);
		return -1;
	}
	if (role_parse(role, strlen(role)) == ROLE_NONE) {
		snprintf(err, err_size, "%s: the role is reviewer or admin", role);
		return -1;
	}
	if (sodium_init() < 0) {
		snprintf(err, err_size, "libsodium: cannot initialise");
		return -1;
	}
	if (read_password(in, pw, sizeof(pw), err, err_size) < 0)
		return -1;
	if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		snprintf(err, err_size, "crypto_pwhash: out of memory");
		goto out;
	}
	if (without_user(file, name, &b, &had, err, err_size) < 0)
		goto out;
	if (bytebuf_printf(&b, "%s:%s:%s\n", name, role, hash))
		rc = write_all(file, &b, err, err_size);
	else
		snprintf(err, err_size, "out of memory");
	bytebuf_free(&b);
out:
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

int users_cmd_del(const char *file, const char *name, char *err, size_t err_size)
{
	struct bytebuf b;
	bool had;
	int rc;

	if (without_user(file, name, &b, &had, err, err_size) < 0)
		return -1;
	if (!had) {
		snprintf(err, err_size, "%s: no such user in %s", name, file);
		bytebuf_free(&b);
		return -1;
	}
	rc = write_all(file, &b, err, err_size);
	bytebuf_free(&b);
	return rc;
}

int users_each(const char *file, void (*fn)(const char *name, const char *role, void *arg),
	       void *arg, char *err, size_t err_size)
{
	struct bytebuf b;
	struct user_line u;
	const char *p;
	char name[NAME_MAX_LEN + 1], role[16];

	if (read_all(file, &b, false, err, err_size) < 0)
		return -1;
	p = (const char *)b.data;
	while (next_line(&p, &u)) {
		if (u.name_len > NAME_MAX_LEN || u.role_len >= sizeof(role))
			continue;
		memcpy(name, u.name, u.name_len);
		name[u.name_len] = '\0';
		memcpy(role, u.role, u.role_len);
		role[u.role_len] = '\0';
		fn(name, role, arg);
	}
	bytebuf_free(&b);
	return 0;
}

static void print_user(const char *name, const char *role, void *arg)
{
	fprintf(arg, "%s\t%s\n", name, role);
}

int users_cmd_list(const char *file, FILE *out, char *err, size_t err_size)
{
	return users_each(file, print_user, out, err, err_size);
}
