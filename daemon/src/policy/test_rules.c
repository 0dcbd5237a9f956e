/* The inline engine's test rules (rewrite_test, drop_test, inject_test),
 * kept as policy rules so the engine's tests exercise the same path as
 * real policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/filters.h"
#include "util/bytebuf.h"

static int split_pair(const char *v, char **a, char **b)
{
	const char *colon = strchr(v, ':');

	if (!colon)
		return -1;
	*a = strndup(v, (size_t)(colon - v));
	*b = strdup(colon + 1);
	return *a && *b ? 0 : -2;
}

int test_rules_set(struct test_rules *t, const char *rewrite, const char *drop,
		   const char *inject, char *err, size_t err_size)
{
	int rc;

	if (rewrite && (rc = split_pair(rewrite, &t->rewrite_from, &t->rewrite_to)) < 0) {
		snprintf(err, err_size, rc == -1 ? "rewrite_test: expected FROM:TO" : "out of memory");
		return -1;
	}
	if (drop && !(t->drop_word = strdup(drop))) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	if (inject && (rc = split_pair(inject, &t->inject_word, &t->inject_text)) < 0) {
		snprintf(err, err_size, rc == -1 ? "inject_test: expected WORD:TEXT" : "out of memory");
		return -1;
	}
	return 0;
}

void test_rules_free(struct test_rules *t)
{
	free(t->rewrite_from);
	free(t->rewrite_to);
	free(t->drop_word);
	free(t->inject_word);
	free(t->inject_text);
	memset(t, 0, sizeof(*t));
}

char *test_rules_replace_all(const char *text, const char *from, const char *to)
{
	struct bytebuf b;
	size_t fl = strlen(from);
	const char *p = text, *hit;

	bytebuf_init(&b);
	while (fl && (hit = strstr(p, from)) != NULL) {
		if (!bytebuf_append(&b, p, (size_t)(hit - p)) || !bytebuf_append_str(&b, to))
			goto fail;
		p = hit + fl;
	}
	if (!bytebuf_append_str(&b, p) || !bytebuf_terminate(&b))
		goto fail;
	return (char *)b.data;
fail:
	bytebuf_free(&b);
	return NULL;
}
