/* The web console's users: a file the admin keeps with `imwire web-user`,
 * one user a line, "name:role:hash", where hash is libsodium's
 * crypto_pwhash_str (Argon2id, its interactive limits) and role is
 * reviewer or admin. Written whole to a temporary file and renamed, mode
 * 0600. Names are 1..64 of [A-Za-z0-9._@-]. */
#ifndef IMW_REVIEW_USERS_H
#define IMW_REVIEW_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum user_role {
	ROLE_NONE,
	ROLE_REVIEWER,
	ROLE_ADMIN,
};

const char *user_role_name(enum user_role r);
bool user_name_valid(const char *name);

/* The role of name when password is right, else ROLE_NONE. Takes as long
 * for an unknown user as for a wrong password. -1 when the file cannot
 * be read (err set). */
int users_check(const char *file, const char *name, const char *password, enum user_role *role,
		char *err, size_t err_size);

/* Commands (err set on -1). add reads the password as the first line of
 * in (a terminal: without echo). */
int users_cmd_add(const char *file, const char *name, const char *role, FILE *in, char *err,
		  size_t err_size);
int users_cmd_del(const char *file, const char *name, char *err, size_t err_size);
int users_cmd_list(const char *file, FILE *out, char *err, size_t err_size);

/* Every user, for the admin page: fn(name, role, arg) per line. */
int users_each(const char *file, void (*fn)(const char *name, const char *role, void *arg),
	       void *arg, char *err, size_t err_size);

#endif
