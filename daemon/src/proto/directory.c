#include "proto/directory.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct proto_string {
	struct proto_string *next; /* in its bucket */
	size_t refs;
	size_t len;
	char s[];
};

void proto_directory_init(struct proto_directory *d)
{
	memset(d, 0, sizeof(*d));
}

static void entry_clear(struct proto_directory_entry *e)
{
	free(e->key);
	free(e->value);
	memset(e, 0, sizeof(*e));
}

void proto_directory_free(struct proto_directory *d)
{
	struct proto_string *p, *next;
	size_t i;

	for (i = 0; i < PROTO_DIRECTORY_SLOTS; i++)
		entry_clear(&d->slots[i]);
	d->next = 0;
	for (i = 0; i < PROTO_STRINGS_BUCKETS; i++) {
		for (p = d->strings[i]; p; p = next) {
			next = p->next;
			free(p);
		}
		d->strings[i] = NULL;
	}
}

static struct proto_directory_entry *find(const struct proto_directory *d, enum imw_proto proto,
					  const uint8_t *key, size_t key_len)
{
	size_t i;

	for (i = 0; i < PROTO_DIRECTORY_SLOTS; i++) {
		const struct proto_directory_entry *e = &d->slots[i];

		if (e->key && e->proto == proto && e->key_len == key_len &&
		    memcmp(e->key, key, key_len) == 0)
			return (struct proto_directory_entry *)e;
	}
	return NULL;
}

bool proto_directory_put(struct proto_directory *d, enum imw_proto proto, const uint8_t *key,
			 size_t key_len, const char *value)
{
	struct proto_directory_entry *e;
	char *v;
	uint8_t *k;

	if (key_len == 0 || key_len > PROTO_DIRECTORY_KEY_MAX)
		return false;
	v = strdup(value);
	if (!v)
		return false;
	e = find(d, proto, key, key_len);
	if (e) {
		free(e->value);
		e->value = v;
		return true;
	}
	k = malloc(key_len);
	if (!k) {
		free(v);
		return false;
	}
	memcpy(k, key, key_len);
	e = &d->slots[d->next];
	if (e->key)
		d->replaced++;
	entry_clear(e);
	e->proto = proto;
	e->key = k;
	e->key_len = key_len;
	e->value = v;
	d->next = (d->next + 1) % PROTO_DIRECTORY_SLOTS;
	return true;
}

const char *proto_directory_get(const struct proto_directory *d, enum imw_proto proto,
				const uint8_t *key, size_t key_len)
{
	const struct proto_directory_entry *e = find(d, proto, key, key_len);

	return e ? e->value : NULL;
}

static size_t string_bucket(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h % PROTO_STRINGS_BUCKETS;
}

const char *proto_directory_intern(struct proto_directory *d, const char *s, size_t n)
{
	size_t b = string_bucket(s, n);
	struct proto_string *p;

	for (p = d->strings[b]; p; p = p->next) {
		if (p->len == n && memcmp(p->s, s, n) == 0) {
			p->refs++;
			return p->s;
		}
	}
	p = malloc(sizeof(*p) + n + 1);
	if (!p)
		return NULL;
	memcpy(p->s, s, n);
	p->s[n] = '\0';
	p->len = n;
	p->refs = 1;
	p->next = d->strings[b];
	d->strings[b] = p;
	return p->s;
}

void proto_directory_release(struct proto_directory *d, const char *s)
{
	/* s is the s[] of a proto_string this directory made */
	struct proto_string *p =
		(struct proto_string *)(uintptr_t)(s - offsetof(struct proto_string, s));
	struct proto_string **pp;

	if (--p->refs)
		return;
	for (pp = &d->strings[string_bucket(p->s, p->len)]; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p);
}
