/* IMSpector's content manipulation: every listed word, wherever it occurs
 * and in any case, is overwritten byte for byte by the replace character
 * (so the message keeps its length and the edit stays possible after the
 * hold deadline); more than badwords_block_count of them block the whole
 * message. Like IMSpector, words match inside longer words too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/filters.h"

static int add_word(void *arg, const char *path, unsigned line, char *text, char *err,
		    size_t err_size)
{
	struct badwords *bw = arg;
	char **grown;

	(void)path;
	(void)line;
	(void)err;
	(void)err_size;
	grown = realloc(bw->words, (bw->n + 1) * sizeof(*grown));
	if (!grown)
		goto oom;
	bw->words = grown;
	bw->words[bw->n] = strdup(text);
	if (!bw->words[bw->n])
		goto oom;
	bw->n++;
	return 0;
oom:
	snprintf(err, err_size, "%s: out of memory", path);
	return -1;
}

int badwords_load(struct badwords *bw, const char *path, char *err, size_t err_size)
{
	return listfile_read(path, add_word, bw, err, err_size);
}

void badwords_free(struct badwords *bw)
{
	size_t i;

	for (i = 0; i < bw->n; i++)
		free(bw->words[i]);
	free(bw->words);
	bw->words = NULL;
	bw->n = 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool matches_at(const char *text, const char *word, size_t wl)
{
	size_t i;

	for (i = 0; i < wl; i++)
		if (lower(text[i]) != lower(word[i]))
			return false;
	return true;
}

long badwords_censor(const struct badwords *bw, const char *text, char **censored)
{
	size_t tl = strlen(text), i, pos, wl;
	char *out = NULL;
	long count = 0;

	*censored = NULL;
	for (i = 0; i < bw->n; i++) {
		wl = strlen(bw->words[i]);
		if (!wl || wl > tl)
			continue;
		for (pos = 0; pos + wl <= tl;) {
			if (!matches_at(text + pos, bw->words[i], wl)) {
				pos++;
				continue;
			}
			if (!out) {
				out = strdup(text);
				if (!out)
					return -1;
			}
			memset(out + pos, bw->replace, wl);
			count++;
			pos += wl;
		}
	}
	*censored = out;
	return count;
}

const char *badwords_first(const struct badwords *bw, const char *text)
{
	size_t tl = strlen(text), i, pos, wl;

	for (i = 0; i < bw->n; i++) {
		wl = strlen(bw->words[i]);
		for (pos = 0; wl && pos + wl <= tl; pos++)
			if (matches_at(text + pos, bw->words[i], wl))
				return bw->words[i];
	}
	return NULL;
}
