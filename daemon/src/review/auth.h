/* Web console sessions and the login rate limit. A session is a random
 * 256-bit token in an HttpOnly, SameSite=Strict cookie (Secure under
 * TLS), with its own random CSRF token that every form carries; it ends
 * after 30 minutes idle or 12 hours. Logins are limited per client address
 * and per user name: 5 failures in 5 minutes lock that key for the rest
 * of the 5 minutes. All functions are thread-safe (one mutex). */
#ifndef IMW_REVIEW_AUTH_H
#define IMW_REVIEW_AUTH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "review/users.h"

#define AUTH_TOKEN_HEX 65 /* 64 hex digits and NUL */
#define AUTH_MAX_SESSIONS 256
#define AUTH_MAX_LIMITS 256
#define AUTH_IDLE_S (30 * 60)
#define AUTH_MAX_AGE_S (12 * 3600)
#define AUTH_FAIL_MAX 5
#define AUTH_FAIL_WINDOW_S 300

struct auth_session {
	char token[AUTH_TOKEN_HEX];
	char csrf[AUTH_TOKEN_HEX];
	char user[65];
	enum user_role role;
	time_t created, last;
};

struct auth_limit {
	char key[80];
	unsigned failures;
	time_t window_start;
};

struct auth {
	pthread_mutex_t lock;
	struct auth_session sessions[AUTH_MAX_SESSIONS];
	struct auth_limit limits[AUTH_MAX_LIMITS];
};

int auth_init(struct auth *a);
void auth_destroy(struct auth *a);

/* A fresh random token (hex). */
void auth_random_token(char out[AUTH_TOKEN_HEX]);
/* A new session; false when out of room even after dropping the oldest. */
bool auth_session_create(struct auth *a, const char *user, enum user_role role,
			 struct auth_session *out);
/* The live session of a token (touching it); false when there is none. */
bool auth_session_find(struct auth *a, const char *token, struct auth_session *out);
void auth_session_end(struct auth *a, const char *token);
/* Constant-time equality of two tokens. */
bool auth_token_equal(const char *x, const char *y);

/* Whether a login from addr for user may be tried now. */
bool auth_login_allowed(struct auth *a, const char *addr, const char *user);
void auth_login_failed(struct auth *a, const char *addr, const char *user);
void auth_login_succeeded(struct auth *a, const char *addr, const char *user);

#endif
