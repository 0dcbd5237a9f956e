#include "review/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int auth_init(struct auth *a)
{
	memset(a, 0, sizeof(*a));
	if (sodium_init() < 0)
		return -1;
	return pthread_mutex_init(&a->lock, NULL) == 0 ? 0 : -1;
}

void auth_destroy(struct auth *a)
{
	sodium_memzero(a->sessions, sizeof(a->sessions));
	pthread_mutex_destroy(&a->lock);
}

void auth_random_token(char out[AUTH_TOKEN_HEX])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, AUTH_TOKEN_HEX, raw, sizeof(raw));
}

bool auth_token_equal(const char *x, const char *y)
{
	size_t n = strlen(x);

	return n == AUTH_TOKEN_HEX - 1 && strlen(y) == n && sodium_memcmp(x, y, n) == 0;
}

static bool expired(const struct auth_session *s, time_t now)
{
	return !s->token[0] || now - s->last > AUTH_IDLE_S || now - s->created > AUTH_MAX_AGE_S;
}

bool auth_session_create(struct auth *a, const char *user, enum user_role role,
			 struct auth_session *out)
{
	time_t now = time(NULL);
	size_t i, pick = 0;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < AUTH_MAX_SESSIONS; i++) {
		if (expired(&a->sessions[i], now)) {
			pick = i;
			break;
		}
		if (a->sessions[i].last < a->sessions[pick].last)
			pick = i;
	}
	memset(&a->sessions[pick], 0, sizeof(a->sessions[pick]));
	auth_random_token(a->sessions[pick].token);
	auth_random_token(a->sessions[pick].csrf);
	snprintf(a->sessions[pick].user, sizeof(a->sessions[pick].user), "%s", user);
	a->sessions[pick].role = role;
	a->sessions[pick].created = a->sessions[pick].last = now;
	*out = a->sessions[pick];
	pthread_mutex_unlock(&a->lock);
	return true;
}

bool auth_session_find(struct auth *a, const char *token, struct auth_session *out)
{
	time_t now = time(NULL);
	bool found = false;
	size_t i;

	if (!token || strlen(token) != AUTH_TOKEN_HEX - 1)
		return false;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < AUTH_MAX_SESSIONS && !found; i++) {
		struct auth_session *s = &a->sessions[i];

		if (expired(s, now) || !auth_token_equal(s->token, token))
			continue;
		s->last = now;
		*out = *s;
		found = true;
	}
	pthread_mutex_unlock(&a->lock);
	return found;
}

void auth_session_end(struct auth *a, const char *token)
{
	size_t i;

	if (!token || strlen(token) != AUTH_TOKEN_HEX - 1)
		return;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < AUTH_MAX_SESSIONS; i++)
		if (a->sessions[i].token[0] && auth_token_equal(a->sessions[i].token, token))
			memset(&a->sessions[i], 0, sizeof(a->sessions[i]));
	pthread_mutex_unlock(&a->lock);
}

/* The slot of a key, a free or stale one for a new key; NULL if full. */
static struct auth_limit *limit_slot(struct auth *a, const char *key, time_t now, bool create)
{
	struct auth_limit *free_slot = NULL;
	size_t i;

	for (i = 0; i < AUTH_MAX_LIMITS; i++) {
		struct auth_limit *l = &a->limits[i];
		bool stale = !l->key[0] || now - l->window_start > AUTH_FAIL_WINDOW_S;

		if (l->key[0] && strcmp(l->key, key) == 0) {
			if (stale) {
				l->failures = 0;
				l->window_start = now;
			}
			return l;
		}
		if (stale && !free_slot)
			free_slot = l;
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	free_slot->window_start = now;
	return free_slot;
}

static void keys(const char *addr, const char *user, char k1[80], char k2[80])
{
	snprintf(k1, 80, "a:%s", addr);
	snprintf(k2, 80, "u:%.70s", user ? user : "");
}

bool auth_login_allowed(struct auth *a, const char *addr, const char *user)
{
	time_t now = time(NULL);
	char k1[80], k2[80];
	struct auth_limit *l1, *l2;
	bool ok;

	keys(addr, user, k1, k2);
	pthread_mutex_lock(&a->lock);
	l1 = limit_slot(a, k1, now, false);
	l2 = limit_slot(a, k2, now, false);
	ok = (!l1 || l1->failures < AUTH_FAIL_MAX) && (!l2 || l2->failures < AUTH_FAIL_MAX);
	pthread_mutex_unlock(&a->lock);
	return ok;
}

void auth_login_failed(struct auth *a, const char *addr, const char *user)
{
	time_t now = time(NULL);
	char k1[80], k2[80];
	struct auth_limit *l;

	keys(addr, user, k1, k2);
	pthread_mutex_lock(&a->lock);
	if ((l = limit_slot(a, k1, now, true)))
		l->failures++;
	if ((l = limit_slot(a, k2, now, true)))
		l->failures++;
	pthread_mutex_unlock(&a->lock);
}

void auth_login_succeeded(struct auth *a, const char *addr, const char *user)
{
	time_t now = time(NULL);
	char k1[80], k2[80];
	struct auth_limit *l;

	keys(addr, user, k1, k2);
	pthread_mutex_lock(&a->lock);
	if ((l = limit_slot(a, k1, now, false)))
		l->failures = 0;
	if ((l = limit_slot(a, k2, now, false)))
		l->failures = 0;
	pthread_mutex_unlock(&a->lock);
}
