/* Regular-expression replacement (IMSpector's "Regex-based text
 * replacement" plan): POSIX extended expressions, sed-like replacements,
 * so a rule may change the message's length. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/filters.h"
#include "util/bytebuf.h"

#define REGEX_MAX_GROUPS 10

/* Copy up to the next unescaped delimiter; "\<delim>" becomes the
 * delimiter, every other escape is kept for regcomp or the replacement. */
static const char *take_part(const char *p, char delim, struct bytebuf *out)
{
	for (; *p && *p != delim; p++) {
		if (p[0] == '\\' && p[1] == delim) {
			p++;
		} else if (p[0] == '\\' && p[1]) {
			if (!bytebuf_append_byte(out, (uint8_t)*p++))
				return NULL;
		}
		if (!bytebuf_append_byte(out, (uint8_t)*p))
			return NULL;
	}
	if (*p != delim || !bytebuf_terminate(out))
		return NULL;
	return p + 1;
}

int regex_rules_add(struct regex_rules *r, const char *spec, char *err, size_t err_size)
{
	struct bytebuf pat, rep;
	struct regex_rule rule, *grown;
	const char *p;
	char delim = spec[0];
	int cflags = REG_EXTENDED, rc;

	memset(&rule, 0, sizeof(rule));
	bytebuf_init(&pat);
	bytebuf_init(&rep);
	if (!delim || isalnum((unsigned char)delim) || isspace((unsigned char)delim) ||
	    delim == '\\') {
		snprintf(err, err_size, "expected /PATTERN/REPLACEMENT/FLAGS");
		goto fail;
	}
	p = take_part(spec + 1, delim, &pat);
	if (p)
		p = take_part(p, delim, &rep);
	if (!p) {
		snprintf(err, err_size, "expected /PATTERN/REPLACEMENT/FLAGS (unterminated)");
		goto fail;
	}
	for (; *p; p++) {
		if (*p == 'i') {
			cflags |= REG_ICASE;
		} else if (*p == 'b') {
			rule.block = true;
		} else {
			snprintf(err, err_size, "unknown flag '%c' (i: ignore case, b: block)", *p);
			goto fail;
		}
	}
	if (!pat.len) {
		snprintf(err, err_size, "empty pattern");
		goto fail;
	}
	rc = regcomp(&rule.re, (const char *)pat.data, cflags);
	if (rc != 0) {
		char msg[128];

		regerror(rc, &rule.re, msg, sizeof(msg));
		snprintf(err, err_size, "bad pattern: %s", msg);
		goto fail;
	}
	rule.replacement = strdup(rep.len ? (const char *)rep.data : "");
	rule.spec = strdup(spec);
	grown = realloc(r->v, (r->n + 1) * sizeof(*grown));
	if (!rule.replacement || !rule.spec || !grown) {
		if (grown)
			r->v = grown;
		regfree(&rule.re);
		free(rule.replacement);
		free(rule.spec);
		snprintf(err, err_size, "out of memory");
		goto fail;
	}
	r->v = grown;
	r->v[r->n++] = rule;
	bytebuf_free(&pat);
	bytebuf_free(&rep);
	return 0;
fail:
	bytebuf_free(&pat);
	bytebuf_free(&rep);
	return -1;
}

void regex_rules_free(struct regex_rules *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		regfree(&r->v[i].re);
		free(r->v[i].replacement);
		free(r->v[i].spec);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static bool append_replacement(struct bytebuf *out, const char *rep, const char *subject,
			       const regmatch_t *m)
{
	const char *p;
	int g;

	for (p = rep; *p; p++) {
		g = -1;
		if (*p == '&')
			g = 0;
		else if (p[0] == '\\' && p[1] >= '0' && p[1] <= '9')
			g = *++p - '0';
		else if (p[0] == '\\' && p[1])
			p++; /* "\&", "\\": the character itself */
		if (g < 0) {
			if (!bytebuf_append_byte(out, (uint8_t)*p))
				return false;
		} else if (m[g].rm_so >= 0 &&
			   !bytebuf_append(out, subject + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so))) {
			return false;
		}
	}
	return true;
}

/* Replace every match of one rule; 0 none, 1 replaced, -1 failure. */
static int apply_one(const struct regex_rule *rule, const char *text, struct bytebuf *out)
{
	regmatch_t m[REGEX_MAX_GROUPS];
	const char *p = text, *end = text + strlen(text);
	int eflags = 0, hits = 0;

	bytebuf_clear(out);
	while (p <= end && regexec(&rule->re, p, REGEX_MAX_GROUPS, m, eflags) == 0) {
		hits++;
		if (!bytebuf_append(out, p, (size_t)m[0].rm_so) ||
		    !append_replacement(out, rule->replacement, p, m))
			return -1;
		if (m[0].rm_eo == m[0].rm_so) {
			/* An empty match: keep one character and move on. */
			if (p + m[0].rm_eo >= end) {
				p = end;
				break;
			}
			if (!bytebuf_append_byte(out, (uint8_t)p[m[0].rm_eo]))
				return -1;
			p += m[0].rm_eo + 1;
		} else {
			p += m[0].rm_eo;
		}
		eflags = REG_NOTBOL;
		if (p >= end)
			break;
	}
	if (!hits)
		return 0;
	if (p < end && !bytebuf_append(out, p, (size_t)(end - p)))
		return -1;
	return bytebuf_terminate(out) ? 1 : -1;
}

int regex_rules_apply(const struct regex_rules *r, const char *text, char **out)
{
	const struct regex_rule *why;

	return regex_rules_apply_why(r, text, out, &why);
}

int regex_rules_apply_why(const struct regex_rules *r, const char *text, char **out,
			  const struct regex_rule **why)
{
	struct bytebuf buf;
	char *cur = NULL;
	size_t i;
	int rc, changed = 0;

	*out = NULL;
	*why = NULL;
	bytebuf_init(&buf);
	for (i = 0; i < r->n; i++) {
		if (r->v[i].flag)
			continue;
		if (r->v[i].block) {
			if (regexec(&r->v[i].re, cur ? cur : text, 0, NULL, 0) == 0) {
				free(cur);
				bytebuf_free(&buf);
				*why = &r->v[i];
				return 2;
			}
			continue;
		}
		rc = apply_one(&r->v[i], cur ? cur : text, &buf);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			continue;
		free(cur);
		cur = strdup(buf.len ? (const char *)buf.data : "");
		if (!cur)
			goto fail;
		changed = 1;
		if (!*why)
			*why = &r->v[i];
	}
	bytebuf_free(&buf);
	if (changed && strcmp(cur, text) == 0) {
		free(cur);
		*why = NULL;
		return 0;
	}
	*out = cur;
	return changed;
fail:
	free(cur);
	bytebuf_free(&buf);
	return -1;
}

int regex_flag_add(struct regex_rules *r, const char *spec, char *err, size_t err_size)
{
	struct regex_rule *rule;
	const char *c;

	if (regex_rules_add(r, spec, err, err_size) < 0)
		return -1;
	rule = &r->v[r->n - 1];
	for (c = rule->replacement; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
			break;
	if (!*rule->replacement || *c || rule->block) {
		snprintf(err, err_size, rule->block ? "flag b: a flag rule never blocks"
						    : "expected /PATTERN/CATEGORY/FLAGS, a category of "
						      "letters, digits, '_', '-', '.'");
		regfree(&rule->re);
		free(rule->replacement);
		free(rule->spec);
		r->n--;
		return -1;
	}
	rule->flag = true;
	return 0;
}
