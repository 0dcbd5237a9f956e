#include "proto/directory.h"

#include <stdlib.h>
#include <string.h>

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
	size_t i;

	for (i = 0; i < PROTO_DIRECTORY_SLOTS; i++)
		entry_clear(&d->slots[i]);
	d->next = 0;
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
